//! The probe's collector: runs the tools and reads procfs/sysfs once, filling
//! a `RawProbe` that `probe::assemble` turns into the observed model. One
//! process on the target does all of it, so over SSH it is one round trip.

use super::Cmd;
use crate::probe::raw::{Captured, DevLink, RawProbe, SysBlock};
use crate::probe::{self, Observed};
use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::fs;
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
    let c = Cmd::of(description, argv);
    let (_, out) = c.output()?;
    // output() only says success or not; blkid's 2 (nothing) and 8 (ambivalent) matter.
    let status = exit_code(&c, &out);
    Ok(Captured {
        target: target.to_string(),
        stdout: out.stdout,
        status,
    })
}

/// blkid tells "nothing found" (2) from "ambivalent" (8) only by its exit
/// code; re-derive it from what it printed, without a second run.
fn exit_code(c: &Cmd, out: &super::Output) -> i32 {
    if c.program != "blkid" {
        return if out.stdout.is_empty() && !out.stderr.is_empty() {
            1
        } else {
            0
        };
    }
    if out.stderr.contains("ambivalent") {
        8
    } else if out.stdout.trim().is_empty() {
        2
    } else {
        0
    }
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
    let lsblk = Cmd::of("listing block devices", probe::LSBLK_CMD)
        .run()?
        .stdout;
    let devices = probe::lsblk::parse_lsblk(&lsblk).context("reading lsblk's output")?;
    let mut raw = RawProbe {
        lsblk,
        ..RawProbe::default()
    };
    let mut luks_devices = Vec::new();
    for d in &devices {
        if d.size == 0 {
            continue; // empty loop slots
        }
        let mut argv: Vec<&str> = probe::BLKID_CMD.to_vec();
        argv.push(&d.path);
        let c = capture(&format!("probing {}", d.path), &argv, &d.path)?;
        if c.stdout.contains("TYPE=crypto_LUKS") {
            luks_devices.push(d.path.clone());
        }
        raw.blkid.push(c);
        raw.sysfs.push(sysblock(&d.kname));
        if matches!(d.kind.as_str(), "disk" | "loop")
            && let Ok(f) = fs::File::open(&d.path)
            && let Ok(t) = probe::gpt::read_table(f, d.log_sec.unwrap_or(512))
        {
            raw.tables.insert(d.kname.clone(), t);
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
            .1
            .stdout;
        raw.btrfs_subvolumes = subvolumes(&show, &raw)?;
        raw.btrfs_show = Some(show);
    }
    if have("zpool") {
        raw.zpool_list = Some(
            Cmd::of("listing ZFS pools", probe::ZPOOL_LIST_CMD)
                .output()?
                .1
                .stdout,
        );
        raw.zpool_status = Some(
            Cmd::of("reading ZFS pool status", probe::ZPOOL_STATUS_CMD)
                .output()?
                .1
                .stdout,
        );
        raw.zfs_list = Some(
            Cmd::of("listing ZFS datasets", probe::ZFS_LIST_CMD)
                .output()?
                .1
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
    let mut by_uuid: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for fs in probe::btrfs::parse_filesystem_show(show).unwrap_or_default() {
        by_uuid.insert(fs.uuid.clone(), fs.devices.clone());
    }
    for (uuid, devs) in by_uuid {
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
                if Cmd::of(
                    format!("mounting btrfs {uuid} read-only to list subvolumes"),
                    &["mount", "-o", "ro,subvolid=5", "-t", "btrfs", first, &d],
                )
                .run()
                .is_ok()
                {
                    let r = list(&d);
                    let _ = Cmd::of(format!("unmounting {d}"), &["umount", &d]).run();
                    out.push(r?);
                }
            }
        }
    }
    Ok(out)
}

/// Probe, then keep only the disks named in `only` (all when empty).
pub fn observe(only: &[String]) -> Result<Observed> {
    let raw = collect()?;
    let mut obs = probe::assemble::assemble(&raw).context("making sense of the probe")?;
    if !only.is_empty() {
        obs.disks.retain(|d| only.iter().any(|o| d.answers_to(o)));
    }
    Ok(obs)
}
