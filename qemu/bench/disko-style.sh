#!/bin/sh
# The baseline for benches/qemu_apply.rs: the steps of layouts/helios64.yaml done
# the way disko's generated script does them, sequentially, on the guest's disks:
# destroy (wipefs + MBR boot code), one sgdisk call per partition each followed by
# partprobe + udev settle, mkfs without -E nodiscard, mdadm --create, mount.
set -eu
emmc=/dev/mmcblk0
bays="/dev/sda /dev/sdb /dev/sdc /dev/sdd /dev/sde"

settle() { partprobe "$1" 2>/dev/null || true; udevadm trigger --subsystem-match=block; udevadm settle; }

for d in $emmc $bays; do
  wipefs --all -f "$d"
  dd if=/dev/zero of="$d" bs=440 count=1 status=none
done

sgdisk --clear $emmc
sgdisk --align-end --new=1:32768:+1G --change-name=1:disk-emmc-boot --typecode=1:8300 --attributes=1:set:2 $emmc
settle $emmc
sgdisk --align-end --new=2:0:-0 --change-name=2:disk-emmc-root --typecode=2:8300 $emmc
settle $emmc
# NODISCARD=1 gives the baseline nasstrap's -E nodiscard on the SD card, to
# measure the other differences alone.
mmc_opts=${NODISCARD:+-E nodiscard}
# shellcheck disable=SC2086
mkfs.ext4 -F $mmc_opts -L NIXOS_BOOT ${emmc}p1
# shellcheck disable=SC2086
mkfs.ext4 -F $mmc_opts -L NIXOS_ROOT ${emmc}p2

n=1
members=""
for d in $bays; do
  sgdisk --clear "$d"
  sgdisk --align-end --new=1:0:-0 --change-name=1:disk-bay$n-data --typecode=1:FD00 "$d"
  settle "$d"
  members="$members ${d}1"
  n=$((n + 1))
done

# shellcheck disable=SC2086
echo y | mdadm --create /dev/md/tank --level=6 --raid-devices=5 --metadata=1.2 --force --homehost=any $members
udevadm trigger --subsystem-match=block; udevadm settle
mkfs.ext4 -F -L tank /dev/md/tank

mkdir -p /mnt && mount -o noatime ${emmc}p2 /mnt
mkdir -p /mnt/boot && mount ${emmc}p1 /mnt/boot
mkdir -p /mnt/srv && mount -o noatime /dev/md/tank /mnt/srv
