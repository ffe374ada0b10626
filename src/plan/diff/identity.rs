//! Which live device each layout disk is: present, one block device per disk,
//! a whole disk (not a partition, not an array or mapping), and the one its
//! `expect:` pins describe. Then the plan is built with the sizes the probe
//! saw and diffed.

use super::lookup::find_disk;
use super::{Refusal, Why, diff};
use crate::layout::size::human;
use crate::plan::{DiskFacts, Options, Plan, SizeSource};
use crate::probe::{Disk, Observed, PathTarget};
use std::collections::{BTreeMap, HashSet};

/// What a layout disk's device path leads to.
enum Found<'a> {
    Disk(&'a Disk),
    Not(Why),
}

/// Resolve a layout device path: through the probe's own lookup of that path
/// when it made one (so `/dev/sda` and its by-id link are one device), else
/// by kernel path and udev links.
fn resolve<'a>(obs: &'a Observed, device: &str) -> Found<'a> {
    let missing = || {
        Found::Not(Why::Missing {
            device: device.to_string(),
        })
    };
    let Some(p) = obs.paths.iter().find(|p| p.path == device) else {
        return find_disk(obs, device).map_or_else(missing, Found::Disk);
    };
    let dev = |k: &str| format!("/dev/{k}");
    match &p.is {
        PathTarget::Disk(k) => obs
            .disks
            .iter()
            .find(|d| &d.name == k)
            .map_or_else(missing, Found::Disk),
        PathTarget::Partition { kname, disk } => Found::Not(Why::Partition {
            device: device.to_string(),
            partition: dev(kname),
            disk: dev(disk),
        }),
        PathTarget::Md(k) => Found::Not(Why::Stacked {
            device: device.to_string(),
            kernel: dev(k),
            what: "an md array".into(),
        }),
        PathTarget::Dm(k) => Found::Not(Why::Stacked {
            device: device.to_string(),
            kernel: dev(k),
            what: "a device-mapper device".into(),
        }),
        PathTarget::Other { kname, kind } => Found::Not(Why::Stacked {
            device: device.to_string(),
            kernel: dev(kname),
            what: format!("a {kind} device"),
        }),
        PathTarget::Nothing(_) => missing(),
    }
}

/// The `expect:` pins `o` fails.
fn pins(d: &crate::layout::Disk, o: &Disk) -> Vec<Why> {
    let mut out = Vec::new();
    if let Some(s) = &d.expect.size
        && let crate::layout::size::Size::Bytes(b) = s.v.size
        && o.size_bytes.abs_diff(b) > s.v.tolerance.max(o.logical_sector_size as u64)
    {
        out.push(Why::Identity {
            device: o.path.clone(),
            pin: "expect.size",
            found: human(o.size_bytes),
            expected: human(b),
        });
    }
    if let Some(s) = &d.expect.serial
        && o.serial.as_deref() != Some(s.v.as_str())
    {
        out.push(Why::Identity {
            device: o.path.clone(),
            pin: "expect.serial",
            found: o.serial.as_deref().unwrap_or("(none)").to_string(),
            expected: s.v.clone(),
        });
    }
    if let Some(m) = &d.expect.model
        && o.model.as_deref().map(str::trim) != Some(m.v.as_str())
    {
        out.push(Why::Identity {
            device: o.path.clone(),
            pin: "expect.model",
            found: o.model.as_deref().unwrap_or("(unknown model)").to_string(),
            expected: m.v.clone(),
        });
    }
    out
}

/// Resolve the layout's devices against `obs`, check identity pins, plan
/// with the observed sizes and sector sizes, and diff. Layout problems come
/// back as a report (exit 2); refusals (missing disk, not a disk, one device
/// twice, pin mismatch, and the diff's own) with the plan. Disks that are not
/// there as a disk of their own are left out of the plan.
pub fn against(
    loaded: &crate::layout::Loaded,
    obs: &Observed,
    opts: &Options,
) -> Result<(Plan, Vec<Refusal>), crate::layout::Report> {
    let mut refusals = Vec::new();
    let mut layout = loaded.clone();
    let mut opts = opts.clone();
    let mut absent: HashSet<String> = HashSet::new();
    let mut taken: BTreeMap<String, String> = BTreeMap::new(); // kernel path → layout disk
    let mut kernel: BTreeMap<String, String> = BTreeMap::new(); // layout disk → kernel path
    for d in &mut layout.layout.disks {
        let mut refuse = |reason: Why| {
            refusals.push(Refusal {
                disk: d.name.clone(),
                reason,
            })
        };
        let o = match resolve(obs, &d.device.v) {
            Found::Disk(o) => o,
            Found::Not(why) => {
                refuse(why);
                absent.insert(d.name.clone());
                continue;
            }
        };
        if let Some(other) = taken.get(&o.path) {
            refuse(Why::SameDevice {
                device: d.device.v.clone(),
                kernel: o.path.clone(),
                other: other.clone(),
            });
            absent.insert(d.name.clone());
            continue;
        }
        taken.insert(o.path.clone(), d.name.clone());
        kernel.insert(d.name.clone(), o.path.clone());
        if !opts.ignore_expect {
            for why in pins(d, o) {
                refuse(why);
            }
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
    if !absent.is_empty() {
        // Without the disk there is nothing to diff against; plan what exists.
        layout
            .layout
            .disks
            .retain(|d| !absent.contains(d.name.as_str()));
    }
    let degraded = super::degraded::assess(loaded, obs, &kernel);
    // A disk that is gone from a degraded array md can run without it is
    // that array's state, shown as such, not a reason to stop looking.
    refusals.retain(|r| !gone_from_degraded(&degraded, r));
    let plan = crate::plan::build(&layout, &opts)?;
    let (plan, more) = diff(plan, obs, &degraded);
    for mut r in more
        .into_iter()
        .filter(|r| !absent.contains(&r.disk) && !gone_from_degraded(&degraded, r))
    {
        // The plan leaves absent disks out; the array still wants them.
        if let Why::NotRunning { planned, .. } = &mut r.reason {
            *planned = members_in(loaded, &r.disk).max(*planned);
        }
        refusals.push(r);
    }
    refusals.extend(degraded.into_iter().map(|d| Refusal {
        disk: d.array.clone(),
        reason: Why::Degraded(d),
    }));
    Ok((plan, refusals))
}

/// A refusal about a disk that is gone (absent, or unreadable) from an array
/// md can run without it: that array's state, shown as such, not a reason to
/// stop looking. Apply still stops, on the degraded array.
fn gone_from_degraded(degraded: &[super::Degraded], r: &Refusal) -> bool {
    use super::How;
    let gone = |how: &How| {
        matches!(
            (&r.reason, how),
            (Why::Missing { .. }, How::Absent) | (Why::Unreadable { .. }, How::Unreadable(_))
        )
    };
    degraded
        .iter()
        .any(|d| d.can_run() && d.gone_on(&r.disk).is_some_and(|g| gone(&g.how)))
}

/// How many members the layout gives array `name`, on every disk it names.
fn members_in(loaded: &crate::layout::Loaded, name: &str) -> usize {
    use crate::layout::Content;
    crate::layout::validate::Walk::of(&loaded.layout)
        .items
        .iter()
        .filter(|(_, c)| matches!(c, Content::Mdraid(m) if m.name.v == name))
        .count()
}
