//! Old stacks on disks the plan destroys. A rescue system with udev assembles
//! the arrays it finds on the old disks (`md127`), and someone may have opened
//! an old LUKS container: the disks are then busy, and writing them fails. So,
//! before any write to such a disk: close the open LUKS mappings nothing holds,
//! stop the arrays nothing holds, and wipe the signatures inside the old
//! partitions (md superblocks, LUKS headers, filesystems): a new partition at
//! the same place would bring them back, and udev's incremental assembly
//! grabs an old member the moment its partition reappears. All of it is
//! `destroy`, gated like the rest by `--allow-destroy` on those disks. What
//! something else still holds (mounted, swap, LVM, another dm) stays busy.

use super::State;
use super::lookup::{owner, show_sig};
use crate::plan::{Action, Change, Plan, Step};
use crate::probe::{Luks, MdArray, MdState, Observed};
use std::collections::BTreeSet;

/// Insert the teardown steps at the head of `plan`; return the kernel names
/// (`md127`, `dm-0`) of what they take down, which then no longer make a
/// disk busy.
pub(super) fn insert(plan: &mut Plan, s: &State) -> BTreeSet<String> {
    let obs = s.obs;
    let disks: Vec<(&str, &str)> = plan
        .disks
        .iter()
        .map(|d| (d.name.as_str(), d.device.as_str()))
        .collect();
    let destroyed: BTreeSet<&str> = plan
        .destructive()
        .flat_map(|st| st.disks.iter().map(String::as_str))
        .collect();
    // Layout disks in plan order, so steps name them as the plan does.
    let on = |devices: &mut dyn Iterator<Item = &str>| -> Vec<String> {
        let found: BTreeSet<&str> = devices
            .filter_map(|d| owner(obs, disks.iter().copied(), d))
            .collect();
        disks
            .iter()
            .filter(|(n, _)| found.contains(n))
            .map(|(n, _)| n.to_string())
            .collect()
    };
    let mut steps = Vec::new();
    let mut torn = BTreeSet::new();
    let mut closed: BTreeSet<&str> = BTreeSet::new();
    for a in &obs.md_arrays {
        if s.claimed_md.contains(&a.path) {
            continue;
        }
        let layout_disks = on(&mut a.members.iter().map(|m| m.device.as_str()));
        if !layout_disks.iter().any(|d| destroyed.contains(d.as_str())) {
            continue;
        }
        if !a.mountpoints.is_empty() || obs.swaps.contains(&a.path) {
            continue; // busy: the busy rule says so
        }
        let mut closes = Vec::new();
        let mut stuck = false;
        for h in &a.holders {
            match mapping_of(obs, h) {
                Some((l, name)) if free(obs, l) && !s.claimed_luks.contains(name) => {
                    closes.push((l, name))
                }
                _ => stuck = true,
            }
        }
        if stuck {
            continue;
        }
        for (l, name) in closes {
            steps.push(close(l, name, &layout_disks));
            closed.insert(name);
            torn.insert(l.open.as_ref().map(|m| m.kname.clone()).unwrap_or_default());
        }
        steps.push(stop(a, &layout_disks));
        torn.insert(a.path.trim_start_matches("/dev/").to_string());
    }
    for l in &obs.luks {
        let Some(name) = l.open_as.as_deref() else {
            continue;
        };
        if closed.contains(name) || s.claimed_luks.contains(name) || !free(obs, l) {
            continue;
        }
        let layout_disks = on(&mut std::iter::once(l.device.as_str()));
        if layout_disks.iter().any(|d| destroyed.contains(d.as_str())) {
            steps.push(close(l, name, &layout_disks));
            torn.insert(l.open.as_ref().map(|m| m.kname.clone()).unwrap_or_default());
        }
    }
    for v in s.disks.iter().filter(|v| v.table == Change::Destroy) {
        let Some(d) = obs.disks.iter().find(|d| d.path == v.kernel) else {
            continue;
        };
        for p in &d.partitions {
            let Some(sig) = &p.signature else { continue };
            if v.kept.contains(&p.number) || p.unreadable.is_some() {
                continue;
            }
            steps.push(Step {
                id: 0,
                change: Change::Destroy,
                subject: v.name.clone(),
                description: format!("wipe old signatures on {}", p.path),
                reason: Some(format!(
                    "it holds {}, which a new partition at that place would bring back",
                    show_sig(sig)
                )),
                disks: vec![v.name.clone()],
                action: Action::WipeSignatures {
                    device: p.path.clone(),
                },
            });
        }
    }
    plan.steps.splice(0..0, steps);
    torn
}

/// The LUKS container whose open mapping is the kernel device `kname`.
fn mapping_of<'a>(obs: &'a Observed, kname: &str) -> Option<(&'a Luks, &'a str)> {
    obs.luks.iter().find_map(|l| {
        let open = l.open.as_ref()?;
        (open.kname == kname).then_some((l, l.open_as.as_deref()?))
    })
}

/// An open mapping nothing uses: not mounted, not swap, nothing stacked on it.
fn free(obs: &Observed, l: &Luks) -> bool {
    l.open.as_ref().is_some_and(|m| {
        m.mountpoints.is_empty() && m.holders.is_empty() && !obs.swaps.contains(&m.path)
    })
}

fn close(l: &Luks, name: &str, disks: &[String]) -> Step {
    let held = l
        .open
        .as_ref()
        .and_then(|m| m.signature.as_ref())
        .map(|s| format!("it holds {}; ", show_sig(s)))
        .unwrap_or_default();
    Step {
        id: 0,
        change: Change::Destroy,
        subject: name.to_string(),
        description: format!(
            "close LUKS {name} on {} (opened from the old disks)",
            l.device
        ),
        reason: Some(format!(
            "{held}it is open on {}, which this plan destroys",
            disks.join(", ")
        )),
        disks: disks.to_vec(),
        action: Action::LuksClose {
            name: name.to_string(),
        },
    }
}

fn stop(a: &MdArray, disks: &[String]) -> Step {
    let kname = a.path.trim_start_matches("/dev/");
    let mut what = Vec::new();
    if let Some(n) = &a.name {
        what.push(n.clone());
    }
    let members: Vec<&str> = a.members.iter().map(|m| m.device.as_str()).collect();
    let kind = if a.state == MdState::Inactive {
        "inactive"
    } else {
        a.level.as_str()
    };
    what.push(format!("{kind} on {}", members.join(" ")));
    what.push("assembled from the old disks".into());
    let held = a
        .signature
        .as_ref()
        .map(|s| format!("it holds {}; ", show_sig(s)))
        .unwrap_or_default();
    Step {
        id: 0,
        change: Change::Destroy,
        subject: a.name.clone().unwrap_or_else(|| kname.to_string()),
        description: format!("stop array {kname} ({})", what.join(", ")),
        reason: Some(format!(
            "{held}its members are on {}, which this plan destroys",
            disks.join(", ")
        )),
        disks: disks.to_vec(),
        action: Action::MdStop {
            device: a.path.clone(),
        },
    }
}
