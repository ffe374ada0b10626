//! `nasstrap replace`: after a disk swap, the steps that put the new disk
//! back into the arrays it belongs to. Pure, from the diffed plan and what
//! the diff found degraded: the new disk's own steps (signatures, table) as
//! the diff judged them, the array started if it waits, then `mdadm --add`.
//! The refusals are the user's answer: which disk, what is wrong, sizes.

use super::diff::{Degraded, Gone, How, Kind};
use super::{Action, Change, Plan, Step};
use crate::layout::size::human;
use crate::probe::Observed;

/// What replacing a disk comes to.
#[derive(Debug, Clone, PartialEq)]
pub enum Repair {
    /// Every array the disk belongs to has it in sync: nothing to do.
    InSync {
        /// The arrays and filesystems, in words (`array tank`, `btrfs tank`);
        /// empty when the disk is a member of none.
        arrays: Vec<String>,
    },
    /// The disk's member is being rebuilt already (array, tenths of a percent).
    Rebuilding { array: String, permille: u32 },
    /// Run these steps.
    Run(Plan),
}

/// Why the disk cannot be put back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// The layout has no disk by that name.
    NoSuchDisk(String),
    /// The disk is not there.
    Absent { disk: String, array: String },
    /// md cannot run the array on what is left: nothing to rebuild from.
    CannotRun(Box<Degraded>),
    /// The new member would be smaller than the members it joins.
    TooSmall {
        disk: String,
        array: String,
        member: String,
        new: u64,
        needed: u64,
    },
    /// The disk's member is marked faulty in the running array and the disk
    /// is still in: it has to be swapped first.
    StillFaulty { disk: String, array: String },
    /// btrfs or ZFS does not say which of its devices the gone one was.
    NoDevid { disk: String, array: String },
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::NoSuchDisk(d) => write!(f, "the layout has no disk `{d}`"),
            Refused::Absent { disk, array } => write!(
                f,
                "{disk} is not there: put the new disk in, or name it with --device \
                 (array {array} waits for it)"
            ),
            Refused::CannotRun(d) => write!(f, "array {}: {d}", d.array),
            Refused::TooSmall {
                disk,
                array,
                member,
                new,
                needed,
            } => write!(
                f,
                "{disk} is too small for array {array}: its member {member} would be {}, the \
                 members it joins are {}",
                human(*new),
                human(*needed)
            ),
            Refused::NoDevid { disk, array } => write!(
                f,
                "{array} does not say which of its devices {disk} was (`btrfs filesystem \
                 show` / `zpool status`)"
            ),
            Refused::StillFaulty { disk, array } => write!(
                f,
                "{disk} is marked faulty in array {array} and still in: swap the disk, then \
                 run replace again"
            ),
        }
    }
}

/// The size of the smallest in-sync member of `d` (what a new member must
/// hold at least: md sizes an array by its smallest member).
fn needed(obs: &Observed, d: &Degraded) -> Option<u64> {
    d.in_sync
        .iter()
        .filter_map(|(_, m)| {
            obs.disks.iter().find_map(|disk| {
                if disk.path == *m {
                    return Some(disk.size_bytes);
                }
                disk.partitions
                    .iter()
                    .find(|p| p.path == *m)
                    .map(|p| p.size_bytes)
            })
        })
        .min()
}

/// What the plan makes of member `g`: its size in bytes.
fn planned_size(plan: &Plan, g: &Gone) -> Option<u64> {
    let d = plan.disks.iter().find(|d| d.name == g.disk)?;
    if d.device == g.device {
        return Some(d.facts.size_bytes);
    }
    let t = d.table.as_ref()?;
    t.partitions
        .iter()
        .find(|p| super::partition_path(&d.device, p.number) == g.device)
        .map(|p| p.bytes(d.facts.sector))
}

/// The step that rebuilds `d` onto its gone member `g` on layout disk `disk`.
fn rebuild_step(d: &Degraded, g: &Gone, disk: &str, description: String, action: Action) -> Step {
    Step {
        id: 0,
        change: Change::Create,
        subject: d.array.clone(),
        description,
        reason: Some(format!("{disk} {}", g.how)),
        disks: vec![disk.to_string()],
        action,
    }
}

/// The steps that put layout disk `disk` back into its arrays. `plan` and
/// `degraded` are the diff of the layout against `obs`.
pub fn replace(
    plan: &Plan,
    obs: &Observed,
    degraded: &[Degraded],
    disk: &str,
) -> Result<Repair, Refused> {
    let targets: Vec<(&Degraded, &Gone)> = degraded
        .iter()
        .filter_map(|d| d.gone_on(disk).map(|g| (d, g)))
        .collect();
    if targets.is_empty() {
        if let Some(d) = degraded
            .iter()
            .find(|d| d.rebuilding.is_some() && d.in_sync.iter().any(|(k, _)| k == disk))
        {
            return Ok(Repair::Rebuilding {
                array: d.array.clone(),
                permille: d.rebuilding.unwrap_or(0),
            });
        }
        if !plan.disks.iter().any(|d| d.name == disk) {
            return Err(Refused::NoSuchDisk(disk.to_string()));
        }
        let arrays = plan
            .steps
            .iter()
            .filter(|s| s.disks.iter().any(|d| d == disk))
            .filter_map(|s| match &s.action {
                Action::MdCreate { name, .. } | Action::MdAssemble { name, .. } => {
                    Some(format!("array {name}"))
                }
                Action::ZpoolCreate { name, .. } => Some(format!("pool {name}")),
                Action::Mkfs {
                    format,
                    devices,
                    extra_args,
                } if format == "btrfs" && devices.len() > 1 => {
                    let label = extra_args
                        .iter()
                        .position(|a| a == "-L" || a == "--label")
                        .and_then(|i| extra_args.get(i + 1));
                    Some(format!("btrfs {}", label.unwrap_or(&s.subject)))
                }
                _ => None,
            })
            .collect();
        return Ok(Repair::InSync { arrays });
    }
    let mut steps: Vec<Step> = Vec::new();
    for (d, g) in &targets {
        match g.how {
            How::Absent => {
                return Err(Refused::Absent {
                    disk: disk.into(),
                    array: d.array.clone(),
                });
            }
            How::Faulty | How::Unreadable(_) => {
                return Err(Refused::StillFaulty {
                    disk: disk.into(),
                    array: d.array.clone(),
                });
            }
            _ => {}
        }
        if !d.can_run() {
            return Err(Refused::CannotRun(Box::new((*d).clone())));
        }
        if let (Some(new), Some(needed)) = (planned_size(plan, g), needed(obs, d))
            && new < needed
        {
            return Err(Refused::TooSmall {
                disk: disk.into(),
                array: d.array.clone(),
                member: g.device.clone(),
                new,
                needed,
            });
        }
    }
    // The new disk's own steps first, as the diff judged them (a disk
    // holding data is a `destroy` there, and needs --allow-destroy).
    steps.extend(
        plan.steps
            .iter()
            .filter(|s| s.disks == [disk])
            .filter(|s| {
                matches!(
                    s.action,
                    Action::WipeSignatures { .. } | Action::WriteGpt { .. }
                )
            })
            .cloned(),
    );
    for (d, g) in &targets {
        if let Kind::Zfs { .. } = d.kind {
            let old = g.known_as.clone().ok_or_else(|| Refused::NoDevid {
                disk: disk.into(),
                array: d.array.clone(),
            })?;
            let description = format!(
                "resilver pool {}'s {old} onto {} ({disk})",
                d.array, g.device
            );
            let action = Action::ZpoolReplace {
                pool: d.array.clone(),
                old,
                new: g.device.clone(),
            };
            steps.push(rebuild_step(d, g, disk, description, action));
            continue;
        }
        if let Kind::Btrfs { .. } = d.kind {
            let devid = g
                .known_as
                .as_deref()
                .and_then(|id| id.parse().ok())
                .ok_or_else(|| Refused::NoDevid {
                    disk: disk.into(),
                    array: d.array.clone(),
                })?;
            let Some((_, through)) = d.in_sync.first() else {
                return Err(Refused::CannotRun(Box::new((*d).clone())));
            };
            let description = format!(
                "rebuild btrfs {} device {devid} onto {} ({disk})",
                d.array, g.device
            );
            let action = Action::BtrfsReplace {
                name: d.array.clone(),
                device: through.clone(),
                devid,
                new: g.device.clone(),
            };
            steps.push(rebuild_step(d, g, disk, description, action));
            continue;
        }
        let Some(at) = plan.steps.iter().position(|s| {
            matches!(&s.action, Action::MdCreate { name, .. } | Action::MdAssemble { name, .. } if *name == d.array)
        }) else {
            continue;
        };
        let array_step = &plan.steps[at];
        let device = match &array_step.action {
            Action::MdCreate { device, .. } | Action::MdAssemble { device, .. } => device.clone(),
            _ => unreachable!("matched above"),
        };
        if !d.running {
            // Started read-write on the members in sync (and the set udev
            // gathered stopped first): md rebuilds only a running array.
            if at > 0 && matches!(plan.steps[at - 1].action, Action::MdStop { .. }) {
                steps.push(plan.steps[at - 1].clone());
            }
            steps.push(array_step.clone());
        }
        let what = match &g.how {
            How::Stale => "back ",
            _ => "",
        };
        let description = format!(
            "add {} ({disk}) {what}to array {}; md rebuilds onto it",
            g.device, d.array
        );
        let action = Action::MdAdd {
            name: d.array.clone(),
            device,
            member: g.device.clone(),
        };
        steps.push(rebuild_step(d, g, disk, description, action));
    }
    for (i, s) in steps.iter_mut().enumerate() {
        s.id = i as u32 + 1;
    }
    Ok(Repair::Run(Plan {
        steps,
        ..plan.clone()
    }))
}

#[cfg(test)]
mod tests;
