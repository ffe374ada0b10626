//! `/dev/disk/by-path` and `/dev/disk/by-id` names without udev, derived from sysfs the
//! way systemd-udev's rules do it, for the two kinds of disk a Helios64 has: ATA (the
//! SATA bays) and MMC (eMMC, SD). Anything else gets no derived name.
//!
//! by-path (`udev-builtin-path_id.c`): walk from the disk up its sysfs path; the SCSI
//! device of an ATA disk gives `ata-<port_no>.<target>` (`ata-<port_no>.<bus>.0` behind
//! a port multiplier) plus the compat name `ata-<port_no>`; the nearest PCI function gives
//! `pci-<addr>` (PCI bridges above it are skipped); the nearest platform device gives
//! `platform-<name>` (platform parents above it are skipped). A name needs a known
//! parent (pci/platform) and, for block devices, a known transport (scsi/platform);
//! virtual devices (loop, md, dm) get none. `port_no` is the port's number on its
//! controller (`/sys/class/ata_port/ataN/port_no`), not the global N.
//!
//! by-id (`60-persistent-storage.rules`): ATA disks `ata-<model>_<serial>` from the
//! IDENTIFY data (what `ata_id` reads), and `wwn-0x…` when the disk has a WWN; MMC
//! (`mmcblk[0-9]` only) `mmc-<name>_<serial>` from the card's sysfs attributes. Strings
//! go through udev's whitespace and character replacement. Partitions add `-part<N>`;
//! eMMC boot areas get `<path>-boot<N>` and no by-id.

use std::collections::BTreeMap;

/// The IDENTIFY strings udev's `ata_id` builds the by-id name from.
#[derive(Debug, Clone, PartialEq)]
pub struct AtaIdentity {
    /// Model, spaces trimmed (words 27–46).
    pub model: String,
    /// Serial, spaces trimmed (words 10–19).
    pub serial: String,
    /// `0x…` world wide name (words 108–111), when the NAA nibble says IEEE (5).
    pub wwn: Option<String>,
}

/// Reads the ATA IDENTIFY data inside SCSI VPD page 0x89 (`/sys/block/sdX/device/vpd_pg89`
/// on a libata disk: the 512 identify bytes start at offset 60, as little-endian words,
/// each word's two characters high byte first).
pub fn ata_identity_from_vpd89(page: &[u8]) -> Option<AtaIdentity> {
    if page.len() < 60 + 512 || page[1] != 0x89 {
        return None;
    }
    let id = &page[60..60 + 512];
    let word = |w: usize| u16::from_le_bytes([id[2 * w], id[2 * w + 1]]);
    let text = |from: usize, words: usize| {
        let bytes: Vec<u8> = (from..from + words)
            .flat_map(|w| word(w).to_be_bytes())
            .collect();
        String::from_utf8_lossy(&bytes).trim().to_string()
    };
    let wwn = (word(108) & 0xf000 == 0x5000).then(|| {
        let v = (108..112).fold(0u64, |acc, w| acc << 16 | u64::from(word(w)));
        format!("0x{v:x}")
    });
    let model = text(27, 20);
    (!model.is_empty()).then(|| AtaIdentity {
        model,
        serial: text(10, 10),
        wwn,
    })
}

/// The unit serial number in SCSI VPD page 0x80 (`vpd_pg80`): libata puts the ATA serial
/// there, padded.
pub fn serial_from_vpd80(page: &[u8]) -> Option<String> {
    if page.len() < 4 || page[1] != 0x80 {
        return None;
    }
    let len = usize::from(u16::from_be_bytes([page[2], page[3]]));
    let serial = String::from_utf8_lossy(page.get(4..4 + len)?)
        .trim()
        .to_string();
    (!serial.is_empty()).then_some(serial)
}

/// A `naa.<hex>` sysfs `wwid` as udev's `0x<hex>` WWN; other designators are not WWNs.
pub fn wwn_from_wwid(wwid: &str) -> Option<String> {
    let hex = wwid.trim().strip_prefix("naa.")?;
    (!hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| format!("0x{}", hex.to_ascii_lowercase()))
}

/// udev's treatment of a string that goes into a by-id name (`udev_replace_whitespace`
/// then `udev_replace_chars`): leading and trailing whitespace dropped, each inner run of
/// whitespace one `_`, every character other than ASCII alphanumerics, `#+-.:=@_` and
/// non-ASCII UTF-8 replaced by `_`. (udev also keeps `\x` escapes, and `/` in MMC
/// attributes, which would make a subdirectory; no disk or card name has either.)
pub fn udev_sanitize(s: &str) -> String {
    let joined = s.split_whitespace().collect::<Vec<_>>().join("_");
    let keep = |c: char| c.is_ascii_alphanumeric() || "#+-.:=@_".contains(c) || !c.is_ascii();
    joined
        .chars()
        .map(|c| if keep(c) { c } else { '_' })
        .collect()
}

/// udev's `ID_PATH` and `ID_PATH_ATA_COMPAT` for a whole disk.
#[derive(Debug, Clone, PartialEq)]
pub struct PathId {
    /// e.g. `platform-f8000000.pcie-pci-0000:01:00.0-ata-1.0`.
    pub path: String,
    /// e.g. `platform-f8000000.pcie-pci-0000:01:00.0-ata-1` (ATA only).
    pub ata_compat: Option<String>,
}

/// Derives [`PathId`] from a disk's resolved sysfs path (`readlink -f
/// /sys/class/block/sda`). `ata_ports` maps `ataN` to its `port_no`; an ATA disk whose
/// port is missing gets no name, as udev gives none when it cannot read `port_no`.
pub fn path_id(syspath: &str, ata_ports: &BTreeMap<String, u32>) -> Option<PathId> {
    let devpath = syspath.strip_prefix("/sys").unwrap_or(syspath);
    if devpath.contains("/virtual/") {
        return None;
    }
    let parts: Vec<&str> = devpath.split('/').filter(|p| !p.is_empty()).collect();
    let block_at = parts.iter().position(|p| *p == "block")?;
    let platform_run = platform_run(&parts);
    let (mut path, mut compat): (Vec<String>, Option<Vec<String>>) = (Vec::new(), None);
    let (mut transport, mut parent_ok) = (false, false);
    let mut i = block_at;
    while i > 0 {
        i -= 1;
        let c = parts[i];
        if let Some([_, bus, target, _]) = scsi_address(c) {
            transport = true;
            if !parts[..i].iter().any(|p| p.starts_with("ata")) {
                return None; // SCSI, but not ATA: not derived here.
            }
            // scsi_device ← target ← hostN ← ataN
            let port = i.checked_sub(3).and_then(|at| ata_ports.get(parts[at]))?;
            path.push(if bus != 0 {
                format!("ata-{port}.{bus}.0")
            } else {
                format!("ata-{port}.{target}")
            });
            compat = Some(vec![format!("ata-{port}")]);
        } else if is_pci_function(c) {
            let name = format!("pci-{c}");
            compat.iter_mut().for_each(|v| v.push(name.clone()));
            path.push(name);
            parent_ok = true;
            while i > 0 && is_pci_function(parts[i - 1]) {
                i -= 1;
            }
        } else if platform_run.contains(&i) {
            let name = format!("platform-{c}");
            compat.iter_mut().for_each(|v| v.push(name.clone()));
            path.push(name);
            (transport, parent_ok) = (true, true);
            i = platform_run.start;
        }
    }
    if path.is_empty() || !parent_ok || !transport {
        return None;
    }
    let join = |mut v: Vec<String>| {
        v.reverse();
        v.join("-")
    };
    Some(PathId {
        path: join(path),
        ata_compat: compat.map(join),
    })
}

/// Indices of the platform devices directly under `/devices/platform/`, down to the
/// first component that is something else (a PCI root, an ATA port, an MMC host…).
fn platform_run(parts: &[&str]) -> std::ops::Range<usize> {
    let start = match parts {
        ["devices", "platform", ..] => 2,
        _ => return 0..0,
    };
    let end = (start..parts.len())
        .find(|&i| !looks_like_platform(parts[i]))
        .unwrap_or(parts.len());
    start..end
}

fn looks_like_platform(c: &str) -> bool {
    let numbered = |prefix: &str| {
        c.strip_prefix(prefix)
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    };
    let pci_root = c
        .strip_prefix("pci")
        .is_some_and(|r| r.len() == 7 && r.as_bytes()[4] == b':');
    !(pci_root
        || is_pci_function(c)
        || scsi_address(c).is_some()
        || ["ata", "host", "usb", "mmc"].iter().any(|p| numbered(p))
        || matches!(c, "block" | "mmc_host" | "scsi_host" | "nvme"))
}

/// `0000:01:00.0`
fn is_pci_function(c: &str) -> bool {
    let b = c.as_bytes();
    let hex = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_hexdigit);
    b.len() == 12
        && b[4] == b':'
        && b[7] == b':'
        && b[10] == b'.'
        && hex(0..4)
        && hex(5..7)
        && hex(8..10)
        && (b'0'..=b'7').contains(&b[11])
}

/// `host:bus:target:lun`, e.g. `0:0:0:0`.
fn scsi_address(c: &str) -> Option<[u32; 4]> {
    let mut it = c.split(':').map(|n| n.parse::<u32>().ok());
    let a = [it.next()??, it.next()??, it.next()??, it.next()??];
    it.next().is_none().then_some(a)
}

/// What the by-id rules need about a whole disk.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IdFacts<'a> {
    /// Kernel name (`sda`, `mmcblk1`).
    pub kname: &'a str,
    /// Resolved sysfs path.
    pub syspath: &'a str,
    /// ATA identity, when known in full.
    pub ata: Option<AtaIdentity>,
    /// MMC card `name` attribute.
    pub mmc_name: Option<&'a str>,
    /// MMC card `serial` attribute.
    pub mmc_serial: Option<&'a str>,
    /// WWN in udev's `0x…` form.
    pub wwn: Option<&'a str>,
}

/// The `/dev/disk/by-id/…` names udev would create for a whole disk.
pub fn by_id_names(f: &IdFacts) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(ata) = &f.ata {
        let (model, serial) = (udev_sanitize(&ata.model), udev_sanitize(&ata.serial));
        out.push(if serial.is_empty() {
            format!("ata-{model}")
        } else {
            format!("ata-{model}_{serial}")
        });
    }
    let single_digit_mmc = f
        .kname
        .strip_prefix("mmcblk")
        .is_some_and(|n| n.len() == 1 && n.as_bytes()[0].is_ascii_digit());
    if let (true, Some(name), Some(serial)) = (single_digit_mmc, f.mmc_name, f.mmc_serial) {
        let (name, serial) = (udev_sanitize(name), udev_sanitize(serial));
        if !name.is_empty() && !serial.is_empty() {
            out.push(format!("mmc-{name}_{serial}"));
        }
    }
    if let Some(wwn) = f
        .wwn
        .filter(|_| f.ata.is_some() || f.syspath.contains("/ata"))
    {
        out.push(format!("wwn-{wwn}"));
    }
    out.into_iter()
        .map(|n| format!("/dev/disk/by-id/{n}"))
        .collect()
}

/// The `/dev/disk/by-path/…` names udev would create for a whole disk.
pub fn by_path_names(kname: &str, id: &PathId) -> Vec<String> {
    // mmcblkNbootM: only `<path>-bootM`, no plain or compat name.
    let boot = kname
        .strip_prefix("mmcblk")
        .and_then(|r| r.split_once("boot"))
        .filter(|(n, m)| n.len() == 1 && m.len() == 1);
    let names = match boot {
        Some((_, m)) => vec![format!("{}-boot{m}", id.path)],
        None => [Some(id.path.clone()), id.ata_compat.clone()]
            .into_iter()
            .flatten()
            .collect(),
    };
    names
        .into_iter()
        .map(|n| format!("/dev/disk/by-path/{n}"))
        .collect()
}

/// A partition's names from its disk's: `…-part<N>`.
pub fn partition_names(disk_names: &[String], number: u32) -> Vec<String> {
    disk_names
        .iter()
        .map(|n| format!("{n}-part{number}"))
        .collect()
}

#[cfg(test)]
pub(crate) mod tests;
