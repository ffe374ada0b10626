//! Disk-level verdicts: blank, kept, partitions added, tables replaced.

use super::kit::*;
use super::{NAS, SIMPLE};
use crate::probe::Table;

#[test]
fn blank_disk_creates_everything() {
    let l = layout(SIMPLE);
    expect(
        diff_of(&l, &blank(&["sda"], 4 * GIB)),
        "
 1 keep    wipe the signatures on disk a (/dev/sda)
 2 create  write a GPT with 3 partitions on a
 3 create  clear old signatures on new partition /dev/sda1
 4 create  clear old signatures on new partition /dev/sda2
 5 create  clear old signatures on new partition /dev/sda3
 6 create  make ext4 on /dev/sda1
 7 create  make swap on /dev/sda2
 8 create  make xfs on /dev/sda3
 9 create  mount /dev/sda1 on /mnt
10 create  mount /dev/sda3 on /mnt/data
",
    );
}

#[test]
fn installed_disk_keeps_everything() {
    let l = layout(SIMPLE);
    let obs = installed(&l, &blank(&["sda"], 4 * GIB));
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
 8 keep    make xfs on /dev/sda3
 9 keep    mount /dev/sda1 on /mnt
10 keep    mount /dev/sda3 on /mnt/data
",
    );
}

#[test]
fn installed_nas_keeps_everything() {
    let l = layout(NAS);
    let obs = installed(&l, &blank(&["sda", "sdb", "sdc"], 4 * GIB));
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
11 keep    format LUKS2 `crypt` on /dev/md/tank
12 keep    open LUKS `crypt` as /dev/mapper/crypt
13 keep    make ext4 on /dev/mapper/crypt
14 keep    mount /dev/mapper/crypt on /mnt/srv
",
    );
}

#[test]
fn missing_partition_is_added() {
    let l = layout(SIMPLE);
    let mut obs = installed(&l, &blank(&["sda"], 4 * GIB));
    let d = disk_mut(&mut obs, "/dev/sda");
    d.partitions.pop();
    if let Table::Gpt(g) = &mut d.table {
        g.entries.pop();
    }
    obs.mounts.retain(|m| m.target != "/mnt/data");
    expect(
        diff_of(&l, &obs),
        "
 1 keep    wipe the signatures on disk a (/dev/sda)
 2 change  write a GPT with 3 partitions on a
           because 1 partition to add
 3 keep    clear old signatures on new partition /dev/sda1
 4 keep    clear old signatures on new partition /dev/sda2
 5 create  clear old signatures on new partition /dev/sda3
 6 keep    make ext4 on /dev/sda1
 7 keep    make swap on /dev/sda2
 8 create  make xfs on /dev/sda3
 9 keep    mount /dev/sda1 on /mnt
10 create  mount /dev/sda3 on /mnt/data
",
    );
}

#[test]
fn damaged_backup_header_is_rewritten() {
    let l = layout(SIMPLE);
    let mut obs = installed(&l, &blank(&["sda"], 4 * GIB));
    if let Table::Gpt(g) = &mut disk_mut(&mut obs, "/dev/sda").table {
        g.backup_ok = false;
    }
    expect(
        diff_of(&l, &obs),
        "
 1 keep    wipe the signatures on disk a (/dev/sda)
 2 change  write a GPT with 3 partitions on a
           because the backup GPT header is damaged
 3 keep    clear old signatures on new partition /dev/sda1
 4 keep    clear old signatures on new partition /dev/sda2
 5 keep    clear old signatures on new partition /dev/sda3
 6 keep    make ext4 on /dev/sda1
 7 keep    make swap on /dev/sda2
 8 keep    make xfs on /dev/sda3
 9 keep    mount /dev/sda1 on /mnt
10 keep    mount /dev/sda3 on /mnt/data
",
    );
}

#[test]
fn moved_partition_destroys_the_table_and_wipes_the_old_ones() {
    let l = layout(SIMPLE);
    let mut obs = installed(&l, &blank(&["sda"], 4 * GIB));
    obs.mounts.clear();
    let d = disk_mut(&mut obs, "/dev/sda");
    if let Table::Gpt(g) = &mut d.table {
        g.entries[0].last_lba -= 2048;
    }
    for p in &mut d.partitions {
        p.mountpoints.clear();
    }
    expect(diff_of(&l, &obs), "
 1 destroy wipe old signatures on /dev/sda1
           because it holds ext4 'root', which a new partition at that place would bring back
 2 keep    wipe the signatures on disk a (/dev/sda)
 3 destroy write a GPT with 3 partitions on a
           because partition 1 `disk-a-root` is at sectors 2048..2097151, planned 2048..2099199 holding ext4 'root'
 4 create  clear old signatures on new partition /dev/sda1
 5 keep    clear old signatures on new partition /dev/sda2
 6 keep    clear old signatures on new partition /dev/sda3
 7 create  make ext4 on /dev/sda1
 8 keep    make swap on /dev/sda2
 9 keep    make xfs on /dev/sda3
10 create  mount /dev/sda1 on /mnt
11 create  mount /dev/sda3 on /mnt/data
");
}

#[test]
fn mbr_disk_is_replaced() {
    let l = layout(SIMPLE);
    let mut obs = blank(&["sda"], 4 * GIB);
    let d = disk_mut(&mut obs, "/dev/sda");
    d.table = Table::Mbr;
    d.partitions.push(crate::probe::Partition {
        number: 1,
        name: "sda1".into(),
        path: "/dev/sda1".into(),
        start_sector: 2048,
        size_bytes: GIB,
        part_uuid: None,
        part_label: None,
        part_type: Some("0x83".into()),
        by_path: vec![],
        by_id: vec![],
        signature: Some(sig(
            "ext4",
            Some("old"),
            "44c0ffee-0000-4000-8000-00000000beef",
        )),
        holders: vec![],
        mountpoints: vec![],
        unreadable: None,
    });
    expect(
        diff_of(&l, &obs),
        "
 1 destroy wipe old signatures on /dev/sda1
           because it holds ext4 'old', which a new partition at that place would bring back
 2 destroy wipe the signatures on disk a (/dev/sda)
           because /dev/sda holds an MBR partition table; /dev/sda1: ext4 'old'
 3 destroy write a GPT with 3 partitions on a
           because /dev/sda holds an MBR partition table; /dev/sda1: ext4 'old'
 4 create  clear old signatures on new partition /dev/sda1
 5 create  clear old signatures on new partition /dev/sda2
 6 create  clear old signatures on new partition /dev/sda3
 7 create  make ext4 on /dev/sda1
 8 create  make swap on /dev/sda2
 9 create  make xfs on /dev/sda3
10 create  mount /dev/sda1 on /mnt
11 create  mount /dev/sda3 on /mnt/data
",
    );
}

/// A filesystem on the whole disk, no table.
const WHOLE: &str = "
disk:
  a: { device: /dev/sda, content: { type: filesystem, format: ext4, mountpoint: /x } }
";

#[test]
fn whole_disk_filesystem_is_kept_with_its_wipe() {
    let l = layout(WHOLE);
    let obs = installed(&l, &blank(&["sda"], 4 * GIB));
    expect(
        diff_of(&l, &obs),
        "
 1 keep    wipe the signatures on disk a (/dev/sda)
 2 keep    make ext4 on /dev/sda
 3 keep    mount /dev/sda on /mnt/x
",
    );
}

#[test]
fn whole_disk_wipe_destroys_what_the_content_step_destroys() {
    let l = layout(WHOLE);
    let mut obs = blank(&["sda"], 4 * GIB);
    disk_mut(&mut obs, "/dev/sda").signature = Some(sig("xfs", Some("old"), "9"));
    expect(
        diff_of(&l, &obs),
        "
 1 destroy wipe the signatures on disk a (/dev/sda)
           because /dev/sda holds xfs 'old'
 2 destroy make ext4 on /dev/sda
           because /dev/sda holds xfs 'old' where ext4 is planned
 3 create  mount /dev/sda on /mnt/x
",
    );
}

#[test]
fn a_rest_partition_filling_the_tail_is_the_planned_one() {
    // parted, fdisk and earlier nasstrap builds end the last partition at the
    // last usable sector; disko's sgdisk --align-end stops at the last 1 MiB
    // boundary. Same partition: kept, not rewritten.
    let l = layout(SIMPLE);
    let mut obs = installed(&l, &blank(&["sda"], 4 * GIB));
    let Table::Gpt(g) = &mut disk_mut(&mut obs, "/dev/sda").table else {
        panic!("installed has a GPT")
    };
    let last_usable = g.last_usable_lba;
    let rest = g.entries.last_mut().unwrap();
    assert!(rest.last_lba < last_usable);
    rest.last_lba = last_usable;
    assert!(
        !diff_of(&l, &obs).contains("destroy"),
        "{}",
        diff_of(&l, &obs)
    );
    // A partition that ends elsewhere is another partition.
    let Table::Gpt(g) = &mut disk_mut(&mut obs, "/dev/sda").table else {
        unreachable!()
    };
    g.entries[0].last_lba += 2048;
    assert!(diff_of(&l, &obs).contains("destroy"));
}
