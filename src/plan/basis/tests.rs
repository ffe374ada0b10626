//! Bases of the diff kit's observed states: what changes them, and what must not.

use super::{Basis, Difference};
use crate::plan::diff::against;
use crate::plan::diff::tests::kit::*;
use crate::plan::diff::tests::{NAS, SIMPLE};
use crate::plan::{Options, Plan};
use crate::probe::{GptEntry, MdState, Mount, Observed, Partition, Table};

/// The NAS layout installed on three disks (RAID5 `tank`, LUKS `crypt`, ext4
/// on /srv, all running and mounted), with the plan diffed against it.
fn nas() -> (Plan, Observed) {
    let l = layout(NAS);
    let obs = installed(&l, &blank(&["sda", "sdb", "sdc"], 4 * GIB));
    let (plan, refusals) = against(&l, &obs, &Options::default()).unwrap();
    assert!(refusals.is_empty(), "{refusals:?}");
    (plan, obs)
}

/// Every difference, as the target would print it.
fn changes(plan: &Plan, before: &Observed, after: &Observed) -> Vec<String> {
    let (b, a) = (Basis::of(plan, before), Basis::of(plan, after));
    assert_eq!(
        b.fingerprint() == a.fingerprint(),
        b == a,
        "the fingerprint must tell bases apart exactly when they differ"
    );
    a.changes(&b).iter().map(Difference::to_string).collect()
}

fn show(b: &Basis) -> String {
    b.facts.iter().map(|(k, v)| format!("{k}: {v}\n")).collect()
}

#[test]
fn the_same_state_has_the_same_fingerprint() {
    let (plan, obs) = nas();
    let b = Basis::of(&plan, &obs);
    // As the target would have it after a trip through JSON.
    let again: Observed = serde_json::from_str(&serde_json::to_string(&obs).unwrap()).unwrap();
    assert_eq!(Basis::of(&plan, &again).fingerprint(), b.fingerprint());
    assert_eq!(b.fingerprint().len(), 64);
    assert!(b.changes(&b).is_empty());
    // And the basis itself travels.
    let back: Basis = serde_json::from_str(&serde_json::to_string(&b).unwrap()).unwrap();
    assert_eq!(back, b);
}

#[test]
fn the_nas_basis_names_every_layer() {
    let (plan, obs) = nas();
    let got = show(&Basis::of(&plan, &obs));
    for key in [
        "disk a: /dev/sda\n",
        "/dev/sda: disk sda, 4GiB (4294967296 bytes), 512-byte sectors, model `TEST DISK`, serial `SDA`\n",
        "/dev/sda table: gpt 1 partition, guid ",
        "/dev/sda1: partition 1, ",
        "/dev/sda1 content: linux_raid_member, uuid ",
        "/dev/sda1 holders: md127\n",
        "md tank: /dev/md127, raid5, uuid ",
        "luks /dev/md127: luks2, uuid ",
        "/dev/md127 content: crypto_LUKS",
        "/dev/mapper/crypt content: ext4, uuid ",
        "mount /mnt/srv: `/dev/mapper/crypt`, ext4, \n",
    ] {
        assert!(got.contains(key), "no `{key}` in\n{got}");
    }
}

#[test]
fn a_partition_added_by_hand_appears() {
    // A 1 GiB partition on a 4 GiB disk: room for one more.
    let l = layout(
        "
disk:
  c: { device: /dev/sdc, content: { type: gpt, partitions: { data: { size: 1GiB, content: { type: filesystem, format: ext4 } } } } }
",
    );
    let before = installed(&l, &blank(&["sdc"], 4 * GIB));
    let (plan, _) = against(&l, &before, &Options::default()).unwrap();
    let mut after = before.clone();
    let d = disk_mut(&mut after, "/dev/sdc");
    let Table::Gpt(g) = &mut d.table else {
        panic!()
    };
    let first = g.entries[0].last_lba + 1;
    g.entries.push(GptEntry {
        number: 2,
        first_lba: first,
        last_lba: first + (GIB / 512) - 1,
        type_guid: "A19D880F-05FC-4D3B-A006-743F0F84911E".into(),
        part_guid: "11111111-2222-3333-4444-555555555555".into(),
        name: "disk-bay3-data".into(),
        attributes: 0,
    });
    let mut p2: Partition = d.partitions[0].clone();
    p2.number = 2;
    p2.name = "sdc2".into();
    p2.path = "/dev/sdc2".into();
    p2.start_sector = first;
    p2.signature = None;
    d.partitions.push(p2);
    let got = changes(&plan, &before, &after);
    assert_eq!(got.len(), 2, "{got:#?}");
    assert!(
        got[0].starts_with("`/dev/sdc` table: gpt 1 partition, ")
            && got[0].contains(" → gpt 2 partitions, "),
        "{got:#?}"
    );
    assert_eq!(
        got[1],
        format!(
            "`/dev/sdc2` appeared: partition 2, 1GiB, Linux RAID, `disk-bay3-data`, \
             lba {first}–{}, guid 11111111-2222-3333-4444-555555555555",
            first + (GIB / 512) - 1
        )
    );
}

#[test]
fn a_reformatted_filesystem_is_a_changed_line() {
    let (plan, before) = nas();
    let mut after = before.clone();
    let m = after.luks[0].open.as_mut().unwrap();
    m.signature.as_mut().unwrap().uuid = Some("99999999-0000-4000-8000-000000000000".into());
    let got = changes(&plan, &before, &after);
    assert_eq!(got.len(), 1, "{got:#?}");
    assert!(
        got[0].starts_with("`/dev/mapper/crypt` content: ext4, uuid `")
            && got[0]
                .ends_with(" → ext4, uuid `99999999-0000-4000-8000-000000000000`, label `tank`"),
        "{got:#?}"
    );
}

#[test]
fn an_array_stopped_or_assembled_is_a_difference() {
    let (plan, running) = nas();
    let mut stopped = running.clone();
    taken_down(&mut stopped);
    let got = changes(&plan, &running, &stopped);
    assert!(
        got.iter()
            .any(|c| c.starts_with("md `tank` is gone (was /dev/md127, raid5, ")),
        "{got:#?}"
    );
    let got = changes(&plan, &stopped, &running);
    assert!(
        got.iter()
            .any(|c| c.starts_with("md `tank` appeared: /dev/md127, raid5, ")),
        "{got:#?}"
    );
    assert!(
        got.iter()
            .any(|c| c.starts_with("mount `/mnt/srv` appeared: ")),
        "{got:#?}"
    );
}

#[test]
fn a_failed_member_is_a_difference() {
    let (plan, before) = nas();
    let mut after = before.clone();
    after.md_arrays[0].members[2].state = "faulty".into();
    after.md_arrays[0].state = MdState::Degraded { missing: 1 };
    let got = changes(&plan, &before, &after);
    assert_eq!(got.len(), 1, "{got:#?}");
    assert!(got[0].contains("running degraded, 1 missing"), "{got:#?}");
    assert!(got[0].ends_with("/dev/sdc1 slot 2 faulty"), "{got:#?}");
}

#[test]
fn what_drifts_on_an_idle_system_is_no_difference() {
    let (plan, before) = nas();
    let base = Basis::of(&plan, &before);
    let mut after = before.clone();
    for state in [
        MdState::Resyncing { percent: 12.5 },
        MdState::Resyncing { percent: 93.1 },
        MdState::Recovering { percent: 40.0 },
        MdState::Other("check 3.5%".into()),
        MdState::Other("resync=DELAYED".into()),
        MdState::Active,
        MdState::Clean,
    ] {
        after.md_arrays[0].state = state.clone();
        assert_eq!(Basis::of(&plan, &after), base, "{state:?}");
    }
    // Bytes used, and the order mount options are listed in.
    let m = after.luks[0].open.as_mut().unwrap();
    m.signature.as_mut().unwrap().used_bytes = Some(123 << 20);
    after.mounts[0].options = vec!["relatime".into(), "rw".into()];
    let mut reordered = after.clone();
    reordered.mounts[0].options.reverse();
    assert_eq!(Basis::of(&plan, &reordered), Basis::of(&plan, &after));
}

#[test]
fn an_unrelated_disk_is_no_difference() {
    let l = layout(SIMPLE);
    let before = installed(&l, &blank(&["sda"], 4 * GIB));
    let (plan, _) = against(&l, &before, &Options::default()).unwrap();
    let mut after = before.clone();
    let mut stick = disk("sdz", 16 * GIB);
    stick.removable = true;
    stick.signature = Some(sig("vfat", Some("STICK"), "AAAA-BBBB"));
    stick.mountpoints = vec!["/media/stick".into()];
    after.disks.push(stick);
    after.mounts.push(Mount {
        source: "/dev/sdz".into(),
        target: "/media/stick".into(),
        fstype: "vfat".into(),
        options: vec!["rw".into()],
    });
    after.swaps.push("/swapfile".into());
    assert_eq!(changes(&plan, &before, &after), Vec::<String>::new());
}

#[test]
fn a_name_the_plan_claims_counts_wherever_it_is() {
    // Nothing on the blank disks yet, but an array `tank` on other disks
    // would make the plan's `mdadm --create /dev/md/tank` fail.
    let l = layout(NAS);
    let blank3 = blank(&["sda", "sdb", "sdc"], 4 * GIB);
    let (plan, _) = against(&l, &blank3, &Options::default()).unwrap();
    let (_, elsewhere) = nas();
    let mut after = blank3.clone();
    after.md_arrays = elsewhere.md_arrays.clone();
    for m in &mut after.md_arrays[0].members {
        m.device = m.device.replace("/dev/sd", "/dev/sdx");
    }
    let got = changes(&plan, &blank3, &after);
    assert_eq!(got.len(), 1, "{got:#?}");
    assert!(
        got[0].starts_with("md `tank` appeared: /dev/md127, raid5, "),
        "{got:#?}"
    );
}

#[test]
fn text_from_the_disks_is_escaped() {
    let (plan, mut obs) = nas();
    let m = obs.luks[0].open.as_mut().unwrap();
    m.signature.as_mut().unwrap().label = Some("evil\u{1b}[2J\u{202e}".into());
    let got = show(&Basis::of(&plan, &obs));
    assert!(got.contains("label `evil\\e[2J\\u{202e}`"), "{got}");
    assert!(!got.contains('\u{1b}'));
}

#[test]
fn differences_read_as_sentences() {
    let d = |key: &str, before: Option<&str>, after: Option<&str>| {
        Difference {
            key: key.into(),
            before: before.map(str::to_string),
            after: after.map(str::to_string),
        }
        .to_string()
    };
    assert_eq!(
        d("/dev/sdc2", None, Some("partition 2, 1.0 GiB")),
        "`/dev/sdc2` appeared: partition 2, 1.0 GiB"
    );
    assert_eq!(d("md tank", Some("x"), None), "md `tank` is gone (was x)");
    assert_eq!(
        d(
            "/dev/sda table",
            Some("gpt 1 partition"),
            Some("gpt 2 partitions")
        ),
        "`/dev/sda` table: gpt 1 partition → gpt 2 partitions"
    );
}
