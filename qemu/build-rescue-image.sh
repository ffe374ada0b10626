#!/bin/bash
# Build the rescue USB image for a real Kobol Helios64: the emulated board's rescue system
# (Debian's arm64 kernel + the initramfs of prepare-guest.sh) on a stick U-Boot's distro boot
# starts. See docs/rescue-usb.md.
#
# Usage: qemu/build-rescue-image.sh --authorized-keys FILE [--out PATH] [--cache DIR]
#                                   [--nasstrap BIN] [--known-hosts-name NAME]
#   --authorized-keys FILE  root's authorized_keys in the rescue system (required)
#   --out PATH              the image file (default ./nasstrap-rescue-helios64.img)
#   --cache DIR             prepare-guest.sh's cache (default $NASSTRAP_QEMU_CACHE, else
#                           /var/cache/nasstrap-qemu)
#   --nasstrap BIN          the aarch64 nasstrap to put in /usr/local/bin (default: cross-built
#                           from this tree by build-guest-binary.sh)
#   --known-hosts-name NAME host field of the printed known_hosts line (default HOST)
# Needs: root (for prepare-guest.sh's cache), sgdisk (gdisk), mkfs.ext4 >= 1.43 (-d),
# ssh-keygen, cpio, gzip.
#
# The image: GPT, one ext4 partition (NASSTRAP_RESCUE) at 16 MiB, where Rockchip boot media
# keep their first partition, flagged legacy-BIOS-bootable (attribute bit 2, what distro boot's
# `part list -bootable` looks for), holding
#   /extlinux/extlinux.conf, /Image, /initrd.img, /dtbs/rockchip/rk3399-kobol-helios64.dtb.
# initrd.img = gzip(the cached base initrd + a per-image cpio overlay): root's authorized_keys,
# a fresh ed25519 host key, nasstrap, the hostname. The host key is made here and exists only
# inside the image (temp files are removed on exit), so the image file is mode 0600.
# No loop devices and no mounts: the filesystem is made from a directory (mkfs.ext4 -d) into
# a partition-sized file, which is copied into the image at the partition's offset.
#
# stdout, one `key=value` a line (progress and hints go to stderr):
#   image=/abs/path.img
#   host_key=SHA256:…          for `nasstrap install --host-key`
#   known_hosts=NAME ssh-ed25519 AAAA…
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
LABEL=NASSTRAP_RESCUE
DTB=dtbs/rockchip/rk3399-kobol-helios64.dtb
MIB=$((1 << 20))
START_MIB=16
log() { echo "build-rescue-image: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
usage() { sed -n '/^# Usage:/,/^# Needs:/p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

KEYS='' OUT=nasstrap-rescue-helios64.img BIN='' HOSTNAME_FIELD=HOST
CACHE=${NASSTRAP_QEMU_CACHE:-/var/cache/nasstrap-qemu}
while [ $# -gt 0 ]; do
  case $1 in
    --authorized-keys) KEYS=${2:?}; shift 2 ;;
    --out) OUT=${2:?}; shift 2 ;;
    --cache) CACHE=${2:?}; shift 2 ;;
    --nasstrap) BIN=${2:?}; shift 2 ;;
    --known-hosts-name) HOSTNAME_FIELD=${2:?}; shift 2 ;;
    -h|--help) usage ;;
    *) log "unknown argument: $1"; usage ;;
  esac
done
[ -n "$KEYS" ] || { log "--authorized-keys FILE is required"; usage; }

export PATH=$PATH:/usr/sbin:/sbin   # sgdisk and mkfs.ext4 live in sbin
for tool in sgdisk mkfs.ext4 ssh-keygen cpio gzip dd truncate; do
  command -v "$tool" >/dev/null || die "missing host tool: $tool"
done
# ssh-keygen -l reads every key of an authorized_keys file, and fails on a file with none.
if [ ! -s "$KEYS" ] || ! ssh-keygen -lf "$KEYS" >/dev/null 2>&1; then
  die "$KEYS holds no ssh public key (want authorized_keys lines)"
fi
OUT=$(realpath -m "$OUT")
# A file, then `dd` it to the stick: never write a device from here.
[ ! -e "$OUT" ] || [ -f "$OUT" ] || die "$OUT exists and is not a regular file"

# The shared kernel + base initrd (last stdout line: the cache entry), then our binary.
ENTRY=$("$HERE/prepare-guest.sh" "$CACHE" | tail -n 1)
for f in vmlinuz initrd-base.img "$DTB"; do
  [ -s "$ENTRY/$f" ] || die "$ENTRY/$f missing (prepare-guest.sh older than this script?)"
done
[ -n "$BIN" ] || BIN=$("$HERE/build-guest-binary.sh" | tail -n 1)
[ -x "$BIN" ] || die "no nasstrap binary at $BIN"

umask 077   # everything below is private until the image is done: it holds the host key
TMP=$(mktemp -d "${TMPDIR:-/tmp}/nasstrap-rescue.XXXXXX")
PARTIAL=$OUT.partial.$$
trap 'rm -rf "$TMP" "$PARTIAL"' EXIT

# Per-image overlay. Directory entries re-mode the base's directories, so spell each one.
O=$TMP/overlay
install -d -m 755 "$O" "$O/etc" "$O/etc/ssh" "$O/usr" "$O/usr/local" "$O/usr/local/bin"
install -d -m 700 "$O/root" "$O/root/.ssh"
ssh-keygen -q -t ed25519 -N '' -C nasstrap-rescue -f "$O/etc/ssh/ssh_host_ed25519_key"
chmod 600 "$O/etc/ssh/ssh_host_ed25519_key"
chmod 644 "$O/etc/ssh/ssh_host_ed25519_key.pub"
install -m 600 "$KEYS" "$O/root/.ssh/authorized_keys"
install -m 755 "$BIN" "$O/usr/local/bin/nasstrap"
install -m 644 /dev/null "$O/etc/hostname"
echo helios64-rescue > "$O/etc/hostname"
FINGERPRINT=$(ssh-keygen -lf "$O/etc/ssh/ssh_host_ed25519_key.pub" | awk '{print $2}')
HOST_PUB=$(awk '{print $1, $2}' "$O/etc/ssh/ssh_host_ed25519_key.pub")

# The boot partition's tree. The kernel unpacks the base archive, then the overlay over it.
F=$TMP/fs
install -d -m 755 "$F" "$F/extlinux" "$F/dtbs" "$F/dtbs/rockchip"
install -m 644 "$ENTRY/vmlinuz" "$F/Image"   # Debian's arm64 vmlinuz is an uncompressed Image
install -m 644 "$ENTRY/$DTB" "$F/$DTB"
log "packing the initramfs (gzip, ~10 s)"
{ cat "$ENTRY/initrd-base.img"
  (cd "$O" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet)
} | gzip -6 > "$F/initrd.img"
rm -rf "$O"   # the private host key now lives only in initrd.img
KERNEL=$(head -n 1 "$ENTRY/manifest.txt")
umask 022
cat > "$F/extlinux/extlinux.conf" <<EOF
# nasstrap rescue system for the Kobol Helios64 (qemu/build-rescue-image.sh)
# $KERNEL
# nasstrap.net=dhcp: every Ethernet port asks for an address (the rescue system's rcS).
DEFAULT nasstrap-rescue
LABEL nasstrap-rescue
  MENU LABEL nasstrap rescue system
  LINUX /Image
  INITRD /initrd.img
  FDT /$DTB
  APPEND console=ttyS2,1500000 loglevel=4 net.ifnames=0 nasstrap.net=dhcp
EOF

# The filesystem: its content plus a tenth and 16 MiB of room, in whole MiB. Without 64bit,
# metadata_csum and a journal: older U-Boot ext4 code predates the first two, and U-Boot
# neither needs nor replays the journal; nothing is gained from them on a boot stick.
used=$(du -sb "$F" | cut -f1)
PART_MIB=$(( (used + used / 10) / MIB + 16 ))
truncate -s "${PART_MIB}M" "$TMP/part.img"
mkfs.ext4 -q -F -b 4096 -L "$LABEL" -O ^has_journal,^64bit,^metadata_csum \
  -d "$F" "$TMP/part.img"

# GPT around it: partition 1 from 16 MiB, then 1 MiB for the backup table.
truncate -s "$(( (START_MIB + PART_MIB + 1) * MIB ))" "$PARTIAL"
first=$((START_MIB * MIB / 512)) last=$(( (START_MIB + PART_MIB) * MIB / 512 - 1 ))
sgdisk --clear --new=1:"$first":"$last" --typecode=1:8300 --change-name=1:"$LABEL" \
  --attributes=1:set:2 "$PARTIAL" >/dev/null
dd if="$TMP/part.img" of="$PARTIAL" bs=1M seek="$START_MIB" conv=notrunc,sparse status=none
chmod 600 "$PARTIAL"
mv -f "$PARTIAL" "$OUT"

log "image $OUT: $((START_MIB + PART_MIB + 1)) MiB, partition 1 ($LABEL, ext4, bootable) ${PART_MIB} MiB"
log "write it:  dd if=$OUT of=/dev/sdX bs=4M conv=fsync status=progress"
log "the rescue system's ssh host key: $FINGERPRINT; pin it with"
log "  nasstrap install LAYOUT --target root@ADDRESS --host-key $FINGERPRINT ..."
log "or add the known_hosts line below (its host field replaced by the board's address)"
echo "image=$OUT"
echo "host_key=$FINGERPRINT"
echo "known_hosts=$HOSTNAME_FIELD $HOST_PUB"
