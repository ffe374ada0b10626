//! What running a plan needs from the machine: programs, key files, kernel
//! features, passphrases to ask. Derived from the steps that will run, so a
//! preflight can check all of it before the first write (a missing
//! `mkfs.vfat` found at step 11, after the tables were written, is the
//! failure this exists to prevent). Pure: checking is `exec::preflight`'s job.

use super::{Action, Change, KeySource, Plan, script};
use std::collections::BTreeSet;

/// Everything a plan's steps need, deduplicated and sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    /// Programs run, by name (`mkfs.vfat`).
    pub programs: BTreeSet<String>,
    /// Files read as LUKS keys or passphrases.
    pub key_files: BTreeSet<String>,
    /// Filesystem types the kernel must mount.
    pub mounts: BTreeSet<String>,
    /// Kernel drivers the plan uses: `md`, `dm-crypt`, `zfs`.
    pub drivers: BTreeSet<&'static str>,
    /// LUKS volumes whose passphrase is asked (`askPassword`), with whether
    /// the step formats (asked twice) or only opens.
    pub passphrases: Vec<AskedKey>,
}

/// A passphrase the user types.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct AskedKey {
    /// The LUKS mapper name.
    pub name: String,
    /// The container is created in this run (ask twice).
    pub new: bool,
}

/// The Debian package that ships `program`, for hints.
pub fn package_of(program: &str) -> &'static str {
    match program {
        "wipefs" | "partx" | "mkswap" | "blkid" | "lsblk" | "swapon" | "swapoff" => "util-linux",
        "mount" | "umount" => "mount",
        "mdadm" => "mdadm",
        "cryptsetup" => "cryptsetup-bin",
        "mkfs.ext4" | "mkfs.ext3" | "mkfs.ext2" => "e2fsprogs",
        "mkfs.xfs" => "xfsprogs",
        "mkfs.btrfs" | "btrfs" => "btrfs-progs",
        "mkfs.vfat" | "mkfs.fat" | "mkfs.msdos" => "dosfstools",
        "mkfs.f2fs" => "f2fs-tools",
        "mkfs.ntfs" => "ntfs-3g",
        "mkfs.exfat" => "exfatprogs",
        "mkfs.jfs" => "jfsutils",
        "mkfs.nilfs2" => "nilfs-tools",
        "mkfs.udf" => "udftools",
        "mkfs.minix" => "util-linux",
        "zpool" | "zfs" => "zfsutils-linux",
        "udevadm" => "udev",
        "sgdisk" => "gdisk",
        "sh" => "dash",
        _ => "?",
    }
}

/// The needs of every step of `plan` that is not `keep`.
pub fn of(plan: &Plan) -> Needs {
    let mut n = Needs::default();
    for st in plan.steps.iter().filter(|s| s.change != Change::Keep) {
        add(&mut n, &st.action);
    }
    n.passphrases.sort();
    n.passphrases.dedup_by(|a, b| {
        // One prompt per volume; formatting wins (it asks twice).
        if a.name == b.name {
            b.new |= a.new;
            true
        } else {
            false
        }
    });
    n
}

fn add(n: &mut Needs, a: &Action) {
    // apply makes the mountpoint itself; the script's `mkdir -p` is for people.
    if !matches!(a, Action::Mount { .. }) {
        for argv in script::commands(a) {
            if let Some(p) = argv.first() {
                n.programs.insert(p.clone());
            }
        }
    }
    match a {
        // In-process, with `partx` as the fallback that tells the kernel.
        Action::WriteGpt { .. } => {
            n.programs.insert("partx".into());
        }
        Action::BtrfsSubvolume { .. }
        | Action::BtrfsReplace { .. }
        | Action::BtrfsSwapfile { .. } => {
            for p in ["mount", "umount", "btrfs"] {
                n.programs.insert(p.into());
            }
            n.mounts.insert("btrfs".into());
        }
        Action::MdCreate { .. }
        | Action::MdAssemble { .. }
        | Action::MdStop { .. }
        | Action::MdAdd { .. } => {
            n.drivers.insert("md");
        }
        Action::LuksFormat { name, key, .. }
        | Action::LuksOpen { name, key, .. }
        | Action::LuksAddKey { name, key, .. } => {
            if matches!(a, Action::LuksOpen { .. }) {
                n.drivers.insert("dm-crypt");
            }
            if let Action::LuksAddKey { new_key, .. } = a {
                n.key_files.insert(new_key.clone());
            }
            match key {
                KeySource::PasswordFile(p) | KeySource::KeyFile(p) => {
                    n.key_files.insert(p.clone());
                }
                KeySource::Ask => n.passphrases.push(AskedKey {
                    name: name.clone(),
                    new: matches!(a, Action::LuksFormat { .. }),
                }),
            }
        }
        Action::ZpoolCreate { .. } | Action::ZfsCreate { .. } | Action::ZpoolReplace { .. } => {
            n.drivers.insert("zfs");
        }
        Action::Mount { fstype, .. } => {
            n.programs.insert("mount".into());
            // tmpfs and friends are always there; zfs is the driver's.
            if !matches!(fstype.as_str(), "tmpfs" | "zfs" | "proc" | "sysfs") {
                n.mounts.insert(fstype.clone());
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan_of(file: &str) -> Plan {
        let f = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
        let loaded = crate::layout::load_file(&f, &[]).unwrap();
        crate::plan::build(&loaded, &crate::plan::Options::default()).unwrap()
    }

    #[test]
    fn a_from_scratch_install_needs_its_tools() {
        let n = of(&plan_of("layouts/helios64-luks.yaml"));
        let programs: Vec<&str> = n.programs.iter().map(String::as_str).collect();
        assert_eq!(
            programs,
            [
                "cryptsetup",
                "mdadm",
                "mkfs.ext4",
                "mount",
                "partx",
                "wipefs"
            ]
        );
        assert_eq!(
            n.drivers.iter().copied().collect::<Vec<_>>(),
            ["dm-crypt", "md"]
        );
        assert_eq!(
            n.mounts.iter().map(String::as_str).collect::<Vec<_>>(),
            ["ext4"]
        );
        assert!(n.passphrases.is_empty());
        assert_eq!(n.key_files.len(), 1, "{n:?}");
    }

    #[test]
    fn kept_steps_need_nothing() {
        let mut p = plan_of("layouts/helios64.yaml");
        for st in &mut p.steps {
            st.change = Change::Keep;
        }
        assert_eq!(of(&p), Needs::default());
    }

    #[test]
    fn asked_passphrases_are_listed_once_per_volume() {
        let mut p = plan_of("layouts/helios64-luks.yaml");
        for st in &mut p.steps {
            if let Action::LuksFormat { key, .. } | Action::LuksOpen { key, .. } = &mut st.action {
                *key = KeySource::Ask;
            }
        }
        let n = of(&p);
        assert_eq!(n.passphrases.len(), 1);
        assert!(n.passphrases[0].new, "formatting asks twice");
        assert!(n.key_files.is_empty());
    }

    #[test]
    fn packages_are_named() {
        assert_eq!(package_of("mkfs.vfat"), "dosfstools");
        assert_eq!(package_of("cryptsetup"), "cryptsetup-bin");
    }
}
