//! Running nasstrap in the guest, and looking at the guest's disks the way a test proves that
//! nothing changed: the bytes at both ends of each disk and what the kernel and blkid see.

use super::{DISKS, Disk, Guest};

/// How a guest command ended.
#[derive(Debug)]
pub struct Outcome {
    /// The exit code, or -1 when a signal ended it.
    pub code: i32,
    /// Its stdout.
    pub out: String,
    /// Its stderr.
    pub err: String,
}

impl Guest {
    /// `nasstrap ARGS` in the guest, without a terminal and with stdin closed, so it can ask
    /// nobody, and without progress bars.
    pub fn nasstrap(&self, args: &str) -> Outcome {
        let o = self.ssh(&format!("NASSTRAP_NO_PROGRESS=1 nasstrap {args}"));
        Outcome {
            code: o.status.code().unwrap_or(-1),
            out: String::from_utf8_lossy(&o.stdout).into(),
            err: String::from_utf8_lossy(&o.stderr).into(),
        }
    }

    /// For each disk: the sha256 of its first 4 MiB (tables, md superblocks, the start of
    /// filesystems) and of its last 1 MiB (the backup GPT, md 0.90 superblocks), read past
    /// the guest's page cache. Labelled `bay1 head`, `bay1 tail`, ….
    pub fn fingerprints(&self, disks: &[Disk]) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for d in disks {
            let dev = d.device;
            let script = format!(
                "set -e; mib=$(( $(blockdev --getsize64 {dev}) / 1048576 ))
                dd if={dev} bs=1M count=4 iflag=direct status=none | sha256sum | cut -d' ' -f1
                dd if={dev} bs=1M skip=$((mib - 1)) count=1 iflag=direct status=none | sha256sum | cut -d' ' -f1"
            );
            let sums = self.ssh_ok(&script);
            let mut sums = sums.lines();
            for end in ["head", "tail"] {
                let sum = sums.next().unwrap_or_default().to_string();
                out.push((format!("{} {end}", d.name), sum));
            }
        }
        out
    }

    /// What the guest sees of its storage, entry by entry: `/proc/mdstat`, `ls -l /dev/md`,
    /// `blkid -p` of every disk and partition, and [`Guest::fingerprints`] of all disks.
    pub fn storage_state(&self) -> Vec<(String, String)> {
        let mut state = vec![
            ("/proc/mdstat".into(), self.ssh_ok("cat /proc/mdstat")),
            ("/dev/md".into(), self.ssh_ok("ls -l /dev/md 2>&1 || true")),
        ];
        let devices = self.ssh_ok("lsblk -rno PATH /dev/sd? /dev/mmcblk0");
        for dev in devices.lines() {
            // blkid -p exits 2 when it finds nothing, which is an answer too.
            let probe = self.ssh_ok(&format!("blkid -p {dev} 2>&1; echo \"exit $?\""));
            state.push((format!("blkid -p {dev}"), probe));
        }
        state.extend(self.fingerprints(&DISKS));
        state
    }
}

/// The entries of two [`Guest::storage_state`]s (or fingerprints) that differ, with both
/// values; empty when they agree.
pub fn changes(before: &[(String, String)], after: &[(String, String)]) -> String {
    let mut out = String::new();
    for (key, was) in before {
        let now = after
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str());
        if now != Some(was.as_str()) {
            let now = now.unwrap_or("(gone)");
            out += &format!("--- {key} before\n{was}\n--- {key} after\n{now}\n");
        }
    }
    for (key, now) in after {
        if !before.iter().any(|(k, _)| k == key) {
            out += &format!("--- {key} new\n{now}\n");
        }
    }
    out
}

/// The content of a (sparse) disk image as a sha256: every non-zero 64 KiB block with its
/// offset, holes and zero blocks skipped, so a region QEMU wrote zeros into equals a hole.
/// Reads only the data regions: quick on a large image with little written.
pub fn image_digest(path: &std::path::Path) -> String {
    use sha2::{Digest, Sha256};
    use std::io::{Read, Seek, SeekFrom};
    let seek = |f: &std::fs::File, from: u64, data: bool| {
        let w = if data {
            nix::unistd::Whence::SeekData
        } else {
            nix::unistd::Whence::SeekHole
        };
        nix::unistd::lseek(f, from as i64, w).ok().map(|o| o as u64)
    };
    let mut f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let len = f.metadata().unwrap().len();
    let mut h = Sha256::new();
    let mut block = vec![0u8; 64 << 10];
    let mut pos = 0u64;
    while let Some(start) = (pos < len).then(|| seek(&f, pos, true)).flatten() {
        let end = seek(&f, start, false).unwrap_or(len);
        // Whole blocks, so where extents begin does not matter.
        let mut at = start - start % block.len() as u64;
        f.seek(SeekFrom::Start(at)).unwrap();
        while at < end {
            let n = ((len - at) as usize).min(block.len());
            f.read_exact(&mut block[..n]).unwrap();
            if block[..n].iter().any(|b| *b != 0) {
                h.update(at.to_le_bytes());
                h.update(&block[..n]);
            }
            at += n as u64;
        }
        pos = at;
    }
    format!("{len}:{:x}", h.finalize())
}
