//! md arrays: `mdadm --detail --export /dev/mdX` ([`super::MDADM_DETAIL_CMD`]) for
//! identity and membership, `/proc/mdstat` for state and sync progress (the export form
//! carries neither).

use super::ProbeError;
use super::kv::parse_records;
use super::model::MdState;

const DETAIL: &str = "mdadm --detail --export";
const MDSTAT: &str = "/proc/mdstat";

/// What `mdadm --detail --export` says about one array.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MdDetail {
    /// `MD_LEVEL` (`raid6`; absent for an inactive array).
    pub level: Option<String>,
    /// `MD_DEVICES`: slots for a running array, devices present for an inactive one.
    pub devices: Option<u32>,
    /// `MD_METADATA` (`1.2`).
    pub metadata: Option<String>,
    /// `MD_UUID` in mdadm's colon form.
    pub uuid: Option<String>,
    /// `MD_DEVNAME`: the `/dev/md/<name>` link name, when mdadm's map has one.
    pub devname: Option<String>,
    /// `MD_NAME` as stored: `host:tank` (1.x metadata only).
    pub name: Option<String>,
    /// `MD_DEVICE_<dev>_ROLE` / `MD_DEVICE_<dev>_DEV` pairs, in output order.
    pub members: Vec<MdDetailMember>,
}

/// One `MD_DEVICE_<dev>_*` group.
#[derive(Debug, Clone, PartialEq)]
pub struct MdDetailMember {
    /// `<dev>` in the key: the sysfs name with non-alphanumerics as `_` (`dev_sda1`).
    pub key: String,
    /// `_DEV`: the device node, when mdadm could map it.
    pub device: Option<String>,
    /// `_ROLE`: a slot number or `spare` (newer mdadm also `faulty`, `journal`).
    pub role: Option<String>,
}

impl MdDetail {
    /// The array name without the homehost: `tank` from `MD_NAME=host:tank`, falling back
    /// to `MD_DEVNAME` (0.90 metadata has no name).
    pub fn short_name(&self) -> Option<String> {
        match &self.name {
            Some(n) => Some(
                n.rsplit_once(':')
                    .map_or(n.as_str(), |(_, short)| short)
                    .to_string(),
            ),
            None => self.devname.clone(),
        }
    }
}

/// Parses one array's `mdadm --detail --export` output. Unknown keys (MD_CONTAINER,
/// MD_RESHAPE_ACTIVE…) are ignored so newer mdadm versions still parse.
pub fn parse_detail_export(text: &str) -> Result<MdDetail, ProbeError> {
    let mut d = MdDetail::default();
    for (line, key, value) in parse_records(text, DETAIL)?.into_iter().flatten() {
        match key.as_str() {
            "MD_LEVEL" => d.level = Some(value),
            "MD_DEVICES" => {
                let n = value.parse().map_err(|_| {
                    ProbeError::malformed(
                        DETAIL,
                        line,
                        format!("MD_DEVICES {value:?} is not a number"),
                    )
                })?;
                d.devices = Some(n);
            }
            "MD_METADATA" => d.metadata = Some(value),
            "MD_UUID" => d.uuid = Some(value),
            "MD_DEVNAME" => d.devname = Some(value),
            "MD_NAME" => d.name = Some(value),
            _ => {
                let Some(rest) = key.strip_prefix("MD_DEVICE_") else {
                    continue;
                };
                let (member, is_dev) = if let Some(m) = rest.strip_suffix("_DEV") {
                    (m, true)
                } else if let Some(m) = rest.strip_suffix("_ROLE") {
                    (m, false)
                } else {
                    continue;
                };
                let idx = match d.members.iter().position(|m| m.key == member) {
                    Some(i) => i,
                    None => {
                        d.members.push(MdDetailMember {
                            key: member.to_string(),
                            device: None,
                            role: None,
                        });
                        d.members.len() - 1
                    }
                };
                let slot = if is_dev {
                    &mut d.members[idx].device
                } else {
                    &mut d.members[idx].role
                };
                *slot = Some(value);
            }
        }
    }
    Ok(d)
}

/// One array's entry in `/proc/mdstat`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MdstatEntry {
    /// Kernel name: `md127`.
    pub name: String,
    /// `active` (true) or `inactive`.
    pub active: bool,
    /// `(read-only)` / `(auto-read-only)` without the parentheses.
    pub read_only: Option<String>,
    /// Personality (`raid6`), absent for inactive arrays.
    pub level: Option<String>,
    /// Members as listed: `sda1[0](F)`.
    pub members: Vec<MdstatMember>,
    /// Size in 1 KiB blocks.
    pub blocks: Option<u64>,
    /// `[raid_disks/in_sync]`.
    pub slots: Option<(u32, u32)>,
    /// A running sync, if any.
    pub sync: Option<MdSync>,
}

/// A member in an mdstat line.
#[derive(Debug, Clone, PartialEq)]
pub struct MdstatMember {
    /// Kernel name: `sda1`.
    pub name: String,
    /// The descriptor number in brackets (not the slot).
    pub index: u32,
    /// Flag letters from the parentheses: `F` faulty, `S` spare, `W` write-mostly,
    /// `R` replacement, `J` journal.
    pub flags: String,
}

impl MdstatMember {
    /// The member's state word, from its flags (`active` when it has none).
    pub fn state(&self) -> &'static str {
        match self.flags.chars().next() {
            Some('F') => "faulty",
            Some('S') => "spare",
            Some('J') => "journal",
            Some('R') => "replacement",
            Some('W') => "write-mostly",
            _ => "active",
        }
    }
}

/// A resync/recovery/reshape/check/repair line.
#[derive(Debug, Clone, PartialEq)]
pub struct MdSync {
    /// `resync`, `recovery`, `reshape`, `check`, `repair`.
    pub action: String,
    /// Progress, when running (`12.6`).
    pub percent: Option<f32>,
    /// `DELAYED` / `PENDING` when the sync waits.
    pub waiting: Option<String>,
}

const SYNC_ACTIONS: [&str; 5] = ["resync", "recovery", "reshape", "check", "repair"];

/// Parses `/proc/mdstat`.
pub fn parse_mdstat(text: &str) -> Result<Vec<MdstatEntry>, ProbeError> {
    let mut out: Vec<MdstatEntry> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let trimmed = line.trim();
        if trimmed.is_empty()
            || line.starts_with("Personalities")
            || line.starts_with("unused devices")
        {
            continue;
        }
        if !line.starts_with(char::is_whitespace) {
            out.push(parse_header(line, line_no)?);
            continue;
        }
        let Some(entry) = out.last_mut() else {
            return Err(ProbeError::malformed(
                MDSTAT,
                line_no,
                "detail line before any array",
            ));
        };
        if let Some(sync) = parse_sync(trimmed, line_no)? {
            entry.sync = Some(sync);
        } else if !trimmed.starts_with("bitmap:") {
            parse_size_line(entry, trimmed, line_no)?;
        }
    }
    Ok(out)
}

/// `md127 : active (auto-read-only) raid6 sde1[4] sdd1[3](F) …`
fn parse_header(line: &str, line_no: usize) -> Result<MdstatEntry, ProbeError> {
    let bad = |what: String| ProbeError::malformed(MDSTAT, line_no, what);
    let (name, rest) = line
        .split_once(" : ")
        .ok_or_else(|| bad(format!("expected \"mdN : …\", got {line:?}")))?;
    let mut words = rest.split_whitespace().peekable();
    let active = match words.next() {
        Some("active") => true,
        Some("inactive") => false,
        Some(other) => return Err(bad(format!("expected active or inactive, got {other:?}"))),
        None => return Err(bad("expected active or inactive, got nothing".into())),
    };
    let mut entry = MdstatEntry {
        name: name.trim().to_string(),
        active,
        ..MdstatEntry::default()
    };
    if let Some(ro) = words.next_if(|w| w.starts_with('(')) {
        entry.read_only = Some(ro.trim_matches(|c| c == '(' || c == ')').to_string());
    }
    for word in words {
        match word.split_once('[') {
            Some((dev, rest)) => {
                let (index, flags) = rest
                    .split_once(']')
                    .ok_or_else(|| bad(format!("unclosed bracket in {word:?}")))?;
                let index = index
                    .parse()
                    .map_err(|_| bad(format!("bad member index in {word:?}")))?;
                let flags = flags.chars().filter(char::is_ascii_uppercase).collect();
                entry.members.push(MdstatMember {
                    name: dev.to_string(),
                    index,
                    flags,
                });
            }
            None if entry.level.is_none() && entry.members.is_empty() => {
                entry.level = Some(word.to_string())
            }
            None => return Err(bad(format!("unexpected word {word:?}"))),
        }
    }
    Ok(entry)
}

/// `3142656 blocks super 1.2 level 6, 512k chunk, algorithm 2 [5/4] [UU_UU]`
fn parse_size_line(entry: &mut MdstatEntry, line: &str, line_no: usize) -> Result<(), ProbeError> {
    let mut words = line.split_whitespace();
    if let (Some(n), Some("blocks")) = (words.next(), words.next()) {
        entry.blocks = Some(n.parse().map_err(|_| {
            ProbeError::malformed(MDSTAT, line_no, format!("bad block count {n:?}"))
        })?);
    }
    for word in line.split_whitespace() {
        let Some(inner) = word.strip_prefix('[').and_then(|w| w.strip_suffix(']')) else {
            continue;
        };
        if let Some((total, in_sync)) = inner.split_once('/') {
            let parse = |s: &str| {
                s.parse::<u32>().map_err(|_| {
                    ProbeError::malformed(MDSTAT, line_no, format!("bad slot count {word:?}"))
                })
            };
            entry.slots = Some((parse(total)?, parse(in_sync)?));
        }
    }
    Ok(())
}

/// `[==>....]  resync = 12.6% (…) finish=… speed=…` or `resync=DELAYED`.
fn parse_sync(line: &str, line_no: usize) -> Result<Option<MdSync>, ProbeError> {
    for action in SYNC_ACTIONS {
        let Some(pos) = line.find(action) else {
            continue;
        };
        let after = line[pos + action.len()..].trim_start();
        let Some(value) = after.strip_prefix('=') else {
            continue;
        };
        let value = value.split_whitespace().next().unwrap_or_default();
        let sync = match value.strip_suffix('%') {
            Some(p) => {
                let p: f32 = p.parse().map_err(|_| {
                    ProbeError::malformed(
                        MDSTAT,
                        line_no,
                        format!("bad {action} percentage {value:?}"),
                    )
                })?;
                MdSync {
                    action: action.to_string(),
                    percent: Some(p),
                    waiting: None,
                }
            }
            None => MdSync {
                action: action.to_string(),
                percent: None,
                waiting: Some(value.to_string()),
            },
        };
        return Ok(Some(sync));
    }
    Ok(None)
}

/// The array's [`MdState`] from its mdstat entry and `/sys/block/mdX/md/array_state`
/// (the only place that tells clean from active).
pub fn md_state(entry: &MdstatEntry, array_state: Option<&str>) -> MdState {
    if !entry.active {
        return MdState::Inactive;
    }
    if let Some(sync) = &entry.sync {
        return match (sync.action.as_str(), sync.percent, &sync.waiting) {
            ("recovery", Some(percent), _) => MdState::Recovering { percent },
            ("resync", Some(percent), _) => MdState::Resyncing { percent },
            (action, Some(p), _) => MdState::Other(format!("{action} {p}%")),
            (action, None, waiting) => {
                MdState::Other(format!("{action}={}", waiting.as_deref().unwrap_or("?")))
            }
        };
    }
    if let Some((total, in_sync)) = entry.slots
        && in_sync < total
    {
        return MdState::Degraded {
            missing: total - in_sync,
        };
    }
    match array_state.map(str::trim) {
        Some("clean") => MdState::Clean,
        _ => MdState::Active,
    }
}

#[cfg(test)]
mod tests;
