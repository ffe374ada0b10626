//! The layers stacked on disks: md arrays, LUKS containers, btrfs filesystems, zpools.

use std::collections::BTreeMap;

use super::*;

impl Ctx<'_> {
    pub(super) fn md_arrays(&self) -> Result<Vec<MdArray>, ProbeError> {
        let Some(text) = &self.raw.mdstat else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for entry in parse_mdstat(text)? {
            let path = format!("/dev/{}", entry.name);
            let detail = captured(&self.raw.md_detail, &path)
                .map(|c| parse_detail_export(&c.stdout))
                .transpose()?
                .unwrap_or_default();
            let members = entry
                .members
                .iter()
                .map(|m| {
                    let device = format!("/dev/{}", m.name);
                    // mdadm keys members by their sysfs name, non-alphanumerics as `_`.
                    let key: String = format!("dev-{}", m.name)
                        .chars()
                        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                        .collect();
                    let role = detail
                        .members
                        .iter()
                        .find(|d| d.device.as_deref() == Some(device.as_str()) || d.key == key)
                        .and_then(|d| d.role.clone());
                    let state = match (m.flags.is_empty(), role.as_deref()) {
                        (false, _) => m.state().to_string(),
                        (true, Some(r @ ("spare" | "faulty" | "journal"))) => r.to_string(),
                        (true, _) => "active".to_string(),
                    };
                    MdMember {
                        device,
                        role: role.and_then(|r| r.parse().ok()),
                        state,
                    }
                })
                .collect();
            let dev = self.device(&entry.name);
            let array_state = self
                .sysfs
                .get(entry.name.as_str())
                .and_then(|s| s.md_array_state.as_deref());
            out.push(MdArray {
                name: detail.short_name(),
                uuid: detail.uuid.clone().unwrap_or_default(),
                level: detail
                    .level
                    .clone()
                    .or_else(|| entry.level.clone())
                    .unwrap_or_else(|| "unknown".into()),
                metadata: detail.metadata.clone(),
                raid_devices: entry
                    .slots
                    .map(|(n, _)| n)
                    .or(detail.devices)
                    .unwrap_or(entry.members.len() as u32),
                members,
                state: md_state(&entry, array_state),
                size_bytes: dev.map_or(0, |d| d.size),
                signature: dev.and_then(|d| self.signature(d)),
                holders: dev.map(|d| self.holders(d)).unwrap_or_default(),
                mountpoints: dev.map(|d| self.mountpoints(d)).unwrap_or_default(),
                unreadable: dev.and_then(|d| self.unreadable(d)),
                path,
            });
        }
        Ok(out)
    }

    pub(super) fn luks(&self) -> Result<Vec<Luks>, ProbeError> {
        let mut out = Vec::new();
        for d in &self.devices {
            let Some(sig) = self.signature(d).filter(|s| s.fstype == "crypto_LUKS") else {
                continue;
            };
            let (version, uuid, label) = match captured(&self.raw.luks_dump, &d.path) {
                Some(c) => {
                    let h = parse_luks_dump(&c.stdout)?;
                    (h.version, h.uuid, h.label)
                }
                None => (
                    sig.version
                        .as_deref()
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0),
                    sig.uuid.unwrap_or_default(),
                    sig.label,
                ),
            };
            let open = self.open_mapping(d, &uuid);
            out.push(Luks {
                device: d.path.clone(),
                version,
                uuid,
                label,
                open_as: open.as_ref().map(|(name, _)| name.clone()),
                open: open.map(|(_, m)| m),
            });
        }
        Ok(out)
    }

    /// The dm-crypt mapping of a LUKS device: the dm device whose uuid names this LUKS
    /// UUID (and, when sysfs lists them, has the device among its slaves); without sysfs,
    /// a `crypt` child in lsblk's tree.
    fn open_mapping(&self, d: &LsblkDevice, uuid: &str) -> Option<(String, Mapped)> {
        let from_sysfs = self.raw.sysfs.iter().find_map(|s| {
            let dm = parse_dm_crypt_uuid(s.dm_uuid.as_deref()?)?;
            let backed_by_d = s.slaves.is_empty() || s.slaves.contains(&d.kname);
            (same_luks_uuid(uuid, &dm) && backed_by_d).then(|| (dm.name, s.name.clone()))
        });
        let (name, kname) = from_sysfs.or_else(|| {
            let child = d
                .children
                .iter()
                .filter_map(|k| self.device(k))
                .find(|c| c.kind == "crypt")?;
            Some((child.name.clone(), child.kname.clone()))
        })?;
        let dev = self.device(&kname);
        let mapped = Mapped {
            path: format!("/dev/mapper/{name}"),
            signature: dev.and_then(|m| self.signature(m)),
            holders: dev.map(|m| self.holders(m)).unwrap_or_default(),
            mountpoints: dev.map(|m| self.mountpoints(m)).unwrap_or_default(),
            unreadable: dev.and_then(|m| self.unreadable(m)),
            kname,
        };
        Some((name, mapped))
    }

    pub(super) fn btrfs(&self) -> Result<Vec<BtrfsFs>, ProbeError> {
        let subvolumes = |uuid: &str| -> Result<Vec<String>, ProbeError> {
            captured(&self.raw.btrfs_subvolumes, uuid)
                .map(|c| parse_subvolume_list(&c.stdout))
                .transpose()
                .map(Option::unwrap_or_default)
        };
        if let Some(text) = &self.raw.btrfs_show {
            return parse_filesystem_show(text)?
                .into_iter()
                .map(|fs| {
                    Ok(BtrfsFs {
                        subvolumes: subvolumes(&fs.uuid)?,
                        uuid: fs.uuid,
                        label: fs.label,
                        devices: fs.devices,
                        devids: fs.devids,
                        total_devices: fs.total_devices,
                    })
                })
                .collect();
        }
        // No btrfs-progs on the target: group blkid's btrfs signatures by filesystem UUID
        // (how many devices the filesystem should have is then unknown; count the present).
        let mut by_uuid: BTreeMap<String, BtrfsFs> = BTreeMap::new();
        for d in &self.devices {
            let Some(sig) = self.signature(d).filter(|s| s.fstype == "btrfs") else {
                continue;
            };
            let Some(uuid) = sig.uuid else { continue };
            let fs = by_uuid.entry(uuid.clone()).or_insert_with(|| BtrfsFs {
                uuid: uuid.clone(),
                label: sig.label,
                devices: Vec::new(),
                devids: Vec::new(),
                total_devices: 0,
                subvolumes: Vec::new(),
            });
            fs.devices.push(d.path.clone());
            fs.total_devices += 1;
        }
        by_uuid
            .into_values()
            .map(|fs| {
                Ok(BtrfsFs {
                    subvolumes: subvolumes(&fs.uuid)?,
                    ..fs
                })
            })
            .collect()
    }
}

pub(super) fn zpools(raw: &RawProbe) -> Result<Vec<Zpool>, ProbeError> {
    let Some(list) = &raw.zpool_list else {
        return Ok(Vec::new());
    };
    let status = raw
        .zpool_status
        .as_deref()
        .map(parse_zpool_status)
        .transpose()?
        .unwrap_or_default();
    let datasets = raw
        .zfs_list
        .as_deref()
        .map(parse_zfs_list)
        .transpose()?
        .unwrap_or_default();
    parse_zpool_list(list)?
        .into_iter()
        .map(|(name, health)| {
            let leaves = status
                .iter()
                .find(|(pool, _)| *pool == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            let vdevs = leaves.iter().map(|l| l.path.clone()).collect();
            // What a pool is degraded by; a spare waiting (AVAIL) or in use is not.
            let unavailable = leaves
                .iter()
                .filter(|l| !matches!(l.state.as_str(), "ONLINE" | "AVAIL" | "INUSE"))
                .map(|l| l.path.clone())
                .collect();
            let prefix = format!("{name}/");
            let datasets = datasets
                .iter()
                .filter(|d| **d == name || d.starts_with(&prefix))
                .cloned()
                .collect();
            Ok(Zpool {
                name,
                health,
                vdevs,
                unavailable,
                datasets,
            })
        })
        .collect()
}
