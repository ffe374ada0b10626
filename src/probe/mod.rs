//! probe: what the target's storage looks like, as plain data.
//!
//! Two halves, and only the second lives here:
//! 1. `exec`'s collector runs the commands below and reads the files below on the
//!    target, in one pass, into a [`RawProbe`] (serde, so it can cross SSH as JSON);
//! 2. the pure parsers here turn that into the [`Observed`] model ([`assemble()`]).
//!
//! Nothing in this module spawns a process. The only I/O is [`gpt::read_table`], which
//! reads from whatever `Read + Seek` the collector hands it.
//!
//! Why blkid and not just lsblk: lsblk (util-linux 2.38, built with libudev) takes
//! FSTYPE/UUID/LABEL/PTTYPE/PARTUUID/PARTLABEL only from the udev database. Without a
//! running udev they are all `null`, even as root (checked on loop devices with ext4,
//! swap, vfat and GPT). Sizes, sector sizes, START, RM/RO, MODEL and MOUNTPOINTS come
//! from sysfs and mountinfo and are fine. So signatures always come from `blkid --probe`
//! per device (which reads the device itself), and lsblk's filesystem columns are only a
//! fallback for devices blkid was not run on.

pub mod assemble;
pub mod blkid;
pub mod btrfs;
pub mod describe;
pub mod gpt;
mod kv;
pub mod lsblk;
pub mod luks;
pub mod mdadm;
pub mod model;
pub mod proc;
pub mod raw;
#[cfg(test)]
mod robustness;
pub mod sysfs;
pub mod zfs;

pub use assemble::assemble;
pub use model::*;
pub use raw::RawProbe;

/// `lsblk` columns the parser reads. All exist in util-linux 2.38 (Debian 12); START is
/// there since 2.38, older versions would need `/sys/class/block/<part>/start`.
pub const LSBLK_COLUMNS: &str = "NAME,KNAME,PATH,MAJ:MIN,TYPE,SIZE,START,LOG-SEC,PHY-SEC,RM,RO,\
MODEL,SERIAL,WWN,PKNAME,FSTYPE,FSVER,LABEL,UUID,FSUSED,PTTYPE,PTUUID,PARTUUID,PARTLABEL,\
PARTTYPE,MOUNTPOINTS";

/// Run once, no device arguments: every block device as a tree (holders such as md and
/// dm appear as children). Goes to [`RawProbe::lsblk`].
pub const LSBLK_CMD: &[&str] = &["lsblk", "--json", "--bytes", "--output", LSBLK_COLUMNS];

/// Run once per block device (disks, partitions, md arrays, dm devices), the device path
/// appended. `--no-encoding` keeps UTF-8 labels (blkid writes `M-…` otherwise). Exit 2
/// means nothing found, 8 ambivalent. Goes to [`RawProbe::blkid`].
pub const BLKID_CMD: &[&str] = &["blkid", "--probe", "--no-encoding", "--output", "export"];

/// Run once per md device listed in `/proc/mdstat` (`/dev/md127` appended). Goes to
/// [`RawProbe::md_detail`].
pub const MDADM_DETAIL_CMD: &[&str] = &["mdadm", "--detail", "--export"];

/// Run once per device whose blkid TYPE is `crypto_LUKS` (device appended). Goes to
/// [`RawProbe::luks_dump`].
pub const LUKS_DUMP_CMD: &[&str] = &["cryptsetup", "luksDump"];

/// Run once, if `btrfs` is installed. Lists mounted and unmounted filesystems. Goes to
/// [`RawProbe::btrfs_show`].
pub const BTRFS_SHOW_CMD: &[&str] = &["btrfs", "filesystem", "show", "--raw"];

/// Run once per *mounted* btrfs filesystem, a mount point of it appended (any subvolume's
/// mount point works: the list is always of the whole filesystem, paths relative to the top
/// level). btrfs cannot list subvolumes of an unmounted filesystem; the collector may
/// mount the top level read-only (`-o ro,subvolid=5`) on a private directory first, or
/// leave the list empty. Goes to [`RawProbe::btrfs_subvolumes`].
pub const BTRFS_SUBVOLUME_LIST_CMD: &[&str] = &["btrfs", "subvolume", "list"];

/// Run once if `zpool` is installed. Goes to [`RawProbe::zpool_list`].
pub const ZPOOL_LIST_CMD: &[&str] = &["zpool", "list", "-H", "-o", "name,health"];

/// Run once if `zpool` is installed: full device paths for the leaf vdevs. Goes to
/// [`RawProbe::zpool_status`].
pub const ZPOOL_STATUS_CMD: &[&str] = &["zpool", "status", "-P"];

/// Run once if `zfs` is installed. Goes to [`RawProbe::zfs_list`].
pub const ZFS_LIST_CMD: &[&str] = &["zfs", "list", "-H", "-o", "name"];

/// Read into [`RawProbe::proc_mounts`].
pub const PROC_MOUNTS: &str = "/proc/mounts";
/// Read into [`RawProbe::proc_swaps`].
pub const PROC_SWAPS: &str = "/proc/swaps";
/// Read into [`RawProbe::mdstat`] (absent when the md driver is not loaded).
pub const PROC_MDSTAT: &str = "/proc/mdstat";

/// A tool's output did not have the shape its parser expects.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProbeError {
    /// Line-oriented output went wrong at a given line (1-based).
    #[error("malformed {tool} output at line {line}: {what}")]
    Malformed {
        /// Which tool or file, e.g. `mdadm --detail --export`.
        tool: &'static str,
        /// 1-based line number.
        line: usize,
        /// What was wrong, lowercase.
        what: String,
    },
    /// JSON output did not parse (serde's message carries line and column).
    #[error("malformed {tool} output: {what}")]
    Json {
        /// Which tool.
        tool: &'static str,
        /// serde_json's message.
        what: String,
    },
}

impl ProbeError {
    /// Shorthand for [`ProbeError::Malformed`].
    pub(crate) fn malformed(tool: &'static str, line: usize, what: impl Into<String>) -> Self {
        ProbeError::Malformed {
            tool,
            line,
            what: what.into(),
        }
    }
}

/// Reads a fixture under `tests/fixtures/probe/` for the unit tests.
#[cfg(test)]
pub(crate) fn fixture(rel: &str) -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/probe/");
    std::fs::read_to_string(format!("{path}{rel}"))
        .unwrap_or_else(|e| panic!("reading fixture {rel}: {e}"))
}
