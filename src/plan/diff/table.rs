//! Disk-level rules: the planned GPT against the one on the disk (keep it,
//! add to it, or destroy it), and what that means for each old partition.

use super::lookup::{describe_disk, find_disk, partition_of, show_sig};
use super::{Refusal, Why};
use crate::layout::parttype;
use crate::plan::{Change, Plan, TableGeometry, partition_path};
use crate::probe::{Disk, Observed, Table};

/// What the diff decided for one layout disk with a planned table.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct DiskVerdict {
    /// Layout name.
    pub name: String,
    /// The plan's device path.
    pub device: String,
    /// The observed disk's kernel path.
    pub kernel: String,
    /// Writing the planned table: keep, create (blank disk), change (add
    /// partitions, fix a header) or destroy (existing partitions go).
    pub table: Change,
    /// Why, when not keep.
    pub reason: Option<String>,
    /// Wiping the whole disk first: destroy only when nothing of it is kept.
    pub wipe: Change,
    /// Numbers of the existing partitions the plan keeps as they are.
    pub kept: Vec<u32>,
}

/// Every layout disk's verdict; a disk the probe did not see is refused as missing.
pub(super) fn verdicts(
    plan: &Plan,
    obs: &Observed,
    refusals: &mut Vec<Refusal>,
) -> Vec<DiskVerdict> {
    let mut out = Vec::new();
    for dp in &plan.disks {
        let Some(d) = find_disk(obs, &dp.device) else {
            refusals.push(Refusal {
                disk: dp.name.clone(),
                reason: Why::Missing {
                    device: dp.device.clone(),
                },
            });
            continue;
        };
        let Some(t) = &dp.table else { continue };
        let (table, reason, wipe, kept) = compare_table(d, t, &dp.device);
        out.push(DiskVerdict {
            name: dp.name.clone(),
            device: dp.device.clone(),
            kernel: d.path.clone(),
            table,
            reason,
            wipe,
            kept,
        });
    }
    out
}

/// The plan's paths of the partitions kept as they are.
pub(super) fn kept_paths(disks: &[DiskVerdict]) -> Vec<String> {
    disks
        .iter()
        .flat_map(|v| v.kept.iter().map(|n| partition_path(&v.device, *n)))
        .collect()
}

/// Whether the plan's table writes destroy what is on `device`: a layout disk
/// wiped whole, or an old partition the new table drops.
pub(super) fn lost(disks: &[DiskVerdict], obs: &Observed, device: &str) -> bool {
    if let Some(v) = disks
        .iter()
        .find(|v| v.kernel == device || v.device == device)
    {
        return v.wipe == Change::Destroy;
    }
    let Some((d, p)) = partition_of(obs, device) else {
        return false;
    };
    disks
        .iter()
        .find(|v| v.kernel == d.path)
        .is_some_and(|v| v.table != Change::Keep && !v.kept.contains(&p.number))
}

/// Whether a partition ending at `found` is the one planned to end at
/// `planned`. Exactly, or — for the partition planned to take the rest of the
/// disk, which ends at the last 1 MiB boundary as sgdisk's `--align-end` puts
/// it — anywhere in the tail after that boundary up to the last usable
/// sector: where parted, fdisk and earlier nasstrap builds end it. Same data,
/// same partition; rewriting the table for those sectors would be a DESTROY
/// for nothing.
pub(super) fn ends_alike(planned: u64, found: u64, t: &TableGeometry) -> bool {
    let mib = (1u64 << 20) / u64::from(t.sector.max(512));
    planned == found || (t.last_usable - planned < mib && found > planned && found <= t.last_usable)
}

/// Compare a disk's table with the planned one: (table change, reason, disk
/// wipe change, numbers of partitions kept).
pub(super) fn compare_table(
    d: &Disk,
    t: &TableGeometry,
    device: &str,
) -> (Change, Option<String>, Change, Vec<u32>) {
    let blank = matches!(d.table, Table::None) && d.signature.is_none() && d.partitions.is_empty();
    if blank {
        return (Change::Create, None, Change::Keep, Vec::new());
    }
    let Table::Gpt(g) = &d.table else {
        let why =
            describe_disk(Some(d)).unwrap_or_else(|| format!("{device} holds something else"));
        return (Change::Destroy, Some(why), Change::Destroy, Vec::new());
    };
    let mut kept = Vec::new();
    let mut lost = Vec::new();
    let mut attr_only = Vec::new();
    for e in &g.entries {
        let planned = t.partitions.iter().find(|p| p.number == e.number);
        let same = planned.is_some_and(|p| {
            p.first_lba == e.first_lba
                && ends_alike(p.last_lba, e.last_lba, t)
                && p.type_guid.eq_ignore_ascii_case(&e.type_guid)
                && p.label == e.name
        });
        if same {
            kept.push(e.number);
            if planned.is_some_and(|p| p.attributes != e.attributes) {
                attr_only.push(e.number);
            }
            continue;
        }
        let held = d
            .partitions
            .iter()
            .find(|p| p.number == e.number)
            .and_then(|p| p.signature.as_ref())
            .map(|s| format!(" holding {}", show_sig(s)))
            .unwrap_or_default();
        lost.push(match planned {
            Some(p) if p.first_lba != e.first_lba || !ends_alike(p.last_lba, e.last_lba, t) => {
                format!(
                    "partition {} `{}` is at sectors {}..{}, planned {}..{}{held}",
                    e.number, e.name, e.first_lba, e.last_lba, p.first_lba, p.last_lba
                )
            }
            Some(p) if !p.type_guid.eq_ignore_ascii_case(&e.type_guid) => format!(
                "partition {} type {} expected, found {}{held}",
                e.number,
                parttype::short_name(&p.type_guid),
                parttype::short_name(&e.type_guid)
            ),
            Some(p) => format!(
                "partition {} is named `{}`, planned `{}`{held}",
                e.number, e.name, p.label
            ),
            None => format!(
                "partition {} `{}` is not in the layout{held}",
                e.number, e.name
            ),
        });
    }
    let added = t.partitions.len() - kept.len();
    if lost.is_empty() && added == 0 && attr_only.is_empty() && g.primary_ok && g.backup_ok {
        return (Change::Keep, None, Change::Keep, kept);
    }
    if lost.is_empty() {
        let mut why = Vec::new();
        if added > 0 {
            why.push(format!(
                "{added} partition{} to add",
                if added == 1 { "" } else { "s" }
            ));
        }
        if !attr_only.is_empty() {
            why.push("attributes differ".to_string());
        }
        if !g.primary_ok || !g.backup_ok {
            why.push(format!(
                "the {} GPT header is damaged",
                if g.primary_ok { "backup" } else { "primary" }
            ));
        }
        return (Change::Change, Some(why.join("; ")), Change::Keep, kept);
    }
    let wipe = if kept.is_empty() {
        Change::Destroy
    } else {
        Change::Keep
    };
    (Change::Destroy, Some(lost.join("; ")), wipe, kept)
}
