//! apply on loop devices with the real tools: GPT with several partitions,
//! ext4, xfs, vfat, swap, btrfs with subvolumes, and a 2-device btrfs raid1.

mod common;

use common::loopdev;

use nasstrap::{exec, layout, plan, report};
use std::path::Path;

#[test]
fn from_scratch_apply_builds_every_filesystem() {
    if loopdev::skip_unless_available() {
        return;
    }
    let _g = loopdev::serial();
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c, bystander) = loopdev::layout_disks(dir.path());
    let before = bystander.checksum();
    let root = dir.path().join("mnt");
    let map = loopdev::layout_map(&a, &b, &c);
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/layouts/loop.yaml");
    let loaded = layout::load_file(&file, &map).unwrap();
    let mut opts = plan::Options {
        mount_root: root.display().to_string(),
        ..Default::default()
    };
    for (name, l) in [("a", &a), ("b", &b), ("c", &c)] {
        let size = std::fs::metadata(&l.image).unwrap().len();
        opts.facts.insert(
            name.into(),
            plan::DiskFacts {
                size_bytes: size,
                sector: 512,
                source: plan::SizeSource::Probe,
            },
        );
    }
    let p = plan::build(&loaded, &opts).unwrap_or_else(|r| panic!("{r}"));
    let rec = report::Recorder::default();
    let spawned = exec::spawned();
    let result = exec::apply::apply(&p, &rec);
    let processes = exec::spawned() - spawned;
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap();
    loopdev::unmount_all(&root);
    let ran = result.unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(ran as usize, p.steps.len());
    // About one process per step: subvolume creation takes three (mount, create, umount).
    assert!(
        processes <= p.steps.len() + 2 * 3 + 4,
        "{processes} processes for {} steps",
        p.steps.len()
    );
    let r = root.display().to_string();
    for (target, fstype) in [
        ("", "ext4"),
        ("/var/log", "xfs"),
        ("/home", "btrfs"),
        ("/nix", "btrfs"),
        ("/srv", "btrfs"),
    ] {
        let t = format!("{r}{target}");
        assert!(
            mounts.lines().any(|l| {
                let f: Vec<&str> = l.split(' ').collect();
                f[1] == t && f[2] == fstype
            }),
            "{t} ({fstype}) not mounted:\n{mounts}"
        );
    }
    assert_eq!(
        bystander.checksum(),
        before,
        "a loop device outside the layout changed"
    );
}
