//! Filesystems, LUKS and btrfs: the contents that hold data.

use super::super::decode::join;
use super::super::decode::{Ctx, Obj};
use super::super::diag::did_you_mean;
use super::super::model::*;
use super::super::yaml::Node;
use super::{HOOKS, content, with_hooks};

pub(super) fn mountpoint(cx: &mut Ctx, o: &Obj) -> Option<At<String>> {
    cx.opt_string(o, "mountpoint")
}

pub(super) fn filesystem(cx: &mut Ctx, node: &Node, path: &str) -> Option<Filesystem> {
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

pub(super) fn luks(cx: &mut Ctx, node: &Node, path: &str, disk: &str) -> Option<Luks> {
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

pub(super) fn btrfs(cx: &mut Ctx, node: &Node, path: &str) -> Option<Btrfs> {
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
