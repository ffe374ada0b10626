//! Partition tables read straight from the device, with the `gpt` crate.
//!
//! How the crate's lenient open behaves (gpt 4.1, read from its source and checked by the
//! tests below), and what this module adds:
//! - It reads the primary header at LBA 1 and the backup at the *last LBA of the device*
//!   (not where the primary's backup_lba field points), and opens if either header's CRC
//!   is good, preferring the primary. So a damaged primary header opens from the backup.
//! - It reads the entry array of the header it chose and fails on an entry-array CRC
//!   mismatch *without* trying the other copy. To get both verdicts, the table is opened
//!   twice, once with the backup header sector hidden (zeroes) and once with the primary
//!   hidden: `primary_ok`/`backup_ok` mean "this header and its entry array check out".
//! - It `assert!`s an entry size of 128 and sizes its read buffer from the header's entry
//!   count, so headers with another entry size or an absurd count are hidden from it
//!   (treated as damaged) rather than allowed to panic or allocate gigabytes.

use std::io::{self, Read, Seek, SeekFrom, Write};
use std::ops::Range;

use gpt::GptConfig;
use gpt::disk::LogicalBlockSize;

use super::model::{Gpt, GptEntry, Table};

/// Reading a partition table failed.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// The device could not be read.
    #[error("reading the partition table: {0}")]
    Io(#[from] io::Error),
    /// The gpt crate only knows 512- and 4096-byte sectors.
    #[error("unsupported logical sector size {0} (only 512 and 4096 are read)")]
    SectorSize(u32),
}

/// Entry counts above this are refused (the crate reads the whole array into memory).
const MAX_ENTRIES: u32 = 16384;

/// Reads the GPT, `Ok(None)` when neither LBA 1 nor the last LBA holds a GPT header
/// signature, and `Ok(Some)` with `primary_ok`/`backup_ok` when at least one copy is good.
/// A signature with no usable copy is [`Table::Unknown`] in [`read_table`]; here it is
/// `Ok(None)` as well, with the reason given by [`read_table`].
pub fn read_gpt<R: Read + Seek>(
    dev: R,
    logical_sector_size: u32,
) -> Result<Option<Gpt>, TableError> {
    Ok(match probe_gpt(dev, logical_sector_size)? {
        GptProbe::Found(gpt) => Some(gpt),
        GptProbe::Absent | GptProbe::Damaged(_) => None,
    })
}

/// What is on the disk: a GPT (possibly half-damaged), a DOS/MBR table, something
/// unreadable, or nothing. `logical_sector_size` is the disk's LOG-SEC.
pub fn read_table<R: Read + Seek>(
    mut dev: R,
    logical_sector_size: u32,
) -> Result<Table, TableError> {
    match probe_gpt(&mut dev, logical_sector_size)? {
        GptProbe::Found(gpt) => return Ok(Table::Gpt(gpt)),
        GptProbe::Damaged(why) => return Ok(Table::Unknown(why)),
        GptProbe::Absent => {}
    }
    let mut sector0 = [0u8; 512];
    dev.seek(SeekFrom::Start(0))?;
    if let Err(e) = dev.read_exact(&mut sector0) {
        return match e.kind() {
            io::ErrorKind::UnexpectedEof => Ok(Table::None),
            _ => Err(e.into()),
        };
    }
    Ok(mbr_kind(&sector0))
}

enum GptProbe {
    Found(Gpt),
    Absent,
    Damaged(String),
}

fn probe_gpt<R: Read + Seek>(mut dev: R, lb: u32) -> Result<GptProbe, TableError> {
    let lb_size = match lb {
        512 => LogicalBlockSize::Lb512,
        4096 => LogicalBlockSize::Lb4096,
        other => return Err(TableError::SectorSize(other)),
    };
    let lb = u64::from(lb);
    let len = dev.seek(SeekFrom::End(0))?;
    if len < 3 * lb {
        return Ok(GptProbe::Absent);
    }
    let primary_at = lb..2 * lb;
    let backup_at = len - lb..len;
    let primary = header_shape(&mut dev, primary_at.start)?;
    let backup = header_shape(&mut dev, backup_at.start)?;
    if primary == Shape::NoSignature && backup == Shape::NoSignature {
        return Ok(GptProbe::Absent);
    }
    // Each view hides the other copy, and any copy the crate must not see.
    let unsafe_ranges =
        |shape: Shape, r: &Range<u64>| (shape == Shape::Unsupported).then(|| r.clone());
    let hide_for_primary: Vec<_> = [Some(backup_at.clone()), unsafe_ranges(primary, &primary_at)]
        .into_iter()
        .flatten()
        .collect();
    let hide_for_backup: Vec<_> = [Some(primary_at.clone()), unsafe_ranges(backup, &backup_at)]
        .into_iter()
        .flatten()
        .collect();
    let from_primary = open_view(&mut dev, lb_size, hide_for_primary)?;
    let from_backup = open_view(&mut dev, lb_size, hide_for_backup)?;
    let (primary_ok, backup_ok) = (from_primary.is_some(), from_backup.is_some());
    let Some(mut gpt) = from_primary.or(from_backup) else {
        return Ok(GptProbe::Damaged(
            "gpt signature found but neither the primary nor the backup table checks out".into(),
        ));
    };
    gpt.primary_ok = primary_ok;
    gpt.backup_ok = backup_ok;
    Ok(GptProbe::Found(gpt))
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Shape {
    NoSignature,
    /// Signature present and the fields the crate trusts blindly are sane.
    Plausible,
    /// Signature present but an entry size or count the crate cannot take.
    Unsupported,
}

fn header_shape<R: Read + Seek>(dev: &mut R, offset: u64) -> io::Result<Shape> {
    let mut h = [0u8; 92];
    dev.seek(SeekFrom::Start(offset))?;
    dev.read_exact(&mut h)?;
    if &h[..8] != b"EFI PART" {
        return Ok(Shape::NoSignature);
    }
    let le32 = |at: usize| u32::from_le_bytes([h[at], h[at + 1], h[at + 2], h[at + 3]]);
    let (entries, entry_size) = (le32(80), le32(84));
    Ok(if entry_size == 128 && entries <= MAX_ENTRIES {
        Shape::Plausible
    } else {
        Shape::Unsupported
    })
}

/// Opens the table with some byte ranges reading as zeroes; `None` if the crate refuses.
/// Real read errors from the device are returned, not mistaken for damage.
fn open_view<R: Read + Seek>(
    dev: &mut R,
    lb: LogicalBlockSize,
    hide: Vec<Range<u64>>,
) -> io::Result<Option<Gpt>> {
    let mut view = Masked {
        inner: dev,
        pos: 0,
        hide,
        error: None,
    };
    view.seek(SeekFrom::Start(0))?;
    let gpt = GptConfig::new()
        .writable(false)
        .logical_block_size(lb)
        .open_from_device(&mut view)
        .ok()
        .and_then(|disk| to_model(&disk));
    match view.error.take() {
        Some(e) => Err(e),
        None => Ok(gpt),
    }
}

fn to_model<D: gpt::DiskDevice>(disk: &gpt::GptDisk<D>) -> Option<Gpt> {
    let header = disk
        .primary_header()
        .or_else(|_| disk.backup_header())
        .ok()?;
    let guid = |u: &uuid::Uuid| u.hyphenated().to_string().to_uppercase();
    let entries = disk
        .partitions()
        .iter()
        .filter(|(_, p)| !p.part_type_guid.guid.is_nil())
        .map(|(number, p)| GptEntry {
            number: *number,
            first_lba: p.first_lba,
            last_lba: p.last_lba,
            type_guid: guid(&p.part_type_guid.guid),
            part_guid: guid(&p.part_guid),
            name: p.name.clone(),
            attributes: p.flags,
        })
        .collect();
    Some(Gpt {
        disk_guid: guid(disk.guid()),
        first_usable_lba: header.first_usable,
        last_usable_lba: header.last_usable,
        primary_ok: false,
        backup_ok: false,
        entries,
    })
}

/// A read-only view of the device where some byte ranges read as zeroes. The crate wants
/// `Write` too; writes are refused.
struct Masked<'a, R> {
    inner: &'a mut R,
    pos: u64,
    hide: Vec<Range<u64>>,
    /// The first error the device itself returned.
    error: Option<io::Error>,
}

impl<R> std::fmt::Debug for Masked<'_, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Masked")
            .field("pos", &self.pos)
            .field("hide", &self.hide)
            .finish()
    }
}

impl<R: Read + Seek> Read for Masked<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = match self.inner.read(buf) {
            Ok(n) => n,
            Err(e) => {
                let copy = io::Error::new(e.kind(), e.to_string());
                self.error.get_or_insert(e);
                return Err(copy);
            }
        };
        let got = self.pos..self.pos + n as u64;
        for h in &self.hide {
            let (start, end) = (got.start.max(h.start), got.end.min(h.end));
            if start < end {
                // In range: both offsets lie within `buf[..n]`.
                buf[(start - got.start) as usize..(end - got.start) as usize].fill(0);
            }
        }
        self.pos = got.end;
        Ok(n)
    }
}

impl<R: Read + Seek> Seek for Masked<'_, R> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.pos = self.inner.seek(to)?;
        Ok(self.pos)
    }
}

impl<R> Write for Masked<'_, R> {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "probe reads partition tables only",
        ))
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Sector 0 without a GPT: a DOS table, a protective MBR whose GPT is gone, or neither.
fn mbr_kind(s: &[u8; 512]) -> Table {
    if s[510..512] != [0x55, 0xAA] {
        return Table::None;
    }
    let entries: Vec<&[u8]> = s[446..510].chunks(16).collect();
    if entries.iter().any(|e| e[4] == 0xEE) {
        return Table::Unknown(
            "protective mbr without a readable gpt (wrong logical sector size?)".into(),
        );
    }
    // 0x55AA also ends FAT/NTFS/exFAT boot sectors on unpartitioned media; blkid names
    // those as a signature, so they must not count as a table.
    let boot_sector = [
        (3, &b"NTFS"[..]),
        (3, b"EXFAT"),
        (0x36, b"FAT"),
        (0x52, b"FAT"),
    ]
    .iter()
    .any(|(at, magic)| s[*at..*at + magic.len()] == **magic);
    let flags_ok = entries.iter().all(|e| e[0] == 0 || e[0] == 0x80);
    let any_used = entries.iter().any(|e| e[4] != 0);
    if !boot_sector && flags_ok && any_used {
        Table::Mbr
    } else {
        Table::None
    }
}

#[cfg(test)]
mod tests;
