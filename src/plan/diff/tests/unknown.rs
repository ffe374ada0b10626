//! Unreadable is not blank.

use super::kit::*;
use super::{NAS, SIMPLE};

const EIO: &str = "reading its first 256KiB: Input/output error (os error 5)";

#[test]
fn unreadable_disk_is_refused_and_nothing_is_created_on_it() {
    let l = layout(SIMPLE);
    let mut obs = blank(&["sda"], 4 * GIB);
    disk_mut(&mut obs, "/dev/sda").unreadable = Some(EIO.into());
    expect(diff_of(&l, &obs), "
 1 change  wipe the signatures on disk a (/dev/sda)
           because /dev/sda cannot be read: what is there is unknown; refused
 2 change  write a GPT with 3 partitions on a
           because /dev/sda cannot be read: what is there is unknown; refused
 3 change  clear old signatures on new partition /dev/sda1
           because /dev/sda cannot be read: what is there is unknown; refused
 4 change  clear old signatures on new partition /dev/sda2
           because /dev/sda cannot be read: what is there is unknown; refused
 5 change  clear old signatures on new partition /dev/sda3
           because /dev/sda cannot be read: what is there is unknown; refused
 6 change  make ext4 on /dev/sda1
           because /dev/sda cannot be read: what is there is unknown; refused
 7 change  make swap on /dev/sda2
           because /dev/sda cannot be read: what is there is unknown; refused
 8 change  make xfs on /dev/sda3
           because /dev/sda cannot be read: what is there is unknown; refused
 9 change  mount /dev/sda1 on /mnt
           because /dev/sda cannot be read: what is there is unknown; refused
10 change  mount /dev/sda3 on /mnt/data
           because /dev/sda cannot be read: what is there is unknown; refused
refused: a: /dev/sda cannot be read: reading its first 256KiB: Input/output error (os error 5); nothing will be written over it
");
}

#[test]
fn unreadable_partition_under_keeps_is_refused_too() {
    let l = layout(SIMPLE);
    let mut obs = installed(&l, &blank(&["sda"], 4 * GIB));
    part_mut(&mut obs, "/dev/sda3").unreadable =
        Some("blkid: error: /dev/sda3: Input/output error".into());
    expect(diff_of(&l, &obs), "
 1 change  wipe the signatures on disk a (/dev/sda)
           because /dev/sda3 cannot be read: what is there is unknown; refused
 2 change  write a GPT with 3 partitions on a
           because /dev/sda3 cannot be read: what is there is unknown; refused
 3 keep    clear old signatures on new partition /dev/sda1
 4 keep    clear old signatures on new partition /dev/sda2
 5 change  clear old signatures on new partition /dev/sda3
           because /dev/sda3 cannot be read: what is there is unknown; refused
 6 keep    make ext4 on /dev/sda1
 7 keep    make swap on /dev/sda2
 8 change  make xfs on /dev/sda3
           because /dev/sda3 cannot be read: what is there is unknown; refused
 9 keep    mount /dev/sda1 on /mnt
10 change  mount /dev/sda3 on /mnt/data
           because /dev/sda3 cannot be read: what is there is unknown; refused
refused: a: /dev/sda3 cannot be read: blkid: error: /dev/sda3: Input/output error; nothing will be written over it
");
}

#[test]
fn unreadable_member_refuses_the_array_and_what_is_on_it() {
    let l = layout(NAS);
    let mut obs = blank(&["sda", "sdb", "sdc"], 4 * GIB);
    disk_mut(&mut obs, "/dev/sdb").unreadable = Some(EIO.into());
    expect(diff_of(&l, &obs), "
 1 keep    wipe the signatures on disk a (/dev/sda)
 2 create  write a GPT with 1 partition on a
 3 change  wipe the signatures on disk b (/dev/sdb)
           because /dev/sdb cannot be read: what is there is unknown; refused
 4 change  write a GPT with 1 partition on b
           because /dev/sdb cannot be read: what is there is unknown; refused
 5 keep    wipe the signatures on disk c (/dev/sdc)
 6 create  write a GPT with 1 partition on c
 7 create  clear old signatures on new partition /dev/sda1
 8 change  clear old signatures on new partition /dev/sdb1
           because /dev/sdb cannot be read: what is there is unknown; refused
 9 create  clear old signatures on new partition /dev/sdc1
10 change  create RAID5 array tank from 3 devices
           because /dev/sdb cannot be read: what is there is unknown; refused
11 change  format LUKS2 `crypt` on /dev/md/tank
           because /dev/sdb cannot be read: what is there is unknown; refused
12 change  open LUKS `crypt` as /dev/mapper/crypt
           because /dev/sdb cannot be read: what is there is unknown; refused
13 change  make ext4 on /dev/mapper/crypt
           because /dev/sdb cannot be read: what is there is unknown; refused
14 change  mount /dev/mapper/crypt on /mnt/srv
           because /dev/sdb cannot be read: what is there is unknown; refused
refused: b: /dev/sdb cannot be read: reading its first 256KiB: Input/output error (os error 5); nothing will be written over it
");
}

#[test]
fn unreadable_array_refuses_what_is_on_it() {
    let l = layout(NAS);
    let mut obs = installed(&l, &blank(&["sda", "sdb", "sdc"], 4 * GIB));
    obs.md_arrays[0].unreadable = Some(EIO.into());
    expect(diff_of(&l, &obs), "
 1 keep    wipe the signatures on disk a (/dev/sda)
 2 keep    write a GPT with 1 partition on a
 3 keep    wipe the signatures on disk b (/dev/sdb)
 4 keep    write a GPT with 1 partition on b
 5 keep    wipe the signatures on disk c (/dev/sdc)
 6 keep    write a GPT with 1 partition on c
 7 keep    clear old signatures on new partition /dev/sda1
 8 keep    clear old signatures on new partition /dev/sdb1
 9 keep    clear old signatures on new partition /dev/sdc1
10 change  create RAID5 array tank from 3 devices
           because /dev/md127 cannot be read: what is there is unknown; refused
11 change  format LUKS2 `crypt` on /dev/md/tank
           because /dev/md127 cannot be read: what is there is unknown; refused
12 change  open LUKS `crypt` as /dev/mapper/crypt
           because /dev/md127 cannot be read: what is there is unknown; refused
13 change  make ext4 on /dev/mapper/crypt
           because /dev/md127 cannot be read: what is there is unknown; refused
14 change  mount /dev/mapper/crypt on /mnt/srv
           because /dev/md127 cannot be read: what is there is unknown; refused
refused: tank: /dev/md127 cannot be read: reading its first 256KiB: Input/output error (os error 5); nothing will be written over it
");
}
