//! The step builder: numbers steps, records which disks each device lives
//! on, and emits the steps that put a content on a device.

use super::super::{Action, Change, KeySource, Step};
use crate::layout::model::*;
use crate::layout::names;
use std::collections::{HashMap, VecDeque};

/// mkfs on SD/eMMC: skip the whole-device discard mkfs does by default; on a
/// fresh card it buys nothing and QEMU's SD model turns it into minutes of writes.
fn is_mmc(device: &str) -> bool {
    device.contains("mmcblk") || device.contains(".mmc") || device.contains("sdhci")
}

pub(super) struct Builder {
    pub(super) steps: Vec<Step>,
    /// Device path → the layout disks it lives on.
    pub(super) owners: HashMap<String, Vec<String>>,
    pub(super) mounts: Vec<(String, String, String, Vec<String>)>,
    /// by-partlabel paths and device paths → planned partition device.
    pub(super) aliases: HashMap<String, String>,
}

impl Builder {
    pub(super) fn push(
        &mut self,
        change: Change,
        subject: &str,
        description: String,
        action: Action,
    ) {
        let id = self.steps.len() as u32 + 1;
        let disks = self.owners_of(&action);
        self.steps.push(Step {
            id,
            change,
            subject: subject.to_string(),
            description,
            reason: None,
            disks,
            action,
        });
    }

    /// Record that `dev` lives on the disks of `from` (one or more devices).
    pub(super) fn own(&mut self, dev: &str, from: &[String]) {
        let mut v: Vec<String> = from
            .iter()
            .flat_map(|f| self.owners.get(f).cloned().unwrap_or_default())
            .collect();
        v.sort();
        v.dedup();
        self.owners.insert(dev.to_string(), v);
    }

    fn owners_of(&self, a: &Action) -> Vec<String> {
        let devs = a.devices();
        let mut v: Vec<String> = devs
            .iter()
            .flat_map(|d| self.owners.get(*d).cloned().unwrap_or_default())
            .collect();
        v.sort();
        v.dedup();
        v
    }

    pub(super) fn mount(
        &mut self,
        mp: &Option<At<String>>,
        source: &str,
        fstype: &str,
        options: &[String],
    ) {
        if let Some(m) = mp {
            self.mounts.push((
                m.v.clone(),
                source.to_string(),
                fstype.to_string(),
                options.to_vec(),
            ));
        }
    }

    /// Emit the steps that put `c` on `dev`; returns follow-up (device, content) pairs.
    pub(super) fn content<'c>(
        &mut self,
        subject: &str,
        dev: &str,
        c: &'c Content,
        out: &mut VecDeque<(String, String, &'c Content)>,
    ) {
        match c {
            Content::Gpt(_) => {}
            Content::Filesystem(f) => {
                let mut args = f.extra_args.clone();
                if is_mmc(dev) {
                    match f.format.v {
                        FsFormat::Ext4 | FsFormat::Ext3 | FsFormat::Ext2 => args
                            .splice(0..0, ["-E".to_string(), "nodiscard".to_string()])
                            .for_each(drop),
                        FsFormat::Xfs => args.insert(0, "-K".into()),
                        FsFormat::Btrfs => args.insert(0, "--nodiscard".into()),
                        FsFormat::Vfat => {}
                    }
                }
                let fmt = f.format.v.as_str();
                self.push(
                    Change::Create,
                    subject,
                    format!("make {fmt} on {dev}"),
                    Action::Mkfs {
                        format: fmt.into(),
                        devices: vec![dev.into()],
                        extra_args: args,
                    },
                );
                self.mount(&f.mountpoint, dev, fmt, &f.mount_options);
            }
            Content::Swap(_) => {
                self.push(
                    Change::Create,
                    subject,
                    format!("make swap on {dev}"),
                    Action::Mkswap { device: dev.into() },
                );
            }
            Content::Luks(l) => {
                let key = if let Some(p) = &l.password_file {
                    KeySource::PasswordFile(p.v.clone())
                } else if let Some(k) = &l.key_file {
                    KeySource::KeyFile(k.v.clone())
                } else {
                    KeySource::Ask
                };
                let name = l.name.v.clone();
                let mapped = names::mapper_device(&name);
                self.own(&mapped, &[dev.to_string()]);
                self.push(
                    Change::Create,
                    &name,
                    format!("format LUKS2 `{name}` on {dev}"),
                    Action::LuksFormat {
                        device: dev.into(),
                        name: name.clone(),
                        key: key.clone(),
                        extra_args: l.extra_format_args.clone(),
                    },
                );
                self.push(
                    Change::Create,
                    &name,
                    format!("open LUKS `{name}` as {mapped}"),
                    Action::LuksOpen {
                        device: dev.into(),
                        name: name.clone(),
                        key,
                        allow_discards: l.allow_discards,
                        extra_args: l.extra_open_args.clone(),
                    },
                );
                if let Some(inner) = &l.content {
                    out.push_back((name.clone(), mapped, inner));
                }
            }
            Content::Btrfs(b) => {
                // Other devices of a multi-device filesystem are named in extraArgs.
                let mut devices = vec![dev.to_string()];
                let mut args = Vec::new();
                for a in &b.extra_args {
                    // Device paths are compared normalized, as validate does.
                    let key = names::device(a).unwrap_or_else(|_| a.clone());
                    match self.aliases.get(&key) {
                        Some(d) => devices.push(d.clone()),
                        None => args.push(a.clone()),
                    }
                }
                if is_mmc(dev) {
                    args.insert(0, "--nodiscard".into());
                }
                let desc = if devices.len() > 1 {
                    format!("make btrfs on {}", devices.join(" + "))
                } else {
                    format!("make btrfs on {dev}")
                };
                self.push(
                    Change::Create,
                    subject,
                    desc,
                    Action::Mkfs {
                        format: "btrfs".into(),
                        devices,
                        extra_args: args,
                    },
                );
                // Parents before children (`home` before `home/user`).
                let mut subs: Vec<&Subvolume> = b.subvolumes.iter().collect();
                subs.sort_by_key(|s| s.name.matches('/').count());
                for s in subs {
                    self.push(
                        Change::Create,
                        subject,
                        format!("create btrfs subvolume {} on {dev}", s.name),
                        Action::BtrfsSubvolume {
                            device: dev.into(),
                            name: s.name.clone(),
                        },
                    );
                }
                self.mount(&b.mountpoint, dev, "btrfs", &b.mount_options);
                for s in &b.subvolumes {
                    let mut opts = s.mount_options.clone();
                    opts.push(format!("subvol={}", s.name));
                    self.mount(&s.mountpoint, dev, "btrfs", &opts);
                }
            }
            Content::Mdraid(_) | Content::Zfs(_) => {
                unreachable!("members are gathered by the caller")
            }
        }
    }
}
