//! The layout model: disko's `disko.devices` vocabulary plus nasstrap's
//! additions (`board`, `expect`, `firmware`, `bootable`). Every value that a
//! check may point at carries its position (`At<T>`).

use super::diag::Pos;
use super::parttype::PartType;
use super::size::{Parsed, Size};
use serde::Serialize;

/// A value with the place it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct At<T> {
    /// The value.
    pub v: T,
    /// Where it was written.
    pub pos: Pos,
    /// Its YAML path.
    pub path: String,
}

impl<T: Serialize> Serialize for At<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.v.serialize(s)
    }
}

/// Where an object (a disk, a partition…) was declared.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Site {
    /// Position of its key.
    pub pos: Pos,
    /// Its YAML path.
    pub path: String,
}

/// A whole layout file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Layout {
    /// The board profile whose rules apply.
    pub board: Option<Board>,
    /// Physical disks, in file order.
    pub disks: Vec<Disk>,
    /// md RAID arrays.
    pub mdadm: Vec<MdArray>,
    /// ZFS pools.
    pub zpools: Vec<Zpool>,
    /// Filesystems without a device (tmpfs).
    pub nodev: Vec<Nodev>,
    /// What the reader refused, so later checks stay silent about it.
    #[serde(skip)]
    pub rejected: Rejected,
}

/// Items the reader refused (and left out of the model), so that checks do
/// not follow up with errors that contradict the file ("no md array named
/// `tank`" when `tank` is declared, only wrongly).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Rejected {
    /// Disks left out.
    pub disks: Vec<String>,
    /// md arrays left out.
    pub md: Vec<String>,
    /// Pools left out.
    pub zpools: Vec<String>,
    /// The reader reported errors: something may be missing from the model,
    /// so counts (members of an array, partitions with a label) are not final.
    pub incomplete: bool,
}

/// When a disko hook runs, relative to its owner's steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
pub enum HookKind {
    /// Before the owner is created.
    #[serde(rename = "preCreateHook")]
    PreCreate,
    /// After the owner (and what its creation makes) is created.
    #[serde(rename = "postCreateHook")]
    PostCreate,
    /// Before each of the owner's mounts.
    #[serde(rename = "preMountHook")]
    PreMount,
    /// After each of the owner's mounts.
    #[serde(rename = "postMountHook")]
    PostMount,
}

impl HookKind {
    /// The four, in the order disko runs them.
    pub const ALL: [HookKind; 4] = [
        HookKind::PreCreate,
        HookKind::PostCreate,
        HookKind::PreMount,
        HookKind::PostMount,
    ];

    /// disko's option name (`postCreateHook`).
    pub fn as_str(&self) -> &'static str {
        match self {
            HookKind::PreCreate => "preCreateHook",
            HookKind::PostCreate => "postCreateHook",
            HookKind::PreMount => "preMountHook",
            HookKind::PostMount => "postMountHook",
        }
    }

    /// A create hook (else a mount hook).
    pub fn is_create(&self) -> bool {
        matches!(self, HookKind::PreCreate | HookKind::PostCreate)
    }

    /// Runs before its step (else after).
    pub fn is_pre(&self) -> bool {
        matches!(self, HookKind::PreCreate | HookKind::PreMount)
    }
}

/// A disko hook: shell text the layout asks to run; shown in full by `plan`,
/// run only with `--allow-hooks`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hook {
    /// When it runs.
    pub kind: HookKind,
    /// The shell text, verbatim.
    pub script: At<String>,
}

/// The hooks of one object, in [`HookKind::ALL`] order; empty ones are left out.
pub type Hooks = Vec<Hook>;

/// The hook of kind `k` among `hooks`.
pub fn hook(hooks: &[Hook], k: HookKind) -> Option<&Hook> {
    hooks.iter().find(|h| h.kind == k)
}

/// Board profiles.
// Deserialize too: a plan (which names its board) travels back to the target as JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Board {
    /// Kobol Helios64 (RK3399): nothing below 16 MiB on the boot medium.
    Helios64,
}

/// One physical disk.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Disk {
    /// The layout's name for it (`emmc`, `bay1`).
    pub name: String,
    #[serde(skip)]
    /// Where it was declared.
    pub site: Site,
    /// The device path (after `--disk` remapping).
    pub device: At<String>,
    /// Identity pins; a mismatch refuses the disk.
    pub expect: Expect,
    /// Raw regions outside the partition table (bootloaders).
    pub firmware: Vec<Firmware>,
    /// What the disk holds.
    pub content: Option<Content>,
    /// disko's `destroy`: false forbids wiping this disk.
    pub destroy: bool,
    /// disko's hooks on it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hooks: Hooks,
}

/// Identity pins of a disk.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Expect {
    /// The disk size, matched to the precision it was written with.
    #[serde(serialize_with = "ser_parsed")]
    pub size: Option<At<Parsed>>,
    /// The serial number, exact.
    pub serial: Option<At<String>>,
    /// The model, exact.
    pub model: Option<At<String>>,
}

fn ser_parsed<S: serde::Serializer>(v: &Option<At<Parsed>>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(p) => p.v.size.serialize(s),
        None => s.serialize_none(),
    }
}

/// A raw region at a fixed offset, e.g. U-Boot's idbloader at sector 64.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Firmware {
    /// Its name (`idbloader`, `u-boot`).
    pub name: String,
    #[serde(skip)]
    /// Where it was declared.
    pub site: Site,
    /// Offset from the start of the disk.
    pub offset: At<Size>,
    /// How much room it may take.
    pub max_size: At<Size>,
    /// An image to write there with `--firmware`.
    pub image: Option<At<String>>,
}

/// What a disk, partition, array, LUKS volume or zvol holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Content {
    /// A GPT partition table.
    Gpt(Gpt),
    /// A filesystem.
    Filesystem(Filesystem),
    /// A member of an md array.
    Mdraid(MdMember),
    /// A LUKS container.
    Luks(Luks),
    /// A btrfs filesystem with subvolumes.
    Btrfs(Btrfs),
    /// Swap space.
    Swap(Swap),
    /// A member of a ZFS pool.
    Zfs(ZfsMember),
}

/// A GPT partition table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gpt {
    /// Partitions in declaration order (planning sorts them by priority).
    pub partitions: Vec<Partition>,
    /// disko's hooks on it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hooks: Hooks,
}

/// A GPT partition.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Partition {
    /// The layout's name for it.
    pub name: String,
    #[serde(skip)]
    /// Where it was declared.
    pub site: Site,
    /// The GPT partition name; disko's default is `disk-<disk>-<partition>`.
    pub label: String,
    /// The GPT type.
    pub part_type: At<PartType>,
    /// Its size; `None` or 100% is the rest of the free space.
    pub size: Option<At<Size>>,
    /// Its start; `None` is the next aligned free sector.
    pub start: Option<At<Size>>,
    /// Its end (overrides `size`, as in disko).
    pub end: Option<At<End>>,
    /// Ordering key: lower first (disko's default 1000; 9001 for 100%; 100 for EF02).
    pub priority: i64,
    /// GPT attribute bits to set.
    pub attributes: Vec<u8>,
    /// Set GPT attribute bit 2 (legacy BIOS bootable), what U-Boot's distro boot scans.
    pub bootable: bool,
    /// What the partition holds.
    pub content: Option<Content>,
}

/// A partition end as disko/sgdisk write it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum End {
    /// `+SIZE`: the start plus a length.
    Plus(Size),
    /// `-SIZE`: that far before the end of the disk (`-0` is the very end).
    Minus(Size),
    /// An absolute offset.
    Absolute(Size),
}

/// Filesystem formats: the ones nasstrap knows (labels, discard, checks)
/// and any other `mkfs.<format>`, which disko accepts as well.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FsFormat {
    /// ext4 (ext2/ext3 are accepted and kept as their own kind).
    Ext4,
    /// ext3.
    Ext3,
    /// ext2.
    Ext2,
    /// XFS.
    Xfs,
    /// btrfs (single device, no subvolumes: use `type: btrfs` for those).
    Btrfs,
    /// FAT32.
    Vfat,
    /// F2FS (`mkfs.f2fs`, f2fs-tools).
    F2fs,
    /// Another format: made with `mkfs.<format>` and the layout's extraArgs,
    /// mounted as type `<format>` (disko's `mkfs.${format}`).
    Other(String),
}

impl FsFormat {
    /// The name as blkid reports it and mkfs takes it.
    pub fn as_str(&self) -> &str {
        match self {
            FsFormat::Ext4 => "ext4",
            FsFormat::Ext3 => "ext3",
            FsFormat::Ext2 => "ext2",
            FsFormat::Xfs => "xfs",
            FsFormat::Btrfs => "btrfs",
            FsFormat::Vfat => "vfat",
            FsFormat::F2fs => "f2fs",
            FsFormat::Other(s) => s,
        }
    }
}

impl Serialize for FsFormat {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A filesystem on a block device.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Filesystem {
    /// The format.
    pub format: At<FsFormat>,
    /// Where it is mounted (absolute).
    pub mountpoint: Option<At<String>>,
    /// Mount options.
    pub mount_options: Vec<String>,
    /// Extra mkfs arguments.
    pub extra_args: Vec<String>,
    /// disko's hooks on it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hooks: Hooks,
}

/// A member of an md array.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MdMember {
    /// The array's name in `mdadm:`.
    pub name: At<String>,
}

/// A LUKS container.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Luks {
    /// The mapper name (`/dev/mapper/<name>`).
    pub name: At<String>,
    /// A file on the target holding the passphrase.
    pub password_file: Option<At<String>>,
    /// A key file on the target (disko's `settings.keyFile` or `keyFile`).
    pub key_file: Option<At<String>>,
    /// Ask for the passphrase interactively.
    pub ask_password: bool,
    /// Open with discards allowed (`settings.allowDiscards`).
    pub allow_discards: bool,
    /// Where the key starts in the key file (`settings.keyFileOffset`, bytes).
    pub key_file_offset: Option<u64>,
    /// How much of the key file is the key (`settings.keyFileSize`, bytes).
    pub key_file_size: Option<u64>,
    /// Files whose contents become further keys (`additionalKeyFiles`:
    /// `cryptsetup luksAddKey`, unlocked with the first key).
    pub additional_key_files: Vec<At<String>>,
    /// Extra `cryptsetup luksFormat` arguments.
    pub extra_format_args: Vec<String>,
    /// Extra `cryptsetup open` arguments.
    pub extra_open_args: Vec<String>,
    /// What the opened volume holds.
    pub content: Option<Box<Content>>,
    /// disko's hooks on it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hooks: Hooks,
}

/// A btrfs filesystem (possibly multi-device through `extraArgs`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Btrfs {
    /// Extra mkfs.btrfs arguments; other devices of a multi-device filesystem are named here.
    pub extra_args: Vec<String>,
    /// Where the top-level subvolume is mounted.
    pub mountpoint: Option<At<String>>,
    /// Mount options of the top level.
    pub mount_options: Vec<String>,
    /// Subvolumes.
    pub subvolumes: Vec<Subvolume>,
    /// Swap files in the top level (disko's `swap`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub swap: Vec<SwapFile>,
    /// disko's hooks on it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hooks: Hooks,
}

/// A btrfs subvolume.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Subvolume {
    /// Its path inside the filesystem (`/home`, `@nix`).
    pub name: String,
    #[serde(skip)]
    /// Where it was declared.
    pub site: Site,
    /// Where it is mounted.
    pub mountpoint: Option<At<String>>,
    /// Mount options (`subvol=` is added by nasstrap).
    pub mount_options: Vec<String>,
    /// Swap files in it (disko's `swap`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub swap: Vec<SwapFile>,
}

/// A swap file in a btrfs top level or subvolume (disko's `swap.<name>`),
/// made with `btrfs filesystem mkswapfile` (no copy-on-write, no compression).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SwapFile {
    /// Its name in `swap:`.
    pub name: String,
    #[serde(skip)]
    /// Where it was declared.
    pub site: Site,
    /// Its path inside the top level or subvolume, without a leading `/`.
    pub path: String,
    /// Its size in bytes.
    pub size: At<u64>,
    /// swapon priority.
    pub priority: Option<i64>,
    /// swapDevices options (`defaults` is none).
    pub options: Vec<String>,
}

/// Swap space.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Swap {
    /// swapon priority.
    pub priority: Option<i64>,
    /// Re-encrypt with a random key on every boot (NixOS option; planned as plain mkswap here).
    pub random_encryption: bool,
    /// Use as the resume device.
    pub resume_device: bool,
    /// disko's hooks on it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hooks: Hooks,
}

/// A member of a ZFS pool.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ZfsMember {
    /// The pool's name in `zpool:`.
    pub pool: At<String>,
}

/// md RAID levels nasstrap creates.
pub const MD_LEVELS: [u32; 5] = [0, 1, 5, 6, 10];

/// An md array.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MdArray {
    /// Its name (`/dev/md/<name>`).
    pub name: String,
    #[serde(skip)]
    /// Where it was declared.
    pub site: Site,
    /// RAID level.
    pub level: At<u32>,
    /// Superblock format (`1.2`, `1.0`, … or `default`).
    pub metadata: String,
    /// Extra `mdadm --create` arguments (e.g. `--assume-clean`).
    pub extra_args: Vec<String>,
    /// What the array holds.
    pub content: Option<Content>,
    /// disko's hooks on it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hooks: Hooks,
}

/// ZFS vdev layouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ZMode {
    /// No redundancy.
    Stripe,
    /// Mirror.
    Mirror,
    /// Single parity.
    Raidz1,
    /// Double parity.
    Raidz2,
    /// Triple parity.
    Raidz3,
}

/// A ZFS pool.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Zpool {
    /// Pool name.
    pub name: String,
    #[serde(skip)]
    /// Where it was declared.
    pub site: Site,
    /// vdev layout.
    pub mode: At<ZMode>,
    /// Pool properties (`-o`).
    pub options: Vec<(String, String)>,
    /// Root dataset properties (`-O`).
    pub root_fs_options: Vec<(String, String)>,
    /// Mountpoint of the root dataset.
    pub mountpoint: Option<At<String>>,
    /// Mount options of the root dataset.
    pub mount_options: Vec<String>,
    /// Datasets and volumes.
    pub datasets: Vec<Dataset>,
    /// disko's hooks on it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hooks: Hooks,
}

/// A ZFS dataset or volume.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dataset {
    /// Name below the pool (`data/media`).
    pub name: String,
    #[serde(skip)]
    /// Where it was declared.
    pub site: Site,
    /// Filesystem or volume.
    pub kind: DatasetKind,
    /// disko's hooks on it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hooks: Hooks,
}

/// The two dataset kinds.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DatasetKind {
    /// `zfs_fs`.
    ZfsFs {
        /// Mountpoint.
        mountpoint: Option<At<String>>,
        /// Mount options.
        mount_options: Vec<String>,
        /// Properties.
        options: Vec<(String, String)>,
    },
    /// `zfs_volume`.
    ZfsVolume {
        /// Volume size.
        size: At<Size>,
        /// Properties.
        options: Vec<(String, String)>,
        /// What the volume holds.
        content: Option<Box<Content>>,
    },
}

/// A filesystem without a device (tmpfs).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Nodev {
    /// Its name in `nodev:`.
    pub name: String,
    #[serde(skip)]
    /// Where it was declared.
    pub site: Site,
    /// Filesystem type (`tmpfs`).
    pub fs_type: String,
    /// Device string passed to mount (`none`).
    pub device: String,
    /// Mountpoint.
    pub mountpoint: At<String>,
    /// Mount options.
    pub mount_options: Vec<String>,
    /// disko's hooks on it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hooks: Hooks,
}
