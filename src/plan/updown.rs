//! Bringing an installed layout up and down (`nasstrap mount` / `unmount`),
//! from a plan already diffed against the live disks.

use super::{Action, Change, Plan};
use crate::probe::Observed;

/// The steps that bring the layout up for use (`nasstrap mount`): assemble
/// arrays, open LUKS, mount — refused when anything else is missing, because
/// then the disks do not hold this layout yet (the error lists what apply
/// would run). `read_only` assembles arrays and opens LUKS read-only and
/// mounts with `ro`. The layout's mount hooks do not run here: hooks run
/// only with `apply --allow-hooks` (they are kept, and say so).
pub fn bring_up(plan: &Plan, read_only: bool) -> Result<Plan, Vec<String>> {
    let missing: Vec<String> = plan
        .steps
        .iter()
        .filter(|s| {
            s.change != Change::Keep
                && !matches!(
                    s.action,
                    Action::MdAssemble { .. }
                        | Action::LuksOpen { .. }
                        | Action::Mount { .. }
                        | Action::Swapon { .. }
                        | Action::Hook { .. }
                )
        })
        .map(|s| format!("step {}: {}", s.id, s.description))
        .collect();
    if !missing.is_empty() {
        return Err(missing);
    }
    let mut p = plan.clone();
    for st in &mut p.steps {
        if matches!(st.action, Action::Hook { .. }) && st.change != Change::Keep {
            st.change = Change::Keep;
            st.reason = Some("`nasstrap mount` runs no hooks; `apply --allow-hooks` does".into());
        }
    }
    if read_only {
        for st in &mut p.steps {
            make_read_only(&mut st.action);
            // Swapping writes to the file: not on a read-only look.
            if matches!(st.action, Action::Swapon { .. }) && st.change != Change::Keep {
                st.change = Change::Keep;
                st.reason = Some("read-only: nothing swaps on these disks".into());
            }
        }
    }
    Ok(p)
}

/// Turn an action that brings something up into its read-only form: arrays
/// assembled read-only (nothing resyncs), LUKS opened read-only, mounts `ro`.
pub fn make_read_only(a: &mut Action) {
    match a {
        Action::Mount { options, .. } if !options.iter().any(|o| o == "ro") => {
            options.push("ro".into())
        }
        Action::LuksOpen { extra_args, .. } if !extra_args.iter().any(|x| x == "--readonly") => {
            extra_args.push("--readonly".into())
        }
        Action::MdAssemble { read_only, .. } => *read_only = true,
        _ => {}
    }
}

/// The steps that take the layout down (`nasstrap unmount`): stop swapping
/// on swap files, unmount deepest first, close LUKS, stop arrays — only what
/// is up.
pub fn take_down(plan: &Plan, obs: &Observed) -> Plan {
    let mut steps = Vec::new();
    let mut push = |action: Action, description: String, subject: &str| {
        steps.push(super::Step {
            id: 0,
            change: Change::Change,
            subject: subject.to_string(),
            description,
            reason: None,
            disks: Vec::new(),
            action,
        });
    };
    for st in plan.steps.iter().rev() {
        match &st.action {
            // Before what holds the file is unmounted (steps run in reverse).
            Action::Swapon { file, .. } if obs.swaps.iter().any(|s| s == file) => push(
                Action::Swapoff { file: file.clone() },
                format!("stop swapping on {file}"),
                &st.subject,
            ),
            Action::Mount { target, .. } if obs.mounts.iter().any(|m| &m.target == target) => push(
                Action::Unmount {
                    target: target.clone(),
                },
                format!("unmount {target}"),
                &st.subject,
            ),
            Action::LuksOpen { name, .. }
                if obs
                    .luks
                    .iter()
                    .any(|l| l.open_as.as_deref() == Some(name.as_str())) =>
            {
                push(
                    Action::LuksClose { name: name.clone() },
                    format!("close LUKS {name}"),
                    name,
                )
            }
            Action::MdCreate { name, device, .. } | Action::MdAssemble { name, device, .. }
                if obs
                    .md_arrays
                    .iter()
                    .any(|a| a.name.as_deref() == Some(name.as_str())) =>
            {
                push(
                    Action::MdStop {
                        device: device.clone(),
                    },
                    format!("stop array {name}"),
                    name,
                )
            }
            _ => {}
        }
    }
    for (i, s) in steps.iter_mut().enumerate() {
        s.id = i as u32 + 1;
    }
    Plan {
        steps,
        ..plan.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `nasstrap mount` has no `--allow-hooks`: the mount runs, its hook is
    /// kept and says why.
    #[test]
    fn bringing_up_runs_no_hook() {
        let src = "disk:\n  d1:\n    device: /dev/sda\n    content: { type: filesystem, format: ext4, mountpoint: /, postMountHook: touch /x }\n";
        let l = crate::layout::load_str("x.yaml", src, &[]).unwrap();
        let mut p = crate::plan::build(&l, &crate::plan::Options::default()).unwrap();
        for st in &mut p.steps {
            if !matches!(st.action, Action::Mount { .. } | Action::Hook { .. }) {
                st.change = Change::Keep;
            }
        }
        let up = bring_up(&p, false).unwrap();
        let changes: Vec<(&str, Change)> = up
            .steps
            .iter()
            .map(|s| (s.description.as_str(), s.change))
            .collect();
        assert_eq!(
            changes,
            [
                ("wipe the signatures on disk d1 (/dev/sda)", Change::Keep),
                ("make ext4 on /dev/sda", Change::Keep),
                ("mount /dev/sda on /mnt", Change::Create),
                (
                    "run postMountHook of ext4 on /dev/sda, mounting /mnt",
                    Change::Keep
                ),
            ]
        );
        assert_eq!(
            up.steps[3].reason.as_deref(),
            Some("`nasstrap mount` runs no hooks; `apply --allow-hooks` does")
        );
    }
}
