//! The namespace and limit rules (issue 7's hostile layouts): names that
//! would become paths, device paths, mountpoints, the /boot rule, sizes and
//! sector arithmetic, labels, partition counts, firmware regions, and no
//! follow-on error after a rejected item. Exact message, location and hint.

mod common;

use common::layout::errs;
use nasstrap::{layout, plan};

#[test]
fn md_name_dotdot() {
    let src = "disk:\n  a:\n    device: /dev/sda\n    content: { type: gpt, partitions: { p: { size: 100%, content: { type: mdraid, name: ../sdz } } } }\n  b:\n    device: /dev/sdb\n    content: { type: gpt, partitions: { p: { size: 100%, content: { type: mdraid, name: ../sdz } } } }\nmdadm:\n  ../sdz: { level: 1, content: { type: filesystem, format: ext4, mountpoint: /srv } }\n";
    assert_eq!(
        errs(src),
        [
            "9:3: mdadm.../sdz: md array name `../sdz` contains `/`\n  hint: mdadm names use letters, digits, `.`, `_` and `-` (POSIX portable names); `/dev/md/../sdz` would leave /dev/md"
        ] as [&str; 1]
    );
}

#[test]
fn md_level_rejected_members_silent() {
    let src = "disk:\n  a:\n    device: /dev/sda\n    content: { type: gpt, partitions: { p: { size: 100%, content: { type: mdraid, name: tank } } } }\nmdadm:\n  tank: { level: 7 }\n";
    assert_eq!(
        errs(src),
        ["6:18: mdadm.tank.level: RAID level 7 is not supported\n  hint: levels: 0, 1, 5, 6, 10"]
            as [&str; 1]
    );
}

#[test]
fn pool_rejected_members_silent() {
    let src = "disk:\n  a:\n    device: /dev/sda\n    content: { type: gpt, partitions: { p: { size: 100%, content: { type: zfs, pool: mirror } } } }\nzpool:\n  mirror: { mode: \"\" }\n";
    assert_eq!(
        errs(src),
        [
            "6:3: zpool.mirror: pool name `mirror` is reserved by ZFS\n  hint: mirror, raidz, draid, spare, log, cache, special and dedup name vdev kinds"
        ] as [&str; 1]
    );
}

#[test]
fn pool_mode_rejected_members_silent() {
    let src = "disk:\n  a:\n    device: /dev/sda\n    content: { type: gpt, partitions: { p: { size: 100%, content: { type: zfs, pool: tank } } } }\nzpool:\n  tank: { mode: raidz9 }\n";
    assert_eq!(
        errs(src),
        [
            "6:17: zpool.tank.mode: unknown zpool mode `raidz9`\n  hint: one of: \"\" (stripe), mirror, raidz1, raidz2, raidz3"
        ] as [&str; 1]
    );
}

#[test]
fn partition_rejected_count_silent() {
    let src = "disk:\n  a:\n    device: /dev/sda\n    content: { type: gpt, partitions: { p: { size: 100%, type: XYZ, content: { type: mdraid, name: tank } } } }\n  b:\n    device: /dev/sdb\n    content: { type: gpt, partitions: { p: { size: 100%, content: { type: mdraid, name: tank } } } }\nmdadm:\n  tank: { level: 1 }\n";
    assert_eq!(
        errs(src),
        [
            "4:64: disk.a.content.partitions.p.type: `XYZ` is neither a type code nor a GUID\n  hint: write an sgdisk code such as 8300, FD00, EF00, 8200, BF00 (`sgdisk -L` lists them), or a type GUID"
        ] as [&str; 1]
    );
}

#[test]
fn luks_name_dotdot() {
    let src = "disk:\n  a:\n    device: /dev/sda\n    content: { type: gpt, partitions: { p: { size: 100%, content: { type: luks, name: .., askPassword: true } } } }\n";
    assert_eq!(
        errs(src),
        [
            "4:87: disk.a.content.partitions.p.content.name: LUKS name `..` is not a device-mapper name\n  hint: `/dev/mapper/..` is a directory, not a volume; use a word such as `crypted`"
        ] as [&str; 1]
    );
}

#[test]
fn luks_name_control() {
    let src = "disk:\n  a:\n    device: /dev/sda\n    content: { type: gpt, partitions: { p: { size: 100%, content: { type: luks, name: control, askPassword: true } } } }\n";
    assert_eq!(
        errs(src),
        [
            "4:87: disk.a.content.partitions.p.content.name: LUKS name `control` is the device-mapper control node\n  hint: /dev/mapper/control exists on every system; choose another name"
        ] as [&str; 1]
    );
}

#[test]
fn zpool_reserved() {
    let src = "disk:\n  a:\n    device: /dev/sda\n    content: { type: gpt, partitions: { p: { size: 100%, content: { type: zfs, pool: raidz1 } } } }\nzpool:\n  raidz1: {}\n";
    assert_eq!(
        errs(src),
        [
            "6:3: zpool.raidz1: pool name `raidz1` starts with `raidz`, which ZFS reserves\n  hint: names starting with mirror, raidz, draid or spare are vdev kinds to zpool"
        ] as [&str; 1]
    );
}

#[test]
fn dataset_dotdot() {
    let src = "disk:\n  a:\n    device: /dev/sda\n    content: { type: gpt, partitions: { p: { size: 100%, content: { type: zfs, pool: tank } } } }\nzpool:\n  tank:\n    datasets:\n      a/../b: { type: zfs_fs }\n";
    assert_eq!(
        errs(src),
        [
            "8:7: zpool.tank.datasets.a/../b: dataset name `a/../b` has a `..` component\n  hint: ZFS refuses `.` and `..` in dataset names"
        ] as [&str; 1]
    );
}

#[test]
fn subvolume_dotdot() {
    let src = "disk:\n  a:\n    device: /dev/sda\n    content: { type: gpt, partitions: { p: { size: 100%, content: { type: btrfs, subvolumes: { ../x: { mountpoint: /x } } } } } }\n";
    assert_eq!(
        errs(src),
        [
            "4:96: disk.a.content.partitions.p.content.subvolumes.../x: subvolume name `../x` has a `..` component\n  hint: nasstrap never resolves `.` or `..`: write the path inside the filesystem"
        ] as [&str; 1]
    );
}

#[test]
fn mountpoint_escape() {
    let src = "disk:\n  a:\n    device: /dev/sda\n    content: { type: gpt, partitions: { p: { size: 1G, content: { type: filesystem, format: ext4, mountpoint: /mnt/../etc } } } }\n";
    assert_eq!(
        errs(src),
        [
            "4:111: disk.a.content.partitions.p.content.mountpoint: mountpoint `/mnt/../etc` has a `..` component\n  hint: nasstrap never resolves `..`: write the path it means"
        ] as [&str; 1]
    );
}

#[test]
fn mountpoint_spellings_collide() {
    let src = "disk:\n  a:\n    device: /dev/sda\n    content:\n      type: gpt\n      partitions:\n        p: { size: 1G, content: { type: filesystem, format: ext4, mountpoint: /srv } }\n        q: { size: 1G, content: { type: filesystem, format: ext4, mountpoint: //srv/./ } }\n";
    assert_eq!(
        errs(src),
        [
            "8:79: disk.a.content.partitions.q.content.mountpoint: mountpoint `/srv` is also used by disk.a.content.partitions.p.content.mountpoint\n  hint: first used at line 7"
        ] as [&str; 1]
    );
}

#[test]
fn device_spellings_collide() {
    let src = "disk:\n  a: { device: /dev/sda }\n  b: { device: //dev/./sda/ }\n";
    assert_eq!(
        errs(src),
        [
            "3:16: disk.b.device: device `/dev/sda` is also disk `a`\n  hint: each disk needs its own device; check the by-path names or --disk mappings"
        ] as [&str; 1]
    );
}

#[test]
fn device_dotdot() {
    let src = "disk:\n  a: { device: /dev/sdb/../sda }\n";
    assert_eq!(
        errs(src),
        [
            "2:16: disk.a.device: device `/dev/sdb/../sda` has a `..` component\n  hint: nasstrap never resolves `..`: write the path it means"
        ] as [&str; 1]
    );
}

#[test]
fn device_partition_of_disk() {
    let src = "disk:\n  a: { device: /dev/mmcblk0 }\n  b: { device: /dev/mmcblk0p2 }\n";
    assert_eq!(
        errs(src),
        [
            "3:16: disk.b.device: device `/dev/mmcblk0p2` is partition 2 of disk `a` (/dev/mmcblk0)\n  hint: a disk's device must be a whole disk; wiping `a` destroys it"
        ] as [&str; 1]
    );
}

#[test]
fn device_by_path_partition() {
    let src = "disk:\n  a: { device: /dev/disk/by-path/platform-x.mmc }\n  b: { device: /dev/disk/by-path/platform-x.mmc-part1 }\n";
    assert_eq!(
        errs(src),
        [
            "3:16: disk.b.device: device `/dev/disk/by-path/platform-x.mmc-part1` is partition 1 of disk `a` (/dev/disk/by-path/platform-x.mmc)\n  hint: a disk's device must be a whole disk; wiping `a` destroys it"
        ] as [&str; 1]
    );
}

#[test]
fn device_md_node() {
    let src = "disk:\n  a: { device: /dev/md127 }\n";
    assert_eq!(
        errs(src),
        [
            "2:16: disk.a.device: device `/dev/md127` is an md array, not a whole disk\n  hint: arrays are declared under `mdadm:` and built from disks' partitions"
        ] as [&str; 1]
    );
}

#[test]
fn device_mapper_node() {
    let src = "disk:\n  a: { device: /dev/mapper/root }\n";
    assert_eq!(
        errs(src),
        [
            "2:16: disk.a.device: device `/dev/mapper/root` is a device-mapper volume, not a whole disk\n  hint: LUKS volumes are declared as `type: luks` content of a partition"
        ] as [&str; 1]
    );
}

#[test]
fn device_zvol_node() {
    let src = "disk:\n  a: { device: /dev/zvol/tank/v }\n";
    assert_eq!(
        errs(src),
        [
            "2:16: disk.a.device: device `/dev/zvol/tank/v` is a ZFS volume, not a whole disk\n  hint: volumes are declared as `type: zfs_volume` datasets of a pool"
        ] as [&str; 1]
    );
}

#[test]
fn device_lone_partition() {
    let src = "disk:\n  a: { device: /dev/nvme0n1p1 }\n";
    assert_eq!(
        errs(src),
        [
            "2:16: disk.a.device: device `/dev/nvme0n1p1` is a partition, not a whole disk\n  hint: use the disk, /dev/nvme0n1, and declare the partition under its `content`"
        ] as [&str; 1]
    );
}

#[test]
fn boot_btrfs_subvolume() {
    let src = "board: helios64\ndisk:\n  emmc:\n    device: /dev/mmcblk0\n    content:\n      type: gpt\n      partitions:\n        os:\n          size: 100%\n          content:\n            type: btrfs\n            subvolumes:\n              \"@\": { mountpoint: / }\n              \"@boot\": { mountpoint: /boot }\n";
    assert_eq!(
        errs(src),
        [
            "14:38: disk.emmc.content.partitions.os.content.subvolumes.@boot.mountpoint: U-Boot on the Helios64 cannot read /boot on btrfs\n  hint: use ext4 or vfat on a partition of the eMMC or SD card for /boot"
        ] as [&str; 1]
    );
}

#[test]
fn boot_zfs_dataset() {
    let src = "board: helios64\ndisk:\n  emmc:\n    device: /dev/mmcblk0\n    content: { type: gpt, partitions: { r: { size: 4G, content: { type: filesystem, format: ext4, mountpoint: / } }, z: { size: 100%, content: { type: zfs, pool: tank } } } }\nzpool:\n  tank:\n    datasets:\n      boot: { type: zfs_fs, mountpoint: /boot }\n";
    assert_eq!(
        errs(src),
        [
            "9:41: zpool.tank.datasets.boot.mountpoint: U-Boot on the Helios64 cannot read /boot on ZFS\n  hint: use ext4 or vfat on a partition of the eMMC or SD card for /boot"
        ] as [&str; 1]
    );
}

#[test]
fn boot_tmpfs() {
    let src = "board: helios64\ndisk:\n  emmc:\n    device: /dev/mmcblk0\n    content: { type: gpt, partitions: { r: { size: 100%, content: { type: filesystem, format: ext4, mountpoint: / } } } }\nnodev:\n  /boot: { fsType: tmpfs }\n";
    assert_eq!(
        errs(src),
        [
            "7:3: nodev./boot.mountpoint: U-Boot on the Helios64 cannot read /boot on tmpfs\n  hint: tmpfs has no device to boot from; use ext4 or vfat on a partition of the eMMC or SD card for /boot"
        ] as [&str; 1]
    );
}

#[test]
fn boot_spelled_on_raid() {
    let src = "board: helios64\ndisk:\n  emmc:\n    device: /dev/mmcblk0\n    content: { type: gpt, partitions: { r: { size: 100%, content: { type: filesystem, format: ext4, mountpoint: / } } } }\n  a:\n    device: /dev/sda\n    content: { type: gpt, partitions: { p: { size: 100%, content: { type: mdraid, name: md } } } }\n  b:\n    device: /dev/sdb\n    content: { type: gpt, partitions: { p: { size: 100%, content: { type: mdraid, name: md } } } }\nmdadm:\n  md: { level: 1, content: { type: filesystem, format: ext4, mountpoint: /./boot/ } }\n";
    assert_eq!(
        errs(src),
        [
            "13:3: mdadm.md: U-Boot on the Helios64 reads /boot only from a plain partition\n  hint: put /boot on a partition of the eMMC or SD card, not on RAID, LUKS or ZFS"
        ] as [&str; 1]
    );
}

#[test]
fn boot_on_root_xfs() {
    let src = "board: helios64\ndisk:\n  emmc:\n    device: /dev/mmcblk0\n    content: { type: gpt, partitions: { r: { size: 100%, bootable: true, content: { type: filesystem, format: xfs, mountpoint: / } } } }\n";
    assert_eq!(
        errs(src),
        [
            "5:111: disk.emmc.content.partitions.r.content.format: U-Boot on the Helios64 cannot read /boot (a directory of `/`, since nothing is mounted at /boot) on xfs\n  hint: use ext4 or vfat for /boot"
        ] as [&str; 1]
    );
}

#[test]
fn boot_on_root_not_bootable() {
    let src = "board: helios64\ndisk:\n  emmc:\n    device: /dev/mmcblk0\n    content: { type: gpt, partitions: { r: { size: 100%, content: { type: filesystem, format: ext4, mountpoint: / } } } }\n";
    assert_eq!(
        errs(src),
        [
            "5:41: disk.emmc.content.partitions.r: /boot (a directory of `/`, since nothing is mounted at /boot) is not flagged bootable\n  hint: add `bootable: true`: U-Boot's distro boot scans partitions with GPT attribute bit 2 first"
        ] as [&str; 1]
    );
}

#[test]
fn size_sectors_overflow() {
    let src = "disk:\n  a:\n    device: /dev/sda\n    content: { type: gpt, partitions: { p: { size: 99999999999999999s }, q: { size: 100% } } }\n";
    assert_eq!(
        errs(src),
        [
            "4:52: disk.a.content.partitions.p.size: `99999999999999999s` is too large: 512 bytes a sector do not fit in 64 bits\n  hint: sizes must fit in 64 bits (16 EiB)"
        ] as [&str; 1]
    );
}

#[test]
fn end_overflow() {
    let src = "disk:\n  a:\n    device: /dev/sda\n    content: { type: gpt, partitions: { p: { end: \"-99999999999999999s\" } } }\n";
    assert_eq!(
        errs(src),
        [
            "4:51: disk.a.content.partitions.p.end: `99999999999999999s` is too large: 512 bytes a sector do not fit in 64 bits\n  hint: sizes must fit in 64 bits (16 EiB)"
        ] as [&str; 1]
    );
}

#[test]
fn zvol_percent() {
    let src = "disk:\n  a:\n    device: /dev/sda\n    content: { type: gpt, partitions: { p: { size: 100%, content: { type: zfs, pool: tank } } } }\nzpool:\n  tank:\n    datasets:\n      v: { type: zfs_volume, size: 10% }\n";
    assert_eq!(
        errs(src),
        [
            "8:36: zpool.tank.datasets.v.size: a volume's size must be fixed, not 10%\n  hint: write its size, e.g. size: 10G"
        ] as [&str; 1]
    );
}

#[test]
fn zvol_unaligned() {
    let src = "disk:\n  a:\n    device: /dev/sda\n    content: { type: gpt, partitions: { p: { size: 100%, content: { type: zfs, pool: tank } } } }\nzpool:\n  tank:\n    datasets:\n      v: { type: zfs_volume, size: 1000B }\n";
    assert_eq!(
        errs(src),
        [
            "8:36: zpool.tank.datasets.v.size: a volume of 1000B is not a multiple of its block size (16KiB)\n  hint: zfs create -V refuses it; round the size to the block size"
        ] as [&str; 1]
    );
}

#[test]
fn label_ext4() {
    let src = "disk:\n  a:\n    device: /dev/sda\n    content: { type: gpt, partitions: { p: { size: 1G, content: { type: filesystem, format: ext4, extraArgs: [-L, nixos-root-label1] } } } }\n";
    assert_eq!(
        errs(src),
        [
            "4:115: disk.a.content.partitions.p.content.extraArgs[1]: label `nixos-root-label1` is 17 bytes; mke2fs keeps at most 16\n  hint: shorten it: a longer label fails or is cut short after the disks are wiped"
        ] as [&str; 1]
    );
}

#[test]
fn label_xfs_attached() {
    let src = "disk:\n  a:\n    device: /dev/sda\n    content: { type: gpt, partitions: { p: { size: 1G, content: { type: filesystem, format: xfs, extraArgs: [-Lxfs-data-label] } } } }\n";
    assert_eq!(
        errs(src),
        [
            "4:110: disk.a.content.partitions.p.content.extraArgs[0]: label `xfs-data-label` is 14 bytes; mkfs.xfs keeps at most 12\n  hint: shorten it: a longer label fails or is cut short after the disks are wiped"
        ] as [&str; 1]
    );
}

#[test]
fn label_vfat() {
    let src = "disk:\n  a:\n    device: /dev/sda\n    content: { type: gpt, partitions: { p: { size: 1G, content: { type: filesystem, format: vfat, extraArgs: [-n, FIRMWARE_ESP] } } } }\n";
    assert_eq!(
        errs(src),
        [
            "4:115: disk.a.content.partitions.p.content.extraArgs[1]: label `FIRMWARE_ESP` is 12 bytes; mkfs.vfat keeps at most 11\n  hint: shorten it: a longer label fails or is cut short after the disks are wiped"
        ] as [&str; 1]
    );
}

#[test]
fn label_swap() {
    let src = "disk:\n  a:\n    device: /dev/sda\n    content: { type: gpt, partitions: { p: { size: 1G, content: { type: swap, extraArgs: [--label=swap-partition-1] } } } }\n";
    assert_eq!(
        errs(src),
        [
            "4:91: disk.a.content.partitions.p.content.extraArgs[0]: label `swap-partition-1` is 16 bytes; mkswap keeps at most 15\n  hint: shorten it: a longer label fails or is cut short after the disks are wiped"
        ] as [&str; 1]
    );
}

#[test]
fn label_luks() {
    let src = "disk:\n  a:\n    device: /dev/sda\n    content: { type: gpt, partitions: { p: { size: 1G, content: { type: luks, name: c, askPassword: true, extraFormatArgs: [--label, abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuv] } } } }\n";
    assert_eq!(
        errs(src),
        [
            "4:134: disk.a.content.partitions.p.content.extraFormatArgs[1]: label `abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuv` is 48 bytes; cryptsetup (LUKS2) keeps at most 47\n  hint: shorten it: a longer label fails or is cut short after the disks are wiped"
        ] as [&str; 1]
    );
}

#[test]
fn gpt_name_too_long() {
    let src = "disk:\n  a:\n    device: /dev/sda\n    content: { type: gpt, partitions: { p: { size: 1G, label: abcdefghijklmnopqrstuvwxyz0123456789x } } }\n";
    assert_eq!(
        errs(src),
        [
            "4:63: disk.a.content.partitions.p.label: GPT partition names hold 36 UTF-16 units; `abcdefghijklmnopqrstuvwxyz0123456789x` is longer\n  hint: shorten it"
        ] as [&str; 1]
    );
}

#[test]
fn gpt_129() {
    let src = format!(
        "disk:\n  a:\n    device: /dev/sda\n    content:\n      type: gpt\n      partitions:\n{}",
        (0..129)
            .map(|i| format!("        p{i}: {{ size: 1M }}\n"))
            .collect::<String>()
    );
    let src = src.as_str();
    assert_eq!(
        errs(src),
        [
            "135:9: disk.a.content.partitions.p128: disk `a` has 129 partitions; a GPT holds at most 128\n  hint: use at most 128 partitions on one disk"
        ] as [&str; 1]
    );
}

#[test]
fn firmware_zero_and_dup() {
    let src = "disk:\n  a:\n    device: /dev/sda\n    firmware:\n      - { name: x, offset: 64s, max_size: 0 }\n      - { name: x, offset: 1M, max_size: 1M }\n";
    assert_eq!(
        errs(src),
        [
            "5:43: disk.a.firmware[0].max_size: firmware region `x` has size zero\n  hint: give the room the image may take, e.g. max_size: 4MiB",
            "6:9: disk.a.firmware[1]: firmware region `x` is declared twice on disk `a`\n  hint: first declared at line 5"
        ] as [&str; 2]
    );
}

#[test]
fn firmware_past_gap() {
    let src = "board: helios64\ndisk:\n  emmc:\n    device: /dev/mmcblk0\n    firmware:\n      - { name: u-boot, offset: 8M, max_size: 9M }\n";
    assert_eq!(
        errs(src),
        [
            "6:47: disk.emmc.firmware[0].max_size: firmware region `u-boot` (bytes 8388608..17825792) reaches past the first 16 MiB of the boot medium\n  hint: on the Helios64 firmware lives below 16 MiB, where partitions never start"
        ] as [&str; 1]
    );
}

#[test]
fn the_model_holds_normalized_names() {
    let src = "disk:\n  a:\n    device: //dev/./sda/\n    content:\n      type: gpt\n      partitions:\n        p: { size: 1G, content: { type: filesystem, format: ext4, mountpoint: //srv/./data/ } }\n        q: { size: 100%, content: { type: btrfs, subvolumes: { /home/user: { mountpoint: /home/user/ } } } }\n";
    let l = layout::load_str("t.yaml", src, &[]).unwrap();
    assert!(
        l.report.diagnostics.is_empty(),
        "{:?}",
        l.report.diagnostics
    );
    let d = &l.layout.disks[0];
    assert_eq!(d.device.v, "/dev/sda");
    let Some(layout::Content::Gpt(g)) = &d.content else {
        panic!("a gpt")
    };
    let Some(layout::Content::Filesystem(f)) = &g.partitions[0].content else {
        panic!("a filesystem")
    };
    assert_eq!(f.mountpoint.as_ref().unwrap().v, "/srv/data");
    let Some(layout::Content::Btrfs(b)) = &g.partitions[1].content else {
        panic!("a btrfs")
    };
    assert_eq!(b.subvolumes[0].name, "home/user");
    assert_eq!(b.subvolumes[0].mountpoint.as_ref().unwrap().v, "/home/user");
}

#[test]
fn disk_remaps_are_checked_and_normalized() {
    let src = "disk:\n  a: { device: /dev/sda }\n  b: { device: /dev/sdb }\n";
    let l = layout::load_str("t.yaml", src, &[("a".into(), "//dev/sdc/".into())]).unwrap();
    assert!(l.report.diagnostics.is_empty());
    assert_eq!(l.layout.disks[0].device.v, "/dev/sdc");
    let shown = |map: &[(String, String)]| {
        let l = layout::load_str("t.yaml", src, map).unwrap();
        l.report
            .diagnostics
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        shown(&[("a".into(), "/dev/../sdc".into())]),
        [
            "2:16: --disk a: device `/dev/../sdc` has a `..` component\n  hint: nasstrap never resolves `..`: write the path it means"
        ]
    );
    assert_eq!(
        shown(&[("a".into(), "/dev/sdb/".into())]),
        [
            "3:16: disk.b.device: device `/dev/sdb` is also disk `a`\n  hint: each disk needs its own device; check the by-path names or --disk mappings"
        ]
    );
    assert_eq!(
        shown(&[("a".into(), "/dev/sdb1".into())]),
        [
            "2:16: disk.a.device: device `/dev/sdb1` is partition 1 of disk `b` (/dev/sdb)\n  hint: a disk's device must be a whole disk; wiping `b` destroys it"
        ]
    );
}

#[test]
fn a_remap_of_a_refused_disk_is_not_unknown() {
    let src = "disk:\n  a: { device: /dev/../sda }\n";
    let l = layout::load_str("t.yaml", src, &[("a".into(), "/dev/sdb".into())]).unwrap();
    assert_eq!(
        l.report
            .diagnostics
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>(),
        [
            "2:16: disk.a.device: device `/dev/../sda` has a `..` component\n  hint: nasstrap never resolves `..`: write the path it means"
        ]
    );
}

#[test]
fn the_mount_root_cannot_escape() {
    let src = "disk:\n  a:\n    device: /dev/sda\n    content: { type: gpt, partitions: { p: { size: 1G, content: { type: filesystem, format: ext4, mountpoint: /srv } } } }\n";
    let l = layout::load_str("t.yaml", src, &[]).unwrap();
    let opts = |root: &str| plan::Options {
        mount_root: root.into(),
        ..Default::default()
    };
    let r = plan::build(&l, &opts("/mnt/../etc")).unwrap_err();
    assert_eq!(
        r.diagnostics
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>(),
        [
            "--mount-root: mount root `/mnt/../etc` has a `..` component\n  hint: nasstrap never resolves `..`: write the path it means"
        ]
    );
    let p = plan::build(&l, &opts("//target/")).unwrap();
    assert_eq!(p.mount_root, "/target");
    assert!(
        p.steps
            .iter()
            .any(|s| s.description == "mount /dev/sda1 on /target/srv")
    );
    let p = plan::build(&l, &opts("/")).unwrap();
    assert!(
        p.steps
            .iter()
            .any(|s| s.description == "mount /dev/sda1 on /srv")
    );
}

#[test]
fn long_default_gpt_names_are_hashed_as_disko_does() {
    // `disk-a-` + 30 bytes is 37 bytes: disko names it by the first 36 hex
    // digits of its SHA-256 (echo -n disk-a-ppp… | sha256sum).
    let src = format!(
        "disk:\n  a:\n    device: /dev/sda\n    content: {{ type: gpt, partitions: {{ {}: {{ size: 1G }} }} }}\n",
        "p".repeat(30)
    );
    let l = layout::load_str("t.yaml", &src, &[]).unwrap();
    let p = plan::build(&l, &plan::Options::default()).unwrap();
    let t = p.disks[0].table.as_ref().unwrap();
    assert_eq!(
        t.partitions[0].label,
        "aeb11b0122e1eb983d336420d871061da169"
    );
}

#[test]
fn nodev_mounts_no_device() {
    let disk = "disk:\n  a:\n    device: /dev/sda\n    content: { type: gpt, partitions: { p: { size: 1G, content: { type: filesystem, format: ext4, mountpoint: / } } } }\n";
    assert_eq!(
        errs(&format!("{disk}nodev:\n  /data: {{ fsType: ext4 }}\n")),
        [
            "6:20: nodev./data.fsType: `ext4` is not a filesystem without a device\n  hint: nodev mounts are one of: tmpfs, ramfs"
        ]
    );
    assert_eq!(
        errs(&format!("{disk}nodev:\n  /data: {{ device: /dev/sdb }}\n")),
        [
            "6:20: nodev./data.device: a nodev mount has no device; `/dev/sdb` would mount a device outside the layout\n  hint: leave `device` out (it is `none`), or declare the disk under `disk:`"
        ]
    );
}

#[test]
fn subvolume_spelled_twice() {
    let src = "disk:\n  a:\n    device: /dev/sda\n    content:\n      type: gpt\n      partitions:\n        p:\n          size: 100%\n          content:\n            type: btrfs\n            subvolumes:\n              /home: { mountpoint: /home }\n              home: { mountpoint: /home2 }\n";
    assert_eq!(
        errs(src),
        [
            "13:15: disk.a.content.partitions.p.content.subvolumes.home: subvolume `home` is also declared at line 12"
        ]
    );
}

#[test]
fn an_explicit_zero_size_is_not_the_rest() {
    let src = "disk:\n  d1:\n    device: /dev/sda\n    content:\n      type: gpt\n      partitions:\n        a: { size: 0M }\n        b: { size: 0 }\n";
    assert_eq!(
        errs(src),
        [
            "7:20: disk.d1.content.partitions.a.size: partition `a` has size zero\n  hint: give it a size, or write 100% for the rest of the disk"
        ]
    );
}
