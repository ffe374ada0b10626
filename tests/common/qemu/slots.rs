//! How many QEMU guests run at once on this machine, across every process: test binaries,
//! cargo-nextest's one process per test, benches, several cargo invocations, other
//! worktrees. A TCG guest keeps ~2 cores busy, so more guests than the machine holds only
//! make every guest slow (and its timeouts flaky).
//!
//! A counting semaphore made of N slot files, `slot-0` .. `slot-{N-1}`, in one shared
//! directory: holding a slot is holding an exclusive `flock` on its file. The kernel drops
//! the lock when the holder's file is closed, including when the process dies however it
//! dies, so a crashed test never leaves a slot taken. The holder writes who it is into the
//! file, so a waiting test can say whom it waits for.
//!
//! - N: `NASSTRAP_QEMU_GUESTS`, else one guest per two available cores
//!   (`std::thread::available_parallelism`, which honours cgroup quotas and CPU affinity),
//!   at least one. Processes that disagree on N share the first slots they both know.
//! - Directory: `NASSTRAP_QEMU_SLOT_DIR`, else `/run/lock/nasstrap-qemu`, else
//!   `$TMPDIR/nasstrap-qemu-slots` where `/run/lock` is not writable.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// The machine's guest slots: a directory and how many slot files count.
#[derive(Debug, Clone)]
pub struct Slots {
    dir: PathBuf,
    count: usize,
}

/// One held slot; dropping it (or the process ending) frees it.
#[derive(Debug)]
pub struct Slot {
    index: usize,
    // Only held for its lock: closing the file releases the flock.
    _file: File,
}

impl Slot {
    /// Which slot file this is (`slot-N`).
    pub fn index(&self) -> usize {
        self.index
    }
}

/// Guests one machine runs at once by default: one per two cores, at least one.
pub fn default_count(cores: usize) -> usize {
    (cores / 2).max(1)
}

/// The cores this process may use (1 if unknown).
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

impl Slots {
    /// Slot files `slot-0` .. `slot-{count-1}` in `dir` (created on first use).
    pub fn new(dir: impl Into<PathBuf>, count: usize) -> Slots {
        assert!(count > 0, "at least one guest slot");
        Slots {
            dir: dir.into(),
            count,
        }
    }

    /// This machine's slots, as the module documentation describes.
    pub fn machine() -> Result<Slots, String> {
        let count = match std::env::var("NASSTRAP_QEMU_GUESTS") {
            Ok(v) => match v.trim().parse::<usize>() {
                Ok(n) if n > 0 => n,
                _ => return Err(format!("NASSTRAP_QEMU_GUESTS={v:?}: want a number above 0")),
            },
            Err(_) => default_count(cores()),
        };
        if let Some(dir) = std::env::var_os("NASSTRAP_QEMU_SLOT_DIR") {
            return Ok(Slots::new(dir, count));
        }
        let shared = Path::new("/run/lock/nasstrap-qemu");
        let dir = if shared_dir(shared).is_ok() {
            shared.to_path_buf()
        } else {
            std::env::temp_dir().join("nasstrap-qemu-slots")
        };
        Ok(Slots::new(dir, count))
    }

    /// The directory holding the slot files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// How many guests may run at once.
    pub fn count(&self) -> usize {
        self.count
    }

    /// A free slot now, or `None` when all are held. `who` is recorded in the slot file for
    /// waiting processes to show.
    pub fn try_acquire(&self, who: &str) -> io::Result<Option<Slot>> {
        shared_dir(&self.dir)?;
        for index in 0..self.count {
            let path = self.dir.join(format!("slot-{index}"));
            let file = open_slot(&path)?;
            match file.try_lock() {
                Ok(()) => {
                    // Best effort: a slot file made by another user may be read-only to us.
                    let _ = file.set_len(0);
                    let _ = writeln!(&file, "{who}");
                    return Ok(Some(Slot { index, _file: file }));
                }
                Err(fs::TryLockError::WouldBlock) => {}
                Err(fs::TryLockError::Error(e)) => {
                    return Err(io::Error::new(e.kind(), format!("{}: {e}", path.display())));
                }
            }
        }
        Ok(None)
    }

    /// A slot, waiting as long as it takes. Once it has waited a second it says so on stderr
    /// (past libtest's capture), naming the holders, and again every minute.
    pub fn acquire(&self, who: &str) -> io::Result<Slot> {
        let start = Instant::now();
        let mut said = None::<Instant>;
        loop {
            if let Some(slot) = self.try_acquire(who)? {
                if said.is_some() {
                    let waited = start.elapsed().as_secs_f64();
                    say(&format!(
                        "qemu: {who}: got guest slot {} after {waited:.1} s",
                        slot.index
                    ));
                }
                return Ok(slot);
            }
            // Not at once: a holder that has just locked may not have written its name yet.
            let due = match said {
                None => start.elapsed() > Duration::from_secs(1),
                Some(t) => t.elapsed() > Duration::from_secs(60),
            };
            if due {
                say(&format!(
                    "qemu: {who}: waiting for a guest slot (all {} busy in {}; \
                     NASSTRAP_QEMU_GUESTS sets how many), held by: {}",
                    self.count,
                    self.dir.display(),
                    self.holders().join(", ")
                ));
                said = Some(Instant::now());
            }
            sleep(Duration::from_millis(250));
        }
    }

    /// Who holds (or last held) each slot, as written into the slot files.
    pub fn holders(&self) -> Vec<String> {
        (0..self.count)
            .map(|i| {
                let text = fs::read_to_string(self.dir.join(format!("slot-{i}")));
                let text = text.unwrap_or_default();
                format!("[{i}] {}", text.trim())
            })
            .collect()
    }
}

/// Who this process is, for the slot file: pid, test binary and test (libtest names each
/// test's thread after the test).
pub fn whoami() -> String {
    let exe = std::env::current_exe().ok();
    let exe = exe
        .as_deref()
        .and_then(Path::file_name)
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("?");
    format!("pid {} {exe} {test}", std::process::id())
}

/// Creates `dir` for everyone (sticky, like /tmp) if it is missing.
fn shared_dir(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::create_dir_all(dir)?;
    // Best effort: another user's tests may share the slots.
    let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o1777));
    Ok(())
}

/// Opens a slot file to lock it. flock needs no write access, so a file another user made
/// read-only to us still counts.
fn open_slot(path: &Path) -> io::Result<File> {
    let rw = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path);
    match rw {
        Ok(f) => {
            let _ = f.set_permissions(fs::Permissions::from_mode(0o666));
            Ok(f)
        }
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => File::open(path),
        Err(e) => Err(io::Error::new(e.kind(), format!("{}: {e}", path.display()))),
    }
}

fn say(line: &str) {
    let _ = std::io::stderr().write_all(format!("{line}\n").as_bytes());
}
