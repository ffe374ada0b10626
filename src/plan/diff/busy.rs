//! A disk whose data is destroyed must not be in use (coreos-installer's
//! exclusive-access rule): mounted, swapped on, or held by md/dm that the
//! plan does not take down itself.

use super::lookup::find_disk;
use super::{Refusal, Why};
use crate::plan::Plan;
use crate::probe::Observed;
use std::collections::BTreeSet;

/// Refuse every layout disk with a destroy step that something uses;
/// `torn` is what the plan's teardown steps take down.
pub(super) fn check(
    plan: &Plan,
    obs: &Observed,
    torn: &BTreeSet<String>,
    refusals: &mut Vec<Refusal>,
) {
    for dp in &plan.disks {
        if !plan.destructive().any(|st| st.disks.contains(&dp.name)) {
            continue;
        }
        let Some(d) = find_disk(obs, &dp.device) else {
            continue;
        };
        let mut uses = Vec::new();
        let parts = d
            .partitions
            .iter()
            .map(|p| (&p.path, &p.mountpoints, &p.holders));
        for (path, mps, holders) in
            std::iter::once((&d.path, &d.mountpoints, &d.holders)).chain(parts)
        {
            for m in mps.iter().filter(|m| *m != "[SWAP]") {
                uses.push(format!("{path} is mounted on {m}"));
            }
            for h in holders.iter().filter(|h| !torn.contains(*h)) {
                uses.push(format!("{path} is held by {h}{}", holder(obs, h)));
            }
            if obs.swaps.iter().any(|s| s == path) || mps.iter().any(|m| m == "[SWAP]") {
                uses.push(format!("{path} is in use as swap"));
            }
        }
        if !uses.is_empty() {
            refusals.push(Refusal {
                disk: dp.name.clone(),
                reason: Why::Busy { uses },
            });
        }
    }
}

/// What a holder is and what keeps it in use, when the probe knows:
/// ` (array tank, mounted on /srv)`.
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
        what.push(format!("held by {h}"));
    }
    format!(" ({})", what.join(", "))
}
