//! Checks across the layout: references, devices used twice, mountpoints,
//! RAID member counts, and the board's rules. Geometry (overlaps, fit, the
//! 16 MiB gap) is checked where it is computed, in `plan::geometry`.
//!
//! Names, paths and mountpoints arrive checked and normalized (`names`), so
//! comparing them here compares what the tools will see.

use super::diag::{Diagnostic, Pos};
use super::model::*;
use super::names::shown;
use std::collections::HashMap;

mod boot;
mod devices;

pub use boot::boot_mountpoint;
pub use devices::remap;

/// Every block device content in the layout, with the device it sits on.
pub struct Walk<'a> {
    /// (holder description, content) pairs, outermost first.
    pub items: Vec<(Holder<'a>, &'a Content)>,
}

/// What holds a content: a disk, a partition, an array, a LUKS volume, a zvol.
#[derive(Clone, Copy)]
pub enum Holder<'a> {
    /// A whole disk.
    Disk(&'a Disk),
    /// A partition of a disk.
    Partition(&'a Disk, &'a Partition),
    /// An md array.
    Array(&'a MdArray),
    /// An opened LUKS volume.
    Luks(&'a Luks),
    /// A ZFS volume.
    Zvol(&'a Zpool, &'a Dataset),
}

impl Walk<'_> {
    /// Walk every content of the layout, depth first.
    pub fn of(l: &Layout) -> Walk<'_> {
        fn push<'a>(w: &mut Vec<(Holder<'a>, &'a Content)>, h: Holder<'a>, c: &'a Content) {
            w.push((h, c));
            match c {
                Content::Gpt(g) => {
                    if let Holder::Disk(d) = h {
                        for p in &g.partitions {
                            if let Some(pc) = &p.content {
                                push(w, Holder::Partition(d, p), pc);
                            }
                        }
                    }
                }
                Content::Luks(lk) => {
                    if let Some(inner) = &lk.content {
                        push(w, Holder::Luks(lk), inner);
                    }
                }
                _ => {}
            }
        }
        let mut items = Vec::new();
        for d in &l.disks {
            if let Some(c) = &d.content {
                push(&mut items, Holder::Disk(d), c);
            }
        }
        for a in &l.mdadm {
            if let Some(c) = &a.content {
                push(&mut items, Holder::Array(a), c);
            }
        }
        for p in &l.zpools {
            for ds in &p.datasets {
                if let DatasetKind::ZfsVolume {
                    content: Some(c), ..
                } = &ds.kind
                {
                    push(&mut items, Holder::Zvol(p, ds), c);
                }
            }
        }
        Walk { items }
    }
}

/// Minimum members for an md level.
pub fn md_min_members(level: u32) -> usize {
    match level {
        0 | 1 | 10 => 2,
        // mdadm builds a 2-device RAID5 (disko's own example does); parity needs a second device.
        5 => 2,
        6 => 4,
        _ => 1,
    }
}

/// Minimum members for a pool layout.
pub fn zpool_min_members(mode: ZMode) -> usize {
    match mode {
        ZMode::Stripe => 1,
        ZMode::Mirror | ZMode::Raidz1 => 2,
        ZMode::Raidz2 => 3,
        ZMode::Raidz3 => 4,
    }
}

/// What is mounted at a mountpoint.
pub enum Source<'a> {
    /// A filesystem on a block device.
    Fs(Holder<'a>, &'a Filesystem),
    /// A btrfs top level or subvolume.
    Btrfs,
    /// A ZFS pool's root dataset or a dataset.
    Zfs,
    /// A filesystem without a device.
    Nodev(&'a Nodev),
}

/// A mountpoint and what is mounted there.
pub struct Mount<'a> {
    /// The (normalized) mountpoint.
    pub at: &'a At<String>,
    /// What is mounted.
    pub source: Source<'a>,
}

/// Every mountpoint of the layout in file order: block devices' contents,
/// then pools and datasets, then nodev.
pub fn mounts<'a>(l: &'a Layout, walk: &Walk<'a>) -> Vec<Mount<'a>> {
    let mut v = Vec::new();
    for (holder, c) in &walk.items {
        match c {
            Content::Filesystem(f) => {
                if let Some(at) = &f.mountpoint {
                    v.push(Mount {
                        at,
                        source: Source::Fs(*holder, f),
                    });
                }
            }
            Content::Btrfs(b) => {
                let subs = b.subvolumes.iter().filter_map(|s| s.mountpoint.as_ref());
                for at in b.mountpoint.iter().chain(subs) {
                    v.push(Mount {
                        at,
                        source: Source::Btrfs,
                    });
                }
            }
            _ => {}
        }
    }
    for p in &l.zpools {
        let datasets = p.datasets.iter().filter_map(|d| match &d.kind {
            DatasetKind::ZfsFs { mountpoint, .. } => mountpoint.as_ref(),
            DatasetKind::ZfsVolume { .. } => None,
        });
        for at in p.mountpoint.iter().chain(datasets) {
            v.push(Mount {
                at,
                source: Source::Zfs,
            });
        }
    }
    for n in &l.nodev {
        v.push(Mount {
            at: &n.mountpoint,
            source: Source::Nodev(n),
        });
    }
    v
}

/// Run every cross-cutting check.
pub fn validate(l: &Layout) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if l.disks.is_empty() && l.rejected.disks.is_empty() {
        out.push(
            Diagnostic::error(
                Some(Pos { line: 1, col: 1 }),
                "disk",
                "the layout declares no disks",
            )
            .with_hint("add a `disk:` section; see layouts/helios64.yaml"),
        );
    }
    devices::disks(l, &mut out);
    devices::firmware(l, &mut out);
    devices::gpt_names(l, &mut out);

    let walk = Walk::of(l);
    let mut md_members: HashMap<&str, Vec<&At<String>>> = HashMap::new();
    let mut zfs_members: HashMap<&str, Vec<&At<String>>> = HashMap::new();
    let mut mappers: HashMap<&str, &At<String>> = HashMap::new();
    for (holder, c) in &walk.items {
        match c {
            Content::Mdraid(m) => md_members
                .entry(m.name.v.as_str())
                .or_default()
                .push(&m.name),
            Content::Zfs(z) => zfs_members
                .entry(z.pool.v.as_str())
                .or_default()
                .push(&z.pool),
            Content::Luks(lk) => {
                if let Some(first) = mappers.insert(lk.name.v.as_str(), &lk.name) {
                    out.push(Diagnostic::error(
                        Some(lk.name.pos),
                        &lk.name.path,
                        format!(
                            "LUKS name `{}` is also used at line {}",
                            lk.name.v, first.pos.line
                        ),
                    ));
                }
                if lk.password_file.is_none() && lk.key_file.is_none() && !lk.ask_password {
                    out.push(
                        Diagnostic::error(
                            Some(lk.name.pos),
                            &lk.name.path,
                            format!("LUKS volume `{}` has no key", lk.name.v),
                        )
                        .with_hint("set passwordFile, settings.keyFile, or askPassword: true"),
                    );
                }
            }
            Content::Gpt(_) => {
                if !matches!(holder, Holder::Disk(_)) {
                    let (pos, path) = holder_site(holder);
                    out.push(
                        Diagnostic::error(
                            Some(pos),
                            path,
                            "a GPT inside an md array, LUKS volume or zvol is not supported yet",
                        )
                        .with_hint(
                            "partition the disks and build one array per partition set instead",
                        ),
                    );
                }
            }
            Content::Filesystem(_) | Content::Btrfs(_) | Content::Swap(_) => {}
        }
    }
    // With items missing from the model, member counts are not final: stay
    // silent rather than contradict the file.
    let counts_final = !l.rejected.incomplete;
    for a in &l.mdadm {
        let members = md_members.remove(a.name.as_str()).unwrap_or_default();
        let need = md_min_members(a.level.v);
        if members.is_empty() && counts_final {
            out.push(
                Diagnostic::error(
                    Some(a.site.pos),
                    &a.site.path,
                    format!("array `{}` has no members", a.name),
                )
                .with_hint(format!(
                    "give partitions `content: {{ type: mdraid, name: {} }}`",
                    a.name
                )),
            );
        } else if members.len() < need && counts_final {
            out.push(
                Diagnostic::error(
                    Some(a.level.pos),
                    &a.level.path,
                    format!(
                        "RAID{} needs at least {need} members, `{}` has {}",
                        a.level.v,
                        a.name,
                        members.len()
                    ),
                )
                .with_hint("add members or choose another level"),
            );
        }
        if let Some(Content::Mdraid(_) | Content::Zfs(_)) = &a.content {
            out.push(
                Diagnostic::error(
                    Some(a.site.pos),
                    &a.site.path,
                    "an md array cannot be a member of another array or pool",
                )
                .with_hint("it holds a filesystem, LUKS, btrfs or swap"),
            );
        }
    }
    let mut dangling: Vec<_> = md_members
        .into_iter()
        .filter(|(name, _)| !l.rejected.md.iter().any(|r| r == name))
        .collect();
    dangling.sort_by_key(|(_, refs)| refs[0].pos);
    for (name, refs) in dangling {
        for r in refs {
            out.push(
                Diagnostic::error(
                    Some(r.pos),
                    &r.path,
                    format!("no md array named `{}`", shown(name)),
                )
                .with_hint(
                    super::diag::did_you_mean(
                        name,
                        &l.mdadm.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(),
                    )
                    .map(|s| format!("did you mean `{s}`?"))
                    .unwrap_or_else(|| {
                        format!(
                            "declare it under `mdadm: {{ {}: {{ level: 1, content: ... }} }}`",
                            shown(name)
                        )
                    }),
                ),
            );
        }
    }
    for p in &l.zpools {
        let members = zfs_members.remove(p.name.as_str()).unwrap_or_default();
        let need = zpool_min_members(p.mode.v);
        if members.is_empty() && counts_final {
            out.push(
                Diagnostic::error(
                    Some(p.site.pos),
                    &p.site.path,
                    format!("pool `{}` has no members", p.name),
                )
                .with_hint(format!(
                    "give partitions `content: {{ type: zfs, pool: {} }}`",
                    p.name
                )),
            );
        } else if members.len() < need && counts_final {
            out.push(Diagnostic::error(
                Some(p.mode.pos),
                &p.mode.path,
                format!(
                    "{:?} needs at least {need} devices, `{}` has {}",
                    p.mode.v,
                    p.name,
                    members.len()
                )
                .to_lowercase(),
            ));
        }
    }
    let mut dangling: Vec<_> = zfs_members
        .into_iter()
        .filter(|(name, _)| !l.rejected.zpools.iter().any(|r| r == name))
        .collect();
    dangling.sort_by_key(|(_, refs)| refs[0].pos);
    for (name, refs) in dangling {
        for r in refs {
            out.push(
                Diagnostic::error(
                    Some(r.pos),
                    &r.path,
                    format!("no zpool named `{}`", shown(name)),
                )
                .with_hint(format!(
                    "declare it under `zpool: {{ {}: … }}`",
                    shown(name)
                )),
            );
        }
    }
    let mounts = mounts(l, &walk);
    let mut first: HashMap<&str, &At<String>> = HashMap::new();
    for m in &mounts {
        if let Some(f) = first.get(m.at.v.as_str()) {
            out.push(
                Diagnostic::error(
                    Some(m.at.pos),
                    &m.at.path,
                    format!("mountpoint `{}` is also used by {}", m.at.v, f.path),
                )
                .with_hint(format!("first used at line {}", f.pos.line)),
            );
        } else {
            first.insert(&m.at.v, m.at);
        }
    }
    btrfs_members(l, &walk, &mut out);
    if l.board == Some(Board::Helios64) {
        boot::helios64(&mounts, &mut out);
    }
    out
}

fn holder_site(h: &Holder) -> (Pos, String) {
    match h {
        Holder::Disk(d) => (d.site.pos, d.site.path.clone()),
        Holder::Partition(_, p) => (p.site.pos, p.site.path.clone()),
        Holder::Array(a) => (a.site.pos, a.site.path.clone()),
        Holder::Luks(l) => (l.name.pos, l.name.path.clone()),
        Holder::Zvol(_, d) => (d.site.pos, d.site.path.clone()),
    }
}

/// Multi-device btrfs names its other devices in `extraArgs`, disko style, as
/// `/dev/disk/by-partlabel/<label>` or, across LUKS, `/dev/mapper/<name>`:
/// each must be a partition or LUKS volume of this layout that holds nothing
/// else, and none may be claimed twice.
fn btrfs_members(l: &Layout, walk: &Walk, out: &mut Vec<Diagnostic>) {
    let mut parts: HashMap<String, (&Disk, &Partition)> = HashMap::new();
    for d in &l.disks {
        if let Some(Content::Gpt(g)) = &d.content {
            for p in &g.partitions {
                parts.insert(p.label.clone(), (d, p));
            }
        }
    }
    let luks: HashMap<&str, &Luks> = walk
        .items
        .iter()
        .filter_map(|(_, c)| match c {
            Content::Luks(l) => Some((l.name.v.as_str(), l)),
            _ => None,
        })
        .collect();
    let mut claimed: HashMap<String, String> = HashMap::new();
    for (holder, c) in &walk.items {
        let Content::Btrfs(b) = c else { continue };
        let (pos, path) = holder_site(holder);
        for a in &b.extra_args {
            // Compared as normalized paths, as the disks' devices are.
            let a = &super::names::device(a).unwrap_or_else(|_| a.clone());
            if let Some(name) = a.strip_prefix("/dev/mapper/")
                && (luks.contains_key(name) || l.rejected.incomplete)
            {
                match luks.get(name) {
                    Some(v) if v.content.is_some() => out.push(
                        Diagnostic::error(Some(v.name.pos), &v.name.path, format!("LUKS `{name}` is a member of the btrfs at {path} and also has content of its own")).with_hint("a device can be used once; remove its content"),
                    ),
                    Some(_) => {
                        if let Some(first) = claimed.insert(a.clone(), path.clone()) {
                            out.push(Diagnostic::error(Some(pos), &path, format!("LUKS `{name}` is already a member of the btrfs at {first}")));
                        }
                    }
                    // A LUKS volume the reader refused may be the one named.
                    None => {}
                }
                continue;
            }
            let Some(label) = a.strip_prefix("/dev/disk/by-partlabel/") else {
                // A refused disk may be the one named: stay silent then.
                if a.starts_with("/dev/")
                    && !l.rejected.incomplete
                    && !l.disks.iter().any(|d| &d.device.v == a)
                {
                    out.push(
                        Diagnostic::error(
                            Some(pos),
                            &path,
                            format!(
                                "btrfs extraArgs name `{a}`, which is not a device of this layout"
                            ),
                        )
                        .with_hint(
                            "name other members as /dev/disk/by-partlabel/disk-<disk>-<partition>, or /dev/mapper/<name> for a LUKS volume",
                        ),
                    );
                }
                continue;
            };
            match parts.get(label) {
                // A partition the reader refused may be the one named.
                None if l.rejected.incomplete => {}
                None => out.push(Diagnostic::error(Some(pos), &path, format!("btrfs extraArgs name partition label `{label}`, which no partition has")).with_hint("labels default to disk-<disk>-<partition>")),
                Some((_, p)) if p.content.is_some() => out.push(
                    Diagnostic::error(Some(p.site.pos), &p.site.path, format!("partition `{}` is a member of the btrfs at {path} and also has content of its own", p.name)).with_hint("a device can be used once; remove its content"),
                ),
                Some(_) => {
                    if let Some(first) = claimed.insert(label.to_string(), path.clone()) {
                        out.push(Diagnostic::error(Some(pos), &path, format!("partition label `{label}` is already a member of the btrfs at {first}")));
                    }
                }
            }
        }
    }
}
