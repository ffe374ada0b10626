//! The plan against the live disks: each step becomes keep, create, change or
//! destroy, with the reason; what forbids applying at all comes back as
//! refusals. Pure code over `probe::Observed`, one file per family of rules:
//!
//! - `identity`: which live device each layout disk is (present, a whole
//!   disk, one device per disk, the pinned one), then plan and diff;
//! - `table`: the planned GPT against the disk's (keep, add, destroy);
//! - `fs`: filesystems and swap by type and label, subvolumes, pools, mounts;
//! - `md`: arrays reused by name and members, assembled when stopped, never
//!   written over when they exist but do not run;
//! - `luks`: containers by header, mappings by name;
//! - `unknown`: nothing rests on a device the probe could not read;
//! - `teardown`: old arrays and mappings on disks the plan destroys are
//!   stopped and closed first, old partitions' signatures wiped;
//! - `busy`: a disk whose data goes must not be in use.

mod busy;
mod degraded;
mod fs;
mod identity;
mod lookup;
mod luks;
mod md;
mod table;
mod teardown;
mod unknown;
mod why;

#[cfg(test)]
pub(crate) mod tests;

pub use identity::against;
pub use lookup::{find_disk, kernel_path, signature};
// For `plan::basis` and `nixos`, which ask the same questions of the observed state.
pub use degraded::{Degraded, Gone, How, Kind};
pub(crate) use lookup::md_array;
pub use why::{Refusal, Why};

use super::{Action, Change, Plan, Step};
use crate::probe::Observed;
use md::MdVerdict;
use std::collections::{HashMap, HashSet};
use table::DiskVerdict;

/// Why the diff cannot see what is on a device yet.
#[derive(Debug, Clone, PartialEq)]
enum Hidden {
    /// An array apply will assemble before it looks again.
    Assembling,
    /// An array that exists but does not run (its name): refused.
    NotRunning(String),
}

/// What the rules know while they walk the steps in order.
pub(super) struct State<'a> {
    obs: &'a Observed,
    /// Arrays of the layout that exist with members gone.
    degraded: &'a [Degraded],
    disks: &'a [DiskVerdict],
    /// The plan's paths of partitions kept as they are.
    kept_parts: HashSet<String>,
    /// Devices (re)made in this run: nothing on them is of value yet.
    created: HashSet<String>,
    /// Devices whose content cannot be seen yet, and why.
    hidden: HashMap<String, Hidden>,
    /// Observed arrays (`/dev/md127`) the plan keeps, or refuses to touch.
    claimed_md: HashSet<String>,
    /// Open LUKS mappings (by name) the plan keeps.
    claimed_luks: HashSet<String>,
}

impl State<'_> {
    /// Devices that are not partitions of a planned table (md, mapper, zvol,
    /// whole disks) count as kept: their own verdicts decide.
    fn kept(&self, device: &str) -> bool {
        self.kept_parts.contains(device) || !looks_like_partition(device)
    }
}

fn looks_like_partition(device: &str) -> bool {
    !device.starts_with("/dev/md/")
        && !device.starts_with("/dev/mapper/")
        && !device.starts_with("/dev/zvol/")
        && device.ends_with(|c: char| c.is_ascii_digit())
}

/// Annotate `plan` (built with the observed devices and sizes) against `obs`;
/// `degraded` are the layout's arrays that exist with members gone (see
/// [`degraded::assess`]): shown and kept, never re-created.
pub fn diff(mut plan: Plan, obs: &Observed, degraded: &[Degraded]) -> (Plan, Vec<Refusal>) {
    let mut refusals = Vec::new();
    let disks = table::verdicts(&plan, obs, &mut refusals);
    let mut s = State {
        obs,
        degraded,
        disks: &disks,
        kept_parts: table::kept_paths(&disks).into_iter().collect(),
        created: HashSet::new(),
        hidden: HashMap::new(),
        claimed_md: HashSet::new(),
        claimed_luks: HashSet::new(),
    };
    for st in &mut plan.steps {
        annotate(st, &mut s, &mut refusals);
    }
    whole_disk_wipes(&mut plan, obs);
    degraded::stop_inactive_first(&mut plan, degraded);
    degraded::mount_degraded(&mut plan, degraded);
    unknown::check(&mut plan, obs, &mut refusals);
    let torn = teardown::insert(&mut plan, &s);
    busy::check(&plan, obs, &torn, &mut refusals);
    hooks(&mut plan);
    super::renumber(&mut plan.steps);
    (plan, refusals)
}

/// A hook runs when its step runs. A create hook runs when its owner is
/// made (created, or destroyed and made again), not when it is kept or only
/// changed (a table that gains a partition, an array assembled): the thing
/// exists, and its hooks ran when it was made. A mount hook runs with its
/// mount.
fn hooks(plan: &mut Plan) {
    let changes: HashMap<u32, Change> = plan
        .steps
        .iter()
        .filter(|s| s.id != 0)
        .map(|s| (s.id, s.change))
        .collect();
    for st in &mut plan.steps {
        let Action::Hook { hook, step, .. } = &st.action else {
            continue;
        };
        let of = changes.get(step).copied().unwrap_or(Change::Keep);
        let runs = if hook.is_create() {
            matches!(of, Change::Create | Change::Destroy)
        } else {
            of != Change::Keep
        };
        (st.change, st.reason) = match (runs, hook.is_create()) {
            (true, _) => (Change::Create, None),
            (false, true) => (
                Change::Keep,
                Some("what carries it exists: create hooks run only when it is made".into()),
            ),
            (false, false) => (Change::Keep, Some("the mount is there".into())),
        };
    }
}

/// One step's verdict, by the rule for its kind of action.
fn annotate(st: &mut Step, s: &mut State, refusals: &mut Vec<Refusal>) {
    let mut replace: Option<(Action, String)> = None;
    let (change, reason) = match &st.action {
        Action::WipeSignatures { device } => {
            if let Some(v) = s.disks.iter().find(|v| &v.device == device) {
                let why = (v.wipe == Change::Destroy)
                    .then(|| lookup::describe_disk(find_disk(s.obs, device)))
                    .flatten();
                (v.wipe, why)
            } else if s.kept_parts.contains(device) {
                (Change::Keep, None)
            } else {
                (Change::Create, None) // a new partition, or a whole disk: see whole_disk_wipes
            }
        }
        Action::WriteGpt { device, .. } => match s.disks.iter().find(|v| &v.device == device) {
            Some(v) => (v.table, v.reason.clone()),
            None => (Change::Create, None),
        },
        Action::WriteFirmware { .. } => (Change::Change, None),
        Action::Mkfs {
            format,
            devices,
            extra_args,
        } => {
            if let Some(d) = degraded::btrfs_of(s.degraded, format, devices) {
                // Its devices in the plan may include a blank replacement:
                // never a mkfs over the filesystem that is there.
                replace = Some((
                    st.action.clone(),
                    format!("keep btrfs {}, degraded", d.array),
                ));
                return_reason(d)
            } else {
                let c = fs::mkfs(s, devices, format, extra_args);
                if c.0 != Change::Keep {
                    s.created.extend(devices.iter().cloned());
                }
                c
            }
        }
        Action::Mkswap { device } => {
            let c = fs::mkfs(s, std::slice::from_ref(device), "swap", &[]);
            if c.0 != Change::Keep {
                s.created.insert(device.clone());
            }
            c
        }
        Action::MdCreate {
            name,
            device,
            members,
            ..
        }
        | Action::MdAssemble {
            name,
            device,
            members,
            ..
        } => {
            let assemble = || {
                (
                    Action::MdAssemble {
                        name: name.clone(),
                        device: device.clone(),
                        members: members.clone(),
                        read_only: false,
                    },
                    format!(
                        "assemble the existing array {name} from {} devices",
                        members.len()
                    ),
                )
            };
            match md::verdict(s, name, members) {
                MdVerdict::Keep(path) => {
                    s.claimed_md.insert(path);
                    (Change::Keep, None)
                }
                MdVerdict::Create => {
                    s.created.insert(device.clone());
                    (Change::Create, None)
                }
                MdVerdict::Destroy(why) => {
                    s.created.insert(device.clone());
                    (Change::Destroy, Some(why))
                }
                MdVerdict::Degraded(path, why) => {
                    // Ours, so not torn down: it stays busy, as before.
                    s.claimed_md.insert(path);
                    s.created.insert(device.clone());
                    (Change::Destroy, Some(why))
                }
                MdVerdict::Repair(d) => {
                    if let Some(path) = &d.device {
                        s.claimed_md.insert(path.clone());
                    }
                    // The array as it stands: on the members in sync (what is
                    // gone is not looked at, nor written; replace does that).
                    let standing = Action::MdAssemble {
                        name: name.clone(),
                        device: device.clone(),
                        members: d.in_sync.iter().map(|(_, m)| m.clone()).collect(),
                        read_only: false,
                    };
                    if d.running {
                        replace = Some((standing, format!("keep array {name}, running degraded")));
                        (Change::Keep, Some(d.to_string()))
                    } else {
                        // Started on the members in sync, by whoever is
                        // allowed to (rescue, replace): apply refuses.
                        s.hidden.insert(device.clone(), Hidden::Assembling);
                        replace = Some((
                            standing,
                            format!(
                                "assemble array {name} degraded from {} of its {} devices",
                                d.in_sync.len(),
                                d.planned()
                            ),
                        ));
                        (Change::Change, Some(d.to_string()))
                    }
                }
                MdVerdict::Assemble(why) => {
                    s.hidden.insert(device.clone(), Hidden::Assembling);
                    replace = Some(assemble());
                    (Change::Change, Some(why))
                }
                MdVerdict::NotRunning(path, why) => {
                    s.claimed_md.insert(path);
                    s.hidden
                        .insert(device.clone(), Hidden::NotRunning(name.clone()));
                    // Never a create over it: at most what a person would do
                    // by hand, which nasstrap refuses to do by itself.
                    replace = Some(assemble());
                    let reason = match &why {
                        Why::NotRunning {
                            array,
                            device,
                            state,
                            ..
                        } => format!(
                            "{} exists but is not running ({state}); refused",
                            why::array_words(array.as_deref(), device)
                        ),
                        other => other.to_string(),
                    };
                    refusals.push(Refusal {
                        disk: name.clone(),
                        reason: why,
                    });
                    (Change::Change, Some(reason))
                }
            }
        }
        Action::LuksFormat { device, name, .. } => {
            let c = luks::format(s, device, name);
            if c.0 != Change::Keep {
                s.created.insert(format!("/dev/mapper/{name}"));
            }
            c
        }
        Action::LuksOpen { name, .. } => {
            let c = luks::open(s, name);
            if c == Change::Keep {
                s.claimed_luks.insert(name.clone());
            }
            (c, None)
        }
        // What keys a container has is not probed: one made in this run
        // gets them; one that exists got them when it was made (apply adds
        // a key only when it does not open the container already).
        Action::LuksAddKey { name, .. } => {
            if s.created.contains(&format!("/dev/mapper/{name}")) {
                (Change::Create, None)
            } else {
                (
                    Change::Keep,
                    Some("the container exists: its key files were added when it was made".into()),
                )
            }
        }
        Action::BtrfsSubvolume { device, name } => (fs::subvolume(s, device, name), None),
        Action::BtrfsSwapfile { device, file, .. } => fs::swapfile(s, device, file),
        Action::Swapon { file, .. } => (fs::swapon(s.obs, file), None),
        Action::ZpoolCreate { name, .. } => {
            let degraded = s
                .degraded
                .iter()
                .find(|d| matches!(d.kind, degraded::Kind::Zfs { .. }) && &d.array == name);
            match degraded {
                Some(d) => {
                    replace = Some((st.action.clone(), format!("keep pool {name}, degraded")));
                    return_reason(d)
                }
                None => (fs::zpool(s.obs, name), None),
            }
        }
        Action::ZfsCreate { name, .. } => (fs::dataset(s.obs, name), None),
        // Only `replace` plans these, after the diff.
        Action::MdAdd { .. } | Action::BtrfsReplace { .. } | Action::ZpoolReplace { .. } => {
            (Change::Create, None)
        }
        Action::Unmount { .. }
        | Action::LuksClose { .. }
        | Action::MdStop { .. }
        | Action::Swapoff { .. } => (Change::Change, None),
        Action::Mount { target, fstype, .. } => (fs::mount(s.obs, target, fstype), None),
        // Decided by its step, once every step is: see `hooks`.
        Action::Hook { .. } => (Change::Create, None),
    };
    st.change = change;
    st.reason = reason;
    let hidden = match &st.action {
        Action::LuksFormat { device, name, .. } | Action::LuksOpen { device, name, .. } => {
            let h = s.hidden.get(device).cloned();
            if let Some(h) = &h {
                s.hidden.insert(format!("/dev/mapper/{name}"), h.clone());
            }
            h
        }
        Action::Mkfs { devices, .. } => devices.iter().find_map(|d| s.hidden.get(d).cloned()),
        Action::BtrfsSubvolume { device, .. }
        | Action::BtrfsSwapfile { device, .. }
        | Action::Mkswap { device }
        | Action::LuksAddKey { device, .. } => s.hidden.get(device).cloned(),
        Action::Mount { source, .. } => match s.hidden.get(source) {
            // apply mounts what it assembled after it looked again.
            Some(Hidden::NotRunning(n)) => Some(Hidden::NotRunning(n.clone())),
            _ => None,
        },
        _ => None,
    };
    match hidden {
        Some(Hidden::Assembling) if st.change != Change::Keep => {
            st.reason = Some(
                "not visible until the array is assembled; apply assembles it and looks again"
                    .into(),
            );
        }
        Some(Hidden::NotRunning(n)) => {
            st.change = Change::Change;
            st.reason = Some(format!(
                "it is on array {n}, which is not running: what is there cannot be seen; refused"
            ));
        }
        _ => {}
    }
    if let Some((a, d)) = replace {
        st.action = a;
        st.description = d;
    }
}

/// A degraded filesystem or array is kept, the degradation its reason.
fn return_reason(d: &Degraded) -> (Change, Option<String>) {
    (Change::Keep, Some(d.to_string()))
}

/// A disk whose content goes on the disk itself (no table) is wiped first:
/// that wipe keeps what the content step keeps and destroys what is there
/// otherwise (a blank disk has nothing to destroy).
fn whole_disk_wipes(plan: &mut Plan, obs: &Observed) {
    for i in 0..plan.steps.len() {
        let Action::WipeSignatures { device } = &plan.steps[i].action else {
            continue;
        };
        if plan.steps[i].change != Change::Create {
            continue;
        }
        let Some(d) = find_disk(obs, device) else {
            continue; // a new partition
        };
        if plan
            .disks
            .iter()
            .any(|p| &p.device == device && p.table.is_some())
        {
            continue;
        }
        let content = plan.steps[i + 1..]
            .iter()
            .find(|st| rests_directly_on(&st.action, device));
        let held = lookup::describe_disk(Some(d));
        let (change, reason) = match (held, content.map(|st| st.change)) {
            (None, _) => (Change::Keep, None),
            (Some(_), Some(Change::Keep)) => (Change::Keep, None),
            (Some(h), _) => (Change::Destroy, Some(h)),
        };
        plan.steps[i].change = change;
        plan.steps[i].reason = reason;
    }
}

fn rests_directly_on(a: &Action, device: &str) -> bool {
    match a {
        Action::Mkfs { devices, .. } | Action::ZpoolCreate { devices, .. } => {
            devices.iter().any(|d| d == device)
        }
        Action::MdCreate { members, .. } | Action::MdAssemble { members, .. } => {
            members.iter().any(|d| d == device)
        }
        Action::Mkswap { device: d } | Action::LuksFormat { device: d, .. } => d == device,
        _ => false,
    }
}
