//! What `nasstrap probe` prints: a table for people, and `--as-layout`, a
//! layout that describes what is there (curtin's block-discover; disko #728),
//! so `probe --as-layout > l.yaml; nasstrap diff l.yaml` is empty.

use super::{Disk, Observed, Signature, Table};
use crate::layout::parttype;
use crate::layout::size::human;
use std::fmt::Write;

fn sig(s: &Option<Signature>) -> String {
    match s {
        None => "-".into(),
        Some(s) => {
            let mut o = s.fstype.clone();
            if let Some(l) = &s.label {
                o.push_str(&format!(" '{l}'"));
            }
            o
        }
    }
}

/// The probe for people.
pub fn text(obs: &Observed) -> String {
    let mut s = String::new();
    for d in &obs.disks {
        let ident = [d.model.as_deref(), d.serial.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        let _ = writeln!(
            s,
            "{}  {}  {}-byte sectors  {}{}{}",
            d.path,
            human(d.size_bytes),
            d.logical_sector_size,
            if ident.is_empty() {
                "(no model/serial)"
            } else {
                &ident
            },
            if d.removable { "  removable" } else { "" },
            if d.read_only { "  read-only" } else { "" }
        );
        for l in d.by_path.iter().chain(&d.by_id) {
            let _ = writeln!(s, "    {l}");
        }
        match &d.table {
            Table::None => {}
            Table::Mbr => {
                let _ = writeln!(s, "  MBR partition table");
            }
            Table::Unknown(t) => {
                let _ = writeln!(s, "  {t} partition table");
            }
            Table::Gpt(g) => {
                let _ = writeln!(
                    s,
                    "  GPT {}{}",
                    g.disk_guid,
                    if g.primary_ok && g.backup_ok {
                        String::new()
                    } else {
                        format!(
                            "  (primary {}, backup {})",
                            ok(g.primary_ok),
                            ok(g.backup_ok)
                        )
                    }
                );
                for e in &g.entries {
                    let p = d.partitions.iter().find(|p| p.number == e.number);
                    let _ = writeln!(
                        s,
                        "  p{:<3} sectors {:>11}..{:<11} {:>9}  {:<5} {:<20} {}{}",
                        e.number,
                        e.first_lba,
                        e.last_lba,
                        human((e.last_lba - e.first_lba + 1) * d.logical_sector_size as u64),
                        parttype::short_name(&e.type_guid),
                        e.name,
                        sig(&p.and_then(|p| p.signature.clone())),
                        p.map(|p| p
                            .mountpoints
                            .iter()
                            .map(|m| format!("  on {m}"))
                            .collect::<String>())
                            .unwrap_or_default()
                    );
                }
            }
        }
        if d.signature.is_some() {
            let _ = writeln!(s, "  whole disk: {}", sig(&d.signature));
        }
    }
    for a in &obs.md_arrays {
        let _ = writeln!(
            s,
            "md {} ({}) {} {:?}: {}",
            a.path,
            a.name.as_deref().unwrap_or("-"),
            a.level,
            a.state,
            a.members
                .iter()
                .map(|m| m.device.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
    for l in &obs.luks {
        let _ = writeln!(
            s,
            "luks{} {} {}",
            l.version,
            l.device,
            l.open_as
                .as_deref()
                .map(|n| format!("open as /dev/mapper/{n}"))
                .unwrap_or_else(|| "closed".into())
        );
    }
    s
}

fn ok(b: bool) -> &'static str {
    if b { "ok" } else { "damaged" }
}

fn q(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialize")
}

/// The name the layout gives a disk: the `--disk` mapping's name, else the kernel name.
fn disk_name<'a>(d: &'a Disk, map: &'a [(String, String)]) -> &'a str {
    map.iter()
        .find(|(_, dev)| d.answers_to(dev))
        .map(|(n, _)| n.as_str())
        .unwrap_or(d.name.as_str())
}

fn fs_content(
    obs: &Observed,
    device: &str,
    s: &Signature,
    mount_root: &str,
    indent: &str,
) -> String {
    let mps: Vec<&super::Mount> = obs.mounts.iter().filter(|m| m.source == device).collect();
    let strip = |t: &str| -> String {
        if t == mount_root {
            "/".into()
        } else {
            t.strip_prefix(mount_root)
                .filter(|r| r.starts_with('/'))
                .unwrap_or(t)
                .to_string()
        }
    };
    match s.fstype.as_str() {
        "ext4" | "ext3" | "ext2" | "xfs" | "vfat" => {
            let mut o = format!("{indent}type: filesystem\n{indent}format: {}\n", s.fstype);
            if let Some(l) = &s.label {
                let _ = writeln!(
                    o,
                    "{indent}extraArgs: [{}, {}]",
                    if s.fstype == "vfat" { "-n" } else { "-L" },
                    q(l)
                );
            }
            if let Some(m) = mps.first() {
                let _ = writeln!(o, "{indent}mountpoint: {}", q(&strip(&m.target)));
            }
            o
        }
        "swap" => format!("{indent}type: swap\n"),
        "btrfs" => {
            let mut o = format!("{indent}type: btrfs\n");
            let fs = obs
                .btrfs
                .iter()
                .find(|b| s.uuid.as_deref() == Some(b.uuid.as_str()));
            let mut args: Vec<String> = Vec::new();
            if let Some(l) = &s.label {
                args.extend(["-L".into(), q(l)]);
            }
            if let Some(fs) = fs {
                for other in fs.devices.iter().filter(|d| d.as_str() != device) {
                    if let Some(label) = obs
                        .disks
                        .iter()
                        .flat_map(|d| d.partitions.iter().map(move |p| (d, p)))
                        .find(|(_, p)| &p.path == other)
                        .and_then(|(d, p)| match &d.table {
                            Table::Gpt(g) => g
                                .entries
                                .iter()
                                .find(|e| e.number == p.number)
                                .map(|e| e.name.clone()),
                            _ => None,
                        })
                    {
                        args.push(q(&format!("/dev/disk/by-partlabel/{label}")));
                    }
                }
            }
            if !args.is_empty() {
                let _ = writeln!(o, "{indent}extraArgs: [{}]", args.join(", "));
            }
            if let Some(fs) = fs
                && !fs.subvolumes.is_empty()
            {
                let _ = writeln!(o, "{indent}subvolumes:");
                for sv in &fs.subvolumes {
                    let _ = write!(o, "{indent}  {}: {{", q(sv));
                    let m = obs.mounts.iter().find(|m| {
                        fs.devices.contains(&m.source)
                            && m.options.iter().any(|x| {
                                x.trim_start_matches("subvol=").trim_start_matches('/')
                                    == sv.trim_start_matches('/')
                                    && x.starts_with("subvol=")
                            })
                    });
                    if let Some(m) = m {
                        let _ = write!(o, " mountpoint: {}", q(&strip(&m.target)));
                    }
                    let _ = writeln!(o, " }}");
                }
            }
            o
        }
        other => format!(
            "{indent}# {other}: not described yet\n{indent}type: filesystem\n{indent}format: {other}\n"
        ),
    }
}

/// A layout describing `obs` (only the disks in `map`, when it is not empty).
pub fn as_layout(obs: &Observed, map: &[(String, String)]) -> String {
    as_layout_at(obs, map, "/mnt")
}

/// As `as_layout`, with mountpoints taken relative to `mount_root`.
pub fn as_layout_at(obs: &Observed, map: &[(String, String)], mount_root: &str) -> String {
    let mut s = String::from(
        "# Written by `nasstrap probe --as-layout`: what is on these disks now.\ndisk:\n",
    );
    let mut md = String::new();
    // Btrfs members named by another member's extraArgs carry no content of their own.
    let mut claimed: Vec<String> = Vec::new();
    for fs in &obs.btrfs {
        claimed.extend(fs.devices.iter().skip(1).cloned());
    }
    for d in &obs.disks {
        let name = disk_name(d, map);
        if !map.is_empty() && !map.iter().any(|(n, _)| n == name) {
            continue;
        }
        let _ = writeln!(s, "  {}:\n    device: {}", q(name), q(&d.path));
        let Table::Gpt(g) = &d.table else {
            if let Some(sig) = &d.signature {
                let _ = write!(
                    s,
                    "    content:\n{}",
                    fs_content(obs, &d.path, sig, mount_root, "      ")
                );
            }
            continue;
        };
        let _ = writeln!(s, "    content:\n      type: gpt\n      partitions:");
        for e in &g.entries {
            let key = e
                .name
                .strip_prefix(&format!("disk-{name}-"))
                .filter(|k| !k.is_empty())
                .map(str::to_string)
                .unwrap_or_else(|| format!("p{}", e.number));
            let _ = writeln!(
                s,
                "        {}:\n          label: {}\n          type: {}\n          start: {}s\n          size: {}s\n          priority: {}",
                q(&key),
                q(&e.name),
                parttype::short_name(&e.type_guid),
                e.first_lba,
                e.last_lba - e.first_lba + 1,
                e.number
            );
            if e.attributes & 4 != 0 {
                let _ = writeln!(s, "          bootable: true");
            }
            let bits: Vec<String> = (0..64)
                .filter(|b| *b != 2 && e.attributes & (1 << b) != 0)
                .map(|b: u32| b.to_string())
                .collect();
            if !bits.is_empty() {
                let _ = writeln!(s, "          attributes: [{}]", bits.join(", "));
            }
            let Some(p) = d.partitions.iter().find(|p| p.number == e.number) else {
                continue;
            };
            if claimed.contains(&p.path) {
                continue;
            }
            let Some(sig) = &p.signature else { continue };
            match sig.fstype.as_str() {
                "linux_raid_member" => {
                    let arr = obs
                        .md_arrays
                        .iter()
                        .find(|a| a.members.iter().any(|m| m.device == p.path));
                    let an = arr
                        .and_then(|a| a.name.clone())
                        .or_else(|| {
                            sig.label
                                .as_ref()
                                .map(|l| l.rsplit(':').next().unwrap_or(l).to_string())
                        })
                        .unwrap_or_else(|| "md".into());
                    let _ = writeln!(s, "          content: {{ type: mdraid, name: {} }}", q(&an));
                    if let Some(a) = arr
                        && !md.contains(&format!("  {}:", q(&an)))
                    {
                        let level = a.level.trim_start_matches("raid");
                        let _ = writeln!(
                            md,
                            "  {}:\n    level: {}\n    metadata: {}",
                            q(&an),
                            level,
                            q(a.metadata.as_deref().unwrap_or("default"))
                        );
                        if let Some(inner) = &a.signature {
                            let _ = write!(
                                md,
                                "    content:\n{}",
                                fs_content(obs, &a.path, inner, mount_root, "      ")
                            );
                        }
                    }
                }
                "crypto_LUKS" => {
                    let l = obs.luks.iter().find(|l| l.device == p.path);
                    let ln = l
                        .and_then(|l| l.open_as.clone())
                        .unwrap_or_else(|| format!("crypt-{key}"));
                    let _ = writeln!(
                        s,
                        "          content:\n            type: luks\n            name: {}\n            askPassword: true",
                        q(&ln)
                    );
                    if let Some(inner) = l
                        .and_then(|l| l.open.as_ref())
                        .and_then(|m| m.signature.as_ref())
                    {
                        let dev = format!("/dev/mapper/{ln}");
                        let _ = write!(
                            s,
                            "            content:\n{}",
                            fs_content(obs, &dev, inner, mount_root, "              ")
                        );
                    }
                }
                "zfs_member" => {
                    let _ = writeln!(
                        s,
                        "          content: {{ type: zfs, pool: {} }}",
                        q(sig.label.as_deref().unwrap_or("pool"))
                    );
                }
                _ => {
                    let _ = write!(
                        s,
                        "          content:\n{}",
                        fs_content(obs, &p.path, sig, mount_root, "            ")
                    );
                }
            }
        }
    }
    if !md.is_empty() {
        s.push_str("mdadm:\n");
        s.push_str(&md);
    }
    s
}
