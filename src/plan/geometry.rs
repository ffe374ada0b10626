//! Exact GPT geometry: where each partition starts and ends, in sectors,
//! computed by laying the table out with the real `gpt` crate on a sparse
//! virtual device of the disk's size and sector size.

use super::sparse::SparseDevice;
use crate::layout::model::{Disk, End, Gpt, Partition};
use crate::layout::size::{Size, human};
use crate::layout::{Diagnostic, diag::Pos};
use gpt::disk::LogicalBlockSize;
use serde::{Deserialize, Serialize};

/// On the Helios64 boot medium nothing may start below 16 MiB: idbloader sits
/// at sector 64, U-Boot's environment near 4 MiB and u-boot.itb at 8 MiB.
pub const BOOT_GAP_BYTES: u64 = 16 << 20;
/// A GPT has room for 128 partition entries (what sgdisk and the gpt crate write).
pub const MAX_PARTITIONS: usize = 128;
/// Partitions are aligned to 1 MiB, as sgdisk and disko do.
pub const ALIGN_BYTES: u64 = 1 << 20;
/// The size a disk is planned against when nothing says how big it is.
pub const ASSUMED_DISK_BYTES: u64 = 2 << 40;
/// Namespace of the deterministic GUIDs (so plans and snapshots are stable).
pub const GUID_NAMESPACE: uuid::Uuid =
    uuid::Uuid::from_u128(0x6e617373_7472_6170_8000_000000000001);

/// Where a disk's size came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SizeSource {
    /// The layout's `expect.size`.
    Expect,
    /// `--disk-size` on the command line.
    Flag,
    /// Read from the device.
    Probe,
    /// Unknown: planned against a nominal size (`ASSUMED_DISK_BYTES` or what the layout needs).
    Assumed,
}

/// What is known of a disk when planning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskFacts {
    /// Size in bytes.
    pub size_bytes: u64,
    /// Logical sector size (512 or 4096).
    pub sector: u32,
    /// Where the size came from.
    pub source: SizeSource,
}

/// A planned GPT.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableGeometry {
    /// Disk GUID.
    pub disk_guid: String,
    /// Logical sector size.
    pub sector: u32,
    /// First LBA partitions may use.
    pub first_usable: u64,
    /// Last LBA partitions may use.
    pub last_usable: u64,
    /// Partitions in table order.
    pub partitions: Vec<PartGeometry>,
}

/// A planned partition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartGeometry {
    /// Partition number (1-based).
    pub number: u32,
    /// The layout's name.
    pub name: String,
    /// GPT partition name.
    pub label: String,
    /// First sector.
    pub first_lba: u64,
    /// Last sector (inclusive).
    pub last_lba: u64,
    /// Type GUID.
    pub type_guid: String,
    /// Partition GUID.
    pub part_guid: String,
    /// GPT attribute bits.
    pub attributes: u64,
}

impl PartGeometry {
    /// Size in bytes.
    pub fn bytes(&self, sector: u32) -> u64 {
        (self.last_lba - self.first_lba + 1) * sector as u64
    }
}

/// A planned firmware region, in bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegionGeometry {
    /// Region name.
    pub name: String,
    /// Byte offset.
    pub offset: u64,
    /// Room in bytes.
    pub max_size: u64,
    /// Image to write with `--firmware`.
    pub image: Option<String>,
}

/// A deterministic GUID for `what` (e.g. `disk/bay1/part/data`).
pub fn guid_for(seed: &str, what: &str) -> String {
    uuid::Uuid::new_v5(&GUID_NAMESPACE, format!("{seed}/{what}").as_bytes())
        .hyphenated()
        .to_string()
        .to_ascii_uppercase()
}

fn err(pos: Pos, path: &str, msg: String, hint: Option<String>) -> Diagnostic {
    let mut d = Diagnostic::error(Some(pos), path, msg);
    d.hint = hint;
    d
}

/// `size` in bytes on this disk, or an error at the value: a size that does
/// not fit in 64 bits must never turn into "unknown" (which reads as "the
/// rest of the disk").
fn bytes_at(
    size: Size,
    pos: Pos,
    path: &str,
    facts: &DiskFacts,
    diags: &mut Vec<Diagnostic>,
) -> Option<u64> {
    let b = size.bytes(facts.sector as u64, facts.size_bytes);
    if b.is_none() {
        diags.push(err(
            pos,
            path,
            format!(
                "`{size}` is too large: {} bytes a sector do not fit in 64 bits",
                facts.sector
            ),
            Some("sizes must fit in 64 bits (16 EiB)".into()),
        ));
    }
    b
}

/// The firmware regions of a disk in bytes, checked against each other, the
/// GPT and, on a boot medium, the 16 MiB gap that is their only room.
pub fn regions(
    disk: &Disk,
    facts: &DiskFacts,
    boot_medium: bool,
    diags: &mut Vec<Diagnostic>,
) -> Vec<RegionGeometry> {
    let sector = facts.sector as u64;
    // The protective MBR, primary header and 128 entries of 128 bytes.
    let table_end = 2 * sector + 128 * 128;
    let mut out: Vec<(RegionGeometry, &crate::layout::Firmware)> = Vec::new();
    for f in &disk.firmware {
        let offset = bytes_at(f.offset.v, f.offset.pos, &f.offset.path, facts, diags);
        let max = bytes_at(f.max_size.v, f.max_size.pos, &f.max_size.path, facts, diags);
        let (Some(offset), Some(max)) = (offset, max) else {
            continue;
        };
        if matches!(f.offset.v, Size::Percent(_)) || matches!(f.max_size.v, Size::Percent(_)) {
            diags.push(err(
                f.site.pos,
                &f.site.path,
                format!("firmware region `{}` needs a fixed offset and size", f.name),
                Some("e.g. offset: 64s, max_size: 4MiB".into()),
            ));
            continue;
        }
        if offset < table_end {
            diags.push(err(
                f.offset.pos,
                &f.offset.path,
                format!(
                    "firmware region `{}` at byte {offset} overlaps the GPT (bytes 0..{table_end})",
                    f.name
                ),
                Some("Rockchip's idbloader goes at sector 64".into()),
            ));
        }
        if offset.saturating_add(max) > facts.size_bytes {
            diags.push(err(
                f.max_size.pos,
                &f.max_size.path,
                format!("firmware region `{}` ends past the end of the disk", f.name),
                None,
            ));
        } else if boot_medium && offset.saturating_add(max) > BOOT_GAP_BYTES {
            diags.push(err(
                f.max_size.pos,
                &f.max_size.path,
                format!(
                    "firmware region `{}` (bytes {offset}..{}) reaches past the first 16 MiB of the boot medium",
                    f.name,
                    offset.saturating_add(max)
                ),
                Some("on the Helios64 firmware lives below 16 MiB, where partitions never start".into()),
            ));
        }
        for (other, of) in &out {
            if offset < other.offset.saturating_add(other.max_size)
                && other.offset < offset.saturating_add(max)
            {
                diags.push(err(
                    f.offset.pos,
                    &f.offset.path,
                    format!(
                        "firmware region `{}` overlaps `{}` (line {})",
                        f.name, other.name, of.site.pos.line
                    ),
                    None,
                ));
            }
        }
        out.push((
            RegionGeometry {
                name: f.name.clone(),
                offset,
                max_size: max,
                image: f.image.as_ref().map(|i| i.v.clone()),
            },
            f,
        ));
    }
    out.into_iter().map(|(r, _)| r).collect()
}

/// Partitions in planning order: by priority, then as declared (disko sorts by
/// priority; for its JSON, declaration order is already its name order).
pub fn ordered(g: &Gpt) -> Vec<&Partition> {
    let mut v: Vec<(usize, &Partition)> = g.partitions.iter().enumerate().collect();
    v.sort_by_key(|(i, p)| (p.priority, *i));
    v.into_iter().map(|(_, p)| p).collect()
}

fn lb(sector: u32) -> LogicalBlockSize {
    if sector == 4096 {
        LogicalBlockSize::Lb4096
    } else {
        LogicalBlockSize::Lb512
    }
}

fn sectors_up(bytes: u64, sector: u64) -> u64 {
    bytes.div_ceil(sector)
}

/// The last sector of the free space a partition starting at `first` may grow into:
/// the sector before the next partition already placed above it, or the last usable one.
fn room_end(first: u64, placed: &[(u64, u64, &Partition)], last_usable: u64) -> u64 {
    placed
        .iter()
        .filter(|(f, _, _)| *f > first)
        .map(|(f, _, _)| f - 1)
        .fold(last_usable, u64::min)
}

/// Where sgdisk ends free space that reaches `limit`: disko runs it with `--align-end`, so a
/// partition taking the rest, and the base of an end counted back from the disk's end
/// (`-1G`), stop just before an aligned sector — unless that leaves nothing after `first`,
/// when sgdisk keeps `limit` (gptfdisk's `FindLastInFree`).
fn aligned_end(first: u64, limit: u64, align: u64) -> u64 {
    let top = (limit + 1) / align * align;
    if top > first { top - 1 } else { limit }
}

/// Lay out the GPT of `disk`. `boot_medium` applies the board's 16 MiB rule.
pub fn table(
    seed: &str,
    disk: &Disk,
    g: &Gpt,
    facts: &DiskFacts,
    boot_medium: bool,
    fw: &[RegionGeometry],
    diags: &mut Vec<Diagnostic>,
) -> Option<TableGeometry> {
    let sector = facts.sector as u64;
    let before = diags.len();
    let total = facts.size_bytes / sector;
    let size_note = match facts.source {
        SizeSource::Assumed => format!("the assumed {}", human(facts.size_bytes)),
        SizeSource::Expect => format!("{} (expect.size)", human(facts.size_bytes)),
        SizeSource::Flag => format!("{} (--disk-size)", human(facts.size_bytes)),
        SizeSource::Probe => format!("{} (as probed)", human(facts.size_bytes)),
    };
    // 2 × (header + 128 entries) + the protective MBR, plus room for one partition.
    if total < 2 * (1 + 16384 / sector) + 1 + ALIGN_BYTES / sector {
        diags.push(err(
            disk.site.pos,
            &disk.site.path,
            format!("disk `{}` of {size_note} is too small for a GPT", disk.name),
            None,
        ));
        return None;
    }
    let first_usable = 2 + 16384 / sector;
    let last_usable = total - 2 - 16384 / sector;
    let align = ALIGN_BYTES / sector;
    let floor = if boot_medium {
        BOOT_GAP_BYTES / sector
    } else {
        first_usable.next_multiple_of(align)
    };
    if g.partitions.len() > MAX_PARTITIONS {
        // One error for the table, at the first partition that has no entry.
        let p = &g.partitions[MAX_PARTITIONS];
        diags.push(err(
            p.site.pos,
            &p.site.path,
            format!(
                "disk `{}` has {} partitions; a GPT holds at most {MAX_PARTITIONS}",
                disk.name,
                g.partitions.len()
            ),
            Some("use at most 128 partitions on one disk".into()),
        ));
        return None;
    }
    let parts = ordered(g);

    // Lengths first: a "rest" partition gets what the partitions after it leave.
    let mut lengths: Vec<Option<u64>> = Vec::new();
    let mut rest: Option<&Partition> = None;
    for p in &parts {
        let len = match (&p.end, &p.size) {
            (Some(e), _) => match e.v {
                End::Plus(s) => {
                    bytes_at(s, e.pos, &e.path, facts, diags).map(|b| sectors_up(b, sector))
                }
                _ => None, // resolved against the start below
            },
            (None, Some(s)) if s.v == Size::Percent(100) => None,
            (None, Some(s)) => {
                bytes_at(s.v, s.pos, &s.path, facts, diags).map(|b| sectors_up(b, sector))
            }
            (None, None) => None,
        };
        let is_rest = p.end.is_none() && p.size.as_ref().is_none_or(|s| s.v == Size::Percent(100));
        if is_rest {
            if let Some(first) = rest {
                diags.push(err(
                    p.site.pos,
                    &p.site.path,
                    format!(
                        "partitions `{}` and `{}` both take the rest of the disk",
                        first.name, p.name
                    ),
                    Some("give one of them a size".into()),
                ));
            }
            rest = Some(p);
        }
        if len == Some(0) {
            diags.push(err(
                p.site.pos,
                &p.site.path,
                format!("partition `{}` has size zero", p.name),
                None,
            ));
        }
        lengths.push(len);
    }
    if diags.len() > before {
        // Placing partitions now would only repeat the same problem.
        return None;
    }
    let mut placed: Vec<(u64, u64, &Partition)> = Vec::new();
    let mut cursor = floor;
    for (i, p) in parts.iter().enumerate() {
        // Set when this partition's problem is already reported.
        let mut no_room = false;
        let first = match &p.start {
            Some(s) => {
                let Some(b) = bytes_at(s.v, s.pos, &s.path, facts, diags) else {
                    continue;
                };
                let lba = sectors_up(b, sector);
                if boot_medium && b < BOOT_GAP_BYTES {
                    diags.push(err(s.pos, &s.path, format!("partition `{}` starts at {}, inside the first 16 MiB of the boot medium", p.name, human(b)), Some("the Helios64 boot ROM reads idbloader at sector 64 and U-Boot at 8 MiB; start at 16MiB or later".into())));
                } else if lba < first_usable {
                    diags.push(err(s.pos, &s.path, format!("partition `{}` starts inside the GPT (first usable sector is {first_usable})", p.name), None));
                }
                lba
            }
            // sgdisk's default start (disko's `start = "0"`) is the first aligned sector of
            // the largest free space; this is the first after the previous partition. They
            // agree while the partitions fill the disk in order, as in every disko example;
            // where a small tail is left beside a larger gap, sgdisk would put the partition
            // in the gap, out of order, which no layout means.
            None => cursor.checked_next_multiple_of(align).unwrap_or(u64::MAX),
        };
        let last = match (&p.end, lengths[i]) {
            (Some(e), _) if !matches!(e.v, End::Plus(_)) => {
                let (End::Minus(s) | End::Absolute(s) | End::Plus(s)) = e.v;
                let Some(b) = bytes_at(s, e.pos, &e.path, facts, diags) else {
                    continue;
                };
                // As sgdisk reads them (disko passes `end` to `--new` unchanged): `-SIZE`
                // counts back from the aligned end of the free space, and an absolute end
                // is the last sector itself, so `128M` ends on sector 262144 (at 512 bytes)
                // and the partition is a sector longer than 127 MiB. Odd, but a disk disko
                // made must plan as it is, not as something to rewrite.
                let lba = match e.v {
                    End::Minus(_) => {
                        aligned_end(first, room_end(first, &placed, last_usable), align)
                            .checked_sub(sectors_up(b, sector))
                    }
                    _ => Some(b / sector),
                };
                match lba {
                    Some(l) if l >= first => l,
                    _ => {
                        diags.push(err(
                            e.pos,
                            &e.path,
                            format!("partition `{}` ends before it starts", p.name),
                            None,
                        ));
                        first
                    }
                }
            }
            (_, Some(len)) => first.saturating_add(len.max(1)) - 1,
            (_, None) => {
                // The rest: up to what the following partitions need (disko puts it last,
                // so usually nothing), ending where sgdisk's `--align-end` ends it.
                let after: u64 = lengths[i + 1..].iter().fold(0u64, |acc, l| {
                    acc.saturating_add(
                        l.unwrap_or(0)
                            .checked_next_multiple_of(align)
                            .unwrap_or(u64::MAX),
                    )
                });
                let end = (room_end(first, &placed, last_usable) + 1).saturating_sub(after);
                if end <= first {
                    no_room = true;
                    diags.push(err(
                        p.site.pos,
                        &p.site.path,
                        format!("no room left for partition `{}` on {size_note}", p.name),
                        None,
                    ));
                    first
                } else {
                    aligned_end(first, end - 1, align)
                }
            }
        };
        if last > last_usable && !no_room {
            let need = last
                .saturating_sub(first)
                .saturating_add(1)
                .saturating_mul(sector);
            let at = p
                .size
                .as_ref()
                .map(|s| (s.pos, s.path.clone()))
                .unwrap_or((p.site.pos, p.site.path.clone()));
            diags.push(err(
                at.0,
                &at.1,
                format!(
                    "partition `{}` ({}) does not fit on disk `{}` of {size_note}",
                    p.name,
                    human(need),
                    disk.name
                ),
                Some(if facts.source == SizeSource::Assumed {
                    "pass --disk-size NAME=SIZE to plan against the real size".into()
                } else {
                    "make it smaller, or check the disk".into()
                }),
            ));
        }
        for (f, l, q) in &placed {
            if first <= *l && *f <= last {
                diags.push(err(
                    p.site.pos,
                    &p.site.path,
                    format!(
                        "partition `{}` (sectors {first}..{last}) overlaps `{}` (sectors {f}..{l})",
                        p.name, q.name
                    ),
                    None,
                ));
            }
        }
        for r in fw {
            let (rf, rl) = (
                r.offset / sector,
                r.offset
                    .saturating_add(r.max_size)
                    .div_ceil(sector)
                    .saturating_sub(1),
            );
            if first <= rl && rf <= last {
                diags.push(err(
                    p.site.pos,
                    &p.site.path,
                    format!(
                        "partition `{}` overlaps firmware region `{}` (sectors {rf}..{rl})",
                        p.name, r.name
                    ),
                    Some("firmware regions stay outside the partition table".into()),
                ));
            }
        }
        placed.push((first, last, p));
        cursor = last.saturating_add(1);
    }
    if diags.len() > before {
        return None;
    }

    // The real table, laid out by the gpt crate on a sparse device of this size.
    let dev = SparseDevice::new(total * sector);
    let disk_guid = guid_for(seed, &format!("disk/{}", disk.name));
    let mut gd = match gpt::GptConfig::new()
        .writable(true)
        .logical_block_size(lb(facts.sector))
        .create_from_device(dev, uuid::Uuid::parse_str(&disk_guid).ok())
    {
        Ok(d) => d,
        Err(e) => {
            diags.push(err(
                disk.site.pos,
                &disk.site.path,
                format!("cannot lay out a GPT on disk `{}`: {e}", disk.name),
                None,
            ));
            return None;
        }
    };
    let mut out = Vec::new();
    for (i, (first, last, p)) in placed.iter().enumerate() {
        let id = i as u32 + 1;
        let mut flags = 0u64;
        for b in &p.attributes {
            flags |= 1 << b;
        }
        if p.bootable {
            flags |= 1 << 2;
        }
        let ty = gpt::partition_types::Type {
            guid: uuid::Uuid::parse_str(&p.part_type.v.guid).expect("parsed at load"),
            os: gpt::partition_types::OperatingSystem::None,
        };
        if let Err(e) = gd.add_partition_at(&p.label, id, *first, last - first + 1, ty, flags) {
            diags.push(err(
                p.site.pos,
                &p.site.path,
                format!(
                    "the gpt crate refuses partition `{}` at sectors {first}..{last}: {e}",
                    p.name
                ),
                None,
            ));
            continue;
        }
        out.push(PartGeometry {
            number: id,
            name: p.name.clone(),
            label: p.label.clone(),
            first_lba: *first,
            last_lba: *last,
            type_guid: p.part_type.v.guid.clone(),
            part_guid: guid_for(seed, &format!("disk/{}/part/{}", disk.name, p.name)),
            attributes: flags,
        });
    }
    let h = gd.header();
    Some(TableGeometry {
        disk_guid,
        sector: facts.sector,
        first_usable: h.first_usable,
        last_usable: h.last_usable,
        partitions: out,
    })
}

#[cfg(test)]
mod tests;
