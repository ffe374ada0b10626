//! Unreadable is not blank: a device whose probe failed (an I/O error, blkid
//! failing, its size unreadable) holds something unknown. Every step that
//! rests on one (writes over it, over a disk it lies on or a partition inside
//! it, or over what is stacked on it) is refused, and shown as `change`,
//! never `create`. Steps that would only keep are refused too: nasstrap
//! cannot know that what is there matches.

use super::lookup::{find_disk, md_array, owner, partition_of, unknown};
use super::{Refusal, Why};
use crate::plan::{Action, Change, Plan, partition_path};
use crate::probe::Observed;
use std::collections::BTreeSet;

/// Refuse every unknown device the plan rests on; the steps on them become
/// `change` with the reason (never `create`: nothing is known to be blank).
pub(super) fn check(plan: &mut Plan, obs: &Observed, refusals: &mut Vec<Refusal>) {
    let stack = Stack::of(plan);
    let disks: Vec<(String, String)> = plan
        .disks
        .iter()
        .map(|d| (d.name.clone(), d.device.clone()))
        .collect();
    let mut seen = BTreeSet::new();
    for st in &mut plan.steps {
        let mut bad: Vec<(String, String)> = Vec::new();
        for dev in stack.rests_on(&st.action) {
            for u in unknown(obs, &dev)
                .into_iter()
                .chain(stack.new_on(obs, &dev))
            {
                if !bad.contains(&u) {
                    bad.push(u);
                }
            }
        }
        let Some((first, _)) = bad.first() else {
            continue;
        };
        // Not even keep: nasstrap cannot know that what is there matches.
        st.change = Change::Change;
        st.reason = Some(format!(
            "{first} cannot be read: what is there is unknown; refused"
        ));
        for (device, error) in bad {
            if seen.insert(device.clone()) {
                let pairs = disks.iter().map(|(n, d)| (n.as_str(), d.as_str()));
                let name = owner(obs, pairs, &device)
                    .map(str::to_string)
                    .or_else(|| md_array(obs, &device).and_then(|a| a.name.clone()))
                    .unwrap_or_else(|| st.subject.clone());
                refusals.push(Refusal {
                    disk: name,
                    reason: Why::Unreadable { device, error },
                });
            }
        }
    }
}

/// What the plan stacks on what: arrays on members, mappings on containers,
/// pools on vdevs; and the disk each planned partition will lie on.
struct Stack {
    /// (planned device, the devices it is made of).
    parts: Vec<(String, Vec<String>)>,
    /// (planned partition, its disk).
    partitions: Vec<(String, String)>,
}

impl Stack {
    fn of(plan: &Plan) -> Stack {
        let mut parts = Vec::new();
        let partitions = plan
            .disks
            .iter()
            .flat_map(|d| {
                let t = d.table.iter().flat_map(|t| &t.partitions);
                t.map(|p| (partition_path(&d.device, p.number), d.device.clone()))
            })
            .collect();
        for st in &plan.steps {
            match &st.action {
                Action::MdCreate {
                    device, members, ..
                }
                | Action::MdAssemble {
                    device, members, ..
                } => parts.push((device.clone(), members.clone())),
                Action::LuksFormat { device, name, .. } | Action::LuksOpen { device, name, .. } => {
                    parts.push((format!("/dev/mapper/{name}"), vec![device.clone()]))
                }
                Action::ZpoolCreate { name, devices, .. } => {
                    parts.push((name.clone(), devices.clone()))
                }
                _ => {}
            }
        }
        Stack { parts, partitions }
    }

    /// A partition the plan makes (not there yet) lies on a disk that cannot
    /// be read: that disk (only; its old partitions are other places).
    fn new_on(&self, obs: &Observed, device: &str) -> Option<(String, String)> {
        if partition_of(obs, device).is_some() {
            return None; // it is there: `unknown` looked at it and its disk
        }
        let (_, disk) = self.partitions.iter().find(|(p, _)| p == device)?;
        let d = find_disk(obs, disk)?;
        Some((d.path.clone(), d.unreadable.clone()?))
    }

    /// Every device a step rests on, down to the disks' partitions.
    fn rests_on(&self, a: &Action) -> Vec<String> {
        let mut todo: Vec<String> = match a {
            Action::WipeSignatures { device }
            | Action::WriteGpt { device, .. }
            | Action::WriteFirmware { device, .. }
            | Action::Mkswap { device }
            | Action::BtrfsSubvolume { device, .. }
            | Action::LuksFormat { device, .. }
            | Action::LuksOpen { device, .. }
            | Action::LuksAddKey { device, .. }
            | Action::BtrfsSwapfile { device, .. } => vec![device.clone()],
            Action::MdCreate {
                device, members, ..
            }
            | Action::MdAssemble {
                device, members, ..
            } => std::iter::once(device).chain(members).cloned().collect(),
            Action::Mkfs { devices, .. } | Action::ZpoolCreate { devices, .. } => devices.clone(),
            Action::ZfsCreate { name, .. } => vec![name.clone()],
            Action::Mount { source, .. } => vec![source.clone()],
            Action::MdAdd { device, member, .. } => vec![device.clone(), member.clone()],
            Action::BtrfsReplace { device, new, .. } => vec![device.clone(), new.clone()],
            Action::ZpoolReplace { pool, new, .. } => vec![pool.clone(), new.clone()],
            // A hook runs with its step, which is checked itself.
            // A swap file's step rests on its btrfs, checked with that.
            Action::Unmount { .. }
            | Action::LuksClose { .. }
            | Action::MdStop { .. }
            | Action::Swapon { .. }
            | Action::Swapoff { .. }
            | Action::Hook { .. } => vec![],
        };
        let mut out = Vec::new();
        while let Some(d) = todo.pop() {
            if out.contains(&d) {
                continue;
            }
            // A dataset or zvol rests on its pool.
            let pool = d
                .trim_start_matches("/dev/zvol/")
                .split('/')
                .next()
                .unwrap_or_default()
                .to_string();
            for (dev, under) in &self.parts {
                if *dev == d || *dev == pool {
                    todo.extend(under.iter().cloned());
                }
            }
            out.push(d);
        }
        out
    }
}
