//! What a destroy step writes must not be in use (coreos-installer's
//! exclusive-access rule): mounted, swapped on, or held by md/dm that the
//! plan does not take down itself. A whole disk is in use when any of its
//! partitions is (its table cannot be rewritten under them); a partition,
//! an array or a mapping when it is itself.

use super::lookup::{nodes, owner};
use super::{Refusal, Why};
use crate::plan::Plan;
use crate::probe::Observed;
use std::collections::BTreeSet;

/// Refuse every device a destroy step writes that something uses, by layout
/// disk (or array, for what is stacked); `torn` is what the plan's teardown
/// steps take down first.
pub(super) fn check(
    plan: &Plan,
    obs: &Observed,
    torn: &BTreeSet<String>,
    refusals: &mut Vec<Refusal>,
) {
    let disks: Vec<(&str, &str)> = plan
        .disks
        .iter()
        .map(|d| (d.name.as_str(), d.device.as_str()))
        .collect();
    let mut found: Vec<(String, Vec<String>)> = Vec::new();
    for st in plan.destructive() {
        let written = st.action.overwrites();
        for dev in written {
            let uses = users(obs, dev, torn);
            if uses.is_empty() {
                continue;
            }
            let who = owner(obs, disks.iter().copied(), dev)
                .map(str::to_string)
                .unwrap_or_else(|| st.subject.clone());
            let i = match found.iter().position(|(w, _)| *w == who) {
                Some(i) => i,
                None => {
                    found.push((who, Vec::new()));
                    found.len() - 1
                }
            };
            for u in uses {
                if !found[i].1.contains(&u) {
                    found[i].1.push(u);
                }
            }
        }
    }
    // In plan order of the disks, then the rest.
    found.sort_by_key(|(w, _)| disks.iter().position(|(n, _)| n == w).unwrap_or(usize::MAX));
    for (disk, uses) in found {
        refusals.push(Refusal {
            disk,
            reason: Why::Busy { uses },
        });
    }
}

/// What uses `device`, in words: `/dev/sda1 is mounted on /srv`.
fn users(obs: &Observed, device: &str, torn: &BTreeSet<String>) -> Vec<String> {
    let mut out = Vec::new();
    for n in nodes(obs, device).0 {
        for m in n.mountpoints.iter().filter(|m| *m != "[SWAP]") {
            out.push(format!("{} is mounted on {m}", n.path));
        }
        for h in n.holders.iter().filter(|h| !torn.contains(*h)) {
            out.push(format!("{} is held by {h}{}", n.path, holder(obs, h)));
        }
        if obs.swaps.iter().any(|s| s == n.path) || n.mountpoints.iter().any(|m| m == "[SWAP]") {
            out.push(format!("{} is in use as swap", n.path));
        }
    }
    out
}

/// What a holder is and what keeps it in use, when the probe knows:
/// ` (array tank, held by dm-0 (LUKS crypt, mounted on /srv))`.
fn holder(obs: &Observed, kname: &str) -> String {
    let mut what = Vec::new();
    let (mounts, holders, path) = if let Some(a) = obs
        .md_arrays
        .iter()
        .find(|a| a.path.trim_start_matches("/dev/") == kname)
    {
        what.push(match &a.name {
            Some(n) => format!("array {n}"),
            None => "an md array".to_string(),
        });
        (&a.mountpoints, &a.holders, &a.path)
    } else if let Some((name, m)) = obs.luks.iter().find_map(|l| {
        let m = l.open.as_ref()?;
        (m.kname == kname).then_some((l.open_as.as_deref().unwrap_or("?"), m))
    }) {
        what.push(format!("LUKS {name}"));
        (&m.mountpoints, &m.holders, &m.path)
    } else {
        return String::new();
    };
    for m in mounts.iter().filter(|m| *m != "[SWAP]") {
        what.push(format!("mounted on {m}"));
    }
    if obs.swaps.contains(path) || mounts.iter().any(|m| m == "[SWAP]") {
        what.push("in use as swap".into());
    }
    for h in holders {
        what.push(format!("held by {h}{}", holder(obs, h)));
    }
    format!(" ({})", what.join(", "))
}
