//! Filesystem and LUKS verdicts on kept partitions.

use super::kit::*;
use super::{NAS, SIMPLE};

fn simple() -> (crate::layout::Loaded, crate::probe::Observed) {
    let l = layout(SIMPLE);
    let obs = installed(&l, &blank(&["sda"], 4 * GIB));
    (l, obs)
}

#[test]
fn other_filesystem_is_destroyed() {
    let (l, mut obs) = simple();
    part_mut(&mut obs, "/dev/sda3").signature = Some(sig("ext4", None, "5"));
    expect(
        diff_of(&l, &obs),
        "
 1 keep    wipe the signatures on disk a (/dev/sda)
 2 keep    write a GPT with 3 partitions on a
 3 keep    clear old signatures on new partition /dev/sda1
 4 keep    clear old signatures on new partition /dev/sda2
 5 keep    clear old signatures on new partition /dev/sda3
 6 keep    make ext4 on /dev/sda1
 7 keep    make swap on /dev/sda2
 8 destroy make xfs on /dev/sda3
           because /dev/sda3 holds ext4 where xfs is planned
 9 keep    mount /dev/sda1 on /mnt
10 keep    mount /dev/sda3 on /mnt/data
refused: a: busy: /dev/sda3 is mounted on /mnt/data; unmount or stop it first
",
    );
}

#[test]
fn other_label_is_destroyed() {
    let (l, mut obs) = simple();
    part_mut(&mut obs, "/dev/sda1").signature = Some(sig("ext4", Some("other"), "1"));
    expect(
        diff_of(&l, &obs),
        "
 1 keep    wipe the signatures on disk a (/dev/sda)
 2 keep    write a GPT with 3 partitions on a
 3 keep    clear old signatures on new partition /dev/sda1
 4 keep    clear old signatures on new partition /dev/sda2
 5 keep    clear old signatures on new partition /dev/sda3
 6 destroy make ext4 on /dev/sda1
           because /dev/sda1 holds ext4 'other' where ext4 'root' is planned
 7 keep    make swap on /dev/sda2
 8 keep    make xfs on /dev/sda3
 9 keep    mount /dev/sda1 on /mnt
10 keep    mount /dev/sda3 on /mnt/data
refused: a: busy: /dev/sda1 is mounted on /mnt; unmount or stop it first
",
    );
}

#[test]
fn empty_partition_gets_its_filesystem() {
    let (l, mut obs) = simple();
    part_mut(&mut obs, "/dev/sda2").signature = None;
    part_mut(&mut obs, "/dev/sda3").signature = None;
    expect(
        diff_of(&l, &obs),
        "
 1 keep    wipe the signatures on disk a (/dev/sda)
 2 keep    write a GPT with 3 partitions on a
 3 keep    clear old signatures on new partition /dev/sda1
 4 keep    clear old signatures on new partition /dev/sda2
 5 keep    clear old signatures on new partition /dev/sda3
 6 keep    make ext4 on /dev/sda1
 7 create  make swap on /dev/sda2
 8 create  make xfs on /dev/sda3
 9 keep    mount /dev/sda1 on /mnt
10 keep    mount /dev/sda3 on /mnt/data
",
    );
}

#[test]
fn ambivalent_partition_is_destroyed() {
    let (l, mut obs) = simple();
    let mut amb = sig(crate::probe::AMBIVALENT, None, "x");
    amb.uuid = None;
    part_mut(&mut obs, "/dev/sda2").signature = Some(amb);
    expect(
        diff_of(&l, &obs),
        "
 1 keep    wipe the signatures on disk a (/dev/sda)
 2 keep    write a GPT with 3 partitions on a
 3 keep    clear old signatures on new partition /dev/sda1
 4 keep    clear old signatures on new partition /dev/sda2
 5 keep    clear old signatures on new partition /dev/sda3
 6 keep    make ext4 on /dev/sda1
 7 destroy make swap on /dev/sda2
           because /dev/sda2 holds ambivalent where swap is planned
 8 keep    make xfs on /dev/sda3
 9 keep    mount /dev/sda1 on /mnt
10 keep    mount /dev/sda3 on /mnt/data
",
    );
}

#[test]
fn filesystem_where_luks_is_planned_is_destroyed() {
    let l = layout(NAS);
    let mut obs = installed(&l, &blank(&["sda", "sdb", "sdc"], 4 * GIB));
    // The array runs, and holds a plain filesystem, not mounted.
    obs.luks.clear();
    obs.mounts.clear();
    obs.md_arrays[0].holders.clear();
    obs.md_arrays[0].mountpoints.clear();
    obs.md_arrays[0].signature = Some(sig("xfs", Some("media"), "7"));
    expect(
        diff_of(&l, &obs),
        "
 1 keep    wipe the signatures on disk a (/dev/sda)
 2 keep    write a GPT with 1 partition on a
 3 keep    wipe the signatures on disk b (/dev/sdb)
 4 keep    write a GPT with 1 partition on b
 5 keep    wipe the signatures on disk c (/dev/sdc)
 6 keep    write a GPT with 1 partition on c
 7 keep    clear old signatures on new partition /dev/sda1
 8 keep    clear old signatures on new partition /dev/sdb1
 9 keep    clear old signatures on new partition /dev/sdc1
10 keep    create RAID5 array tank from 3 devices
11 destroy format LUKS2 `crypt` on /dev/md/tank
           because /dev/md/tank holds xfs 'media' where LUKS `crypt` is planned
12 create  open LUKS `crypt` as /dev/mapper/crypt
13 create  make ext4 on /dev/mapper/crypt
14 create  mount /dev/mapper/crypt on /mnt/srv
",
    );
}
