//! md rules: an array is reused when the one running under that name has the
//! planned members, assembled when it is stopped but its members carry its
//! superblock, and never written over when it exists but does not run
//! (inactive, size 0): what it holds cannot be seen, so it is not blank.

use super::lookup::{kernel_path, show_sig, signature};
use super::{State, Why, table};
use crate::probe::{MdArray, MdState, Signature};
use std::collections::BTreeSet;

/// What to do about one planned array.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum MdVerdict {
    /// The running array (this device) is the planned one.
    Keep(String),
    /// Nothing of value on the members: create it.
    Create,
    /// It is stopped but whole on its members: assemble it (why).
    Assemble(String),
    /// Creating it erases what is there (why).
    Destroy(String),
    /// The planned array runs degraded (this device): re-creating it would
    /// erase it, and it is not an old array to stop either (why).
    Degraded(String, String),
    /// An array that concerns it exists but does not run (its device, why).
    NotRunning(String, Why),
    /// It exists with members gone and md can run it on the rest: kept as
    /// it is, shown, repaired by `replace`.
    Repair(super::Degraded),
}

/// The observed arrays that concern a planned one: the same name, or any
/// member in common.
fn concerned<'a>(s: &State<'a>, name: &str, members: &[String]) -> Vec<&'a MdArray> {
    let want: BTreeSet<String> = members.iter().map(|m| kernel_path(s.obs, m)).collect();
    s.obs
        .md_arrays
        .iter()
        .filter(|a| {
            a.name.as_deref() == Some(name) || a.members.iter().any(|m| want.contains(&m.device))
        })
        .collect()
}

/// Whether the plan's table writes destroy any member of `a`: then it is an
/// old array to stop (see `teardown`), not one to reuse.
pub(super) fn torn_by_tables(s: &State, a: &MdArray) -> bool {
    a.members
        .iter()
        .any(|m| table::lost(s.disks, s.obs, &m.device))
}

/// How an array is not running, or `None` when it runs.
pub(super) fn not_running(a: &MdArray) -> Option<String> {
    if a.state == MdState::Inactive {
        Some("inactive".into())
    } else if a.size_bytes == 0 {
        Some("size 0".into())
    } else {
        None
    }
}

/// The verdict for planned array `name` over `members`.
pub(super) fn verdict(s: &State, name: &str, members: &[String]) -> MdVerdict {
    if let Some(d) = s.degraded.iter().find(|d| d.array == name && d.can_run()) {
        return MdVerdict::Repair(d.clone());
    }
    let want: BTreeSet<String> = members.iter().map(|m| kernel_path(s.obs, m)).collect();
    let live: Vec<&MdArray> = concerned(s, name, members)
        .into_iter()
        .filter(|a| !torn_by_tables(s, a))
        .collect();
    if let Some((a, state)) = live.iter().find_map(|a| not_running(a).map(|st| (a, st))) {
        return MdVerdict::NotRunning(
            a.path.clone(),
            Why::NotRunning {
                array: a.name.clone(),
                device: a.path.clone(),
                state,
                members: a.members.iter().map(|m| m.device.clone()).collect(),
                planned: members.len(),
            },
        );
    }
    if let Some(a) = live.first() {
        let have: BTreeSet<String> = a.members.iter().map(|m| m.device.clone()).collect();
        // Without a name (mdadm could not say), the members' superblocks tell.
        let named = match &a.name {
            Some(n) => n == name,
            None => members
                .iter()
                .all(|m| signature(s.obs, m).is_some_and(|sig| labelled(sig, name))),
        };
        if have == want && named {
            return MdVerdict::Keep(a.path.clone());
        }
        if named && have.is_subset(&want) && matches!(a.state, MdState::Degraded { .. }) {
            // The same array with members missing: repairing it is not
            // supported yet, and stopping it to start afresh is not asked for.
            return MdVerdict::Degraded(
                a.path.clone(),
                format!(
                    "array {name} runs degraded on {} of the planned {}",
                    join(&have),
                    join(&want)
                ),
            );
        }
        let what = match &a.name {
            Some(n) if n == name => format!("array {name}"),
            Some(n) => format!("array {n} ({})", a.path),
            None => format!("array {}", a.path),
        };
        return MdVerdict::Destroy(if have == want {
            format!("{what} exists on the planned members where array {name} is planned")
        } else {
            format!(
                "{what} exists with members {} where {} are planned",
                join(&have),
                join(&want)
            )
        });
    }
    // Nothing runs: what the members that survive the table writes carry.
    let survivors: Vec<(&String, Option<&Signature>)> = members
        .iter()
        .filter(|m| !s.created.contains(*m) && s.kept(m))
        .map(|m| (m, signature(s.obs, m)))
        .collect();
    let is_member = |sig: &Signature| labelled(sig, name);
    if survivors.len() == members.len() && survivors.iter().all(|(_, s)| s.is_some_and(is_member)) {
        let uuids: BTreeSet<_> = survivors
            .iter()
            .filter_map(|(_, s)| s.map(|s| s.uuid.clone()))
            .collect();
        if uuids.len() == 1 {
            return MdVerdict::Assemble(format!(
                "array {name} exists on its members but is not running"
            ));
        }
    }
    if survivors.iter().all(|(_, s)| s.is_none()) {
        return MdVerdict::Create;
    }
    MdVerdict::Destroy(
        survivors
            .iter()
            .filter_map(|(m, s)| s.map(|s| format!("{m} holds {}", show_sig(s))))
            .collect::<Vec<_>>()
            .join("; "),
    )
}

/// An md member superblock of array `name` (`tank` or `host:tank`).
fn labelled(sig: &Signature, name: &str) -> bool {
    sig.fstype == "linux_raid_member"
        && sig
            .label
            .as_deref()
            .is_some_and(|l| l == name || l.ends_with(&format!(":{name}")))
}

fn join(s: &BTreeSet<String>) -> String {
    s.iter().map(String::as_str).collect::<Vec<_>>().join(" ")
}
