//! The top-level collections besides disks: md arrays, ZFS pools and their
//! datasets, and tmpfs (`nodev`).

use super::super::decode::Ctx;
use super::super::decode::join;
use super::super::model::*;
use super::super::names;
use super::super::size::{self, Size};
use super::super::yaml::{Kind, Node};
use super::fs::mountpoint;
use super::{checked, checked_at, content, fixed_type, mounted, same_name, with_hooks};

pub(super) fn md_array(cx: &mut Ctx, name: &str, site: Site, node: &Node) -> Option<MdArray> {
    let keys = with_hooks(&["type", "name", "level", "metadata", "content", "extraArgs"]);
    let o = cx.obj(node, &site.path, &keys)?;
    fixed_type(cx, &o, "mdadm");
    same_name(cx, &o, "name", name);
    let hooks = cx.hooks(
        &o,
        Ok(()),
        Err((
            "an array has no mount of its own",
            "put the hook on the filesystem it holds",
        )),
    );
    let good_name = checked(cx, site.pos, &site.path, names::md_array(name));
    // disko's default level is 1.
    let level = cx.int(&o, "level").unwrap_or(At {
        v: 1,
        pos: site.pos,
        path: o.path_of("level"),
    });
    if !MD_LEVELS.contains(&(level.v as u32)) || level.v < 0 {
        cx.error(
            level.pos,
            &level.path,
            format!("RAID level {} is not supported", level.v),
            Some("levels: 0, 1, 5, 6, 10".into()),
        );
        return None;
    }
    let metadata = cx
        .opt_string(&o, "metadata")
        .map(|m| m.v)
        .unwrap_or_else(|| "default".into());
    const META: [&str; 6] = ["default", "0.90", "1.0", "1.1", "1.2", "1"];
    if !META.contains(&metadata.as_str()) {
        let k = o.key("metadata").expect("present");
        cx.error(
            k.pos,
            &o.path_of("metadata"),
            format!("unknown md metadata `{metadata}`"),
            Some("one of: 1.2 (default), 1.1, 1.0, 0.90".into()),
        );
    }
    let content = o
        .get("content")
        .and_then(|n| content(cx, n, &o.path_of("content"), name));
    Some(MdArray {
        name: good_name?,
        site,
        level: At {
            v: level.v as u32,
            pos: level.pos,
            path: level.path,
        },
        metadata,
        extra_args: cx.args(&o, "extraArgs"),
        content,
        hooks,
    })
}

pub(super) fn zpool(cx: &mut Ctx, name: &str, site: Site, node: &Node) -> Option<Zpool> {
    let keys = with_hooks(&[
        "type",
        "name",
        "mode",
        "options",
        "rootFsOptions",
        "mountpoint",
        "mountOptions",
        "datasets",
    ]);
    let o = cx.obj(node, &site.path, &keys)?;
    fixed_type(cx, &o, "zpool");
    same_name(cx, &o, "name", name);
    let hooks = cx.hooks(&o, Ok(()), mounted(&o));
    let good_name = checked(cx, site.pos, &site.path, names::zpool(name));
    let mode = match o.get("mode") {
        None => At {
            v: ZMode::Stripe,
            pos: site.pos,
            path: o.path_of("mode"),
        },
        Some(n) if matches!(n.kind, Kind::Map(_)) => {
            cx.error(
                n.pos,
                &o.path_of("mode"),
                "zpool vdev topologies (`mode.topology`) are not supported yet",
                Some("use a single vdev: mode: mirror, raidz1, raidz2 or raidz3".into()),
            );
            // Keep the pool so its members do not also report "no zpool named".
            At {
                v: ZMode::Stripe,
                pos: n.pos,
                path: o.path_of("mode"),
            }
        }
        Some(n) => {
            let s = cx.string(n, &o.path_of("mode"))?;
            let v = match s.v.as_str() {
                "" | "stripe" => ZMode::Stripe,
                "mirror" => ZMode::Mirror,
                "raidz" | "raidz1" => ZMode::Raidz1,
                "raidz2" => ZMode::Raidz2,
                "raidz3" => ZMode::Raidz3,
                other => {
                    cx.error(
                        s.pos,
                        &s.path,
                        format!("unknown zpool mode `{other}`"),
                        Some("one of: \"\" (stripe), mirror, raidz1, raidz2, raidz3".into()),
                    );
                    return None;
                }
            };
            At {
                v,
                pos: s.pos,
                path: s.path,
            }
        }
    };
    let mut datasets = Vec::new();
    if let Some(n) = o.get("datasets") {
        let dpath = o.path_of("datasets");
        for (k, v) in cx.named(n, &dpath) {
            let site = Site {
                pos: k.pos,
                path: join(&dpath, &k.name),
            };
            if let Some(d) = dataset(cx, name, &k.name, site, v) {
                datasets.push(d);
            }
        }
    }
    Some(Zpool {
        name: good_name?,
        site,
        mode,
        options: cx.props(&o, "options"),
        root_fs_options: cx.props(&o, "rootFsOptions"),
        mountpoint: mountpoint(cx, &o),
        mount_options: cx.strings(&o, "mountOptions"),
        datasets,
        hooks,
    })
}

fn dataset(cx: &mut Ctx, pool: &str, name: &str, site: Site, node: &Node) -> Option<Dataset> {
    let keys = with_hooks(&[
        "type",
        "name",
        "options",
        "mountpoint",
        "mountOptions",
        "size",
        "content",
        "extraArgs",
    ]);
    let o = cx.obj(node, &site.path, &keys)?;
    let zvol = matches!(o.get("type").map(|n| &n.kind), Some(Kind::Scalar { value, .. }) if value == "zfs_volume");
    let hooks = cx.hooks(
        &o,
        Ok(()),
        if zvol {
            Err((
                "a volume has no mount of its own",
                "put the hook on the filesystem it holds",
            ))
        } else {
            mounted(&o)
        },
    );
    same_name(cx, &o, "name", name);
    let good_name = checked(cx, site.pos, &site.path, names::dataset(pool, name));
    let t = cx.req_string(&o, "type", "zfs_fs or zfs_volume")?;
    let kind = match t.v.as_str() {
        "zfs_fs" => DatasetKind::ZfsFs {
            mountpoint: mountpoint(cx, &o),
            mount_options: cx.strings(&o, "mountOptions"),
            options: cx.props(&o, "options"),
        },
        "zfs_volume" => {
            let Some(size) = cx.plain_size(&o, "size") else {
                if o.get("size").is_none() && !o.lost_keys() {
                    cx.error(
                        o.pos,
                        &site.path,
                        "missing `size`",
                        Some("a volume needs a size, e.g. size: 10G".into()),
                    );
                }
                return None;
            };
            let props = cx.props(&o, "options");
            zvol_size(cx, &size, &props)?;
            DatasetKind::ZfsVolume {
                size,
                options: props,
                content: o
                    .get("content")
                    .and_then(|n| content(cx, n, &o.path_of("content"), name))
                    .map(Box::new),
            }
        }
        other => {
            cx.error(
                t.pos,
                &t.path,
                format!("unknown dataset type `{other}`"),
                Some("zfs_fs or zfs_volume".into()),
            );
            return None;
        }
    };
    Some(Dataset {
        name: good_name?,
        site,
        kind,
        hooks,
    })
}

/// ZFS's default `volblocksize` (16 KiB since OpenZFS 2.2; 8 KiB before, which divides it).
const VOLBLOCKSIZE: u64 = 16 << 10;

/// A volume's size is fixed bytes (a percentage of what?), not zero, and a
/// multiple of its block size, or `zfs create -V` refuses it after the wipes.
fn zvol_size(cx: &mut Ctx, size: &At<Size>, props: &[(String, String)]) -> Option<u64> {
    let refuse = |cx: &mut Ctx, msg: String, hint: &str| {
        cx.error(size.pos, &size.path, msg, Some(hint.into()));
        None
    };
    let bytes = match size.v {
        Size::Percent(p) => {
            return refuse(
                cx,
                format!("a volume's size must be fixed, not {p}%"),
                "write its size, e.g. size: 10G",
            );
        }
        Size::Bytes(b) => b,
        // Volumes have 512-byte sectors.
        Size::Sectors(s) => match s.checked_mul(512) {
            Some(b) => b,
            None => {
                return refuse(
                    cx,
                    format!("`{s}s` is too large"),
                    "sizes must fit in 64 bits (16 EiB)",
                );
            }
        },
    };
    if bytes == 0 {
        return refuse(
            cx,
            "a volume's size is zero".into(),
            "write its size, e.g. size: 10G",
        );
    }
    let block = props
        .iter()
        .find(|(k, _)| k == "volblocksize")
        .and_then(|(_, v)| match size::parse(v) {
            Ok(p) => match p.size {
                Size::Bytes(b) if b > 0 => Some(b),
                _ => None,
            },
            // zfs takes a bare number as bytes.
            Err(_) => v.parse::<u64>().ok().filter(|b| *b > 0),
        })
        .unwrap_or(VOLBLOCKSIZE);
    if !bytes.is_multiple_of(block) {
        return refuse(
            cx,
            format!(
                "a volume of {} is not a multiple of its block size ({})",
                size::human(bytes),
                size::human(block)
            ),
            "zfs create -V refuses it; round the size to the block size",
        );
    }
    Some(bytes)
}

/// Filesystems a `nodev` entry may mount.
const NODEV_TYPES: [&str; 2] = ["tmpfs", "ramfs"];

pub(super) fn nodev(cx: &mut Ctx, name: &str, site: Site, node: &Node) -> Option<Nodev> {
    let keys = with_hooks(&["type", "fsType", "device", "mountpoint", "mountOptions"]);
    let o = cx.obj(node, &site.path, &keys)?;
    fixed_type(cx, &o, "nodev");
    let hooks = cx.hooks(
        &o,
        Err(("a nodev filesystem has no create step", "use preMountHook")),
        Ok(()),
    );
    checked(cx, site.pos, &site.path, names::subject("nodev", name))?;
    // Only filesystems that have no device: with any other type, `device`
    // would mount a real device that the layout does not own.
    let fs_type = match cx.opt_string(&o, "fsType") {
        None => "tmpfs".to_string(),
        Some(t) if NODEV_TYPES.contains(&t.v.as_str()) => t.v,
        Some(t) => {
            cx.error(
                t.pos,
                &t.path,
                format!(
                    "`{}` is not a filesystem without a device",
                    names::shown(&t.v)
                ),
                Some(format!(
                    "nodev mounts are one of: {}",
                    NODEV_TYPES.join(", ")
                )),
            );
            return None;
        }
    };
    if let Some(d) = cx.opt_string(&o, "device")
        && d.v.starts_with('/')
    {
        cx.error(
            d.pos,
            &d.path,
            format!(
                "a nodev mount has no device; `{}` would mount a device outside the layout",
                names::shown(&d.v)
            ),
            Some("leave `device` out (it is `none`), or declare the disk under `disk:`".into()),
        );
        return None;
    }
    // disko's default mountpoint is the attribute name.
    let mountpoint = cx.opt_string(&o, "mountpoint").unwrap_or(At {
        v: name.to_string(),
        pos: site.pos,
        path: o.path_of("mountpoint"),
    });
    let mountpoint = checked_at(cx, Some(mountpoint), names::mountpoint)?;
    Some(Nodev {
        name: name.to_string(),
        site,
        fs_type,
        device: cx
            .opt_string(&o, "device")
            .map(|s| s.v)
            .unwrap_or_else(|| "none".into()),
        mountpoint,
        mount_options: cx.strings(&o, "mountOptions"),
        hooks,
    })
}
