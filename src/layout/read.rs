//! The layout vocabulary: tree → model. Mirrors disko's option names so a
//! disko user translates 1:1 and disko's `nix eval --json` output loads as-is.

use super::decode::{Ctx, NoStep, Obj, join};
use super::diag::did_you_mean;
use super::model::*;
use super::names;
use super::yaml::{Kind, Node};

mod fs;
mod gpt;
mod stacks;

use fs::{btrfs, filesystem, luks};
use gpt::gpt;
use stacks::{md_array, nodev, zpool};

/// disko's hook options: shell text (see `Ctx::hooks`).
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

/// Why a disk or a table has no mount hooks.
pub(crate) const NOT_MOUNTED_TABLE: NoStep = (
    "a disk or a table has no mount of its own",
    "put the hook on the filesystem it holds",
);
/// Why LUKS has no mount hooks.
pub(crate) const NOT_MOUNTED_LUKS: NoStep = (
    "LUKS has no mount of its own",
    "put the hook on the filesystem it holds",
);
/// Why an array or pool member has no hooks.
const MEMBER: NoStep = (
    "a member of an array or pool has no step of its own",
    "put the hook on the array in `mdadm:` or the pool in `zpool:`",
);

/// Mount hooks need a mount to run with.
pub(crate) fn mounted(o: &Obj) -> Result<(), NoStep> {
    match o.get("mountpoint") {
        Some(_) => Ok(()),
        None => Err((
            "it has no `mountpoint`, so nothing mounts it",
            "give it a mountpoint, or remove the hook",
        )),
    }
}

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
        rejected: Rejected::default(),
    };
    if let Some(n) = o.get("disk") {
        for (k, v) in cx.named(n, "disk") {
            let site = Site {
                pos: k.pos,
                path: join("disk", &k.name),
            };
            match disk(cx, &k.name, site, v) {
                Some(d) => l.disks.push(d),
                None => l.rejected.disks.push(k.name.clone()),
            }
        }
    }
    if let Some(n) = o.get("mdadm") {
        for (k, v) in cx.named(n, "mdadm") {
            let site = Site {
                pos: k.pos,
                path: join("mdadm", &k.name),
            };
            match md_array(cx, &k.name, site, v) {
                Some(a) => l.mdadm.push(a),
                None => l.rejected.md.push(k.name.clone()),
            }
        }
    }
    if let Some(n) = o.get("zpool") {
        for (k, v) in cx.named(n, "zpool") {
            let site = Site {
                pos: k.pos,
                path: join("zpool", &k.name),
            };
            match zpool(cx, &k.name, site, v) {
                Some(p) => l.zpools.push(p),
                None => l.rejected.zpools.push(k.name.clone()),
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
    l.rejected.incomplete = cx
        .diags
        .iter()
        .any(|d| d.severity == super::diag::Severity::Error);
    Some(l)
}

/// Pass a name through its namespace's check; a refusal becomes an error at
/// `pos` and `None`.
pub(crate) fn checked(
    cx: &mut Ctx,
    pos: super::diag::Pos,
    path: &str,
    r: Result<String, names::NameError>,
) -> Option<String> {
    match r {
        Ok(v) => Some(v),
        Err(e) => {
            cx.error(pos, path, e.message, Some(e.hint));
            None
        }
    }
}

/// A scalar read through its namespace's check, position kept.
pub(crate) fn checked_at(
    cx: &mut Ctx,
    s: Option<At<String>>,
    check: impl Fn(&str) -> Result<String, names::NameError>,
) -> Option<At<String>> {
    let s = s?;
    let v = checked(cx, s.pos, &s.path, check(&s.v))?;
    Some(At { v, ..s })
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

/// disko's `name` of a disk or partition: what its default GPT partition
/// labels are made of (`disk-<name>-<partition>`). It defaults to `default`
/// (derived from the key) and may differ from it: the key stays the
/// layout's name for it (`--disk KEY=…`, messages).
pub(crate) fn disko_name(cx: &mut Ctx, o: &Obj, kind: &str, default: String) -> String {
    let n = cx.opt_string(o, "name");
    match checked_at(cx, n, |v| names::subject(kind, v)) {
        Some(n) => n.v,
        None => default,
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
    // disko's default is the key with `/` made `_`.
    let label_name = disko_name(cx, &o, "disk", name.replace('/', "_"));
    let gpt = matches!(o.get("content").map(|n| &n.kind), Some(Kind::Map(e))
        if e.iter().any(|(k, v)| k.name == "type" && matches!(&v.kind, Kind::Scalar { value, .. } if value == "gpt")));
    let create = if gpt {
        Ok(())
    } else {
        Err((
            "a disk without a GPT has no create step of its own",
            "put the hook on its content",
        ))
    };
    let hooks = cx.hooks(&o, create, Err(NOT_MOUNTED_TABLE));
    let subject = checked(cx, site.pos, &site.path, names::subject("disk", name));
    // Read on past a bad device so the rest of the disk is checked too.
    let device = cx_req_device(cx, &o);
    let device = checked_at(cx, device, names::device);
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
        .and_then(|n| content(cx, n, &o.path_of("content"), &label_name));
    let destroy = cx.boolean(&o, "destroy").unwrap_or(true);
    let (Some(device), Some(_)) = (device, subject) else {
        return None;
    };
    Some(Disk {
        name: name.to_string(),
        site,
        device,
        expect,
        firmware,
        content,
        destroy,
        hooks,
    })
}

fn cx_req_device(cx: &mut Ctx, o: &Obj) -> Option<At<String>> {
    cx.req_string(
        o,
        "device",
        "give the disk's device, e.g. /dev/disk/by-path/… or /dev/sda",
    )
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
    let name = cx.req_string(&o, "name", "name the region, e.g. idbloader or u-boot");
    let name = checked_at(cx, name, |n| names::subject("firmware region", n))?;
    let offset = cx.plain_size(&o, "offset");
    let max_size = cx.plain_size(&o, "max_size");
    // A key refused for a hidden character was reported already.
    if offset.is_none() && o.get("offset").is_none() && !o.lost_keys() {
        cx.error(
            o.pos,
            path,
            "missing `offset`",
            Some("e.g. offset: 64s".into()),
        );
    }
    if max_size.is_none() && o.get("max_size").is_none() && !o.lost_keys() {
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

/// `disk` is disko's name of the disk the content sits on (for its default
/// partition labels, see [`disko_name`]).
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
        if entries.iter().any(|(k, _)| k.refused) {
            // A key refused for a hidden character was reported already.
            return None;
        }
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
            cx.hooks(&o, Err(MEMBER), Err(MEMBER));
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
            let hooks = cx.hooks(&o, Ok(()), Err(("swap is not mounted", "remove the hook")));
            fs::label_args(
                cx,
                &o,
                "extraArgs",
                names::LabelTool::Swap,
                &["-L", "--label"],
            );
            Some(Content::Swap(Swap {
                priority: cx.int(&o, "priority").map(|p| p.v),
                random_encryption: cx.boolean(&o, "randomEncryption").unwrap_or(false),
                resume_device: cx.boolean(&o, "resumeDevice").unwrap_or(false),
                hooks,
            }))
        }
        "zfs" => {
            let o = cx.obj(node, path, &with_hooks(&["type", "pool", "device"]))?;
            cx.hooks(&o, Err(MEMBER), Err(MEMBER));
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
