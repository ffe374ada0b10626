//! Bringing up what already exists — assembling an array that is there,
//! opening a LUKS container that is there — so the diff can see inside, and
//! taking it down again when the flow stops. Only ever after consent.

use crate::plan::{Action, Change, Plan, Step};

/// The steps that make existing things visible without writing data:
/// assemble arrays the diff found on their members, open LUKS containers
/// that are kept. `read_only` assembles arrays read-only (nothing resyncs)
/// and opens LUKS read-only.
pub fn activation(plan: &Plan, read_only: bool) -> Plan {
    let formatted: Vec<&String> = plan
        .steps
        .iter()
        .filter_map(|s| match &s.action {
            Action::LuksFormat { name, .. } if s.change == Change::Keep => Some(name),
            _ => None,
        })
        .collect();
    let assembled = |i: usize| {
        plan.steps.get(i).is_some_and(|s| {
            matches!(s.action, Action::MdAssemble { .. }) && s.change != Change::Keep
        })
    };
    let steps = plan
        .steps
        .iter()
        .enumerate()
        .filter(|(i, s)| match &s.action {
            Action::MdAssemble { .. } => s.change != Change::Keep,
            Action::LuksOpen { name, .. } => s.change != Change::Keep && formatted.contains(&name),
            // The set udev gathered without starting it, stopped so that its
            // members can be assembled (degraded) right after.
            Action::MdStop { .. } => {
                s.change == Change::Change
                    && assembled(i + 1)
                    && plan.steps[i + 1].subject == s.subject
            }
            _ => false,
        })
        .map(|(_, s)| s)
        .cloned()
        .map(|mut s| {
            if read_only {
                crate::plan::updown::make_read_only(&mut s.action);
            }
            s
        })
        .collect();
    Plan {
        steps,
        ..plan.clone()
    }
}

/// The steps that undo `brought_up` (activation plans, in the order they
/// ran): close what was opened and stop what was assembled, last first.
pub fn teardown(brought_up: &[Plan]) -> Plan {
    let mut steps: Vec<Step> = Vec::new();
    for p in brought_up.iter().rev() {
        for s in p.steps.iter().rev() {
            let (action, description) = match &s.action {
                Action::MdAssemble { device, name, .. } => (
                    Action::MdStop {
                        device: device.clone(),
                    },
                    format!("stop array {name} again"),
                ),
                Action::LuksOpen { name, .. } => (
                    Action::LuksClose { name: name.clone() },
                    format!("close LUKS {name} again"),
                ),
                _ => continue,
            };
            steps.push(Step {
                id: steps.len() as u32 + 1,
                change: Change::Change,
                subject: s.subject.clone(),
                description,
                reason: None,
                // Empty: one after another, in this order.
                disks: Vec::new(),
                action,
            });
        }
    }
    Plan {
        steps,
        ..brought_up.first().cloned().unwrap_or_else(empty)
    }
}

fn empty() -> Plan {
    Plan {
        version: crate::plan::JSON_VERSION,
        layout: String::new(),
        board: None,
        mount_root: String::new(),
        disks: Vec::new(),
        steps: Vec::new(),
    }
}

/// Take down what the flow brought up (best effort: the flow is already
/// failing with a better error than any of these).
pub fn undo(brought_up: &[Plan]) {
    let down = teardown(brought_up);
    if !down.steps.is_empty() {
        let _ = crate::exec::apply::apply(&down, &crate::report::Silent);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(id: u32, change: Change, action: Action) -> Step {
        Step {
            id,
            change,
            subject: "tank".into(),
            description: String::new(),
            reason: None,
            disks: vec!["bay1".into()],
            action,
        }
    }

    fn plan(steps: Vec<Step>) -> Plan {
        Plan { steps, ..empty() }
    }

    fn assemble() -> Action {
        Action::MdAssemble {
            name: "tank".into(),
            device: "/dev/md/tank".into(),
            members: vec!["/dev/sda1".into(), "/dev/sdb1".into()],
            read_only: false,
        }
    }

    fn open() -> Action {
        Action::LuksOpen {
            device: "/dev/md/tank".into(),
            name: "crypted".into(),
            key: crate::plan::KeySource::KeyFile("/k".into()),
            key_slice: Default::default(),
            allow_discards: false,
            extra_args: vec![],
        }
    }

    fn format() -> Action {
        Action::LuksFormat {
            device: "/dev/md/tank".into(),
            name: "crypted".into(),
            key: crate::plan::KeySource::KeyFile("/k".into()),
            key_slice: Default::default(),
            extra_args: vec![],
        }
    }

    #[test]
    fn only_existing_things_are_brought_up_read_only_when_asked() {
        let p = plan(vec![
            step(1, Change::Change, assemble()),
            step(2, Change::Keep, format()),
            step(3, Change::Create, open()),
        ]);
        let a = activation(&p, true);
        assert_eq!(a.steps.len(), 2);
        assert!(matches!(
            a.steps[0].action,
            Action::MdAssemble {
                read_only: true,
                ..
            }
        ));
        assert!(
            matches!(&a.steps[1].action, Action::LuksOpen { extra_args, .. } if extra_args == &["--readonly"])
        );
        // A container that is about to be made is not opened to look.
        let fresh = plan(vec![
            step(1, Change::Create, format()),
            step(2, Change::Create, open()),
        ]);
        assert!(activation(&fresh, false).steps.is_empty());
    }

    #[test]
    fn teardown_reverses_what_was_brought_up() {
        let p = plan(vec![
            step(1, Change::Change, assemble()),
            step(2, Change::Create, open()),
        ]);
        let down = teardown(&[p]);
        let what: Vec<(u32, &str)> = down
            .steps
            .iter()
            .map(|s| (s.id, s.description.as_str()))
            .collect();
        assert_eq!(
            what,
            [
                (1, "close LUKS crypted again"),
                (2, "stop array tank again")
            ]
        );
        assert!(
            matches!(&down.steps[1].action, Action::MdStop { device } if device == "/dev/md/tank")
        );
    }
}
