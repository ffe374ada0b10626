//! A btrfs filesystem over several devices (the first holds it in the layout,
//! the others are named in its mkfs extraArgs, as disko writes it) with
//! devices gone. The profile says how many it may lose and still mount
//! (`-o degraded`); btrfs keeps the devid of each device, which
//! `btrfs replace` names the missing one by.

use super::{Degraded, Gone, How, Kind, gone_how};
use crate::layout::validate::{Holder, Walk};
use crate::layout::{Content, Loaded};
use crate::plan::partition_path;
use crate::probe::{BtrfsFs, Observed};
use std::collections::BTreeMap;

/// How many devices a btrfs profile may lose and still mount degraded.
pub fn may_lose(profile: &str) -> usize {
    match profile {
        "raid1" | "raid10" | "raid5" => 1,
        "raid1c3" | "raid6" => 2,
        "raid1c4" => 3,
        _ => 0, // single, raid0, dup: every device holds data nothing else has
    }
}

/// The profile mkfs.btrfs gives a filesystem over `devices` devices with these
/// arguments: the weaker of data (`-d`, default `single`) and metadata (`-m`,
/// default `raid1` on several devices, `dup` on one).
pub fn profile(args: &[String], devices: usize) -> String {
    let value = |short: &str, long: &str| {
        args.iter().enumerate().find_map(|(i, a)| {
            if a == short || a == long {
                args.get(i + 1).cloned()
            } else {
                a.strip_prefix(&format!("{long}=")).map(str::to_string)
            }
        })
    };
    let data = value("-d", "--data").unwrap_or_else(|| "single".into());
    let meta = value("-m", "--metadata")
        .unwrap_or_else(|| if devices > 1 { "raid1" } else { "dup" }.to_string());
    let (data, meta) = (data.to_lowercase(), meta.to_lowercase());
    if may_lose(&meta) < may_lose(&data) {
        meta
    } else {
        data
    }
}

/// A planned device of the filesystem.
struct Member {
    disk: String,
    device: String,
    disk_path: Option<String>,
}

/// The layout disk and partition number a device path of extraArgs names:
/// a `/dev/disk/by-partlabel/` link of a layout partition, or a layout
/// disk's own device path.
fn named(loaded: &Loaded, arg: &str) -> Option<(String, Option<u32>)> {
    let label = arg.strip_prefix("/dev/disk/by-partlabel/");
    for d in &loaded.layout.disks {
        if d.device.v == arg {
            return Some((d.name.clone(), None));
        }
        let Some(Content::Gpt(g)) = &d.content else {
            continue;
        };
        if let Some(p) = g
            .partitions
            .iter()
            .find(|p| Some(p.label.as_str()) == label)
        {
            return Some((d.name.clone(), Some(super::number_of(d, &p.name))));
        }
    }
    None
}

/// The filesystems of the layout that span several devices, each with its
/// label (or the name of the partition that holds it), mkfs arguments and
/// planned devices.
fn planned(
    loaded: &Loaded,
    kernel: &BTreeMap<String, String>,
) -> Vec<(String, Vec<String>, Vec<Member>)> {
    let member = |disk: &str, number: Option<u32>, fallback: &str| {
        let disk_path = kernel.get(disk).cloned();
        let base = disk_path.clone().unwrap_or_else(|| fallback.to_string());
        Member {
            disk: disk.to_string(),
            device: number.map_or(base.clone(), |n| partition_path(&base, n)),
            disk_path,
        }
    };
    let mut out = Vec::new();
    for (holder, content) in Walk::of(&loaded.layout).items {
        let Content::Btrfs(b) = content else { continue };
        let (first, name) = match holder {
            Holder::Partition(d, p) => (
                member(&d.name, Some(super::number_of(d, &p.name)), &d.device.v),
                p.name.clone(),
            ),
            Holder::Disk(d) => (member(&d.name, None, &d.device.v), d.name.clone()),
            _ => continue,
        };
        let mut members = vec![first];
        for a in &b.extra_args {
            if let Some((disk, n)) = named(loaded, a) {
                let fallback = loaded
                    .layout
                    .disks
                    .iter()
                    .find(|d| d.name == disk)
                    .map_or(a.clone(), |d| d.device.v.clone());
                members.push(member(&disk, n, &fallback));
            }
        }
        if members.len() < 2 {
            continue;
        }
        let label = b
            .extra_args
            .iter()
            .position(|a| a == "-L" || a == "--label")
            .and_then(|i| b.extra_args.get(i + 1).cloned())
            .unwrap_or(name);
        out.push((label, b.extra_args.clone(), members));
    }
    out
}

/// The devids a filesystem lost: those below its device count (and its
/// highest devid) that no present device has.
fn missing_devids(fs: &BtrfsFs) -> Vec<u64> {
    let top = fs
        .devids
        .iter()
        .copied()
        .max()
        .unwrap_or(0)
        .max(fs.total_devices as u64);
    (1..=top).filter(|id| !fs.devids.contains(id)).collect()
}

/// The layout's multi-device btrfs filesystems that exist with devices gone.
pub(super) fn assess(
    loaded: &Loaded,
    obs: &Observed,
    kernel: &BTreeMap<String, String>,
) -> Vec<Degraded> {
    let mut out = Vec::new();
    for (label, args, members) in planned(loaded, kernel) {
        let fs = obs
            .btrfs
            .iter()
            .find(|fs| members.iter().any(|m| fs.devices.contains(&m.device)));
        let Some(fs) = fs else { continue };
        let profile = profile(&args, members.len());
        let mut missing = missing_devids(fs).into_iter();
        let mut d = Degraded {
            array: label,
            kind: Kind::Btrfs {
                may_lose: may_lose(&profile),
                profile,
            },
            device: None,
            running: obs
                .mounts
                .iter()
                .any(|m| m.fstype == "btrfs" && fs.devices.contains(&m.source)),
            rebuilding: None,
            in_sync: Vec::new(),
            gone: Vec::new(),
        };
        for m in &members {
            if fs.devices.contains(&m.device) {
                d.in_sync.push((m.disk.clone(), m.device.clone()));
                continue;
            }
            let how = if m.disk_path.is_none() {
                How::Absent
            } else {
                gone_how(obs, m.disk_path.as_deref(), &m.device, |s| {
                    s.fstype == "btrfs" && s.uuid.as_deref() == Some(fs.uuid.as_str())
                })
            };
            d.gone.push(Gone {
                disk: m.disk.clone(),
                device: m.device.clone(),
                how,
                known_as: missing.next().map(|id| id.to_string()),
            });
        }
        if !d.gone.is_empty() {
            out.push(d);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn the_weaker_profile_counts() {
        assert_eq!(profile(&args("-d raid1 -m raid1 -L tank"), 5), "raid1");
        assert_eq!(profile(&args("-L tank"), 2), "single");
        assert_eq!(
            profile(&args("--data=raid1c3 --metadata=raid1c3"), 4),
            "raid1c3"
        );
        assert_eq!(profile(&args("-d raid10 -m raid1c3"), 4), "raid10");
        assert_eq!(may_lose("raid1"), 1);
        assert_eq!(may_lose("single"), 0);
    }

    #[test]
    fn missing_devids_are_the_gaps() {
        let fs = BtrfsFs {
            uuid: "u".into(),
            label: None,
            devices: vec!["/dev/sda1".into(), "/dev/sdb1".into()],
            devids: vec![1, 3],
            total_devices: 3,
            subvolumes: vec![],
        };
        assert_eq!(missing_devids(&fs), [2]);
    }
}
