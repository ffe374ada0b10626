//! Questions the rules ask of the observed model: which disk a path names,
//! what is on a device, whether it could be read at all.

use crate::layout::size::human;
use crate::probe::{Disk, Mapped, MdArray, Observed, Partition, PathTarget, Signature, Table};

/// The observed disk behind a planned device path: the one the path leads to
/// when the probe resolved it, else the one with that kernel path or
/// by-path/by-id link.
pub fn find_disk<'a>(obs: &'a Observed, device: &str) -> Option<&'a Disk> {
    if let Some(p) = obs.paths.iter().find(|p| p.path == device) {
        return match &p.is {
            PathTarget::Disk(k) => obs.disks.iter().find(|d| &d.name == k),
            _ => None,
        };
    }
    obs.disks.iter().find(|d| d.answers_to(device))
}

/// The disk and partition a partition path names.
pub(super) fn partition_of<'a>(
    obs: &'a Observed,
    device: &str,
) -> Option<(&'a Disk, &'a Partition)> {
    obs.disks.iter().find_map(|d| {
        d.partitions
            .iter()
            .find(|p| p.path == device || p.by_path.iter().chain(&p.by_id).any(|l| l == device))
            .map(|p| (d, p))
    })
}

/// The observed array a planned `/dev/md/<name>` (or a kernel `/dev/mdN`) names.
pub(crate) fn md_array<'a>(obs: &'a Observed, device: &str) -> Option<&'a MdArray> {
    let name = device.strip_prefix("/dev/md/");
    obs.md_arrays
        .iter()
        .find(|a| a.path == device || (name.is_some() && a.name.as_deref() == name))
}

/// The open mapping `/dev/mapper/<name>` names.
pub(super) fn mapping<'a>(obs: &'a Observed, device: &str) -> Option<&'a Mapped> {
    let name = device.strip_prefix("/dev/mapper/")?;
    obs.luks
        .iter()
        .find(|l| l.open_as.as_deref() == Some(name))
        .and_then(|l| l.open.as_ref())
}

/// The signature on any device: a disk, a partition, an md array, an open LUKS volume.
pub fn signature<'a>(obs: &'a Observed, device: &str) -> Option<&'a Signature> {
    for d in &obs.disks {
        if d.path == device {
            return d.signature.as_ref();
        }
        if let Some(p) = d.partitions.iter().find(|p| p.path == device) {
            return p.signature.as_ref();
        }
    }
    if let Some(m) = mapping(obs, device) {
        return m.signature.as_ref();
    }
    md_array(obs, device).and_then(|a| a.signature.as_ref())
}

/// An observed block device, as the rules see it.
pub(super) struct Node<'a> {
    /// Its kernel path.
    pub path: &'a str,
    /// Where it is mounted (`[SWAP]` for swap).
    pub mountpoints: &'a [String],
    /// Kernel names of what is stacked on it.
    pub holders: &'a [String],
    /// Why its probe failed, if it did.
    pub unreadable: &'a Option<String>,
}

/// The observed devices `device` names, the whole of it: a disk and its
/// partitions, or a partition, a mapping, an array (empty when none is
/// observed). The second value is the disk a partition lies on.
pub(super) fn nodes<'a>(obs: &'a Observed, device: &str) -> (Vec<Node<'a>>, Option<Node<'a>>) {
    fn disk(d: &Disk) -> Node<'_> {
        Node {
            path: &d.path,
            mountpoints: &d.mountpoints,
            holders: &d.holders,
            unreadable: &d.unreadable,
        }
    }
    fn part(p: &Partition) -> Node<'_> {
        Node {
            path: &p.path,
            mountpoints: &p.mountpoints,
            holders: &p.holders,
            unreadable: &p.unreadable,
        }
    }
    if let Some(d) = find_disk(obs, device) {
        let mut v = vec![disk(d)];
        v.extend(d.partitions.iter().map(part));
        (v, None)
    } else if let Some((d, p)) = partition_of(obs, device) {
        (vec![part(p)], Some(disk(d)))
    } else if let Some(m) = mapping(obs, device) {
        let n = Node {
            path: &m.path,
            mountpoints: &m.mountpoints,
            holders: &m.holders,
            unreadable: &m.unreadable,
        };
        (vec![n], None)
    } else if let Some(a) = md_array(obs, device) {
        let n = Node {
            path: &a.path,
            mountpoints: &a.mountpoints,
            holders: &a.holders,
            unreadable: &a.unreadable,
        };
        (vec![n], None)
    } else {
        (Vec::new(), None)
    }
}

/// Devices that `device` is, lies on or contains whose probe failed, with the
/// probe's words: a disk and its partitions, a partition and its disk, an
/// array, a mapping.
pub(super) fn unknown(obs: &Observed, device: &str) -> Vec<(String, String)> {
    let (nodes, disk) = nodes(obs, device);
    let mut out: Vec<(String, String)> = Vec::new();
    // A partition's disk first, as a disk comes before its partitions.
    for n in disk.into_iter().chain(nodes) {
        if let Some(w) = n.unreadable
            && !out.iter().any(|(p, _)| p == n.path)
        {
            out.push((n.path.to_string(), w.clone()));
        }
    }
    out
}

/// A signature in a few words: `ext4 'data', 1.2 GiB used`.
pub(super) fn show_sig(s: &Signature) -> String {
    let mut out = s.fstype.clone();
    if let Some(l) = &s.label {
        out.push_str(&format!(" '{l}'"));
    }
    if let Some(u) = s.used_bytes {
        out.push_str(&format!(", {} used", human(u)));
    }
    out
}

/// What is on a disk, for the reason of a step that destroys it.
pub(super) fn describe_disk(d: Option<&Disk>) -> Option<String> {
    let d = d?;
    let mut what = Vec::new();
    match &d.table {
        Table::Gpt(g) => what.push(format!(
            "a GPT with {} partition{}",
            g.entries.len(),
            if g.entries.len() == 1 { "" } else { "s" }
        )),
        Table::Mbr => what.push("an MBR partition table".to_string()),
        Table::Unknown(t) => what.push(format!("a {t} partition table")),
        Table::None => {}
    }
    if let Some(s) = &d.signature {
        what.push(show_sig(s));
    }
    for p in &d.partitions {
        if let Some(s) = &p.signature {
            what.push(format!("{}: {}", p.path, show_sig(s)));
        }
    }
    if what.is_empty() {
        None
    } else {
        Some(format!("{} holds {}", d.path, what.join("; ")))
    }
}

/// The kernel's path for a device path the plan uses (a by-path partition
/// link becomes `/dev/sda1`); other paths as they are.
pub fn kernel_path(obs: &Observed, device: &str) -> String {
    if let Some(d) = find_disk(obs, device) {
        return d.path.clone();
    }
    match partition_of(obs, device) {
        Some((_, p)) => p.path.clone(),
        None => device.to_string(),
    }
}

/// The layout disk (of `disks`: name, device) on which the kernel device
/// `path` (a disk or a partition) lies.
pub(super) fn owner<'a>(
    obs: &Observed,
    disks: impl IntoIterator<Item = (&'a str, &'a str)>,
    path: &str,
) -> Option<&'a str> {
    let disk = match partition_of(obs, path) {
        Some((d, _)) => d.path.as_str(),
        None => path,
    };
    disks
        .into_iter()
        .find(|(_, dev)| find_disk(obs, dev).is_some_and(|d| d.path == disk))
        .map(|(name, _)| name)
}
