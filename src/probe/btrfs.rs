//! btrfs: `btrfs filesystem show --raw` ([`super::BTRFS_SHOW_CMD`]) and
//! `btrfs subvolume list <mnt>` ([`super::BTRFS_SUBVOLUME_LIST_CMD`]).

use super::ProbeError;

const SHOW: &str = "btrfs filesystem show";
const LIST: &str = "btrfs subvolume list";

/// One filesystem block of `btrfs filesystem show`.
#[derive(Debug, Clone, PartialEq)]
pub struct BtrfsShowFs {
    /// Label, `None` for `Label: none`.
    pub label: Option<String>,
    /// Filesystem UUID.
    pub uuid: String,
    /// `Total devices N`.
    pub total_devices: u32,
    /// The `path` of each `devid` line present.
    pub devices: Vec<String>,
    /// The devid of each of `devices`, in the same order.
    pub devids: Vec<u64>,
    /// `*** Some devices missing` was printed.
    pub missing: bool,
}

/// Parses `btrfs filesystem show` output. Lines it does not know (btrfs-progs prints
/// warnings such as `warning, device 2 is missing` on stdout) are skipped.
pub fn parse_filesystem_show(text: &str) -> Result<Vec<BtrfsShowFs>, ProbeError> {
    let mut out: Vec<BtrfsShowFs> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let bad = |what: String| ProbeError::malformed(SHOW, i + 1, what);
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("Label: ") {
            let (label, uuid) = rest
                .rsplit_once("uuid: ")
                .ok_or_else(|| bad(format!("no uuid in {t:?}")))?;
            let label = label.trim();
            let label = (label != "none").then(|| {
                label
                    .strip_prefix('\'')
                    .and_then(|l| l.strip_suffix('\''))
                    .unwrap_or(label)
                    .to_string()
            });
            out.push(BtrfsShowFs {
                label,
                uuid: uuid.trim().to_string(),
                total_devices: 0,
                devices: Vec::new(),
                devids: Vec::new(),
                missing: false,
            });
            continue;
        }
        let in_block = out.last_mut();
        if let Some(rest) = t.strip_prefix("Total devices ") {
            let fs = in_block.ok_or_else(|| bad("device count before any Label line".into()))?;
            let n = rest.split_whitespace().next().unwrap_or_default();
            fs.total_devices = n
                .parse()
                .map_err(|_| bad(format!("bad device count {n:?}")))?;
        } else if t.starts_with("devid ") {
            let fs = in_block.ok_or_else(|| bad("devid before any Label line".into()))?;
            let (_, path) = t
                .split_once(" path ")
                .ok_or_else(|| bad(format!("no path in {t:?}")))?;
            let id = t
                .trim_start_matches("devid ")
                .split_whitespace()
                .next()
                .unwrap_or_default();
            let id = id.parse().map_err(|_| bad(format!("bad devid {id:?}")))?;
            // A mounted filesystem lists a device it lost as `path <missing disk>`.
            if path.trim().starts_with('<') {
                fs.missing = true;
                continue;
            }
            fs.devices.push(path.trim().to_string());
            fs.devids.push(id);
        } else if let (true, Some(fs)) = (t.starts_with("*** Some devices missing"), in_block) {
            fs.missing = true;
        }
    }
    Ok(out)
}

/// Parses `btrfs subvolume list` (with or without `-a`) into paths relative to the top
/// level: `-a` prefixes some of them with `<FS_TREE>/`, which is dropped.
pub fn parse_subvolume_list(text: &str) -> Result<Vec<String>, ProbeError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let path = line
            .starts_with("ID ")
            .then(|| line.split_once(" path "))
            .flatten()
            .ok_or_else(|| {
                ProbeError::malformed(
                    LIST,
                    i + 1,
                    format!("expected \"ID … path …\", got {line:?}"),
                )
            })?
            .1;
        out.push(path.strip_prefix("<FS_TREE>/").unwrap_or(path).to_string());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::fixture;

    const UUID: &str = "c0ffee00-1234-4abc-8def-0123456789ab";

    #[test]
    fn captured_show() {
        let mounted = parse_filesystem_show(&fixture("btrfs/show-raid1-mounted.txt")).unwrap();
        assert_eq!(
            mounted,
            [BtrfsShowFs {
                label: Some("data".into()),
                uuid: UUID.into(),
                total_devices: 2,
                devices: vec!["/dev/loop3".into(), "/dev/loop4".into()],
                devids: vec![1, 2],
                missing: false
            }]
        );
        let missing = parse_filesystem_show(&fixture("btrfs/show-raid1-missing.txt")).unwrap();
        assert_eq!(
            missing,
            [BtrfsShowFs {
                label: Some("data".into()),
                uuid: UUID.into(),
                total_devices: 2,
                devices: vec!["/dev/loop3".into()],
                devids: vec![1],
                missing: true
            }]
        );
    }

    #[test]
    fn several_filesystems_and_no_label() {
        let text = "Label: none  uuid: 1111\n\tTotal devices 1 FS bytes used 114688\n\tdevid    1 size 134217728 used 8388608 path /dev/sda1\n\n\
                    Label: 'it''s'  uuid: 2222\n\tTotal devices 1 FS bytes used 1\n\tdevid    1 size 1 used 1 path /dev/sdb\n\n";
        let got = parse_filesystem_show(text).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(
            (
                got[0].label.as_deref(),
                got[0].uuid.as_str(),
                got[0].devices.as_slice()
            ),
            (None, "1111", &["/dev/sda1".to_string()][..])
        );
        assert_eq!(got[1].label.as_deref(), Some("it''s"));
        assert_eq!(parse_filesystem_show("").unwrap(), []);
    }

    #[test]
    fn captured_subvolume_lists() {
        let want = ["@", "@home", "@home/projects", "@snapshots"];
        assert_eq!(
            parse_subvolume_list(&fixture("btrfs/subvolume-list.txt")).unwrap(),
            want
        );
        assert_eq!(
            parse_subvolume_list(&fixture("btrfs/subvolume-list-a.txt")).unwrap(),
            want
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let show = [
            (
                "Label: 'x'\n",
                "malformed btrfs filesystem show output at line 1: no uuid in \"Label: 'x'\"",
            ),
            (
                "\tTotal devices 2 FS\n",
                "malformed btrfs filesystem show output at line 1: device count before any Label line",
            ),
            (
                "Label: none  uuid: 1\n\tTotal devices two\n",
                "malformed btrfs filesystem show output at line 2: bad device count \"two\"",
            ),
            (
                "Label: none  uuid: 1\n\tdevid 1 size 1\n",
                "malformed btrfs filesystem show output at line 2: no path in \"devid 1 size 1\"",
            ),
            (
                "\tdevid 1 size 1 used 1 path /dev/sda\n",
                "malformed btrfs filesystem show output at line 1: devid before any Label line",
            ),
        ];
        for (text, want) in show {
            assert_eq!(
                parse_filesystem_show(text).unwrap_err().to_string(),
                want,
                "{text:?}"
            );
        }
        assert_eq!(
            parse_subvolume_list("ID 256 gen 7 top level 5\n")
                .unwrap_err()
                .to_string(),
            "malformed btrfs subvolume list output at line 1: expected \"ID … path …\", got \"ID 256 gen 7 top level 5\""
        );
    }
}
