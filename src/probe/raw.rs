//! [`RawProbe`]: everything the collector captures on the target, unparsed.
//!
//! One nasstrap process on the target fills it in one pass (the commands are the
//! `*_CMD` constants in [`super`], the files are plain reads of procfs/sysfs, the tables
//! come from [`super::gpt::read_table`]) and sends it back as JSON; [`super::assemble()`]
//! turns it into the observed model wherever it lands. Keeping it raw means a probe from
//! a real box can be replayed as a test fixture.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::model::Table;

/// The captured outputs, per tool, plus the sysfs facts the tools do not print.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RawProbe {
    /// stdout of [`super::LSBLK_CMD`].
    pub lsblk: String,
    /// One [`super::BLKID_CMD`] run per block device lsblk listed (`target`: its PATH).
    pub blkid: Vec<Captured>,
    /// `/sys/class/block/*` facts, one entry per block device.
    pub sysfs: Vec<SysBlock>,
    /// `/sys/class/ata_port/ataN/port_no` for every ATA port (`ata1` → 1): by-path uses
    /// the port's number on its controller, which is not always N.
    pub ata_ports: BTreeMap<String, u32>,
    /// The `/dev/disk/by-id` and `/dev/disk/by-path` links udev made, `None` when
    /// `/dev/disk` does not exist (no udev): then names are derived from sysfs instead.
    pub dev_disk_links: Option<Vec<DevLink>>,
    /// [`super::gpt::read_table`] per whole disk, by kernel name; for disks missing here
    /// the table kind falls back to blkid's PTTYPE.
    pub tables: BTreeMap<String, Table>,
    /// `/proc/mdstat`, `None` when it does not exist (md driver not loaded).
    pub mdstat: Option<String>,
    /// One [`super::MDADM_DETAIL_CMD`] run per array in mdstat (`target`: `/dev/mdN`).
    pub md_detail: Vec<Captured>,
    /// One [`super::LUKS_DUMP_CMD`] run per crypto_LUKS device (`target`: its path).
    pub luks_dump: Vec<Captured>,
    /// `/proc/mounts`.
    pub proc_mounts: String,
    /// `/proc/swaps`.
    pub proc_swaps: String,
    /// stdout of [`super::BTRFS_SHOW_CMD`], `None` when btrfs-progs is not installed.
    pub btrfs_show: Option<String>,
    /// One [`super::BTRFS_SUBVOLUME_LIST_CMD`] run per mounted btrfs (`target`: the
    /// filesystem UUID).
    pub btrfs_subvolumes: Vec<Captured>,
    /// stdout of [`super::ZPOOL_LIST_CMD`], `None` without ZFS.
    pub zpool_list: Option<String>,
    /// stdout of [`super::ZPOOL_STATUS_CMD`], `None` without ZFS.
    pub zpool_status: Option<String>,
    /// stdout of [`super::ZFS_LIST_CMD`], `None` without ZFS.
    pub zfs_list: Option<String>,
    /// Devices the collector could not read, by device path (`/dev/sdc`), with what
    /// failed: a read of the device's first or last sectors, the partition table, or
    /// its size in sysfs. blkid cannot be asked this: on an I/O error it exits 2,
    /// "nothing found", without a word.
    pub unreadable: BTreeMap<String, String>,
    /// The device paths the caller asked about (the layout's disks), resolved the way
    /// the kernel sees them, so two spellings of one device are seen as one.
    pub paths: Vec<PathLookup>,
}

/// One run of a per-device tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Captured {
    /// What the run was about: the device path (or the btrfs UUID) appended to the command.
    pub target: String,
    /// Its stdout.
    pub stdout: String,
    /// Its exit code; -1 if it died by a signal. blkid: 0 found, 2 nothing, 8 ambivalent.
    pub status: i32,
    /// The tail of its stderr (why it failed; blkid says `error: DEV: …` there when it
    /// cannot open a device, and still exits 2).
    #[serde(default)]
    pub stderr: String,
}

/// One device path resolved on the target: symlinks followed, then the block
/// device's major:minor looked up in `/sys/dev/block`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PathLookup {
    /// The path as asked (`/dev/disk/by-path/…`, `/dev/sda`).
    pub path: String,
    /// Kernel name of the block device it leads to (`sda`, `sda1`, `md127`).
    pub kname: Option<String>,
    /// Why it leads to no block device (`No such file or directory (os error 2)`,
    /// `not a block device`), when `kname` is `None`.
    pub error: Option<String>,
}

/// What the collector reads from `/sys/class/block/<name>/` (absent files: `None`/empty).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SysBlock {
    /// Kernel name: `sda`, `sda1`, `md127`, `dm-0`.
    pub name: String,
    /// `readlink -f /sys/class/block/<name>`.
    pub syspath: String,
    /// `size`, in 512-byte units.
    pub size_512: Option<u64>,
    /// `partition`: the partition number (partitions only).
    pub partition: Option<u32>,
    /// `start`, in 512-byte units (partitions only).
    pub start: Option<u64>,
    /// Entries of `holders/`.
    pub holders: Vec<String>,
    /// Entries of `slaves/` (md, dm).
    pub slaves: Vec<String>,
    /// `device/vendor` (SCSI: `ATA` for libata disks).
    pub vendor: Option<String>,
    /// `device/model` (SCSI INQUIRY: at most 16 characters).
    pub model: Option<String>,
    /// `device/serial` (MMC cards, NVMe).
    pub serial: Option<String>,
    /// `device/name` (MMC card product name).
    pub card_name: Option<String>,
    /// `device/wwid` (`naa.…` when the disk has a WWN).
    pub wwid: Option<String>,
    /// `device/vpd_pg80` bytes (unit serial number page).
    pub vpd_pg80: Option<Vec<u8>>,
    /// `device/vpd_pg89` bytes (ATA information page: the full IDENTIFY data).
    pub vpd_pg89: Option<Vec<u8>>,
    /// `dm/name`.
    pub dm_name: Option<String>,
    /// `dm/uuid`.
    pub dm_uuid: Option<String>,
    /// `md/array_state`.
    pub md_array_state: Option<String>,
}

/// One `/dev/disk/by-{id,path}/` symlink.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DevLink {
    /// The link: `/dev/disk/by-id/ata-QEMU_HARDDISK_SATA0`.
    pub link: String,
    /// Kernel name it resolves to: `sda`.
    pub target: String,
}
