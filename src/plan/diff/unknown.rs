//! Unreadable is not blank: a device whose probe failed (an I/O error, blkid
//! failing, its size unreadable) holds something unknown. Every step that
//! rests on one (writes over it, over a disk it lies on or a partition inside
//! it, or over what is stacked on it) is refused. Steps that would only keep
//! are refused too: nasstrap cannot know they match what is there.

use super::lookup::{owner, unknown};
use super::{Refusal, Why};
use crate::plan::{Action, Change, Plan};
use crate::probe::Observed;
use std::collections::BTreeSet;

/// Refuse every unknown device the plan rests on; steps on them that are not
/// `keep` become `change` with the reason (never `create`: nothing is known
/// to be blank).
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
            for u in unknown(obs, &dev) {
                if !bad.contains(&u) {
                    bad.push(u);
                }
            }
        }
        let Some((first, _)) = bad.first() else {
            continue;
        };
        if st.change != Change::Keep {
            st.change = Change::Change;
            st.reason = Some(format!(
                "{first} cannot be read; nothing is written over it"
            ));
        }
        for (device, error) in bad {
            if seen.insert(device.clone()) {
                let pairs = disks.iter().map(|(n, d)| (n.as_str(), d.as_str()));
                refusals.push(Refusal {
                    disk: owner(obs, pairs, &device)
                        .map(str::to_string)
                        .unwrap_or_else(|| st.subject.clone()),
                    reason: Why::Unreadable { device, error },
                });
            }
        }
    }
}

/// What the plan stacks on what: arrays on members, mappings on containers,
/// pools on vdevs.
struct Stack {
    /// (planned device, the devices it is made of).
    parts: Vec<(String, Vec<String>)>,
}

impl Stack {
    fn of(plan: &Plan) -> Stack {
        let mut parts = Vec::new();
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
        Stack { parts }
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
            | Action::LuksOpen { device, .. } => vec![device.clone()],
            Action::MdCreate { members, .. } | Action::MdAssemble { members, .. } => {
                members.clone()
            }
            Action::Mkfs { devices, .. } | Action::ZpoolCreate { devices, .. } => devices.clone(),
            Action::ZfsCreate { name, .. } => vec![name.clone()],
            Action::Mount { source, .. } => vec![source.clone()],
            Action::Unmount { .. } | Action::LuksClose { .. } | Action::MdStop { .. } => vec![],
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
