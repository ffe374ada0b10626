//! Collecting a basis: the plan's disks, their tables and partitions, what is
//! on them, what is stacked above (arrays, LUKS, btrfs, pools), where any of
//! it is mounted, and what already holds a name the plan claims.

use super::show::{btrfs, e, luks, md, partition, signature, table, zpool};
use crate::layout::size::human;
use crate::plan::diff::{find_disk, md_array};
use crate::plan::{Action, Plan, partition_path};
use crate::probe::{Disk, GptEntry, Observed, PathTarget, Signature, Table};
use std::collections::{BTreeMap, BTreeSet};

/// The walk over the observed state, from the plan's disks upwards.
struct Walk<'a> {
    obs: &'a Observed,
    facts: BTreeMap<String, String>,
    /// Every name a device of ours goes by: kernel path, `/dev/<kname>`,
    /// by-path/by-id links, `/dev/md/<name>`, `/dev/mapper/<name>`. Mount
    /// sources, array members and vdevs are matched against these.
    ours: BTreeSet<String>,
    /// Where lsblk says devices of ours are mounted, whatever `/proc/mounts`
    /// calls the source.
    points: BTreeSet<String>,
    /// Pools on our devices (their datasets' mounts are ours).
    pools: BTreeSet<String>,
}

/// The facts `plan` rests on, from `obs`.
pub(super) fn collect(plan: &Plan, obs: &Observed) -> BTreeMap<String, String> {
    let mut w = Walk {
        obs,
        facts: BTreeMap::new(),
        ours: BTreeSet::new(),
        points: BTreeSet::new(),
        pools: BTreeSet::new(),
    };
    for dp in &plan.disks {
        let key = format!("disk {}", e(&dp.name));
        match find_disk(obs, &dp.device) {
            Some(d) => {
                w.facts.insert(key, e(&d.path));
                w.disk(d);
            }
            None => {
                w.facts.insert(key, missing(obs, &dp.device));
            }
        }
    }
    w.stacked();
    w.claimed(plan);
    w.mounts(plan);
    w.facts
}

/// What a plan's device path leads to when it is not a disk.
fn missing(obs: &Observed, device: &str) -> String {
    match obs.paths.iter().find(|p| p.path == device).map(|p| &p.is) {
        Some(PathTarget::Nothing(why)) => format!("no block device ({})", e(why)),
        Some(other) => format!(
            "not a whole disk (`{}`)",
            e(other.kname().unwrap_or_default())
        ),
        None => "no such disk".into(),
    }
}

impl Walk<'_> {
    fn add_names<'s>(&mut self, path: &str, kname: &str, links: impl Iterator<Item = &'s String>) {
        self.ours.insert(path.to_string());
        self.ours.insert(format!("/dev/{kname}"));
        self.ours.extend(links.cloned());
    }

    /// A block device's own facts: what is on it, what holds it, whether it
    /// could be read; and its holders and mount points count as ours.
    fn node(
        &mut self,
        path: &str,
        sig: Option<&Signature>,
        holders: &[String],
        points: &[String],
        unreadable: &Option<String>,
    ) {
        let path = e(path);
        if let Some(s) = sig {
            self.facts.insert(format!("{path} content"), signature(s));
        }
        if !holders.is_empty() {
            let mut h: Vec<String> = holders.iter().map(|h| e(h)).collect();
            h.sort();
            self.facts.insert(format!("{path} holders"), h.join(", "));
            self.ours
                .extend(holders.iter().map(|h| format!("/dev/{h}")));
        }
        if let Some(why) = unreadable {
            self.facts.insert(format!("{path} unreadable"), e(why));
        }
        self.points.extend(points.iter().cloned());
    }

    fn disk(&mut self, d: &Disk) {
        self.add_names(&d.path, &d.name, d.by_path.iter().chain(&d.by_id));
        let mut v = format!(
            "disk {}, {} ({} bytes), {}-byte sectors",
            e(&d.name),
            human(d.size_bytes),
            d.size_bytes,
            d.logical_sector_size
        );
        for (what, x) in [("model", &d.model), ("serial", &d.serial), ("wwn", &d.wwn)] {
            if let Some(x) = x {
                v.push_str(&format!(", {what} `{}`", e(x.trim())));
            }
        }
        if d.read_only {
            v.push_str(", read-only");
        }
        self.facts.insert(e(&d.path), v);
        self.facts
            .insert(format!("{} table", e(&d.path)), table(&d.table));
        self.node(
            &d.path,
            d.signature.as_ref(),
            &d.holders,
            &d.mountpoints,
            &d.unreadable,
        );
        let entries: &[GptEntry] = match &d.table {
            Table::Gpt(g) => &g.entries,
            _ => &[],
        };
        let numbers: BTreeSet<u32> = entries
            .iter()
            .map(|x| x.number)
            .chain(d.partitions.iter().map(|p| p.number))
            .collect();
        for n in numbers {
            let entry = entries.iter().find(|x| x.number == n);
            let part = d.partitions.iter().find(|p| p.number == n);
            let path = part.map_or_else(|| partition_path(&d.path, n), |p| p.path.clone());
            let sector = u64::from(d.logical_sector_size.max(512));
            self.facts
                .insert(e(&path), partition(n, entry, part, sector));
            if let Some(p) = part {
                self.add_names(&p.path, &p.name, p.by_path.iter().chain(&p.by_id));
                self.node(
                    &p.path,
                    p.signature.as_ref(),
                    &p.holders,
                    &p.mountpoints,
                    &p.unreadable,
                );
            }
        }
    }

    /// Arrays, LUKS containers, btrfs and pools on devices of ours, to any
    /// depth (LUKS on md on partitions, md on LUKS…).
    fn stacked(&mut self) {
        let obs = self.obs;
        let (mut arrays, mut containers) = (BTreeSet::new(), BTreeSet::new());
        loop {
            let before = (arrays.len(), containers.len());
            for a in &obs.md_arrays {
                let on_ours = self.ours.contains(&a.path)
                    || a.members.iter().any(|m| self.ours.contains(&m.device));
                if on_ours && arrays.insert(&a.path) {
                    let (k, v) = md(a);
                    self.facts.insert(k, v);
                    let name = a.name.as_ref().map(|n| format!("/dev/md/{n}"));
                    let kname = a.path.trim_start_matches("/dev/");
                    self.add_names(&a.path, kname, name.iter());
                    self.node(
                        &a.path,
                        a.signature.as_ref(),
                        &a.holders,
                        &a.mountpoints,
                        &a.unreadable,
                    );
                }
            }
            for l in &obs.luks {
                if self.ours.contains(&l.device) && containers.insert(&l.device) {
                    let (k, v) = luks(l);
                    self.facts.insert(k, v);
                    if let (Some(m), Some(name)) = (&l.open, &l.open_as) {
                        let mapper = format!("/dev/mapper/{name}");
                        self.add_names(&m.path, &m.kname, std::iter::once(&mapper));
                        self.node(
                            &m.path,
                            m.signature.as_ref(),
                            &m.holders,
                            &m.mountpoints,
                            &m.unreadable,
                        );
                    }
                }
            }
            if (arrays.len(), containers.len()) == before {
                break;
            }
        }
        for b in &obs.btrfs {
            if b.devices.iter().any(|d| self.ours.contains(d)) {
                let (k, v) = btrfs(b);
                self.facts.insert(k, v);
            }
        }
        for z in &obs.zpools {
            if z.vdevs.iter().any(|d| self.ours.contains(d)) {
                self.pools.insert(z.name.clone());
                let (k, v) = zpool(z);
                self.facts.insert(k, v);
            }
        }
    }

    /// What already goes by a name the plan gives, wherever it is: an array
    /// `tank` on other disks would make `mdadm --create /dev/md/tank` fail.
    fn claimed(&mut self, plan: &Plan) {
        let obs = self.obs;
        for st in &plan.steps {
            let (k, v) = match &st.action {
                Action::MdCreate { device, .. } | Action::MdAssemble { device, .. } => {
                    match md_array(obs, device) {
                        Some(a) => md(a),
                        None => continue,
                    }
                }
                Action::LuksFormat { name, .. } | Action::LuksOpen { name, .. } => {
                    match obs.luks.iter().find(|l| l.open_as.as_ref() == Some(name)) {
                        Some(l) => luks(l),
                        None => continue,
                    }
                }
                Action::ZpoolCreate { name, .. } => {
                    match obs.zpools.iter().find(|z| &z.name == name) {
                        Some(z) => zpool(z),
                        None => continue,
                    }
                }
                _ => continue,
            };
            self.facts.insert(k, v);
        }
    }

    /// Mounts of devices of ours, of our pools' datasets, and on the mount
    /// points the plan uses; swap on devices of ours.
    fn mounts(&mut self, plan: &Plan) {
        let mut targets: BTreeSet<&str> = plan
            .steps
            .iter()
            .filter_map(|s| match &s.action {
                Action::Mount { target, .. } => Some(target.as_str()),
                _ => None,
            })
            .collect();
        targets.insert(&plan.mount_root);
        let mut by_target: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for m in &self.obs.mounts {
            let pool = m.source.split('/').next().unwrap_or_default();
            if self.ours.contains(&m.source)
                || self.points.contains(&m.target)
                || targets.contains(m.target.as_str())
                || (m.fstype == "zfs" && self.pools.contains(pool))
            {
                // Sorted: the order of options says nothing, and must not
                // count as a change.
                let mut opts: Vec<&str> = m.options.iter().map(String::as_str).collect();
                opts.sort();
                opts.dedup();
                by_target
                    .entry(format!("mount {}", e(&m.target)))
                    .or_default()
                    .push(format!(
                        "`{}`, {}, {}",
                        e(&m.source),
                        e(&m.fstype),
                        e(&opts.join(","))
                    ));
            }
        }
        for (k, v) in by_target {
            // Stacked mounts in the kernel's order: the last one is what is seen.
            self.facts.insert(k, v.join("; then "));
        }
        for s in &self.obs.swaps {
            if self.ours.contains(s) {
                self.facts.insert(format!("swap {}", e(s)), "in use".into());
            }
        }
    }
}
