//! The plan for people (text) and for programs (JSON, documented in docs/plan-json.md).
//!
//! Names, paths, descriptions and reasons come from the layout, the command
//! line and the disks themselves (labels, mount points); the text renderings
//! print them through [`escape`] so none can drive the terminal. JSON needs
//! nothing: serde escapes control characters.

use super::{Action, Change, KeySource, Plan, Step, partition_path};
use crate::layout::diag::escape;
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
    let _ = writeln!(s, "plan for {}{board}", escape(&plan.layout));
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
            escape(&d.name),
            escape(&d.device),
            human(d.facts.size_bytes),
            d.facts.sector,
            if d.boot_medium { ", boot medium" } else { "" }
        );
        for r in &d.firmware {
            let sec = d.facts.sector as u64;
            let _ = writeln!(
                s,
                "  firmware {:<10} sectors {}..{} ({} max){}",
                escape(&r.name),
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
                    escape(&p.name),
                    p.first_lba,
                    p.last_lba,
                    human(p.bytes(t.sector)),
                    parttype::short_name(&p.type_guid),
                    escape(&partition_path(&d.device, p.number)),
                );
            }
        }
    }
    let _ = writeln!(s, "\nsteps:");
    for st in &plan.steps {
        step(&mut s, st);
    }
    let destroy: Vec<String> = {
        let mut v: Vec<&str> = plan.destructive().map(|st| st.subject.as_str()).collect();
        v.dedup();
        v.into_iter().map(|x| escape(x).into_owned()).collect()
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

/// One step and its reason.
fn step(s: &mut String, st: &super::Step) {
    let _ = writeln!(
        s,
        "  {:>3}  {}  {}",
        st.id,
        mark(st.change),
        escape(&st.description)
    );
    if let Some(r) = &st.reason {
        let _ = writeln!(s, "                  because {}", escape(r));
    }
    // A hook is shown in full: what runs is what was read.
    if let Action::Hook { at, script, .. } = &st.action {
        let _ = writeln!(s, "                  {}:", escape(at));
        for line in script.lines() {
            let _ = writeln!(s, "                  | {}", escape(line));
        }
    }
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
    diff_text_with(plan, &[])
}

/// [`diff_text`], where `degraded` arrays (by name) are shown though they
/// are kept: a degraded array is a difference even when no step runs.
pub fn diff_text_with(plan: &Plan, degraded: &[&str]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "diff of {} against the live disks", escape(&plan.layout));
    let kept = plan
        .steps
        .iter()
        .filter(|st| st.change == Change::Keep)
        .count();
    let shown = |st: &Step| {
        st.change != Change::Keep
            || matches!(&st.action, Action::MdCreate { name, .. } | Action::MdAssemble { name, .. }
                if degraded.contains(&name.as_str()))
    };
    for st in plan.steps.iter().filter(|st| shown(st)) {
        step(&mut s, st);
    }
    if plan.is_noop() && !degraded.is_empty() {
        let _ = writeln!(
            s,
            "no steps to run ({kept} already done), but degraded: {}",
            degraded
                .iter()
                .map(|d| escape(d))
                .collect::<Vec<_>>()
                .join(", ")
        );
    } else if plan.is_noop() {
        let _ = writeln!(
            s,
            "no changes: the disks match the layout ({kept} steps already done)"
        );
    } else {
        let destroy: std::collections::BTreeSet<String> = plan
            .destructive()
            .flat_map(|st| st.disks.iter().map(|d| escape(d).into_owned()))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::diag::is_unsafe;

    /// What a hostile disk label, `--disk` argument or probed name could carry:
    /// a title-setting OSC, a bidi override and a forged next line.
    const EVIL: &str = "x\u{1b}]0;pwned\u{7}\u{9b}2J\u{202e}\nrm -rf /";

    /// A real plan, with every user-controlled string made hostile.
    fn hostile_plan() -> Plan {
        let src = "disk:\n  d1:\n    device: /dev/sda\n    firmware: [{ name: u-boot, offset: 64s, max_size: 4MiB, image: u.img }]\n    content:\n      type: gpt\n      partitions:\n        root: { start: 16MiB, size: 100%, content: { type: filesystem, format: ext4, mountpoint: / } }\n";
        let l = crate::layout::load_str("l.yaml", src, &[]).unwrap();
        let opts = super::super::Options {
            firmware: true,
            ..Default::default()
        };
        let mut p = super::super::build(&l, &opts).unwrap();
        p.layout.push_str(EVIL);
        for d in &mut p.disks {
            d.name.push_str(EVIL);
            d.device.push_str(EVIL);
            for r in &mut d.firmware {
                r.name.push_str(EVIL);
            }
            if let Some(t) = &mut d.table {
                for part in &mut t.partitions {
                    part.name.push_str(EVIL);
                    part.label.push_str(EVIL);
                }
            }
        }
        for (i, st) in p.steps.iter_mut().enumerate() {
            st.description.push_str(EVIL);
            st.subject.push_str(EVIL);
            st.reason = Some(EVIL.into());
            st.disks.iter_mut().for_each(|d| d.push_str(EVIL));
            if i == 0 {
                st.change = Change::Destroy;
            }
            match &mut st.action {
                Action::WriteGpt { disk, device } => {
                    disk.push_str(EVIL);
                    device.push_str(EVIL);
                }
                Action::WriteFirmware {
                    device,
                    region,
                    image,
                    ..
                } => {
                    for s in [device, region, image] {
                        s.push_str(EVIL);
                    }
                }
                Action::WipeSignatures { device } => device.push_str(EVIL),
                _ => {}
            }
        }
        p
    }

    fn raw_unsafe(out: &str) -> Vec<char> {
        out.chars()
            .filter(|c| *c != '\n' && is_unsafe(*c))
            .collect()
    }

    #[test]
    fn text_and_diff_escape_what_they_print() {
        let p = hostile_plan();
        for out in [text(&p), diff_text(&p)] {
            assert_eq!(raw_unsafe(&out), Vec::<char>::new(), "{out}");
            assert!(!out.lines().any(|l| l.starts_with("rm -rf")), "{out}");
            assert!(
                out.contains("x\\e]0;pwned\\x07\\u{9b}2J\\u{202e}\\nrm -rf /"),
                "{out}"
            );
        }
        assert!(json(&p).contains("x\\u001b]0;pwned\\u0007\u{9b}2J\u{202e}\\nrm -rf /"));
    }

    #[test]
    fn the_script_writes_no_unsafe_character_raw() {
        let out = super::super::script::sh(&hostile_plan());
        assert_eq!(raw_unsafe(&out), Vec::<char>::new(), "{out}");
        assert!(!out.lines().any(|l| l.starts_with("rm -rf")), "{out}");
        assert!(out.contains("\nnl='\n'\n"), "{out}");
    }
}
