//! An imported ZFS pool of the layout with devices gone: ZFS itself says
//! which leaves are not online (`zpool status -P`, and for a missing one the
//! path it `was`), the layout says which bay each planned device is on.
//! Whether a pool that is not imported is degraded is not known until it is
//! imported (`zpool import` reads the labels): that is left to the pool rules.

use super::{Degraded, Gone, How, Kind, gone_how, number_of};
use crate::layout::validate::{Holder, Walk};
use crate::layout::{Content, Loaded, ZMode};
use crate::plan::partition_path;
use crate::probe::{Observed, Zpool};
use std::collections::BTreeMap;

/// How many devices a pool of `mode` over `devices` may lose.
pub fn may_lose(mode: ZMode, devices: usize) -> usize {
    match mode {
        ZMode::Stripe => 0,
        ZMode::Mirror => devices.saturating_sub(1),
        ZMode::Raidz1 => 1,
        ZMode::Raidz2 => 2,
        ZMode::Raidz3 => 3,
    }
}

fn mode_word(mode: ZMode) -> &'static str {
    match mode {
        ZMode::Stripe => "striped",
        ZMode::Mirror => "mirror",
        ZMode::Raidz1 => "raidz1",
        ZMode::Raidz2 => "raidz2",
        ZMode::Raidz3 => "raidz3",
    }
}

/// The names a planned device goes by: the kernel's path and, when the probe
/// saw the partition, its by-id and by-path links, and the layout's path.
fn names(obs: &Observed, kernel_path: &str, layout_path: &str) -> Vec<String> {
    let mut out = vec![kernel_path.to_string(), layout_path.to_string()];
    for d in &obs.disks {
        if d.path == kernel_path {
            out.extend(d.by_id.iter().chain(&d.by_path).cloned());
        }
        for p in d.partitions.iter().filter(|p| p.path == kernel_path) {
            out.extend(p.by_id.iter().chain(&p.by_path).cloned());
        }
    }
    out
}

/// The layout's pools that are imported with devices not online.
pub(super) fn assess(
    loaded: &Loaded,
    obs: &Observed,
    kernel: &BTreeMap<String, String>,
) -> Vec<Degraded> {
    let mut planned: BTreeMap<String, Vec<(String, String, Option<String>)>> = BTreeMap::new();
    for (holder, content) in Walk::of(&loaded.layout).items {
        let Content::Zfs(z) = content else { continue };
        let (d, n) = match holder {
            Holder::Partition(d, p) => (d, Some(number_of(d, &p.name))),
            Holder::Disk(d) => (d, None),
            _ => continue,
        };
        let at = |base: &str| n.map_or(base.to_string(), |n| partition_path(base, n));
        let kernel_path = kernel.get(&d.name).map(|k| at(k));
        planned.entry(z.pool.v.clone()).or_default().push((
            d.name.clone(),
            at(&d.device.v),
            kernel_path,
        ));
    }
    let mut out = Vec::new();
    for (name, members) in planned {
        let Some(pool) = obs.zpools.iter().find(|p| p.name == name) else {
            continue;
        };
        let Some(layout_pool) = loaded.layout.zpools.iter().find(|p| p.name == name) else {
            continue;
        };
        let mode = layout_pool.mode.v;
        let mut d = Degraded {
            array: name.clone(),
            kind: Kind::Zfs {
                mode: mode_word(mode).into(),
                may_lose: may_lose(mode, members.len()),
            },
            device: None,
            running: true,
            rebuilding: None,
            in_sync: Vec::new(),
            gone: Vec::new(),
        };
        for (disk, layout_path, kernel_path) in &members {
            let device = kernel_path.clone().unwrap_or_else(|| layout_path.clone());
            let known = names(obs, &device, layout_path);
            let online = |v: &String| known.contains(v) && !pool.unavailable.contains(v);
            if pool.vdevs.iter().any(online) {
                d.in_sync.push((disk.clone(), device));
                continue;
            }
            let how = match kernel_path {
                None => How::Absent,
                Some(k) => gone_how(obs, kernel.get(disk).map(String::as_str), k, |s| {
                    s.fstype == "zfs_member" && s.label.as_deref() == Some(name.as_str())
                }),
            };
            d.gone.push(Gone {
                disk: disk.clone(),
                device,
                how,
                known_as: was(pool, &known),
            });
        }
        // An unavailable leaf the layout's devices do not explain still
        // names the old device to replace: give it to the first gone member.
        let mut spare: Vec<&String> = pool
            .unavailable
            .iter()
            .filter(|u| !d.gone.iter().any(|g| g.known_as.as_ref() == Some(*u)))
            .collect();
        for g in d.gone.iter_mut().filter(|g| g.known_as.is_none()) {
            g.known_as = spare.pop().cloned();
        }
        if !d.gone.is_empty() {
            out.push(d);
        }
    }
    out
}

/// The unavailable leaf of `pool` that is one of `known`.
fn was(pool: &Zpool, known: &[String]) -> Option<String> {
    pool.unavailable.iter().find(|u| known.contains(u)).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pool_loses_what_its_parity_allows() {
        assert_eq!(may_lose(ZMode::Raidz2, 5), 2);
        assert_eq!(may_lose(ZMode::Mirror, 3), 2);
        assert_eq!(may_lose(ZMode::Stripe, 3), 0);
    }
}
