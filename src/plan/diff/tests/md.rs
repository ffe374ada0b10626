//! md verdicts: kept, assembled, re-created, and never written over when it
//! exists but does not run.

use super::NAS;
use super::kit::*;
use crate::probe::{MdState, Observed, Table};

/// The inactive arrays' UUID, which none of the members carries.
const MD127_UUID: &str = "00000000:00000000:00000000:00000009";

fn nas() -> (crate::layout::Loaded, Observed) {
    let l = layout(NAS);
    let obs = installed(&l, &blank(&["sda", "sdb", "sdc"], 4 * GIB));
    (l, obs)
}

#[test]
fn stopped_array_is_assembled_and_looked_into_later() {
    let (l, mut obs) = nas();
    taken_down(&mut obs);
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
10 change  assemble the existing array tank from 3 devices
           because array tank exists on its members but is not running
11 create  format LUKS2 `crypt` on /dev/md/tank
           because not visible until the array is assembled; apply assembles it and looks again
12 create  open LUKS `crypt` as /dev/mapper/crypt
           because not visible until the array is assembled; apply assembles it and looks again
13 create  make ext4 on /dev/mapper/crypt
           because not visible until the array is assembled; apply assembles it and looks again
14 create  mount /dev/mapper/crypt on /mnt/srv
",
    );
}

#[test]
fn inactive_array_is_refused_never_created_over() {
    let (l, mut obs) = nas();
    taken_down(&mut obs);
    obs.md_arrays.push(inactive(
        Some("tank"),
        MD127_UUID,
        &["/dev/sdb1", "/dev/sda1"],
    ));
    for p in ["/dev/sda1", "/dev/sdb1"] {
        part_mut(&mut obs, p).holders = vec!["md127".into()];
    }
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
10 change  assemble the existing array tank from 3 devices
           because array tank (/dev/md127) exists but is not running (inactive); refused
11 change  format LUKS2 `crypt` on /dev/md/tank
           because it is on array tank, which is not running: what is there cannot be seen; refused
12 change  open LUKS `crypt` as /dev/mapper/crypt
           because it is on array tank, which is not running: what is there cannot be seen; refused
13 change  make ext4 on /dev/mapper/crypt
           because it is on array tank, which is not running: what is there cannot be seen; refused
14 change  mount /dev/mapper/crypt on /mnt/srv
           because it is on array tank, which is not running: what is there cannot be seen; refused
refused: tank: array tank (/dev/md127) exists but is not running (inactive, 2 of 3 members: /dev/sdb1 /dev/sda1); nasstrap will not write over it (`mdadm --run /dev/md127` starts it, `mdadm --stop /dev/md127` stops it)
");
}

#[test]
fn inactive_array_without_a_name_is_found_by_its_members() {
    let (l, mut obs) = nas();
    taken_down(&mut obs);
    obs.md_arrays
        .push(inactive(None, MD127_UUID, &["/dev/sdc1"]));
    part_mut(&mut obs, "/dev/sdc1").holders = vec!["md127".into()];
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
10 change  assemble the existing array tank from 3 devices
           because array /dev/md127 exists but is not running (inactive); refused
11 change  format LUKS2 `crypt` on /dev/md/tank
           because it is on array tank, which is not running: what is there cannot be seen; refused
12 change  open LUKS `crypt` as /dev/mapper/crypt
           because it is on array tank, which is not running: what is there cannot be seen; refused
13 change  make ext4 on /dev/mapper/crypt
           because it is on array tank, which is not running: what is there cannot be seen; refused
14 change  mount /dev/mapper/crypt on /mnt/srv
           because it is on array tank, which is not running: what is there cannot be seen; refused
refused: tank: array /dev/md127 exists but is not running (inactive, 1 of 3 members: /dev/sdc1); nasstrap will not write over it (`mdadm --run /dev/md127` starts it, `mdadm --stop /dev/md127` stops it)
");
}

#[test]
fn stopped_array_with_a_blank_new_member_is_assembled_degraded_never_created() {
    let (l, mut obs) = nas();
    taken_down(&mut obs);
    // Bay c was replaced by a blank disk: the array is degraded, not gone.
    let c = disk_mut(&mut obs, "/dev/sdc");
    c.table = Table::None;
    c.partitions.clear();
    expect(
        diff_of(&l, &obs),
        "
 1 keep    wipe the signatures on disk a (/dev/sda)
 2 keep    write a GPT with 1 partition on a
 3 keep    wipe the signatures on disk b (/dev/sdb)
 4 keep    write a GPT with 1 partition on b
 5 keep    wipe the signatures on disk c (/dev/sdc)
 6 create  write a GPT with 1 partition on c
 7 keep    clear old signatures on new partition /dev/sda1
 8 keep    clear old signatures on new partition /dev/sdb1
 9 create  clear old signatures on new partition /dev/sdc1
10 change  assemble array tank degraded from 2 of its 3 devices
           because degraded: 2 of 3 members in sync, not assembled; c blank (a new disk) (/dev/sdc1)
11 create  format LUKS2 `crypt` on /dev/md/tank
           because not visible until the array is assembled; apply assembles it and looks again
12 create  open LUKS `crypt` as /dev/mapper/crypt
           because not visible until the array is assembled; apply assembles it and looks again
13 create  make ext4 on /dev/mapper/crypt
           because not visible until the array is assembled; apply assembles it and looks again
14 create  mount /dev/mapper/crypt on /mnt/srv
refused: tank: degraded: 2 of 3 members in sync, not assembled; c blank (a new disk) (/dev/sdc1)
",
    );
    let (plan, _) = crate::plan::diff::against(&l, &obs, &Default::default()).unwrap();
    let assemble = &plan.steps[9].action;
    assert!(
        matches!(assemble, crate::plan::Action::MdAssemble { members, .. } if members == &["/dev/sda1", "/dev/sdb1"]),
        "only the members in sync are assembled: {assemble:?}"
    );
}

#[test]
fn degraded_array_is_kept_and_shown_never_recreated() {
    let (l, mut obs) = nas();
    // c's member failed and was removed; nothing is open or mounted.
    obs.mounts.clear();
    obs.luks[0].open = None;
    obs.luks[0].open_as = None;
    let a = &mut obs.md_arrays[0];
    a.members.pop();
    a.state = MdState::Degraded { missing: 1 };
    a.holders.clear();
    part_mut(&mut obs, "/dev/sdc1").holders.clear();
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
10 keep    keep array tank, running degraded
           because degraded: 2 of 3 members in sync, running; c out of date (holds the array's superblock, not in sync) (/dev/sdc1)
11 keep    format LUKS2 `crypt` on /dev/md/tank
12 create  open LUKS `crypt` as /dev/mapper/crypt
13 create  make ext4 on /dev/mapper/crypt
14 create  mount /dev/mapper/crypt on /mnt/srv
refused: tank: degraded: 2 of 3 members in sync, running; c out of date (holds the array's superblock, not in sync) (/dev/sdc1)
");
}

#[test]
fn running_array_with_other_members_is_stopped_and_recreated() {
    let (l, mut obs) = nas();
    // A two-disk array of the same name from an older setup, on a and b.
    obs.mounts.clear();
    obs.luks[0].open = None;
    obs.luks[0].open_as = None;
    let a = &mut obs.md_arrays[0];
    a.members.pop();
    a.raid_devices = 2;
    a.level = "raid1".into();
    a.holders.clear();
    part_mut(&mut obs, "/dev/sdc1").holders.clear();
    part_mut(&mut obs, "/dev/sdc1").signature = None;
    expect(diff_of(&l, &obs), "
 1 destroy stop array md127 (tank, raid1 on /dev/sda1 /dev/sdb1, assembled from the old disks)
           because it holds crypto_LUKS; its members are on a, b, which this plan destroys
 2 keep    wipe the signatures on disk a (/dev/sda)
 3 keep    write a GPT with 1 partition on a
 4 keep    wipe the signatures on disk b (/dev/sdb)
 5 keep    write a GPT with 1 partition on b
 6 keep    wipe the signatures on disk c (/dev/sdc)
 7 keep    write a GPT with 1 partition on c
 8 keep    clear old signatures on new partition /dev/sda1
 9 keep    clear old signatures on new partition /dev/sdb1
10 keep    clear old signatures on new partition /dev/sdc1
11 destroy create RAID5 array tank from 3 devices
           because array tank exists with members /dev/sda1 /dev/sdb1 where /dev/sda1 /dev/sdb1 /dev/sdc1 are planned
12 create  format LUKS2 `crypt` on /dev/md/tank
13 create  open LUKS `crypt` as /dev/mapper/crypt
14 create  make ext4 on /dev/mapper/crypt
15 create  mount /dev/mapper/crypt on /mnt/srv
");
}
