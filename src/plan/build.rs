//! Build the from-scratch plan of a layout: wipe, partition, assemble,
//! encrypt, format, create subvolumes/datasets, mount — in dependency order.

use super::geometry::{self, ASSUMED_DISK_BYTES, DiskFacts, SizeSource};
use super::{Action, Change, DiskPlan, Plan, partition_path};
use crate::layout::model::*;
use crate::layout::names;
use crate::layout::size::Size;
use crate::layout::validate::{self, Walk};
use crate::layout::{Diagnostic, Loaded, Report};
use std::collections::{HashMap, HashSet, VecDeque};

mod builder;
use builder::Builder;

/// Planning options.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Layout file name, for the rendering.
    pub layout_file: String,
    /// Seed of the deterministic GUIDs.
    pub seed: String,
    /// Install root (`/mnt` when empty).
    pub mount_root: String,
    /// Known sizes and sector sizes by disk name (`--disk-size`, probe).
    pub facts: HashMap<String, DiskFacts>,
    /// Write the layout's firmware images (`--firmware`).
    pub firmware: bool,
    /// Do not check the layout's `expect:` identity pins (`--ignore-expect`).
    pub ignore_expect: bool,
}

/// The facts a disk is planned with: given ones, else `expect.size`, else assumed.
pub fn facts_for(d: &Disk, given: Option<&DiskFacts>) -> DiskFacts {
    if let Some(f) = given {
        return *f;
    }
    if let Some(s) = &d.expect.size
        && let Size::Bytes(b) = s.v.size
    {
        return DiskFacts {
            size_bytes: b - b % 512,
            sector: 512,
            source: SizeSource::Expect,
        };
    }
    // Unknown: a nominal 2 TiB, or more if the fixed partitions need it.
    // Saturating: absurd sizes are reported by the geometry, at their line.
    let fixed: u64 = match &d.content {
        Some(Content::Gpt(g)) => g
            .partitions
            .iter()
            .filter_map(|p| {
                p.size.as_ref().and_then(|s| {
                    if let Size::Bytes(b) = s.v {
                        Some(b)
                    } else {
                        None
                    }
                })
            })
            .fold(0u64, u64::saturating_add),
        _ => 0,
    };
    let need = fixed
        .saturating_add((32 << 20) + (1 << 30))
        .checked_next_multiple_of(1 << 30)
        .unwrap_or(u64::MAX - (u64::MAX % (1 << 30)));
    DiskFacts {
        size_bytes: ASSUMED_DISK_BYTES.max(need),
        sector: 512,
        source: SizeSource::Assumed,
    }
}

/// Whether `d` holds what U-Boot boots from: a bootable partition, or the
/// partition mounted at `boot` (/boot, or `/` when /boot is a directory of it).
fn holds_boot(d: &Disk, boot: &str) -> bool {
    let Some(Content::Gpt(g)) = &d.content else {
        return false;
    };
    g.partitions.iter().any(|p| {
        p.bootable || matches!(&p.content, Some(Content::Filesystem(f)) if f.mountpoint.as_ref().is_some_and(|m| m.v == boot))
    })
}

/// Plan a from-scratch install of `loaded`. Fails with every layout problem:
/// the loader's and the geometry's (the layout is wrong for these disks).
pub fn build(loaded: &Loaded, opts: &Options) -> Result<Plan, Report> {
    let mut diags = Vec::new();
    let plan = build_inner(loaded, opts, &mut diags);
    let mut report = loaded.report.clone();
    report.diagnostics.extend(diags);
    crate::layout::sort(&mut report);
    match plan {
        Some(p) if !report.has_errors() => Ok(p),
        _ => Err(report),
    }
}

fn build_inner(loaded: &Loaded, opts: &Options, diags: &mut Vec<Diagnostic>) -> Option<Plan> {
    let l = &loaded.layout;
    if loaded.report.has_errors() {
        // Items that failed to decode are missing from the model; their
        // geometry would only produce follow-on errors.
        return None;
    }
    // The install root, like a mountpoint: absolute, normalized, no `..`,
    // so nothing is mounted outside it.
    let mount_root = if opts.mount_root.is_empty() {
        "/mnt".to_string()
    } else {
        match names::mountpoint(&opts.mount_root) {
            Ok(m) => m,
            Err(e) => {
                let msg = e.message.replacen("mountpoint", "mount root", 1);
                diags.push(Diagnostic::error(None, "--mount-root", msg).with_hint(e.hint));
                return None;
            }
        }
    };
    let walk = Walk::of(l);
    let boot = validate::boot_mountpoint(&validate::mounts(l, &walk));
    let mut disks = Vec::new();
    let mut aliases = HashMap::new();
    for d in &l.disks {
        let facts = facts_for(d, opts.facts.get(&d.name));
        let boot_medium =
            l.board == Some(Board::Helios64) && (!d.firmware.is_empty() || holds_boot(d, boot));
        let firmware = geometry::regions(d, &facts, boot_medium, diags);
        let table = match &d.content {
            Some(Content::Gpt(g)) => {
                geometry::table(&opts.seed, d, g, &facts, boot_medium, &firmware, diags)
            }
            _ => None,
        };
        if let Some(t) = &table {
            for p in &t.partitions {
                let dev = partition_path(&d.device.v, p.number);
                aliases.insert(format!("/dev/disk/by-partlabel/{}", p.label), dev.clone());
                aliases.insert(dev.clone(), dev);
            }
        }
        aliases.insert(d.device.v.clone(), d.device.v.clone());
        disks.push(DiskPlan {
            name: d.name.clone(),
            device: d.device.v.clone(),
            facts,
            boot_medium,
            table,
            firmware,
        });
    }
    if !diags.is_empty() || loaded.report.has_errors() {
        return None;
    }
    let mut b = Builder {
        steps: Vec::new(),
        owners: HashMap::new(),
        mounts: Vec::new(),
        aliases,
        mount_root: mount_root.clone(),
        swapons: Vec::new(),
    };
    for (d, dp) in l.disks.iter().zip(&disks) {
        b.owners.insert(d.device.v.clone(), vec![d.name.clone()]);
        if let Some(t) = &dp.table {
            for p in &t.partitions {
                b.owners
                    .insert(partition_path(&d.device.v, p.number), vec![d.name.clone()]);
            }
        }
    }

    // 1. Disks: wipe what was there, write the tables, clear stale signatures
    //    at the new partitions' offsets (old md superblocks make ghost arrays).
    for (d, dp) in l.disks.iter().zip(&disks) {
        if d.content.is_none() {
            continue;
        }
        // The disk's and its table's create hooks run when the table is
        // written (a blank disk's wipe is kept: it is not the disk's making).
        let mut hooks = d.hooks.clone();
        if let Some(Content::Gpt(g)) = &d.content {
            hooks.extend(g.hooks.iter().cloned());
        }
        let owner = format!("disk {}", d.name);
        let pre = b.hook(&hooks, HookKind::PreCreate, &owner, 0, "");
        b.push(
            Change::Destroy,
            &d.name,
            format!("wipe the signatures on disk {} ({})", d.name, d.device.v),
            Action::WipeSignatures {
                device: d.device.v.clone(),
            },
        );
        if let Some(t) = &dp.table {
            b.push(
                Change::Create,
                &d.name,
                format!(
                    "write a GPT with {} partition{} on {}",
                    t.partitions.len(),
                    if t.partitions.len() == 1 { "" } else { "s" },
                    d.name
                ),
                Action::WriteGpt {
                    disk: d.name.clone(),
                    device: d.device.v.clone(),
                },
            );
            let table = b.last();
            b.tie(pre, table);
            b.hook(&hooks, HookKind::PostCreate, &owner, table, "");
        }
    }
    if opts.firmware {
        for (d, dp) in l.disks.iter().zip(&disks) {
            for r in &dp.firmware {
                if let Some(img) = &r.image {
                    b.push(
                        Change::Destroy,
                        &d.name,
                        format!(
                            "write firmware {} at byte {} of {}",
                            r.name, r.offset, d.name
                        ),
                        Action::WriteFirmware {
                            disk: d.name.clone(),
                            device: d.device.v.clone(),
                            region: r.name.clone(),
                            image: img.clone(),
                            offset: r.offset,
                            max_size: r.max_size,
                        },
                    );
                }
            }
        }
    }
    for (d, dp) in l.disks.iter().zip(&disks) {
        if let Some(t) = &dp.table {
            for p in &t.partitions {
                let dev = partition_path(&d.device.v, p.number);
                b.push(
                    Change::Create,
                    &p.label,
                    format!("clear old signatures on new partition {dev}"),
                    Action::WipeSignatures { device: dev },
                );
            }
        }
    }

    // 2. Contents, in dependency order: arrays once all members exist, LUKS
    //    before what it holds, pools once all vdevs exist.
    let mut md_need: HashMap<&str, usize> = HashMap::new();
    let mut pool_need: HashMap<&str, usize> = HashMap::new();
    for (_, c) in &walk.items {
        match c {
            Content::Mdraid(m) => *md_need.entry(m.name.v.as_str()).or_default() += 1,
            Content::Zfs(z) => *pool_need.entry(z.pool.v.as_str()).or_default() += 1,
            _ => {}
        }
    }
    // Partitions claimed by a multi-device btrfs hold no content of their own.
    let mut queue: VecDeque<(String, String, &Content)> = VecDeque::new();
    for (d, dp) in l.disks.iter().zip(&disks) {
        match (&d.content, &dp.table) {
            (Some(Content::Gpt(g)), Some(t)) => {
                for pg in &t.partitions {
                    let p = g
                        .partitions
                        .iter()
                        .find(|p| p.name == pg.name)
                        .expect("planned from these partitions");
                    if let Some(c) = &p.content {
                        queue.push_back((
                            pg.label.clone(),
                            partition_path(&d.device.v, pg.number),
                            c,
                        ));
                    }
                }
            }
            (Some(c), _) => queue.push_back((d.name.clone(), d.device.v.clone(), c)),
            _ => {}
        }
    }
    let mut md_members: HashMap<String, Vec<String>> = HashMap::new();
    let mut pool_members: HashMap<String, Vec<String>> = HashMap::new();
    // A btrfs across LUKS volumes waits until all of them are open, whatever
    // the order the disks are declared in (disko makes its users order them).
    let mappers: HashSet<String> = walk
        .items
        .iter()
        .filter_map(|(_, c)| match c {
            Content::Luks(v) => Some(names::mapper_device(&v.name.v)),
            _ => None,
        })
        .collect();
    let mut waited = 0usize;
    while let Some((subject, dev, c)) = queue.pop_front() {
        if let Content::Btrfs(bt) = c
            && !b.members_ready(bt, &mappers)
            && waited <= queue.len()
        {
            // Bounded: once only waiting items are left, each goes as is.
            waited += 1;
            queue.push_back((subject, dev, c));
            continue;
        }
        waited = 0;
        match c {
            Content::Mdraid(m) => {
                let name = m.name.v.as_str();
                let v = md_members.entry(name.to_string()).or_default();
                v.push(dev);
                if v.len() == md_need[name]
                    && let Some(a) = l.mdadm.iter().find(|a| a.name == name)
                {
                    let members = v.clone();
                    let device = names::md_device(name);
                    b.own(&device, &members);
                    b.created(&a.hooks, &format!("array {name}"), |b| {
                        b.push(
                            Change::Create,
                            name,
                            format!(
                                "create RAID{} array {name} from {} devices",
                                a.level.v,
                                members.len()
                            ),
                            Action::MdCreate {
                                name: name.into(),
                                device: device.clone(),
                                level: a.level.v,
                                metadata: a.metadata.clone(),
                                members,
                                extra_args: a.extra_args.clone(),
                            },
                        )
                    });
                    if let Some(inner) = &a.content {
                        queue.push_back((name.to_string(), device, inner));
                    }
                }
            }
            Content::Zfs(z) => {
                let name = z.pool.v.as_str();
                let v = pool_members.entry(name.to_string()).or_default();
                v.push(dev);
                if v.len() == pool_need[name]
                    && let Some(p) = l.zpools.iter().find(|p| p.name == name)
                {
                    let devices = v.clone();
                    b.own(name, &devices);
                    let vdev = match p.mode.v {
                        ZMode::Stripe => "",
                        ZMode::Mirror => "mirror",
                        ZMode::Raidz1 => "raidz1",
                        ZMode::Raidz2 => "raidz2",
                        ZMode::Raidz3 => "raidz3",
                    };
                    let owner = format!("pool {name}");
                    b.created(&p.hooks, &owner, |b| {
                        b.push(
                            Change::Create,
                            name,
                            format!(
                                "create ZFS pool {name} ({}) from {} devices",
                                if vdev.is_empty() { "stripe" } else { vdev },
                                devices.len()
                            ),
                            Action::ZpoolCreate {
                                name: name.into(),
                                vdev: vdev.into(),
                                devices,
                                options: p.options.clone(),
                                root_fs_options: p.root_fs_options.clone(),
                                altroot: mount_root.clone(),
                            },
                        )
                    });
                    if p.mountpoint.is_some() {
                        let opts = super::zfs::mount_options_of(&b.steps, name, &p.mount_options);
                        b.mount(&p.mountpoint, name, "zfs", &opts, (&p.hooks, &owner));
                    }
                    let mut ds: Vec<&Dataset> = p.datasets.iter().collect();
                    // Parents before children.
                    ds.sort_by_key(|d| d.name.matches('/').count());
                    for d in ds {
                        let full = format!("{name}/{}", d.name);
                        match &d.kind {
                            DatasetKind::ZfsFs {
                                mountpoint,
                                mount_options,
                                options,
                            } => {
                                b.own(&full, &[name.to_string()]);
                                let owner = format!("dataset {full}");
                                b.created(&d.hooks, &owner, |b| {
                                    b.push(
                                        Change::Create,
                                        &full,
                                        format!("create ZFS dataset {full}"),
                                        Action::ZfsCreate {
                                            name: full.clone(),
                                            options: options.clone(),
                                            volume_size: None,
                                        },
                                    )
                                });
                                let opts =
                                    super::zfs::mount_options_of(&b.steps, &full, mount_options);
                                b.mount(mountpoint, &full, "zfs", &opts, (&d.hooks, &owner));
                            }
                            DatasetKind::ZfsVolume {
                                size,
                                options,
                                content,
                            } => {
                                // Checked when read: fixed, non-zero, 64-bit.
                                let Some(bytes) = size.v.bytes(512, 0).filter(|b| *b > 0) else {
                                    diags.push(Diagnostic::error(
                                        Some(size.pos),
                                        &size.path,
                                        format!("volume `{full}` has no fixed size"),
                                    ));
                                    return None;
                                };
                                let zvol = names::zvol_device(name, &d.name);
                                b.own(&full, &[name.to_string()]);
                                b.own(&zvol, &[name.to_string()]);
                                b.created(&d.hooks, &format!("volume {full}"), |b| {
                                    b.push(
                                        Change::Create,
                                        &full,
                                        format!("create ZFS volume {full}"),
                                        Action::ZfsCreate {
                                            name: full.clone(),
                                            options: options.clone(),
                                            volume_size: Some(bytes),
                                        },
                                    )
                                });
                                if let Some(c) = content {
                                    queue.push_back((full.clone(), zvol, c));
                                }
                            }
                        }
                    }
                }
            }
            other => {
                let mut follow = VecDeque::new();
                b.content(&subject, &dev, other, &mut follow);
                queue.extend(follow);
            }
        }
    }
    for n in &l.nodev {
        let mp = Some(n.mountpoint.clone());
        let owner = format!("{} {}", n.fs_type, n.name);
        b.mount(
            &mp,
            &n.device,
            &n.fs_type,
            &n.mount_options,
            (&n.hooks, &owner),
        );
    }

    // 3. Mounts, parents first, each with its owner's mount hooks around it.
    let mut mounts = std::mem::take(&mut b.mounts);
    mounts.sort_by(|a, c| {
        depth(&a.mountpoint)
            .cmp(&depth(&c.mountpoint))
            .then(a.mountpoint.cmp(&c.mountpoint))
    });
    for m in mounts {
        let (mp, source, fstype, options) = (m.mountpoint, m.source, m.fstype, m.options);
        let target = builder::below(&mount_root, &mp);
        let what = format!(", mounting {target}");
        let pre = b.hook(&m.hooks, HookKind::PreMount, &m.owner, 0, &what);
        b.push(
            Change::Create,
            &mp,
            format!("mount {source} on {target}"),
            Action::Mount {
                source,
                target,
                fstype,
                options,
            },
        );
        let mount = b.last();
        b.tie(pre, mount);
        b.hook(&m.hooks, HookKind::PostMount, &m.owner, mount, &what);
    }
    // 4. Swap files, once what holds them is mounted where they are used.
    for (file, priority) in std::mem::take(&mut b.swapons) {
        let subject = file.clone();
        b.push(
            Change::Create,
            &subject,
            format!("swap on {file}"),
            Action::Swapon { file, priority },
        );
    }
    Some(Plan {
        version: super::JSON_VERSION,
        layout: opts.layout_file.clone(),
        board: l.board,
        mount_root,
        disks,
        steps: b.steps,
    })
}

fn depth(mp: &str) -> usize {
    mp.trim_end_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .count()
}

#[cfg(test)]
mod tests;
