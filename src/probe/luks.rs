//! LUKS: `cryptsetup luksDump DEV` ([`super::LUKS_DUMP_CMD`]) for the header, and the
//! device-mapper uuid (`/sys/block/dm-N/dm/uuid`) to see which containers are open.
//!
//! Open mappings are found in sysfs rather than with `dmsetup ls --target crypt`: sysfs
//! needs no process, and the dm uuid cryptsetup sets (`CRYPT-LUKS2-<uuid without
//! dashes>-<name>`) ties a mapping to its header, which `dmsetup ls` does not show.

use super::ProbeError;

const TOOL: &str = "cryptsetup luksDump";

/// The identity part of a LUKS header.
#[derive(Debug, Clone, PartialEq)]
pub struct LuksHeader {
    /// 1 or 2.
    pub version: u8,
    /// Container UUID as printed (lowercase, with dashes).
    pub uuid: String,
    /// LUKS2 label; `None` for LUKS1 and for `(no label)`.
    pub label: Option<String>,
}

/// Parses `cryptsetup luksDump` text (LUKS1 or LUKS2). Only the unindented
/// `Key:<tab>value` lines of the header part are read; keyslots and digests are skipped.
pub fn parse_luks_dump(text: &str) -> Result<LuksHeader, ProbeError> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    match lines.next() {
        Some((_, l)) if l.starts_with("LUKS header information") => {}
        Some((i, l)) => {
            return Err(ProbeError::malformed(
                TOOL,
                i + 1,
                format!("expected \"LUKS header information\", got {l:?}"),
            ));
        }
        None => return Err(ProbeError::malformed(TOOL, 1, "empty output")),
    }
    let (mut version, mut uuid, mut label) = (None, None, None);
    let mut last_line = 1;
    for (i, line) in lines {
        last_line = i + 1;
        if line.starts_with(char::is_whitespace) {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key {
            "Version" => {
                let v = value.parse().ok().filter(|v| matches!(v, 1 | 2));
                version = Some(v.ok_or_else(|| {
                    ProbeError::malformed(TOOL, i + 1, format!("unknown version {value:?}"))
                })?);
            }
            "UUID" => uuid = Some(value.to_string()),
            "Label" if value != "(no label)" && !value.is_empty() => {
                label = Some(value.to_string())
            }
            _ => {}
        }
    }
    let version =
        version.ok_or_else(|| ProbeError::malformed(TOOL, last_line, "no Version line"))?;
    let uuid = uuid
        .filter(|u| !u.is_empty())
        .ok_or_else(|| ProbeError::malformed(TOOL, last_line, "no UUID line"))?;
    Ok(LuksHeader {
        version,
        uuid,
        label,
    })
}

/// A device-mapper uuid as cryptsetup writes it for an open LUKS container.
#[derive(Debug, Clone, PartialEq)]
pub struct DmCryptUuid {
    /// 1 or 2.
    pub version: u8,
    /// The LUKS UUID's 32 hex digits, dashes removed, lowercase.
    pub uuid_hex: String,
    /// The mapping's name (what `/dev/mapper/` shows).
    pub name: String,
}

/// Reads `CRYPT-LUKS2-5b0f3f2e1c1a4d8e9a3f2f6d7c8b9a01-cryptdata`. Anything else
/// (plain dm-crypt, LVM, integrity sub-devices) is `None`.
pub fn parse_dm_crypt_uuid(dm_uuid: &str) -> Option<DmCryptUuid> {
    let rest = dm_uuid.trim().strip_prefix("CRYPT-LUKS")?;
    let (version, rest) = rest.split_once('-')?;
    let version = version.parse().ok().filter(|v| matches!(v, 1 | 2))?;
    let (hex, name) = rest.split_once('-')?;
    let hex_ok = hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit());
    (hex_ok && !name.is_empty()).then(|| DmCryptUuid {
        version,
        uuid_hex: hex.to_ascii_lowercase(),
        name: name.to_string(),
    })
}

/// Whether a LUKS UUID (with dashes, any case) is the one in a dm uuid.
pub fn same_luks_uuid(luks_uuid: &str, dm: &DmCryptUuid) -> bool {
    let hex: String = luks_uuid.chars().filter(|c| *c != '-').collect();
    hex.eq_ignore_ascii_case(&dm.uuid_hex)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::fixture;

    #[test]
    fn captured_dumps() {
        let cases = [
            (
                "luksdump/luks2.txt",
                LuksHeader {
                    version: 2,
                    uuid: "5b0f3f2e-1c1a-4d8e-9a3f-2f6d7c8b9a01".into(),
                    label: Some("cryptdata".into()),
                },
            ),
            (
                "luksdump/luks1.txt",
                LuksHeader {
                    version: 1,
                    uuid: "0c3e0b8a-6f2d-4c55-8e1e-0d5b2a7c4f10".into(),
                    label: None,
                },
            ),
        ];
        for (file, want) in cases {
            assert_eq!(parse_luks_dump(&fixture(file)).unwrap(), want, "{file}");
        }
    }

    #[test]
    fn luks2_without_label() {
        let text = "LUKS header information\nVersion:       \t2\nEpoch:         \t3\nUUID:          \tabc\nLabel:         \t(no label)\n";
        assert_eq!(
            parse_luks_dump(text).unwrap(),
            LuksHeader {
                version: 2,
                uuid: "abc".into(),
                label: None
            }
        );
    }

    #[test]
    fn dm_uuids() {
        let cases = [
            (
                "CRYPT-LUKS2-5b0f3f2e1c1a4d8e9a3f2f6d7c8b9a01-cryptdata\n",
                Some(DmCryptUuid {
                    version: 2,
                    uuid_hex: "5b0f3f2e1c1a4d8e9a3f2f6d7c8b9a01".into(),
                    name: "cryptdata".into(),
                }),
            ),
            (
                "CRYPT-LUKS1-0C3E0B8A6F2D4C558E1E0D5B2A7C4F10-luks-0c3e",
                Some(DmCryptUuid {
                    version: 1,
                    uuid_hex: "0c3e0b8a6f2d4c558e1e0d5b2a7c4f10".into(),
                    name: "luks-0c3e".into(),
                }),
            ),
            ("CRYPT-PLAIN-swap", None),
            ("CRYPT-SUBDEV-5b0f3f2e1c1a4d8e9a3f2f6d7c8b9a01-x_dif", None),
            ("LVM-abcdef", None),
            ("CRYPT-LUKS2-5b0f-short", None),
            ("CRYPT-LUKS3-5b0f3f2e1c1a4d8e9a3f2f6d7c8b9a01-x", None),
            ("CRYPT-LUKS2-5b0f3f2e1c1a4d8e9a3f2f6d7c8b9a01-", None),
            ("", None),
        ];
        for (raw, want) in cases {
            assert_eq!(parse_dm_crypt_uuid(raw), want, "{raw}");
        }
        let dm =
            parse_dm_crypt_uuid("CRYPT-LUKS2-5b0f3f2e1c1a4d8e9a3f2f6d7c8b9a01-cryptdata").unwrap();
        assert!(same_luks_uuid("5B0F3F2E-1C1A-4D8E-9A3F-2F6D7C8B9A01", &dm));
        assert!(!same_luks_uuid("0c3e0b8a-6f2d-4c55-8e1e-0d5b2a7c4f10", &dm));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let cases = [
            (
                "",
                "malformed cryptsetup luksDump output at line 1: empty output",
            ),
            (
                "Device /dev/sda1 is not a valid LUKS device.\n",
                "malformed cryptsetup luksDump output at line 1: expected \"LUKS header information\", got \"Device /dev/sda1 is not a valid LUKS device.\"",
            ),
            (
                "LUKS header information\nVersion: 9\n",
                "malformed cryptsetup luksDump output at line 2: unknown version \"9\"",
            ),
            (
                "LUKS header information\nUUID: x\n",
                "malformed cryptsetup luksDump output at line 2: no Version line",
            ),
            (
                "LUKS header information\nVersion: 2\n",
                "malformed cryptsetup luksDump output at line 2: no UUID line",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(
                parse_luks_dump(text).unwrap_err().to_string(),
                want,
                "{text:?}"
            );
        }
    }
}
