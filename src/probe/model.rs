//! The observed state of the target's storage: what `plan` compares the layout against.
//!
//! Everything here is plain data (serde both ways), so a probe taken on the box can
//! travel over SSH as JSON and be stored as a test fixture.

use serde::{Deserialize, Serialize};

/// Everything the probe saw, one snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observed {
    /// Whole disks (SATA, eMMC, SD, loop), in lsblk order.
    pub disks: Vec<Disk>,
    /// Running (or assembled but inactive) md arrays.
    pub md_arrays: Vec<MdArray>,
    /// LUKS containers found on any block device, open or not.
    pub luks: Vec<Luks>,
    /// btrfs filesystems (one entry per filesystem UUID, however many devices).
    pub btrfs: Vec<BtrfsFs>,
    /// Imported ZFS pools.
    pub zpools: Vec<Zpool>,
    /// Every line of `/proc/mounts`.
    pub mounts: Vec<Mount>,
    /// Active swap areas (device or file paths) from `/proc/swaps`.
    pub swaps: Vec<String>,
    /// The device paths the layout names, as the kernel sees them (empty when the
    /// probe was not asked about any).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<DevicePath>,
}

/// A device path resolved to the block device it leads to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DevicePath {
    /// The path as the layout (or `--disk`) gives it.
    pub path: String,
    /// What it leads to.
    pub is: PathTarget,
}

/// What a device path leads to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PathTarget {
    /// A whole disk (or loop device): its kernel name.
    Disk(String),
    /// A partition: its kernel name and its disk's.
    Partition {
        /// `sda1`.
        kname: String,
        /// `sda`.
        disk: String,
    },
    /// An md array: its kernel name (`md127`).
    Md(String),
    /// A device-mapper device (LUKS, LVM, multipath): its kernel name (`dm-0`).
    Dm(String),
    /// Some other block device: kernel name and lsblk's TYPE.
    Other {
        /// Kernel name.
        kname: String,
        /// lsblk's TYPE (`rom`…).
        kind: String,
    },
    /// No block device: why (`No such file or directory (os error 2)`).
    Nothing(String),
}

impl PathTarget {
    /// The kernel name, if it leads to a block device.
    pub fn kname(&self) -> Option<&str> {
        match self {
            PathTarget::Disk(k) | PathTarget::Md(k) | PathTarget::Dm(k) => Some(k),
            PathTarget::Partition { kname, .. } | PathTarget::Other { kname, .. } => Some(kname),
            PathTarget::Nothing(_) => None,
        }
    }
}

/// One whole disk and what is on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Disk {
    /// Kernel name: `sda`, `mmcblk0`, `loop3`.
    pub name: String,
    /// Device node: `/dev/sda`.
    pub path: String,
    /// Size in bytes.
    pub size_bytes: u64,
    /// Logical sector size in bytes (what LBAs count in).
    pub logical_sector_size: u32,
    /// Physical sector size in bytes.
    pub physical_sector_size: u32,
    /// Model as udev/ATA IDENTIFY reports it (spaces kept), if known.
    pub model: Option<String>,
    /// Serial number, if known.
    pub serial: Option<String>,
    /// World wide name (`0x5000c500…`), if the device has one.
    pub wwn: Option<String>,
    /// `/dev/disk/by-path/…` names, udev's or derived from sysfs the way udev would.
    pub by_path: Vec<String>,
    /// `/dev/disk/by-id/…` names, udev's or derived from sysfs the way udev would.
    pub by_id: Vec<String>,
    /// The kernel's removable flag.
    pub removable: bool,
    /// The kernel's read-only flag (eMMC boot areas are read-only by default).
    pub read_only: bool,
    /// The partition table.
    pub table: Table,
    /// A signature on the whole disk itself (a filesystem, md member, LUKS… without a table).
    pub signature: Option<Signature>,
    /// Partitions the kernel knows about, by number.
    pub partitions: Vec<Partition>,
    /// Kernel names of devices stacked directly on the whole disk (`md127`, `dm-0`).
    pub holders: Vec<String>,
    /// Where the whole disk is mounted (`[SWAP]` for swap, as lsblk says).
    pub mountpoints: Vec<String>,
    /// Why what is on the disk is unknown: a probe of it failed (an I/O error, blkid
    /// failing). `None` when it was read; then `table` and `signature` are what is there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unreadable: Option<String>,
}

impl Disk {
    /// Whether `device` names this disk: its kernel path or one of its
    /// by-path/by-id links (udev's, or the ones derived from sysfs).
    pub fn answers_to(&self, device: &str) -> bool {
        self.path == device || self.by_path.iter().chain(&self.by_id).any(|l| l == device)
    }
}

/// What partition table a disk carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Table {
    /// No table at all.
    None,
    /// A GUID partition table.
    Gpt(Gpt),
    /// A DOS/MBR table (not protective): nasstrap never edits these, only replaces them.
    Mbr,
    /// Something is there but could not be read; the text says what.
    Unknown(String),
}

/// A GPT as read from the disk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gpt {
    /// Disk GUID, uppercase.
    pub disk_guid: String,
    /// First LBA a partition may use.
    pub first_usable_lba: u64,
    /// Last LBA a partition may use (inclusive).
    pub last_usable_lba: u64,
    /// The primary header and its entry array check out (CRCs).
    pub primary_ok: bool,
    /// The backup header at the last LBA and its entry array check out (CRCs).
    pub backup_ok: bool,
    /// Used entries, by entry number (gaps kept).
    pub entries: Vec<GptEntry>,
}

/// One used GPT entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GptEntry {
    /// Entry number, 1-based: the `N` in `sdaN`.
    pub number: u32,
    /// First LBA.
    pub first_lba: u64,
    /// Last LBA, inclusive.
    pub last_lba: u64,
    /// Partition type GUID, uppercase.
    pub type_guid: String,
    /// Unique partition GUID (the PARTUUID), uppercase.
    pub part_guid: String,
    /// Partition name (the PARTLABEL).
    pub name: String,
    /// Attribute bits (bit 2: legacy BIOS bootable, what U-Boot scans for).
    pub attributes: u64,
}

/// A partition as the kernel sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Partition {
    /// Partition number.
    pub number: u32,
    /// Kernel name: `sda1`, `mmcblk0p2`.
    pub name: String,
    /// Device node.
    pub path: String,
    /// First sector, in 512-byte units (the kernel's unit, whatever the LBA size).
    pub start_sector: u64,
    /// Size in bytes.
    pub size_bytes: u64,
    /// GPT/DOS partition UUID (PARTUUID), as blkid prints it (lowercase).
    pub part_uuid: Option<String>,
    /// GPT partition name (PARTLABEL).
    pub part_label: Option<String>,
    /// Partition type: a GUID (lowercase) for GPT, `0x83`-style for DOS.
    pub part_type: Option<String>,
    /// `/dev/disk/by-path/…-partN` names.
    pub by_path: Vec<String>,
    /// `/dev/disk/by-id/…-partN` names.
    pub by_id: Vec<String>,
    /// What is on the partition.
    pub signature: Option<Signature>,
    /// Kernel names of devices stacked on it (`md127`, `dm-0`).
    pub holders: Vec<String>,
    /// Where it is mounted (`[SWAP]` for swap).
    pub mountpoints: Vec<String>,
    /// Why what is on the partition is unknown (a probe of it failed), if it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unreadable: Option<String>,
}

/// A content signature found by probing (blkid's TYPE and friends).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signature {
    /// `ext4 xfs btrfs vfat swap linux_raid_member crypto_LUKS zfs_member …`, or
    /// [`AMBIVALENT`] when blkid found several and refused to choose: treat that device
    /// as occupied.
    pub fstype: String,
    /// Filesystem/container UUID.
    pub uuid: Option<String>,
    /// Sub-UUID: the btrfs device UUID, the md member's device UUID.
    pub uuid_sub: Option<String>,
    /// Filesystem label.
    pub label: Option<String>,
    /// Format version (`1.0` for ext4, `2` for LUKS2, `FAT32`…).
    pub version: Option<String>,
    /// Bytes used, when the filesystem is mounted (lsblk FSUSED).
    pub used_bytes: Option<u64>,
}

/// The `fstype` of a [`Signature`] when `blkid -p` exits 8 ("ambivalent result").
pub const AMBIVALENT: &str = "ambivalent";

/// An md (software RAID) array.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MdArray {
    /// Array name without the homehost: `tank` from `MD_NAME=host:tank`.
    pub name: Option<String>,
    /// Device node: `/dev/md127`.
    pub path: String,
    /// Array UUID in mdadm's form (`3a4d8e1f:2c5b6a7d:…`); empty when mdadm could not tell.
    pub uuid: String,
    /// `raid6`, `raid1`…; `unknown` for an inactive array whose level nothing reported.
    pub level: String,
    /// Superblock format: `1.2`, `1.0`, `0.90`.
    pub metadata: Option<String>,
    /// Number of slots in the array.
    pub raid_devices: u32,
    /// Members present, with their role.
    pub members: Vec<MdMember>,
    /// Health and sync state.
    pub state: MdState,
    /// Size in bytes (0 for an inactive array).
    pub size_bytes: u64,
    /// What is on the array.
    pub signature: Option<Signature>,
    /// Kernel names of devices stacked on the array.
    pub holders: Vec<String>,
    /// Where the array is mounted.
    pub mountpoints: Vec<String>,
    /// Why what is on the array is unknown (a probe of it failed), if it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unreadable: Option<String>,
}

impl MdArray {
    /// Whether the array runs: an inactive array (members gathered, not started,
    /// size 0) holds data nobody can see until it starts.
    pub fn is_running(&self) -> bool {
        self.state != MdState::Inactive && self.size_bytes > 0
    }
}

/// One member of an md array.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MdMember {
    /// Device node: `/dev/sda1`.
    pub device: String,
    /// Slot number, `None` for spares and failed devices without a slot.
    pub role: Option<u32>,
    /// `active`, `spare`, `faulty`, `journal`, `replacement`, `write-mostly`.
    pub state: String,
}

/// Health and sync state of an md array.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum MdState {
    /// All members in sync and the array is idle (`array_state` is `clean`).
    Clean,
    /// All members in sync, writes in flight (or `array_state` was not read).
    Active,
    /// Running with members missing and nothing rebuilding.
    Degraded {
        /// Slots without an in-sync member.
        missing: u32,
    },
    /// Initial sync or resync after an unclean stop.
    Resyncing {
        /// Progress, 0–100.
        percent: f32,
    },
    /// Rebuilding onto a replacement member.
    Recovering {
        /// Progress, 0–100.
        percent: f32,
    },
    /// Assembled but not started.
    Inactive,
    /// Anything else (`check 12.5%`, `reshape 3.0%`, `resync=DELAYED`, read-only…).
    Other(String),
}

/// A LUKS container.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Luks {
    /// Device node carrying the LUKS header: `/dev/md127`, `/dev/sda2`.
    pub device: String,
    /// LUKS version, 1 or 2.
    pub version: u8,
    /// Container UUID (lowercase, with dashes).
    pub uuid: String,
    /// LUKS2 label.
    pub label: Option<String>,
    /// Mapper name when the container is open: `cryptdata` for `/dev/mapper/cryptdata`.
    pub open_as: Option<String>,
    /// The open mapping's block device, when open.
    pub open: Option<Mapped>,
}

/// The block device a LUKS container is opened as.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mapped {
    /// Kernel name: `dm-0`.
    pub kname: String,
    /// `/dev/mapper/<name>`.
    pub path: String,
    /// What is inside.
    pub signature: Option<Signature>,
    /// Kernel names of devices stacked on the mapping.
    pub holders: Vec<String>,
    /// Where it is mounted.
    pub mountpoints: Vec<String>,
    /// Why what is inside is unknown (a probe of it failed), if it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unreadable: Option<String>,
}

/// A btrfs filesystem, possibly over several devices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BtrfsFs {
    /// Filesystem UUID.
    pub uuid: String,
    /// Label.
    pub label: Option<String>,
    /// Devices present, by path.
    pub devices: Vec<String>,
    /// The btrfs devid of each of `devices` (empty when btrfs-progs did not say).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devids: Vec<u64>,
    /// How many devices the filesystem has, present or not.
    pub total_devices: u32,
    /// Subvolume paths relative to the top level (`@home`, `@home/projects`).
    /// Only listed for mounted filesystems: btrfs has no offline subvolume listing.
    pub subvolumes: Vec<String>,
}

/// An imported ZFS pool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Zpool {
    /// Pool name.
    pub name: String,
    /// `ONLINE`, `DEGRADED`, `FAULTED`…
    pub health: String,
    /// Leaf vdev device paths (from `zpool status -P`).
    pub vdevs: Vec<String>,
    /// Those of `vdevs` that are not online (`UNAVAIL`, `FAULTED`, `REMOVED`…).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unavailable: Vec<String>,
    /// Datasets of this pool, the pool's root dataset included.
    pub datasets: Vec<String>,
}

/// One line of `/proc/mounts`, unescaped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mount {
    /// Mounted device or pseudo source.
    pub source: String,
    /// Mount point.
    pub target: String,
    /// Filesystem type.
    pub fstype: String,
    /// Mount options, split on commas.
    pub options: Vec<String>,
}
