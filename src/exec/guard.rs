//! The last check before apply writes: destructive steps only on disks the
//! user named with `--allow-destroy`, or confirmed by typing the disk's name
//! after seeing what is on it.

use crate::plan::{Change, Plan};
use anyhow::{Result, bail};
use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};

/// Destructive steps grouped by the disk they destroy data on.
pub fn destroyed(plan: &Plan) -> BTreeMap<String, Vec<String>> {
    let mut by_disk: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for st in plan.destructive() {
        let line = match &st.reason {
            Some(r) => format!("step {}: {} (because {r})", st.id, st.description),
            None => format!("step {}: {}", st.id, st.description),
        };
        for d in &st.disks {
            by_disk.entry(d.clone()).or_default().push(line.clone());
        }
    }
    by_disk
}

/// Refuse unless every destructive step is allowed; ask on a terminal.
pub fn check(plan: &Plan, allow: &[String], yes: bool) -> Result<()> {
    let by_disk = destroyed(plan);
    let missing: Vec<&String> = by_disk.keys().filter(|d| !allow.contains(d)).collect();
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if !missing.is_empty() {
        let mut msg = String::new();
        for d in &missing {
            msg.push_str(&format!("\n  {d}:"));
            for l in &by_disk[*d] {
                msg.push_str(&format!("\n    {l}"));
            }
        }
        if !interactive {
            bail!(
                "refusing to destroy data on {} without --allow-destroy:{msg}\nnothing was changed; re-run with --allow-destroy {}",
                missing
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                missing
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            );
        }
        eprintln!("these steps destroy data:{msg}");
        for d in missing {
            let disk = plan
                .disks
                .iter()
                .find(|p| &p.name == d)
                .map(|p| format!("{} ({}, {} bytes)", p.device, d, p.facts.size_bytes))
                .unwrap_or_else(|| d.clone());
            eprint!("type `{d}` to destroy what is on {disk}: ");
            std::io::stderr().flush()?;
            let mut answer = String::new();
            std::io::stdin().lock().read_line(&mut answer)?;
            if answer.trim() != d.as_str() {
                bail!("not confirmed; nothing was changed");
            }
        }
    } else if interactive && !yes && plan.steps.iter().any(|s| s.change != Change::Keep) {
        let n = plan
            .steps
            .iter()
            .filter(|s| s.change != Change::Keep)
            .count();
        eprint!("run {n} step{}? [y/N] ", if n == 1 { "" } else { "s" });
        std::io::stderr().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            bail!("not confirmed; nothing was changed");
        }
    }
    Ok(())
}
