//! Rule `extlinux`: which partition U-Boot's distro boot reads, where the
//! plan mounted it, and whether extlinux.conf is on it.
//!
//! `scan_dev_for_boot_part` lists the partitions flagged bootable (GPT
//! attribute bit 2), or partition 1 when none is; on each it tries the
//! prefixes `/` then `/boot/` for `extlinux/extlinux.conf`. Paths in the file
//! are then resolved by `sysboot` against the file's own directory (relative)
//! or the partition's root (absolute).

use super::{Finding, Rule};
use crate::plan::{Action, DiskPlan, PartGeometry, Plan, partition_path};
use std::path::{Path, PathBuf};

/// GPT attribute bit 2, "legacy BIOS bootable": what `part list -bootable` reports.
const BOOTABLE: u64 = 1 << 2;
/// Where distro boot looks, in order, on each partition.
const PREFIXES: [&str; 2] = ["/", "/boot/"];
/// Filesystems U-Boot on the Helios64 reads.
const READABLE: [&str; 5] = ["ext2", "ext3", "ext4", "vfat", "fat"];

/// The partition U-Boot boots from and where it is mounted here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootFs {
    /// Layout name of the disk.
    pub disk: String,
    /// Partition number.
    pub number: u32,
    /// The partition's device path.
    pub device: String,
    /// Its mountpoint in the installed system (`/boot` or `/`).
    pub mountpoint: String,
    /// Where that filesystem's root is here (`root` + mountpoint).
    pub dir: PathBuf,
    /// extlinux.conf's path on the partition (`/extlinux/extlinux.conf`).
    pub conf: String,
}

impl BootFs {
    /// extlinux.conf here.
    pub fn conf_path(&self) -> PathBuf {
        self.here(&self.conf)
    }

    /// A path on the partition as `sysboot` resolves `file` from
    /// extlinux.conf: absolute from the partition's root, relative from the
    /// file's directory; `..` and `.` folded.
    pub fn resolve(&self, file: &str) -> String {
        let joined = if file.starts_with('/') {
            file.to_string()
        } else {
            let dir = &self.conf[..=self.conf.rfind('/').unwrap_or(0)];
            format!("{dir}{file}")
        };
        let mut parts: Vec<&str> = Vec::new();
        for p in joined.split('/') {
            match p {
                "" | "." => {}
                ".." => {
                    parts.pop();
                }
                p => parts.push(p),
            }
        }
        format!("/{}", parts.join("/"))
    }

    /// Where a path on the partition is here.
    pub fn here(&self, on_partition: &str) -> PathBuf {
        self.dir.join(on_partition.trim_start_matches('/'))
    }

    /// "emmc partition 1 (/boot)" for messages.
    pub fn describe(&self) -> String {
        format!(
            "{} partition {} ({}, mounted at {})",
            self.disk, self.number, self.device, self.mountpoint
        )
    }
}

/// A filesystem the plan mounts: mountpoint, source, type.
struct Mounted<'a> {
    at: String,
    source: &'a str,
    fstype: &'a str,
}

fn mounts(plan: &Plan) -> Vec<Mounted<'_>> {
    let root = plan.mount_root.trim_end_matches('/');
    plan.steps
        .iter()
        .filter_map(|s| match &s.action {
            Action::Mount {
                source,
                target,
                fstype,
                ..
            } => {
                let at = target.strip_prefix(root).unwrap_or(target);
                let at = if at.is_empty() { "/" } else { at };
                Some(Mounted {
                    at: at.to_string(),
                    source,
                    fstype,
                })
            }
            _ => None,
        })
        .collect()
}

/// The mountpoint whose filesystem holds `path` (the longest one above it).
fn owner<'a>(mounts: &'a [Mounted], path: &str) -> Option<&'a str> {
    mounts
        .iter()
        .map(|m| m.at.as_str())
        .filter(|at| {
            *at == "/"
                || path == *at
                || path
                    .strip_prefix(at)
                    .is_some_and(|rest| rest.starts_with('/'))
        })
        .max_by_key(|at| at.len())
}

/// Partitions distro boot tries, boot medium first; `false` when none is
/// flagged and partition 1 stands in.
fn candidates(plan: &Plan) -> (Vec<(&DiskPlan, &PartGeometry)>, bool) {
    let mut disks: Vec<&DiskPlan> = plan.disks.iter().filter(|d| d.boot_medium).collect();
    disks.extend(plan.disks.iter().filter(|d| !d.boot_medium));
    let flagged: Vec<_> = disks
        .iter()
        .flat_map(|d| {
            d.table
                .iter()
                .flat_map(move |t| t.partitions.iter().map(move |p| (*d, p)))
        })
        .filter(|(_, p)| p.attributes & BOOTABLE != 0)
        .collect();
    if !flagged.is_empty() {
        return (flagged, true);
    }
    let first = disks
        .iter()
        .filter(|d| d.boot_medium)
        .flat_map(|d| {
            d.table
                .iter()
                .flat_map(move |t| t.partitions.iter().map(move |p| (*d, p)))
        })
        .filter(|(_, p)| p.number == 1)
        .collect();
    (first, false)
}

/// Find extlinux.conf where U-Boot would, with the findings that explain the
/// result: an ok (or a warning about how it was found) with the `BootFs`, or
/// the problem that stops the search.
pub fn locate(root: &Path, plan: &Plan) -> (Option<BootFs>, Vec<Finding>) {
    let mounts = mounts(plan);
    let (cands, flagged) = candidates(plan);
    let mut out = Vec::new();
    if cands.is_empty() {
        let f = Finding::problem(
            Rule::Extlinux,
            "no partition carries the bootable attribute (GPT attribute 2) and the boot medium has no partition 1, so U-Boot's distro boot has nothing to scan",
        )
        .with_fix("set `bootable: true` on the partition mounted at /boot");
        return (None, vec![f]);
    }
    if !flagged {
        out.push(
            Finding::warning(
                Rule::Extlinux,
                "no partition carries the bootable attribute (GPT attribute 2); U-Boot falls back to partition 1",
            )
            .with_fix("set `bootable: true` on the partition mounted at /boot"),
        );
    }
    let mut why = Vec::new();
    for (disk, part) in cands {
        let device = partition_path(&disk.device, part.number);
        let name = format!("{} partition {} ({device})", disk.name, part.number);
        let Some(m) = mounts.iter().find(|m| m.source == device) else {
            why.push(format!("{name} holds no filesystem the plan mounts"));
            continue;
        };
        if !READABLE.contains(&m.fstype) {
            why.push(format!(
                "{name} is {}, which U-Boot cannot read (ext2/3/4 or FAT only)",
                m.fstype
            ));
            continue;
        }
        let mut elsewhere = None;
        for prefix in PREFIXES {
            let conf = format!("{prefix}extlinux/extlinux.conf");
            let fs = BootFs {
                disk: disk.name.clone(),
                number: part.number,
                device: device.clone(),
                mountpoint: m.at.clone(),
                dir: root.join(m.at.trim_start_matches('/')),
                conf: conf.clone(),
            };
            let installed = if m.at == "/" {
                conf.clone()
            } else {
                format!("{}{conf}", m.at)
            };
            if owner(&mounts, &installed) != Some(m.at.as_str()) {
                // That path is another filesystem's: U-Boot sees what is
                // under the mountpoint on this one, which is empty.
                if root.join(installed.trim_start_matches('/')).is_file() {
                    elsewhere = Some(installed);
                }
                continue;
            }
            if fs.conf_path().is_file() {
                out.push(Finding::ok(
                    Rule::Extlinux,
                    format!("U-Boot finds {conf} on {}", fs.describe()),
                ));
                return (Some(fs), out);
            }
        }
        let mut w = format!(
            "{name}, mounted at {}, has neither /extlinux/extlinux.conf nor /boot/extlinux/extlinux.conf (looked under {})",
            m.at,
            root.join(m.at.trim_start_matches('/')).display()
        );
        if let Some(e) = elsewhere {
            w.push_str(&format!(
                "; {e} exists, but on the filesystem mounted at {}, which is not flagged bootable",
                owner(&mounts, &e).unwrap_or("?")
            ));
        }
        why.push(w);
    }
    out.push(
        Finding::problem(
            Rule::Extlinux,
            format!("U-Boot finds no extlinux.conf: {}", why.join("; ")),
        )
        .with_fix("enable `boot.loader.generic-extlinux-compatible` and put /boot on the bootable ext4/vfat partition, then run nixos-install again"),
    );
    (None, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fs(conf: &str) -> BootFs {
        BootFs {
            disk: "emmc".into(),
            number: 1,
            device: "/dev/mmcblk1p1".into(),
            mountpoint: "/boot".into(),
            dir: PathBuf::from("/mnt/boot"),
            conf: conf.into(),
        }
    }

    #[test]
    fn paths_resolve_like_sysboot() {
        let f = fs("/extlinux/extlinux.conf");
        assert_eq!(f.resolve("../nixos/x-Image"), "/nixos/x-Image");
        assert_eq!(f.resolve("/nixos/x-Image"), "/nixos/x-Image");
        assert_eq!(f.resolve("./y"), "/extlinux/y");
        assert_eq!(f.resolve("../../../z"), "/z");
        assert_eq!(f.here("/nixos/x"), PathBuf::from("/mnt/boot/nixos/x"));
        let f = fs("/boot/extlinux/extlinux.conf");
        assert_eq!(f.resolve("../nixos/x-Image"), "/boot/nixos/x-Image");
    }

    #[test]
    fn the_longest_mountpoint_owns_a_path() {
        let m = |at: &str| Mounted {
            at: at.into(),
            source: "",
            fstype: "ext4",
        };
        let ms = [m("/"), m("/boot"), m("/srv")];
        assert_eq!(owner(&ms, "/boot/extlinux/extlinux.conf"), Some("/boot"));
        assert_eq!(owner(&ms, "/bootx/a"), Some("/"));
        assert_eq!(owner(&ms, "/boot"), Some("/boot"));
        assert_eq!(owner(&ms[1..], "/etc"), None);
    }
}
