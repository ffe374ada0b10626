//! What a plan was computed from: the facts of the observed state its
//! correctness rests on, so that the target, re-probing just before it
//! applies a plan diffed elsewhere (on the laptop, minutes earlier), can
//! refuse when any of them changed, and say which.
//!
//! Only facts about the plan's disks and what is on and above them go in (an
//! unrelated USB stick must not stop an apply), plus whatever already holds a
//! name the plan will claim (an array, a mapping, a pool, a mount point).
//! Nothing that drifts on an idle system goes in: no resync progress, no
//! clean/active flips, no used bytes, mount options in a fixed order, so
//! re-probing an unchanged system gives the same fingerprint.

mod facts;
mod show;
#[cfg(test)]
mod tests;

use super::Plan;
use crate::probe::Observed;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt;

/// The facts of the observed state that a plan depends on, one line per fact, keyed so
/// two bases can be compared fact by fact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Basis {
    /// Fact by key: `/dev/sda`, `/dev/sda table`, `/dev/sda1 content`,
    /// `md tank`, `luks /dev/md127`, `mount /mnt/srv`…; text from the disks
    /// is escaped in both.
    pub facts: BTreeMap<String, String>,
}

/// One fact that differs between two bases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// The fact's key.
    pub key: String,
    /// Its value in the earlier basis (`None`: it was not there).
    pub before: Option<String>,
    /// Its value now (`None`: it is gone).
    pub after: Option<String>,
}

impl Basis {
    /// The facts about every device the plan's disks lead to, and what is on and above them.
    pub fn of(plan: &Plan, observed: &Observed) -> Basis {
        Basis {
            facts: facts::collect(plan, observed),
        }
    }

    /// A short stable hash (sha256 hex of the canonical JSON: the map's keys
    /// are sorted, so equal bases hash equal).
    pub fn fingerprint(&self) -> String {
        let json = serde_json::to_string(self).expect("a map of strings always serializes");
        Sha256::digest(json.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// What differs from `earlier`, in key order.
    pub fn changes(&self, earlier: &Basis) -> Vec<Difference> {
        let mut keys: Vec<&String> = self.facts.keys().chain(earlier.facts.keys()).collect();
        keys.sort();
        keys.dedup();
        keys.into_iter()
            .filter_map(|k| {
                let before = earlier.facts.get(k);
                let after = self.facts.get(k);
                (before != after).then(|| Difference {
                    key: k.clone(),
                    before: before.cloned(),
                    after: after.cloned(),
                })
            })
            .collect()
    }
}

impl Difference {
    /// The key as a person reads it: the device or name in backticks
    /// (`` `/dev/sda` table ``, ``md `tank` ``).
    pub fn subject(&self) -> String {
        let (head, rest) = self.key.split_once(' ').unwrap_or((&self.key, ""));
        match (head.starts_with('/'), rest.is_empty()) {
            (true, true) => format!("`{head}`"),
            (true, false) => format!("`{head}` {rest}"),
            (false, true) => head.to_string(),
            (false, false) => format!("{head} `{rest}`"),
        }
    }
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let subject = self.subject();
        match (&self.before, &self.after) {
            (None, Some(a)) => write!(f, "{subject} appeared: {a}"),
            (Some(b), None) => write!(f, "{subject} is gone (was {b})"),
            (Some(b), Some(a)) => write!(f, "{subject}: {b} → {a}"),
            (None, None) => write!(f, "{subject}: unchanged"),
        }
    }
}
