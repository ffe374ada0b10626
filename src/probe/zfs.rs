//! ZFS: `zpool list -H -o name,health`, `zpool status -P`, `zfs list -H -o name`
//! ([`super::ZPOOL_LIST_CMD`], [`super::ZPOOL_STATUS_CMD`], [`super::ZFS_LIST_CMD`]).
//!
//! ZFS is not available on the machine the fixtures were made on: the `*-handwritten`
//! fixtures follow OpenZFS's documented output (zpool-list(8) `-H`: tab-separated, no
//! header; zpool-status(8) `-P`: full paths for leaf vdevs).

use super::ProbeError;

/// Nothing imported: what the tools print instead of an empty list.
fn is_none_line(line: &str) -> bool {
    matches!(line.trim(), "no pools available" | "no datasets available")
}

/// Parses `zpool list -H -o name,health` into `(name, health)` pairs.
pub fn parse_zpool_list(text: &str) -> Result<Vec<(String, String)>, ProbeError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || is_none_line(line) {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        let [name, health] = fields[..] else {
            return Err(ProbeError::malformed(
                "zpool list",
                i + 1,
                format!("expected name<TAB>health, got {line:?}"),
            ));
        };
        out.push((name.to_string(), health.trim().to_string()));
    }
    Ok(out)
}

/// One leaf vdev of `zpool status -P`: its path and state (`ONLINE`,
/// `UNAVAIL`, `FAULTED`, `REMOVED`, `OFFLINE`, `AVAIL` for a spare…).
#[derive(Debug, Clone, PartialEq)]
pub struct Leaf {
    /// Full path; for a missing device the path it `was`.
    pub path: String,
    /// Its STATE column.
    pub state: String,
}

/// Parses `zpool status -P` into each pool's leaf vdevs (data, log, cache and spare
/// devices alike). A missing device appears as a GUID with `was /dev/…`; that old path is
/// reported, since the device still belongs to the pool.
pub fn parse_zpool_status(text: &str) -> Result<Vec<(String, Vec<Leaf>)>, ProbeError> {
    let mut out: Vec<(String, Vec<Leaf>)> = Vec::new();
    let mut in_config = false;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if let Some(name) = t.strip_prefix("pool:") {
            out.push((name.trim().to_string(), Vec::new()));
            in_config = false;
        } else if t == "config:" {
            if out.is_empty() {
                return Err(ProbeError::malformed(
                    "zpool status",
                    i + 1,
                    "config before any pool line",
                ));
            }
            in_config = true;
        } else if t.starts_with("errors:") {
            in_config = false;
        } else if in_config {
            let Some((_, leaves)) = out.last_mut() else {
                continue;
            };
            let mut words = t.split_whitespace();
            let first = words.next().unwrap_or_default();
            let state = words.next().unwrap_or_default().to_string();
            let path = match t.split_once(" was ") {
                Some((_, was)) => was.trim(),
                None => first,
            };
            if path.starts_with('/') {
                leaves.push(Leaf {
                    path: path.to_string(),
                    state,
                });
            }
        }
    }
    Ok(out)
}

/// Parses `zfs list -H -o name`: one dataset per line.
pub fn parse_zfs_list(text: &str) -> Result<Vec<String>, ProbeError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || is_none_line(line) {
            continue;
        }
        if line.contains(char::is_whitespace) {
            return Err(ProbeError::malformed(
                "zfs list",
                i + 1,
                format!("expected one dataset name, got {line:?}"),
            ));
        }
        out.push(line.to_string());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::fixture;

    #[test]
    fn handwritten_fixtures() {
        let list = parse_zpool_list(&fixture("zfs/zpool-list-handwritten.txt")).unwrap();
        assert_eq!(
            list,
            [
                ("tank".to_string(), "DEGRADED".to_string()),
                ("backup".into(), "ONLINE".into())
            ]
        );

        let status = parse_zpool_status(&fixture("zfs/zpool-status-P-handwritten.txt")).unwrap();
        let id = |n: &str| format!("/dev/disk/by-id/ata-QEMU_HARDDISK_SATA{n}");
        let paths: Vec<(&str, Vec<String>)> = status
            .iter()
            .map(|(p, l)| (p.as_str(), l.iter().map(|l| l.path.clone()).collect()))
            .collect();
        assert_eq!(
            paths,
            [
                ("backup", vec!["/dev/sdf1".to_string()]),
                (
                    "tank",
                    [
                        "0-part1", "1-part1", "2-part1", "3-part1", "4-part1", "5-part2", "6-part1"
                    ]
                    .map(id)
                    .to_vec()
                ),
            ]
        );
        let states: Vec<&str> = status[1].1.iter().map(|l| l.state.as_str()).collect();
        assert_eq!(
            states,
            [
                "ONLINE", "ONLINE", "ONLINE", "ONLINE", "UNAVAIL", "ONLINE", "AVAIL"
            ]
        );

        let datasets = parse_zfs_list(&fixture("zfs/zfs-list-handwritten.txt")).unwrap();
        assert_eq!(
            datasets,
            [
                "backup",
                "tank",
                "tank/home",
                "tank/home/alice",
                "tank/media"
            ]
        );
    }

    #[test]
    fn nothing_imported() {
        assert_eq!(parse_zpool_list("no pools available\n").unwrap(), []);
        assert_eq!(parse_zpool_status("no pools available\n").unwrap(), []);
        assert_eq!(
            parse_zfs_list("no datasets available\n").unwrap(),
            Vec::<String>::new()
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert_eq!(
            parse_zpool_list("NAME  HEALTH\n").unwrap_err().to_string(),
            "malformed zpool list output at line 1: expected name<TAB>health, got \"NAME  HEALTH\""
        );
        assert_eq!(
            parse_zpool_status("config:\n").unwrap_err().to_string(),
            "malformed zpool status output at line 1: config before any pool line"
        );
        assert_eq!(
            parse_zfs_list("NAME USED\n").unwrap_err().to_string(),
            "malformed zfs list output at line 1: expected one dataset name, got \"NAME USED\""
        );
    }
}
