//! What apply holds on devices while it rewrites them, against udev.
//!
//! Whole-disk locks, systemd's block device locking protocol
//! (<https://systemd.io/BLOCK_DEVICE_LOCKING/>): while a disk's signatures
//! and table are rewritten, nasstrap holds a BSD `flock(LOCK_EX)` on it, so
//! systemd-udevd neither re-reads the table as a writer closes the disk nor
//! runs its rules on the disk and its partitions (mdadm's incremental
//! assembly of an old superblock in a new partition). Its events wait and run
//! when the lock is dropped — which must be soon, and before anything uses the
//! new partitions: a deferred `remove` of an old `sdb1` replayed later runs
//! Debian's `mdadm -If sdb1` against the new array's `sdb1` (seen: md failed
//! both members of a fresh array). So the lock covers the disk's rewrite only,
//! and the step runner settles udev before it creates arrays or filesystems.
//!
//! Held partitions: udev handles a writer's close (its inotify watch) at idle
//! priority, so `udevadm settle` can return before it, and its re-read of the
//! table then removes and re-adds the partition nodes under the next step
//! (seen: "wipefs /dev/sdd1: … No such file or directory", and md failing a
//! member the moment the array started). From the table write to the end of
//! the run nasstrap keeps each new partition open: the kernel refuses to
//! re-read a table whose partitions are open.

use anyhow::{Context, Result, bail};
use std::collections::BTreeMap;
use std::fs::File;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long to wait for a lock someone else holds (udev holds a shared one
/// for the moment it processes an event of the disk).
const WAIT: Duration = Duration::from_secs(30);

/// Locks held on whole disks, by device path (a lock ends when released or
/// dropped), and partitions held open until dropped.
#[derive(Default)]
pub struct DiskLocks {
    held: Mutex<BTreeMap<String, File>>,
    open: Mutex<Vec<File>>,
}

impl DiskLocks {
    /// Take an exclusive lock on `device`, waiting (bounded) while another
    /// program holds one. Regular files (images) are locked the same way.
    pub fn lock(&self, device: &str) -> Result<()> {
        let f = File::open(device).with_context(|| format!("opening {device} to lock it"))?;
        let start = Instant::now();
        loop {
            match f.try_lock() {
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock) if start.elapsed() < WAIT => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                Err(std::fs::TryLockError::WouldBlock) => bail!(
                    "another program has held the lock on {device} for {} s (see https://systemd.io/BLOCK_DEVICE_LOCKING/)",
                    WAIT.as_secs()
                ),
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(e).with_context(|| format!("locking {device}"));
                }
            }
        }
        self.held
            .lock()
            .expect("not poisoned")
            .insert(device.to_string(), f);
        Ok(())
    }

    /// Keep `partition` open (read-only, not exclusive: the tools' own
    /// exclusive opens still work) until this value is dropped.
    pub fn hold_open(&self, partition: &str) -> Result<()> {
        let f = File::open(partition).with_context(|| format!("opening {partition} to hold it"))?;
        self.open.lock().expect("not poisoned").push(f);
        Ok(())
    }

    /// Drop the lock on `device` (closing the descriptor releases it).
    pub fn release(&self, device: &str) {
        self.held.lock().expect("not poisoned").remove(device);
    }

    /// Devices locked now.
    pub fn held(&self) -> Vec<String> {
        self.held
            .lock()
            .expect("not poisoned")
            .keys()
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_locked_disk_cannot_be_locked_by_another_holder() {
        let t = tempfile::NamedTempFile::new().unwrap();
        let p = t.path().to_str().unwrap();
        let locks = DiskLocks::default();
        locks.lock(p).unwrap();
        // udev's worker takes LOCK_SH|LOCK_NB and backs off when it fails.
        let other = File::open(p).unwrap();
        assert!(matches!(
            other.try_lock_shared(),
            Err(std::fs::TryLockError::WouldBlock)
        ));
        assert_eq!(locks.held(), [p.to_string()]);
        locks.release(p);
        assert!(other.try_lock_shared().is_ok());
    }
}
