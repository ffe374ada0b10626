//! Degraded arrays: an array of the layout that exists with some of its
//! members gone is a state to show and repair, never a difference to
//! re-create. Which member is gone comes from the layout (which disk's
//! partition it is) and the observed state (that disk absent, blank, holding
//! something else, or marked faulty in the running array).
//!
//! Rules, each a function below: [`member_state`] says how one planned member
//! stands; [`assess`] gathers an array's members and decides whether it is
//! degraded at all and whether it can run; [`can_run`] is md's own arithmetic
//! of how many members each level may lose.

mod btrfs;
mod zfs;

use super::lookup::{describe_disk, find_disk, md_array, show_sig, signature, unknown};
use crate::layout::validate::{Holder, Walk};
use crate::layout::{Content, Loaded};
use crate::plan::{Action, Change, Plan, Step, partition_path};
use crate::probe::{MdArray, MdState, Observed, Signature};
use std::collections::{BTreeMap, BTreeSet};

/// An array of the layout that exists with members gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Degraded {
    /// Its layout name (`tank`; a btrfs filesystem's label).
    pub array: String,
    /// md array or btrfs filesystem, and what it may lose.
    pub kind: Kind,
    /// The kernel's device when the array is assembled, running or not (`/dev/md127`).
    pub device: Option<String>,
    /// Whether it runs (degraded) rather than waits, inactive or not assembled.
    pub running: bool,
    /// Rebuilding onto a new member: progress in tenths of a percent.
    pub rebuilding: Option<u32>,
    /// Members in sync: (layout disk, member device).
    pub in_sync: Vec<(String, String)>,
    /// Members that are not, in layout order.
    pub gone: Vec<Gone>,
}

/// What kind of redundancy is degraded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// An md array of this RAID level.
    Md { level: u32 },
    /// A multi-device btrfs: its profile (`raid1`, the weaker of data and
    /// metadata) and how many devices that lets it lose.
    Btrfs { profile: String, may_lose: usize },
    /// A ZFS pool: its layout (`raidz2`, `mirror`) and how many devices that
    /// lets it lose.
    Zfs { mode: String, may_lose: usize },
}

/// A planned member that is not in its array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gone {
    /// The layout disk it is on (`bay3`).
    pub disk: String,
    /// Its device path (the kernel's when the disk is there).
    pub device: String,
    /// How it is gone.
    pub how: How,
    /// What the filesystem or pool knows it by, when it can tell: a btrfs
    /// devid, the path ZFS remembers (`was /dev/…`). What `btrfs replace` and
    /// `zpool replace` name the missing device by.
    pub known_as: Option<String>,
}

/// How a planned member is not in its array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum How {
    /// The disk is not there (pulled, dead, no link).
    Absent,
    /// The disk is there and blank where the member goes: a new disk.
    Blank,
    /// The running array has it marked faulty.
    Faulty,
    /// It carries this array's superblock but the array runs without it
    /// (kicked out earlier, or assembled without it).
    Stale,
    /// It holds something else (the words say what).
    Holds(String),
    /// Reading it fails (the probe's words): a dying drive.
    Unreadable(String),
}

impl Degraded {
    /// Members present and in sync, of how many planned.
    pub fn planned(&self) -> usize {
        self.in_sync.len() + self.gone.len()
    }

    /// Whether md can run the array on the members in sync.
    pub fn can_run(&self) -> bool {
        match &self.kind {
            Kind::Md { level } => can_run(*level, self.planned(), self.in_sync.len()),
            Kind::Btrfs { may_lose, .. } | Kind::Zfs { may_lose, .. } => {
                !self.in_sync.is_empty() && self.gone.len() <= *may_lose
            }
        }
    }

    /// The gone member on layout disk `disk`, if any.
    pub fn gone_on(&self, disk: &str) -> Option<&Gone> {
        self.gone.iter().find(|g| g.disk == disk)
    }
}

impl std::fmt::Display for How {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            How::Absent => write!(f, "missing"),
            How::Blank => write!(f, "blank (a new disk)"),
            How::Faulty => write!(f, "faulty"),
            How::Stale => write!(f, "out of date (holds the array's superblock, not in sync)"),
            How::Holds(what) => write!(f, "holds {what}"),
            How::Unreadable(error) => write!(f, "faulty: it cannot be read ({error})"),
        }
    }
}

impl std::fmt::Display for Degraded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.gone.is_empty() {
            let p = self.rebuilding.unwrap_or(0);
            return write!(
                f,
                "rebuilding onto a new member, {}.{}% done",
                p / 10,
                p % 10
            );
        }
        let gone: Vec<String> = self
            .gone
            .iter()
            .map(|g| format!("{} {} ({})", g.disk, g.how, g.device))
            .collect();
        let state = match (&self.kind, self.running, self.rebuilding) {
            (Kind::Btrfs { .. }, true, _) => "mounted".to_string(),
            (Kind::Btrfs { .. }, false, _) => "not mounted".to_string(),
            (Kind::Zfs { .. }, _, _) => "imported".to_string(),
            (Kind::Md { .. }, running, rebuilding) => md_state(running, rebuilding, &self.device),
        };
        let (members, what) = match &self.kind {
            Kind::Md { level } => ("members in sync", format!("RAID{level} to run")),
            Kind::Btrfs { profile, .. } => ("devices present", format!("btrfs {profile} to mount")),
            Kind::Zfs { mode, .. } => ("devices online", format!("a {mode} pool")),
        };
        write!(
            f,
            "degraded: {} of {} {members}, {state}; {}",
            self.in_sync.len(),
            self.planned(),
            gone.join(", ")
        )?;
        if !self.can_run() {
            write!(f, "; too few for {what}, nothing can be done here")?;
        }
        Ok(())
    }
}

/// An md array's state in words: running (rebuilding), inactive, not assembled.
fn md_state(running: bool, rebuilding: Option<u32>, device: &Option<String>) -> String {
    match (running, rebuilding) {
        (true, Some(p)) => format!("running, rebuilding {}.{}%", p / 10, p % 10),
        (true, None) => "running".to_string(),
        (false, _) => match device {
            Some(d) => format!("not started ({d} inactive)"),
            None => "not assembled".to_string(),
        },
    }
}

/// Whether md runs an array of `level` over `planned` slots on `present`
/// in-sync members: RAID1 on any one, RAID4/5 missing one, RAID6 missing
/// two, RAID10 (near=2, the default) missing at most half, RAID0 none.
pub fn can_run(level: u32, planned: usize, present: usize) -> bool {
    let needed = match level {
        1 => 1,
        4 | 5 => planned.saturating_sub(1),
        6 => planned.saturating_sub(2),
        10 => planned.div_ceil(2),
        _ => planned,
    };
    present >= needed.max(1)
}

/// A planned member, as the layout gives it.
struct Planned {
    disk: String,
    /// The kernel's path when the disk is there, else the layout's.
    device: String,
    /// The disk's kernel path, when it is there.
    disk_path: Option<String>,
    present: bool,
}

/// The planned members of each md array of the layout, in layout order.
/// `kernel` maps a layout disk to its kernel path, for the disks present.
fn planned_members(
    loaded: &Loaded,
    kernel: &BTreeMap<String, String>,
) -> BTreeMap<String, Vec<Planned>> {
    let mut out: BTreeMap<String, Vec<Planned>> = BTreeMap::new();
    for (holder, content) in Walk::of(&loaded.layout).items {
        let Content::Mdraid(m) = content else {
            continue;
        };
        let (disk, device) = match holder {
            Holder::Disk(d) => (d, None),
            Holder::Partition(d, p) => (d, Some(number_of(d, &p.name))),
            _ => continue, // arrays on arrays or LUKS: not a disk to replace
        };
        let disk_path = kernel.get(&d_name(disk)).cloned();
        let present = disk_path.is_some();
        let base = disk_path.clone().unwrap_or_else(|| disk.device.v.clone());
        let device = match device {
            Some(n) => partition_path(&base, n),
            None => base,
        };
        out.entry(m.name.v.clone()).or_default().push(Planned {
            disk: d_name(disk),
            device,
            disk_path,
            present,
        });
    }
    out
}

/// A partition's number: its place when the table is laid out, by priority
/// then in layout order (as `plan::geometry` places them).
fn number_of(d: &crate::layout::Disk, part: &str) -> u32 {
    let Some(Content::Gpt(g)) = &d.content else {
        return 1;
    };
    let mut order: Vec<_> = g.partitions.iter().collect();
    order.sort_by_key(|p| p.priority);
    order
        .iter()
        .position(|p| p.name == part)
        .map_or(1, |i| i as u32 + 1)
}

fn d_name(d: &crate::layout::Disk) -> String {
    d.name.clone()
}

/// How one planned member stands: `None` when it is in sync in `running`.
fn member_state(
    obs: &Observed,
    p: &Planned,
    running: Option<&MdArray>,
    uuid: Option<&str>,
) -> Option<How> {
    if !p.present {
        return Some(How::Absent);
    }
    if let Some(a) = running
        && let Some(m) = a.members.iter().find(|m| m.device == p.device)
    {
        return match m.state.as_str() {
            "faulty" => Some(How::Faulty),
            _ => None,
        };
    }
    let is_ours = |s: &Signature| ours(s, uuid);
    match gone_how(obs, p.disk_path.as_deref(), &p.device, is_ours) {
        // A member of the stopped array, present: in sync as far as md knows.
        How::Stale if running.is_none() => None,
        how => Some(how),
    }
}

/// How a planned member that is present but not in its array stands: its
/// disk or itself unreadable, carrying the array's own superblock (`is_ours`:
/// out of date), holding something else, or blank.
fn gone_how(
    obs: &Observed,
    disk_path: Option<&str>,
    device: &str,
    is_ours: impl Fn(&Signature) -> bool,
) -> How {
    let unread = disk_path
        .into_iter()
        .chain([device])
        .find_map(|d| unknown(obs, d).into_iter().next());
    if let Some((_, error)) = unread {
        return How::Unreadable(error);
    }
    match signature(obs, device) {
        Some(s) if is_ours(s) => How::Stale,
        Some(s) => How::Holds(show_sig(s)),
        None => match find_disk(obs, device) {
            // The member is the whole disk: what else is on it says.
            Some(d) => describe_disk(Some(d)).map_or(How::Blank, How::Holds),
            // A partition that does not exist yet, or holds nothing.
            None => How::Blank,
        },
    }
}

/// A superblock of the array with this UUID (blkid's form has dashes where
/// mdadm's has colons).
fn ours(s: &Signature, uuid: Option<&str>) -> bool {
    let norm = |u: &str| u.replace([':', '-'], "").to_ascii_lowercase();
    s.fstype == "linux_raid_member"
        && match (uuid, &s.uuid) {
            (Some(want), Some(have)) => norm(want) == norm(have),
            _ => false,
        }
}

/// The UUID of the array `name` as it exists: the assembled array's, else
/// the one most of its planned members' superblocks carry.
fn array_uuid(
    obs: &Observed,
    a: Option<&MdArray>,
    name: &str,
    members: &[Planned],
) -> Option<String> {
    if let Some(a) = a
        && !a.uuid.is_empty()
    {
        return Some(a.uuid.clone());
    }
    let mut count: BTreeMap<String, usize> = BTreeMap::new();
    for p in members.iter().filter(|p| p.present) {
        if let Some(s) = signature(obs, &p.device)
            && s.fstype == "linux_raid_member"
            && s.label
                .as_deref()
                .is_some_and(|l| l == name || l.ends_with(&format!(":{name}")))
            && let Some(u) = &s.uuid
        {
            *count.entry(u.clone()).or_default() += 1;
        }
    }
    count.into_iter().max_by_key(|(_, n)| *n).map(|(u, _)| u)
}

/// The arrays of the layout that exist with members gone. `kernel` maps each
/// layout disk that is present (as a disk of its own) to its kernel path.
pub fn assess(loaded: &Loaded, obs: &Observed, kernel: &BTreeMap<String, String>) -> Vec<Degraded> {
    let mut out = Vec::new();
    for (name, members) in planned_members(loaded, kernel) {
        let level = loaded
            .layout
            .mdadm
            .iter()
            .find(|a| a.name == name)
            .map_or(0, |a| a.level.v);
        let devices: BTreeSet<&str> = members.iter().map(|p| p.device.as_str()).collect();
        // The assembled array: by name, else by a planned member in it.
        let observed = md_array(obs, &format!("/dev/md/{name}")).or_else(|| {
            obs.md_arrays.iter().find(|a| {
                a.members
                    .iter()
                    .any(|m| devices.contains(m.device.as_str()))
            })
        });
        let running = observed.filter(|a| a.is_running());
        // A running array of another shape (an older array that had the
        // name) is not this one with members gone: the other rules replace it.
        if let Some(a) = running
            && (a.level != format!("raid{level}") || a.raid_devices as usize != members.len())
        {
            continue;
        }
        let uuid = array_uuid(obs, observed, &name, &members);
        if observed.is_none() && uuid.is_none() {
            continue; // nothing of it exists: it is created, not repaired
        }
        let mut d = Degraded {
            array: name.clone(),
            kind: Kind::Md { level },
            device: observed.map(|a| a.path.clone()),
            running: running.is_some(),
            rebuilding: running.and_then(|a| match a.state {
                MdState::Recovering { percent } => Some((percent * 10.0) as u32),
                _ => None,
            }),
            in_sync: Vec::new(),
            gone: Vec::new(),
        };
        for p in &members {
            match member_state(obs, p, running, uuid.as_deref()) {
                None => d.in_sync.push((p.disk.clone(), p.device.clone())),
                Some(how) => d.gone.push(Gone {
                    disk: p.disk.clone(),
                    device: p.device.clone(),
                    how,
                    known_as: None,
                }),
            }
        }
        // Not ours to call degraded: a whole other array (nothing of this
        // one in sync), or one where every member that is gone holds
        // something else while nothing runs (an old set, for the other rules).
        if d.in_sync.is_empty() || (d.gone.is_empty() && d.rebuilding.is_none()) {
            continue;
        }
        out.push(d);
    }
    out.extend(btrfs::assess(loaded, obs, kernel));
    out.extend(zfs::assess(loaded, obs, kernel));
    out
}

/// Before a degraded array that was gathered but not started (udev's
/// incremental assembly waits for every member) is assembled on its members,
/// the inactive set holding them is stopped: it holds them, runs nothing.
pub(super) fn stop_inactive_first(plan: &mut Plan, degraded: &[Degraded]) {
    let mut i = 0;
    while i < plan.steps.len() {
        let st = &plan.steps[i];
        let inactive = match &st.action {
            Action::MdAssemble { name, .. } if st.change != Change::Keep => degraded
                .iter()
                .find(|d| &d.array == name && !d.running)
                .and_then(|d| d.device.clone()),
            _ => None,
        };
        if let Some(device) = inactive {
            let name = st.subject.clone();
            let stop = Step {
                id: 0,
                change: Change::Change,
                subject: name.clone(),
                description: format!(
                    "stop {device}, the members of {name} gathered but not started"
                ),
                reason: Some("its members are assembled again below".into()),
                disks: st.disks.clone(),
                action: Action::MdStop { device },
            };
            plan.steps.insert(i, stop);
            i += 1;
        }
        i += 1;
    }
}

/// The degraded btrfs a planned mkfs of `format` over `devices` is.
pub(super) fn btrfs_of<'a>(
    degraded: &'a [Degraded],
    format: &str,
    devices: &[String],
) -> Option<&'a Degraded> {
    (format == "btrfs").then_some(())?;
    degraded.iter().find(|d| {
        matches!(d.kind, Kind::Btrfs { .. }) && d.in_sync.iter().any(|(_, m)| devices.contains(m))
    })
}

/// A btrfs with devices gone mounts only with `-o degraded`: its mounts say so
/// (for rescue: apply and mount stop at the degraded filesystem anyway).
pub(super) fn mount_degraded(plan: &mut Plan, degraded: &[Degraded]) {
    for st in &mut plan.steps {
        let Action::Mount {
            source,
            fstype,
            options,
            ..
        } = &mut st.action
        else {
            continue;
        };
        if let Some(d) = btrfs_of(degraded, fstype, std::slice::from_ref(source))
            && d.can_run()
            && !options.iter().any(|o| o == "degraded")
        {
            options.push("degraded".into());
            if st.change != Change::Keep {
                st.reason = Some(format!("btrfs {} is degraded", d.array));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::can_run;

    #[test]
    fn md_runs_with_what_each_level_may_lose() {
        assert!(can_run(6, 5, 3));
        assert!(!can_run(6, 5, 2));
        assert!(can_run(5, 3, 2));
        assert!(!can_run(5, 3, 1));
        assert!(can_run(1, 2, 1));
        assert!(!can_run(0, 2, 1));
        assert!(can_run(10, 4, 2));
        assert!(!can_run(10, 4, 1));
    }
}
