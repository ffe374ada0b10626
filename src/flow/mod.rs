//! The flows a user runs on the machine that holds the disks — diff, apply,
//! mount, unmount — as library functions. The CLI only parses and prints;
//! the remote installer will call the same functions on the target.
//!
//! Order inside apply, and why: look (load, probe, diff) → refuse what cannot
//! be done → preflight (tools, key files, drivers, a terminal for
//! passphrases) → consent → passphrases → only then change state: bring up
//! existing arrays and LUKS to look inside them, look again, ask again if
//! that revealed more to destroy (else take them down again) → run.
//! A refused apply leaves the system as it found it.

mod activate;
pub mod install;
mod replace;
mod rescue;

use crate::exec::guard::{self, Consent, Denied, Prompter};
use crate::exec::preflight::{self, Machine, Missing};
use crate::exec::secret::{Secret, Secrets};
use crate::layout::{self, Report};
use crate::plan::basis::{Basis, Difference};
use crate::plan::diff::Refusal;
use crate::plan::{self, Plan, needs};
use crate::probe::Observed;
use crate::report::Interrupted;
use crate::report::Reporter;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::PathBuf;

pub use activate::{activation, undo};
pub use replace::{Replaced, replace};
pub use rescue::{Rescued, degraded, rescue};

/// What a flow works on.
#[derive(Debug, Clone, Default)]
pub struct Target {
    /// The layout file.
    pub layout: PathBuf,
    /// `--disk NAME=DEVICE` mappings, `--disk-map` merged in.
    pub disks: Vec<(String, String)>,
    /// Do not check `expect:` pins.
    pub ignore_expect: bool,
    /// Where filesystems are mounted.
    pub mount_root: String,
    /// Also write firmware images.
    pub firmware: bool,
    /// How the plan names the layout file, when not by `layout` (the target of
    /// an install reads a copy; the plan shown on the laptop names the original).
    pub label: Option<String>,
    /// `--key-file NAME=FILE`: open LUKS volume NAME with FILE, whatever key
    /// the layout names (a rescue system rarely has the installer's key path).
    pub key_files: Vec<(String, String)>,
}

impl Target {
    /// The planner's options for this target.
    pub fn options(&self) -> plan::Options {
        plan::Options {
            layout_file: self
                .label
                .clone()
                .unwrap_or_else(|| self.layout.display().to_string()),
            seed: String::new(),
            mount_root: self.mount_root.clone(),
            facts: HashMap::new(),
            firmware: self.firmware,
            ignore_expect: self.ignore_expect,
        }
    }
}

/// What the user was shown and agreed to: a plan and the state it was computed
/// from. Apply refuses when the disks no longer are in that state.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Expected {
    /// The plan as shown.
    pub plan: Plan,
    /// The facts of the observed state it was computed from.
    pub basis: Basis,
}

/// Why a flow stopped, in one word: what [`Stop`] is, for events and exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopKind {
    Layout,
    Refused,
    Preflight,
    Denied,
    NoPassphrase,
    NotInstalled,
    Changed,
    Interrupted,
    Version,
    Connect,
    Keys,
    Flake,
    Failed,
}

/// Why a flow stopped. Every variant but `Failed` means nothing was changed.
#[derive(Debug)]
pub enum Stop {
    /// The layout is wrong (exit 2).
    Layout(Report),
    /// Disks that cannot be worked on as they are.
    Refused(Vec<Refusal>),
    /// The machine lacks what the plan needs.
    Preflight(Vec<Missing>),
    /// The user did not allow or confirm it.
    Denied(Denied),
    /// A passphrase was not given, or the two entries differ.
    NoPassphrase(String),
    /// The layout's disks do not hold it yet (`mount`), with what apply would run.
    NotInstalled(Vec<String>),
    /// The disks are no longer in the state the plan was computed from (between
    /// the diff shown and apply, something changed them).
    Changed(Vec<Difference>),
    /// The state is the same but this machine computes another plan from it
    /// than the one shown (a different nasstrap version).
    PlanDiffers,
    /// The laptop's nasstrap is another version than the target's.
    Version { laptop: String, target: String },
    /// Asked to stop (Ctrl-C on the laptop); stopped between steps.
    Interrupted(Interrupted),
    /// The SSH connection to the install target was not made (nothing ran there).
    Connect(crate::remote::ssh::ConnectError),
    /// The machine identity cannot decrypt these secrets (one line each).
    Keys(Vec<String>),
    /// The flake cannot be installed as it is (what to change).
    Flake(String),
    /// The install target stopped; `kind` says why, `message` is its words.
    OnTarget { kind: StopKind, message: String },
    /// `replace` cannot put the disk back (nothing was changed).
    Repair(Box<plan::repair::Refused>),
    /// Something failed while running.
    Failed(anyhow::Error),
}

impl Stop {
    /// The stop as the event that reports it.
    pub fn event(&self) -> crate::report::Event {
        crate::report::Event::Stopped {
            kind: self.kind(),
            message: self.to_string(),
        }
    }

    /// The kind of stop, for events.
    pub fn kind(&self) -> StopKind {
        match self {
            Stop::Layout(_) => StopKind::Layout,
            Stop::Refused(_) | Stop::Repair(_) => StopKind::Refused,
            Stop::Preflight(_) => StopKind::Preflight,
            Stop::Denied(_) => StopKind::Denied,
            Stop::NoPassphrase(_) => StopKind::NoPassphrase,
            Stop::NotInstalled(_) => StopKind::NotInstalled,
            Stop::Changed(_) => StopKind::Changed,
            Stop::PlanDiffers | Stop::Version { .. } => StopKind::Version,
            Stop::Interrupted(_) => StopKind::Interrupted,
            Stop::Connect(_) => StopKind::Connect,
            Stop::Keys(_) => StopKind::Keys,
            Stop::Flake(_) => StopKind::Flake,
            Stop::OnTarget { kind, .. } => *kind,
            Stop::Failed(_) => StopKind::Failed,
        }
    }
}

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stop::Layout(r) => write!(f, "{r}"),
            Stop::Refused(rs) => {
                for r in rs {
                    writeln!(f, "refused: {r}")?;
                }
                write!(f, "nothing was changed")
            }
            Stop::Preflight(ms) => {
                writeln!(f, "this machine cannot run the plan:")?;
                for m in ms {
                    writeln!(f, "  {m}")?;
                }
                write!(f, "nothing was changed")
            }
            Stop::Denied(d) => write!(f, "{d}"),
            Stop::NoPassphrase(v) => write!(
                f,
                "no passphrase for LUKS `{v}` (not given, or the two entries differ); nothing was changed"
            ),
            Stop::NotInstalled(steps) => write!(
                f,
                "the disks do not hold this layout yet; apply would run:\n  {}",
                steps.join("\n  ")
            ),
            Stop::Changed(ds) => {
                writeln!(f, "the disks changed since the plan was shown:")?;
                for d in ds {
                    writeln!(f, "  {d}")?;
                }
                write!(f, "nothing was changed; look at the new diff and run again")
            }
            Stop::PlanDiffers => write!(
                f,
                "the plan computed here from the same disks differs from the one shown \
                 (different nasstrap versions?); nothing was changed"
            ),
            Stop::Version { laptop, target } => write!(
                f,
                "the laptop runs nasstrap {laptop}, the target {target}; upload the same version"
            ),
            Stop::Interrupted(i) => write!(f, "{i}"),
            Stop::Connect(e) => write!(f, "{e}\nnothing ran on the target"),
            Stop::OnTarget { message, .. } => write!(f, "on the target: {message}"),
            Stop::Keys(bad) => {
                writeln!(f, "the identity cannot decrypt the host's secrets:")?;
                for b in bad {
                    writeln!(f, "  {b}")?;
                }
                write!(f, "nothing was changed")
            }
            Stop::Flake(what) => write!(f, "{what}"),
            Stop::Repair(r) => write!(f, "{r}; nothing was changed"),
            Stop::Failed(e) => write!(f, "{e:#}"),
        }
    }
}

impl From<anyhow::Error> for Stop {
    fn from(e: anyhow::Error) -> Self {
        match e.downcast::<Interrupted>() {
            Ok(i) => Stop::Interrupted(i),
            Err(e) => Stop::Failed(e),
        }
    }
}

/// The layout against the live disks, as the diff sees it.
#[derive(Debug, Clone)]
pub struct Look {
    /// The annotated plan.
    pub plan: Plan,
    /// What forbids applying.
    pub refusals: Vec<Refusal>,
    /// What the probe saw.
    pub observed: Observed,
    /// The layout's warnings (no errors: those stop the flow), if any.
    pub warnings: Option<Report>,
}

/// Load the layout, probe its disks and diff. Changes nothing.
pub fn look(t: &Target) -> Result<Look, Stop> {
    let loaded = layout::load_file(&t.layout, &t.disks).map_err(Stop::Layout)?;
    if loaded.report.has_errors() {
        return Err(Stop::Layout(loaded.report));
    }
    let devices: Vec<String> = loaded
        .layout
        .disks
        .iter()
        .map(|d| d.device.v.clone())
        .collect();
    let observed = crate::exec::collect::observe(&devices)?;
    let (mut plan, refusals) =
        plan::diff::against(&loaded, &observed, &t.options()).map_err(Stop::Layout)?;
    for st in &mut plan.steps {
        if let plan::Action::LuksOpen { name, key, .. }
        | plan::Action::LuksFormat { name, key, .. }
        | plan::Action::LuksAddKey { name, key, .. } = &mut st.action
            && let Some((_, file)) = t.key_files.iter().find(|(n, _)| n == name)
        {
            // The same kind of file as the layout's: a passphrase file's
            // trailing newline is not part of the passphrase.
            *key = match key {
                plan::KeySource::PasswordFile(_) => plan::KeySource::PasswordFile(file.clone()),
                _ => plan::KeySource::KeyFile(file.clone()),
            };
        }
    }
    let warnings = (!loaded.report.diagnostics.is_empty()).then_some(loaded.report);
    Ok(Look {
        plan,
        refusals,
        observed,
        warnings,
    })
}

/// The dry run: the look, plus what this machine would lack to apply it
/// (a passphrase prompt is assumed answerable: apply is usually run on a terminal).
pub fn diff(t: &Target) -> Result<(Look, Vec<Missing>), Stop> {
    let l = look(t)?;
    let missing = preflight::check(&l.plan, &Machine::here(true));
    Ok((l, missing))
}

/// What apply did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The disks already matched; nothing ran.
    NoChanges,
    /// This many steps ran.
    Ran(u32),
}

/// Device, model, serial and size of each layout disk, for confirmations.
pub fn identities(plan: &Plan, obs: &Observed) -> BTreeMap<String, String> {
    plan.disks
        .iter()
        .map(|d| {
            let mut parts = vec![d.device.clone()];
            if let Some(o) = plan::diff::find_disk(obs, &d.device) {
                if let Some(m) = &o.model {
                    parts.push(m.trim().to_string());
                }
                if let Some(s) = &o.serial {
                    parts.push(format!("serial {s}"));
                }
                parts.push(layout::size::human(o.size_bytes));
            }
            (d.name.clone(), parts.join(", "))
        })
        .collect()
}

/// Ask each `askPassword` volume's passphrase once; twice for one this run
/// creates, when `creating` (mount creates nothing, even where the diff of a
/// not-yet-assembled array cannot tell a container is already there).
fn passphrases(plan: &Plan, ui: &dyn Prompter, creating: bool) -> Result<Secrets, Stop> {
    let mut secrets = Secrets::none();
    for a in needs::of(plan).passphrases {
        let first = ui
            .ask_secret(&format!("passphrase for LUKS `{}`: ", a.name))
            .ok_or_else(|| Stop::NoPassphrase(a.name.clone()))?;
        if a.new && creating {
            let again: Option<Secret> =
                ui.ask_secret(&format!("passphrase for LUKS `{}` again: ", a.name));
            if again.as_ref().map(Secret::expose) != Some(first.expose()) {
                return Err(Stop::NoPassphrase(a.name.clone()));
            }
        }
        if first.expose().is_empty() {
            return Err(Stop::NoPassphrase(a.name.clone()));
        }
        secrets.insert(&a.name, first);
    }
    Ok(secrets)
}

/// Refusals that stop apply: all of them.
fn refuse(refusals: Vec<Refusal>) -> Result<(), Stop> {
    if refusals.is_empty() {
        Ok(())
    } else {
        Err(Stop::Refused(refusals))
    }
}

/// Bring up what exists (arrays on their members, kept LUKS containers) and
/// look again, until the look shows nothing more to bring up (at most four
/// levels: LUKS on md on partitions is two). `check` judges each new look;
/// when it or anything else fails, what was brought up is taken down again.
/// Returns the last look and the activation plans that ran.
fn look_inside(
    t: &Target,
    mut l: Look,
    read_only: bool,
    secrets: &Secrets,
    mut check: impl FnMut(&Look) -> Result<(), Stop>,
) -> Result<(Look, Vec<Plan>), Stop> {
    let mut brought_up: Vec<Plan> = Vec::new();
    for _ in 0..4 {
        let act = activation(&l.plan, read_only);
        if act.steps.is_empty() {
            break;
        }
        let ran = crate::exec::apply::run(&act, &crate::report::Silent, secrets);
        brought_up.push(act);
        let next = ran
            .map_err(Stop::Failed)
            .and_then(|_| look(t))
            .and_then(|l| check(&l).map(|()| l));
        match next {
            Ok(n) => l = n,
            Err(e) => {
                undo(&brought_up);
                return Err(e);
            }
        }
    }
    Ok((l, brought_up))
}

/// Make the disks match the layout. See the module doc for the order.
pub fn apply(
    t: &Target,
    consent: &Consent,
    ui: &dyn Prompter,
    reporter: &dyn Reporter,
) -> Result<Applied, Stop> {
    apply_expected(t, None, consent, ui, reporter)
}

/// [`apply`], refusing unless the disks are still in the state `expected` was
/// computed from and this machine plans the same from it: what runs is what
/// was shown, with no window between checking and acting but the run itself.
pub fn apply_expected(
    t: &Target,
    expected: Option<&Expected>,
    consent: &Consent,
    ui: &dyn Prompter,
    reporter: &dyn Reporter,
) -> Result<Applied, Stop> {
    let l = look(t)?;
    if let Some(x) = expected {
        let now = Basis::of(&l.plan, &l.observed);
        let changes = now.changes(&x.basis);
        if !changes.is_empty() {
            return Err(Stop::Changed(changes));
        }
        if l.plan != x.plan {
            return Err(Stop::PlanDiffers);
        }
    }
    refuse(l.refusals.clone())?;
    let missing = preflight::check(&l.plan, &Machine::here(ui.interactive()));
    if !missing.is_empty() {
        return Err(Stop::Preflight(missing));
    }
    let mut confirmed = BTreeSet::new();
    let ids = identities(&l.plan, &l.observed);
    guard::check(&l.plan, &ids, consent, ui, &mut confirmed, false).map_err(Stop::Denied)?;
    let secrets = passphrases(&l.plan, ui, true)?;

    // Consent given: now arrays and LUKS that exist may be brought up, so the
    // diff can see what they hold — and whatever that shows must pass again.
    let (l, _) = look_inside(t, l, false, &secrets, |l| {
        refuse(l.refusals.clone())?;
        guard::check(&l.plan, &ids, consent, ui, &mut confirmed, true).map_err(Stop::Denied)
    })?;
    if l.plan.is_noop() {
        return Ok(Applied::NoChanges);
    }
    if expected.is_none() {
        // What will run, for `--events json` and the per-disk bars (an install's
        // laptop has it already).
        reporter.event(&crate::report::Event::Planned {
            plan: Box::new(l.plan.clone()),
            basis: Basis::of(&l.plan, &l.observed).fingerprint(),
        });
    }
    let ran = crate::exec::apply::run(&l.plan, reporter, &secrets).map_err(Stop::from)?;
    Ok(Applied::Ran(ran))
}

/// Assemble, open and mount the layout below `t.mount_root`; `read_only`
/// assembles arrays read-only, opens LUKS read-only and mounts `ro`. Nothing
/// is created: when the disks do not hold the layout, what was brought up to
/// look is taken down again.
pub fn mount(
    t: &Target,
    read_only: bool,
    ui: &dyn Prompter,
    reporter: &dyn Reporter,
) -> Result<(), Stop> {
    let l = look(t)?;
    refuse(
        l.refusals
            .iter()
            .filter(|r| !r.reason.is_busy())
            .cloned()
            .collect(),
    )?;
    let secrets = passphrases(&l.plan, ui, false)?;
    let (l, brought_up) = look_inside(t, l, read_only, &secrets, |_| Ok(()))?;
    let up = match plan::updown::bring_up(&l.plan, read_only) {
        Ok(p) => p,
        Err(missing) => {
            undo(&brought_up);
            return Err(Stop::NotInstalled(missing));
        }
    };
    crate::exec::apply::run(&up, reporter, &secrets)?;
    Ok(())
}

/// Unmount the layout, close LUKS, stop arrays: only what is up.
pub fn unmount(t: &Target, reporter: &dyn Reporter) -> Result<(), Stop> {
    let l = look(t)?;
    refuse(
        l.refusals
            .into_iter()
            .filter(|r| r.reason.stops_takedown())
            .collect(),
    )?;
    let down = plan::updown::take_down(&l.plan, &l.observed);
    crate::exec::apply::run(&down, reporter, &Secrets::none())?;
    Ok(())
}
