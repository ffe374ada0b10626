//! Device locks, systemd's block device locking protocol
//! (<https://systemd.io/BLOCK_DEVICE_LOCKING/>): for the whole of an apply,
//! nasstrap holds a BSD `flock(LOCK_EX)` on every whole disk it writes to and
//! on every md/dm device it makes or writes to. systemd-udevd then neither
//! re-reads a partition table when a writer closes the disk (its BLKRRPART
//! makes the partition nodes vanish under the next step, or under an array
//! being created: seen as "wipefs /dev/sdd1: … No such file or directory"
//! and as md failing members the moment it started) nor runs its rules on
//! them (mdadm's incremental assembly of an old superblock in a new
//! partition; probes racing mkfs's exclusive open). Its events wait in its
//! queue and run once the locks are dropped, when everything is in use.
//! udev locks the whole disk for an event on a partition, so a partition is
//! covered by its disk's lock.

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
    /// Take an exclusive lock on the whole device behind `device` (a
    /// partition's disk, the kernel node of /dev/md/<name> or
    /// /dev/mapper/<name>), waiting (bounded) while another program holds one.
    /// Already held: nothing to do. Regular files (images) are locked as they are.
    pub fn lock(&self, device: &str) -> Result<()> {
        let device = whole_node(device).unwrap_or_else(|| device.to_string());
        let device = device.as_str();
        if self.held.lock().expect("not poisoned").contains_key(device) {
            return Ok(());
        }
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

/// The kernel node of the whole block device `device` leads to: what udev
/// opens (and locks) for an event of it or of one of its partitions.
/// `None` for what is not a block device.
fn whole_node(device: &str) -> Option<String> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::{FileTypeExt, MetadataExt};
        let m = std::fs::metadata(device).ok()?;
        if !m.file_type().is_block_device() {
            return None;
        }
        let (major, minor) = (
            nix::sys::stat::major(m.rdev()),
            nix::sys::stat::minor(m.rdev()),
        );
        let sys = std::fs::canonicalize(format!("/sys/dev/block/{major}:{minor}")).ok()?;
        let whole = if sys.join("partition").exists() {
            sys.parent()?.to_path_buf()
        } else {
            sys
        };
        Some(format!("/dev/{}", whole.file_name()?.to_str()?))
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = device;
        None
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
        locks.lock(p).unwrap(); // held already: no second lock on ourselves
        drop(locks);
        assert!(other.try_lock_shared().is_ok());
    }
}
