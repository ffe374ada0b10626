//! Running a plan on the machine that holds the disks: every step that is not
//! `keep`, in order, each checked after it ran (the GPT read back, the new
//! superblock's magic, the array present, the mount in /proc/self/mounts).

use super::lock::DiskLocks;
use super::secret::Secrets;
use super::{Cmd, gptwrite};
use crate::plan::{Action, Change, KeySource, Plan, Step, partition_path, script};
use crate::report::{Event, Interrupted, Reporter};
use anyhow::{Context, Result, bail};
use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::time::Instant;

/// Steps touching the same disks run in plan order; steps on different disks
/// run side by side (at most this many at once). Mounts always run in order,
/// hooks alone.
pub const MAX_PARALLEL: usize = 6;

/// For each step to run, the indexes (into `todo`) of the steps it waits for.
/// A hook runs alone: after every step before it, before every step after
/// it (its shell may touch anything).
pub fn dependencies(todo: &[&Step]) -> Vec<Vec<usize>> {
    let mount = |s: &Step| {
        matches!(
            s.action,
            Action::Mount { .. }
                | Action::Unmount { .. }
                | Action::Swapon { .. }
                | Action::Swapoff { .. }
        )
    };
    let hook = |s: &Step| matches!(s.action, Action::Hook { .. });
    todo.iter()
        .enumerate()
        .map(|(i, s)| {
            (0..i)
                .filter(|&j| {
                    let t = todo[j];
                    // No disks known (tmpfs, unmount): order it after everything.
                    s.disks.is_empty()
                        || t.disks.is_empty()
                        || s.disks.iter().any(|d| t.disks.contains(d))
                        || (mount(s) && mount(t))
                        || hook(s)
                        || hook(t)
                })
                .collect()
        })
        .collect()
}

/// Run every non-`keep` step of `plan` (see [`run`]) for plans that ask for
/// no passphrase.
pub fn apply(plan: &Plan, reporter: &dyn Reporter) -> Result<u32> {
    run(plan, reporter, &Secrets::none())
}

/// For each disk whose signatures or table this run rewrites: its device and
/// the indexes (into `todo`) of those steps. The disk is locked from the start
/// of the run until the last of them is done (see `exec::lock`).
pub fn disk_phases(plan: &Plan, todo: &[&Step]) -> BTreeMap<String, Vec<usize>> {
    let mut out: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, st) in todo.iter().enumerate() {
        let rewrites = matches!(
            st.action,
            Action::WipeSignatures { .. } | Action::WriteGpt { .. } | Action::WriteFirmware { .. }
        );
        if !rewrites || st.disks.len() != 1 {
            continue;
        }
        if let Some(d) = plan.disks.iter().find(|d| d.name == st.disks[0]) {
            out.entry(d.device.clone()).or_default().push(i);
        }
    }
    out
}

/// Run every non-`keep` step of `plan`, independent disks in parallel, with
/// `secrets` for the LUKS volumes whose passphrase was asked. Stops starting
/// steps at the first failure, which is reported and returned; a re-run plans
/// only what is left.
pub fn run(plan: &Plan, reporter: &dyn Reporter, secrets: &Secrets) -> Result<u32> {
    let todo: Vec<&Step> = plan
        .steps
        .iter()
        .filter(|s| s.change != Change::Keep)
        .collect();
    let deps = dependencies(&todo);
    let phases = disk_phases(plan, &todo);
    let held = DiskLocks::default();
    for device in phases.keys() {
        held.lock(device)?;
    }
    let locks = &held;
    let start = Instant::now();
    reporter.event(&Event::Start {
        total: todo.len() as u32,
    });
    let mut done = vec![false; todo.len()];
    let mut started = vec![false; todo.len()];
    let mut failure: Option<anyhow::Error> = None;
    let mut ran = 0u32;
    let mut stopping = false;
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::channel::<(usize, Result<()>)>();
        let mut running = 0usize;
        loop {
            // Asked to stop: start nothing new, let running steps finish.
            if failure.is_none() && !stopping && reporter.stop_requested() {
                stopping = true;
            }
            if failure.is_none() && !stopping {
                for i in 0..todo.len() {
                    if running >= MAX_PARALLEL {
                        break;
                    }
                    if started[i] || !deps[i].iter().all(|&j| done[j]) {
                        continue;
                    }
                    started[i] = true;
                    running += 1;
                    let st = todo[i];
                    reporter.event(&Event::StepStarted {
                        id: st.id,
                        description: st.description.clone(),
                    });
                    let tx = tx.clone();
                    scope.spawn(move || {
                        let t = Instant::now();
                        let r = run_step(plan, st, secrets, locks);
                        if r.is_ok() {
                            reporter.event(&Event::StepDone {
                                id: st.id,
                                seconds: t.elapsed().as_secs_f64(),
                            });
                        }
                        let _ = tx.send((i, r));
                    });
                }
            }
            if running == 0 {
                break;
            }
            let (i, r) = rx.recv().expect("a running step always reports");
            running -= 1;
            match r {
                Ok(()) => {
                    done[i] = true;
                    ran += 1;
                    for (device, steps) in &phases {
                        if steps.contains(&i) && steps.iter().all(|&j| done[j]) {
                            locks.release(device);
                        }
                    }
                    report_resync(plan, reporter);
                }
                Err(e) => {
                    let st = todo[i];
                    reporter.event(&Event::StepFailed {
                        id: st.id,
                        error: format!("{e:#}"),
                    });
                    if failure.is_none() {
                        failure = Some(e.context(format!("step {}: {}", st.id, st.description)));
                    }
                }
            }
        }
    });
    if let Some(e) = failure {
        reporter.event(&Event::Finish {
            ok: false,
            steps_run: ran,
            seconds: start.elapsed().as_secs_f64(),
        });
        return Err(e);
    }
    if stopping && failure.is_none() && (ran as usize) < todo.len() {
        reporter.event(&Event::Finish {
            ok: false,
            steps_run: ran,
            seconds: start.elapsed().as_secs_f64(),
        });
        return Err(Interrupted {
            done: ran,
            total: todo.len() as u32,
        }
        .into());
    }
    if let Some(kib) = peak_rss_kib() {
        // The Helios64's rescue system lives in 4 GiB of RAM: keep an eye on it.
        reporter.event(&Event::Note {
            message: format!("peak memory: {} KiB", kib),
        });
    }
    reporter.event(&Event::Finish {
        ok: true,
        steps_run: ran,
        seconds: start.elapsed().as_secs_f64(),
    });
    Ok(ran)
}

fn run_step(plan: &Plan, st: &Step, secrets: &Secrets, locks: &DiskLocks) -> Result<()> {
    // These tools open the device exclusively; udev re-probes every device
    // written to (its inotify watch), and a probe in flight makes them fail
    // with "busy". Only where udev runs.
    if matches!(
        st.action,
        Action::Mkfs { .. }
            | Action::Mkswap { .. }
            | Action::LuksFormat { .. }
            | Action::MdCreate { .. }
    ) {
        settle_udev()?;
    }
    match &st.action {
        Action::WriteGpt { disk, device } => {
            let t = plan
                .disks
                .iter()
                .find(|d| &d.name == disk)
                .and_then(|d| d.table.as_ref())
                .with_context(|| format!("no table planned for {disk}"))?;
            // No udev settle here: the disk is locked (exec::lock), so udev
            // keeps its events for it until the new partitions are wiped.
            gptwrite::write(device, t)?;
            if gptwrite::is_block(device) {
                for p in &t.partitions {
                    locks.hold_open(&partition_path(device, p.number))?;
                }
            }
            Ok(())
        }
        Action::WriteFirmware {
            device,
            image,
            offset,
            max_size,
            region,
            ..
        } => write_firmware(device, image, *offset, *max_size, region),
        Action::BtrfsSubvolume { device, name } => btrfs_subvolume(device, name),
        Action::BtrfsSwapfile {
            device,
            subvolume,
            path,
            size,
            ..
        } => btrfs_swapfile(device, subvolume.as_deref(), path, *size),
        // A re-run after a stop finds it on already.
        Action::Swapon { file, .. } if swapping_on(file)? => Ok(()),
        Action::BtrfsReplace {
            device, devid, new, ..
        } => btrfs_replace(device, *devid, new),
        Action::LuksAddKey {
            device, new_key, ..
        } if key_opens(device, new_key)? => {
            // Already a key (an earlier run added it before it stopped).
            Ok(())
        }
        Action::LuksFormat {
            device, key, name, ..
        }
        | Action::LuksOpen {
            device, key, name, ..
        }
        | Action::LuksAddKey {
            device, key, name, ..
        } => {
            let mut argv = script::commands(&st.action).remove(0);
            let mut stdin = None;
            if *key == KeySource::Ask {
                // Asked before the first write; fed exactly, no newline.
                let s = secrets
                    .get(name)
                    .with_context(|| format!("no passphrase was asked for LUKS `{name}`"))?;
                argv.splice(2..2, ["--key-file".to_string(), "-".to_string()]);
                stdin = Some(s.expose().to_vec());
            }
            if let KeySource::PasswordFile(p) = key {
                // A passphrase file's trailing newline is not part of the
                // passphrase someone types at boot; feed it without it.
                let mut text =
                    std::fs::read(p).with_context(|| format!("reading passwordFile {p}"))?;
                while text.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                    text.pop();
                }
                let i = argv
                    .iter()
                    .position(|a| a == "--key-file")
                    .expect("the key file is in argv");
                argv[i + 1] = "-".into();
                stdin = Some(text);
            }
            let mut c = Cmd::new(st.description.clone(), &argv);
            c.stdin = stdin;
            c.run()?;
            if matches!(st.action, Action::LuksFormat { .. }) {
                check_magic(device, 0, b"LUKS\xba\xbe", "LUKS")
            } else {
                Ok(())
            }
        }
        Action::Mount { target, .. } => {
            std::fs::create_dir_all(target)
                .with_context(|| format!("creating mountpoint {target}"))?;
            let argv = script::commands(&st.action).remove(1);
            Cmd::new(st.description.clone(), &argv).run()?;
            let mounts = std::fs::read_to_string("/proc/self/mounts")
                .context("reading /proc/self/mounts")?;
            if !mounts
                .lines()
                .any(|l| l.split(' ').nth(1) == Some(target.as_str()))
            {
                bail!("{target} is not in /proc/self/mounts after mounting");
            }
            Ok(())
        }
        a => {
            for argv in script::commands(a) {
                Cmd::new(st.description.clone(), &argv).run()?;
            }
            match a {
                Action::Mkfs {
                    format, devices, ..
                } => check_fs(&devices[0], format),
                Action::Mkswap { device } => check_fs(device, "swap"),
                Action::MdCreate { device, name, .. } | Action::MdAssemble { device, name, .. } => {
                    settle_udev()?;
                    // udev makes /dev/md/<name> a moment after the array starts;
                    // without udev nothing does, and nasstrap links it itself.
                    let udev = std::path::Path::new("/run/udev/control").exists();
                    let t = Instant::now();
                    loop {
                        if std::path::Path::new(device).exists() {
                            return Ok(());
                        }
                        let last = t.elapsed() > std::time::Duration::from_secs(10);
                        if !udev || last {
                            match link_md_name(device, name) {
                                Ok(()) => return Ok(()),
                                Err(e) if last => return Err(e),
                                Err(_) => {}
                            }
                        }
                        std::thread::sleep(std::time::Duration::from_millis(100));
                    }
                }
                _ => Ok(()),
            }
        }
    }
}

/// Whether the contents of `key_file` open the LUKS container on `device`
/// (`--test-passphrase`: nothing is mapped). It is read by cryptsetup, never
/// passed on argv.
fn key_opens(device: &str, key_file: &str) -> Result<bool> {
    let out = Cmd::of(
        format!("testing whether key file {key_file} opens {device}"),
        &[
            "cryptsetup",
            "open",
            "--test-passphrase",
            "--key-file",
            key_file,
            device,
        ],
    )
    .output()?;
    Ok(out.exit.success())
}

/// Where udev runs, it opens every new block device to probe it, and mkfs's
/// exclusive open then fails with "busy": wait for udev's queue, but only where
/// udev exists (rescue systems without it need no settle).
fn settle_udev() -> Result<()> {
    if std::path::Path::new("/run/udev/control").exists() {
        Cmd::of(
            "waiting for udev to finish probing",
            &["udevadm", "settle", "--timeout=30"],
        )
        .run()?;
    }
    Ok(())
}

/// Without udev nothing makes `/dev/md/<name>`: find the array's kernel node
/// in `mdadm --detail --scan` (`ARRAY /dev/md127 … name=host:tank …`) and link it.
fn link_md_name(device: &str, name: &str) -> Result<()> {
    let scan = Cmd::of(
        format!("finding the node of array {name}"),
        &["mdadm", "--detail", "--scan"],
    )
    .run()?
    .stdout;
    let node = scan.lines().find_map(|l| {
        let mut w = l.split_whitespace();
        (w.next() == Some("ARRAY")).then_some(())?;
        let dev = w.next()?;
        let has = l.split_whitespace().any(|f| {
            f.strip_prefix("name=")
                .is_some_and(|n| n == name || n.rsplit(':').next() == Some(name))
        });
        has.then(|| dev.to_string())
    });
    let Some(node) = node else {
        bail!("{device} does not exist and mdadm --detail --scan does not list array {name}")
    };
    if node == device {
        return Ok(());
    }
    let target = std::fs::canonicalize(&node).with_context(|| format!("resolving {node}"))?;
    let parent = std::path::Path::new(device)
        .parent()
        .expect("/dev/md/<name> has a parent");
    std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    match std::os::unix::fs::symlink(&target, device) {
        // udev made it meanwhile.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        r => r.with_context(|| format!("linking {device} to {}", target.display())),
    }
}

fn read_at(device: &str, offset: u64, n: usize) -> Result<Vec<u8>> {
    let mut f =
        std::fs::File::open(device).with_context(|| format!("opening {device} to check it"))?;
    f.seek(SeekFrom::Start(offset))?;
    let mut buf = vec![0u8; n];
    f.read_exact(&mut buf)
        .with_context(|| format!("reading {device} at {offset}"))?;
    Ok(buf)
}

fn check_magic(device: &str, offset: u64, magic: &[u8], what: &str) -> Result<()> {
    if read_at(device, offset, magic.len())? != magic {
        bail!("no {what} superblock on {device} after creating it");
    }
    Ok(())
}

/// Read the new superblock's magic in-process (no blkid: one process per step).
/// Formats nasstrap has no magic for are trusted to their mkfs's exit status.
fn check_fs(device: &str, format: &str) -> Result<()> {
    match format {
        "ext4" | "ext3" | "ext2" => check_magic(device, 1080, &[0x53, 0xEF], format),
        "xfs" => check_magic(device, 0, b"XFSB", format),
        "btrfs" => check_magic(device, 65536 + 64, b"_BHRfS_M", format),
        "vfat" => check_magic(device, 510, &[0x55, 0xAA], format),
        // F2FS_SUPER_MAGIC 0xF2F52010, little-endian, at the superblock (1 KiB).
        "f2fs" => check_magic(device, 1024, &[0x10, 0x20, 0xF5, 0xF2], format),
        "swap" => {
            // The signature ends the first page; pages are 4 KiB here and on the Helios64.
            check_magic(device, 4096 - 10, b"SWAPSPACE2", format)
        }
        _ => Ok(()),
    }
}

/// A btrfs mounted (`options`, for `what`) on a fresh scratch dir: the dir,
/// removed when dropped, and its path. Unmount with [`unmount_scratch`].
fn scratch_mount(
    device: &str,
    options: &[&str],
    what: &str,
) -> Result<(tempfile::TempDir, String)> {
    let dir = tempfile::Builder::new()
        .prefix("nasstrap-btrfs")
        .tempdir()
        .context("making a scratch mountpoint")?;
    let d = dir.path().display().to_string();
    let mut argv = vec!["mount", "-t", "btrfs"];
    argv.extend_from_slice(options);
    argv.extend([device, d.as_str()]);
    Cmd::of(format!("mounting {device} {what}"), &argv).run()?;
    Ok((dir, d))
}

/// Unmount a [`scratch_mount`] after `work` ran in it; the work's error first.
fn unmount_scratch(d: &str, work: Result<()>) -> Result<()> {
    let un = Cmd::of(format!("unmounting {d}"), &["umount", d]).run();
    work?;
    un.map(|_| ())
}

fn btrfs_subvolume(device: &str, name: &str) -> Result<()> {
    let (_dir, d) = scratch_mount(device, &[], &format!("to create subvolume {name}"))?;
    let path = format!("{d}/{}", name.trim_start_matches('/'));
    // `a/b` without a subvolume `a`: its parent is a plain directory (btrfs
    // does not make parents).
    let parent = std::path::Path::new(&path)
        .parent()
        .map(|p| p.to_path_buf());
    let res = parent
        .map_or(Ok(()), std::fs::create_dir_all)
        .with_context(|| format!("creating the parent directory of subvolume {name}"))
        .and_then(|()| {
            Cmd::of(
                format!("creating btrfs subvolume {name}"),
                &["btrfs", "subvolume", "create", &path],
            )
            .run()
            .map(|_| ())
        });
    unmount_scratch(&d, res)
}

/// Make a swap file at `path` inside `subvolume` (the top level when `None`)
/// with `btrfs filesystem mkswapfile` (NOCOW, uncompressed, allocated), on
/// the top level mounted on a scratch dir. A regular file of that size there
/// already is kept (disko makes it only when missing too); another is an
/// error, never overwritten.
fn btrfs_swapfile(device: &str, subvolume: Option<&str>, path: &str, size: u64) -> Result<()> {
    let (_dir, d) = scratch_mount(
        device,
        &["-o", "subvolid=5"],
        &format!("to make swap file {path}"),
    )?;
    let inside = match subvolume {
        Some(sv) => format!("{}/{path}", sv.trim_start_matches('/')),
        None => path.to_string(),
    };
    let file = std::path::Path::new(&d).join(&inside);
    let res = match std::fs::symlink_metadata(&file) {
        // mkswapfile rounds the size down to whole pages (4 KiB here).
        Ok(m) if m.is_file() && (m.len() == size || m.len() == size - size % 4096) => Ok(()),
        Ok(m) => Err(anyhow::anyhow!(
            "{inside} is there already ({}), not the planned swap file of {size} bytes;              remove it or change the layout",
            if m.is_file() {
                format!("{} bytes", m.len())
            } else {
                "not a regular file".into()
            }
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let parent = file.parent().expect("below the scratch dir");
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating the directory of swap file {inside}"))
                .and_then(|()| {
                    let f = file.display().to_string();
                    let sz = size.to_string();
                    Cmd::of(
                        format!("making swap file {inside}"),
                        &["btrfs", "filesystem", "mkswapfile", "--size", &sz, &f],
                    )
                    .run()
                    .map(|_| ())
                })
        }
        Err(e) => Err(anyhow::Error::new(e).context(format!("looking at {inside}"))),
    };
    unmount_scratch(&d, res)
}

/// Whether the kernel swaps on `file` (`/proc/swaps`).
fn swapping_on(file: &str) -> Result<bool> {
    let text = std::fs::read_to_string("/proc/swaps").context("reading /proc/swaps")?;
    let swaps = crate::probe::proc::parse_swaps(&text).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(swaps.iter().any(|s| s == file))
}

/// `btrfs replace` needs the filesystem mounted, read-write: its top level
/// on a scratch dir, degraded (a device is gone), for as long as it runs
/// (`-B`: in the foreground, so the step ends when the data is rebuilt).
fn btrfs_replace(device: &str, devid: u64, new: &str) -> Result<()> {
    let what = format!("degraded to rebuild onto {new}");
    let (_dir, d) = scratch_mount(device, &["-o", "degraded,subvolid=5"], &what)?;
    let id = devid.to_string();
    let res = Cmd::of(
        format!("rebuilding btrfs device {devid} onto {new}"),
        &["btrfs", "replace", "start", "-B", "-f", &id, new, &d],
    )
    .run()
    .map(|_| ());
    unmount_scratch(&d, res)
}

fn write_firmware(device: &str, image: &str, offset: u64, max: u64, region: &str) -> Result<()> {
    use std::io::Write;
    let data = std::fs::read(image).with_context(|| format!("reading firmware image {image}"))?;
    if data.len() as u64 > max {
        bail!(
            "firmware image {image} is {} bytes; region {region} holds {max}",
            data.len()
        );
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(device)
        .with_context(|| format!("opening {device}"))?;
    f.seek(SeekFrom::Start(offset))?;
    f.write_all(&data)
        .with_context(|| format!("writing {region} to {device}"))?;
    f.sync_all()?;
    if read_at(device, offset, data.len())? != data {
        bail!("firmware {region} reads back different from {image}");
    }
    Ok(())
}

/// md arrays this plan creates resync in the background; say how far they are
/// (one read of /proc/mdstat, no process).
fn report_resync(plan: &Plan, reporter: &dyn Reporter) {
    let creates =
        |s: &Step| s.change != Change::Keep && matches!(s.action, Action::MdCreate { .. });
    if !plan.steps.iter().any(creates) {
        return;
    }
    let Ok(text) = std::fs::read_to_string("/proc/mdstat") else {
        return;
    };
    let Ok(entries) = crate::probe::mdadm::parse_mdstat(&text) else {
        return;
    };
    for st in &plan.steps {
        let Action::MdCreate { name, device, .. } = &st.action else {
            continue;
        };
        if st.change == Change::Keep {
            continue;
        }
        // /dev/md/<name> is a link to /dev/mdN, the name mdstat uses.
        let Some(kname) = std::fs::canonicalize(device)
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        else {
            continue;
        };
        if let Some(sync) = entries
            .iter()
            .find(|e| e.name == kname)
            .and_then(|e| e.sync.as_ref())
            && let Some(percent) = sync.percent
        {
            reporter.event(&Event::Progress {
                id: st.id,
                percent,
                message: format!("array {name}: {}", sync.action),
            });
        }
    }
}

/// This process's peak resident set size (VmHWM), in KiB.
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disks_run_side_by_side_and_mounts_in_order() {
        let f = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("layouts/helios64.yaml");
        let loaded = crate::layout::load_file(&f, &[]).unwrap();
        let plan = crate::plan::build(&loaded, &crate::plan::Options::default()).unwrap();
        let todo: Vec<&Step> = plan.steps.iter().collect();
        let deps = dependencies(&todo);
        let idx = |d: &str| {
            todo.iter()
                .position(|s| s.description.starts_with(d))
                .unwrap_or_else(|| panic!("{d}"))
        };
        let wipe_bay1 = idx("wipe the signatures on disk bay1");
        let gpt_emmc = idx("write a GPT with 2 partitions on emmc");
        assert!(deps[wipe_bay1].is_empty(), "bay1 waits for nothing");
        assert_eq!(deps[gpt_emmc], [idx("wipe the signatures on disk emmc")]);
        let md = idx("create RAID6 array tank");
        for b in 1..=5 {
            assert!(deps[md].contains(&idx(&format!("write a GPT with 1 partition on bay{b}"))));
        }
        assert!(
            !deps[md].contains(&gpt_emmc),
            "the array does not wait for the eMMC"
        );
        let srv = idx("mount /dev/md/tank on /mnt/srv");
        let root = idx("mount /dev/disk/by-path/platform-fe330000.mmc-part2 on /mnt");
        assert!(deps[srv].contains(&root), "/mnt/srv is mounted after /mnt");
    }
}
