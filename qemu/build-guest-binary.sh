#!/bin/bash
# Cross-build the aarch64 nasstrap binary that the emulated Helios64 runs, from this tree.
# Usage: qemu/build-guest-binary.sh [OUT]
# Prints the binary's absolute path as the last line of stdout (OUT if given, else the file in
# the cargo target dir); cargo's progress goes to stderr.
#
# Debian's rustc-web/cargo-web 1.96 is used, not rustup's toolchain: rustup here has only the
# x86_64 std and cannot download others, while Debian ships libstd-rust-web-dev:arm64.
# Needs: rustc-web cargo-web libstd-rust-web-dev:arm64 gcc-aarch64-linux-gnu libc6-dev-arm64-cross
set -euo pipefail
OUT=${1:+$(realpath -m "$1")}   # absolute: we cd below
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=aarch64-unknown-linux-gnu

# Called from `cargo test` (via rustup's proxy) or by hand: drop whatever the outer toolchain
# exported so it cannot leak into this build (flags for x86_64, a 1.95 toolchain pin, wrappers).
unset RUSTUP_TOOLCHAIN CARGO_ENCODED_RUSTFLAGS RUSTC_WRAPPER RUSTC_WORKSPACE_WRAPPER RUSTDOC
# /usr/bin explicitly: ~/.cargo/bin (rustup) comes first in PATH.
export RUSTC=/usr/bin/rustc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
# Static glibc: the binary runs on any aarch64 rescue system (this guest, NixOS's installer,
# Armbian) without matching its libc. musl is not an option: Debian has no Rust musl std.
export RUSTFLAGS="-C target-feature=+crt-static"
# Same target dir as the host build by default: incremental, and rustc's version is part of
# every artifact hash, so Debian's 1.96 and rustup's 1.95 artifacts do not collide.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}

for tool in /usr/bin/cargo /usr/bin/rustc aarch64-linux-gnu-gcc aarch64-linux-gnu-readelf; do
  command -v "$tool" >/dev/null || { echo "build-guest-binary: missing $tool" >&2; exit 1; }
done

cd "$ROOT"
/usr/bin/cargo build --release --locked --target "$TARGET" --bin nasstrap >&2
BIN=$(realpath "$CARGO_TARGET_DIR/$TARGET/release/nasstrap")
# Guard against a dynamic or host binary sneaking in (e.g. RUSTFLAGS overridden by a cargo
# config file): the guest has a different glibc, so it would fail there, far from the cause.
hdr=$(aarch64-linux-gnu-readelf -hl "$BIN")
if ! grep -q 'Machine:.*AArch64' <<<"$hdr" || grep -q 'INTERP' <<<"$hdr"; then
  echo "build-guest-binary: not a static aarch64 binary: $BIN" >&2; exit 1
fi
if [ -n "$OUT" ]; then
  install -D -m 755 "$BIN" "$OUT"
  BIN=$(realpath "$OUT")
fi
echo "$BIN"
