//! The plan for people (text) and for programs (JSON, documented in docs/plan-json.md).

use super::{Action, Change, KeySource, Plan, partition_path};
use crate::layout::parttype;
use crate::layout::size::human;
use std::fmt::Write;

/// The plan as JSON (pretty, stable field order).
pub fn json(plan: &Plan) -> String {
    serde_json::to_string_pretty(plan).expect("a plan always serializes") + "\n"
}

fn mark(c: Change) -> &'static str {
    match c {
        Change::Keep => "keep   ",
        Change::Create => "create ",
        Change::Change => "change ",
        Change::Destroy => "DESTROY",
    }
}

/// The plan for people: the disks with their geometry, then the numbered steps.
pub fn text(plan: &Plan) -> String {
    let mut s = String::new();
    let board = plan
        .board
        .map(|b| {
            format!(
                " (board {})",
                serde_json::to_value(b)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            )
        })
        .unwrap_or_default();
    let _ = writeln!(s, "plan for {}{board}", plan.layout);
    for d in &plan.disks {
        let src = match d.facts.source {
            super::SizeSource::Expect => "expect.size",
            super::SizeSource::Flag => "--disk-size",
            super::SizeSource::Probe => "probed",
            super::SizeSource::Assumed => "assumed; pass --disk-size to plan the real size",
        };
        let _ = writeln!(
            s,
            "\ndisk {}  {}  {} ({src}), {}-byte sectors{}",
            d.name,
            d.device,
            human(d.facts.size_bytes),
            d.facts.sector,
            if d.boot_medium { ", boot medium" } else { "" }
        );
        for r in &d.firmware {
            let sec = d.facts.sector as u64;
            let _ = writeln!(
                s,
                "  firmware {:<10} sectors {}..{} ({} max){}",
                r.name,
                r.offset / sec,
                (r.offset + r.max_size).div_ceil(sec) - 1,
                human(r.max_size),
                if r.image.is_some() {
                    "  image given, written only with --firmware"
                } else {
                    "  left as it is"
                }
            );
        }
        if let Some(t) = &d.table {
            for p in &t.partitions {
                let flags = if p.attributes & 4 != 0 {
                    "  bootable"
                } else {
                    ""
                };
                let _ = writeln!(
                    s,
                    "  {:<3} {:<12} sectors {:>11}..{:<11} {:>9}  {} {}{flags}",
                    format!("p{}", p.number),
                    p.name,
                    p.first_lba,
                    p.last_lba,
                    human(p.bytes(t.sector)),
                    parttype::short_name(&p.type_guid),
                    partition_path(&d.device, p.number),
                );
            }
        }
    }
    let _ = writeln!(s, "\nsteps:");
    for st in &plan.steps {
        let _ = writeln!(s, "  {:>3}  {}  {}", st.id, mark(st.change), st.description);
        if let Some(r) = &st.reason {
            let _ = writeln!(s, "                  because {r}");
        }
    }
    let destroy: Vec<&str> = {
        let mut v: Vec<&str> = plan.destructive().map(|st| st.subject.as_str()).collect();
        v.dedup();
        v
    };
    let _ = writeln!(s);
    if plan.is_noop() {
        let _ = writeln!(s, "no changes");
    } else if destroy.is_empty() {
        let _ = writeln!(s, "{} steps, none destructive", plan.steps.len());
    } else {
        let _ = writeln!(
            s,
            "{} steps; {} destroy what is on: {}",
            plan.steps.len(),
            plan.destructive().count(),
            destroy.join(", ")
        );
    }
    s
}

/// A one-line summary of an action's key source, for descriptions.
pub fn key_note(k: &KeySource) -> String {
    match k {
        KeySource::PasswordFile(p) => format!("passphrase from {p}"),
        KeySource::KeyFile(p) => format!("key file {p}"),
        KeySource::Ask => "passphrase asked".into(),
    }
}

/// True for actions that only mount (used by `mount`-only runs).
pub fn is_mount(a: &Action) -> bool {
    matches!(a, Action::Mount { .. })
}

/// The diff for people: only what would change, each with its reason.
pub fn diff_text(plan: &Plan) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "diff of {} against the live disks", plan.layout);
    let kept = plan
        .steps
        .iter()
        .filter(|st| st.change == Change::Keep)
        .count();
    for st in plan.steps.iter().filter(|st| st.change != Change::Keep) {
        let _ = writeln!(s, "  {:>3}  {}  {}", st.id, mark(st.change), st.description);
        if let Some(r) = &st.reason {
            let _ = writeln!(s, "                  because {r}");
        }
    }
    if plan.is_noop() {
        let _ = writeln!(
            s,
            "no changes: the disks match the layout ({kept} steps already done)"
        );
    } else {
        let destroy: std::collections::BTreeSet<&str> = plan
            .destructive()
            .flat_map(|st| st.disks.iter().map(String::as_str))
            .collect();
        let changes = plan.steps.len() - kept;
        let _ = write!(
            s,
            "{changes} step{} to run, {kept} already done",
            if changes == 1 { "" } else { "s" }
        );
        if destroy.is_empty() {
            let _ = writeln!(s, "; nothing is destroyed");
        } else {
            let _ = writeln!(
                s,
                "; destroys data on: {}",
                destroy.into_iter().collect::<Vec<_>>().join(", ")
            );
        }
    }
    s
}
