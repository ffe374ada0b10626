//! Degraded arrays: a member gone (disk pulled, blank replacement, faulty,
//! too many gone) is shown as the array's state with what repairs it, and
//! nothing of it is ever re-created.

use super::NAS;
use super::kit::*;
use crate::plan::Action;
use crate::plan::diff::{How, Why, against};
use crate::probe::{MdState, Observed};

fn nas() -> (crate::layout::Loaded, Observed) {
    let l = layout(NAS);
    let obs = installed(&l, &blank(&["sda", "sdb", "sdc"], 4 * GIB));
    (l, obs)
}

/// Take disk c out of the box.
fn pull_c(obs: &mut Observed) {
    obs.disks.retain(|d| d.path != "/dev/sdc");
}

fn refusals(l: &crate::layout::Loaded, obs: &Observed) -> Vec<Why> {
    let (_, r) = against(l, obs, &Default::default()).unwrap();
    r.into_iter().map(|r| r.reason).collect()
}

#[test]
fn a_pulled_disk_of_a_running_array_is_its_state_not_a_missing_disk() {
    let (l, mut obs) = nas();
    pull_c(&mut obs);
    let a = &mut obs.md_arrays[0];
    a.members.retain(|m| m.device != "/dev/sdc1");
    a.state = MdState::Degraded { missing: 1 };
    let got = diff_of(&l, &obs);
    assert!(
        got.contains(" keep    keep array tank, running degraded\n"),
        "{got}"
    );
    assert!(!got.contains("destroy"), "{got}");
    let why = refusals(&l, &obs);
    assert_eq!(
        why.len(),
        1,
        "only the degraded array, not c missing: {why:?}"
    );
    let Why::Degraded(d) = &why[0] else {
        panic!("{why:?}")
    };
    assert!(d.running && d.can_run());
    assert_eq!(d.gone.len(), 1);
    assert_eq!(
        (d.gone[0].disk.as_str(), &d.gone[0].how),
        ("c", &How::Absent)
    );
    assert!(why[0].is_runnable_degraded());
    assert_eq!(
        why[0].to_string(),
        "degraded: 2 of 3 members in sync, running; c missing (/dev/sdc1)"
    );
}

#[test]
fn a_gathered_set_missing_a_member_is_stopped_then_assembled_degraded() {
    let (l, mut obs) = nas();
    taken_down(&mut obs);
    pull_c(&mut obs);
    obs.md_arrays
        .push(inactive(Some("tank"), "", &["/dev/sdb1", "/dev/sda1"]));
    for p in ["/dev/sda1", "/dev/sdb1"] {
        part_mut(&mut obs, p).holders = vec!["md127".into()];
    }
    expect(diff_of(&l, &obs), "
 1 keep    wipe the signatures on disk a (/dev/sda)
 2 keep    write a GPT with 1 partition on a
 3 keep    wipe the signatures on disk b (/dev/sdb)
 4 keep    write a GPT with 1 partition on b
 5 keep    clear old signatures on new partition /dev/sda1
 6 keep    clear old signatures on new partition /dev/sdb1
 7 change  stop /dev/md127, the members of tank gathered but not started
           because its members are assembled again below
 8 change  assemble array tank degraded from 2 of its 3 devices
           because degraded: 2 of 3 members in sync, not started (/dev/md127 inactive); c missing (/dev/sdc1)
 9 create  format LUKS2 `crypt` on /dev/md/tank
           because not visible until the array is assembled; apply assembles it and looks again
10 create  open LUKS `crypt` as /dev/mapper/crypt
           because not visible until the array is assembled; apply assembles it and looks again
11 create  make ext4 on /dev/mapper/crypt
           because not visible until the array is assembled; apply assembles it and looks again
12 create  mount /dev/mapper/crypt on /mnt/srv
refused: tank: degraded: 2 of 3 members in sync, not started (/dev/md127 inactive); c missing (/dev/sdc1)
");
}

#[test]
fn a_faulty_member_is_shown_as_faulty() {
    let (l, mut obs) = nas();
    let a = &mut obs.md_arrays[0];
    a.members[2].state = "faulty".into();
    a.state = MdState::Degraded { missing: 1 };
    let why = refusals(&l, &obs);
    let Some(Why::Degraded(d)) = why.iter().find(|w| matches!(w, Why::Degraded(_))) else {
        panic!("{why:?}")
    };
    assert_eq!(d.gone_on("c").map(|g| &g.how), Some(&How::Faulty));
    assert!(!diff_of(&l, &obs).contains("destroy"));
}

#[test]
fn too_few_members_to_run_is_refused_and_not_started() {
    let (l, mut obs) = nas();
    taken_down(&mut obs);
    pull_c(&mut obs);
    disk_mut(&mut obs, "/dev/sdb").partitions[0].signature = None;
    let why = refusals(&l, &obs);
    let d = why.iter().find_map(|w| match w {
        Why::Degraded(d) => Some(d),
        _ => None,
    });
    let d = d.expect("shown as degraded");
    assert!(!d.can_run());
    assert!(
        d.to_string()
            .ends_with("too few for RAID5 to run, nothing can be done here")
    );
    assert!(
        why.iter().any(|w| matches!(w, Why::Missing { .. })),
        "{why:?}"
    );
    let (plan, _) = against(&l, &obs, &Default::default()).unwrap();
    assert!(
        !plan
            .steps
            .iter()
            .any(|s| matches!(s.action, Action::MdAssemble { .. })
                && s.description.contains("degraded")),
        "never started degraded below what md runs on"
    );
}

#[test]
fn a_clean_array_and_a_blank_disk_set_are_not_degraded() {
    let (l, obs) = nas();
    assert!(refusals(&l, &obs).is_empty());
    let l = layout(NAS);
    let blank = blank(&["sda", "sdb", "sdc"], 4 * GIB);
    assert!(refusals(&l, &blank).is_empty());
}

/// Three disks, one btrfs raid1 over their partitions, as disko writes it.
pub(crate) const BTRFS: &str = "
disk:
  a:
    device: /dev/sda
    content:
      type: gpt
      partitions:
        data:
          size: 100%
          content:
            type: btrfs
            extraArgs: [-d, raid1, -m, raid1, -L, pool, /dev/disk/by-partlabel/disk-b-data, /dev/disk/by-partlabel/disk-c-data]
            subvolumes: { '@data': { mountpoint: /srv } }
  b: { device: /dev/sdb, content: { type: gpt, partitions: { data: { size: 100% } } } }
  c: { device: /dev/sdc, content: { type: gpt, partitions: { data: { size: 100% } } } }
";

#[test]
fn a_btrfs_with_a_device_pulled_is_kept_and_mounts_degraded() {
    let l = layout(BTRFS);
    let mut obs = installed(&l, &blank(&["sda", "sdb", "sdc"], 4 * GIB));
    taken_down(&mut obs);
    pull_c(&mut obs);
    let fs = &mut obs.btrfs[0];
    fs.devices.retain(|d| d != "/dev/sdc1");
    fs.devids = vec![1, 2];
    let got = diff_of(&l, &obs);
    assert!(!got.contains("destroy"), "{got}");
    assert!(got.contains("keep    keep btrfs pool, degraded"), "{got}");
    let (plan, refusals) = against(&l, &obs, &Default::default()).unwrap();
    let mount = plan
        .steps
        .iter()
        .find_map(|s| match &s.action {
            Action::Mount {
                target, options, ..
            } if target == "/mnt/srv" => Some(options),
            _ => None,
        })
        .expect("mounted");
    assert!(mount.contains(&"degraded".to_string()), "{mount:?}");
    let [r] = refusals.as_slice() else {
        panic!("{refusals:?}")
    };
    assert_eq!(
        r.reason.to_string(),
        "degraded: 2 of 3 devices present, not mounted; c missing (/dev/sdc1)"
    );
    let Why::Degraded(d) = &r.reason else {
        panic!()
    };
    assert_eq!(
        d.gone[0].known_as.as_deref(),
        Some("3"),
        "the devid btrfs replace names"
    );
    assert!(d.can_run());
}

#[test]
fn a_btrfs_without_redundancy_cannot_lose_a_device() {
    let l = layout(&BTRFS.replace("-d, raid1, -m, raid1, ", ""));
    let mut obs = installed(&l, &blank(&["sda", "sdb", "sdc"], 4 * GIB));
    taken_down(&mut obs);
    pull_c(&mut obs);
    obs.btrfs[0].devices.retain(|d| d != "/dev/sdc1");
    let why = refusals(&l, &obs);
    let d = why.iter().find_map(|w| match w {
        Why::Degraded(d) => Some(d),
        _ => None,
    });
    assert!(
        !d.expect("degraded").can_run(),
        "data single: nothing to mount from"
    );
}

/// Three disks, a raidz1 pool over their partitions.
const ZFS: &str = "
disk:
  a: { device: /dev/sda, content: { type: gpt, partitions: { zfs: { size: 100%, content: { type: zfs, pool: tank } } } } }
  b: { device: /dev/sdb, content: { type: gpt, partitions: { zfs: { size: 100%, content: { type: zfs, pool: tank } } } } }
  c: { device: /dev/sdc, content: { type: gpt, partitions: { zfs: { size: 100%, content: { type: zfs, pool: tank } } } } }
zpool:
  tank:
    type: zpool
    mode: raidz1
";

/// The pool imported, c's device unavailable (`was /dev/sdc1`).
fn zfs_degraded() -> (crate::layout::Loaded, Observed) {
    let l = layout(ZFS);
    let mut obs = installed(&l, &blank(&["sda", "sdb", "sdc"], 4 * GIB));
    obs.mounts.clear();
    for d in ["a", "b", "c"] {
        let p = part_mut(&mut obs, &format!("/dev/sd{d}1"));
        p.signature = Some(sig("zfs_member", Some("tank"), "1"));
        p.by_id = vec![format!("/dev/disk/by-id/ata-X_sd{d}-part1")];
    }
    obs.zpools.push(crate::probe::Zpool {
        name: "tank".into(),
        health: "DEGRADED".into(),
        vdevs: vec![
            "/dev/disk/by-id/ata-X_sda-part1".into(),
            "/dev/sdb1".into(),
            "/dev/sdc1".into(),
        ],
        unavailable: vec!["/dev/sdc1".into()],
        datasets: vec!["tank".into(), "tank/data".into()],
    });
    (l, obs)
}

#[test]
fn a_zfs_pool_with_a_device_unavailable_is_kept_and_named() {
    let (l, mut obs) = zfs_degraded();
    // c was swapped for a blank drive.
    let c = disk_mut(&mut obs, "/dev/sdc");
    c.partitions.clear();
    c.table = crate::probe::Table::None;
    let got = diff_of(&l, &obs);
    assert!(!got.contains("destroy"), "{got}");
    assert!(got.contains("keep    keep pool tank, degraded"), "{got}");
    let why = refusals(&l, &obs);
    let Some(Why::Degraded(d)) = why.iter().find(|w| matches!(w, Why::Degraded(_))) else {
        panic!("{why:?}")
    };
    assert_eq!(
        d.to_string(),
        "degraded: 2 of 3 devices online, imported; c blank (a new disk) (/dev/sdc1)"
    );
    assert_eq!(d.gone[0].known_as.as_deref(), Some("/dev/sdc1"));
    let (plan, _) = against(&l, &obs, &Default::default()).unwrap();
    let degraded = vec![d.clone()];
    let Ok(crate::plan::repair::Repair::Run(p)) =
        crate::plan::repair::replace(&plan, &obs, &degraded, "c")
    else {
        panic!("expected steps")
    };
    let sh = crate::plan::script::sh(&p);
    assert!(
        sh.contains("zpool replace -f tank /dev/sdc1 /dev/sdc1"),
        "{sh}"
    );
}
