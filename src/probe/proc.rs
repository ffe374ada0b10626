//! `/proc/mounts` and `/proc/swaps`.

use super::ProbeError;
use super::model::Mount;

/// Parses `/proc/mounts`: `source target fstype options dump pass`, with the kernel's
/// octal escapes (`\040` space, `\011` tab, `\012` newline, `\134` backslash) undone.
pub fn parse_mounts(text: &str) -> Result<Vec<Mount>, ProbeError> {
    const TOOL: &str = "/proc/mounts";
    let mut mounts = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [source, target, fstype, options, ..] = fields[..] else {
            return Err(ProbeError::malformed(
                TOOL,
                i + 1,
                format!("expected at least 4 fields, got {}", fields.len()),
            ));
        };
        mounts.push(Mount {
            source: unescape_octal(source),
            target: unescape_octal(target),
            fstype: unescape_octal(fstype),
            options: options.split(',').map(unescape_octal).collect(),
        });
    }
    Ok(mounts)
}

/// Parses `/proc/swaps` into the swap areas' paths (header line skipped; paths are
/// octal-escaped like `/proc/mounts`).
pub fn parse_swaps(text: &str) -> Result<Vec<String>, ProbeError> {
    let mut swaps = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || (i == 0 && line.starts_with("Filename")) {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        // Filename Type Size Used Priority
        if fields.len() < 5 {
            return Err(ProbeError::malformed(
                "/proc/swaps",
                i + 1,
                format!("expected 5 fields, got {}", fields.len()),
            ));
        }
        swaps.push(unescape_octal(fields[0]));
    }
    Ok(swaps)
}

/// Undoes the kernel's `\ooo` escapes (seq_file `mangle_path`). Anything that is not a
/// backslash followed by three octal digits stays as it is.
pub fn unescape_octal(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let digits = b
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)));
        if let (b'\\', Some(d)) = (b[i], digits) {
            let v = d.iter().fold(0u32, |acc, c| acc * 8 + u32::from(c - b'0'));
            if let Ok(byte) = u8::try_from(v) {
                out.push(byte);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::fixture;

    fn m(source: &str, target: &str, fstype: &str, options: &[&str]) -> Mount {
        Mount {
            source: source.into(),
            target: target.into(),
            fstype: fstype.into(),
            options: options.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn captured_mounts() {
        let got = parse_mounts(&fixture("proc/mounts.txt")).unwrap();
        let want = vec![
            m("proc", "/proc", "proc", &["rw", "relatime"]),
            m("sysfs", "/sys", "sysfs", &["rw", "relatime"]),
            m(
                "/dev/loop0p1",
                "/tmp/nasstrap-capture/mnt/root fs",
                "ext4",
                &["rw", "relatime"],
            ),
            m(
                "/dev/loop3",
                "/tmp/nasstrap-capture/mnt/data",
                "btrfs",
                &[
                    "rw",
                    "relatime",
                    "discard=async",
                    "space_cache=v2",
                    "subvolid=5",
                    "subvol=/",
                ],
            ),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn captured_swaps() {
        assert_eq!(
            parse_swaps(&fixture("proc/swaps.txt")).unwrap(),
            ["/dev/loop0p2"]
        );
        assert_eq!(
            parse_swaps("Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n").unwrap(),
            Vec::<String>::new()
        );
        let file = "Filename Type Size Used Priority\n/swap\\040file file 1024 0 -2\n";
        assert_eq!(parse_swaps(file).unwrap(), ["/swap file"]);
    }

    #[test]
    fn octal_escapes() {
        let cases = [
            ("plain", "plain"),
            ("a\\040b", "a b"),
            ("tab\\011nl\\012bs\\134", "tab\tnl\nbs\\"),
            ("short\\04", "short\\04"),
            ("notoctal\\089", "notoctal\\089"),
            ("\\777", "\\777"),
            ("end\\", "end\\"),
            ("utf8\\303\\244", "utf8ä"),
        ];
        for (raw, want) in cases {
            assert_eq!(unescape_octal(raw), want, "{raw}");
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert_eq!(
            parse_mounts("proc /proc proc rw 0 0\n/dev/sda1 /mnt\n")
                .unwrap_err()
                .to_string(),
            "malformed /proc/mounts output at line 2: expected at least 4 fields, got 2"
        );
        assert_eq!(
            parse_swaps("Filename Type Size Used Priority\n/dev/sda2 partition\n")
                .unwrap_err()
                .to_string(),
            "malformed /proc/swaps output at line 2: expected 5 fields, got 2"
        );
    }
}
