//! What a failed probe leaves in the model: the device is unknown (with the
//! probe's words), never blank. And the layout's paths as the kernel sees them.

use super::tests::{loop_scenario, run};
use super::*;
use crate::probe::fixture;
use crate::probe::raw::PathLookup;

fn disk<'a>(obs: &'a Observed, name: &str) -> &'a Disk {
    obs.disks.iter().find(|d| d.name == name).unwrap()
}

#[test]
fn blkid_that_cannot_open_the_device_is_a_failure_not_nothing() {
    let mut raw = loop_scenario();
    let bare = raw
        .blkid
        .iter_mut()
        .find(|c| c.target == "/dev/loop2")
        .unwrap();
    // What blkid prints, with exit 2, when open(2) fails.
    bare.stderr = "blkid: error: /dev/loop2: Permission denied\n".into();
    let obs = assemble(&raw).unwrap();
    let d = disk(&obs, "loop2");
    assert_eq!(
        (&d.table, &d.signature, d.unreadable.as_deref()),
        (
            &Table::Unknown("unreadable".into()),
            &None,
            Some("blkid: error: /dev/loop2: Permission denied")
        )
    );
    // Exit 2 alone is still "nothing there".
    let obs = assemble(&loop_scenario()).unwrap();
    assert_eq!(
        (&disk(&obs, "loop2").table, &disk(&obs, "loop2").unreadable),
        (&Table::None, &None)
    );
}

#[test]
fn blkid_failing_otherwise_says_its_status() {
    let mut raw = loop_scenario();
    raw.blkid.retain(|c| c.target != "/dev/loop2");
    raw.blkid.push(run("/dev/loop2", String::new(), -1));
    let obs = assemble(&raw).unwrap();
    assert_eq!(
        disk(&obs, "loop2").unreadable.as_deref(),
        Some("blkid /dev/loop2 exited with status -1")
    );
}

#[test]
fn collector_read_failures_make_devices_unknown() {
    let mut raw = loop_scenario();
    let eio = "reading its first 256KiB: Input/output error (os error 5)";
    raw.unreadable.insert("/dev/loop0p3".into(), eio.into());
    raw.unreadable.insert(
        "/dev/loop1".into(),
        "reading the partition table: Input/output error (os error 5)".into(),
    );
    let obs = assemble(&raw).unwrap();
    let loop0 = disk(&obs, "loop0");
    let unknown: Vec<(&str, Option<&str>)> = std::iter::once((&loop0.path, &loop0.unreadable))
        .chain(loop0.partitions.iter().map(|p| (&p.path, &p.unreadable)))
        .map(|(p, u)| (p.as_str(), u.as_deref()))
        .collect();
    assert_eq!(
        unknown,
        [
            ("/dev/loop0", None),
            ("/dev/loop0p1", None),
            ("/dev/loop0p2", None),
            ("/dev/loop0p3", Some(eio)),
            ("/dev/loop0p4", None),
        ]
    );
    assert_eq!(
        disk(&obs, "loop1").unreadable.as_deref(),
        Some("reading the partition table: Input/output error (os error 5)")
    );
}

#[test]
fn layout_paths_resolve_to_what_the_kernel_sees() {
    let mut raw = loop_scenario();
    let at = |path: &str, kname: Option<&str>, error: Option<&str>| PathLookup {
        path: path.into(),
        kname: kname.map(str::to_string),
        error: error.map(str::to_string),
    };
    raw.paths = vec![
        at("/dev/disk/by-id/one", Some("loop3"), None),
        at("/dev/disk/by-partlabel/root", Some("loop0p1"), None),
        at(
            "/dev/nope",
            None,
            Some("No such file or directory (os error 2)"),
        ),
        at("/dev/sr0", Some("sr0"), None),
    ];
    let obs = assemble(&raw).unwrap();
    let got: Vec<(&str, &PathTarget)> =
        obs.paths.iter().map(|p| (p.path.as_str(), &p.is)).collect();
    assert_eq!(
        got,
        [
            ("/dev/disk/by-id/one", &PathTarget::Disk("loop3".into())),
            (
                "/dev/disk/by-partlabel/root",
                &PathTarget::Partition {
                    kname: "loop0p1".into(),
                    disk: "loop0".into()
                }
            ),
            (
                "/dev/nope",
                &PathTarget::Nothing("No such file or directory (os error 2)".into())
            ),
            (
                "/dev/sr0",
                &PathTarget::Other {
                    kname: "sr0".into(),
                    kind: "unlisted".into()
                }
            ),
        ]
    );
}

#[test]
fn inactive_array_from_udev_incremental_assembly() {
    let raw: RawProbe =
        serde_json::from_str(&fixture("raw/qemu-helios64-luks-inactive-handwritten.json")).unwrap();
    let obs = assemble(&raw).unwrap();
    let a = &obs.md_arrays[0];
    let members: Vec<(&str, Option<u32>, &str)> = a
        .members
        .iter()
        .map(|m| (m.device.as_str(), m.role, m.state.as_str()))
        .collect();
    assert_eq!(
        (
            a.name.as_deref(),
            a.path.as_str(),
            &a.state,
            a.size_bytes,
            a.level.as_str(),
            a.is_running()
        ),
        (
            Some("tank"),
            "/dev/md127",
            &MdState::Inactive,
            0,
            "unknown",
            false
        )
    );
    assert_eq!(
        members,
        [
            ("/dev/sde1", None, "spare"),
            ("/dev/sdd1", None, "spare"),
            ("/dev/sdb1", None, "spare"),
            ("/dev/sda1", None, "spare"),
        ]
    );
    // The members are held by it, as sysfs says, though lsblk leaves it out.
    assert_eq!(disk(&obs, "sda").partitions[0].holders, ["md127"]);
    // The replaced bay is blank, and known to be.
    let sdc = disk(&obs, "sdc");
    assert_eq!(
        (&sdc.table, sdc.partitions.len(), &sdc.unreadable),
        (&Table::None, 0, &None)
    );
}
