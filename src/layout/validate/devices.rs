//! Disks' devices (`--disk` remaps, duplicates, whole disks), firmware
//! regions and GPT partition names: what must be unique or whole before any
//! of it is planned.

use super::super::diag::Diagnostic;
use super::super::model::*;
use super::super::names::{self, shown};
use super::super::size::Size;
use std::collections::HashMap;

/// Apply `--disk NAME=DEVICE` remaps, each device checked as the file's are
/// and stored normalized. Errors point at the device the remap replaces.
pub fn remap(l: &mut Layout, map: &[(String, String)]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (name, device) in map {
        let path = format!("--disk {}", shown(name));
        match l.disks.iter_mut().find(|d| &d.name == name) {
            Some(d) => match names::device(device) {
                Ok(v) => d.device.v = v,
                Err(e) => out
                    .push(Diagnostic::error(Some(d.device.pos), path, e.message).with_hint(e.hint)),
            },
            // The file declares it, wrongly: that error is already reported.
            None if l.rejected.disks.contains(name) => {}
            None => out.push(
                Diagnostic::error(
                    None,
                    path,
                    format!("the layout has no disk `{}`", shown(name)),
                )
                .with_hint(format!(
                    "disks: {}",
                    l.disks
                        .iter()
                        .map(|d| d.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            ),
        }
    }
    out
}

/// Every disk's device is a whole disk, used once: not another spelling of
/// another disk's path (paths are normalized by now), not a partition of
/// another disk, not a node the layout itself creates.
pub fn disks(l: &Layout, out: &mut Vec<Diagnostic>) {
    let mut devices: HashMap<&str, &Disk> = HashMap::new();
    for d in &l.disks {
        if let Some(first) = devices.get(d.device.v.as_str()) {
            out.push(
                Diagnostic::error(
                    Some(d.device.pos),
                    &d.device.path,
                    format!(
                        "device `{}` is also disk `{}`",
                        shown(&d.device.v),
                        first.name
                    ),
                )
                .with_hint(
                    "each disk needs its own device; check the by-path names or --disk mappings",
                ),
            );
        } else {
            devices.insert(&d.device.v, d);
        }
    }
    for d in &l.disks {
        let Err(e) = names::whole_disk(&d.device.v) else {
            continue;
        };
        let parent = names::partition_of(&d.device.v)
            .and_then(|(p, n)| devices.get(p.as_str()).map(|o| (o, n)));
        let diag = match parent {
            Some((other, n)) => Diagnostic::error(
                Some(d.device.pos),
                &d.device.path,
                format!(
                    "device `{}` is partition {n} of disk `{}` ({})",
                    shown(&d.device.v),
                    other.name,
                    shown(&other.device.v)
                ),
            )
            .with_hint(format!(
                "a disk's device must be a whole disk; wiping `{}` destroys it",
                other.name
            )),
            None => {
                Diagnostic::error(Some(d.device.pos), &d.device.path, e.message).with_hint(e.hint)
            }
        };
        out.push(diag);
    }
}

/// Firmware regions: each named once per disk, none empty. Where they sit
/// (the GPT, each other, the partitions, the boot gap) is `plan::geometry`'s.
pub fn firmware(l: &Layout, out: &mut Vec<Diagnostic>) {
    for d in &l.disks {
        let mut seen: HashMap<&str, &Firmware> = HashMap::new();
        for f in &d.firmware {
            if let Some(first) = seen.get(f.name.as_str()) {
                out.push(
                    Diagnostic::error(
                        Some(f.site.pos),
                        &f.site.path,
                        format!(
                            "firmware region `{}` is declared twice on disk `{}`",
                            f.name, d.name
                        ),
                    )
                    .with_hint(format!("first declared at line {}", first.site.pos.line)),
                );
            } else {
                seen.insert(&f.name, f);
            }
            if matches!(f.max_size.v, Size::Bytes(0) | Size::Sectors(0)) {
                out.push(
                    Diagnostic::error(
                        Some(f.max_size.pos),
                        &f.max_size.path,
                        format!("firmware region `{}` has size zero", f.name),
                    )
                    .with_hint("give the room the image may take, e.g. max_size: 4MiB"),
                );
            }
        }
    }
}

/// GPT partition names are found by `/dev/disk/by-partlabel/<name>`, across
/// all disks: two partitions with one name make that path ambiguous.
pub fn gpt_names(l: &Layout, out: &mut Vec<Diagnostic>) {
    let mut seen: HashMap<&str, (&Disk, &Partition)> = HashMap::new();
    for d in &l.disks {
        let Some(Content::Gpt(g)) = &d.content else {
            continue;
        };
        for p in &g.partitions {
            if let Some((od, op)) = seen.get(p.label.as_str()) {
                out.push(
                    Diagnostic::error(
                        Some(p.site.pos),
                        &p.site.path,
                        format!(
                            "GPT partition name `{}` is also partition `{}` of disk `{}`",
                            shown(&p.label),
                            op.name,
                            od.name
                        ),
                    )
                    .with_hint(format!(
                        "/dev/disk/by-partlabel/{} would name either; give each its own `label`",
                        shown(&p.label)
                    )),
                );
            } else {
                seen.insert(&p.label, (d, p));
            }
        }
    }
}
