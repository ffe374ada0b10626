#!/bin/bash
# Build (or reuse) the kernel + base initramfs of the emulated Helios64's rescue system
# from Debian's arm64 packages. No chroot, no qemu-user: debs are only unpacked.
#
# Usage: qemu/prepare-guest.sh [CACHE_DIR]   (default /var/cache/nasstrap-qemu)
# Needs: root, `dpkg --add-architecture arm64` + `apt-get update` done, kmod, cpio.
#
# Result: CACHE_DIR/<key>/{vmlinuz,initrd-base.img,manifest.txt}, CACHE_DIR/current -> <key>,
# and CACHE_DIR/<key>/dtbs/rockchip/rk3399-kobol-helios64.dtb: the real board's device tree from
# the same kernel package, for the rescue USB image (build-rescue-image.sh).
# The last line of stdout is the absolute <key> directory: callers should use it rather than
# `current`, which a concurrent run may flip. Progress goes to stderr.
#
# <key> hashes the resolved arm64 package closure (apt-get -s), the kernel package and version,
# and every file of this harness that shapes the image (this script, guest/*). A Debian point
# release or a script change therefore rebuilds; anything else is a cache hit (a few seconds).
#
# The cache holds nothing secret or per-run: no ssh keys, no nasstrap binary. Those go into a
# small per-boot cpio appended by tests/common/qemu.rs. build-initramfs.sh enforces this.
set -euo pipefail

CACHE=${1:-/var/cache/nasstrap-qemu}
HERE=$(cd "$(dirname "$0")" && pwd)
GUEST=$HERE/guest
log() { echo "prepare-guest: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

dpkg --print-foreign-architectures | grep -qx arm64 \
  || die "arm64 is not a dpkg architecture here: run 'dpkg --add-architecture arm64 && apt-get update'"
export PATH=$PATH:/usr/sbin:/sbin   # depmod/modprobe live in sbin
for tool in apt-get apt-cache dpkg-deb depmod modprobe cpio sha256sum flock; do
  command -v "$tool" >/dev/null || die "missing host tool: $tool"
done

mkdir -p "$CACHE"
# One builder at a time per cache (e.g. two `cargo test` processes); the loser then hits.
exec 9>"$CACHE/.lock"
flock 9

# apt with arm64 as the *native* architecture and an empty dpkg status: the closure is
# computed as for an empty arm64 system, and the host's dpkg state is never touched.
apt_arm64() {
  local state=$1; shift
  mkdir -p "$state/status.d" "$state/cache"
  : > "$state/status.d/status"
  apt-get -q -o APT::Architecture=arm64 -o APT::Architectures::=arm64 -o APT::Architectures::=all \
    -o Dir::State::status="$state/status.d/status" -o Dir::Cache="$state/cache" \
    -o APT::Install-Recommends=false \
    -o APT::Install-Suggests=false -o Debug::NoLocking=true "$@"
}

rm -rf "$CACHE"/.tmp.*   # left behind by a killed run; we hold the lock
TMP=$(mktemp -d "$CACHE/.tmp.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
chmod 755 "$TMP"

mapfile -t PKGS < <(grep -v '^\s*\(#\|$\)' "$GUEST/packages")
# linux-image-arm64 is a metapackage; the real image is its linux-image-<abi>-arm64 dependency.
KPKG=$(apt-cache depends linux-image-arm64:arm64 2>/dev/null \
  | awk '/Depends: linux-image-[0-9]/{sub(/:arm64$/, "", $2); print $2; exit}')
[ -n "$KPKG" ] || die "cannot resolve linux-image-arm64:arm64 (no arm64 package lists? run apt-get update)"
KVER=$(apt-cache policy "$KPKG:arm64" | awk '/Candidate:/{print $2}')
CLOSURE=$(apt_arm64 "$TMP/sim" install -s -y "${PKGS[@]}" | awk '/^Inst /{print $2, $3}' | sort)
[ -n "$CLOSURE" ] || die "empty package closure"

KEY=$( { echo "$CLOSURE"; echo "$KPKG $KVER"
         for f in "$HERE/prepare-guest.sh" "$GUEST"/*; do echo "== ${f##*/}"; cat "$f"; done
       } | sha256sum | cut -c1-16)
OUT=$CACHE/$KEY

DTB=dtbs/rockchip/rk3399-kobol-helios64.dtb
if [ -s "$OUT/vmlinuz" ] && [ -s "$OUT/initrd-base.img" ] && [ -s "$OUT/$DTB" ]; then
  log "cache hit: $OUT"
  touch "$OUT"   # pruning below keeps the most recently *used* entries
else
  log "cache miss: building $OUT ($KPKG $KVER, $(wc -l <<<"$CLOSURE") packages)"
  # Debs persist in CACHE/debs, so a miss caused only by a script edit downloads nothing.
  # apt drops privileges to _apt for downloads; let it write there.
  DEBS=$CACHE/debs KDEB=$CACHE/debs/${KPKG}_${KVER/:/%3a}_arm64.deb
  mkdir -p "$DEBS/partial"; chown -R _apt: "$DEBS" 2>/dev/null || true
  if ! apt_arm64 "$TMP/dl" -o Dir::Cache::archives="$DEBS" install --download-only -y "${PKGS[@]}" >/dev/null \
     || ! { [ -e "$KDEB" ] || (cd "$DEBS" && apt-get -q download "$KPKG:arm64" >/dev/null); }; then
    die "download failed; stale package lists? run 'apt-get update' and retry"
  fi
  # Hard-link exactly the closure (older versions may linger in CACHE/debs), then drop
  # cached debs nothing links to any more: they belong to superseded closures.
  mkdir -p "$TMP/closure"
  while read -r pkg ver; do
    ver=${ver#(}; ln "$DEBS/${pkg}_${ver/:/%3a}_"*.deb "$TMP/closure/"
  done <<<"$CLOSURE"
  ln "$KDEB" "$TMP/kernel.deb"
  find "$DEBS" -maxdepth 1 -name '*.deb' -links 1 -delete

  dpkg-deb -x "$TMP/kernel.deb" "$TMP/kernel"
  KV=$(ls "$TMP/kernel/lib/modules")
  # Debian's kernel package ships no modules.dep (its postinst would run depmod).
  depmod -b "$TMP/kernel" "$KV"

  "$GUEST/build-initramfs.sh" "$TMP/kernel" "$TMP/closure" "$TMP/stage"
  cp "$TMP/kernel/boot/vmlinuz-$KV" "$TMP/stage/vmlinuz"
  install -D -m 644 "$TMP/kernel/usr/lib/linux-image-$KV/${DTB#dtbs/}" "$TMP/stage/$DTB"
  { echo "kernel $KPKG $KVER ($KV)"; echo "$CLOSURE"; } > "$TMP/stage/manifest.txt"
  # Publish atomically: a half-written entry must never look like a hit.
  mv -T "$TMP/stage" "$OUT"
fi
ln -sfn "$KEY" "$CACHE/current"

# Keep the three most recent entries (each is ~180 MB); `current` always survives.
find "$CACHE" -mindepth 1 -maxdepth 1 -type d -regex '.*/[0-9a-f]\{16\}' -printf '%T@ %p\n' \
  | sort -rn | tail -n +4 | cut -d' ' -f2- | while read -r old; do
      [ "$old" = "$OUT" ] || { log "pruning $old"; rm -rf "$old"; }
    done

echo "$OUT"
