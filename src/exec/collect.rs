//! The probe's collector: runs the tools and reads procfs/sysfs once, filling
//! a `RawProbe` that `probe::assemble` turns into the observed model. One
//! process on the target does all of it, so over SSH it is one round trip.

use super::{Cmd, Exit};
use crate::layout::size::human;
use crate::probe::raw::{Captured, DevLink, PathLookup, RawProbe, SysBlock};
use crate::probe::{self, Observed};
use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

fn read(p: impl AsRef<Path>) -> Option<String> {
    fs::read_to_string(p)
        .ok()
        .map(|s| s.trim_end_matches('\n').to_string())
}

fn read_bytes(p: impl AsRef<Path>) -> Option<Vec<u8>> {
    fs::read(p).ok()
}

fn entries(p: impl AsRef<Path>) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(p)
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.file_name().to_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn have(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(tool).is_file()))
}

fn capture(description: &str, argv: &[&str], target: &str) -> Result<Captured> {
    let out = Cmd::of(description, argv).output()?;
    // The real status: blkid's 2 (nothing) and 8 (ambivalent) carry meaning,
    // and anything else, or a 2 with a complaint on stderr, is a failure.
    let (status, killed) = match out.exit {
        Exit::Code(c) => (c, None),
        Exit::Signal(_) => (-1, Some(format!("{} {}", argv[0], out.exit))),
    };
    let mut said: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    said.drain(..said.len().saturating_sub(8));
    let mut stderr: String = said.iter().map(|l| format!("{l}\n")).collect();
    if let Some(k) = killed {
        stderr.push_str(&k);
        stderr.push('\n');
    }
    Ok(Captured {
        target: target.to_string(),
        stdout: out.stdout,
        status,
        stderr,
    })
}

/// How much of each end of a device is read to tell readable from not: every
/// signature the probe and the diff rely on lies there (GPT and its backup,
/// md 0.90/1.x superblocks, LUKS headers, filesystem superblocks, ZFS labels).
const READ_CHECK: u64 = 256 << 10;

/// Read both ends of `path` (`size` bytes long); why that failed, if it did.
/// blkid cannot tell us: an I/O error while probing makes it exit 2, "nothing
/// found", and that must never pass for a blank device.
fn read_check(path: &str, size: u64) -> Option<String> {
    let mut f = match fs::File::open(path) {
        Ok(f) => f,
        Err(e) => return Some(format!("opening it: {e}")),
    };
    let n = READ_CHECK.min(size);
    let mut buf = vec![0u8; n as usize];
    for (offset, which) in [(0, "first"), (size - n, "last")] {
        let r = f
            .seek(SeekFrom::Start(offset))
            .and_then(|_| f.read_exact(&mut buf));
        if let Err(e) = r {
            return Some(format!("reading its {which} {}: {e}", human(n)));
        }
    }
    None
}

/// Where `path` leads, as the kernel sees it: symlinks followed, the block
/// device's major:minor looked up in `/sys/dev/block`.
fn lookup(path: &str) -> PathLookup {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let fail = |error: String| PathLookup {
        path: path.to_string(),
        kname: None,
        error: Some(error),
    };
    let meta = match fs::metadata(path) {
        Ok(m) => m,
        Err(e) => return fail(e.to_string()),
    };
    if !meta.file_type().is_block_device() {
        return fail("not a block device".into());
    }
    let (major, minor) = split_dev(meta.rdev());
    let sys = format!("/sys/dev/block/{major}:{minor}");
    match fs::canonicalize(&sys) {
        Ok(p) => PathLookup {
            path: path.to_string(),
            kname: p.file_name().and_then(|n| n.to_str()).map(str::to_string),
            error: None,
        },
        Err(e) => fail(format!("{sys}: {e}")),
    }
}

/// glibc's encoding of a dev_t (`gnu_dev_major`/`gnu_dev_minor`).
fn split_dev(dev: u64) -> (u64, u64) {
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    (major, minor)
}

fn sysblock(name: &str) -> SysBlock {
    let base = Path::new("/sys/class/block").join(name);
    let dev = base.join("device");
    SysBlock {
        name: name.to_string(),
        syspath: fs::canonicalize(&base)
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        size_512: read(base.join("size")).and_then(|s| s.parse().ok()),
        partition: read(base.join("partition")).and_then(|s| s.parse().ok()),
        start: read(base.join("start")).and_then(|s| s.parse().ok()),
        holders: entries(base.join("holders")),
        slaves: entries(base.join("slaves")),
        vendor: read(dev.join("vendor")),
        model: read(dev.join("model")),
        serial: read(dev.join("serial")),
        card_name: read(dev.join("name")),
        wwid: read(dev.join("wwid")),
        vpd_pg80: read_bytes(dev.join("vpd_pg80")),
        vpd_pg89: read_bytes(dev.join("vpd_pg89")),
        dm_name: read(base.join("dm/name")),
        dm_uuid: read(base.join("dm/uuid")),
        md_array_state: read(base.join("md/array_state")),
    }
}

fn dev_links() -> Option<Vec<DevLink>> {
    if !Path::new("/dev/disk").is_dir() {
        return None;
    }
    let mut out = Vec::new();
    for kind in ["by-id", "by-path"] {
        let dir = Path::new("/dev/disk").join(kind);
        for name in entries(&dir) {
            let link = dir.join(&name);
            if let Ok(t) = fs::canonicalize(&link)
                && let Some(k) = t.file_name().and_then(|n| n.to_str())
            {
                out.push(DevLink {
                    link: link.display().to_string(),
                    target: k.to_string(),
                });
            }
        }
    }
    Some(out)
}

/// Gather everything the probe needs, in one pass.
pub fn collect() -> Result<RawProbe> {
    collect_for(&[])
}

/// [`collect`], and resolve `paths` (the layout's device paths) to the block
/// devices they lead to.
pub fn collect_for(paths: &[String]) -> Result<RawProbe> {
    let lsblk = Cmd::of("listing block devices", probe::LSBLK_CMD)
        .run()?
        .stdout;
    let devices = probe::lsblk::parse_lsblk(&lsblk).context("reading lsblk's output")?;
    let mut raw = RawProbe {
        lsblk,
        paths: paths.iter().map(|p| lookup(p)).collect(),
        ..RawProbe::default()
    };
    let mut luks_devices = Vec::new();
    for d in &devices {
        if d.size == 0 {
            continue; // empty loop slots, card readers without a card
        }
        let mut argv: Vec<&str> = probe::BLKID_CMD.to_vec();
        argv.push(&d.path);
        let c = capture(&format!("probing {}", d.path), &argv, &d.path)?;
        if c.stdout.contains("TYPE=crypto_LUKS") {
            luks_devices.push(d.path.clone());
        }
        raw.blkid.push(c);
        let sys = sysblock(&d.kname);
        if sys.size_512.is_none() {
            raw.unreadable.insert(
                d.path.clone(),
                "its size cannot be read from sysfs".to_string(),
            );
        }
        raw.sysfs.push(sys);
        if let Some(why) = read_check(&d.path, d.size) {
            raw.unreadable.entry(d.path.clone()).or_insert(why);
            continue;
        }
        if matches!(d.kind.as_str(), "disk" | "loop") {
            match fs::File::open(&d.path)
                .map_err(probe::gpt::TableError::Io)
                .and_then(|f| probe::gpt::read_table(f, d.log_sec.unwrap_or(512)))
            {
                Ok(t) => {
                    raw.tables.insert(d.kname.clone(), t);
                }
                // Not an I/O problem: blkid's PTTYPE stands in, as without the read.
                Err(probe::gpt::TableError::SectorSize(_)) => {}
                Err(e) => {
                    raw.unreadable
                        .entry(d.path.clone())
                        .or_insert(e.to_string());
                }
            }
        }
    }
    for port in entries("/sys/class/ata_port") {
        if let Some(n) =
            read(format!("/sys/class/ata_port/{port}/port_no")).and_then(|s| s.parse().ok())
        {
            raw.ata_ports.insert(port, n);
        }
    }
    raw.dev_disk_links = dev_links();
    raw.mdstat = read(probe::PROC_MDSTAT);
    if let Some(mdstat) = &raw.mdstat {
        for e in probe::mdadm::parse_mdstat(mdstat).context("reading /proc/mdstat")? {
            // lsblk leaves out empty devices, and an inactive array is empty:
            // its array_state is still what says it is not running.
            if !raw.sysfs.iter().any(|s| s.name == e.name) {
                raw.sysfs.push(sysblock(&e.name));
            }
            let dev = format!("/dev/{}", e.name);
            let mut argv: Vec<&str> = probe::MDADM_DETAIL_CMD.to_vec();
            argv.push(&dev);
            raw.md_detail
                .push(capture(&format!("reading array {dev}"), &argv, &dev)?);
        }
    }
    for dev in &luks_devices {
        let mut argv: Vec<&str> = probe::LUKS_DUMP_CMD.to_vec();
        argv.push(dev);
        raw.luks_dump.push(capture(
            &format!("reading the LUKS header of {dev}"),
            &argv,
            dev,
        )?);
    }
    raw.proc_mounts = read(probe::PROC_MOUNTS).unwrap_or_default();
    raw.proc_swaps = read(probe::PROC_SWAPS).unwrap_or_default();
    if have("btrfs") {
        let show = Cmd::of("listing btrfs filesystems", probe::BTRFS_SHOW_CMD)
            .output()?
            .stdout;
        raw.btrfs_subvolumes = subvolumes(&show, &raw)?;
        raw.btrfs_show = Some(show);
    }
    if have("zpool") {
        raw.zpool_list = Some(
            Cmd::of("listing ZFS pools", probe::ZPOOL_LIST_CMD)
                .output()?
                .stdout,
        );
        raw.zpool_status = Some(
            Cmd::of("reading ZFS pool status", probe::ZPOOL_STATUS_CMD)
                .output()?
                .stdout,
        );
        raw.zfs_list = Some(
            Cmd::of("listing ZFS datasets", probe::ZFS_LIST_CMD)
                .output()?
                .stdout,
        );
    }
    Ok(raw)
}

/// Subvolumes of every btrfs filesystem: listed through an existing mount, or
/// through a private read-only mount of the top level when none exists.
fn subvolumes(show: &str, raw: &RawProbe) -> Result<Vec<Captured>> {
    let mut out = Vec::new();
    let mounts = probe::proc::parse_mounts(&raw.proc_mounts).unwrap_or_default();
    let mut by_uuid: BTreeMap<String, (Vec<String>, bool)> = BTreeMap::new();
    for fs in probe::btrfs::parse_filesystem_show(show).unwrap_or_default() {
        by_uuid.insert(fs.uuid.clone(), (fs.devices.clone(), fs.missing));
    }
    for (uuid, (devs, missing)) in by_uuid {
        let Some(first) = devs.first() else { continue };
        let mounted = mounts
            .iter()
            .find(|m| m.fstype == "btrfs" && devs.contains(&m.source));
        let list = |dir: &str| -> Result<Captured> {
            let mut argv: Vec<&str> = probe::BTRFS_SUBVOLUME_LIST_CMD.to_vec();
            argv.push(dir);
            capture(
                &format!("listing the subvolumes of btrfs {uuid}"),
                &argv,
                &uuid,
            )
        };
        match mounted {
            Some(m) => out.push(list(&m.target)?),
            None => {
                let tmp = tempfile::Builder::new()
                    .prefix("nasstrap-probe")
                    .tempdir()?;
                let d = tmp.path().display().to_string();
                // A probe writes nothing, and a read-only btrfs mount would
                // still replay the log tree: `rescue=nologreplay` (kernels
                // before 5.9 only know the older `nologreplay`).
                // With devices missing it mounts only degraded (read-only,
                // this changes nothing either).
                let options: &[&str] = if missing {
                    &[
                        "ro,degraded,rescue=nologreplay,subvolid=5",
                        "ro,degraded,nologreplay,subvolid=5",
                    ]
                } else {
                    &[
                        "ro,rescue=nologreplay,subvolid=5",
                        "ro,nologreplay,subvolid=5",
                    ]
                };
                let mounted = options.iter().any(|o| {
                    Cmd::of(
                        format!("mounting btrfs {uuid} read-only to list subvolumes"),
                        &["mount", "-o", o, "-t", "btrfs", first, &d],
                    )
                    .run()
                    .is_ok()
                });
                if mounted {
                    let r = list(&d);
                    let _ = Cmd::of(format!("unmounting {d}"), &["umount", &d]).run();
                    out.push(r?);
                }
            }
        }
    }
    Ok(out)
}

/// Probe, then keep only the disks named in `only` (all when empty), by how
/// they are spelled or by the block device they lead to.
pub fn observe(only: &[String]) -> Result<Observed> {
    let raw = collect_for(only)?;
    let mut obs = probe::assemble::assemble(&raw).context("making sense of the probe")?;
    if !only.is_empty() {
        let named: Vec<&str> = obs.paths.iter().filter_map(|p| p.is.kname()).collect();
        let keep: Vec<bool> = obs
            .disks
            .iter()
            .map(|d| named.contains(&d.name.as_str()) || only.iter().any(|o| d.answers_to(o)))
            .collect();
        let mut k = keep.into_iter();
        obs.disks.retain(|_| k.next().unwrap_or(false));
    }
    Ok(obs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_numbers_split_as_glibc_does() {
        assert_eq!(split_dev(0x0801), (8, 1));
        assert_eq!(split_dev(0xfd00), (253, 0));
        // Large minors (md partitions, loop 256+) use the high bits.
        assert_eq!(
            split_dev((259 << 8) | (0x12345 & 0xff) | ((0x12345 & !0xff) << 12)),
            (259, 0x12345)
        );
    }

    #[test]
    fn paths_resolve_to_kernel_names_or_say_why_not() {
        let l = lookup("/nonexistent-nasstrap");
        assert_eq!(
            (l.kname, l.error.as_deref()),
            (None, Some("No such file or directory (os error 2)"))
        );
        let l = lookup("/dev/null");
        assert_eq!(l.error.as_deref(), Some("not a block device"));
    }

    #[test]
    fn read_check_reads_both_ends_and_names_what_failed() {
        let f = tempfile::NamedTempFile::new().unwrap();
        f.as_file().set_len(1 << 20).unwrap();
        let p = f.path().display().to_string();
        assert_eq!(read_check(&p, 1 << 20), None);
        // A device shorter than it claims: its end cannot be read.
        assert_eq!(
            read_check(&p, 2 << 20).as_deref(),
            Some("reading its last 256KiB: failed to fill whole buffer")
        );
        assert_eq!(
            read_check("/nonexistent-nasstrap", 1).as_deref(),
            Some("opening it: No such file or directory (os error 2)")
        );
    }
}
