//! The last check before apply changes anything: destructive steps only on
//! disks the user named with `--allow-destroy`, or confirmed by typing the
//! disk's name after seeing what is on it (model, serial, size). The guard
//! decides; a `Prompter` asks (a terminal today, the laptop over SSH later).

use crate::exec::secret::Secret;
use crate::plan::{Action, Change, Plan};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Asks the person running nasstrap. Implementations decide how (a terminal,
/// a remote UI); the library never reads a terminal itself.
pub trait Prompter {
    /// Whether anyone can answer (a terminal on stdin and stderr).
    fn interactive(&self) -> bool;
    /// Show `text` (a block of lines) to the person.
    fn show(&self, text: &str);
    /// Ask for one line; `None` when nobody answers (end of input).
    fn ask(&self, prompt: &str) -> Option<String>;
    /// Ask for a secret without echo; `None` when nobody answers.
    fn ask_secret(&self, prompt: &str) -> Option<Secret>;
}

/// Nobody to ask (scripts, `--events json` without a terminal, tests).
pub struct NoPrompter;

impl Prompter for NoPrompter {
    fn interactive(&self) -> bool {
        false
    }
    fn show(&self, _: &str) {}
    fn ask(&self, _: &str) -> Option<String> {
        None
    }
    fn ask_secret(&self, _: &str) -> Option<Secret> {
        None
    }
}

/// What the user allowed on the command line.
#[derive(Debug, Clone, Default)]
pub struct Consent {
    /// Layout disks named with `--allow-destroy`.
    pub allow_destroy: Vec<String>,
    /// `--yes`: run non-destructive steps without asking.
    pub yes: bool,
    /// `--allow-hooks`: run the layout's disko hooks (shell text).
    pub allow_hooks: bool,
}

/// Data the plan would destroy on one disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destruction {
    /// The layout disk.
    pub disk: String,
    /// Who it is: device, model, serial, size.
    pub identity: String,
    /// The destructive steps, one line each.
    pub steps: Vec<String>,
}

/// A hook the plan would run, where the layout writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookRun {
    /// `file:line:col: path` of its text in the layout.
    pub at: String,
    /// The step that runs it: `step 7: run postCreateHook of pool tank`.
    pub step: String,
}

/// Why the guard said no. Nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    /// The plan runs layout hooks, and `--allow-hooks` was not given.
    Hooks(Vec<HookRun>),
    /// Destruction on disks not named in `--allow-destroy`, and nobody to ask.
    NotAllowed(Vec<Destruction>),
    /// The person asked did not confirm.
    NotConfirmed,
}

impl fmt::Display for Denied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Denied::Hooks(hs) => {
                write!(
                    f,
                    "refusing to run the layout's hooks without --allow-hooks:"
                )?;
                for h in hs {
                    write!(f, "\n  {}: {}", h.at, h.step)?;
                }
                write!(
                    f,
                    "\nnothing was changed; read each hook in full in `nasstrap plan` or `nasstrap diff`, then re-run with --allow-hooks"
                )
            }
            Denied::NotAllowed(ds) => {
                let names: Vec<&str> = ds.iter().map(|d| d.disk.as_str()).collect();
                write!(
                    f,
                    "refusing to destroy data on {} without --allow-destroy:",
                    names.join(", ")
                )?;
                for d in ds {
                    write!(f, "\n  {} ({}):", d.disk, d.identity)?;
                    for s in &d.steps {
                        write!(f, "\n    {s}")?;
                    }
                }
                write!(
                    f,
                    "\nnothing was changed; re-run with --allow-destroy {}",
                    names.join(" ")
                )
            }
            Denied::NotConfirmed => write!(f, "not confirmed; nothing was changed"),
        }
    }
}

/// Destructive steps grouped by the layout disk they destroy data on.
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

/// The hooks `plan` runs (its steps that are not `keep`), where the layout
/// writes them.
pub fn hooks(plan: &Plan) -> Vec<HookRun> {
    plan.steps
        .iter()
        .filter(|s| s.change != Change::Keep)
        .filter_map(|s| match &s.action {
            Action::Hook { at, .. } => Some(HookRun {
                at: if plan.layout.is_empty() {
                    at.clone()
                } else {
                    format!("{}:{at}", plan.layout)
                },
                step: format!("step {}: {}", s.id, s.description),
            }),
            _ => None,
        })
        .collect()
}

/// Check `plan` against what the user allowed, asking `ui` where a person can
/// answer. `identity` describes each layout disk (device, model, serial,
/// size) for the confirmation. `confirmed` holds disks already confirmed in
/// this run (a second check after arrays were assembled asks only for new
/// ones) and gains the ones confirmed now. `asked_to_run`: whether the
/// "run N steps?" question was already answered.
pub fn check(
    plan: &Plan,
    identity: &BTreeMap<String, String>,
    consent: &Consent,
    ui: &dyn Prompter,
    confirmed: &mut BTreeSet<String>,
    asked_to_run: bool,
) -> Result<(), Denied> {
    // Before anything is asked: no answer at a prompt stands in for the flag.
    let hooks = hooks(plan);
    if !hooks.is_empty() && !consent.allow_hooks {
        return Err(Denied::Hooks(hooks));
    }
    let by_disk = destroyed(plan);
    let missing: Vec<Destruction> = by_disk
        .iter()
        .filter(|(d, _)| !consent.allow_destroy.contains(d) && !confirmed.contains(*d))
        .map(|(d, steps)| Destruction {
            disk: d.clone(),
            identity: identity.get(d).cloned().unwrap_or_else(|| d.clone()),
            steps: steps.clone(),
        })
        .collect();
    if !missing.is_empty() {
        if !ui.interactive() {
            return Err(Denied::NotAllowed(missing));
        }
        let mut text = String::from("these steps destroy data:");
        for d in &missing {
            text.push_str(&format!("\n  {} ({}):", d.disk, d.identity));
            for s in &d.steps {
                text.push_str(&format!("\n    {s}"));
            }
        }
        ui.show(&text);
        for d in &missing {
            let answer = ui.ask(&format!(
                "type `{}` to destroy what is on {}: ",
                d.disk, d.identity
            ));
            if answer.as_deref().map(str::trim) != Some(d.disk.as_str()) {
                return Err(Denied::NotConfirmed);
            }
            confirmed.insert(d.disk.clone());
        }
        return Ok(());
    }
    let n = plan
        .steps
        .iter()
        .filter(|s| s.change != Change::Keep)
        .count();
    if ui.interactive() && !consent.yes && !asked_to_run && n > 0 && by_disk.is_empty() {
        let answer = ui.ask(&format!(
            "run {n} step{}? [y/N] ",
            if n == 1 { "" } else { "s" }
        ));
        if !matches!(answer.as_deref().map(str::trim), Some("y" | "Y" | "yes")) {
            return Err(Denied::NotConfirmed);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    /// A person who answers from a script and records what they were shown.
    struct Scripted {
        answers: RefCell<Vec<&'static str>>,
        seen: RefCell<Vec<String>>,
    }

    impl Scripted {
        fn new(answers: &[&'static str]) -> Scripted {
            Scripted {
                answers: RefCell::new(answers.iter().rev().copied().collect()),
                seen: RefCell::new(Vec::new()),
            }
        }
    }

    impl Prompter for Scripted {
        fn interactive(&self) -> bool {
            true
        }
        fn show(&self, text: &str) {
            self.seen.borrow_mut().push(text.to_string());
        }
        fn ask(&self, prompt: &str) -> Option<String> {
            self.seen.borrow_mut().push(prompt.to_string());
            self.answers.borrow_mut().pop().map(String::from)
        }
        fn ask_secret(&self, _: &str) -> Option<Secret> {
            None
        }
    }

    fn plan() -> Plan {
        let f = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("layouts/helios64.yaml");
        let loaded = crate::layout::load_file(&f, &[]).unwrap();
        crate::plan::build(&loaded, &crate::plan::Options::default()).unwrap()
    }

    fn ids() -> BTreeMap<String, String> {
        [("bay1", "/dev/sda, WDC WD40EFRX, serial WD-1, 3.6TiB")]
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn without_a_terminal_destruction_needs_allow_destroy() {
        let p = plan();
        let mut confirmed = BTreeSet::new();
        let c = Consent {
            allow_destroy: vec!["bay2".into(), "bay3".into(), "bay4".into(), "bay5".into()],
            yes: false,
            allow_hooks: false,
        };
        let e = check(&p, &ids(), &c, &NoPrompter, &mut confirmed, false).unwrap_err();
        let Denied::NotAllowed(ds) = &e else {
            panic!("{e:?}")
        };
        let names: Vec<&str> = ds.iter().map(|d| d.disk.as_str()).collect();
        assert_eq!(names, ["bay1", "emmc"]);
        let text = e.to_string();
        assert!(text.starts_with("refusing to destroy data on bay1, emmc without --allow-destroy:\n  bay1 (/dev/sda, WDC WD40EFRX, serial WD-1, 3.6TiB):\n    step 3: wipe the signatures on disk bay1"), "{text}");
        assert!(
            text.ends_with("nothing was changed; re-run with --allow-destroy bay1 emmc"),
            "{text}"
        );
    }

    #[test]
    fn all_allowed_passes_without_asking() {
        let p = plan();
        let all: Vec<String> = ["bay1", "bay2", "bay3", "bay4", "bay5", "emmc"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let c = Consent {
            allow_destroy: all,
            yes: false,
            allow_hooks: false,
        };
        let ui = Scripted::new(&[]);
        assert_eq!(
            check(&p, &ids(), &c, &ui, &mut BTreeSet::new(), false),
            Ok(())
        );
        assert!(ui.seen.borrow().is_empty(), "nothing asked");
    }

    #[test]
    fn typing_each_disk_name_confirms_it_and_a_wrong_name_stops() {
        let p = plan();
        let c = Consent {
            allow_destroy: vec!["bay2".into(), "bay3".into(), "bay4".into(), "bay5".into()],
            yes: false,
            allow_hooks: false,
        };
        let mut confirmed = BTreeSet::new();
        let ui = Scripted::new(&["bay1", "emmc"]);
        assert_eq!(check(&p, &ids(), &c, &ui, &mut confirmed, false), Ok(()));
        assert_eq!(confirmed.iter().collect::<Vec<_>>(), ["bay1", "emmc"]);
        let seen = ui.seen.borrow();
        assert!(
            seen[1].starts_with("type `bay1` to destroy what is on /dev/sda, WDC WD40EFRX"),
            "{seen:?}"
        );
        // Confirmed disks are not asked again.
        assert_eq!(
            check(&p, &ids(), &c, &Scripted::new(&[]), &mut confirmed, true),
            Ok(())
        );
        let ui = Scripted::new(&["yes"]);
        let e = check(&p, &ids(), &c, &ui, &mut BTreeSet::new(), false).unwrap_err();
        assert_eq!(e, Denied::NotConfirmed);
    }

    #[test]
    fn non_destructive_steps_are_confirmed_once_unless_yes() {
        let mut p = plan();
        for st in &mut p.steps {
            if st.change == Change::Destroy {
                st.change = Change::Create;
            }
        }
        let c = Consent::default();
        assert_eq!(
            check(
                &p,
                &ids(),
                &c,
                &Scripted::new(&["y"]),
                &mut BTreeSet::new(),
                false
            ),
            Ok(())
        );
        assert_eq!(
            check(
                &p,
                &ids(),
                &c,
                &Scripted::new(&["n"]),
                &mut BTreeSet::new(),
                false
            ),
            Err(Denied::NotConfirmed)
        );
        assert_eq!(
            check(
                &p,
                &ids(),
                &c,
                &Scripted::new(&[]),
                &mut BTreeSet::new(),
                true
            ),
            Ok(())
        );
        let yes = Consent {
            yes: true,
            ..Consent::default()
        };
        assert_eq!(
            check(
                &p,
                &ids(),
                &yes,
                &Scripted::new(&[]),
                &mut BTreeSet::new(),
                false
            ),
            Ok(())
        );
        assert_eq!(
            check(&p, &ids(), &c, &NoPrompter, &mut BTreeSet::new(), false),
            Ok(())
        );
    }

    #[test]
    fn hooks_run_only_with_allow_hooks_and_each_is_named_where_it_is() {
        let src = "disk:\n  d1:\n    device: /dev/sda\n    content: { type: filesystem, format: ext4, mountpoint: /, postCreateHook: touch /x }\n";
        let l = crate::layout::load_str("x.yaml", src, &[]).unwrap();
        let opts = crate::plan::Options {
            layout_file: "layouts/x.yaml".into(),
            ..Default::default()
        };
        let p = crate::plan::build(&l, &opts).unwrap();
        let c = Consent {
            allow_destroy: vec!["d1".into()],
            yes: true,
            allow_hooks: false,
        };
        // Refused before anything is asked, even where someone could answer.
        let ui = Scripted::new(&[]);
        let e = check(&p, &ids(), &c, &ui, &mut BTreeSet::new(), false).unwrap_err();
        assert!(ui.seen.borrow().is_empty());
        assert_eq!(
            e.to_string(),
            "refusing to run the layout's hooks without --allow-hooks:\n  layouts/x.yaml:4:79: disk.d1.content.postCreateHook: step 3: run postCreateHook of ext4 on /dev/sda\nnothing was changed; read each hook in full in `nasstrap plan` or `nasstrap diff`, then re-run with --allow-hooks"
        );
        let c = Consent {
            allow_hooks: true,
            ..c
        };
        assert_eq!(
            check(&p, &ids(), &c, &NoPrompter, &mut BTreeSet::new(), false),
            Ok(())
        );
        // A hook the diff keeps does not run, so needs no consent.
        let mut kept = p.clone();
        for st in &mut kept.steps {
            st.change = Change::Keep;
        }
        let c = Consent {
            allow_hooks: false,
            ..c
        };
        assert_eq!(
            check(&kept, &ids(), &c, &NoPrompter, &mut BTreeSet::new(), false),
            Ok(())
        );
    }
}
