//! From the plan (what the layout made, by the plan's device paths) and the
//! observed state (what those devices are called for good: UUIDs) to the
//! parts of the module, decided by `rules`.

use super::Refusal;
use super::rules;
use crate::layout::{Content, Layout, Swap};
use crate::plan::diff::{kernel_path, md_array, signature};
use crate::plan::{Action, Change, Plan};
use crate::probe::{Observed, Signature};
use std::collections::{HashMap, HashSet};

/// Everything the module says, in the order it says it.
#[derive(Debug, Default)]
pub(super) struct Model {
    pub filesystems: Vec<FsEntry>,
    pub swaps: Vec<SwapEntry>,
    pub arrays: Vec<Array>,
    pub luks: Vec<LuksEntry>,
    pub pools: Vec<String>,
    pub host_id: Option<String>,
}

/// One `fileSystems."<mountpoint>"`.
#[derive(Debug)]
pub(super) struct FsEntry {
    pub mountpoint: String,
    pub device: String,
    pub fs_type: String,
    pub options: Vec<String>,
}

/// One `swapDevices` entry.
#[derive(Debug)]
pub(super) struct SwapEntry {
    pub device: String,
    pub random_encryption: bool,
    pub priority: Option<i64>,
}

/// One md array for mdadm.conf.
#[derive(Debug)]
pub(super) struct Array {
    pub name: String,
    pub uuid: String,
    pub metadata: Option<String>,
}

/// One LUKS volume and when it opens.
#[derive(Debug)]
pub(super) struct LuksEntry {
    pub name: String,
    pub uuid: String,
    pub allow_discards: bool,
    pub opens: Opens,
}

/// When a LUKS volume opens.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Opens {
    /// In the initrd: something NixOS mounts there lies on it.
    Initrd,
    /// In stage 2 from crypttab; `nofail` when only data lies on it.
    Stage2 { nofail: bool },
}

pub(super) fn gather(plan: &Plan, obs: &Observed, layout: &Layout) -> Result<Model, Refusal> {
    ready(plan)?;
    let parents = parents(plan);
    let swaps_of = swap_contents(layout);
    let mut m = Model::default();
    // Users of each device: (installed mountpoint or None for swap, resume device).
    let mut users: Vec<(Vec<String>, Option<String>, bool)> = Vec::new();
    for s in &plan.steps {
        match &s.action {
            Action::Mount {
                source,
                target,
                fstype,
                options,
            } => {
                let mp = rules::installed_path(target, &plan.mount_root).ok_or_else(|| {
                    Refusal::OutsideRoot {
                        target: target.clone(),
                        root: plan.mount_root.clone(),
                    }
                })?;
                let (device, has_device, options) = if fstype == "zfs" {
                    let opts = crate::plan::zfs::mount_options_of(&plan.steps, source, options);
                    (source.clone(), true, opts)
                } else if !source.starts_with("/dev/") {
                    (source.clone(), false, options.clone())
                } else {
                    (fs_device(obs, source)?, true, options.clone())
                };
                users.push((ancestors(&parents, source), Some(mp.clone()), false));
                m.filesystems.push(FsEntry {
                    options: rules::mount_options(&mp, has_device, &options),
                    mountpoint: mp,
                    device,
                    fs_type: fstype.clone(),
                });
            }
            Action::Mkswap { device } => {
                let flags = swaps_of.get(s.subject.as_str());
                let random_encryption = flags.is_some_and(|f| f.random_encryption);
                let resume = flags.is_some_and(|f| f.resume_device);
                let dev = if random_encryption {
                    // Its signature is overwritten on every boot: name the partition.
                    stable_path(obs, device)
                } else {
                    fs_device(obs, device)?
                };
                users.push((ancestors(&parents, device), None, resume));
                m.swaps.push(SwapEntry {
                    device: dev,
                    random_encryption,
                    priority: flags.and_then(|f| f.priority),
                });
            }
            Action::MdCreate { name, device, .. } | Action::MdAssemble { name, device, .. } => {
                let metadata = match &s.action {
                    Action::MdCreate { metadata, .. } => Some(metadata.clone()),
                    _ => md_array(obs, device).and_then(|a| a.metadata.clone()),
                };
                m.arrays.push(Array {
                    name: name.clone(),
                    uuid: array_uuid(obs, device)?,
                    metadata: metadata.filter(|v| v != "default"),
                });
            }
            // A btrfs swap file, by its path on the installed system (disko's
            // swapDevices for it); on the root filesystem's devices, like its mount.
            Action::Swapon { file, priority } => {
                let path = rules::installed_path(file, &plan.mount_root).ok_or_else(|| {
                    Refusal::OutsideRoot {
                        target: file.clone(),
                        root: plan.mount_root.clone(),
                    }
                })?;
                m.swaps.push(SwapEntry {
                    device: path,
                    random_encryption: false,
                    priority: *priority,
                });
            }
            Action::ZpoolCreate { name, .. } => m.pools.push(name.clone()),
            _ => {}
        }
    }
    for s in &plan.steps {
        if let Action::LuksOpen {
            device,
            name,
            allow_discards,
            ..
        } = &s.action
        {
            let mapped = crate::layout::names::mapper_device(name);
            let on_it: Vec<&(Vec<String>, Option<String>, bool)> =
                users.iter().filter(|u| u.0.contains(&mapped)).collect();
            let initrd = on_it.iter().any(|(_, mp, resume)| {
                *resume || mp.as_deref().is_some_and(rules::needed_for_boot)
            });
            let opens = if initrd {
                Opens::Initrd
            } else {
                Opens::Stage2 {
                    nofail: on_it
                        .iter()
                        .all(|(_, mp, _)| mp.as_deref().is_none_or(rules::is_data_mount)),
                }
            };
            let uuid = match signature(obs, &kernel_path(obs, device)) {
                Some(Signature {
                    fstype,
                    uuid: Some(u),
                    ..
                }) if fstype == "crypto_LUKS" => u.clone(),
                _ => return Err(unidentified(device, "LUKS header UUID")),
            };
            m.luks.push(LuksEntry {
                name: name.clone(),
                uuid,
                allow_discards: *allow_discards,
                opens,
            });
        }
    }
    if !m.pools.is_empty() {
        let root = m.filesystems.iter().find(|f| f.mountpoint == "/");
        let seed = match root {
            Some(f) => f.device.clone(),
            None => m
                .filesystems
                .iter()
                .map(|f| f.device.as_str())
                .collect::<Vec<_>>()
                .join(" "),
        };
        m.host_id = Some(rules::host_id(&seed));
    }
    Ok(m)
}

/// The module names what exists: every step that makes something must be
/// done, and every array and LUKS volume up (what is inside a closed one has
/// no UUID to see). Mounts (and swapping on files) need not be.
fn ready(plan: &Plan) -> Result<(), Refusal> {
    if plan.steps.is_empty() {
        return Err(Refusal::NotInstalled(vec![
            "everything: the plan has no steps (no disk of the layout was planned)".into(),
        ]));
    }
    let todo = |pred: fn(&Action) -> bool| -> Vec<String> {
        plan.steps
            .iter()
            .filter(|s| s.change != Change::Keep && pred(&s.action))
            .map(|s| s.description.clone())
            .collect()
    };
    let down = todo(|a| matches!(a, Action::MdAssemble { .. } | Action::LuksOpen { .. }));
    if !down.is_empty() {
        return Err(Refusal::NotUp(down));
    }
    let missing = todo(|a| {
        !matches!(
            a,
            Action::Mount { .. }
                | Action::Unmount { .. }
                | Action::Swapon { .. }
                | Action::WriteFirmware { .. }
        )
    });
    if !missing.is_empty() {
        return Err(Refusal::NotInstalled(missing));
    }
    Ok(())
}

/// What each plan device lies on, one level: array members, the LUKS
/// container under a mapping, a pool's vdevs, a dataset's parent, the other
/// devices of a multi-device btrfs.
fn parents(plan: &Plan) -> HashMap<String, Vec<String>> {
    let mut p: HashMap<String, Vec<String>> = HashMap::new();
    for s in &plan.steps {
        match &s.action {
            Action::MdCreate {
                device, members, ..
            }
            | Action::MdAssemble {
                device, members, ..
            } => p.entry(device.clone()).or_default().extend(members.clone()),
            Action::LuksOpen { device, name, .. } => p
                .entry(crate::layout::names::mapper_device(name))
                .or_default()
                .push(device.clone()),
            Action::ZpoolCreate { name, devices, .. } => {
                p.entry(name.clone()).or_default().extend(devices.clone())
            }
            Action::ZfsCreate { name, .. } => {
                if let Some((parent, _)) = name.rsplit_once('/') {
                    p.entry(name.clone()).or_default().push(parent.into());
                }
            }
            Action::Mkfs { devices, .. } if devices.len() > 1 => p
                .entry(devices[0].clone())
                .or_default()
                .extend(devices[1..].to_vec()),
            _ => {}
        }
    }
    p
}

/// `dev` and everything it lies on.
fn ancestors(parents: &HashMap<String, Vec<String>>, dev: &str) -> Vec<String> {
    let mut seen: HashSet<String> = HashSet::new();
    let mut todo = vec![dev.to_string()];
    while let Some(d) = todo.pop() {
        if seen.insert(d.clone()) {
            todo.extend(parents.get(&d).cloned().unwrap_or_default());
        }
    }
    let mut v: Vec<String> = seen.into_iter().collect();
    v.sort();
    v
}

/// A filesystem's (or swap area's) device as the installed system finds it.
fn fs_device(obs: &Observed, device: &str) -> Result<String, Refusal> {
    let sig = signature(obs, &kernel_path(obs, device))
        .ok_or_else(|| unidentified(device, "signature"))?;
    for text in sig.uuid.iter().chain(&sig.label) {
        super::nix::plain(text).map_err(|e| Refusal::Unwritable {
            device: device.into(),
            text: e.text,
            why: e.why,
        })?;
    }
    rules::fs_device(sig.uuid.as_deref(), sig.label.as_deref())
        .ok_or_else(|| unidentified(device, "UUID or label"))
}

/// A name for a device that survives its contents being rewritten: the
/// partition's PARTUUID, else the plan's path (`/dev/md/…`, a by-path link).
fn stable_path(obs: &Observed, device: &str) -> String {
    let kp = kernel_path(obs, device);
    obs.disks
        .iter()
        .flat_map(|d| &d.partitions)
        .find(|p| p.path == kp)
        .and_then(|p| p.part_uuid.as_deref())
        .filter(|u| super::nix::plain(u).is_ok())
        .map(|u| format!("/dev/disk/by-partuuid/{}", super::nix::udev_encode(u)))
        .unwrap_or_else(|| device.to_string())
}

/// The array's UUID in mdadm's form: mdadm's report, else a member's superblock.
fn array_uuid(obs: &Observed, device: &str) -> Result<String, Refusal> {
    let a = md_array(obs, device).ok_or_else(|| unidentified(device, "running array"))?;
    let from_member = || {
        a.members.iter().find_map(|m| {
            signature(obs, &m.device)
                .filter(|s| s.fstype == "linux_raid_member")
                .and_then(|s| s.uuid.as_deref())
                .and_then(rules::mdadm_uuid)
        })
    };
    rules::mdadm_uuid(&a.uuid)
        .or_else(from_member)
        .ok_or_else(|| unidentified(device, "array UUID"))
}

fn unidentified(device: &str, what: &'static str) -> Refusal {
    Refusal::Unidentified {
        device: device.into(),
        what,
    }
}

/// The layout's swap areas by the subject their `mkswap` step has: the
/// partition's GPT name, the array's name, the LUKS volume's name.
fn swap_contents(layout: &Layout) -> HashMap<&str, &Swap> {
    fn walk<'a>(subject: &'a str, c: &'a Content, out: &mut HashMap<&'a str, &'a Swap>) {
        match c {
            Content::Swap(s) => {
                out.insert(subject, s);
            }
            Content::Luks(l) => {
                if let Some(inner) = &l.content {
                    walk(&l.name.v, inner, out);
                }
            }
            Content::Gpt(g) => {
                for p in &g.partitions {
                    if let Some(c) = &p.content {
                        walk(&p.label, c, out);
                    }
                }
            }
            _ => {}
        }
    }
    let mut out = HashMap::new();
    for d in &layout.disks {
        if let Some(c) = &d.content {
            walk(&d.name, c, &mut out);
        }
    }
    for a in &layout.mdadm {
        if let Some(c) = &a.content {
            walk(&a.name, c, &mut out);
        }
    }
    out
}
