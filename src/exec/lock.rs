//! Whole-disk locks, systemd's block device locking protocol
//! (<https://systemd.io/BLOCK_DEVICE_LOCKING/>): while nasstrap rewrites a
//! disk's signatures and partition table, it holds a BSD `flock(LOCK_EX)` on
//! the whole disk. systemd-udevd then neither re-reads the partition table
//! when a writer closes the disk (its BLKRRPART made the new partition nodes
//! vanish under the next step: "wipefs /dev/sdd1: … No such file or
//! directory") nor runs its rules on the disk and its partitions (mdadm's
//! incremental assembly of an old superblock found in a new partition). The
//! events wait in udev's queue and run once the lock is dropped — after the
//! new partitions were wiped.

use anyhow::{Context, Result, bail};
use std::collections::BTreeMap;
use std::fs::File;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long to wait for a lock someone else holds (udev holds a shared one
/// for the moment it processes an event of the disk).
const WAIT: Duration = Duration::from_secs(30);

/// Locks held on whole disks, by device path; a lock ends when released or dropped.
#[derive(Default)]
pub struct DiskLocks {
    held: Mutex<BTreeMap<String, File>>,
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
