//! Tool output captured in the emulated Helios64 (tests/qemu_capture.rs), parsed
//! and replayed: md arrays in each state, and a whole probe of an installed
//! LUKS-on-RAID6 layout, which must diff as "nothing to do".

use nasstrap::probe::{self, MdState};
use nasstrap::{layout, plan};
use std::path::Path;

fn fixture(p: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/probe")
            .join(p),
    )
    .unwrap()
}

fn state(name: &str) -> MdState {
    let entries = probe::mdadm::parse_mdstat(&fixture(&format!("mdstat/{name}-qemu.txt"))).unwrap();
    assert_eq!(entries.len(), 1);
    probe::mdadm::md_state(&entries[0], None)
}

#[test]
fn md_states_from_the_guest() {
    assert!(
        matches!(state("resync"), MdState::Resyncing { percent } if (percent - 93.5).abs() < 0.01),
        "{:?}",
        state("resync")
    );
    assert!(
        matches!(state("clean"), MdState::Clean | MdState::Active),
        "{:?}",
        state("clean")
    );
    assert_eq!(state("degraded"), MdState::Degraded { missing: 1 });
    assert!(
        matches!(state("recovering"), MdState::Recovering { percent } if (percent - 17.2).abs() < 0.01),
        "{:?}",
        state("recovering")
    );
    for s in ["resync", "clean", "degraded", "recovering"] {
        let d = probe::mdadm::parse_detail_export(&fixture(&format!(
            "mdadm/detail-raid6-{s}-qemu.txt"
        )))
        .unwrap();
        assert_eq!(d.short_name().as_deref(), Some("cap"), "{s}");
    }
}

fn replay(raw: &str) -> plan::Plan {
    let raw: probe::raw::RawProbe = serde_json::from_str(&fixture(raw)).unwrap();
    let obs = probe::assemble::assemble(&raw).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let map: Vec<(String, String)> = std::fs::read_to_string(root.join("qemu/guest.map"))
        .unwrap()
        .lines()
        .filter_map(|l| {
            l.split_once('=')
                .map(|(a, b)| (a.to_string(), b.to_string()))
        })
        .collect();
    let loaded = layout::load_file(&root.join("layouts/helios64-luks.yaml"), &map).unwrap();
    let opts = plan::Options {
        ignore_expect: true,
        ..Default::default()
    };
    let (p, refusals) = plan::diff::against(&loaded, &obs, &opts).unwrap();
    assert!(refusals.iter().all(|r| r.reason.is_busy()), "{refusals:?}");
    p
}

#[test]
fn installed_luks_layout_replays_as_nothing_to_do() {
    let p = replay("raw/qemu-helios64-luks.json");
    assert!(p.is_noop(), "{}", plan::render::diff_text(&p));
}

#[test]
fn taken_down_luks_layout_needs_only_assemble_open_mount() {
    let p = replay("raw/qemu-helios64-luks-down.json");
    // The array is there but stopped: the diff assembles it and, until apply
    // looks inside, says so instead of claiming what it holds.
    let text = plan::render::diff_text(&p);
    assert!(p.destructive().next().is_none(), "{text}");
    let todo: Vec<&plan::Step> = p
        .steps
        .iter()
        .filter(|s| s.change != plan::Change::Keep)
        .collect();
    assert!(
        matches!(todo[0].action, plan::Action::MdAssemble { .. }),
        "{text}"
    );
    for s in &todo[1..] {
        assert!(
            matches!(s.action, plan::Action::Mount { .. })
                || s.reason.as_deref()
                    == Some(
                        "not visible until the array is assembled; apply assembles it and looks again"
                    ),
            "{text}"
        );
    }
}

/// The layout's diff against a replayed probe: every step that is not kept,
/// then the refusals.
fn diff_against(raw: &probe::raw::RawProbe) -> String {
    diff_of_layout(raw, "layouts/helios64-luks.yaml")
}

/// `diff_against` for another shipped layout.
fn diff_of_layout(raw: &probe::raw::RawProbe, layout_file: &str) -> String {
    let obs = probe::assemble::assemble(raw).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let map: Vec<(String, String)> = std::fs::read_to_string(root.join("qemu/guest.map"))
        .unwrap()
        .lines()
        .filter_map(|l| {
            l.split_once('=')
                .map(|(a, b)| (a.to_string(), b.to_string()))
        })
        .collect();
    let loaded = layout::load_file(&root.join(layout_file), &map).unwrap();
    let opts = plan::Options {
        ignore_expect: true,
        ..Default::default()
    };
    let (p, refusals) = plan::diff::against(&loaded, &obs, &opts).unwrap();
    let mut s = plan::render::diff_text(&p);
    for r in refusals {
        s.push_str(&format!("refused: {r}\n"));
    }
    s
}

#[test]
fn inactive_array_after_a_bay_was_replaced_is_degraded_not_created_over() {
    // After an install with data on the RAID6, bay 3's disk was swapped for a
    // blank one; udev's incremental assembly left the four old members in an
    // inactive md127. The diff once planned `create make ext4 on /dev/md/tank`
    // and said nothing was destroyed.
    let raw: probe::raw::RawProbe =
        serde_json::from_str(&fixture("raw/qemu-helios64-luks-inactive-handwritten.json")).unwrap();
    assert_eq!(
        diff_against(&raw),
        "diff of  against the live disks
    8  create   write a GPT with 1 partition on bay3
   17  create   clear old signatures on new partition /dev/sdc1
   22  change   stop /dev/md127, the members of tank gathered but not started
                  because its members are assembled again below
   23  change   assemble array tank degraded from 4 of its 5 devices
                  because degraded: 4 of 5 members in sync, not started (/dev/md127 inactive); \
bay3 blank (a new disk) (/dev/sdc1)
   24  create   format LUKS2 `tank-crypt` on /dev/md/tank
                  because not visible until the array is assembled; apply assembles it and looks again
   25  create   open LUKS `tank-crypt` as /dev/mapper/tank-crypt
                  because not visible until the array is assembled; apply assembles it and looks again
   26  create   make ext4 on /dev/mapper/tank-crypt
                  because not visible until the array is assembled; apply assembles it and looks again
   27  create   mount /dev/mmcblk0p2 on /mnt
   28  create   mount /dev/mmcblk0p1 on /mnt/boot
   29  create   mount /dev/mapper/tank-crypt on /mnt/srv
10 steps to run, 19 already done; nothing is destroyed
refused: tank: degraded: 4 of 5 members in sync, not started (/dev/md127 inactive); bay3 blank \
(a new disk) (/dev/sdc1)
"
    );
}

#[test]
fn stopped_by_hand_the_members_are_a_degraded_array_never_created_over() {
    // The same, after `mdadm --stop /dev/md127`: the four members still carry
    // the array's superblock. This once planned DESTROY create RAID6 over all
    // five bays — the one answer that loses the data: it is the array, degraded.
    let mut raw: probe::raw::RawProbe =
        serde_json::from_str(&fixture("raw/qemu-helios64-luks-inactive-handwritten.json")).unwrap();
    raw.mdstat = Some(
        "Personalities : [raid0] [raid1] [raid10] [raid6] [raid5] [raid4] \nunused devices: <none>"
            .into(),
    );
    raw.md_detail.clear();
    raw.sysfs.retain(|s| s.name != "md127");
    for s in &mut raw.sysfs {
        s.holders.clear();
    }
    assert_eq!(
        diff_against(&raw),
        "diff of  against the live disks
    8  create   write a GPT with 1 partition on bay3
   17  create   clear old signatures on new partition /dev/sdc1
   22  change   assemble array tank degraded from 4 of its 5 devices
                  because degraded: 4 of 5 members in sync, not assembled; bay3 blank (a new disk) \
(/dev/sdc1)
   23  create   format LUKS2 `tank-crypt` on /dev/md/tank
                  because not visible until the array is assembled; apply assembles it and looks again
   24  create   open LUKS `tank-crypt` as /dev/mapper/tank-crypt
                  because not visible until the array is assembled; apply assembles it and looks again
   25  create   make ext4 on /dev/mapper/tank-crypt
                  because not visible until the array is assembled; apply assembles it and looks again
   26  create   mount /dev/mmcblk0p2 on /mnt
   27  create   mount /dev/mmcblk0p1 on /mnt/boot
   28  create   mount /dev/mapper/tank-crypt on /mnt/srv
9 steps to run, 19 already done; nothing is destroyed
refused: tank: degraded: 4 of 5 members in sync, not assembled; bay3 blank (a new disk) (/dev/sdc1)
"
    );
}

#[test]
fn inactive_array_with_a_bay_removed_is_degraded_not_formatted() {
    // Bay 3 taken out: the layout's four remaining members are exactly the
    // inactive array's, which once passed for "keep", and `make ext4 on
    // /dev/md/tank` for "create".
    let mut raw: probe::raw::RawProbe =
        serde_json::from_str(&fixture("raw/qemu-helios64-luks-inactive-handwritten.json")).unwrap();
    let mut tree: serde_json::Value = serde_json::from_str(&raw.lsblk).unwrap();
    tree["blockdevices"]
        .as_array_mut()
        .unwrap()
        .retain(|d| d["name"] != "sdc");
    raw.lsblk = tree.to_string();
    raw.blkid.retain(|c| c.target != "/dev/sdc");
    raw.sysfs.retain(|s| s.name != "sdc");
    raw.tables.remove("sdc");
    assert_eq!(
        diff_of_layout(&raw, "layouts/helios64.yaml"),
        "diff of  against the live disks
   19  change   stop /dev/md127, the members of tank gathered but not started
                  because its members are assembled again below
   20  change   assemble array tank degraded from 4 of its 5 devices
                  because degraded: 4 of 5 members in sync, not started (/dev/md127 inactive); \
bay3 missing (/dev/sdc1)
   21  create   make ext4 on /dev/md/tank
                  because not visible until the array is assembled; apply assembles it and looks again
   22  create   mount /dev/mmcblk0p2 on /mnt
   23  create   mount /dev/mmcblk0p1 on /mnt/boot
   24  create   mount /dev/md/tank on /mnt/srv
6 steps to run, 18 already done; nothing is destroyed
refused: tank: degraded: 4 of 5 members in sync, not started (/dev/md127 inactive); bay3 missing \
(/dev/sdc1)
"
    );
}
