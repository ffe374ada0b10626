//! `nasstrap replace`: after a disk swap, the new disk partitioned as the
//! layout says and added to its arrays, then md's rebuild followed to the end.
//! The steps come from `plan::repair`; consent is the same as apply's (a disk
//! holding data needs `--allow-destroy`).

use super::rescue::degraded;
use super::{Stop, Target, identities, look, refuse};
use crate::exec::guard::{self, Consent, Prompter};
use crate::exec::preflight::{self, Machine};
use crate::exec::secret::Secrets;
use crate::plan::basis::Basis;
use crate::plan::diff::Why;
use crate::plan::repair::{self, Repair};
use crate::plan::{Action, Plan};
use crate::report::{Event, Reporter};
use std::collections::BTreeSet;

/// What `replace` did.
#[derive(Debug, Clone, PartialEq)]
pub enum Replaced {
    /// The disk was in sync in every array it belongs to: nothing ran.
    InSync {
        /// Those arrays.
        arrays: Vec<String>,
    },
    /// Steps ran (this many); with `wait`, the rebuild finished too.
    Ran(u32),
    /// A rebuild onto the disk was running already; with `wait`, it finished.
    WasRebuilding {
        /// The array.
        array: String,
    },
}

/// Put layout disk `disk` back into its arrays. With `wait`, follow md's
/// rebuild until every slot is in sync.
pub fn replace(
    t: &Target,
    disk: &str,
    wait: bool,
    consent: &Consent,
    ui: &dyn Prompter,
    reporter: &dyn Reporter,
) -> Result<Replaced, Stop> {
    let l = look(t)?;
    // The arrays run degraded (that is why we are here), and their members on
    // the other disks are busy with it: neither stops a replace.
    refuse(
        l.refusals
            .iter()
            .filter(|r| !matches!(r.reason, Why::Degraded(_)))
            .filter(|r| !(r.reason.is_busy() && r.disk != disk))
            .cloned()
            .collect(),
    )?;
    let degraded = degraded(&l.refusals);
    let plan = match repair::replace(&l.plan, &l.observed, &degraded, disk)
        .map_err(|r| Stop::Repair(Box::new(r)))?
    {
        Repair::InSync { arrays } => return Ok(Replaced::InSync { arrays }),
        Repair::Rebuilding { array, .. } => {
            if wait {
                let device = format!("/dev/md/{array}");
                crate::exec::rebuild::wait(&array, &device, 0, 0, reporter)?;
            }
            return Ok(Replaced::WasRebuilding { array });
        }
        Repair::Run(p) => p,
    };
    let missing = preflight::check(&plan, &Machine::here(ui.interactive()));
    if !missing.is_empty() {
        return Err(Stop::Preflight(missing));
    }
    let ids = identities(&plan, &l.observed);
    guard::check(&plan, &ids, consent, ui, &mut BTreeSet::new(), false).map_err(Stop::Denied)?;
    reporter.event(&Event::Planned {
        plan: Box::new(plan.clone()),
        basis: Basis::of(&plan, &l.observed).fingerprint(),
    });
    let ran = crate::exec::apply::run(&plan, reporter, &Secrets::none()).map_err(Stop::from)?;
    if wait {
        for (id, name, device) in adds(&plan) {
            crate::exec::rebuild::wait(&name, &device, id, ran, reporter).map_err(Stop::from)?;
        }
    }
    Ok(Replaced::Ran(ran))
}

/// The plan's `mdadm --add` steps: (step id, array name, array device).
fn adds(plan: &Plan) -> Vec<(u32, String, String)> {
    plan.steps
        .iter()
        .filter_map(|s| match &s.action {
            Action::MdAdd { name, device, .. } => Some((s.id, name.clone(), device.clone())),
            _ => None,
        })
        .collect()
}
