//! GPT partition tables: partitions, their sizes, ends, types and names.

use super::super::decode::{Ctx, join};
use super::super::model::*;
use super::super::names;
use super::super::parttype;
use super::super::size::{self, Size};
use super::super::yaml::{Kind, Node};
use super::{NOT_MOUNTED_TABLE, checked, content, disko_name, with_hooks};

pub(super) fn gpt(cx: &mut Ctx, node: &Node, path: &str, disk: &str) -> Option<Gpt> {
    let keys = with_hooks(&["type", "device", "partitions", "efiGptPartitionFirst"]);
    let o = cx.obj(node, path, &keys)?;
    let hooks = cx.hooks(&o, Ok(()), Err(NOT_MOUNTED_TABLE));
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
    Some(Gpt { partitions, hooks })
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
    // Like a disk's, a partition's `name` may differ from its key: it is
    // what disko's default label is made of.
    let label_name = disko_name(cx, &o, "partition", name.to_string());
    checked(cx, site.pos, &site.path, names::subject("partition", name))?;
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
    // disko's unset size is the bare `0`; an explicit zero (`0M`, `0B`) is a
    // mistake, never "the rest of the disk".
    let size = cx.plain_size(&o, "size").filter(|s| {
        let bare = matches!(o.get("size").map(|n| &n.kind), Some(Kind::Scalar { value, .. }) if value.trim() == "0");
        if matches!(s.v, Size::Bytes(0)) && !bare {
            cx.error(
                s.pos,
                &s.path,
                format!("partition `{name}` has size zero"),
                Some("give it a size, or write 100% for the rest of the disk".into()),
            );
        }
        !matches!(s.v, Size::Bytes(0))
    });
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
        Some(l) => checked(cx, l.pos, &l.path, names::gpt_name(&l.v)).unwrap_or(l.v),
        None => names::default_gpt_name("disk", disk, &label_name),
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
