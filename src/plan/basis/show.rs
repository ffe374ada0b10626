//! One line of text per fact: a table, a partition, a signature, an array, a
//! LUKS container, a btrfs filesystem, a pool; text from the disks escaped,
//! and nothing in them that changes by itself (bytes used, sync progress).

use crate::layout::diag::escape;
use crate::layout::parttype;
use crate::layout::size::human;
use crate::probe::{BtrfsFs, GptEntry, Luks, MdArray, MdState, Partition, Signature, Table, Zpool};

/// Text from the disks, safe to print.
pub(super) fn e(s: &str) -> String {
    escape(s).into_owned()
}

pub(super) fn table(t: &Table) -> String {
    match t {
        Table::None => "none".into(),
        Table::Mbr => "mbr".into(),
        Table::Unknown(what) => format!("unreadable ({})", e(what)),
        Table::Gpt(g) => {
            let n = g.entries.len();
            let mut v = format!(
                "gpt {n} partition{}, guid {}, usable lba {}–{}",
                if n == 1 { "" } else { "s" },
                e(&g.disk_guid),
                g.first_usable_lba,
                g.last_usable_lba
            );
            if !g.primary_ok {
                v.push_str(", primary header damaged");
            }
            if !g.backup_ok {
                v.push_str(", backup header damaged");
            }
            v
        }
    }
}

/// A partition as the table has it, and as the kernel sees it when that differs.
pub(super) fn partition(
    n: u32,
    entry: Option<&GptEntry>,
    part: Option<&Partition>,
    sector: u64,
) -> String {
    let type_name = |t: &str| parttype::describe(t).map_or_else(|| e(t), str::to_string);
    let Some(x) = entry else {
        // Not in a GPT (an MBR, or a table gone under a kernel that still has it).
        let p = part.expect("a partition number comes from the table or the kernel");
        let mut v = format!(
            "partition {n}, {}, at sector {}",
            human(p.size_bytes),
            p.start_sector
        );
        if let Some(t) = &p.part_type {
            v.push_str(&format!(", type {}", type_name(t)));
        }
        return v;
    };
    let bytes = (x.last_lba.saturating_sub(x.first_lba).saturating_add(1)).saturating_mul(sector);
    let mut v = format!(
        "partition {n}, {}, {}, `{}`, lba {}–{}, guid {}",
        human(bytes),
        type_name(&x.type_guid),
        e(&x.name),
        x.first_lba,
        x.last_lba,
        e(&x.part_guid)
    );
    if x.attributes != 0 {
        v.push_str(&format!(", attributes {:#x}", x.attributes));
    }
    match part {
        None => v.push_str(", not known to the kernel"),
        Some(p)
            if p.start_sector != x.first_lba.saturating_mul(sector / 512)
                || p.size_bytes != bytes =>
        {
            v.push_str(&format!(
                ", the kernel sees {} at sector {}",
                human(p.size_bytes),
                p.start_sector
            ));
        }
        Some(_) => {}
    }
    v
}

/// A signature, without what changes as it is used (bytes used).
pub(super) fn signature(s: &Signature) -> String {
    let mut v = e(&s.fstype);
    for (what, x) in [
        ("uuid", &s.uuid),
        ("sub-uuid", &s.uuid_sub),
        ("label", &s.label),
        ("version", &s.version),
    ] {
        if let Some(x) = x {
            v.push_str(&format!(", {what} `{}`", e(x)));
        }
    }
    v
}

pub(super) fn md(a: &MdArray) -> (String, String) {
    let key = format!("md {}", e(a.name.as_deref().unwrap_or(&a.path)));
    let mut members: Vec<String> = a
        .members
        .iter()
        .map(|m| {
            let slot = m
                .role
                .map_or_else(|| "no slot".into(), |r| format!("slot {r}"));
            let state = if m.state == "active" {
                String::new()
            } else {
                format!(" {}", e(&m.state))
            };
            format!("{} {slot}{state}", e(&m.device))
        })
        .collect();
    members.sort();
    // Clean and active flip with every write; resyncs, checks and rebuilds
    // run and end by themselves: all of that is "running".
    let state = match &a.state {
        MdState::Inactive => "not running".to_string(),
        MdState::Degraded { missing } => format!("running degraded, {missing} missing"),
        _ => "running".to_string(),
    };
    let value = format!(
        "{}, {}, uuid {}, metadata {}, {} slots, {state}; members: {}",
        e(&a.path),
        e(&a.level),
        e(&a.uuid),
        e(a.metadata.as_deref().unwrap_or("?")),
        a.raid_devices,
        members.join(", ")
    );
    (key, value)
}

pub(super) fn luks(l: &Luks) -> (String, String) {
    let mut v = format!("luks{}, uuid {}", l.version, e(&l.uuid));
    if let Some(label) = &l.label {
        v.push_str(&format!(", label `{}`", e(label)));
    }
    match (&l.open_as, &l.open) {
        (Some(name), Some(m)) => v.push_str(&format!(", open as `{}` ({})", e(name), e(&m.kname))),
        (Some(name), None) => v.push_str(&format!(", open as `{}`", e(name))),
        (None, _) => v.push_str(", closed"),
    }
    (format!("luks {}", e(&l.device)), v)
}

fn sorted(v: &[String]) -> String {
    let mut v: Vec<String> = v.iter().map(|x| e(x)).collect();
    v.sort();
    v.join(", ")
}

pub(super) fn btrfs(b: &BtrfsFs) -> (String, String) {
    let mut v = format!(
        "{} of {} devices: {}",
        b.devices.len(),
        b.total_devices,
        sorted(&b.devices)
    );
    if let Some(l) = &b.label {
        v = format!("label `{}`, {v}", e(l));
    }
    if !b.subvolumes.is_empty() {
        v.push_str(&format!("; subvolumes: {}", sorted(&b.subvolumes)));
    }
    (format!("btrfs {}", e(&b.uuid)), v)
}

pub(super) fn zpool(z: &Zpool) -> (String, String) {
    let v = format!(
        "{}, vdevs: {}; datasets: {}",
        e(&z.health),
        sorted(&z.vdevs),
        sorted(&z.datasets)
    );
    (format!("zpool {}", e(&z.name)), v)
}
