//! Loop devices for tests that run the real tools on real block devices.
//! Needs root and the disk tools; without them the tests say so and skip
//! (CI never skips: see `common::skip`).

use super::skip::{self, Need};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard};

/// What the loop-device tests need: root, the loop driver, and the tools that the tests
/// and the engine run on tests/fixtures/layouts/loop.yaml.
pub const NEEDS: &[Need] = &[
    Need::Root,
    Need::LoopDevices,
    Need::Tools(&[
        "losetup",
        "sgdisk",
        "partx",
        "wipefs",
        "blkid",
        "lsblk",
        "mkfs.ext4",
        "mkfs.xfs",
        "mkfs.btrfs",
        "mkfs.vfat",
        "mkswap",
        "btrfs",
        "mount",
        "umount",
        "swapoff",
        "sha256sum",
    ]),
];

/// Loop tests share the kernel's loop and mount tables: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// Take the lock that serializes loop-device tests.
pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

/// `Err(what is missing)` when loop devices cannot be used here (benches: they never fail).
pub fn available() -> Result<(), String> {
    let missing = skip::missing(NEEDS);
    if missing.is_empty() {
        Ok(())
    } else {
        Err(missing.join("; "))
    }
}

/// The skip rule for loop-device tests (see `common::skip::skip`).
pub fn skip_unless_available() -> bool {
    skip::skip(NEEDS)
}

fn run(argv: &[&str]) -> String {
    let out = Command::new(argv[0])
        .args(&argv[1..])
        .output()
        .unwrap_or_else(|e| panic!("{argv:?}: {e}"));
    assert!(
        out.status.success(),
        "{argv:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A sparse image attached as a loop device with partition scanning.
pub struct Loop {
    /// The image file.
    pub image: PathBuf,
    /// `/dev/loopN`.
    pub device: String,
}

impl Loop {
    /// A `size`-byte image in `dir` named `name`, attached.
    pub fn new(dir: &Path, name: &str, size: u64) -> Loop {
        Loop::with_sector_size(dir, name, size, 512)
    }

    /// Like [`Loop::new`], with `sector`-byte logical sectors (512 or 4096).
    pub fn with_sector_size(dir: &Path, name: &str, size: u64, sector: u32) -> Loop {
        let image = dir.join(format!("{name}.img"));
        let f = std::fs::File::create(&image).unwrap();
        f.set_len(size).unwrap();
        drop(f);
        let device = run(&[
            "losetup",
            "--find",
            "--show",
            "--partscan",
            "--sector-size",
            &sector.to_string(),
            image.to_str().unwrap(),
        ]);
        Loop { image, device }
    }

    /// SHA-256 of the whole image, through the loop device's page cache.
    pub fn checksum(&self) -> String {
        run(&["sync"]);
        run(&["sha256sum", self.image.to_str().unwrap()])
            .split_whitespace()
            .next()
            .unwrap()
            .to_string()
    }
}

impl Drop for Loop {
    fn drop(&mut self) {
        let _ = Command::new("losetup").args(["-d", &self.device]).status();
    }
}

/// The disks of tests/fixtures/layouts/loop.yaml (a: 1 GiB, b and c: 512 MiB)
/// and a bystander outside the layout, in `dir`.
pub fn layout_disks(dir: &Path) -> (Loop, Loop, Loop, Loop) {
    (
        Loop::new(dir, "a", 1 << 30),
        Loop::new(dir, "b", 512 << 20),
        Loop::new(dir, "c", 512 << 20),
        Loop::new(dir, "bystander", 64 << 20),
    )
}

/// The `--disk` mapping of loop.yaml's disks to `layout_disks`' loop devices.
pub fn layout_map(a: &Loop, b: &Loop, c: &Loop) -> Vec<(String, String)> {
    vec![
        ("a".into(), a.device.clone()),
        ("b".into(), b.device.clone()),
        ("c".into(), c.device.clone()),
    ]
}

/// Unmount everything below `root` (deepest first, after swapping off the
/// swap files in it) and close what holds the loops.
pub fn unmount_all(root: &Path) {
    let r = root.to_str().unwrap();
    let swaps = std::fs::read_to_string("/proc/swaps").unwrap_or_default();
    for l in swaps.lines().skip(1) {
        if let Some(file) = l.split_whitespace().next()
            && file.starts_with(&format!("{r}/"))
        {
            let _ = Command::new("swapoff").arg(file).status();
        }
    }
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    let mut targets: Vec<&str> = mounts
        .lines()
        .filter_map(|l| l.split(' ').nth(1))
        .filter(|t| t.starts_with(r))
        .collect();
    targets.sort_by_key(|t| std::cmp::Reverse(t.len()));
    for t in targets {
        let _ = Command::new("umount").arg(t).status();
    }
    let swaps = std::fs::read_to_string("/proc/swaps").unwrap_or_default();
    for l in swaps.lines().skip(1) {
        if let Some(dev) = l.split_whitespace().next()
            && dev.starts_with("/dev/loop")
        {
            let _ = Command::new("swapoff").arg(dev).status();
        }
    }
}

/// The nasstrap binary with `args`, without progress bars: (exit code,
/// stdout then stderr).
pub fn nasstrap(args: &[&str]) -> (i32, String) {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_nasstrap"))
        .args(args)
        .env("NASSTRAP_NO_PROGRESS", "1")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    (o.status.code().unwrap_or(-1), text)
}
