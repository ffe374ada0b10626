//! The emulated Helios64: an aarch64 QEMU guest (TCG) booted from Debian's arm64 kernel and a
//! rescue initramfs, with five SATA bays and an SD card standing in for the eMMC, reachable
//! only over SSH on 127.0.0.1. See `qemu/README.md`.
//!
//! ```ignore
//! mod common;
//! use common::qemu::{self, BootOpts, Guest};
//!
//! #[test]
//! fn installs() {
//!     if qemu::skip() { return; }
//!     let guest = Guest::boot(BootOpts::default()).unwrap();
//!     guest.ssh_ok("nasstrap --version");
//!     let work = guest.poweroff().unwrap(); // the disks live on in `work`
//!     let again = Guest::boot(BootOpts { work: Some(work), ..BootOpts::default() }).unwrap();
//!     let work = again.kill(); // SIGKILL, for fault injection
//! }
//! ```
//!
//! Guests are capped machine-wide, across processes, to what the cores hold (see
//! [`slots`]; one guest on a 2-core machine), so never hold two guests at once in one test:
//! with one slot the second boot waits forever. The kernel/initramfs cache and the aarch64
//! cross build are prepared once per process.

mod inspect;
mod launch;
mod oldnas;
pub mod slots;

pub use inspect::{Outcome, changes, image_digest};
pub use launch::die_with_parent;
pub use oldnas::{OLDNAS_FILE, make_previous_nas, oldnas_assembled, previous_nas};

use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::thread::sleep;
use std::time::{Duration, Instant};

pub const GIB: u64 = 1 << 30;

/// A disk of the emulated board: its name in the shipped layouts (and `qemu/guest.map`), its
/// image file in the work dir, and the device the guest kernel gives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Disk {
    pub name: &'static str,
    pub image: &'static str,
    pub device: &'static str,
}

const fn d(name: &'static str, image: &'static str, device: &'static str) -> Disk {
    Disk {
        name,
        image,
        device,
    }
}

/// Bays in AHCI port order (the guest's rcS binds them so that port N is sd<N>), then the
/// eMMC stand-in.
pub const DISKS: [Disk; 6] = [
    d("bay1", "bay1.img", "/dev/sda"),
    d("bay2", "bay2.img", "/dev/sdb"),
    d("bay3", "bay3.img", "/dev/sdc"),
    d("bay4", "bay4.img", "/dev/sdd"),
    d("bay5", "bay5.img", "/dev/sde"),
    d("emmc", "sd.img", "/dev/mmcblk0"),
];

/// The disk called `name` in the layouts (`bay1`..`bay5`, `emmc`); panics on other names.
pub fn disk(name: &str) -> Disk {
    let found = DISKS.iter().find(|d| d.name == name);
    *found.unwrap_or_else(|| panic!("no disk named {name:?}"))
}

/// The repository root (where `qemu/` and `layouts/` live).
pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `qemu/guest.map`, the `--disk-map` file matching [`DISKS`].
pub fn guest_map() -> PathBuf {
    repo_root().join("qemu/guest.map")
}

pub use super::skip::qemu_available;

/// The skip rule for tests that only need the emulated board: `SKIP: <reason>` without
/// QEMU, a panic instead where tests must run (see `common::skip`).
pub fn skip() -> bool {
    super::skip::skip(&[super::skip::Need::Qemu])
}

/// What every boot starts from: the cached kernel and base initramfs, and this tree's
/// aarch64 nasstrap binary.
#[derive(Debug)]
pub struct Prepared {
    pub kernel: PathBuf,
    pub initrd_base: PathBuf,
    pub nasstrap: PathBuf,
}

/// Runs `qemu/prepare-guest.sh` (cache: `$NASSTRAP_QEMU_CACHE`, default
/// `/var/cache/nasstrap-qemu`) and `qemu/build-guest-binary.sh`, once per process.
pub fn prepare() -> Result<&'static Prepared, String> {
    static PREPARED: OnceLock<Result<Prepared, String>> = OnceLock::new();
    let prepared = PREPARED.get_or_init(|| {
        let t = Instant::now();
        let cache = std::env::var("NASSTRAP_QEMU_CACHE");
        let cache = cache.unwrap_or_else(|_| "/var/cache/nasstrap-qemu".into());
        // The printed key dir, not `current`: a concurrent run may flip that symlink.
        let dir = PathBuf::from(run_script("prepare-guest.sh", &[&cache])?);
        let t_guest = t.elapsed();
        let nasstrap = PathBuf::from(run_script("build-guest-binary.sh", &[])?);
        let (total, guest) = (t.elapsed().as_secs_f64(), t_guest.as_secs_f64());
        eprintln!(
            "qemu: prepare {total:.1} s (guest image {guest:.1} s, cross build {:.1} s)",
            total - guest
        );
        let (kernel, initrd_base) = (dir.join("vmlinuz"), dir.join("initrd-base.img"));
        Ok(Prepared {
            kernel,
            initrd_base,
            nasstrap,
        })
    });
    prepared.as_ref().map_err(Clone::clone)
}

/// Runs `qemu/<script>`, letting its progress (stderr) through; returns its last stdout line.
fn run_script(script: &str, args: &[&str]) -> Result<String, String> {
    let path = repo_root().join("qemu").join(script);
    let out = Command::new(&path)
        .args(args)
        .stderr(Stdio::inherit())
        .output();
    let out = out.map_err(|e| format!("{}: {e}", path.display()))?;
    match String::from_utf8_lossy(&out.stdout).lines().last() {
        Some(last) if out.status.success() => Ok(last.to_string()),
        _ => Err(format!("{script} failed ({})", out.status)),
    }
}

/// A directory holding one emulated board's disks and logs across boots. Deleted on drop,
/// except after a failure (a panicking thread, a failed boot or poweroff) or with
/// `NASSTRAP_QEMU_KEEP=1`: then it is kept and its path printed, for `serial.log`, `qemu.log`
/// and the disk images.
#[derive(Debug)]
pub struct WorkDir {
    path: PathBuf,
    keep: bool,
}

impl WorkDir {
    /// A fresh directory under the system temp dir, private to us: the per-boot initrd
    /// holds the guest's private host key.
    pub fn new() -> Result<WorkDir, String> {
        let mut builder = tempfile::Builder::new();
        builder
            .prefix("nasstrap-qemu-")
            .permissions(fs::Permissions::from_mode(0o700));
        let dir = builder.tempdir().map_err(|e| format!("work dir: {e}"))?;
        Ok(WorkDir {
            path: dir.keep(),
            keep: false,
        })
    }
    pub fn path(&self) -> &Path {
        &self.path
    }
    /// Host path of the image of the disk called `name` (`bay1`..`bay5`, `emmc`).
    pub fn image(&self, name: &str) -> PathBuf {
        self.path.join(disk(name).image)
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if self.keep || std::thread::panicking() || env_is("NASSTRAP_QEMU_KEEP", "1") {
            eprintln!("qemu: kept work dir {}", self.path.display());
        } else {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// How to boot. Sizes apply only to disks this boot creates; existing images are reused as
/// they are.
#[derive(Debug)]
pub struct BootOpts {
    /// Reuse a work dir (and its disks) from an earlier boot; `None` creates a fresh one.
    pub work: Option<WorkDir>,
    /// Size of each bay image (raw, sparse). Default 4 GiB.
    pub bay_size: u64,
    /// Size of the SD card image (raw, sparse); QEMU requires a power of 2. Default 16 GiB.
    pub sd_size: u64,
    /// Run udev in the guest (default). `false` proves nothing needs `/dev/disk/by-*`.
    pub udev: bool,
    /// Give up when ssh does not answer within this time. Default 180 s (boot takes ~12 s).
    pub boot_timeout: Duration,
    /// Extra files for the guest: (host file, absolute guest path); the mode is kept.
    pub files: Vec<(PathBuf, String)>,
    /// Disks (`bay1`..`bay5`) whose every read fails with EIO from power-on, as a dying
    /// disk's do: QEMU's blkdebug driver sits between the drive and its image (rule in
    /// `WORK/blkdebug-NAME.conf`). Writes still succeed. The guest's kernel reports each
    /// failed read after libata retries it; boot takes about a second longer per bad bay.
    pub read_errors: Vec<&'static str>,
    /// A private git server the guest reaches as `root@10.0.2.100` (and nothing else
    /// besides): QEMU starts `sshd -i -f DIR/sshd_config` on the host for each
    /// connection (see `common::gitserver`).
    pub git_server: Option<PathBuf>,
    /// Bays (`bay1`..`bay5`) left empty this boot, as a pulled drive: their image stays
    /// in the work dir, their AHCI port has no drive. The bays after it then get other
    /// sdX names (sd names follow the drives found), so tests name the bays by udev's
    /// by-id links ([`BY_ID_MAP`]) instead of `qemu/guest.map`.
    pub detached: Vec<&'static str>,
}

/// A `--disk-map` that names the bays by serial (`/dev/disk/by-id/ata-QEMU_HARDDISK_BAY3`),
/// true however many bays are attached (needs udev in the guest).
pub const BY_ID_MAP: &str = "emmc=/dev/mmcblk0
bay1=/dev/disk/by-id/ata-QEMU_HARDDISK_BAY1
bay2=/dev/disk/by-id/ata-QEMU_HARDDISK_BAY2
bay3=/dev/disk/by-id/ata-QEMU_HARDDISK_BAY3
bay4=/dev/disk/by-id/ata-QEMU_HARDDISK_BAY4
bay5=/dev/disk/by-id/ata-QEMU_HARDDISK_BAY5
";

impl Default for BootOpts {
    fn default() -> Self {
        BootOpts {
            work: None,
            bay_size: 4 * GIB,
            sd_size: 16 * GIB,
            udev: true,
            boot_timeout: Duration::from_secs(180),
            files: Vec::new(),
            read_errors: Vec::new(),
            git_server: None,
            detached: Vec::new(),
        }
    }
}

/// A running emulated Helios64. Dropping it kills QEMU.
pub struct Guest {
    work: Option<WorkDir>,
    qemu: Option<Child>,
    /// The ssh ControlMaster that `ssh_command` rides.
    mux: Option<Child>,
    port: u16,
    started: Instant,
    serial_from: u64,
    /// This guest's machine-wide slot, held while it runs; an `Option` only so a failed boot
    /// can retry with it.
    slot: Option<slots::Slot>,
}

impl Guest {
    /// Boots the guest and waits until an ssh login succeeds. Besides the ssh keys, the
    /// per-boot cpio overlay puts into the guest `/usr/local/bin/nasstrap`,
    /// `/etc/nasstrap/guest.map`, the repo's `layouts/` as `/layouts` (if present) and
    /// `opts.files`.
    pub fn boot(mut opts: BootOpts) -> Result<Guest, String> {
        let prepared = prepare()?;
        let slots = slots::Slots::machine()?;
        let mut slot = slots
            .acquire(&slots::whoami())
            .map_err(|e| format!("guest slot in {}: {e}", slots.dir().display()))?;
        let mut work = match opts.work.take() {
            Some(w) => w,
            None => WorkDir::new()?,
        };
        launch::create_disks(&work, &opts).map_err(|e| format!("creating disks: {e}"))?;
        let started = Instant::now();
        // The free port is found by binding and releasing it, so another process may grab it
        // before QEMU does; QEMU then exits at once, and we retry on a new port.
        for attempt in 1.. {
            let port = launch::free_port().map_err(|e| format!("free port: {e}"))?;
            let boot_dir = launch::make_boot_files(&work, prepared, port, &opts.files)?;
            let serial_from = fs::metadata(work.path().join("serial.log")).map_or(0, |m| m.len());
            let qemu = launch::spawn_qemu(&work, prepared, &boot_dir, port, &opts)?;
            let mut guest = Guest {
                work: Some(work),
                qemu: Some(qemu),
                mux: None,
                port,
                started,
                serial_from,
                slot: Some(slot),
            };
            let err = match guest.wait_for_ssh(opts.boot_timeout) {
                Ok(()) => {
                    let (secs, dir) = (started.elapsed().as_secs_f64(), guest.work_dir().display());
                    eprintln!("qemu: boot {secs:.1} s to ssh (port {port}, {dir})");
                    return Ok(guest);
                }
                Err(err) => err,
            };
            guest.stop();
            // qemu.log spans all boots of this work dir: look at this boot's part only.
            let log = guest.qemu_log();
            let port_taken = log
                .rsplit("=== boot on port")
                .next()
                .unwrap_or_default()
                .contains("host forwarding rule");
            work = guest.work.take().expect("work dir");
            if !port_taken || attempt == 3 {
                work.keep = true;
                return Err(err);
            }
            slot = guest.slot.take().expect("guest slot");
        }
        unreachable!()
    }

    /// The ssh client arguments for this guest, without the destination: pinned host key
    /// (never trust-on-first-use), this boot's login key only, no prompts, no ~/.ssh/config.
    pub fn ssh_args(&self) -> Vec<String> {
        let boot = self.work_dir().join("boot");
        let mut args: Vec<String> = vec![
            "-F".into(),
            "none".into(),
            "-p".into(),
            self.port.to_string(),
        ];
        args.extend(["-i".into(), boot.join("login_key").display().to_string()]);
        let known_hosts = format!("UserKnownHostsFile={}", boot.join("known_hosts").display());
        // ServerAlive*: notice a dead guest instead of hanging on a long command.
        let opts = "StrictHostKeyChecking=yes GlobalKnownHostsFile=/dev/null IdentitiesOnly=yes \
                    BatchMode=yes LogLevel=ERROR ConnectTimeout=10 ServerAliveInterval=5 \
                    ServerAliveCountMax=6";
        for o in opts.split_whitespace().chain([known_hosts.as_str()]) {
            args.extend(["-o".into(), o.into()]);
        }
        args
    }

    /// An `ssh root@guest` command to append a remote command (and e.g. stdin) to. It rides
    /// the boot's shared connection (a fresh login costs ~1 s under TCG, this ~0.05 s) and
    /// falls back to a direct login without it. The shared connection forwards no agent: for
    /// `-A` with a test's own agent, build the command from [`Guest::ssh_args`] instead.
    pub fn ssh_command(&self) -> Command {
        let mut cmd = Command::new("ssh");
        cmd.args(self.ssh_args())
            .args(["-o", "ControlMaster=no", "-o"]);
        cmd.arg(format!("ControlPath={}", self.control_path().display()));
        cmd.arg("root@127.0.0.1");
        cmd
    }

    /// Runs `cmd` through the guest's root shell.
    pub fn ssh(&self, cmd: &str) -> Output {
        let out = self.ssh_command().arg("--").arg(cmd).output();
        out.unwrap_or_else(|e| panic!("running ssh: {e}"))
    }

    /// Runs `cmd` and returns its stdout; panics with the exit status and the output tails
    /// if it fails.
    pub fn ssh_ok(&self, cmd: &str) -> String {
        let out = self.ssh(cmd);
        let text = |b: &[u8]| tail(&String::from_utf8_lossy(b), 20);
        if !out.status.success() {
            let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
            panic!(
                "guest command failed ({}): {cmd}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
                out.status
            );
        }
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Cleanly powers the guest off (`poweroff` inside, then QEMU exits) and hands back the
    /// work dir, e.g. to inspect the images or boot again on the same disks.
    pub fn poweroff(mut self) -> Result<WorkDir, String> {
        let t = Instant::now();
        // The connection may drop as the guest goes down; only QEMU's exit counts.
        let _ = self.ssh("poweroff");
        while t.elapsed() < Duration::from_secs(60) {
            if let Ok(Some(status)) = self.child().try_wait() {
                let (took, up) = (
                    t.elapsed().as_secs_f64(),
                    self.started.elapsed().as_secs_f64(),
                );
                eprintln!("qemu: poweroff {took:.1} s ({status}); guest up {up:.1} s");
                self.qemu = None;
                self.stop();
                return Ok(self.work.take().expect("work dir"));
            }
            sleep(Duration::from_millis(100));
        }
        self.work.as_mut().expect("work dir").keep = true;
        Err(format!(
            "guest did not power off within 60 s\n{}",
            self.serial_tail()
        ))
    }

    /// Pulls the plug: SIGKILL to QEMU (fault injection). Writes the guest had issued are in
    /// the host page cache and survive; whatever sat in the guest's own page cache does not.
    pub fn kill(mut self) -> WorkDir {
        self.stop();
        eprintln!(
            "qemu: killed; guest up {:.1} s",
            self.started.elapsed().as_secs_f64()
        );
        self.work.take().expect("work dir")
    }

    /// The host's forwarded ssh port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }
    /// `nasstrap install LAYOUT` run from this machine (the laptop) to the guest: the
    /// host key checked against `known_hosts`, this boot's login key, an empty ssh
    /// config (the host's own must not matter), the cross-built binary for `install` to
    /// upload, the guest's disk map, `--ignore-expect`, no progress bars, no agent, no
    /// stdin. Callers add their own arguments (and an agent) to it.
    pub fn install_checked_by(&self, layout: &Path, known_hosts: &Path) -> Command {
        let empty = self.work_dir().join("empty_ssh_config");
        fs::write(&empty, "").expect("write an empty ssh config");
        let prepared = prepare().expect("prepared");
        let mut c = Command::new(env!("CARGO_BIN_EXE_nasstrap"));
        c.arg("install")
            .arg(layout)
            .arg("--target")
            .arg(format!("root@127.0.0.1:{}", self.port))
            .arg("--known-hosts")
            .arg(known_hosts)
            .arg("--ssh-config")
            .arg(&empty)
            .arg("-i")
            .arg(self.login_key())
            .arg("--target-binary")
            .arg(&prepared.nasstrap)
            .arg("--disk-map")
            .arg(guest_map())
            .arg("--ignore-expect")
            .env("NASSTRAP_NO_PROGRESS", "1")
            .env_remove("SSH_AUTH_SOCK")
            .stdin(Stdio::null());
        c
    }

    /// [`Guest::install_checked_by`] this boot's own known_hosts.
    pub fn install(&self, layout: &Path) -> Command {
        self.install_checked_by(layout, &self.known_hosts())
    }

    /// This boot's login private key (for ssh clients other than [`Guest::ssh_command`]).
    pub fn login_key(&self) -> PathBuf {
        self.work_dir().join("boot/login_key")
    }
    /// The known_hosts file pinning this boot's guest host key for `[127.0.0.1]:PORT`.
    pub fn known_hosts(&self) -> PathBuf {
        self.work_dir().join("boot/known_hosts")
    }
    pub fn work_dir(&self) -> &Path {
        self.work.as_ref().expect("work dir").path()
    }
    /// Host path of the image of the disk called `name` (`bay1`..`bay5`, `emmc`).
    pub fn image(&self, name: &str) -> PathBuf {
        self.work.as_ref().expect("work dir").image(name)
    }
    /// Guest device of the disk called `name`, e.g. `bay1` -> `/dev/sda`.
    pub fn device(name: &str) -> &'static str {
        disk(name).device
    }
    /// This boot's serial console output so far (kernel messages, rcS, sshd).
    pub fn serial(&self) -> String {
        let mut log = Vec::new();
        if let Ok(mut f) = File::open(self.work_dir().join("serial.log")) {
            let _ = f.seek(SeekFrom::Start(self.serial_from));
            let _ = f.read_to_end(&mut log);
        }
        String::from_utf8_lossy(&log).into_owned()
    }

    fn serial_tail(&self) -> String {
        format!("--- serial console (tail)\n{}", tail(&self.serial(), 40))
    }

    fn child(&mut self) -> &mut Child {
        self.qemu.as_mut().expect("qemu running")
    }

    fn qemu_log(&self) -> String {
        fs::read_to_string(self.work_dir().join("qemu.log")).unwrap_or_default()
    }

    fn control_path(&self) -> PathBuf {
        self.work_dir().join("boot/ssh-mux")
    }

    fn wait_for_ssh(&mut self, timeout: Duration) -> Result<(), String> {
        let start = Instant::now();
        let mut ssh_err = String::from("(not tried)");
        loop {
            // slirp accepts TCP at once and then SYNs the guest with backoff: a login tried
            // before the guest's network is up stalls for seconds (~6 s a boot, measured).
            // So first wait for rcS's last line (or stop waiting for it after a minute).
            if self.serial().contains("] rcS done") || start.elapsed() > Duration::from_secs(60) {
                match self.try_login() {
                    Ok(()) => return Ok(()),
                    Err(e) => ssh_err = e,
                }
            }
            if let Ok(Some(status)) = self.child().try_wait() {
                let log = tail(&self.qemu_log(), 10);
                return Err(format!(
                    "qemu exited during boot ({status})\n{log}\n{}",
                    self.serial_tail()
                ));
            }
            if start.elapsed() > timeout {
                return Err(format!(
                    "no ssh after {timeout:?}: {ssh_err}\n{}",
                    self.serial_tail()
                ));
            }
            sleep(Duration::from_millis(200));
        }
    }

    /// One real login (only that proves sshd is up, and it checks the pinned host key).
    /// On success it stays up as the shared connection (ssh ControlMaster) `ssh_command`
    /// rides; its control socket appears only once authenticated.
    fn try_login(&mut self) -> Result<(), String> {
        let (ctl, log_path) = (
            self.control_path(),
            self.work_dir().join("boot/ssh-mux.log"),
        );
        let _ = fs::remove_file(&ctl);
        let log = File::create(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
        let mut cmd = Command::new("ssh");
        // ssh takes the first value given for an option, so ControlMaster=yes here wins.
        cmd.args(["-o", "ControlMaster=yes", "-o", "ControlPersist=no", "-N"]);
        // No agent behind the shared connection, so `-A` through it can never hand the guest
        // whatever agent this process happens to see.
        cmd.env_remove("SSH_AUTH_SOCK");
        cmd.args(self.ssh_args())
            .arg("-o")
            .arg(format!("ControlPath={}", ctl.display()));
        cmd.arg("root@127.0.0.1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        let mut mux = cmd.spawn().map_err(|e| format!("running ssh: {e}"))?;
        let t = Instant::now();
        loop {
            if ctl.exists() {
                self.mux = Some(mux);
                return Ok(());
            }
            if let Ok(Some(status)) = mux.try_wait() {
                let err = fs::read_to_string(&log_path).unwrap_or_default();
                return Err(format!("ssh {status}: {}", err.trim()));
            }
            if t.elapsed() > Duration::from_secs(20) {
                let _ = (mux.kill(), mux.wait());
                return Err("ssh login hung for 20 s".into());
            }
            sleep(Duration::from_millis(50));
        }
    }

    /// Kills and reaps what still runs: the ssh ControlMaster, then QEMU.
    fn stop(&mut self) {
        for mut child in [self.mux.take(), self.qemu.take()].into_iter().flatten() {
            let _ = (child.kill(), child.wait());
        }
    }
}

impl Drop for Guest {
    fn drop(&mut self) {
        let was_running = self.qemu.is_some();
        self.stop();
        if was_running {
            eprintln!(
                "qemu: killed on drop; guest up {:.1} s",
                self.started.elapsed().as_secs_f64()
            );
        }
    }
}

fn env_is(var: &str, value: &str) -> bool {
    std::env::var(var).is_ok_and(|v| v == value)
}

fn tail(s: &str, lines: usize) -> String {
    let all: Vec<&str> = s.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
