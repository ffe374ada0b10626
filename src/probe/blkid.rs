//! `blkid --probe --no-encoding --output export DEV…` ([`super::BLKID_CMD`]).

use std::collections::BTreeMap;

use super::ProbeError;
use super::kv::parse_records;
use super::model::Signature;

const TOOL: &str = "blkid --output export";

/// What blkid printed for one device.
#[derive(Debug, Clone, PartialEq)]
pub struct BlkidEntry {
    /// `DEVNAME`: the device path as given to blkid.
    pub devname: String,
    /// Every other key: TYPE, UUID, LABEL, PTTYPE, PART_ENTRY_NAME…
    pub values: BTreeMap<String, String>,
}

impl BlkidEntry {
    /// A value by key, `None` when absent or empty.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The content signature, when blkid found one (`TYPE`). A disk that only carries a
    /// partition table (`PTTYPE`) has none.
    pub fn signature(&self) -> Option<Signature> {
        let owned = |k: &str| self.get(k).map(str::to_string);
        Some(Signature {
            fstype: owned("TYPE")?,
            uuid: owned("UUID"),
            uuid_sub: owned("UUID_SUB"),
            label: owned("LABEL"),
            version: owned("VERSION"),
            used_bytes: None,
        })
    }
}

/// Parses one or more devices' export blocks (blank-line separated, each starting with
/// `DEVNAME=`). Empty output, what blkid prints when it finds nothing, gives no entries.
pub fn parse_blkid_export(text: &str) -> Result<Vec<BlkidEntry>, ProbeError> {
    parse_records(text, TOOL)?
        .into_iter()
        .map(|record| {
            let first_line = record.first().map_or(1, |(line, _, _)| *line);
            let mut devname = None;
            let mut values = BTreeMap::new();
            for (_, key, value) in record {
                if key == "DEVNAME" {
                    devname = Some(value);
                } else {
                    values.insert(key, value);
                }
            }
            let devname = devname
                .ok_or_else(|| ProbeError::malformed(TOOL, first_line, "record without DEVNAME"))?;
            Ok(BlkidEntry { devname, values })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::fixture;

    fn sig(fstype: &str, uuid: &str, label: Option<&str>, version: Option<&str>) -> Signature {
        Signature {
            fstype: fstype.into(),
            uuid: Some(uuid.into()),
            uuid_sub: None,
            label: label.map(Into::into),
            version: version.map(Into::into),
            used_bytes: None,
        }
    }

    #[test]
    fn captured_devices() {
        let cases: &[(&str, &str, Option<Signature>)] = &[
            ("gpt-disk", "/dev/loop0", None),
            (
                "gpt-p1",
                "/dev/loop0p1",
                Some(sig(
                    "ext4",
                    "3f1c2b4a-5d6e-4f70-8a9b-0c1d2e3f4a5b",
                    Some("root fs"),
                    Some("1.0"),
                )),
            ),
            (
                "gpt-p2",
                "/dev/loop0p2",
                Some(sig(
                    "swap",
                    "9d8c7b6a-5f4e-4d3c-8b2a-190817263544",
                    Some("swap"),
                    Some("1"),
                )),
            ),
            (
                "gpt-p3",
                "/dev/loop0p3",
                Some(sig("vfat", "1234-ABCD", Some("ESP"), Some("FAT16"))),
            ),
            (
                "gpt-p4",
                "/dev/loop0p4",
                Some(sig(
                    "crypto_LUKS",
                    "5b0f3f2e-1c1a-4d8e-9a3f-2f6d7c8b9a01",
                    Some("cryptdata"),
                    Some("2"),
                )),
            ),
            (
                "mbr-p1",
                "/dev/loop1p1",
                Some(sig(
                    "xfs",
                    "7e6d5c4b-3a29-4817-a6f5-e4d3c2b1a090",
                    Some("media"),
                    None,
                )),
            ),
            (
                "badgpt-p1",
                "/dev/loop5p1",
                Some(sig(
                    "crypto_LUKS",
                    "0c3e0b8a-6f2d-4c55-8e1e-0d5b2a7c4f10",
                    None,
                    Some("1"),
                )),
            ),
        ];
        for (case, devname, want) in cases {
            let entries = parse_blkid_export(&fixture(&format!("blkid/{case}.txt"))).unwrap();
            assert_eq!(entries.len(), 1, "{case}");
            assert_eq!(entries[0].devname, *devname, "{case}");
            assert_eq!(&entries[0].signature(), want, "{case}");
        }
    }

    #[test]
    fn partition_and_table_keys() {
        let disk = &parse_blkid_export(&fixture("blkid/gpt-disk.txt")).unwrap()[0];
        assert_eq!(disk.get("PTTYPE"), Some("gpt"));
        assert_eq!(
            disk.get("PTUUID"),
            Some("6e0d5c2a-0b1f-4e8b-9c4d-3f2a1b0c9d8e")
        );
        let swap = &parse_blkid_export(&fixture("blkid/gpt-p2.txt")).unwrap()[0];
        assert_eq!(swap.get("PART_ENTRY_NAME"), Some("my swap"));
        assert_eq!(swap.get("PART_ENTRY_NUMBER"), Some("2"));
        assert_eq!(swap.get("PART_ENTRY_OFFSET"), Some("133120"));
        let btrfs = &parse_blkid_export(&fixture("blkid/btrfs-a.txt")).unwrap()[0];
        let sub = btrfs.signature().and_then(|s| s.uuid_sub);
        assert_eq!(sub.as_deref(), Some("f46dff95-2a4f-4270-9d82-b709194236c6"));
    }

    #[test]
    fn several_devices_and_nothing() {
        let multi = parse_blkid_export(&fixture("blkid/multi.txt")).unwrap();
        let names: Vec<&str> = multi.iter().map(|e| e.devname.as_str()).collect();
        assert_eq!(names, ["/dev/loop0", "/dev/loop0p1", "/dev/loop0p2"]);
        // Exit 2 (bare disk) and 8 (ambivalent) both print nothing on stdout.
        assert_eq!(
            parse_blkid_export(&fixture("blkid/bare.txt")).unwrap(),
            vec![]
        );
        assert_eq!(
            parse_blkid_export(&fixture("blkid/ambivalent.txt")).unwrap(),
            vec![]
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let cases = [
            (
                "TYPE=ext4\n",
                "malformed blkid --output export output at line 1: record without DEVNAME",
            ),
            (
                "DEVNAME=/dev/sda\nTYP",
                "malformed blkid --output export output at line 2: expected KEY=VALUE, got \"TYP\"",
            ),
            (
                "\u{0}\u{1}garbage",
                "malformed blkid --output export output at line 1: expected KEY=VALUE, got \"\\0\\u{1}garbage\"",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(
                parse_blkid_export(text).unwrap_err().to_string(),
                want,
                "{text:?}"
            );
        }
    }
}
