//! Building observed states for the diff's tests without root: blank disks,
//! and what a finished apply of a plan leaves (tables, signatures, running
//! arrays, open mappings, mounts), which each test then bends into the case
//! it is about.

use crate::layout::Loaded;
use crate::plan::diff::{Refusal, against};
use crate::plan::{Action, Options, Plan, partition_path};
use crate::probe::*;

pub const GIB: u64 = 1 << 30;

/// A layout from YAML text.
pub fn layout(yaml: &str) -> Loaded {
    let l = crate::layout::load_str("test.yaml", yaml, &[]).unwrap_or_else(|r| panic!("{r}"));
    assert!(!l.report.has_errors(), "{}", l.report);
    l
}

/// One disk, its device at `/dev/{name}`, nothing on it.
pub fn disk(name: &str, size_bytes: u64) -> Disk {
    Disk {
        name: name.into(),
        path: format!("/dev/{name}"),
        size_bytes,
        logical_sector_size: 512,
        physical_sector_size: 512,
        model: Some("TEST DISK".into()),
        serial: Some(name.to_uppercase()),
        wwn: None,
        by_path: Vec::new(),
        by_id: Vec::new(),
        removable: false,
        read_only: false,
        table: Table::None,
        signature: None,
        partitions: Vec::new(),
        holders: Vec::new(),
        mountpoints: Vec::new(),
        unreadable: None,
    }
}

/// Blank disks of `size_bytes` each.
pub fn blank(names: &[&str], size_bytes: u64) -> Observed {
    Observed {
        disks: names.iter().map(|n| disk(n, size_bytes)).collect(),
        md_arrays: Vec::new(),
        luks: Vec::new(),
        btrfs: Vec::new(),
        zpools: Vec::new(),
        mounts: Vec::new(),
        swaps: Vec::new(),
        paths: Vec::new(),
    }
}

/// A signature of `fstype`.
pub fn sig(fstype: &str, label: Option<&str>, uuid: &str) -> Signature {
    Signature {
        fstype: fstype.into(),
        uuid: Some(uuid.into()),
        uuid_sub: None,
        label: label.map(str::to_string),
        version: None,
        used_bytes: None,
    }
}

/// The disk at `path`.
pub fn disk_mut<'a>(obs: &'a mut Observed, path: &str) -> &'a mut Disk {
    obs.disks
        .iter_mut()
        .find(|d| d.path == path)
        .unwrap_or_else(|| panic!("no disk {path}"))
}

/// The partition at `path`.
pub fn part_mut<'a>(obs: &'a mut Observed, path: &str) -> &'a mut Partition {
    obs.disks
        .iter_mut()
        .flat_map(|d| d.partitions.iter_mut())
        .find(|p| p.path == path)
        .unwrap_or_else(|| panic!("no partition {path}"))
}

/// The signature slot and holders of any device apply makes.
fn slots<'a>(
    obs: &'a mut Observed,
    dev: &str,
) -> (
    &'a mut Option<Signature>,
    &'a mut Vec<String>,
    &'a mut Vec<String>,
) {
    if let Some(name) = dev.strip_prefix("/dev/md/") {
        let a = obs
            .md_arrays
            .iter_mut()
            .find(|a| a.name.as_deref() == Some(name))
            .unwrap();
        return (&mut a.signature, &mut a.holders, &mut a.mountpoints);
    }
    if let Some(name) = dev.strip_prefix("/dev/mapper/") {
        let m = obs
            .luks
            .iter_mut()
            .find(|l| l.open_as.as_deref() == Some(name))
            .and_then(|l| l.open.as_mut())
            .unwrap();
        return (&mut m.signature, &mut m.holders, &mut m.mountpoints);
    }
    for d in &mut obs.disks {
        if d.path == dev {
            return (&mut d.signature, &mut d.holders, &mut d.mountpoints);
        }
        if let Some(p) = d.partitions.iter_mut().find(|p| p.path == dev) {
            return (&mut p.signature, &mut p.holders, &mut p.mountpoints);
        }
    }
    panic!("no device {dev}")
}

/// What a successful apply of `l` onto `blank` leaves behind.
pub fn installed(l: &Loaded, blank: &Observed) -> Observed {
    let (plan, refusals) = against(l, blank, &Options::default()).unwrap();
    assert!(refusals.is_empty(), "{refusals:?}");
    let mut obs = blank.clone();
    for dp in &plan.disks {
        let Some(t) = &dp.table else { continue };
        let d = disk_mut(&mut obs, &dp.device);
        d.table = Table::Gpt(Gpt {
            disk_guid: t.disk_guid.clone(),
            first_usable_lba: t.first_usable,
            last_usable_lba: t.last_usable,
            primary_ok: true,
            backup_ok: true,
            entries: t
                .partitions
                .iter()
                .map(|p| GptEntry {
                    number: p.number,
                    first_lba: p.first_lba,
                    last_lba: p.last_lba,
                    type_guid: p.type_guid.clone(),
                    part_guid: p.part_guid.clone(),
                    name: p.label.clone(),
                    attributes: p.attributes,
                })
                .collect(),
        });
        let kname = d.name.clone();
        d.partitions = t
            .partitions
            .iter()
            .map(|p| Partition {
                number: p.number,
                name: format!("{kname}{}", p.number),
                path: partition_path(&dp.device, p.number),
                start_sector: p.first_lba * u64::from(t.sector / 512),
                size_bytes: p.bytes(t.sector),
                part_uuid: Some(p.part_guid.to_lowercase()),
                part_label: Some(p.label.clone()),
                part_type: Some(p.type_guid.to_lowercase()),
                by_path: Vec::new(),
                by_id: Vec::new(),
                signature: None,
                holders: Vec::new(),
                mountpoints: Vec::new(),
                unreadable: None,
            })
            .collect();
    }
    apply_contents(&plan, &mut obs);
    obs
}

fn apply_contents(plan: &Plan, obs: &mut Observed) {
    let mut next_md = 127;
    let mut next_dm = 0;
    for (i, st) in plan.steps.iter().enumerate() {
        let uuid = format!("00000000-0000-4000-8000-{:012}", i);
        match &st.action {
            Action::Mkfs {
                format,
                devices,
                extra_args,
            } => {
                let flag = if format == "vfat" { "-n" } else { "-L" };
                let label = extra_args
                    .iter()
                    .position(|a| a == flag)
                    .map(|i| extra_args[i + 1].as_str());
                for d in devices {
                    *slots(obs, d).0 = Some(sig(format, label, &uuid));
                }
                if format == "btrfs" {
                    obs.btrfs.push(BtrfsFs {
                        uuid: uuid.clone(),
                        label: label.map(str::to_string),
                        devices: devices.clone(),
                        devids: (1..=devices.len() as u64).collect(),
                        total_devices: devices.len() as u32,
                        subvolumes: Vec::new(),
                    });
                }
            }
            Action::BtrfsSubvolume { device, name } => {
                if let Some(fs) = obs.btrfs.iter_mut().find(|f| f.devices.contains(device)) {
                    fs.subvolumes.push(name.clone());
                }
            }
            Action::Mkswap { device } => *slots(obs, device).0 = Some(sig("swap", None, &uuid)),
            Action::MdCreate {
                name,
                level,
                members,
                ..
            } => {
                let kname = format!("md{next_md}");
                next_md -= 1;
                for m in members {
                    let (s, holders, _) = slots(obs, m);
                    *s = Some(sig(
                        "linux_raid_member",
                        Some(&format!("any:{name}")),
                        &uuid,
                    ));
                    holders.push(kname.clone());
                }
                obs.md_arrays.push(MdArray {
                    name: Some(name.clone()),
                    path: format!("/dev/{kname}"),
                    uuid: uuid.clone(),
                    level: format!("raid{level}"),
                    metadata: Some("1.2".into()),
                    raid_devices: members.len() as u32,
                    members: members
                        .iter()
                        .enumerate()
                        .map(|(i, m)| MdMember {
                            device: m.clone(),
                            role: Some(i as u32),
                            state: "active".into(),
                        })
                        .collect(),
                    state: MdState::Clean,
                    size_bytes: GIB,
                    signature: None,
                    holders: Vec::new(),
                    mountpoints: Vec::new(),
                    unreadable: None,
                });
            }
            Action::LuksFormat { device, name, .. } => {
                let kname = format!("dm-{next_dm}");
                next_dm += 1;
                let (s, holders, _) = slots(obs, device);
                *s = Some(sig("crypto_LUKS", None, &uuid));
                holders.push(kname.clone());
                let on = match device.strip_prefix("/dev/md/") {
                    Some(n) => obs
                        .md_arrays
                        .iter()
                        .find(|a| a.name.as_deref() == Some(n))
                        .unwrap()
                        .path
                        .clone(),
                    None => device.clone(),
                };
                obs.luks.push(Luks {
                    device: on,
                    version: 2,
                    uuid: uuid.clone(),
                    label: None,
                    open_as: Some(name.clone()),
                    open: Some(Mapped {
                        kname,
                        path: format!("/dev/mapper/{name}"),
                        signature: None,
                        holders: Vec::new(),
                        mountpoints: Vec::new(),
                        unreadable: None,
                    }),
                });
            }
            Action::Mount {
                source,
                target,
                fstype,
                options,
            } => {
                slots(obs, source).2.push(target.clone());
                obs.mounts.push(Mount {
                    source: source.clone(),
                    target: target.clone(),
                    fstype: fstype.clone(),
                    options: options.clone(),
                });
            }
            _ => {}
        }
    }
}

/// Stop everything the install left running: unmount, close, stop; what is
/// on the disks stays.
pub fn taken_down(obs: &mut Observed) {
    obs.mounts.clear();
    obs.swaps.clear();
    obs.md_arrays.clear();
    for l in &mut obs.luks {
        l.open_as = None;
        l.open = None;
    }
    for d in &mut obs.disks {
        d.mountpoints.clear();
        d.holders.clear();
        for p in &mut d.partitions {
            p.mountpoints.clear();
            p.holders.clear();
        }
    }
}

/// The diff as a person reads it: every step (change, description, reason),
/// then every refusal.
pub fn diff_of(l: &Loaded, obs: &Observed) -> String {
    let (plan, refusals) = against(l, obs, &Options::default()).unwrap();
    show(&plan, &refusals)
}

/// `plan` and `refusals` as text.
pub fn show(plan: &Plan, refusals: &[Refusal]) -> String {
    let mut s = String::new();
    for st in &plan.steps {
        let change = format!("{:?}", st.change).to_lowercase();
        s.push_str(&format!("{:>2} {change:<7} {}\n", st.id, st.description));
        if let Some(r) = &st.reason {
            s.push_str(&format!("           because {r}\n"));
        }
    }
    for r in refusals {
        s.push_str(&format!("refused: {r}\n"));
    }
    s
}

/// Compare, showing the whole text on a mismatch (to read, and to copy).
/// A leading newline in `want` is only there to line the text up.
#[track_caller]
pub fn expect(got: String, want: &str) {
    let want = want.strip_prefix('\n').unwrap_or(want);
    if got != want {
        panic!("the diff differs:\n--- got ---\n{got}--- want ---\n{want}");
    }
}

/// What udev's incremental assembly leaves when a member is missing: the
/// others gathered as spares, not started, size 0 (`uuid` as mdadm reports
/// it; empty when it does not).
pub fn inactive(name: Option<&str>, uuid: &str, members: &[&str]) -> MdArray {
    MdArray {
        name: name.map(str::to_string),
        path: "/dev/md127".into(),
        uuid: uuid.into(),
        level: "unknown".into(),
        metadata: Some("1.2".into()),
        raid_devices: members.len() as u32,
        members: members
            .iter()
            .map(|m| MdMember {
                device: m.to_string(),
                role: None,
                state: "spare".into(),
            })
            .collect(),
        state: MdState::Inactive,
        size_bytes: 0,
        signature: None,
        holders: vec![],
        mountpoints: vec![],
        unreadable: None,
    }
}
