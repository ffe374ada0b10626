//! The Helios64's /boot rule. U-Boot's distro boot reads extlinux from
//! ext2/3/4 or FAT on a plain partition; the rule is about whatever ends up
//! mounted at /boot, whatever its type and however the path was spelled
//! (mountpoints are normalized by now). With nothing mounted at /boot, /boot
//! is a directory of `/`, and the rule applies to that.

use super::super::diag::Diagnostic;
use super::super::model::*;
use super::super::names::shown;
use super::{Holder, Mount, Source, holder_site};

/// The mountpoint that holds /boot: `/boot` if something is mounted there,
/// else `/`.
pub fn boot_mountpoint(mounts: &[Mount]) -> &'static str {
    if mounts.iter().any(|m| m.at.v == "/boot") {
        "/boot"
    } else {
        "/"
    }
}

/// Check what holds /boot on a Helios64.
pub fn helios64(mounts: &[Mount], out: &mut Vec<Diagnostic>) {
    let target = boot_mountpoint(mounts);
    let what = if target == "/boot" {
        "/boot"
    } else {
        "/boot (a directory of `/`, since nothing is mounted at /boot)"
    };
    let plain = "use ext4 or vfat on a partition of the eMMC or SD card for /boot";
    for m in mounts.iter().filter(|m| m.at.v == target) {
        let cannot = |on: &str| format!("U-Boot on the Helios64 cannot read {what} on {on}");
        match &m.source {
            Source::Fs(Holder::Partition(_, p), f) => {
                // U-Boot's filesystems: ext2/3/4 and FAT (and nothing else here).
                if !matches!(
                    f.format.v,
                    FsFormat::Ext4 | FsFormat::Ext3 | FsFormat::Ext2 | FsFormat::Vfat
                ) {
                    out.push(
                        Diagnostic::error(
                            Some(f.format.pos),
                            &f.format.path,
                            cannot(f.format.v.as_str()),
                        )
                        .with_hint("use ext4 or vfat for /boot"),
                    );
                } else if !p.bootable {
                    out.push(
                        Diagnostic::warning(Some(p.site.pos), &p.site.path, format!("{what} is not flagged bootable"))
                            .with_hint("add `bootable: true`: U-Boot's distro boot scans partitions with GPT attribute bit 2 first"),
                    );
                }
            }
            Source::Fs(holder, _) => {
                let (pos, path) = holder_site(holder);
                out.push(
                    Diagnostic::error(
                        Some(pos),
                        path,
                        format!("U-Boot on the Helios64 reads {what} only from a plain partition"),
                    )
                    .with_hint(
                        "put /boot on a partition of the eMMC or SD card, not on RAID, LUKS or ZFS",
                    ),
                );
            }
            Source::Btrfs => out.push(
                Diagnostic::error(Some(m.at.pos), &m.at.path, cannot("btrfs")).with_hint(plain),
            ),
            Source::Zfs => out.push(
                Diagnostic::error(Some(m.at.pos), &m.at.path, cannot("ZFS")).with_hint(plain),
            ),
            Source::Nodev(n) => out.push(
                Diagnostic::error(Some(m.at.pos), &m.at.path, cannot(&shown(&n.fs_type)))
                    .with_hint(format!(
                        "{} has no device to boot from; {plain}",
                        shown(&n.fs_type)
                    )),
            ),
        }
    }
}
