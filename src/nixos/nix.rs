//! Nix text: strings and attribute names quoted so that whatever the disks
//! say (a label, a dataset name) stays one string, and never becomes an
//! interpolation or the end of the string.

/// Why a text cannot be written into the module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unwritable {
    /// The text, escaped for a terminal.
    pub text: String,
    /// What is wrong with it.
    pub why: &'static str,
}

/// Refuse control characters (a newline would end a comment or a line of
/// mdadm.conf or crypttab; nothing legitimate on a disk needs them).
pub fn plain(s: &str) -> Result<&str, Unwritable> {
    if s.chars().any(char::is_control) {
        return Err(Unwritable {
            text: s.escape_debug().to_string(),
            why: "holds a control character",
        });
    }
    Ok(s)
}

/// A double-quoted Nix string: `\`, `"` and the `${` of an interpolation
/// escaped; control characters refused.
pub fn string(s: &str) -> Result<String, Unwritable> {
    let s = plain(s)?;
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str(r"\\"),
            '"' => out.push_str("\\\""),
            '$' if chars.peek() == Some(&'{') => out.push_str(r"\$"),
            c => out.push(c),
        }
    }
    out.push('"');
    Ok(out)
}

/// A line inside a `''…''` string: `''` and `${` escaped (`'''`, `''${`);
/// control characters refused.
pub fn indented_line(s: &str) -> Result<String, Unwritable> {
    let s = plain(s)?;
    Ok(s.replace("''", "'''").replace("${", "''${"))
}

/// A list of strings: `[ "a" "b" ]`.
pub fn list(items: &[String]) -> Result<String, Unwritable> {
    if items.is_empty() {
        return Ok("[ ]".into());
    }
    let quoted: Result<Vec<String>, Unwritable> = items.iter().map(|s| string(s)).collect();
    Ok(format!("[ {} ]", quoted?.join(" ")))
}

/// A path as udev writes it in `/dev/disk/by-label/` and `by-uuid/`
/// (`encode_devnode_name`): ASCII letters, digits and `#+-.:=@_` as they
/// are, multi-byte UTF-8 kept, every other byte `\xNN`.
pub fn udev_encode(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || "#+-.:=@_".contains(c) || !c.is_ascii() {
            out.push(c);
        } else {
            out.push_str(&format!("\\x{:02x}", c as u32));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_keep_quotes_backslashes_and_interpolations_inert() {
        assert_eq!(string("tank").unwrap(), r#""tank""#);
        assert_eq!(string(r#"a"b"#).unwrap(), r#""a\"b""#);
        assert_eq!(string(r"a\b").unwrap(), r#""a\\b""#);
        assert_eq!(string("${pkgs.x}").unwrap(), r#""\${pkgs.x}""#);
        // A lone `$` is no interpolation and stays; so does `$$`.
        assert_eq!(string("a$b $").unwrap(), r#""a$b $""#);
        assert_eq!(string("日本").unwrap(), "\"日本\"");
    }

    #[test]
    fn control_characters_are_refused() {
        for bad in [
            "a\nb",
            "a\rb",
            "tab\there",
            "\u{1b}[31m",
            "del\u{7f}",
            "c1\u{85}",
        ] {
            let e = string(bad).unwrap_err();
            assert_eq!(e.why, "holds a control character", "{bad:?}");
            assert!(!e.text.contains('\n'));
            assert!(indented_line(bad).is_err());
        }
    }

    #[test]
    fn indented_strings_escape_their_own_quote_and_interpolation() {
        assert_eq!(indented_line("a''b").unwrap(), "a'''b");
        assert_eq!(indented_line("${x}").unwrap(), "''${x}");
        assert_eq!(
            indented_line("ARRAY /dev/md/tank").unwrap(),
            "ARRAY /dev/md/tank"
        );
    }

    #[test]
    fn lists() {
        assert_eq!(list(&[]).unwrap(), "[ ]");
        assert_eq!(
            list(&["noatime".into(), "subvol=@data".into()]).unwrap(),
            r#"[ "noatime" "subvol=@data" ]"#
        );
    }

    #[test]
    fn udev_names_as_the_links_have_them() {
        assert_eq!(udev_encode("NIXOS_ROOT"), "NIXOS_ROOT");
        assert_eq!(udev_encode("my data"), r"my\x20data");
        assert_eq!(udev_encode("a/b"), r"a\x2fb");
        assert_eq!(udev_encode(r#"q"\"#), r"q\x22\x5c");
        assert_eq!(udev_encode("ABCD-1234"), "ABCD-1234");
        assert_eq!(udev_encode("daten-ü"), "daten-ü");
    }
}
