//! `replace` from observed states built in code: what runs for a blank new
//! disk (array running or waiting), and every refusal with its words.

use super::{Refused, Repair, replace};
use crate::plan::diff::tests::NAS;
use crate::plan::diff::tests::kit::*;
use crate::plan::diff::{Why, against};
use crate::plan::{Action, Change};
use crate::probe::{MdState, Observed, Table};

fn nas() -> (crate::layout::Loaded, Observed) {
    let l = layout(NAS);
    let obs = installed(&l, &blank(&["sda", "sdb", "sdc"], 4 * GIB));
    (l, obs)
}

/// Disk c swapped for a blank one of `size`, the array running without it.
fn swapped(obs: &mut Observed, size: u64) {
    let c = disk_mut(obs, "/dev/sdc");
    c.table = Table::None;
    c.partitions.clear();
    c.size_bytes = size;
    let a = &mut obs.md_arrays[0];
    a.members.retain(|m| m.device != "/dev/sdc1");
    a.state = MdState::Degraded { missing: 1 };
}

fn repair(l: &crate::layout::Loaded, obs: &Observed, disk: &str) -> Result<Repair, Refused> {
    let (plan, refusals) = against(l, obs, &Default::default()).unwrap();
    let degraded: Vec<_> = refusals
        .into_iter()
        .filter_map(|r| match r.reason {
            Why::Degraded(d) => Some(d),
            _ => None,
        })
        .collect();
    replace(&plan, obs, &degraded, disk)
}

fn steps(r: Result<Repair, Refused>) -> Vec<(Change, String)> {
    match r {
        Ok(Repair::Run(p)) => p
            .steps
            .iter()
            .map(|s| (s.change, s.description.clone()))
            .collect(),
        other => panic!("expected steps, got {other:?}"),
    }
}

#[test]
fn a_blank_disk_is_partitioned_and_added_to_the_running_array() {
    let (l, mut obs) = nas();
    swapped(&mut obs, 4 * GIB);
    let got = steps(repair(&l, &obs, "c"));
    let words: Vec<&str> = got.iter().map(|(_, d)| d.as_str()).collect();
    assert_eq!(
        words,
        [
            "wipe the signatures on disk c (/dev/sdc)",
            "write a GPT with 1 partition on c",
            "clear old signatures on new partition /dev/sdc1",
            "add /dev/sdc1 (c) to array tank; md rebuilds onto it",
        ]
    );
    assert!(got.iter().all(|(c, _)| *c != Change::Destroy), "{got:?}");
}

#[test]
fn a_waiting_array_is_started_on_its_members_first() {
    let (l, mut obs) = nas();
    swapped(&mut obs, 4 * GIB);
    taken_down(&mut obs);
    let Ok(Repair::Run(p)) = repair(&l, &obs, "c") else {
        panic!("expected steps")
    };
    let kinds: Vec<&Action> = p.steps.iter().map(|s| &s.action).collect();
    assert!(
        matches!(kinds[3], Action::MdAssemble { members, read_only: false, .. } if members == &["/dev/sda1", "/dev/sdb1"]),
        "{kinds:?}"
    );
    assert!(matches!(kinds[4], Action::MdAdd { member, .. } if member == "/dev/sdc1"));
}

#[test]
fn a_disk_with_data_on_it_is_a_destroy_that_needs_consent() {
    let (l, mut obs) = nas();
    swapped(&mut obs, 4 * GIB);
    disk_mut(&mut obs, "/dev/sdc").signature = Some(sig("ext4", Some("photos"), "1234"));
    let got = steps(repair(&l, &obs, "c"));
    assert_eq!(got[0].0, Change::Destroy, "{got:?}");
}

#[test]
fn a_smaller_disk_is_refused_naming_both_sizes() {
    let (l, mut obs) = nas();
    swapped(&mut obs, 3 * GIB);
    let e = repair(&l, &obs, "c").unwrap_err();
    assert!(matches!(e, Refused::TooSmall { .. }), "{e:?}");
    let words = e.to_string();
    assert!(
        words.starts_with("c is too small for array tank: its member /dev/sdc1 would be 3"),
        "{words}"
    );
    assert!(words.contains("the members it joins are 4"), "{words}");
}

#[test]
fn an_absent_disk_is_refused_with_what_to_do() {
    let (l, mut obs) = nas();
    swapped(&mut obs, 4 * GIB);
    obs.disks.retain(|d| d.path != "/dev/sdc");
    let e = repair(&l, &obs, "c").unwrap_err();
    assert_eq!(
        e.to_string(),
        "c is not there: put the new disk in, or name it with --device (array tank waits for it)"
    );
}

#[test]
fn a_disk_in_sync_needs_nothing() {
    let (l, obs) = nas();
    assert_eq!(
        repair(&l, &obs, "c"),
        Ok(Repair::InSync {
            arrays: vec!["array tank".into()]
        })
    );
    assert_eq!(
        repair(&l, &obs, "zz"),
        Err(Refused::NoSuchDisk("zz".into()))
    );
}

#[test]
fn a_rebuild_under_way_is_followed_not_started_again() {
    let (l, mut obs) = nas();
    obs.md_arrays[0].state = MdState::Recovering { percent: 42.5 };
    assert_eq!(
        repair(&l, &obs, "c"),
        Ok(Repair::Rebuilding {
            array: "tank".into(),
            permille: 425
        })
    );
}

#[test]
fn a_btrfs_device_is_rebuilt_by_its_devid() {
    let l = layout(crate::plan::diff::tests::degraded::BTRFS);
    let mut obs = installed(&l, &blank(&["sda", "sdb", "sdc"], 4 * GIB));
    taken_down(&mut obs);
    let c = disk_mut(&mut obs, "/dev/sdc");
    c.table = Table::None;
    c.partitions.clear();
    let fs = &mut obs.btrfs[0];
    fs.devices.retain(|d| d != "/dev/sdc1");
    fs.devids = vec![1, 2];
    let Ok(Repair::Run(p)) = repair(&l, &obs, "c") else {
        panic!("expected steps")
    };
    let last = p.steps.last().unwrap();
    assert_eq!(
        last.description,
        "rebuild btrfs pool device 3 onto /dev/sdc1 (c)"
    );
    assert!(
        matches!(&last.action, Action::BtrfsReplace { device, devid: 3, new, .. } if device == "/dev/sda1" && new == "/dev/sdc1"),
        "{:?}",
        last.action
    );
    let sh = crate::plan::script::sh(&p);
    assert!(sh.contains("btrfs replace start -B -f 3 /dev/sdc1"), "{sh}");
}
