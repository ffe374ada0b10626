//! The step builder: numbers steps, records which disks each device lives
//! on, and emits the steps that put a content on a device.

use super::super::{Action, Change, KeySlice, KeySource, Step};
use crate::layout::model::*;
use crate::layout::names;
use std::collections::{HashMap, VecDeque};

/// mkfs on SD/eMMC: skip the whole-device discard mkfs does by default; on a
/// fresh card it buys nothing and QEMU's SD model turns it into minutes of writes.
fn is_mmc(device: &str) -> bool {
    device.contains("mmcblk") || device.contains(".mmc") || device.contains("sdhci")
}

/// A mount gathered while the contents are planned; mounts are emitted
/// last, parents first.
pub(super) struct Pending {
    pub(super) mountpoint: String,
    pub(super) source: String,
    pub(super) fstype: String,
    pub(super) options: Vec<String>,
    /// The mount hooks of what is mounted, and its name for them.
    pub(super) hooks: Vec<Hook>,
    pub(super) owner: String,
}

pub(super) struct Builder {
    pub(super) steps: Vec<Step>,
    /// Device path → the layout disks it lives on.
    pub(super) owners: HashMap<String, Vec<String>>,
    pub(super) mounts: Vec<Pending>,
    /// by-partlabel paths and device paths → planned partition device.
    pub(super) aliases: HashMap<String, String>,
    /// The install root the mounts are below.
    pub(super) mount_root: String,
    /// Swap files to swap on once everything is mounted: (file, priority).
    pub(super) swapons: Vec<(String, Option<i64>)>,
}

/// Where mountpoint `mp` is during the install, below `root`.
pub(super) fn below(root: &str, mp: &str) -> String {
    if mp == "/" {
        root.to_string()
    } else if root == "/" {
        mp.to_string()
    } else {
        format!("{root}{mp}")
    }
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

    /// Gather a mount of `owner`, whose mount `hooks` run around it.
    pub(super) fn mount(
        &mut self,
        mp: &Option<At<String>>,
        source: &str,
        fstype: &str,
        options: &[String],
        (hooks, owner): (&[Hook], &str),
    ) {
        if let Some(m) = mp {
            self.mounts.push(Pending {
                mountpoint: m.v.clone(),
                source: source.to_string(),
                fstype: fstype.to_string(),
                options: options.to_vec(),
                hooks: hooks
                    .iter()
                    .filter(|h| !h.kind.is_create())
                    .cloned()
                    .collect(),
                owner: owner.to_string(),
            });
        }
    }

    /// The id of the last step pushed.
    pub(super) fn last(&self) -> u32 {
        self.steps.len() as u32
    }

    /// Push `owner`'s hook of kind `kind`, if it has one, as a step of step
    /// `step` (0: the step is not pushed yet, see [`Builder::tie`]). `what`
    /// ends the description (the mount it runs around). Returns its index.
    pub(super) fn hook(
        &mut self,
        hooks: &[Hook],
        kind: HookKind,
        owner: &str,
        step: u32,
        what: &str,
    ) -> Option<usize> {
        let h = hook(hooks, kind)?;
        self.push(
            Change::Create,
            owner,
            format!("run {} of {owner}{what}", kind.as_str()),
            Action::Hook {
                hook: kind,
                owner: owner.to_string(),
                at: format!(
                    "{}:{}: {}",
                    h.script.pos.line, h.script.pos.col, h.script.path
                ),
                step: 0,
                script: h.script.v.clone(),
            },
        );
        let i = self.steps.len() - 1;
        if step != 0 {
            self.tie(Some(i), step);
        }
        Some(i)
    }

    /// Make the hook at index `i` a step of step `step`: it runs when that
    /// step runs, is about its subject and writes to its disks.
    pub(super) fn tie(&mut self, i: Option<usize>, step: u32) {
        let Some(i) = i else { return };
        let (subject, disks) = {
            let s = &self.steps[step as usize - 1];
            (s.subject.clone(), s.disks.clone())
        };
        let h = &mut self.steps[i];
        if let Action::Hook { step: s, .. } = &mut h.action {
            *s = step;
        }
        h.subject = subject;
        h.disks = disks;
    }

    /// The create hooks of `owner` around the steps pushed by `make`: pre
    /// before them, post after them, both steps of the first.
    pub(super) fn created(&mut self, hooks: &[Hook], owner: &str, make: impl FnOnce(&mut Self)) {
        let pre = self.hook(hooks, HookKind::PreCreate, owner, 0, "");
        let first = self.last() + 1;
        make(self);
        self.tie(pre, first);
        self.hook(hooks, HookKind::PostCreate, owner, first, "");
    }

    /// Whether every device a multi-device btrfs names in its extraArgs is
    /// there to format: `later` are the LUKS mappings the layout opens
    /// (`/dev/mapper/<name>`), which are only once their volume is planned.
    pub(super) fn members_ready(
        &self,
        b: &Btrfs,
        later: &std::collections::HashSet<String>,
    ) -> bool {
        b.extra_args.iter().all(|a| {
            let key = names::device(a).unwrap_or_else(|_| a.clone());
            !later.contains(&key) || self.aliases.contains_key(&key)
        })
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
                    match &f.format.v {
                        FsFormat::Ext4 | FsFormat::Ext3 | FsFormat::Ext2 => args
                            .splice(0..0, ["-E".to_string(), "nodiscard".to_string()])
                            .for_each(drop),
                        FsFormat::Xfs => args.insert(0, "-K".into()),
                        FsFormat::Btrfs => args.insert(0, "--nodiscard".into()),
                        FsFormat::F2fs => {
                            args.splice(0..0, ["-t".into(), "0".into()]).for_each(drop)
                        }
                        // mkfs.vfat does not discard; other tools' flags are their own.
                        FsFormat::Vfat | FsFormat::Other(_) => {}
                    }
                }
                let fmt = f.format.v.as_str();
                let owner = format!("{fmt} on {dev}");
                self.created(&f.hooks, &owner, |b| {
                    b.push(
                        Change::Create,
                        subject,
                        format!("make {fmt} on {dev}"),
                        Action::Mkfs {
                            format: fmt.into(),
                            devices: vec![dev.into()],
                            extra_args: args,
                        },
                    )
                });
                self.mount(
                    &f.mountpoint,
                    dev,
                    fmt,
                    &f.mount_options,
                    (&f.hooks, &owner),
                );
            }
            Content::Swap(sw) => {
                self.created(&sw.hooks, &format!("swap on {dev}"), |b| {
                    b.push(
                        Change::Create,
                        subject,
                        format!("make swap on {dev}"),
                        Action::Mkswap { device: dev.into() },
                    )
                });
            }
            Content::Luks(l) => {
                let key = if let Some(p) = &l.password_file {
                    KeySource::PasswordFile(p.v.clone())
                } else if let Some(k) = &l.key_file {
                    KeySource::KeyFile(k.v.clone())
                } else {
                    KeySource::Ask
                };
                let key_slice = KeySlice {
                    offset: l.key_file_offset,
                    size: l.key_file_size,
                };
                let name = l.name.v.clone();
                let mapped = names::mapper_device(&name);
                self.own(&mapped, &[dev.to_string()]);
                // A multi-device btrfs may name it in its extraArgs.
                self.aliases.insert(mapped.clone(), mapped.clone());
                // Post-create after the open: the hook finds the mapping.
                self.created(&l.hooks, &format!("LUKS `{name}`"), |b| {
                    b.push(
                        Change::Create,
                        &name,
                        format!("format LUKS2 `{name}` on {dev}"),
                        Action::LuksFormat {
                            device: dev.into(),
                            name: name.clone(),
                            key: key.clone(),
                            key_slice,
                            extra_args: l.extra_format_args.clone(),
                        },
                    );
                    b.push(
                        Change::Create,
                        &name,
                        format!("open LUKS `{name}` as {mapped}"),
                        Action::LuksOpen {
                            device: dev.into(),
                            name: name.clone(),
                            key: key.clone(),
                            key_slice,
                            allow_discards: l.allow_discards,
                            extra_args: l.extra_open_args.clone(),
                        },
                    );
                    // After the open, as disko does: the keys go in with the container.
                    for f in &l.additional_key_files {
                        b.push(
                            Change::Create,
                            &name,
                            format!("add key file {} to LUKS `{name}`", f.v),
                            Action::LuksAddKey {
                                device: dev.into(),
                                name: name.clone(),
                                key: key.clone(),
                                key_slice,
                                new_key: f.v.clone(),
                            },
                        );
                    }
                });
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
                let owner = format!("btrfs on {dev}");
                // Post-create after the subvolumes: they are the filesystem's.
                self.created(&b.hooks, &owner, |this| {
                    this.push(
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
                        this.push(
                            Change::Create,
                            subject,
                            format!("create btrfs subvolume {} on {dev}", s.name),
                            Action::BtrfsSubvolume {
                                device: dev.into(),
                                name: s.name.clone(),
                            },
                        );
                    }
                    // Swap files once the subvolumes that hold them exist.
                    let top = (None, &b.mountpoint, &b.swap);
                    let in_subs = b
                        .subvolumes
                        .iter()
                        .map(|s| (Some(&s.name), &s.mountpoint, &s.swap));
                    for (sv, mp, files) in std::iter::once(top).chain(in_subs) {
                        // The reader refuses swap files where nothing is mounted.
                        let Some(mp) = mp else { continue };
                        for f in files {
                            let base = below(&this.mount_root, &mp.v);
                            let file = format!("{}/{}", base.trim_end_matches('/'), f.path);
                            let inside = match sv {
                                Some(n) => format!("subvolume {n}"),
                                None => "the top level".into(),
                            };
                            this.push(
                                Change::Create,
                                subject,
                                format!(
                                    "make swap file {} ({}) in {inside} of btrfs on {dev}",
                                    f.path,
                                    crate::layout::size::human(f.size.v)
                                ),
                                Action::BtrfsSwapfile {
                                    device: dev.into(),
                                    subvolume: sv.cloned(),
                                    path: f.path.clone(),
                                    size: f.size.v,
                                    file: file.clone(),
                                },
                            );
                            this.swapons.push((file, f.priority));
                        }
                    }
                });
                // disko runs a btrfs's mount hooks around each of its mounts.
                let hooks = (b.hooks.as_slice(), owner.as_str());
                self.mount(&b.mountpoint, dev, "btrfs", &b.mount_options, hooks);
                for s in &b.subvolumes {
                    let mut opts = s.mount_options.clone();
                    opts.push(format!("subvol={}", s.name));
                    self.mount(&s.mountpoint, dev, "btrfs", &opts, hooks);
                }
            }
            Content::Mdraid(_) | Content::Zfs(_) => {
                unreachable!("members are gathered by the caller")
            }
        }
    }
}
