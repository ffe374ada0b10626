//! The recipient stanzas of an age header, read as text: enough to say whom
//! a file was encrypted to ("2 ssh-ed25519, 1 X25519") when it is not this
//! identity. Only called after age has parsed the header, so it is well formed.

/// The stanza types of a binary age file's header, in order (e.g.
/// `["ssh-ed25519", "X25519"]`); empty if `bytes` is not one.
pub fn stanza_types(bytes: &[u8]) -> Vec<String> {
    let mut lines = bytes.split(|&b| b == b'\n');
    if lines.next() != Some(b"age-encryption.org/v1".as_slice()) {
        return Vec::new();
    }
    lines
        .take_while(|l| !l.starts_with(b"---"))
        .filter_map(|l| l.strip_prefix(b"-> "))
        .filter_map(|args| args.split(|&b| b == b' ').next())
        // The spec allows only printable ASCII here; anything else is dropped
        // rather than printed.
        .filter(|t| !t.is_empty() && t.iter().all(|b| b.is_ascii_graphic()))
        // The age crate adds a random `…-grease` stanza that is no recipient.
        .filter(|t| !t.ends_with(b"-grease"))
        .map(|t| String::from_utf8_lossy(t).into_owned())
        .collect()
}

/// "2 ssh-ed25519, 1 X25519" from stanza types (first-seen order kept).
pub fn describe(types: &[String]) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for t in types {
        match counts.iter_mut().find(|(name, _)| name == t) {
            Some((_, n)) => *n += 1,
            None => counts.push((t, 1)),
        }
    }
    counts
        .iter()
        .map(|(t, n)| format!("{n} {t}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_come_from_the_stanza_lines() {
        let h = b"age-encryption.org/v1\n\
            -> ssh-ed25519 Ab12Cd abcdef\nYm9keQ\n\
            -> X25519 abcdef\nYm9keQ\n\
            -> -+dwnCG-grease x\n\n\
            -> ssh-ed25519 Zz99Yy abcdef\nYm9keQ\n\
            --- mac\n-> not-a-stanza payload";
        let t = stanza_types(h);
        assert_eq!(t, ["ssh-ed25519", "X25519", "ssh-ed25519"]);
        assert_eq!(describe(&t), "2 ssh-ed25519, 1 X25519");
    }

    #[test]
    fn not_an_age_header_has_no_types() {
        assert!(stanza_types(b"-----BEGIN AGE ENCRYPTED FILE-----\n").is_empty());
        assert!(stanza_types(b"").is_empty());
    }
}
