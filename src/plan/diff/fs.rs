//! Filesystem-level rules: a filesystem (or swap) is kept when the device
//! holds the planned type (and label, when the layout sets one); btrfs
//! subvolumes, ZFS pools and datasets by name; mounts by target.

use super::State;
use super::lookup::{show_sig, signature};
use crate::plan::Change;
use crate::probe::{Observed, Signature};
use std::collections::HashSet;

/// Label given to mkfs in the layout's extraArgs (`-L x`, vfat `-n x`, f2fs `-l x`).
fn wanted_label(format: &str, args: &[String]) -> Option<String> {
    let flag = match format {
        "vfat" => "-n",
        "f2fs" => "-l",
        _ => "-L",
    };
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

/// `mkfs.<format>` (or mkswap, format `swap`) over `devices` (several for
/// multi-device btrfs).
pub(super) fn mkfs(
    s: &State,
    devices: &[String],
    format: &str,
    args: &[String],
) -> (Change, Option<String>) {
    if devices.iter().any(|d| s.created.contains(d) || !s.kept(d)) {
        return (Change::Create, None);
    }
    let label = wanted_label(format, args);
    let sigs: Vec<(&String, Option<&Signature>)> =
        devices.iter().map(|d| (d, signature(s.obs, d))).collect();
    if sigs.iter().all(|(_, s)| s.is_none()) {
        return (Change::Create, None);
    }
    let want = match &label {
        Some(l) => format!("{format} '{l}'"),
        None => format.to_string(),
    };
    let matching = |s: &Signature| {
        s.fstype == format && label.as_ref().is_none_or(|l| s.label.as_ref() == Some(l))
    };
    let uuids: HashSet<Option<&String>> = sigs
        .iter()
        .filter_map(|(_, s)| s.map(|s| s.uuid.as_ref()))
        .collect();
    if sigs.iter().all(|(_, s)| s.is_some_and(matching)) && uuids.len() == 1 {
        return (Change::Keep, None);
    }
    // Something is there and it is not (all of) the planned filesystem.
    let found: Vec<String> = sigs
        .iter()
        .map(|(d, s)| match s {
            Some(s) if !matching(s) => format!("{d} holds {} where {want} is planned", show_sig(s)),
            Some(_) if uuids.len() > 1 => format!("{d} is part of another {format} filesystem"),
            Some(_) => format!("{d} holds the planned {format}"),
            None => format!("{d} is not part of the existing {format} filesystem"),
        })
        .filter(|m| !m.ends_with(&format!("holds the planned {format}")))
        .collect();
    (Change::Destroy, Some(found.join("; ")))
}

/// A btrfs subvolume exists when the (kept) filesystem lists it.
pub(super) fn subvolume(s: &State, device: &str, name: &str) -> Change {
    let exists = !s.created.contains(device)
        && s.obs.btrfs.iter().any(|b| {
            b.devices.iter().any(|d| d == device)
                && b.subvolumes
                    .iter()
                    .any(|v| v.trim_start_matches('/') == name.trim_start_matches('/'))
        });
    if exists { Change::Keep } else { Change::Create }
}

/// A swap file of a btrfs: made with a filesystem made in this run; kept
/// when the kernel swaps on it (so it is there). The probe does not look
/// inside filesystems otherwise: apply makes it when missing and keeps a
/// file of the planned size.
pub(super) fn swapfile(s: &State, device: &str, file: &str) -> (Change, Option<String>) {
    if s.created.contains(device) {
        (Change::Create, None)
    } else if s.obs.swaps.iter().any(|f| f == file) {
        (Change::Keep, None)
    } else {
        (
            Change::Create,
            Some("made when missing: the probe does not look inside filesystems".into()),
        )
    }
}

/// Swapping on a file is kept when the kernel does already.
pub(super) fn swapon(obs: &Observed, file: &str) -> Change {
    if obs.swaps.iter().any(|f| f == file) {
        Change::Keep
    } else {
        Change::Create
    }
}

/// A ZFS pool is kept when one of that name is imported.
pub(super) fn zpool(obs: &Observed, name: &str) -> Change {
    if obs.zpools.iter().any(|p| p.name == name) {
        Change::Keep
    } else {
        Change::Create
    }
}

/// A ZFS dataset is kept when an imported pool has it.
pub(super) fn dataset(obs: &Observed, name: &str) -> Change {
    if obs
        .zpools
        .iter()
        .any(|p| p.datasets.iter().any(|d| d == name))
    {
        Change::Keep
    } else {
        Change::Create
    }
}

/// A mount is kept when the target is mounted with that type already.
pub(super) fn mount(obs: &Observed, target: &str, fstype: &str) -> Change {
    let mounted = obs
        .mounts
        .iter()
        .any(|m| m.target == target && (m.fstype == fstype || fstype == "zfs"));
    if mounted {
        Change::Keep
    } else {
        Change::Create
    }
}
