//! [`assemble`]: a [`RawProbe`] in, the [`Observed`] model out.
//!
//! Where facts come from, best source first:
//! - signatures: blkid (it reads the device) → lsblk's FS columns (udev's database, empty
//!   without udev);
//! - partition tables: the collector's GPT read → blkid's PTTYPE → lsblk's PTTYPE;
//! - partition number, start, PARTUUID/PARTLABEL/type: sysfs and blkid's PART_ENTRY_*
//!   → lsblk → the GPT entry;
//! - model/serial/WWN: the ATA IDENTIFY data → lsblk → sysfs;
//! - by-id/by-path: udev's links when `/dev/disk` exists, else derived from sysfs;
//! - holders: sysfs → lsblk's tree; mountpoints: lsblk ∪ /proc/mounts ∪ /proc/swaps.

use std::collections::BTreeMap;

use super::ProbeError;
use super::blkid::{BlkidEntry, parse_blkid_export};
use super::btrfs::{parse_filesystem_show, parse_subvolume_list};
use super::lsblk::{LsblkDevice, parse_lsblk};
use super::luks::{parse_dm_crypt_uuid, parse_luks_dump, same_luks_uuid};
use super::mdadm::{md_state, parse_detail_export, parse_mdstat};
use super::model::*;
use super::proc::{parse_mounts, parse_swaps};
use super::raw::{Captured, RawProbe, SysBlock};
use super::sysfs::{self, AtaIdentity, IdFacts};
use super::zfs::{parse_zfs_list, parse_zpool_list, parse_zpool_status};

/// Builds the observed model. Fails only on output that does not parse: a device a tool
/// could not be run on (non-zero exit) is simply known less well.
pub fn assemble(raw: &RawProbe) -> Result<Observed, ProbeError> {
    let ctx = Ctx::new(raw)?;
    let disks = ctx
        .devices
        .iter()
        .filter(|d| is_disk(d))
        .map(|d| ctx.disk(d))
        .collect();
    Ok(Observed {
        disks,
        md_arrays: ctx.md_arrays()?,
        luks: ctx.luks()?,
        btrfs: ctx.btrfs()?,
        zpools: zpools(raw)?,
        mounts: ctx.mounts.clone(),
        swaps: ctx.swaps.clone(),
        paths: raw.paths.iter().map(|p| ctx.path(p)).collect(),
    })
}

/// Whole disks worth showing: not RAM-backed, not empty loop slots, not the eMMC's RPMB.
fn is_disk(d: &LsblkDevice) -> bool {
    let ram = ["ram", "zram"].iter().any(|p| d.kname.starts_with(p));
    matches!(d.kind.as_str(), "disk" | "loop") && d.size > 0 && !ram && !d.kname.ends_with("rpmb")
}

/// What one blkid run said about a device.
enum Probed {
    Found(BlkidEntry),
    Nothing,
    Ambivalent,
    /// blkid could not probe it; its own words. It exits 2 ("nothing") when it
    /// cannot even open the device, so a 2 with a complaint is a failure too.
    Failed(String),
}

/// What a failed blkid run says: its stderr, else its exit status.
fn blkid_failure(run: &Captured) -> String {
    let said: Vec<&str> = run
        .stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if said.is_empty() {
        format!("blkid {} exited with status {}", run.target, run.status)
    } else {
        said.join("; ")
    }
}

struct Ctx<'a> {
    raw: &'a RawProbe,
    devices: Vec<LsblkDevice>,
    blkid: BTreeMap<String, Probed>,
    sysfs: BTreeMap<&'a str, &'a SysBlock>,
    mounts: Vec<Mount>,
    swaps: Vec<String>,
}

/// The first successful run of a per-device tool for `target`.
fn captured<'c>(runs: &'c [Captured], target: &str) -> Option<&'c Captured> {
    runs.iter().find(|c| c.target == target && c.status == 0)
}

impl<'a> Ctx<'a> {
    fn new(raw: &'a RawProbe) -> Result<Self, ProbeError> {
        let mut blkid = BTreeMap::new();
        for run in &raw.blkid {
            match run.status {
                0 => {
                    for entry in parse_blkid_export(&run.stdout)? {
                        blkid.insert(entry.devname.clone(), Probed::Found(entry));
                    }
                }
                2 if run.stderr.trim().is_empty() => {
                    blkid.insert(run.target.clone(), Probed::Nothing);
                }
                8 => {
                    blkid.insert(run.target.clone(), Probed::Ambivalent);
                }
                _ => {
                    blkid.insert(run.target.clone(), Probed::Failed(blkid_failure(run)));
                }
            }
        }
        Ok(Ctx {
            raw,
            devices: parse_lsblk(&raw.lsblk)?,
            blkid,
            sysfs: raw.sysfs.iter().map(|s| (s.name.as_str(), s)).collect(),
            mounts: parse_mounts(&raw.proc_mounts)?,
            swaps: parse_swaps(&raw.proc_swaps)?,
        })
    }

    fn device(&self, kname: &str) -> Option<&LsblkDevice> {
        self.devices.iter().find(|d| d.kname == kname)
    }

    fn probed(&self, d: &LsblkDevice) -> Option<&Probed> {
        self.blkid
            .get(&d.path)
            .or_else(|| self.blkid.get(&format!("/dev/{}", d.kname)))
    }

    fn blkid_entry(&self, d: &LsblkDevice) -> Option<&BlkidEntry> {
        match self.probed(d) {
            Some(Probed::Found(e)) => Some(e),
            _ => None,
        }
    }

    /// Why what is on `d` is unknown: the collector's own read failed, or blkid did.
    fn unreadable(&self, d: &LsblkDevice) -> Option<String> {
        let read = self
            .raw
            .unreadable
            .get(&d.path)
            .or_else(|| self.raw.unreadable.get(&format!("/dev/{}", d.kname)));
        match (read, self.probed(d)) {
            (Some(why), _) => Some(why.clone()),
            (None, Some(Probed::Failed(why))) => Some(why.clone()),
            _ => None,
        }
    }

    /// A device path the caller asked about, as the kernel sees it.
    fn path(&self, p: &crate::probe::raw::PathLookup) -> DevicePath {
        let is = match &p.kname {
            None => PathTarget::Nothing(
                p.error
                    .clone()
                    .unwrap_or_else(|| "leads to no block device".into()),
            ),
            Some(k) => match self.device(k) {
                None => PathTarget::Other {
                    kname: k.clone(),
                    kind: "unlisted".into(),
                },
                Some(d) => match d.kind.as_str() {
                    "disk" | "loop" => PathTarget::Disk(k.clone()),
                    "part" => PathTarget::Partition {
                        kname: k.clone(),
                        disk: d
                            .pkname
                            .clone()
                            .or_else(|| {
                                let parent = self.devices.iter().find(|p| p.children.contains(k));
                                parent.map(|p| p.kname.clone())
                            })
                            .unwrap_or_default(),
                    },
                    "md" | "linear" => PathTarget::Md(k.clone()),
                    t if t.starts_with("raid") => PathTarget::Md(k.clone()),
                    "crypt" | "dm" | "lvm" | "mpath" => PathTarget::Dm(k.clone()),
                    t => PathTarget::Other {
                        kname: k.clone(),
                        kind: t.to_string(),
                    },
                },
            },
        };
        DevicePath {
            path: p.path.clone(),
            is,
        }
    }

    fn signature(&self, d: &LsblkDevice) -> Option<Signature> {
        let mut sig = match self.probed(d) {
            Some(Probed::Found(e)) => e.signature(),
            Some(Probed::Nothing) | Some(Probed::Failed(_)) => None,
            Some(Probed::Ambivalent) => Some(Signature {
                fstype: AMBIVALENT.into(),
                uuid: None,
                uuid_sub: None,
                label: None,
                version: None,
                used_bytes: None,
            }),
            None => d.fstype.clone().map(|fstype| Signature {
                fstype,
                uuid: d.uuid.clone(),
                uuid_sub: None,
                label: d.label.clone(),
                version: d.fsver.clone(),
                used_bytes: None,
            }),
        }?;
        sig.used_bytes = d.fsused;
        Some(sig)
    }

    fn holders(&self, d: &LsblkDevice) -> Vec<String> {
        match self.sysfs.get(d.kname.as_str()) {
            Some(s) => s.holders.clone(),
            None => {
                let stacked = |k: &&String| self.device(k).is_some_and(|c| c.kind != "part");
                d.children.iter().filter(stacked).cloned().collect()
            }
        }
    }

    fn mountpoints(&self, d: &LsblkDevice) -> Vec<String> {
        let mut out = d.mountpoints.clone();
        let is_me =
            |source: &str| source == d.path || source.strip_prefix("/dev/") == Some(&d.kname);
        let from_mounts = self
            .mounts
            .iter()
            .filter(|m| is_me(&m.source))
            .map(|m| m.target.clone());
        let swap = self
            .swaps
            .iter()
            .any(|s| is_me(s))
            .then(|| "[SWAP]".to_string());
        for m in from_mounts.chain(swap) {
            if !out.contains(&m) {
                out.push(m);
            }
        }
        out
    }

    fn table(&self, d: &LsblkDevice) -> Table {
        if let Some(t) = self.raw.tables.get(&d.kname) {
            return t.clone();
        }
        let pttype = match self.probed(d) {
            Some(Probed::Found(e)) => e.get("PTTYPE").map(str::to_string),
            Some(Probed::Failed(_)) => return Table::Unknown("unreadable".into()),
            Some(_) => None,
            None if d.pttype.is_none() => return Table::Unknown("not probed".into()),
            None => d.pttype.clone(),
        };
        match pttype.as_deref() {
            None => Table::None,
            Some("dos") => Table::Mbr,
            Some("gpt") => Table::Unknown("gpt (table not read)".into()),
            Some(other) => Table::Unknown(other.into()),
        }
    }

    /// (by-id, by-path) names for a device, udev's own when it made them.
    fn links(&self, d: &LsblkDevice) -> Option<(Vec<String>, Vec<String>)> {
        let links = self.raw.dev_disk_links.as_ref()?;
        let mine = |prefix: &str| {
            let mut v: Vec<String> = links
                .iter()
                .filter(|l| l.target == d.kname && l.link.starts_with(prefix))
                .map(|l| l.link.clone())
                .collect();
            v.sort();
            v
        };
        Some((mine("/dev/disk/by-id/"), mine("/dev/disk/by-path/")))
    }

    fn disk(&self, d: &LsblkDevice) -> Disk {
        let sys = self.sysfs.get(d.kname.as_str()).copied();
        let ata = sys.and_then(ata_identity);
        let sys_text = |f: fn(&SysBlock) -> &Option<String>| {
            sys.and_then(|s| f(s).as_deref())
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(String::from)
        };
        let wwn = ata
            .as_ref()
            .and_then(|a| a.wwn.clone())
            .or_else(|| d.wwn.clone())
            .or_else(|| sys.and_then(|s| sysfs::wwn_from_wwid(s.wwid.as_deref()?)));
        let (by_id, by_path) = self.links(d).unwrap_or_else(|| {
            let facts = IdFacts {
                kname: &d.kname,
                syspath: sys.map_or("", |s| &s.syspath),
                ata: ata.clone(),
                mmc_name: sys.and_then(|s| s.card_name.as_deref()),
                mmc_serial: sys.and_then(|s| s.serial.as_deref()),
                wwn: wwn.as_deref(),
            };
            let path_id = sys.and_then(|s| sysfs::path_id(&s.syspath, &self.raw.ata_ports));
            (
                sysfs::by_id_names(&facts),
                path_id
                    .map(|p| sysfs::by_path_names(&d.kname, &p))
                    .unwrap_or_default(),
            )
        });
        let table = self.table(d);
        let logical_sector_size = d.log_sec.unwrap_or(512);
        let partitions = d
            .children
            .iter()
            .filter_map(|k| self.device(k))
            .filter(|c| c.kind == "part")
            .map(|p| self.partition(d, p, &table, logical_sector_size, (&by_id, &by_path)))
            .collect();
        Disk {
            name: d.kname.clone(),
            path: d.path.clone(),
            size_bytes: d.size,
            logical_sector_size,
            physical_sector_size: d.phy_sec.unwrap_or(logical_sector_size),
            model: ata
                .as_ref()
                .map(|a| a.model.clone())
                .or_else(|| d.model.clone())
                .or_else(|| sys_text(|s| &s.model))
                .or_else(|| sys_text(|s| &s.card_name)),
            serial: ata
                .as_ref()
                .map(|a| a.serial.clone())
                .filter(|s| !s.is_empty())
                .or_else(|| d.serial.clone())
                .or_else(|| sys_text(|s| &s.serial)),
            wwn,
            by_path,
            by_id,
            removable: d.removable,
            read_only: d.read_only,
            table,
            signature: self.signature(d),
            partitions,
            holders: self.holders(d),
            mountpoints: self.mountpoints(d),
            unreadable: self.unreadable(d),
        }
    }

    fn partition(
        &self,
        disk: &LsblkDevice,
        p: &LsblkDevice,
        table: &Table,
        lb: u32,
        names: (&[String], &[String]),
    ) -> Partition {
        let sys = self.sysfs.get(p.kname.as_str());
        let entry = self.blkid_entry(p);
        let part_key = |k: &str| entry.and_then(|e| e.get(k)).map(str::to_string);
        let number = sys
            .and_then(|s| s.partition)
            .or_else(|| part_key("PART_ENTRY_NUMBER")?.parse().ok())
            .or_else(|| {
                p.kname
                    .strip_prefix(&disk.kname)?
                    .trim_start_matches('p')
                    .parse()
                    .ok()
            })
            .unwrap_or(0);
        let gpt = match table {
            Table::Gpt(g) => g.entries.iter().find(|e| e.number == number),
            _ => None,
        };
        let start = p
            .start
            .or_else(|| sys.and_then(|s| s.start))
            .or_else(|| part_key("PART_ENTRY_OFFSET")?.parse().ok())
            .or_else(|| gpt.map(|g| g.first_lba * u64::from(lb / 512)));
        let (by_id, by_path) = self.links(p).unwrap_or_else(|| {
            (
                sysfs::partition_names(names.0, number),
                sysfs::partition_names(names.1, number),
            )
        });
        Partition {
            number,
            name: p.kname.clone(),
            path: p.path.clone(),
            start_sector: start.unwrap_or(0),
            size_bytes: p.size,
            part_uuid: part_key("PART_ENTRY_UUID")
                .or_else(|| p.partuuid.clone())
                .or_else(|| gpt.map(|g| g.part_guid.to_lowercase())),
            part_label: part_key("PART_ENTRY_NAME")
                .or_else(|| p.partlabel.clone())
                .or_else(|| gpt.map(|g| g.name.clone()).filter(|n| !n.is_empty())),
            part_type: part_key("PART_ENTRY_TYPE")
                .or_else(|| p.parttype.clone())
                .or_else(|| gpt.map(|g| g.type_guid.to_lowercase())),
            by_path,
            by_id,
            signature: self.signature(p),
            holders: self.holders(p),
            mountpoints: self.mountpoints(p),
            unreadable: self.unreadable(p),
        }
    }
}

/// The full ATA identity: from the IDENTIFY page, else from INQUIRY's model when it is
/// short enough not to have been cut at 16 characters, with the VPD 0x80 serial.
fn ata_identity(s: &SysBlock) -> Option<AtaIdentity> {
    if let Some(id) = s
        .vpd_pg89
        .as_deref()
        .and_then(sysfs::ata_identity_from_vpd89)
    {
        return Some(id);
    }
    let model = s.model.as_deref()?.trim();
    let is_ata = s.vendor.as_deref().map(str::trim) == Some("ATA");
    if !is_ata || model.is_empty() || model.len() >= 16 {
        return None;
    }
    let serial = s.vpd_pg80.as_deref().and_then(sysfs::serial_from_vpd80)?;
    Some(AtaIdentity {
        model: model.to_string(),
        serial,
        wwn: s.wwid.as_deref().and_then(sysfs::wwn_from_wwid),
    })
}

mod stack;
use stack::zpools;

#[cfg(test)]
mod tests;

#[cfg(test)]
mod failures;
