//! Filesystems, LUKS and btrfs: the contents that hold data.

use super::super::decode::join;
use super::super::decode::{Ctx, Obj};
use super::super::diag::did_you_mean;
use super::super::model::*;
use super::super::names::{self, LabelTool};
use super::super::size::Size;
use super::super::yaml::{Kind, Node};
use super::{NOT_MOUNTED_LUKS, checked, checked_at, content, mounted, with_hooks};

/// A mountpoint, normalized (`/srv/` is `/srv`); `None` after an error.
pub(super) fn mountpoint(cx: &mut Ctx, o: &Obj) -> Option<At<String>> {
    let m = cx.opt_string(o, "mountpoint");
    checked_at(cx, m, names::mountpoint)
}

/// Check the label that the arguments under `key` give the tool (`-L x`,
/// `-Lx`, `--label x`, `--label=x`), at the label's position: the tools cut
/// or refuse long labels only once the disks are already wiped.
pub(super) fn label_args(cx: &mut Ctx, o: &Obj, key: &str, tool: LabelTool, flags: &[&str]) {
    let Some(Kind::Seq(items)) = o.get(key).map(|n| &n.kind) else {
        return;
    };
    let path = o.path_of(key);
    // The words the tool gets (see `Ctx::args`), each with its item.
    let mut words: Vec<(&str, usize)> = Vec::new();
    for (i, it) in items.iter().enumerate() {
        if let Kind::Scalar { value, .. } = &it.kind {
            if value.starts_with('-') && value.contains(char::is_whitespace) {
                words.extend(value.split_whitespace().map(|w| (w, i)));
            } else {
                words.push((value.as_str(), i));
            }
        }
    }
    for (w, &(arg, _)) in words.iter().enumerate() {
        let value = flags.iter().find_map(|f| {
            if arg == *f {
                words.get(w + 1).copied()
            } else if f.starts_with("--") {
                arg.strip_prefix(*f)
                    .and_then(|r| r.strip_prefix('='))
                    .map(|v| (v, words[w].1))
            } else {
                arg.strip_prefix(*f)
                    .filter(|v| !v.is_empty())
                    .map(|v| (v, words[w].1))
            }
        });
        if let Some((label, at)) = value {
            let p = format!("{path}[{at}]");
            checked(cx, items[at].pos, &p, names::label(tool, label));
        }
    }
}

/// The label flags and limit of each known filesystem's mkfs; other formats
/// are not checked (their tools' flags are their own).
fn fs_label(format: &FsFormat) -> Option<(LabelTool, &'static [&'static str])> {
    Some(match format {
        FsFormat::Ext4 | FsFormat::Ext3 | FsFormat::Ext2 => (LabelTool::Ext, &["-L"]),
        FsFormat::Xfs => (LabelTool::Xfs, &["-L"]),
        FsFormat::Btrfs => (LabelTool::Btrfs, &["-L", "--label"]),
        FsFormat::Vfat => (LabelTool::Vfat, &["-n", "--volume-name"]),
        FsFormat::F2fs => (LabelTool::F2fs, &["-l"]),
        FsFormat::Other(_) => return None,
    })
}

/// Formats nasstrap knows by name.
const FORMATS: [&str; 7] = ["ext4", "ext3", "ext2", "xfs", "btrfs", "vfat", "f2fs"];

/// Filesystems with a `mkfs.<format>` of their own that a typo check must
/// not take for a near miss of a known one (`jfs` is one letter from `xfs`).
const OTHER_FORMATS: [&str; 12] = [
    "exfat", "ntfs", "jfs", "nilfs2", "udf", "minix", "reiserfs", "msdos", "fat", "hfsplus",
    "erofs", "cramfs",
];

/// Formats disko would hand to `mkfs.<format>` that nasstrap refuses, and why.
fn refused_format(f: &str) -> Option<(&'static str, &'static str)> {
    match f {
        "bcachefs" => Some((
            "bcachefs is not supported by nasstrap yet",
            "the rescue and target kernels have no bcachefs; use btrfs, ext4 or xfs",
        )),
        "zfs" => Some((
            "format `zfs` is not a filesystem nasstrap makes with mkfs",
            "use `type: zfs` with a pool in `zpool:`",
        )),
        "swap" => Some((
            "format `swap` is not a filesystem nasstrap makes with mkfs",
            "use `type: swap`",
        )),
        "tmpfs" | "ramfs" => Some((
            "a memory filesystem has no device to format",
            "declare it in `nodev:`",
        )),
        _ => None,
    }
}

/// A format read from the layout: known, refused, or any other `mkfs.<format>`.
fn format_of(cx: &mut Ctx, f: &At<String>) -> Option<FsFormat> {
    let known = match f.v.as_str() {
        "ext4" => FsFormat::Ext4,
        "ext3" => FsFormat::Ext3,
        "ext2" => FsFormat::Ext2,
        "xfs" => FsFormat::Xfs,
        "btrfs" => FsFormat::Btrfs,
        "vfat" | "fat32" => FsFormat::Vfat,
        "f2fs" => FsFormat::F2fs,
        other => {
            if let Some((msg, hint)) = refused_format(other) {
                cx.error(f.pos, &f.path, msg, Some(hint.into()));
                return None;
            }
            // It names a program (`mkfs.<format>`) and a mount type: a word.
            let word = !other.is_empty()
                && other.len() <= 32
                && other
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_-.".contains(c))
                && !other.starts_with(['.', '-']);
            if !word {
                cx.error(
                    f.pos,
                    &f.path,
                    format!("unknown filesystem format `{}`", names::shown(other)),
                    Some(format!(
                        "a format names mkfs.<format>: up to 32 lowercase letters, digits, `_`, `-`, `.`; known formats: {}",
                        FORMATS.join(", ")
                    )),
                );
                return None;
            }
            // Any mkfs.<format> is disko's vocabulary, but a near miss of a
            // known format that is no filesystem of its own is a typo.
            if !OTHER_FORMATS.contains(&other)
                && let Some(s) = did_you_mean(other, &FORMATS)
            {
                cx.error(
                    f.pos,
                    &f.path,
                    format!("unknown filesystem format `{other}`"),
                    Some(format!("did you mean `{s}`?")),
                );
                return None;
            }
            FsFormat::Other(other.to_string())
        }
    };
    Some(known)
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
    let hooks = cx.hooks(&o, Ok(()), mounted(&o));
    let f = cx.req_string(&o, "format", "e.g. format: ext4")?;
    let format = format_of(cx, &f)?;
    if let Some((tool, flags)) = fs_label(&format) {
        label_args(cx, &o, "extraArgs", tool, flags);
    }
    Some(Filesystem {
        format: At {
            v: format,
            pos: f.pos,
            path: f.path,
        },
        mountpoint: mountpoint(cx, &o),
        mount_options: cx.strings(&o, "mountOptions"),
        extra_args: cx.args(&o, "extraArgs"),
        hooks,
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
    let hooks = cx.hooks(&o, Ok(()), Err(NOT_MOUNTED_LUKS));
    let name = cx.req_string(&o, "name", "the mapper name, e.g. name: crypted")?;
    // Read on past a bad name so what the volume holds is checked too.
    let name = checked_at(cx, Some(name), names::mapper);
    label_args(cx, &o, "extraFormatArgs", LabelTool::Luks2, &["--label"]);
    let mut key_file = cx.opt_string(&o, "keyFile");
    let mut allow_discards = false;
    let (mut key_file_offset, mut key_file_size) = (None, None);
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
            // Bytes of the key file, as cryptsetup's --keyfile-offset/-size
            // and NixOS's boot.initrd.luks.devices.<name> take them.
            for (key, slot) in [
                ("keyFileOffset", &mut key_file_offset),
                ("keyFileSize", &mut key_file_size),
            ] {
                let Some(v) = cx.int(&s, key) else { continue };
                match u64::try_from(v.v) {
                    Ok(b) if key != "keyFileSize" || b > 0 => *slot = Some(b),
                    _ => cx.error(
                        v.pos,
                        &v.path,
                        format!(
                            "`{key}` is a number of bytes, {}",
                            if key == "keyFileSize" {
                                "more than 0"
                            } else {
                                "0 or more"
                            }
                        ),
                        None,
                    ),
                }
            }
            // They slice the key file: with a passphrase there is nothing to slice.
            if let Some(k) = ["keyFileOffset", "keyFileSize"]
                .into_iter()
                .find_map(|k| s.key(k))
                && key_file.is_none()
            {
                cx.error(
                    k.pos,
                    &s.path_of(&k.name),
                    format!("`{}` needs a key file (`settings.keyFile`)", k.name),
                    Some("it says which bytes of the key file are the key".into()),
                );
            }
        }
    }
    let mut additional_key_files = Vec::new();
    if let Some(n) = o.get("additionalKeyFiles") {
        let apath = o.path_of("additionalKeyFiles");
        match &n.kind {
            Kind::Seq(items) => {
                for (i, it) in items.iter().enumerate() {
                    let p = format!("{apath}[{i}]");
                    let Some(f) = cx.string(it, &p) else { continue };
                    // disko's type: an absolute path on the machine that formats.
                    if !f.v.starts_with('/') {
                        cx.error(
                            f.pos,
                            &p,
                            format!(
                                "additional key file `{}` is not an absolute path",
                                names::shown(&f.v)
                            ),
                            None,
                        );
                        continue;
                    }
                    additional_key_files.push(f);
                }
            }
            Kind::Refused => {}
            _ => cx.error(
                n.pos,
                &apath,
                format!("expected a list of key file paths, found {}", n.describe()),
                None,
            ),
        }
    }
    let content = o
        .get("content")
        .and_then(|n| content(cx, n, &o.path_of("content"), disk))
        .map(Box::new);
    Some(Luks {
        name: name?,
        password_file: cx.opt_string(&o, "passwordFile"),
        key_file,
        ask_password: cx.boolean(&o, "askPassword").unwrap_or(false),
        allow_discards,
        key_file_offset,
        key_file_size,
        additional_key_files,
        extra_format_args: cx.args(&o, "extraFormatArgs"),
        extra_open_args: cx.args(&o, "extraOpenArgs"),
        content,
        hooks,
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
    let swap = swap_files(cx, &o, "the btrfs");
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
            let swap = swap_files(cx, &so, "the subvolume");
            // disko's `name` defaults to the key; either way it is a path
            // inside the filesystem, checked and stored without a leading `/`.
            let (at, raw) = match cx.opt_string(&so, "name") {
                Some(s) => ((s.pos, s.path), s.v),
                None => ((k.pos, sp.clone()), k.name.clone()),
            };
            let Some(sub_name) = checked(cx, at.0, &at.1, names::subvolume(&raw)) else {
                continue;
            };
            // `/home` and `home` are one subvolume: created twice, apply fails.
            if let Some(first) = subvolumes.iter().find(|s: &&Subvolume| s.name == sub_name) {
                cx.error(
                    at.0,
                    &at.1,
                    format!(
                        "subvolume `{}` is also declared at line {}",
                        names::shown(&sub_name),
                        first.site.pos.line
                    ),
                    None,
                );
                continue;
            }
            subvolumes.push(Subvolume {
                name: sub_name,
                site: Site {
                    pos: k.pos,
                    path: sp.clone(),
                },
                mountpoint: mountpoint(cx, &so),
                mount_options: cx.strings(&so, "mountOptions"),
                swap,
            });
        }
    }
    label_args(cx, &o, "extraArgs", LabelTool::Btrfs, &["-L", "--label"]);
    let mount =
        if o.get("mountpoint").is_some() || subvolumes.iter().any(|s| s.mountpoint.is_some()) {
            Ok(())
        } else {
            Err((
                "nothing mounts a btrfs without a `mountpoint` on it or a subvolume",
                "give it a mountpoint, or remove the hook",
            ))
        };
    let hooks = cx.hooks(&o, Ok(()), mount);
    Some(Btrfs {
        extra_args: cx.args(&o, "extraArgs"),
        mountpoint: mountpoint(cx, &o),
        mount_options: cx.strings(&o, "mountOptions"),
        subvolumes,
        swap,
        hooks,
    })
}

/// disko's `swap` of a btrfs top level or subvolume (`what`): swap files by
/// name, each with a size and a path inside it. They are swapped on where
/// it is mounted, so it must have a `mountpoint` (disko's NixOS config names
/// them by it too).
fn swap_files(cx: &mut Ctx, o: &Obj, what: &str) -> Vec<SwapFile> {
    let Some(n) = o.get("swap") else {
        return Vec::new();
    };
    let spath = o.path_of("swap");
    let mut out: Vec<SwapFile> = Vec::new();
    for (k, v) in cx.named(n, &spath) {
        let fpath = join(&spath, &k.name);
        let Some(f) = cx.obj(v, &fpath, &["size", "path", "priority", "options"]) else {
            continue;
        };
        let (at, raw) = match cx.opt_string(&f, "path") {
            Some(p) => ((p.pos, p.path), p.v),
            None => ((k.pos, fpath.clone()), k.name.clone()),
        };
        // A path inside the filesystem, as a subvolume's is.
        let checked_path = names::subvolume(&raw).map_err(|e| names::NameError {
            message: e
                .message
                .replacen("subvolume name", "swap file path", 1)
                .replacen("names the top level", "names no file", 1),
            hint: e.hint,
        });
        let Some(file) = checked(cx, at.0, &at.1, checked_path) else {
            continue;
        };
        let size = cx.size(&f, "size");
        let bytes = match &size {
            Some(s) => match s.v.size {
                Size::Bytes(b) if b > 0 => Some(At {
                    v: b,
                    pos: s.pos,
                    path: s.path.clone(),
                }),
                _ => {
                    cx.error(
                        s.pos,
                        &s.path,
                        "a swap file's size is a fixed size, more than 0",
                        Some("e.g. size: 4G".into()),
                    );
                    None
                }
            },
            None if f.get("size").is_none() && !f.lost_keys() => {
                cx.error(
                    f.pos,
                    &fpath,
                    "missing `size`",
                    Some("e.g. size: 4G".into()),
                );
                None
            }
            None => None,
        };
        if o.get("mountpoint").is_none() {
            cx.error(
                k.pos,
                &fpath,
                format!(
                    "swap file `{}` is in {what}, which has no `mountpoint`",
                    names::shown(&k.name)
                ),
                Some(format!(
                    "give {what} a mountpoint: the swap file is used where it is mounted"
                )),
            );
        }
        if let Some(first) = out.iter().find(|s| s.path == file) {
            cx.error(
                at.0,
                &at.1,
                format!(
                    "swap file `{}` is also declared at line {}",
                    names::shown(&file),
                    first.site.pos.line
                ),
                None,
            );
            continue;
        }
        let Some(size) = bytes else { continue };
        out.push(SwapFile {
            name: k.name.clone(),
            site: Site {
                pos: k.pos,
                path: fpath,
            },
            path: file,
            size,
            priority: cx.int(&f, "priority").map(|p| p.v),
            options: cx.strings(&f, "options"),
        });
    }
    out
}
