//! GPT partition types: sgdisk's four-hex-digit codes (what disko writes) or GUIDs.

use serde::Serialize;

/// A resolved GPT partition type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartType {
    /// Upper-case GUID.
    pub guid: String,
    /// The sgdisk code it was written as, if any.
    pub code: Option<String>,
}

/// sgdisk codes nasstrap knows: code, GUID, description.
pub const CODES: &[(&str, &str, &str)] = &[
    (
        "0700",
        "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7",
        "Microsoft basic data",
    ),
    ("8200", "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F", "Linux swap"),
    (
        "8300",
        "0FC63DAF-8483-4772-8E79-3D69D8477DE4",
        "Linux filesystem",
    ),
    (
        "8304",
        "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709",
        "Linux x86-64 root",
    ),
    (
        "8305",
        "B921B045-1DF0-41C3-AF44-4C6F280D3FAE",
        "Linux aarch64 root",
    ),
    ("8309", "CA7D7CCB-63ED-4C53-861C-1742536059CC", "Linux LUKS"),
    ("8E00", "E6D6D379-F507-44C2-A23C-238F2A3DF928", "Linux LVM"),
    (
        "A503",
        "516E7CB4-6ECF-11D6-8FF8-00022D09712B",
        "FreeBSD ZFS",
    ),
    (
        "BF00",
        "6A85CF4D-1DD2-11B2-99A6-080020736631",
        "Solaris root (ZFS)",
    ),
    (
        "BF01",
        "6A898CC3-1DD2-11B2-99A6-080020736631",
        "Solaris /usr & Mac ZFS",
    ),
    ("EA00", "BC13C2FF-59E6-4262-A352-B275FD6F7172", "XBOOTLDR"),
    (
        "EF00",
        "C12A7328-F81F-11D2-BA4B-00A0C93EC93B",
        "EFI system partition",
    ),
    (
        "EF01",
        "024DEE41-33E7-11D3-9D69-0008C781F39F",
        "MBR partition scheme",
    ),
    (
        "EF02",
        "21686148-6449-6E6F-744E-656564454649",
        "BIOS boot partition",
    ),
    ("FD00", "A19D880F-05FC-4D3B-A006-743F0F84911E", "Linux RAID"),
];

/// Why a type did not resolve: message and hint.
pub type TypeError = (String, String);

/// Resolve a type code (`EF00`, case-insensitive) or a GUID.
pub fn parse(text: &str) -> Result<PartType, TypeError> {
    let t = text.trim();
    if t.len() == 4 && t.chars().all(|c| c.is_ascii_hexdigit()) {
        let up = t.to_ascii_uppercase();
        return match CODES.iter().find(|(c, _, _)| *c == up) {
            Some((c, g, _)) => Ok(PartType {
                guid: g.to_string(),
                code: Some(c.to_string()),
            }),
            None => Err((
                format!("unknown partition type code `{t}`"),
                format!(
                    "known codes: {}; or write the type GUID",
                    CODES
                        .iter()
                        .map(|(c, _, _)| *c)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        };
    }
    if looks_like_guid(t) {
        return match uuid::Uuid::try_parse(t) {
            Ok(u) if t.len() == 36 => {
                let guid = u.hyphenated().to_string().to_ascii_uppercase();
                let code = CODES
                    .iter()
                    .find(|(_, g, _)| *g == guid)
                    .map(|(c, _, _)| c.to_string());
                Ok(PartType { guid, code })
            }
            _ => Err((
                format!("malformed GUID `{t}`"),
                "a GUID is 8-4-4-4-12 hex digits, e.g. 0FC63DAF-8483-4772-8E79-3D69D8477DE4".into(),
            )),
        };
    }
    Err((
        format!("`{t}` is neither a type code nor a GUID"),
        "write an sgdisk code such as 8300, FD00, EF00, 8200, BF00, or a type GUID".into(),
    ))
}

fn looks_like_guid(t: &str) -> bool {
    t.contains('-') || t.len() >= 32
}

/// sgdisk's code for a GUID, or the GUID itself.
pub fn short_name(guid: &str) -> String {
    CODES
        .iter()
        .find(|(_, g, _)| g.eq_ignore_ascii_case(guid))
        .map(|(c, _, _)| c.to_string())
        .unwrap_or_else(|| guid.to_string())
}

/// The description of a GUID, if known.
pub fn describe(guid: &str) -> Option<&'static str> {
    CODES
        .iter()
        .find(|(_, g, _)| g.eq_ignore_ascii_case(guid))
        .map(|(_, _, d)| *d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_guids() {
        assert_eq!(
            parse("fd00").unwrap().guid,
            "A19D880F-05FC-4D3B-A006-743F0F84911E"
        );
        let g = parse("0fc63daf-8483-4772-8e79-3d69d8477de4").unwrap();
        assert_eq!(
            (g.guid.as_str(), g.code.as_deref()),
            ("0FC63DAF-8483-4772-8E79-3D69D8477DE4", Some("8300"))
        );
        assert_eq!(
            parse("1234").unwrap_err().0,
            "unknown partition type code `1234`"
        );
        assert_eq!(
            parse("0FC63DAF-8483-4772-8E79-3D69D8477DEX").unwrap_err().0,
            "malformed GUID `0FC63DAF-8483-4772-8E79-3D69D8477DEX`"
        );
        assert_eq!(
            parse("0FC63DAF84834772-8E79-3D69D8477DE4").unwrap_err().0,
            "malformed GUID `0FC63DAF84834772-8E79-3D69D8477DE4`"
        );
        assert_eq!(
            parse("linux").unwrap_err().0,
            "`linux` is neither a type code nor a GUID"
        );
    }
}
