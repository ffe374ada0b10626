//! A disk whose data goes must not be in use.

use super::SIMPLE;
use super::kit::*;

fn moved() -> (crate::layout::Loaded, crate::probe::Observed) {
    let l = layout(SIMPLE);
    let mut obs = installed(&l, &blank(&["sda"], 4 * GIB));
    if let crate::probe::Table::Gpt(g) = &mut disk_mut(&mut obs, "/dev/sda").table {
        g.entries[2].name = "old-data".into();
    }
    (l, obs)
}

#[test]
fn mounted_partition_makes_the_disk_busy() {
    let (l, obs) = moved();
    let (plan, refusals) =
        crate::plan::diff::against(&l, &obs, &crate::plan::Options::default()).unwrap();
    let _ = plan;
    expect(
        refusals.iter().map(|r| format!("{r}\n")).collect(),
        "
a: busy: /dev/sda3 is mounted on /mnt/data, /dev/sda1 is mounted on /mnt; unmount or stop it first
",
    );
}

#[test]
fn swap_makes_the_disk_busy() {
    let (l, mut obs) = moved();
    obs.mounts.clear();
    for p in &mut disk_mut(&mut obs, "/dev/sda").partitions {
        p.mountpoints.clear();
    }
    obs.swaps = vec!["/dev/sda2".into()];
    let (_, refusals) =
        crate::plan::diff::against(&l, &obs, &crate::plan::Options::default()).unwrap();
    expect(
        refusals.iter().map(|r| format!("{r}\n")).collect(),
        "
a: busy: /dev/sda2 is in use as swap; unmount or stop it first
",
    );
}

#[test]
fn holder_outside_the_plan_makes_the_disk_busy() {
    let (l, mut obs) = moved();
    obs.mounts.clear();
    for p in &mut disk_mut(&mut obs, "/dev/sda").partitions {
        p.mountpoints.clear();
    }
    part_mut(&mut obs, "/dev/sda3").holders = vec!["dm-7".into()];
    expect(
        diff_of(&l, &obs),
        "
 1 destroy wipe old signatures on /dev/sda3
           because it holds xfs, which a new partition at that place would bring back
 2 keep    wipe the signatures on disk a (/dev/sda)
 3 destroy write a GPT with 3 partitions on a
           because partition 3 is named `old-data`, planned `disk-a-data` holding xfs
 4 keep    clear old signatures on new partition /dev/sda1
 5 keep    clear old signatures on new partition /dev/sda2
 6 create  clear old signatures on new partition /dev/sda3
 7 keep    make ext4 on /dev/sda1
 8 keep    make swap on /dev/sda2
 9 create  make xfs on /dev/sda3
10 create  mount /dev/sda1 on /mnt
11 create  mount /dev/sda3 on /mnt/data
refused: a: busy: /dev/sda3 is held by dm-7; unmount or stop it first
",
    );
}

#[test]
fn busy_disk_is_fine_when_nothing_is_destroyed() {
    let l = layout(SIMPLE);
    let obs = installed(&l, &blank(&["sda"], 4 * GIB));
    let (_, refusals) =
        crate::plan::diff::against(&l, &obs, &crate::plan::Options::default()).unwrap();
    assert_eq!(refusals, []);
}
