#!/bin/bash
# Assemble the base rescue initramfs from unpacked Debian arm64 debs (called by prepare-guest.sh).
# Usage: build-initramfs.sh KERNEL_TREE DEBS_DIR OUT_DIR
#   KERNEL_TREE: `dpkg-deb -x` of linux-image-*-arm64 with depmod already run.
# Writes OUT_DIR/initrd-base.img (uncompressed newc cpio). It must stay free of per-run material
# (ssh keys, the nasstrap binary): it is cached and shared. The per-boot overlay adds those.
set -euo pipefail
KTREE=$1 DEBS=$2 OUT=$3
HERE=$(cd "$(dirname "$0")" && pwd)
KV=$(ls "$KTREE/lib/modules")
R=$OUT/rootfs
rm -rf "$R"; mkdir -p "$R"/usr/{bin,sbin,lib}

# Merged /usr, as bookworm's debootstrap does; debs may ship either spelling.
for d in bin sbin lib; do ln -s "usr/$d" "$R/$d"; done
for deb in "$DEBS"/*.deb; do
  case ${deb##*/} in usrmerge_*) continue ;; esac   # would try to convert the tree itself
  dpkg-deb --fsys-tarfile "$deb" | tar -C "$R" -x --keep-directory-symlink --no-same-owner
done

# Prune what no installer step runs, to keep the image small: unpacking it is a good part of
# the boot time. git clone/fetch over ssh works without perl (git and nix-bin depend on it, for
# scripts we do not use); python3 only serves xfsprogs' xfs_scrub_all; hwdb.d holds the
# sources of a database that is never compiled here; nothing needs iconv modules or locales.
rm -rf "$R"/usr/share/{doc,man,info,locale,i18n,lintian,bug,bash-completion,zsh,gitweb,perl5} \
  "$R"/usr/share/perl "$R"/usr/lib/aarch64-linux-gnu/{gconv,perl,perl5,perl-base,libperl.so*} \
  "$R"/usr/bin/perl* "$R"/usr/lib/python3* "$R"/usr/bin/python3* "$R"/usr/lib/udev/hwdb.d \
  "$R"/usr/share/git-core/templates/hooks

mkdir -p "$R"/{proc,sys,dev,run,tmp,mnt,nix,root/.ssh,usr/local/bin,var/log,var/empty,etc/ssh,etc/nix,etc/nasstrap}
chmod 1777 "$R/tmp"; chmod 700 "$R/root" "$R/root/.ssh"
ln -sfn ../proc/self/mounts "$R/etc/mtab"   # mount, mkfs.* and mdadm look here

# Kernel modules: the closure of guest/modules, plus a plain list rcS loads at boot so that
# devices appear whether or not udev runs.
grep -v '^\s*\(#\|$\)' "$HERE/modules" > "$R/etc/nasstrap/modules"
while read -r m; do
  modprobe -d "$KTREE" -S "$KV" --show-depends "$m" || { echo "build-initramfs: no module $m" >&2; exit 1; }
done < "$R/etc/nasstrap/modules" \
  | awk '$1 == "insmod" {print $2}' | sort -u | while read -r f; do
      rel=${f#"$KTREE"/}; mkdir -p "$R/${rel%/*}"; cp "$f" "$R/$rel"
    done
cp "$KTREE/lib/modules/$KV"/modules.{order,builtin,builtin.modinfo} "$R/lib/modules/$KV/"
depmod -b "$R" "$KV"

# Accounts: root only (key login), plus sshd's privilege-separation user.
cat > "$R/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
sshd:x:100:65534::/run/sshd:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
EOF
printf 'root:x:0:\ntty:x:5:\ndisk:x:6:\nnogroup:x:65534:\n' > "$R/etc/group"
printf 'root:*:19000:0:99999:7:::\nsshd:*:19000:0:99999:7:::\n' > "$R/etc/shadow"
chmod 640 "$R/etc/shadow"
printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files\n' > "$R/etc/nsswitch.conf"
printf '127.0.0.1 localhost\n10.0.2.2 hostgw\n' > "$R/etc/hosts"
echo helios64-qemu > "$R/etc/hostname"

# sshd without PAM (not in the image); the host key and authorized_keys come from the overlay.
cat > "$R/etc/ssh/sshd_config" <<'EOF'
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
AllowAgentForwarding yes
UseDNS no
PrintMotd no
PidFile /run/sshd.pid
Subsystem sftp /usr/lib/openssh/sftp-server
SetEnv PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
EOF

# Debian's nix-bin 2.8 as root in a RAM disk: no nixbld users, no sandbox, no binary cache
# (the guest has no internet); flakes for the git+ssh config inputs.
cat > "$R/etc/nix/nix.conf" <<'EOF'
build-users-group =
experimental-features = nix-command flakes
sandbox = false
substituters =
EOF

install -m 755 "$HERE/init" "$R/init"
install -m 755 "$HERE/rcS" "$R/etc/rcS"
install -m 755 "$HERE/udhcpc.script" "$R/etc/nasstrap/udhcpc.script"   # nasstrap.net=dhcp
cat > "$R/etc/inittab" <<'EOF'
::sysinit:/etc/rcS
::respawn:/usr/sbin/sshd -D -o LogLevel=VERBOSE -E /var/log/sshd.log
::shutdown:/bin/sync
::shutdown:/bin/umount -a -r
EOF

# Guard the cache's promise: nothing per-run may end up in the shared image.
leaks=$(find "$R/etc/ssh" "$R/root/.ssh" "$R/usr/local" \( -name 'ssh_host_*key*' \
  -o -name authorized_keys -o -name nasstrap \) -print)
[ -z "$leaks" ] || { echo "build-initramfs: per-run files in base image: $leaks" >&2; exit 1; }

# Uncompressed: the guest kernel unpacks gzip at TCG speed (3.0 s for this image, measured)
# but copies a plain cpio in 1.4 s. It costs ~180 MB of cache per entry instead of ~75 MB.
(cd "$R" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc -R 0:0 --quiet) \
  > "$OUT/initrd-base.img"
echo "build-initramfs: rootfs $(du -sh "$R" | cut -f1), initrd $(du -h "$OUT/initrd-base.img" | cut -f1)" >&2
rm -rf "$R"
