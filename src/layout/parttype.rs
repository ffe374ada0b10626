//! GPT partition types: sgdisk's four-hex-digit codes (what disko writes) or GUIDs.
//! The codes are gdisk 1.0.9's whole table (`gdisk.rs`), so every code disko
//! passes to sgdisk means here what it means there.

use serde::Serialize;

/// A resolved GPT partition type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartType {
    /// Upper-case GUID.
    pub guid: String,
    /// The sgdisk code it was written as, if any.
    pub code: Option<String>,
}

mod gdisk;

pub use gdisk::{CODES, HIDDEN};

/// Why a type did not resolve: message and hint.
pub type TypeError = (String, String);

/// The GUID of a code (upper case), listed or hidden.
fn guid_of(code: &str) -> Option<&'static str> {
    CODES
        .iter()
        .find(|(c, _, _)| *c == code)
        .map(|(_, g, _)| *g)
        .or_else(|| HIDDEN.iter().find(|(c, _)| *c == code).map(|(_, g)| *g))
}

/// Resolve a type code (`EF00`, case-insensitive; every code gdisk 1.0.9
/// knows) or a GUID.
pub fn parse(text: &str) -> Result<PartType, TypeError> {
    let t = text.trim();
    if t.len() == 4 && t.chars().all(|c| c.is_ascii_hexdigit()) {
        let up = t.to_ascii_uppercase();
        if up == "0000" {
            return Err((
                "`0000` is gdisk's unused entry, not a partition type".into(),
                "leave `type` out for 8300 (Linux filesystem, disko's default)".into(),
            ));
        }
        return match guid_of(&up) {
            Some(g) => Ok(PartType {
                guid: g.to_string(),
                code: Some(up),
            }),
            None => Err((format!("unknown partition type code `{t}`"), code_hint(&up))),
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
    // `EFOO`, `FDOO`: letters O and I/l for the digits 0 and 1.
    let digits: String = t
        .chars()
        .map(|c| match c {
            'O' | 'o' => '0',
            'I' | 'l' => '1',
            c => c.to_ascii_uppercase(),
        })
        .collect();
    let hint = match CODES.iter().find(|(c, _, _)| t.len() == 4 && *c == digits) {
        Some((c, _, d)) => format!("did you mean {c} ({d})? codes are hex digits"),
        None => "write an sgdisk code such as 8300, FD00, EF00, 8200, BF00 (`sgdisk -L` lists them), or a type GUID".into(),
    };
    Err((format!("`{t}` is neither a type code nor a GUID"), hint))
}

/// The hint for an unknown four-hex-digit code: the listed codes one digit
/// away, only those of the same family (first two digits) if there are any.
fn code_hint(code: &str) -> String {
    let one_off: Vec<&(&str, &str, &str)> = CODES
        .iter()
        .filter(|(c, _, _)| c.chars().zip(code.chars()).filter(|(a, b)| a != b).count() == 1)
        .collect();
    let family: Vec<_> = one_off
        .iter()
        .copied()
        .filter(|(c, _, _)| c[..2] == code[..2])
        .collect();
    let mut near = if family.is_empty() { one_off } else { family };
    near.truncate(4);
    let list = |v: &[&(&str, &str, &str)]| -> String {
        let items: Vec<String> = v.iter().map(|(c, _, d)| format!("{c} ({d})")).collect();
        match items.as_slice() {
            [] => String::new(),
            [one] => one.clone(),
            [init @ .., last] => format!("{} or {last}", init.join(", ")),
        }
    };
    if near.is_empty() {
        "`sgdisk -L` lists the codes; or write the type GUID".into()
    } else {
        format!(
            "did you mean {}? `sgdisk -L` lists the codes; or write the type GUID",
            list(&near)
        )
    }
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

/// gdisk's description of a GUID, if known.
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
        let cases: &[(&str, &str, Option<&str>)] = &[
            ("fd00", "A19D880F-05FC-4D3B-A006-743F0F84911E", Some("FD00")),
            ("ef00", "C12A7328-F81F-11D2-BA4B-00A0C93EC93B", Some("EF00")),
            ("8306", "3B8F8425-20E0-4F3B-907F-1A25A76F98E8", Some("8306")),
            ("830e", "DF3300CE-D69F-4C92-978C-9BFB0F38D820", Some("830E")),
            ("A503", "516E7CB6-6ECF-11D6-8FF8-00022D09712B", Some("A503")),
            ("a504", "516E7CBA-6ECF-11D6-8FF8-00022D09712B", Some("A504")),
            ("BF01", "6A898CC3-1DD2-11B2-99A6-080020736631", Some("BF01")),
            // Hidden MBR-style codes resolve like sgdisk resolves them.
            ("0b00", "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7", Some("0B00")),
            // Two codes for one GUID: the code written is kept.
            ("F108", "C12A7328-F81F-11D2-BA4B-00A0C93EC93B", Some("F108")),
            (
                "0fc63daf-8483-4772-8e79-3d69d8477de4",
                "0FC63DAF-8483-4772-8E79-3D69D8477DE4",
                Some("8300"),
            ),
            (
                "C12A7328-F81F-11D2-BA4B-00A0C93EC93B",
                "C12A7328-F81F-11D2-BA4B-00A0C93EC93B",
                Some("EF00"),
            ),
            (
                "00000000-1111-2222-3333-444444444444",
                "00000000-1111-2222-3333-444444444444",
                None,
            ),
        ];
        for (text, guid, code) in cases {
            let t = parse(text).unwrap();
            assert_eq!(
                (t.guid.as_str(), t.code.as_deref()),
                (*guid, *code),
                "{text}"
            );
        }
        assert_eq!(short_name("c12a7328-f81f-11d2-ba4b-00a0c93ec93b"), "EF00");
        assert_eq!(short_name("7412F7D5-A156-4B13-81DC-867174929325"), "3000");
        assert_eq!(
            describe("3B8F8425-20E0-4F3B-907F-1A25A76F98E8"),
            Some("Linux /srv")
        );
    }

    #[test]
    fn the_table_is_gdisks() {
        assert_eq!((CODES.len(), HIDDEN.len()), (241, 14));
        for (c, g, d) in CODES {
            assert!(
                c.len() == 4
                    && c.chars()
                        .all(|x| x.is_ascii_hexdigit() && !x.is_ascii_lowercase()),
                "{c}"
            );
            assert!(
                uuid::Uuid::try_parse(g).is_ok() && g.to_ascii_uppercase() == *g,
                "{c}"
            );
            assert!(!d.is_empty());
        }
        let mut codes: Vec<&str> = CODES
            .iter()
            .map(|(c, _, _)| *c)
            .chain(HIDDEN.iter().map(|(c, _)| *c))
            .collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), 255, "no code twice");
    }

    #[test]
    fn refused() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "1234",
                "unknown partition type code `1234`",
                "`sgdisk -L` lists the codes; or write the type GUID",
            ),
            (
                "EF03",
                "unknown partition type code `EF03`",
                "did you mean EF00 (EFI system partition), EF01 (MBR partition scheme) or EF02 (BIOS boot partition)? `sgdisk -L` lists the codes; or write the type GUID",
            ),
            (
                "fd01",
                "unknown partition type code `fd01`",
                "did you mean FD00 (Linux RAID)? `sgdisk -L` lists the codes; or write the type GUID",
            ),
            (
                "0000",
                "`0000` is gdisk's unused entry, not a partition type",
                "leave `type` out for 8300 (Linux filesystem, disko's default)",
            ),
            (
                "C000",
                "unknown partition type code `C000`",
                "did you mean C001 (HP-UX data) or C002 (HP-UX service)? `sgdisk -L` lists the codes; or write the type GUID",
            ),
            (
                "EFOO",
                "`EFOO` is neither a type code nor a GUID",
                "did you mean EF00 (EFI system partition)? codes are hex digits",
            ),
            (
                "0FC63DAF-8483-4772-8E79-3D69D8477DEX",
                "malformed GUID `0FC63DAF-8483-4772-8E79-3D69D8477DEX`",
                "a GUID is 8-4-4-4-12 hex digits, e.g. 0FC63DAF-8483-4772-8E79-3D69D8477DE4",
            ),
            (
                "0FC63DAF84834772-8E79-3D69D8477DE4",
                "malformed GUID `0FC63DAF84834772-8E79-3D69D8477DE4`",
                "a GUID is 8-4-4-4-12 hex digits, e.g. 0FC63DAF-8483-4772-8E79-3D69D8477DE4",
            ),
            (
                "linux",
                "`linux` is neither a type code nor a GUID",
                "write an sgdisk code such as 8300, FD00, EF00, 8200, BF00 (`sgdisk -L` lists them), or a type GUID",
            ),
        ];
        for (text, msg, hint) in cases {
            let (m, h) = parse(text).unwrap_err();
            assert_eq!((m.as_str(), h.as_str()), (*msg, *hint), "{text}");
        }
    }
}
