//! Which live device each layout disk is.

use super::SIMPLE;
use super::kit::*;
use crate::plan::Options;
use crate::plan::diff::against;
use crate::probe::{DevicePath, PathTarget};

fn refusals(yaml: &str, obs: &crate::probe::Observed, opts: &Options) -> String {
    let (_, r) = against(&layout(yaml), obs, opts).unwrap();
    r.iter().map(|r| format!("{r}\n")).collect()
}

const TWO: &str = "
disk:
  a: { device: /dev/disk/by-id/ata-ONE, content: { type: gpt, partitions: { p: { size: 100%, content: { type: filesystem, format: ext4 } } } } }
  b: { device: /dev/disk/by-id/wwn-0x5000c500a1b2c3d4, content: { type: gpt, partitions: { p: { size: 100%, content: { type: filesystem, format: ext4 } } } } }
";

fn at(path: &str, is: PathTarget) -> DevicePath {
    DevicePath {
        path: path.into(),
        is,
    }
}

#[test]
fn missing_disk_is_refused() {
    expect(
        refusals(SIMPLE, &blank(&["sdb"], 4 * GIB), &Options::default()),
        "
a: /dev/sda is not present
",
    );
}

#[test]
fn identity_pins_are_checked() {
    let pinned = "
disk:
  a:
    device: /dev/sda
    expect: { size: 8GiB, serial: WD-1234, model: WDC WD40EFRX }
    content: { type: gpt, partitions: { p: { size: 100%, content: { type: filesystem, format: ext4 } } } }
";
    let obs = blank(&["sda"], 4 * GIB);
    expect(
        refusals(pinned, &obs, &Options::default()),
        "
a: /dev/sda is 4GiB, the layout expects 8GiB (expect.size)
a: /dev/sda has serial SDA, the layout expects WD-1234 (expect.serial)
a: /dev/sda is a TEST DISK, the layout expects WDC WD40EFRX (expect.model)
",
    );
    let ignore = Options {
        ignore_expect: true,
        ..Options::default()
    };
    expect(refusals(pinned, &obs, &ignore), "");
}

#[test]
fn one_device_named_twice_is_refused() {
    let mut obs = blank(&["sda"], 4 * GIB);
    obs.paths = vec![
        at("/dev/disk/by-id/ata-ONE", PathTarget::Disk("sda".into())),
        at(
            "/dev/disk/by-id/wwn-0x5000c500a1b2c3d4",
            PathTarget::Disk("sda".into()),
        ),
    ];
    expect(refusals(TWO, &obs, &Options::default()), "
b: /dev/disk/by-id/wwn-0x5000c500a1b2c3d4 is /dev/sda, which a already names; one device cannot be two disks
");
}

#[test]
fn partition_named_as_a_disk_is_refused() {
    let mut obs = blank(&["sda", "sdb"], 4 * GIB);
    obs.paths = vec![
        at("/dev/disk/by-id/ata-ONE", PathTarget::Disk("sdb".into())),
        at(
            "/dev/disk/by-id/wwn-0x5000c500a1b2c3d4",
            PathTarget::Partition {
                kname: "sda1".into(),
                disk: "sda".into(),
            },
        ),
    ];
    expect(refusals(TWO, &obs, &Options::default()), "
b: /dev/disk/by-id/wwn-0x5000c500a1b2c3d4 is partition /dev/sda1 of /dev/sda, not a whole disk; name the disk
");
}

#[test]
fn array_or_mapping_named_as_a_disk_is_refused() {
    let mut obs = blank(&["sda"], 4 * GIB);
    obs.paths = vec![
        at("/dev/disk/by-id/ata-ONE", PathTarget::Md("md127".into())),
        at(
            "/dev/disk/by-id/wwn-0x5000c500a1b2c3d4",
            PathTarget::Dm("dm-0".into()),
        ),
    ];
    expect(
        refusals(TWO, &obs, &Options::default()),
        "
a: /dev/disk/by-id/ata-ONE is an md array (/dev/md127), not a disk
b: /dev/disk/by-id/wwn-0x5000c500a1b2c3d4 is a device-mapper device (/dev/dm-0), not a disk
",
    );
}

#[test]
fn resolved_links_find_their_disk() {
    let mut obs = blank(&["sda", "sdb"], 4 * GIB);
    obs.paths = vec![
        at("/dev/disk/by-id/ata-ONE", PathTarget::Disk("sdb".into())),
        at(
            "/dev/disk/by-id/wwn-0x5000c500a1b2c3d4",
            PathTarget::Disk("sda".into()),
        ),
    ];
    let (plan, r) = against(&layout(TWO), &obs, &Options::default()).unwrap();
    assert_eq!(r, []);
    let devices: Vec<(&str, &str)> = plan
        .disks
        .iter()
        .map(|d| (d.name.as_str(), d.device.as_str()))
        .collect();
    assert_eq!(devices, [("a", "/dev/sdb"), ("b", "/dev/sda")]);
}

#[test]
fn path_that_leads_nowhere_is_missing() {
    let mut obs = blank(&["sda"], 4 * GIB);
    obs.paths = vec![at(
        "/dev/disk/by-id/ata-ONE",
        PathTarget::Nothing("No such file or directory (os error 2)".into()),
    )];
    expect(
        refusals(TWO, &obs, &Options::default()),
        "
a: /dev/disk/by-id/ata-ONE is not present
b: /dev/disk/by-id/wwn-0x5000c500a1b2c3d4 is not present
",
    );
}
