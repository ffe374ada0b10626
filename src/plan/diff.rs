//! The plan against the live disks: each step becomes keep, create, change or
//! destroy, with the reason. Reuse rules: partitions by name + geometry + type;
//! a filesystem when its type (and label, when the layout sets one) match; an
//! md array by name when its members match — assembled, never re-created; a
//! LUKS container when the device holds one. Pure code over `probe::Observed`.

use super::{Action, Change, Plan, TableGeometry, partition_path};
use crate::layout::parttype;
use crate::layout::size::human;
use crate::probe::{Disk, Observed, Signature, Table};
use std::collections::HashSet;

/// What the diff found that forbids applying at all (not a step).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The layout disk concerned.
    pub disk: String,
    /// Why.
    pub reason: Why,
}

/// Why a disk is refused. Rendered once, by `Display`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    /// The layout's device is not there.
    Missing {
        /// The device path the layout (or `--disk`) gives.
        device: String,
    },
    /// An `expect:` pin does not match the device.
    Identity {
        /// The device probed.
        device: String,
        /// `expect.size`, `expect.serial` or `expect.model`.
        pin: &'static str,
        /// What the device has.
        found: String,
        /// What the layout expects.
        expected: String,
    },
    /// Data would be destroyed on a disk that is in use.
    Busy {
        /// Each use, e.g. `/dev/sda1 is mounted on /srv`.
        uses: Vec<String>,
    },
}

impl Why {
    /// Busy disks stop apply, but not `mount`/`unmount` (in use is what those are for)
    /// nor the diff (which only notes it).
    pub fn is_busy(&self) -> bool {
        matches!(self, Why::Busy { .. })
    }
}

impl std::fmt::Display for Why {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Why::Missing { device } => write!(f, "{device} is not present"),
            Why::Identity {
                device,
                pin,
                found,
                expected,
            } => match *pin {
                "expect.size" => write!(
                    f,
                    "{device} is {found}, the layout expects {expected} ({pin})"
                ),
                "expect.serial" => write!(
                    f,
                    "{device} has serial {found}, the layout expects {expected} ({pin})"
                ),
                _ => write!(
                    f,
                    "{device} is a {found}, the layout expects {expected} ({pin})"
                ),
            },
            Why::Busy { uses } => write!(f, "busy: {}; unmount or stop it first", uses.join(", ")),
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.disk, self.reason)
    }
}

/// Annotate `plan` (built with the observed devices and sizes) against `obs`.
pub fn diff(mut plan: Plan, obs: &Observed) -> (Plan, Vec<Refusal>) {
    let mut refusals = Vec::new();
    let mut kept_parts: HashSet<String> = HashSet::new();
    let mut rewritten: HashSet<String> = HashSet::new();
    // Disk-level verdicts first: they decide what happens to the partitions.
    let mut disk_verdict: Vec<(String, Change, Option<String>, Change)> = Vec::new(); // device, table change, reason, wipe change
    for dp in &plan.disks {
        let Some(d) = find_disk(obs, &dp.device) else {
            refusals.push(Refusal {
                disk: dp.name.clone(),
                reason: Why::Missing {
                    device: dp.device.clone(),
                },
            });
            continue;
        };
        let Some(t) = &dp.table else { continue };
        let (table_change, reason, wipe_change, kept) = compare_table(d, t, &dp.device);
        for n in kept {
            kept_parts.insert(partition_path(&dp.device, n));
        }
        if table_change != Change::Keep {
            rewritten.insert(dp.device.clone());
        }
        disk_verdict.push((dp.device.clone(), table_change, reason, wipe_change));
    }
    let mut created: HashSet<String> = HashSet::new(); // devices (re)made in this run
    // Arrays that exist but are not running: what they hold is unknown until
    // apply assembles them and looks again.
    let mut hidden: HashSet<String> = HashSet::new();
    for st in &mut plan.steps {
        let mut replace: Option<(Action, String)> = None;
        let (change, reason) = match &st.action {
            Action::WipeSignatures { device } => {
                if let Some((_, _, _, w)) = disk_verdict.iter().find(|v| &v.0 == device) {
                    let why =
                        (*w == Change::Destroy).then(|| describe_disk(find_disk(obs, device)));
                    (*w, why.flatten())
                } else if kept_parts.contains(device) {
                    (Change::Keep, None)
                } else {
                    (Change::Create, None)
                }
            }
            Action::WriteGpt { device, .. } => match disk_verdict.iter().find(|v| &v.0 == device) {
                Some((_, c, r, _)) => (*c, r.clone()),
                None => (Change::Create, None),
            },
            Action::WriteFirmware { .. } => (Change::Change, None),
            Action::Mkfs {
                format,
                devices,
                extra_args,
            } => {
                let c = fs_verdict(obs, &kept_parts, &created, devices, format, extra_args);
                if c.0 != Change::Keep {
                    created.extend(devices.iter().cloned());
                }
                c
            }
            Action::Mkswap { device } => {
                let c = fs_verdict(
                    obs,
                    &kept_parts,
                    &created,
                    std::slice::from_ref(device),
                    "swap",
                    &[],
                );
                if c.0 != Change::Keep {
                    created.insert(device.clone());
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
                let (c, r, assemble) = md_verdict(obs, &kept_parts, &created, name, members);
                if assemble {
                    hidden.insert(device.clone());
                    replace = Some((
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
                    ));
                }
                if c == Change::Create || c == Change::Destroy {
                    created.insert(device.clone());
                }
                (c, r)
            }
            Action::LuksFormat { device, name, .. } => {
                let sig = signature(obs, device);
                let c = if created.contains(device) || !kept(&kept_parts, device) {
                    (Change::Create, None)
                } else {
                    match sig {
                        None => (Change::Create, None),
                        Some(s) if s.fstype == "crypto_LUKS" => (Change::Keep, None),
                        Some(s) => (
                            Change::Destroy,
                            Some(format!(
                                "{device} holds {} where LUKS `{name}` is planned",
                                show_sig(s)
                            )),
                        ),
                    }
                };
                if c.0 != Change::Keep {
                    created.insert(format!("/dev/mapper/{name}"));
                }
                c
            }
            Action::LuksOpen { name, .. } => {
                if obs
                    .luks
                    .iter()
                    .any(|l| l.open_as.as_deref() == Some(name.as_str()))
                {
                    (Change::Keep, None)
                } else {
                    (Change::Create, None)
                }
            }
            Action::BtrfsSubvolume { device, name } => {
                let exists = !created.contains(device)
                    && obs.btrfs.iter().any(|b| {
                        b.devices.iter().any(|d| d == device)
                            && b.subvolumes
                                .iter()
                                .any(|s| s.trim_start_matches('/') == name.trim_start_matches('/'))
                    });
                (if exists { Change::Keep } else { Change::Create }, None)
            }
            Action::ZpoolCreate { name, .. } => (
                if obs.zpools.iter().any(|p| &p.name == name) {
                    Change::Keep
                } else {
                    Change::Create
                },
                None,
            ),
            Action::ZfsCreate { name, .. } => (
                if obs
                    .zpools
                    .iter()
                    .any(|p| p.datasets.iter().any(|d| d == name))
                {
                    Change::Keep
                } else {
                    Change::Create
                },
                None,
            ),
            Action::Unmount { .. } | Action::LuksClose { .. } | Action::MdStop { .. } => {
                (Change::Change, None)
            }
            Action::Mount { target, fstype, .. } => {
                let mounted = obs
                    .mounts
                    .iter()
                    .any(|m| &m.target == target && (m.fstype == *fstype || fstype == "zfs"));
                (
                    if mounted {
                        Change::Keep
                    } else {
                        Change::Create
                    },
                    None,
                )
            }
        };
        st.change = change;
        st.reason = reason;
        let on_hidden = match &st.action {
            Action::LuksFormat { device, name, .. } | Action::LuksOpen { device, name, .. } => {
                let h = hidden.contains(device);
                if h {
                    hidden.insert(format!("/dev/mapper/{name}"));
                }
                h
            }
            Action::Mkfs { devices, .. } => devices.iter().any(|d| hidden.contains(d)),
            Action::BtrfsSubvolume { device, .. } | Action::Mkswap { device } => {
                hidden.contains(device)
            }
            _ => false,
        };
        if on_hidden && st.change != Change::Keep {
            st.reason = Some(
                "not visible until the array is assembled; apply assembles it and looks again"
                    .into(),
            );
        }
        if let Some((a, d)) = replace {
            st.action = a;
            st.description = d;
        }
    }
    // A disk whose data is destroyed must not be in use (coreos-installer's
    // exclusive-access rule): mounted, swapped on, or held by md/dm.
    for dp in &plan.disks {
        if !plan.destructive().any(|st| st.disks.contains(&dp.name)) {
            continue;
        }
        let Some(d) = find_disk(obs, &dp.device) else {
            continue;
        };
        let mut busy = Vec::new();
        for (path, mps, holders) in std::iter::once((&d.path, &d.mountpoints, &d.holders)).chain(
            d.partitions
                .iter()
                .map(|p| (&p.path, &p.mountpoints, &p.holders)),
        ) {
            for m in mps {
                busy.push(format!("{path} is mounted on {m}"));
            }
            for h in holders {
                busy.push(format!("{path} is held by {h}"));
            }
            if obs.swaps.iter().any(|s| s == path) {
                busy.push(format!("{path} is in use as swap"));
            }
        }
        if !busy.is_empty() {
            refusals.push(Refusal {
                disk: dp.name.clone(),
                reason: Why::Busy { uses: busy },
            });
        }
    }
    (plan, refusals)
}

fn kept(kept_parts: &HashSet<String>, device: &str) -> bool {
    // Devices that are not partitions of a planned table (md, mapper, zvol,
    // whole disks) count as kept: their own verdicts decide.
    kept_parts.contains(device) || !looks_like_partition(device)
}

fn looks_like_partition(device: &str) -> bool {
    !device.starts_with("/dev/md/")
        && !device.starts_with("/dev/mapper/")
        && !device.starts_with("/dev/zvol/")
        && device.ends_with(|c: char| c.is_ascii_digit())
}

/// The observed disk behind a planned device path (kernel path or a by-path/by-id link).
pub fn find_disk<'a>(obs: &'a Observed, device: &str) -> Option<&'a Disk> {
    obs.disks.iter().find(|d| d.answers_to(device))
}

/// The signature on any device: a disk, a partition, an md array, an open LUKS volume.
pub fn signature<'a>(obs: &'a Observed, device: &str) -> Option<&'a Signature> {
    for d in &obs.disks {
        if d.path == device {
            return d.signature.as_ref();
        }
        if let Some(p) = d.partitions.iter().find(|p| p.path == device) {
            return p.signature.as_ref();
        }
    }
    if let Some(name) = device.strip_prefix("/dev/md/") {
        return obs
            .md_arrays
            .iter()
            .find(|a| a.name.as_deref() == Some(name) || a.path == device)
            .and_then(|a| a.signature.as_ref());
    }
    if let Some(name) = device.strip_prefix("/dev/mapper/") {
        return obs
            .luks
            .iter()
            .find(|l| l.open_as.as_deref() == Some(name))
            .and_then(|l| l.open.as_ref())
            .and_then(|m| m.signature.as_ref());
    }
    obs.md_arrays
        .iter()
        .find(|a| a.path == device)
        .and_then(|a| a.signature.as_ref())
}

fn show_sig(s: &Signature) -> String {
    let mut out = s.fstype.clone();
    if let Some(l) = &s.label {
        out.push_str(&format!(" '{l}'"));
    }
    if let Some(u) = s.used_bytes {
        out.push_str(&format!(", {} used", human(u)));
    }
    out
}

fn describe_disk(d: Option<&Disk>) -> Option<String> {
    let d = d?;
    let mut what = Vec::new();
    match &d.table {
        Table::Gpt(g) => what.push(format!(
            "a GPT with {} partition{}",
            g.entries.len(),
            if g.entries.len() == 1 { "" } else { "s" }
        )),
        Table::Mbr => what.push("an MBR partition table".to_string()),
        Table::Unknown(t) => what.push(format!("a {t} partition table")),
        Table::None => {}
    }
    if let Some(s) = &d.signature {
        what.push(show_sig(s));
    }
    for p in &d.partitions {
        if let Some(s) = &p.signature {
            what.push(format!("{}: {}", p.path, show_sig(s)));
        }
    }
    if what.is_empty() {
        None
    } else {
        Some(format!("{} holds {}", d.path, what.join("; ")))
    }
}

/// Label given to mkfs in the layout's extraArgs (`-L x`, vfat `-n x`).
fn wanted_label(format: &str, args: &[String]) -> Option<String> {
    let flag = if format == "vfat" { "-n" } else { "-L" };
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn fs_verdict(
    obs: &Observed,
    kept_parts: &HashSet<String>,
    created: &HashSet<String>,
    devices: &[String],
    format: &str,
    args: &[String],
) -> (Change, Option<String>) {
    if devices
        .iter()
        .any(|d| created.contains(d) || !kept(kept_parts, d))
    {
        return (Change::Create, None);
    }
    let label = wanted_label(format, args);
    let sigs: Vec<(&String, Option<&Signature>)> =
        devices.iter().map(|d| (d, signature(obs, d))).collect();
    if sigs.iter().all(|(_, s)| s.is_none()) {
        return (Change::Create, None);
    }
    let want = match &label {
        Some(l) => format!("{format} '{l}'"),
        None => format.to_string(),
    };
    let matching = |s: &Signature| {
        s.fstype == format && label.as_ref().is_none_or(|l| s.label.as_ref() == Some(l))
    };
    let uuids: HashSet<Option<&String>> = sigs
        .iter()
        .filter_map(|(_, s)| s.map(|s| s.uuid.as_ref()))
        .collect();
    if sigs.iter().all(|(_, s)| s.is_some_and(matching)) && uuids.len() == 1 {
        return (Change::Keep, None);
    }
    // Something is there and it is not (all of) the planned filesystem.
    let found: Vec<String> = sigs
        .iter()
        .map(|(d, s)| match s {
            Some(s) if !matching(s) => format!("{d} holds {} where {want} is planned", show_sig(s)),
            Some(_) if uuids.len() > 1 => format!("{d} is part of another {format} filesystem"),
            Some(_) => format!("{d} holds the planned {format}"),
            None => format!("{d} is not part of the existing {format} filesystem"),
        })
        .filter(|m| !m.ends_with(&format!("holds the planned {format}")))
        .collect();
    (Change::Destroy, Some(found.join("; ")))
}

fn md_verdict(
    obs: &Observed,
    kept_parts: &HashSet<String>,
    created: &HashSet<String>,
    name: &str,
    members: &[String],
) -> (Change, Option<String>, bool) {
    let want: HashSet<&str> = members.iter().map(String::as_str).collect();
    if let Some(a) = obs
        .md_arrays
        .iter()
        .find(|a| a.name.as_deref() == Some(name))
    {
        let have: HashSet<&str> = a.members.iter().map(|m| m.device.as_str()).collect();
        if have == want {
            return (Change::Keep, None, false);
        }
        return (
            Change::Destroy,
            Some(format!(
                "array {name} exists with members {} where {} are planned",
                sorted(&have),
                sorted(&want)
            )),
            false,
        );
    }
    if members
        .iter()
        .any(|m| created.contains(m) || !kept(kept_parts, m))
    {
        return (Change::Create, None, false);
    }
    // Not running: assemble it when every member carries this array's superblock.
    let sigs: Vec<Option<&Signature>> = members.iter().map(|m| signature(obs, m)).collect();
    let is_member = |s: &&Signature| {
        s.fstype == "linux_raid_member"
            && s.label
                .as_deref()
                .is_some_and(|l| l == name || l.ends_with(&format!(":{name}")))
    };
    if sigs.iter().all(|s| s.as_ref().is_some_and(is_member)) {
        let uuids: HashSet<_> = sigs.iter().flatten().map(|s| s.uuid.clone()).collect();
        if uuids.len() == 1 {
            return (
                Change::Change,
                Some(format!(
                    "array {name} exists on its members but is not running"
                )),
                true,
            );
        }
    }
    if sigs.iter().all(Option::is_none) {
        return (Change::Create, None, false);
    }
    let found: Vec<String> = members
        .iter()
        .zip(&sigs)
        .filter_map(|(m, s)| s.map(|s| format!("{m} holds {}", show_sig(s))))
        .collect();
    (Change::Destroy, Some(found.join("; ")), false)
}

fn sorted(s: &HashSet<&str>) -> String {
    let mut v: Vec<&str> = s.iter().copied().collect();
    v.sort();
    v.join(" ")
}

/// Compare a disk's table with the planned one: (table change, reason, disk
/// wipe change, numbers of partitions kept).
fn compare_table(
    d: &Disk,
    t: &TableGeometry,
    device: &str,
) -> (Change, Option<String>, Change, Vec<u32>) {
    let blank = matches!(d.table, Table::None) && d.signature.is_none() && d.partitions.is_empty();
    if blank {
        return (Change::Create, None, Change::Keep, Vec::new());
    }
    let Table::Gpt(g) = &d.table else {
        let why =
            describe_disk(Some(d)).unwrap_or_else(|| format!("{device} holds something else"));
        return (Change::Destroy, Some(why), Change::Destroy, Vec::new());
    };
    let mut kept = Vec::new();
    let mut lost = Vec::new();
    let mut attr_only = Vec::new();
    for e in &g.entries {
        let planned = t.partitions.iter().find(|p| p.number == e.number);
        let same = planned.is_some_and(|p| {
            p.first_lba == e.first_lba
                && p.last_lba == e.last_lba
                && p.type_guid.eq_ignore_ascii_case(&e.type_guid)
                && p.label == e.name
        });
        if same {
            kept.push(e.number);
            if planned.is_some_and(|p| p.attributes != e.attributes) {
                attr_only.push(e.number);
            }
        } else {
            let held = d
                .partitions
                .iter()
                .find(|p| p.number == e.number)
                .and_then(|p| p.signature.as_ref())
                .map(|s| format!(" holding {}", show_sig(s)))
                .unwrap_or_default();
            let what = match planned {
                Some(p) if p.first_lba != e.first_lba || p.last_lba != e.last_lba => format!(
                    "partition {} `{}` is at sectors {}..{}, planned {}..{}{held}",
                    e.number, e.name, e.first_lba, e.last_lba, p.first_lba, p.last_lba
                ),
                Some(p) if !p.type_guid.eq_ignore_ascii_case(&e.type_guid) => format!(
                    "partition {} type {} expected, found {}{held}",
                    e.number,
                    parttype::short_name(&p.type_guid),
                    parttype::short_name(&e.type_guid)
                ),
                Some(p) => format!(
                    "partition {} is named `{}`, planned `{}`{held}",
                    e.number, e.name, p.label
                ),
                None => format!(
                    "partition {} `{}` is not in the layout{held}",
                    e.number, e.name
                ),
            };
            lost.push(what);
        }
    }
    let added = t.partitions.len() - kept.len();
    if lost.is_empty() && added == 0 && attr_only.is_empty() && g.primary_ok && g.backup_ok {
        return (Change::Keep, None, Change::Keep, kept);
    }
    if lost.is_empty() {
        let mut why = Vec::new();
        if added > 0 {
            why.push(format!(
                "{added} partition{} to add",
                if added == 1 { "" } else { "s" }
            ));
        }
        if !attr_only.is_empty() {
            why.push("attributes differ".to_string());
        }
        if !g.primary_ok || !g.backup_ok {
            why.push(format!(
                "the {} GPT header is damaged",
                if g.primary_ok { "backup" } else { "primary" }
            ));
        }
        return (Change::Change, Some(why.join("; ")), Change::Keep, kept);
    }
    let wipe = if kept.is_empty() {
        Change::Destroy
    } else {
        Change::Keep
    };
    (Change::Destroy, Some(lost.join("; ")), wipe, kept)
}

/// Resolve the layout's devices against `obs`, check identity pins, plan
/// with the observed sizes and sector sizes, and diff. Layout problems come
/// back as a report (exit 2); refusals (missing disk, pin mismatch) with the plan.
pub fn against(
    loaded: &crate::layout::Loaded,
    obs: &Observed,
    opts: &super::Options,
) -> Result<(Plan, Vec<Refusal>), crate::layout::Report> {
    use super::{DiskFacts, SizeSource};
    let mut refusals = Vec::new();
    let mut layout = loaded.clone();
    let mut opts = opts.clone();
    for d in &mut layout.layout.disks {
        let Some(o) = find_disk(obs, &d.device.v) else {
            refusals.push(Refusal {
                disk: d.name.clone(),
                reason: Why::Missing {
                    device: d.device.v.clone(),
                },
            });
            continue;
        };
        if let Some(s) = &d.expect.size
            && !opts.ignore_expect
            && let crate::layout::size::Size::Bytes(b) = s.v.size
            && o.size_bytes.abs_diff(b) > s.v.tolerance.max(o.logical_sector_size as u64)
        {
            refusals.push(Refusal {
                disk: d.name.clone(),
                reason: Why::Identity {
                    device: o.path.clone(),
                    pin: "expect.size",
                    found: human(o.size_bytes),
                    expected: human(b),
                },
            });
        }
        if let Some(s) = &d.expect.serial
            && !opts.ignore_expect
            && o.serial.as_deref() != Some(s.v.as_str())
        {
            refusals.push(Refusal {
                disk: d.name.clone(),
                reason: Why::Identity {
                    device: o.path.clone(),
                    pin: "expect.serial",
                    found: o.serial.as_deref().unwrap_or("(none)").to_string(),
                    expected: s.v.clone(),
                },
            });
        }
        if let Some(m) = &d.expect.model
            && !opts.ignore_expect
            && o.model.as_deref().map(str::trim) != Some(m.v.as_str())
        {
            refusals.push(Refusal {
                disk: d.name.clone(),
                reason: Why::Identity {
                    device: o.path.clone(),
                    pin: "expect.model",
                    found: o.model.as_deref().unwrap_or("(unknown model)").to_string(),
                    expected: m.v.clone(),
                },
            });
        }
        // Plan with the kernel's name: by-path links may not exist without udev.
        d.device.v = o.path.clone();
        opts.facts.insert(
            d.name.clone(),
            DiskFacts {
                size_bytes: o.size_bytes,
                sector: o.logical_sector_size.max(512),
                source: SizeSource::Probe,
            },
        );
    }
    let missing: HashSet<String> = refusals
        .iter()
        .filter(|r| matches!(r.reason, Why::Missing { .. }))
        .map(|r| r.disk.clone())
        .collect();
    if !missing.is_empty() {
        // Without the disk there is nothing to diff against; plan what exists.
        layout
            .layout
            .disks
            .retain(|d| !missing.contains(d.name.as_str()));
    }
    let plan = super::build(&layout, &opts)?;
    let (plan, more) = diff(plan, obs);
    refusals.extend(more.into_iter().filter(|r| !missing.contains(&r.disk)));
    Ok((plan, refusals))
}
