//! `nasstrap rescue`: on the box, booted from the rescue medium, the data
//! safe and visible first. Every array of the layout assembled — degraded
//! when members are gone and md can run it without them — LUKS opened,
//! everything mounted read-only (arrays assembled read-only too, so nothing
//! resyncs) unless asked for read-write; then the diff, as the CLI prints it.

use super::{Look, Stop, Target, look, look_inside, passphrases, undo};
use crate::exec::guard::Prompter;
use crate::plan::diff::{Degraded, Refusal, Why};
use crate::plan::{self, Plan};
use crate::report::Reporter;
use std::collections::BTreeSet;

/// What `rescue` brought up.
#[derive(Debug, Clone)]
pub struct Rescued {
    /// The layout against the disks once everything is up: the diff to show.
    pub look: Look,
    /// Its arrays that run with members gone.
    pub degraded: Vec<Degraded>,
}

/// The degraded arrays among `refusals`.
pub fn degraded(refusals: &[Refusal]) -> Vec<Degraded> {
    refusals
        .iter()
        .filter_map(|r| match &r.reason {
            Why::Degraded(d) => Some(d.clone()),
            _ => None,
        })
        .collect()
}

/// What stops rescue: everything but a busy disk (mounted is what rescue is
/// for) and a degraded array md can run (starting it is).
fn stopping(refusals: &[Refusal]) -> Vec<Refusal> {
    refusals
        .iter()
        .filter(|r| !r.reason.is_busy() && !r.reason.is_runnable_degraded())
        .cloned()
        .collect()
}

/// The plan without the steps that only concern disks gone from degraded
/// arrays (a blank replacement's table is `replace`'s business, not rescue's).
fn without_gone(plan: &Plan, degraded: &[Degraded]) -> Plan {
    let gone: BTreeSet<&str> = degraded
        .iter()
        .flat_map(|d| d.gone.iter().map(|g| g.disk.as_str()))
        .collect();
    let mut p = plan.clone();
    p.steps
        .retain(|s| s.disks.is_empty() || !s.disks.iter().all(|d| gone.contains(d.as_str())));
    p
}

/// Bring the layout up below `t.mount_root` for a person to look at: read-only
/// unless `read_write`. Creates nothing; what cannot be brought up is taken
/// down again and the reason returned.
pub fn rescue(
    t: &Target,
    read_write: bool,
    ui: &dyn Prompter,
    reporter: &dyn Reporter,
) -> Result<Rescued, Stop> {
    let l = look(t)?;
    let stop = stopping(&l.refusals);
    if !stop.is_empty() {
        return Err(Stop::Refused(stop));
    }
    let secrets = passphrases(&l.plan, ui, false)?;
    let read_only = !read_write;
    let (l, brought_up) = look_inside(t, l, read_only, &secrets, |_| Ok(()))?;
    let view = without_gone(&l.plan, &degraded(&l.refusals));
    let up = match plan::updown::bring_up(&view, read_only) {
        Ok(p) => p,
        Err(missing) => {
            undo(&brought_up);
            return Err(Stop::NotInstalled(missing));
        }
    };
    crate::exec::apply::run(&up, reporter, &secrets)?;
    let after = look(t)?;
    Ok(Rescued {
        degraded: degraded(&after.refusals),
        look: after,
    })
}
