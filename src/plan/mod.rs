//! The plan: desired layout × observed disks → ordered actions. Pure code; it
//! never opens a device or spawns a process. Text, JSON and POSIX-sh renderings
//! all come from the same `Plan` value.

pub mod basis;
pub mod build;
pub mod diff;
pub mod geometry;
pub mod needs;
pub mod render;
pub mod repair;
pub mod script;
pub mod sparse;
pub mod updown;
pub mod zfs;

pub use build::{Options, build};
pub use geometry::{DiskFacts, PartGeometry, RegionGeometry, SizeSource, TableGeometry};

use serde::{Deserialize, Serialize};

/// Version of the JSON rendering; bumped on incompatible changes.
pub const JSON_VERSION: u32 = 1;

/// What a step does to what is there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    /// Already as desired; nothing runs.
    Keep,
    /// Creates something where nothing (of value) is.
    Create,
    /// Alters something in place without losing data.
    Change,
    /// Erases data that is there.
    Destroy,
}

/// Where an LUKS key comes from; the key itself never appears in the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "from", content = "path")]
pub enum KeySource {
    /// A passphrase file on the target.
    PasswordFile(String),
    /// A key file on the target.
    KeyFile(String),
    /// Asked interactively.
    Ask,
}

/// Which bytes of a key file are the key (cryptsetup's `--keyfile-offset`
/// and `--keyfile-size`; disko's `settings.keyFileOffset`/`keyFileSize`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct KeySlice {
    /// Bytes skipped at the start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    /// Bytes read from there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

impl KeySlice {
    /// The whole file is the key.
    pub fn is_whole(&self) -> bool {
        self.offset.is_none() && self.size.is_none()
    }
}

/// One action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    /// Erase filesystem/RAID/table signatures (`wipefs --all`).
    WipeSignatures { device: String },
    /// Write the disk's GPT as planned in `disks[].table`.
    WriteGpt { disk: String, device: String },
    /// Write a firmware image at a raw offset (only with `--firmware`).
    WriteFirmware {
        disk: String,
        device: String,
        region: String,
        image: String,
        offset: u64,
        max_size: u64,
    },
    /// Assemble an existing md array from its members.
    MdAssemble {
        name: String,
        device: String,
        members: Vec<String>,
        /// Assemble read-only (`mount --read-only`): nothing resyncs or is written.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        read_only: bool,
    },
    /// Create an md array.
    MdCreate {
        name: String,
        device: String,
        level: u32,
        metadata: String,
        members: Vec<String>,
        extra_args: Vec<String>,
    },
    /// Format a LUKS2 container.
    LuksFormat {
        device: String,
        name: String,
        key: KeySource,
        /// The part of a key file that is the key.
        #[serde(default, skip_serializing_if = "KeySlice::is_whole")]
        key_slice: KeySlice,
        extra_args: Vec<String>,
    },
    /// Open a LUKS container as `/dev/mapper/<name>`.
    LuksOpen {
        device: String,
        name: String,
        key: KeySource,
        /// The part of a key file that is the key.
        #[serde(default, skip_serializing_if = "KeySlice::is_whole")]
        key_slice: KeySlice,
        allow_discards: bool,
        extra_args: Vec<String>,
    },
    /// Add the contents of `new_key` (a file) as a further key of a LUKS
    /// container, unlocked with its first key (`cryptsetup luksAddKey`).
    LuksAddKey {
        device: String,
        name: String,
        key: KeySource,
        /// The part of the first key's file that is the key.
        #[serde(default, skip_serializing_if = "KeySlice::is_whole")]
        key_slice: KeySlice,
        new_key: String,
    },
    /// Make a filesystem (`devices` has more than one entry for multi-device btrfs).
    Mkfs {
        format: String,
        devices: Vec<String>,
        extra_args: Vec<String>,
    },
    /// Make swap space.
    Mkswap { device: String },
    /// Create a btrfs subvolume (the filesystem is mounted on a scratch dir for it).
    BtrfsSubvolume { device: String, name: String },
    /// Make a swap file in a btrfs (`btrfs filesystem mkswapfile`), at
    /// `path` inside `subvolume` (the top level when `None`); the filesystem
    /// is mounted on a scratch dir for it. A file already there of that size
    /// is kept.
    BtrfsSwapfile {
        device: String,
        subvolume: Option<String>,
        path: String,
        size: u64,
        /// Where it is swapped on, below the install root (its `Swapon`).
        file: String,
    },
    /// Start swapping on a file below the install root (`swapon`).
    Swapon {
        file: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        priority: Option<i64>,
    },
    /// Stop swapping on a file (`swapoff`), before what holds it is unmounted.
    Swapoff { file: String },
    /// Create a ZFS pool.
    ZpoolCreate {
        name: String,
        vdev: String,
        devices: Vec<String>,
        options: Vec<(String, String)>,
        root_fs_options: Vec<(String, String)>,
        altroot: String,
    },
    /// Create a ZFS dataset or volume.
    ZfsCreate {
        name: String,
        options: Vec<(String, String)>,
        volume_size: Option<u64>,
    },
    /// Mount a filesystem below the install root.
    Mount {
        source: String,
        target: String,
        fstype: String,
        options: Vec<String>,
    },
    /// Unmount a filesystem.
    Unmount { target: String },
    /// Close an open LUKS volume.
    LuksClose { name: String },
    /// Stop an md array.
    MdStop { device: String },
    /// Add a member to a running array (md rebuilds onto it).
    MdAdd {
        name: String,
        device: String,
        member: String,
    },
    /// Rebuild a btrfs device the filesystem lost (`devid`) onto `new`
    /// (`btrfs replace`, the filesystem mounted degraded on a scratch dir
    /// through `device`, one of its devices present).
    BtrfsReplace {
        name: String,
        device: String,
        devid: u64,
        new: String,
    },
    /// Resilver a pool's lost device (`old`, as `zpool status` names it) onto
    /// `new` (`zpool replace`).
    ZpoolReplace {
        pool: String,
        old: String,
        new: String,
    },
    /// Run one of the layout's disko hooks with `sh -c`: shell text shown in
    /// full, run only with `--allow-hooks`. It runs when step `step` runs
    /// (create hooks when their owner is made, mount hooks with the mount),
    /// just before it (`pre…`) or after it.
    Hook {
        /// Which hook.
        hook: crate::layout::HookKind,
        /// What carries it (`pool tank`).
        owner: String,
        /// Where the layout writes it: `line:col: path`.
        at: String,
        /// The step it belongs to (its id in this plan).
        step: u32,
        /// The shell text, verbatim.
        script: String,
    },
}

impl Action {
    /// The devices (and ZFS names) the action works on, read or written: what
    /// ties a step to the layout disks below it.
    pub fn devices(&self) -> Vec<&String> {
        match self {
            Action::MdAssemble { members, .. } => members.iter().collect(),
            Action::LuksOpen { device, .. }
            | Action::LuksAddKey { device, .. }
            | Action::BtrfsSubvolume { device, .. }
            | Action::BtrfsSwapfile { device, .. } => {
                vec![device]
            }
            Action::ZfsCreate { name, .. } => vec![name],
            Action::Mount { source, .. } => vec![source],
            Action::Unmount { .. }
            | Action::LuksClose { .. }
            | Action::MdStop { .. }
            | Action::Swapon { .. }
            | Action::Swapoff { .. } => vec![],
            other => other.overwrites(),
        }
    }

    /// The devices whose contents the action overwrites: what must not be in
    /// use when it runs.
    pub fn overwrites(&self) -> Vec<&String> {
        match self {
            Action::WipeSignatures { device }
            | Action::WriteGpt { device, .. }
            | Action::WriteFirmware { device, .. }
            | Action::Mkswap { device }
            | Action::LuksFormat { device, .. } => vec![device],
            Action::Mkfs { devices, .. } | Action::ZpoolCreate { devices, .. } => {
                devices.iter().collect()
            }
            Action::MdCreate { members, .. } => members.iter().collect(),
            Action::MdAdd { member, .. }
            | Action::BtrfsReplace { new: member, .. }
            | Action::ZpoolReplace { new: member, .. } => vec![member],
            _ => vec![],
        }
    }
}

/// One step of the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// 1-based position.
    pub id: u32,
    /// Keep, create, change or destroy.
    pub change: Change,
    /// What the step is about (a layout name: disk, partition, array…).
    pub subject: String,
    /// A sentence for people.
    pub description: String,
    /// Why the step is needed (filled by the diff against the live disks).
    pub reason: Option<String>,
    /// The layout disks this step writes to (for `--allow-destroy`).
    pub disks: Vec<String>,
    /// What to do.
    pub action: Action,
}

/// A disk as planned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiskPlan {
    /// Layout name.
    pub name: String,
    /// Device path.
    pub device: String,
    /// Size and sector size, and where they came from.
    pub facts: DiskFacts,
    /// Whether the board's boot-medium rules apply.
    pub boot_medium: bool,
    /// The GPT, if the disk holds one.
    pub table: Option<TableGeometry>,
    /// Firmware regions (never touched unless `--firmware`).
    pub firmware: Vec<RegionGeometry>,
}

/// A whole plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// JSON format version.
    pub version: u32,
    /// The layout file.
    pub layout: String,
    /// The board profile.
    pub board: Option<crate::layout::Board>,
    /// Where filesystems are mounted for the install.
    pub mount_root: String,
    /// Disks with their geometry.
    pub disks: Vec<DiskPlan>,
    /// Ordered steps.
    pub steps: Vec<Step>,
}

/// Number `steps` from 1 in their order, and point each hook at its step's
/// new id (a hook whose step is gone points at 0).
pub fn renumber(steps: &mut [Step]) {
    let new: std::collections::HashMap<u32, u32> = steps
        .iter()
        .enumerate()
        .filter(|(_, s)| s.id != 0)
        .map(|(i, s)| (s.id, i as u32 + 1))
        .collect();
    for (i, s) in steps.iter_mut().enumerate() {
        s.id = i as u32 + 1;
        if let Action::Hook { step, .. } = &mut s.action {
            *step = new.get(step).copied().unwrap_or(0);
        }
    }
}

impl Plan {
    /// Steps that erase data.
    pub fn destructive(&self) -> impl Iterator<Item = &Step> {
        self.steps.iter().filter(|s| s.change == Change::Destroy)
    }

    /// True when every step is `keep`.
    pub fn is_noop(&self) -> bool {
        self.steps.iter().all(|s| s.change == Change::Keep)
    }
}

/// The kernel name of partition `n` of `device`: `/dev/sda1`, `/dev/mmcblk0p1`,
/// `/dev/disk/by-path/…-part1`.
pub fn partition_path(device: &str, n: u32) -> String {
    if device.starts_with("/dev/disk/") {
        format!("{device}-part{n}")
    } else if device.ends_with(|c: char| c.is_ascii_digit()) {
        format!("{device}p{n}")
    } else {
        format!("{device}{n}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(id: u32, action: Action) -> Step {
        Step {
            id,
            change: Change::Create,
            subject: String::new(),
            description: String::new(),
            reason: None,
            disks: Vec::new(),
            action,
        }
    }

    #[test]
    fn renumbering_keeps_each_hook_on_its_step() {
        let hook = |step| Action::Hook {
            hook: crate::layout::HookKind::PostCreate,
            owner: "pool tank".into(),
            at: "1:1: zpool.tank.postCreateHook".into(),
            step,
            script: "true".into(),
        };
        let stop = Action::MdStop {
            device: "/dev/md127".into(),
        };
        // Two steps inserted (id 0) before step 1 and between 1 and its hook.
        let mut steps = vec![
            step(0, stop.clone()),
            step(
                1,
                Action::Unmount {
                    target: "/mnt".into(),
                },
            ),
            step(0, stop),
            step(2, hook(1)),
        ];
        renumber(&mut steps);
        let ids: Vec<u32> = steps.iter().map(|s| s.id).collect();
        assert_eq!(ids, [1, 2, 3, 4]);
        assert_eq!(steps[3].action, hook(2));
    }

    #[test]
    fn partition_names() {
        assert_eq!(partition_path("/dev/sda", 1), "/dev/sda1");
        assert_eq!(partition_path("/dev/mmcblk0", 2), "/dev/mmcblk0p2");
        assert_eq!(partition_path("/dev/loop3", 1), "/dev/loop3p1");
        assert_eq!(partition_path("/dev/nvme0n1", 1), "/dev/nvme0n1p1");
        assert_eq!(
            partition_path("/dev/disk/by-path/platform-fe330000.mmc", 1),
            "/dev/disk/by-path/platform-fe330000.mmc-part1"
        );
    }
}
