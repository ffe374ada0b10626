//! Writing a planned GPT with the `gpt` crate, telling the kernel, and
//! reading the table back to check it is exactly what was planned.

use crate::plan::{TableGeometry, partition_path};
use anyhow::{Context, Result, bail};
use gpt::disk::LogicalBlockSize;
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom};
use std::time::{Duration, Instant};

fn lb(sector: u32) -> LogicalBlockSize {
    if sector == 4096 {
        LogicalBlockSize::Lb4096
    } else {
        LogicalBlockSize::Lb512
    }
}

fn uuid(s: &str) -> Result<uuid::Uuid> {
    uuid::Uuid::parse_str(s).with_context(|| format!("parsing GUID {s}"))
}

/// Open a device for writing. Block devices are opened with O_EXCL, which the
/// kernel refuses while a partition is mounted, swapped on or held by md/dm:
/// the last line of defence against writing under a live filesystem.
pub fn open_exclusive(device: &str) -> Result<File> {
    let mut o = OpenOptions::new();
    o.read(true).write(true);
    #[cfg(target_os = "linux")]
    if is_block(device) {
        use std::os::unix::fs::OpenOptionsExt;
        o.custom_flags(nix::libc::O_EXCL);
    }
    o.open(device).with_context(|| {
        format!("opening {device} for writing (is it mounted, swap, or part of an array?)")
    })
}

/// Write `t` to `device`: protective MBR, primary and backup GPT. Data inside
/// the partitions is not touched, so rewriting identical entries keeps them.
pub fn write(device: &str, t: &TableGeometry) -> Result<()> {
    let mut f = open_exclusive(device)?;
    let total = f
        .seek(SeekFrom::End(0))
        .with_context(|| format!("sizing {device}"))?
        / t.sector as u64;
    gpt::mbr::ProtectiveMBR::with_lb_size(u32::try_from(total - 1).unwrap_or(u32::MAX))
        .overwrite_lba0(&mut f)
        .with_context(|| format!("writing the protective MBR of {device}"))?;
    let mut disk = gpt::GptConfig::new()
        .writable(true)
        .logical_block_size(lb(t.sector))
        .create_from_device(f, Some(uuid(&t.disk_guid)?))
        .with_context(|| format!("preparing a GPT for {device}"))?;
    let mut parts = BTreeMap::new();
    for p in &t.partitions {
        parts.insert(
            p.number,
            gpt::partition::Partition {
                part_type_guid: gpt::partition_types::Type {
                    guid: uuid(&p.type_guid)?,
                    os: gpt::partition_types::OperatingSystem::None,
                },
                part_guid: uuid(&p.part_guid)?,
                first_lba: p.first_lba,
                last_lba: p.last_lba,
                flags: p.attributes,
                name: p.label.clone(),
            },
        );
    }
    disk.update_partitions(parts)
        .with_context(|| format!("laying out the partitions of {device}"))?;
    let f = disk
        .write()
        .with_context(|| format!("writing the GPT of {device}"))?;
    f.sync_all().with_context(|| format!("syncing {device}"))?;
    drop(f);
    let numbers: Vec<u32> = t.partitions.iter().map(|p| p.number).collect();
    reread(device, &numbers)?;
    if is_block(device) {
        for p in &t.partitions {
            wait_for_node(device, p.number)?;
        }
    }
    verify(device, t)
}

/// Whether `device` is a block device (not an image file).
pub fn is_block(device: &str) -> bool {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::FileTypeExt;
        std::fs::metadata(device)
            .map(|m| m.file_type().is_block_device())
            .unwrap_or(false)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = device;
        false
    }
}

#[cfg(target_os = "linux")]
mod ioctl {
    nix::ioctl_none!(blkrrpart, 0x12, 95);
}

/// The partition numbers the kernel has registered for `device` (sysfs).
pub fn kernel_partitions(device: &str) -> Vec<u32> {
    let Ok(real) = std::fs::canonicalize(device) else {
        return Vec::new();
    };
    let Some(name) = real
        .file_name()
        .and_then(|n| n.to_str())
        .map(str::to_string)
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(format!("/sys/class/block/{name}")) {
        for e in rd.flatten() {
            let p = e.path().join("partition");
            if let Ok(n) = std::fs::read_to_string(&p)
                && let Ok(n) = n.trim().parse()
            {
                out.push(n);
            }
        }
    }
    out.sort();
    out
}

/// Make the kernel see the new table: BLKRRPART, then `partx --update` if the
/// kernel still shows other partitions than `numbers` (seen with loop devices,
/// where BLKRRPART can succeed and change nothing). No `udevadm settle`:
/// nasstrap does not rely on udev's links.
pub fn reread(device: &str, numbers: &[u32]) -> Result<()> {
    if !is_block(device) {
        return Ok(());
    }
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let f = File::open(device).with_context(|| format!("opening {device}"))?;
        // SAFETY: BLKRRPART takes no argument; the fd is a block device we hold open.
        let _ = unsafe { ioctl::blkrrpart(f.as_raw_fd()) };
    }
    if kernel_partitions(device) == numbers {
        return Ok(());
    }
    // partx --update adds, resizes and removes partitions to match the table.
    super::Cmd::of(
        format!("telling the kernel about the new table of {device}"),
        &["partx", "--update", device],
    )
    .run()?;
    if kernel_partitions(device) != numbers {
        bail!(
            "the kernel shows partitions {:?} of {device} after re-reading, the table has {numbers:?}",
            kernel_partitions(device)
        );
    }
    Ok(())
}

/// The `MAJ:MIN` the kernel gave partition `n` of `device` (sysfs), if any.
fn kernel_dev(device: &str, n: u32) -> Option<String> {
    let real = std::fs::canonicalize(device).ok()?;
    let name = real.file_name()?.to_str()?.to_string();
    for e in std::fs::read_dir(format!("/sys/class/block/{name}"))
        .ok()?
        .flatten()
    {
        let number = std::fs::read_to_string(e.path().join("partition")).ok();
        if number.and_then(|s| s.trim().parse::<u32>().ok()) == Some(n) {
            return std::fs::read_to_string(e.path().join("dev"))
                .ok()
                .map(|s| s.trim().to_string());
        }
    }
    None
}

/// The `MAJ:MIN` of the block device node at `path`.
fn node_dev(path: &str) -> Option<String> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::{FileTypeExt, MetadataExt};
        let m = std::fs::metadata(path).ok()?;
        if !m.file_type().is_block_device() {
            return None;
        }
        let rdev = m.rdev();
        Some(format!(
            "{}:{}",
            nix::sys::stat::major(rdev),
            nix::sys::stat::minor(rdev)
        ))
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = path;
        None
    }
}

/// Wait (bounded) until the kernel has registered partition `n` of `device`
/// and its node exists and is that partition — devtmpfs makes it without
/// udev; with udev a stale or vanishing node is possible, so the node's
/// numbers are compared with the kernel's.
fn wait_for_node(device: &str, n: u32) -> Result<()> {
    let path = partition_path(device, n);
    let start = Instant::now();
    loop {
        let want = kernel_dev(device, n);
        if want.is_some() && node_dev(&path) == want {
            return Ok(());
        }
        if start.elapsed() > Duration::from_secs(10) {
            let state = match (want, node_dev(&path)) {
                (None, _) => "the kernel does not list it".to_string(),
                (Some(w), None) => format!("the kernel lists it as {w}, but there is no node"),
                (Some(w), Some(g)) => format!("the node is {g}, the kernel says {w}"),
            };
            bail!(
                "{path} (partition {n} of {device}) did not appear within 10 s of writing the partition table: {state}"
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Read the table back and compare it entry by entry with the plan.
pub fn verify(device: &str, t: &TableGeometry) -> Result<()> {
    let f = File::open(device).with_context(|| format!("opening {device} to check its table"))?;
    let disk = gpt::GptConfig::new()
        .logical_block_size(lb(t.sector))
        .only_valid_headers(true)
        .open_from_device(f)
        .with_context(|| format!("reading back the GPT of {device}"))?;
    let got = disk.partitions();
    let used: Vec<_> = got.iter().filter(|(_, p)| p.is_used()).collect();
    if used.len() != t.partitions.len() {
        bail!(
            "read back {} partitions from {device}, planned {}",
            used.len(),
            t.partitions.len()
        );
    }
    for p in &t.partitions {
        let Some(g) = got.get(&p.number) else {
            bail!(
                "partition {} of {device} is missing after writing",
                p.number
            )
        };
        let ok = g.first_lba == p.first_lba
            && g.last_lba == p.last_lba
            && g.part_type_guid
                .guid
                .to_string()
                .eq_ignore_ascii_case(&p.type_guid)
            && g.part_guid.to_string().eq_ignore_ascii_case(&p.part_guid)
            && g.name == p.label
            && g.flags == p.attributes;
        if !ok {
            bail!(
                "partition {} of {device} reads back as {}..{} `{}`, planned {}..{} `{}`",
                p.number,
                g.first_lba,
                g.last_lba,
                g.name,
                p.first_lba,
                p.last_lba,
                p.label
            );
        }
    }
    Ok(())
}
