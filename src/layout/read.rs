//! The layout vocabulary: tree → model. Mirrors disko's option names so a
//! disko user translates 1:1 and disko's `nix eval --json` output loads as-is.

use super::decode::{Ctx, Obj, join};
use super::diag::did_you_mean;
use super::model::*;
use super::parttype;
use super::size::{self, Size};
use super::yaml::{Kind, Node};

/// disko's hook options: accepted only empty (their default).
pub(crate) const HOOKS: [&str; 6] = [
    "preCreateHook",
    "postCreateHook",
    "preMountHook",
    "postMountHook",
    "preUnmountHook",
    "postUnmountHook",
];

/// Content types nasstrap reads.
const CONTENT_TYPES: [&str; 7] = [
    "gpt",
    "filesystem",
    "mdraid",
    "luks",
    "btrfs",
    "swap",
    "zfs",
];
/// disko types nasstrap does not support yet: refused by name, never skipped.
const UNSUPPORTED: [&str; 7] = [
    "lvm_pv",
    "lvm_vg",
    "bcachefs",
    "bcachefs_filesystem",
    "table",
    "zfs_volume_legacy",
    "btrfs_legacy",
];

fn with_hooks<'a>(keys: &[&'a str]) -> Vec<&'a str> {
    let mut v = keys.to_vec();
    v.extend_from_slice(&HOOKS);
    v
}

/// Read the whole layout. Returns `None` when the root is unusable.
pub fn layout(cx: &mut Ctx, root: &Node) -> Option<Layout> {
    let allowed = [
        "board",
        "disk",
        "mdadm",
        "zpool",
        "nodev",
        "lvm_vg",
        "bcachefs_filesystems",
    ];
    let o = cx.obj(root, "", &allowed)?;
    let board = o.get("board").and_then(|n| {
        let s = cx.string(n, "board")?;
        match s.v.as_str() {
            "helios64" => Some(Board::Helios64),
            other => {
                cx.error(
                    s.pos,
                    "board",
                    format!("unknown board `{other}`"),
                    Some("known boards: helios64".into()),
                );
                None
            }
        }
    });
    for kind in ["lvm_vg", "bcachefs_filesystems"] {
        if let Some(n) = o.get(kind) {
            let entries = cx.named(n, kind);
            if let Some((k, _)) = entries.first() {
                cx.error(
                    k.pos,
                    &join(kind, &k.name),
                    format!("type `{kind}` is not supported by nasstrap yet"),
                    Some("supported: gpt, filesystem, mdraid/mdadm, luks, btrfs, swap, zfs/zpool, nodev".into()),
                );
            }
        }
    }
    let mut l = Layout {
        board,
        disks: Vec::new(),
        mdadm: Vec::new(),
        zpools: Vec::new(),
        nodev: Vec::new(),
    };
    if let Some(n) = o.get("disk") {
        for (k, v) in cx.named(n, "disk") {
            let site = Site {
                pos: k.pos,
                path: join("disk", &k.name),
            };
            if let Some(d) = disk(cx, &k.name, site, v) {
                l.disks.push(d);
            }
        }
    }
    if let Some(n) = o.get("mdadm") {
        for (k, v) in cx.named(n, "mdadm") {
            let site = Site {
                pos: k.pos,
                path: join("mdadm", &k.name),
            };
            if let Some(a) = md_array(cx, &k.name, site, v) {
                l.mdadm.push(a);
            }
        }
    }
    if let Some(n) = o.get("zpool") {
        for (k, v) in cx.named(n, "zpool") {
            let site = Site {
                pos: k.pos,
                path: join("zpool", &k.name),
            };
            if let Some(p) = zpool(cx, &k.name, site, v) {
                l.zpools.push(p);
            }
        }
    }
    if let Some(n) = o.get("nodev") {
        for (k, v) in cx.named(n, "nodev") {
            let site = Site {
                pos: k.pos,
                path: join("nodev", &k.name),
            };
            if let Some(x) = nodev(cx, &k.name, site, v) {
                l.nodev.push(x);
            }
        }
    }
    Some(l)
}

/// Check a `type:` field against the expected constant (disko writes e.g. `type: disk`).
fn fixed_type(cx: &mut Ctx, o: &Obj, want: &str) {
    if let Some(t) = cx.opt_string(o, "type")
        && t.v != want
    {
        cx.error(
            t.pos,
            &t.path,
            format!("expected `type: {want}` here, found `{}`", t.v),
            None,
        );
    }
}

/// A name field disko fills in from the key; if present it must agree.
fn same_name(cx: &mut Ctx, o: &Obj, key: &str, name: &str) {
    if let Some(n) = cx.opt_string(o, key)
        && n.v != name
    {
        cx.error(
            n.pos,
            &n.path,
            format!("`{key}: {}` differs from the key `{name}`", n.v),
            Some("remove it; the key is the name".into()),
        );
    }
}

fn disk(cx: &mut Ctx, name: &str, site: Site, node: &Node) -> Option<Disk> {
    let keys = with_hooks(&[
        "type",
        "device",
        "content",
        "expect",
        "firmware",
        "name",
        "imageName",
        "imageSize",
        "destroy",
    ]);
    let o = cx.obj(node, &site.path, &keys)?;
    fixed_type(cx, &o, "disk");
    same_name(cx, &o, "name", name);
    for h in HOOKS {
        cx.no_hook(&o, h);
    }
    let device = cx.req_string(
        &o,
        "device",
        "give the disk's device, e.g. /dev/disk/by-path/… or /dev/sda",
    )?;
    let expect = match o.get("expect") {
        Some(n) => expect(cx, n, &o.path_of("expect")),
        None => Expect::default(),
    };
    let mut firmware = Vec::new();
    if let Some(n) = o.get("firmware") {
        let path = o.path_of("firmware");
        match &n.kind {
            Kind::Seq(items) => {
                for (i, it) in items.iter().enumerate() {
                    if let Some(f) = firmware_region(cx, it, &format!("{path}[{i}]")) {
                        firmware.push(f);
                    }
                }
            }
            _ => cx.error(
                n.pos,
                &path,
                format!("expected a list of regions, found {}", n.describe()),
                None,
            ),
        }
    }
    let content = o
        .get("content")
        .and_then(|n| content(cx, n, &o.path_of("content"), name));
    let destroy = cx.boolean(&o, "destroy").unwrap_or(true);
    Some(Disk {
        name: name.to_string(),
        site,
        device,
        expect,
        firmware,
        content,
        destroy,
    })
}

fn expect(cx: &mut Ctx, node: &Node, path: &str) -> Expect {
    let Some(o) = cx.obj(node, path, &["size", "serial", "model"]) else {
        return Expect::default();
    };
    Expect {
        size: cx.size(&o, "size"),
        serial: cx.opt_string(&o, "serial"),
        model: cx.opt_string(&o, "model"),
    }
}

fn firmware_region(cx: &mut Ctx, node: &Node, path: &str) -> Option<Firmware> {
    let o = cx.obj(node, path, &["name", "offset", "max_size", "image"])?;
    let name = cx.req_string(&o, "name", "name the region, e.g. idbloader or u-boot")?;
    let offset = cx.plain_size(&o, "offset");
    let max_size = cx.plain_size(&o, "max_size");
    if offset.is_none() && o.get("offset").is_none() {
        cx.error(
            o.pos,
            path,
            "missing `offset`",
            Some("e.g. offset: 64s".into()),
        );
    }
    if max_size.is_none() && o.get("max_size").is_none() {
        cx.error(
            o.pos,
            path,
            "missing `max_size`",
            Some("e.g. max_size: 4MiB".into()),
        );
    }
    Some(Firmware {
        name: name.v,
        site: Site {
            pos: o.pos,
            path: path.to_string(),
        },
        offset: offset?,
        max_size: max_size?,
        image: cx.opt_string(&o, "image"),
    })
}

/// `disk` is the name of the disk the content sits on (for disko's default partition labels).
fn content(cx: &mut Ctx, node: &Node, path: &str, disk: &str) -> Option<Content> {
    let Kind::Map(entries) = &node.kind else {
        cx.error(
            node.pos,
            path,
            format!(
                "expected a mapping with a `type`, found {}",
                node.describe()
            ),
            None,
        );
        return None;
    };
    let Some((tk, tv)) = entries.iter().find(|(k, _)| k.name == "type") else {
        cx.error(
            node.pos,
            path,
            "missing `type`",
            Some(format!("one of: {}", CONTENT_TYPES.join(", "))),
        );
        return None;
    };
    let tpath = join(path, "type");
    let t = cx.string(tv, &tpath)?;
    let _ = tk;
    match t.v.as_str() {
        "gpt" => gpt(cx, node, path, disk).map(Content::Gpt),
        "filesystem" => filesystem(cx, node, path).map(Content::Filesystem),
        "mdraid" => {
            let o = cx.obj(node, path, &with_hooks(&["type", "name", "device"]))?;
            for h in HOOKS {
                cx.no_hook(&o, h);
            }
            let name = cx.req_string(
                &o,
                "name",
                "name the array in `mdadm:` this device belongs to",
            )?;
            Some(Content::Mdraid(MdMember { name }))
        }
        "luks" => luks(cx, node, path, disk).map(Content::Luks),
        "btrfs" => btrfs(cx, node, path).map(Content::Btrfs),
        "swap" => {
            let keys = with_hooks(&[
                "type",
                "device",
                "priority",
                "randomEncryption",
                "resumeDevice",
                "discardPolicy",
                "extraArgs",
                "mountOptions",
            ]);
            let o = cx.obj(node, path, &keys)?;
            for h in HOOKS {
                cx.no_hook(&o, h);
            }
            Some(Content::Swap(Swap {
                priority: cx.int(&o, "priority").map(|p| p.v),
                random_encryption: cx.boolean(&o, "randomEncryption").unwrap_or(false),
                resume_device: cx.boolean(&o, "resumeDevice").unwrap_or(false),
            }))
        }
        "zfs" => {
            let o = cx.obj(node, path, &with_hooks(&["type", "pool", "device"]))?;
            for h in HOOKS {
                cx.no_hook(&o, h);
            }
            let pool = cx.req_string(
                &o,
                "pool",
                "name the pool in `zpool:` this device belongs to",
            )?;
            Some(Content::Zfs(ZfsMember { pool }))
        }
        other if UNSUPPORTED.contains(&other) => {
            cx.error(
                t.pos,
                &tpath,
                format!("type `{other}` is not supported by nasstrap yet"),
                Some(format!(
                    "supported content types: {}",
                    CONTENT_TYPES.join(", ")
                )),
            );
            None
        }
        other => {
            let hint = did_you_mean(other, &CONTENT_TYPES)
                .map(|s| format!("did you mean `{s}`?"))
                .unwrap_or_else(|| format!("one of: {}", CONTENT_TYPES.join(", ")));
            cx.error(
                t.pos,
                &tpath,
                format!("unknown content type `{other}`"),
                Some(hint),
            );
            None
        }
    }
}

fn gpt(cx: &mut Ctx, node: &Node, path: &str, disk: &str) -> Option<Gpt> {
    let keys = with_hooks(&["type", "device", "partitions", "efiGptPartitionFirst"]);
    let o = cx.obj(node, path, &keys)?;
    for h in HOOKS {
        cx.no_hook(&o, h);
    }
    let mut partitions = Vec::new();
    if let Some(n) = o.get("partitions") {
        let ppath = o.path_of("partitions");
        for (k, v) in cx.named(n, &ppath) {
            let site = Site {
                pos: k.pos,
                path: join(&ppath, &k.name),
            };
            if let Some(p) = partition(cx, &k.name, site, v, disk) {
                partitions.push(p);
            }
        }
    }
    Some(Gpt { partitions })
}

fn partition(cx: &mut Ctx, name: &str, site: Site, node: &Node, disk: &str) -> Option<Partition> {
    let keys = [
        "type",
        "size",
        "start",
        "end",
        "name",
        "label",
        "priority",
        "alignment",
        "attributes",
        "bootable",
        "content",
        "device",
        "hybrid",
        "uuid",
    ];
    let o = cx.obj(node, &site.path, &keys)?;
    same_name(cx, &o, "name", name);
    let part_type = match cx.opt_string(&o, "type") {
        Some(t) => match parttype::parse(&t.v) {
            Ok(pt) => At { v: pt, pos: t.pos, path: t.path },
            Err((m, h)) => {
                cx.error(t.pos, &t.path, m, Some(h));
                return None;
            }
        },
        None => At {
            // disko's default type is 8300, or 8200 when the partition holds swap.
            v: parttype::parse(if matches!(o.get("content").map(|c| &c.kind), Some(Kind::Map(e)) if e.iter().any(|(k, v)| k.name == "type" && matches!(&v.kind, Kind::Scalar { value, .. } if value == "swap"))) { "8200" } else { "8300" })
                .expect("known codes"),
            pos: site.pos,
            path: o.path_of("type"),
        },
    };
    let size = cx
        .plain_size(&o, "size")
        .filter(|s| !matches!(s.v, Size::Bytes(0)));
    let start = cx
        .plain_size(&o, "start")
        .filter(|s| !matches!(s.v, Size::Bytes(0)));
    let end = o.get("end").and_then(|n| {
        let s = cx.string(n, &o.path_of("end"))?;
        parse_end(cx, s)
    });
    // disko computes `end` from `size` ("+SIZE", or "-0" for 100%); only a
    // different end is a second opinion the user must resolve.
    let end = match (end, &size) {
        (Some(e), Some(s)) => {
            let agrees = match (e.v, s.v) {
                (End::Plus(a), b) => a == b,
                (End::Minus(Size::Bytes(0)), Size::Percent(100)) => true,
                _ => false,
            };
            if !agrees {
                cx.error(
                    e.pos,
                    &e.path,
                    "both `size` and `end` are set and disagree",
                    Some("set one of them".into()),
                );
            }
            None
        }
        (Some(e), None)
            if matches!(e.v, End::Plus(Size::Bytes(0)) | End::Minus(Size::Bytes(0))) =>
        {
            None
        }
        (e, _) => e,
    };
    let priority = cx.int(&o, "priority").map(|p| p.v).unwrap_or_else(|| {
        if matches!(size.as_ref().map(|s| s.v), Some(Size::Percent(100))) {
            9001
        } else if part_type.v.code.as_deref() == Some("EF02") {
            100
        } else {
            1000
        }
    });
    let mut attributes = Vec::new();
    if let Some(n) = o.get("attributes") {
        let apath = o.path_of("attributes");
        match &n.kind {
            Kind::Seq(items) => {
                for (i, it) in items.iter().enumerate() {
                    match &it.kind {
                        Kind::Scalar { value, .. } if value.parse::<u8>().is_ok_and(|b| b < 64) => {
                            attributes.push(value.parse().expect("checked"))
                        }
                        _ => cx.error(
                            it.pos,
                            &format!("{apath}[{i}]"),
                            "a GPT attribute is a bit number from 0 to 63",
                            Some("bit 2 is legacy BIOS bootable; or write `bootable: true`".into()),
                        ),
                    }
                }
            }
            _ => cx.error(
                n.pos,
                &apath,
                format!("expected a list of bit numbers, found {}", n.describe()),
                None,
            ),
        }
    }
    let bootable = cx.boolean(&o, "bootable").unwrap_or(false) || attributes.contains(&2);
    attributes.retain(|b| *b != 2);
    let label = match cx.opt_string(&o, "label") {
        Some(l) => {
            if l.v.encode_utf16().count() > 36 {
                cx.error(
                    l.pos,
                    &l.path,
                    format!(
                        "GPT partition names hold 36 UTF-16 units; `{}` is longer",
                        l.v
                    ),
                    None,
                );
            }
            l.v
        }
        None => format!("disk-{disk}-{name}"),
    };
    let content = o
        .get("content")
        .and_then(|n| content(cx, n, &o.path_of("content"), disk));
    Some(Partition {
        name: name.to_string(),
        site,
        label,
        part_type,
        size,
        start,
        end,
        priority,
        attributes,
        bootable,
        content,
    })
}

fn parse_end(cx: &mut Ctx, s: At<String>) -> Option<At<End>> {
    let t = s.v.trim();
    let (ctor, rest): (fn(Size) -> End, &str) = match t.as_bytes().first() {
        Some(b'+') => (End::Plus, &t[1..]),
        Some(b'-') => (End::Minus, &t[1..]),
        _ => (End::Absolute, t),
    };
    match size::parse(rest) {
        Ok(p) => Some(At {
            v: ctor(p.size),
            pos: s.pos,
            path: s.path,
        }),
        Err(e) => {
            cx.error(s.pos, &s.path, e.message, Some(e.hint));
            None
        }
    }
}

fn mountpoint(cx: &mut Ctx, o: &Obj) -> Option<At<String>> {
    cx.opt_string(o, "mountpoint")
}

fn filesystem(cx: &mut Ctx, node: &Node, path: &str) -> Option<Filesystem> {
    let keys = with_hooks(&[
        "type",
        "device",
        "format",
        "mountpoint",
        "mountOptions",
        "extraArgs",
    ]);
    let o = cx.obj(node, path, &keys)?;
    for h in HOOKS {
        cx.no_hook(&o, h);
    }
    let f = cx.req_string(&o, "format", "e.g. format: ext4")?;
    const FORMATS: [&str; 6] = ["ext4", "ext3", "ext2", "xfs", "btrfs", "vfat"];
    let format = match f.v.as_str() {
        "ext4" => FsFormat::Ext4,
        "ext3" => FsFormat::Ext3,
        "ext2" => FsFormat::Ext2,
        "xfs" => FsFormat::Xfs,
        "btrfs" => FsFormat::Btrfs,
        "vfat" | "fat32" => FsFormat::Vfat,
        other => {
            let hint = did_you_mean(other, &FORMATS)
                .map(|s| format!("did you mean `{s}`?"))
                .unwrap_or_else(|| format!("supported formats: {}", FORMATS.join(", ")));
            cx.error(
                f.pos,
                &f.path,
                format!("unknown filesystem format `{other}`"),
                Some(hint),
            );
            return None;
        }
    };
    Some(Filesystem {
        format: At {
            v: format,
            pos: f.pos,
            path: f.path,
        },
        mountpoint: mountpoint(cx, &o),
        mount_options: cx.strings(&o, "mountOptions"),
        extra_args: cx.strings(&o, "extraArgs"),
    })
}

fn luks(cx: &mut Ctx, node: &Node, path: &str, disk: &str) -> Option<Luks> {
    let keys = with_hooks(&[
        "type",
        "device",
        "name",
        "passwordFile",
        "keyFile",
        "askPassword",
        "settings",
        "additionalKeyFiles",
        "initrdUnlock",
        "extraFormatArgs",
        "extraOpenArgs",
        "content",
        "enrollFido2",
        "extraFido2EnrollArgs",
        "enrollRecovery",
    ]);
    let o = cx.obj(node, path, &keys)?;
    for h in HOOKS {
        cx.no_hook(&o, h);
    }
    let name = cx.req_string(&o, "name", "the mapper name, e.g. name: crypted")?;
    let mut key_file = cx.opt_string(&o, "keyFile");
    let mut allow_discards = false;
    if let Some(n) = o.get("settings") {
        let spath = o.path_of("settings");
        if let Some(s) = cx.obj(
            n,
            &spath,
            &[
                "keyFile",
                "allowDiscards",
                "keyFileSize",
                "keyFileOffset",
                "bypassWorkqueues",
                "crypttabExtraOpts",
                "fallbackToPassword",
                "preLVM",
            ],
        ) {
            if key_file.is_none() {
                key_file = cx.opt_string(&s, "keyFile");
            }
            allow_discards = cx.boolean(&s, "allowDiscards").unwrap_or(false);
        }
    }
    let extra = cx.strings(&o, "additionalKeyFiles");
    if !extra.is_empty() {
        let k = o.key("additionalKeyFiles").expect("present");
        cx.error(
            k.pos,
            &o.path_of("additionalKeyFiles"),
            "`additionalKeyFiles` is not supported yet",
            Some("add the extra keys after install with cryptsetup luksAddKey".into()),
        );
    }
    Some(Luks {
        name,
        password_file: cx.opt_string(&o, "passwordFile"),
        key_file,
        ask_password: cx.boolean(&o, "askPassword").unwrap_or(false),
        allow_discards,
        extra_format_args: cx.strings(&o, "extraFormatArgs"),
        extra_open_args: cx.strings(&o, "extraOpenArgs"),
        content: o
            .get("content")
            .and_then(|n| content(cx, n, &o.path_of("content"), disk))
            .map(Box::new),
    })
}

fn btrfs(cx: &mut Ctx, node: &Node, path: &str) -> Option<Btrfs> {
    let keys = with_hooks(&[
        "type",
        "device",
        "extraArgs",
        "mountpoint",
        "mountOptions",
        "subvolumes",
        "swap",
    ]);
    let o = cx.obj(node, path, &keys)?;
    for h in HOOKS {
        cx.no_hook(&o, h);
    }
    if let Some(n) = o.get("swap")
        && !cx.named(n, &o.path_of("swap")).is_empty()
    {
        cx.error(
            n.pos,
            &o.path_of("swap"),
            "btrfs swap files are not supported yet",
            Some("use a swap partition".into()),
        );
    }
    let mut subvolumes = Vec::new();
    if let Some(n) = o.get("subvolumes") {
        let spath = o.path_of("subvolumes");
        for (k, v) in cx.named(n, &spath) {
            let sp = join(&spath, &k.name);
            let Some(so) = cx.obj(
                v,
                &sp,
                &[
                    "name",
                    "mountpoint",
                    "mountOptions",
                    "extraArgs",
                    "swap",
                    "type",
                ],
            ) else {
                continue;
            };
            if let Some(n) = so.get("swap")
                && !cx.named(n, &so.path_of("swap")).is_empty()
            {
                cx.error(
                    n.pos,
                    &so.path_of("swap"),
                    "btrfs swap files are not supported yet",
                    Some("use a swap partition".into()),
                );
            }
            let sub_name = cx
                .opt_string(&so, "name")
                .map(|s| s.v)
                .unwrap_or_else(|| k.name.clone());
            subvolumes.push(Subvolume {
                name: sub_name,
                site: Site {
                    pos: k.pos,
                    path: sp.clone(),
                },
                mountpoint: mountpoint(cx, &so),
                mount_options: cx.strings(&so, "mountOptions"),
            });
        }
    }
    Some(Btrfs {
        extra_args: cx.strings(&o, "extraArgs"),
        mountpoint: mountpoint(cx, &o),
        mount_options: cx.strings(&o, "mountOptions"),
        subvolumes,
    })
}

fn md_array(cx: &mut Ctx, name: &str, site: Site, node: &Node) -> Option<MdArray> {
    let keys = with_hooks(&["type", "name", "level", "metadata", "content", "extraArgs"]);
    let o = cx.obj(node, &site.path, &keys)?;
    fixed_type(cx, &o, "mdadm");
    same_name(cx, &o, "name", name);
    for h in HOOKS {
        cx.no_hook(&o, h);
    }
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
    Some(MdArray {
        name: name.to_string(),
        site,
        level: At {
            v: level.v as u32,
            pos: level.pos,
            path: level.path,
        },
        metadata,
        extra_args: cx.strings(&o, "extraArgs"),
        content: o
            .get("content")
            .and_then(|n| content(cx, n, &o.path_of("content"), name)),
    })
}

fn zpool(cx: &mut Ctx, name: &str, site: Site, node: &Node) -> Option<Zpool> {
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
    for h in HOOKS {
        cx.no_hook(&o, h);
    }
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
            if let Some(d) = dataset(cx, &k.name, site, v) {
                datasets.push(d);
            }
        }
    }
    Some(Zpool {
        name: name.to_string(),
        site,
        mode,
        options: cx.props(&o, "options"),
        root_fs_options: cx.props(&o, "rootFsOptions"),
        mountpoint: mountpoint(cx, &o),
        mount_options: cx.strings(&o, "mountOptions"),
        datasets,
    })
}

fn dataset(cx: &mut Ctx, name: &str, site: Site, node: &Node) -> Option<Dataset> {
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
    for h in HOOKS {
        cx.no_hook(&o, h);
    }
    same_name(cx, &o, "name", name);
    let t = cx.req_string(&o, "type", "zfs_fs or zfs_volume")?;
    let kind = match t.v.as_str() {
        "zfs_fs" => DatasetKind::ZfsFs {
            mountpoint: mountpoint(cx, &o),
            mount_options: cx.strings(&o, "mountOptions"),
            options: cx.props(&o, "options"),
        },
        "zfs_volume" => {
            let Some(size) = cx.plain_size(&o, "size") else {
                if o.get("size").is_none() {
                    cx.error(
                        o.pos,
                        &site.path,
                        "missing `size`",
                        Some("a volume needs a size, e.g. size: 10G".into()),
                    );
                }
                return None;
            };
            DatasetKind::ZfsVolume {
                size,
                options: cx.props(&o, "options"),
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
        name: name.to_string(),
        site,
        kind,
    })
}

fn nodev(cx: &mut Ctx, name: &str, site: Site, node: &Node) -> Option<Nodev> {
    let keys = with_hooks(&["type", "fsType", "device", "mountpoint", "mountOptions"]);
    let o = cx.obj(node, &site.path, &keys)?;
    fixed_type(cx, &o, "nodev");
    for h in HOOKS {
        cx.no_hook(&o, h);
    }
    let fs_type = cx
        .opt_string(&o, "fsType")
        .map(|s| s.v)
        .unwrap_or_else(|| "tmpfs".into());
    // disko's default mountpoint is the attribute name.
    let mountpoint = cx.opt_string(&o, "mountpoint").unwrap_or(At {
        v: name.to_string(),
        pos: site.pos,
        path: o.path_of("mountpoint"),
    });
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
    })
}
