//! Characters that must never reach a terminal from user-controlled text:
//! controls (C0, DEL, C1: ESC starts escape sequences that can recolour,
//! retitle or clear the terminal, C1 CSI/OSC do the same on some terminals),
//! Unicode format characters (bidi overrides and isolates reorder what is
//! shown, zero-width characters hide text), line and paragraph separators,
//! and the other default-ignorable code points that render as nothing.
//!
//! The layout decoder refuses them; everything printed goes through
//! [`escape`] as a second line of defence (probe data and command-line
//! arguments do not pass the decoder).

use std::borrow::Cow;

/// True for a character that is invisible or controls the terminal.
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            // Unicode general category Cf (format) and the default-ignorable
            // code points (Unicode 15.1, DerivedCoreProperties.txt), plus the
            // line and paragraph separators (Zl, Zp).
            '\u{ad}'
                | '\u{34f}'
                | '\u{600}'..='\u{605}'
                | '\u{61c}'
                | '\u{6dd}'
                | '\u{70f}'
                | '\u{890}'..='\u{891}'
                | '\u{8e2}'
                | '\u{115f}'..='\u{1160}'
                | '\u{17b4}'..='\u{17b5}'
                | '\u{180b}'..='\u{180f}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{206f}'
                | '\u{3164}'
                | '\u{fe00}'..='\u{fe0f}'
                | '\u{feff}'
                | '\u{ffa0}'
                | '\u{fff0}'..='\u{fffb}'
                | '\u{110bd}'
                | '\u{110cd}'
                | '\u{13430}'..='\u{1343f}'
                | '\u{1bca0}'..='\u{1bca3}'
                | '\u{1d173}'..='\u{1d17a}'
                | '\u{e0000}'..='\u{e0fff}'
        )
}

/// Unicode's names (or, for controls, their name aliases) of the characters
/// people meet; the rest get a generic name from [`char_name`].
const C0: [&str; 32] = [
    "NULL",
    "START OF HEADING",
    "START OF TEXT",
    "END OF TEXT",
    "END OF TRANSMISSION",
    "ENQUIRY",
    "ACKNOWLEDGE",
    "ALERT",
    "BACKSPACE",
    "CHARACTER TABULATION",
    "LINE FEED",
    "LINE TABULATION",
    "FORM FEED",
    "CARRIAGE RETURN",
    "SHIFT OUT",
    "SHIFT IN",
    "DATA LINK ESCAPE",
    "DEVICE CONTROL ONE",
    "DEVICE CONTROL TWO",
    "DEVICE CONTROL THREE",
    "DEVICE CONTROL FOUR",
    "NEGATIVE ACKNOWLEDGE",
    "SYNCHRONOUS IDLE",
    "END OF TRANSMISSION BLOCK",
    "CANCEL",
    "END OF MEDIUM",
    "SUBSTITUTE",
    "ESCAPE",
    "INFORMATION SEPARATOR FOUR",
    "INFORMATION SEPARATOR THREE",
    "INFORMATION SEPARATOR TWO",
    "INFORMATION SEPARATOR ONE",
];

const C1: [&str; 32] = [
    "PADDING CHARACTER",
    "HIGH OCTET PRESET",
    "BREAK PERMITTED HERE",
    "NO BREAK HERE",
    "INDEX",
    "NEXT LINE",
    "START OF SELECTED AREA",
    "END OF SELECTED AREA",
    "CHARACTER TABULATION SET",
    "CHARACTER TABULATION WITH JUSTIFICATION",
    "LINE TABULATION SET",
    "PARTIAL LINE FORWARD",
    "PARTIAL LINE BACKWARD",
    "REVERSE LINE FEED",
    "SINGLE SHIFT TWO",
    "SINGLE SHIFT THREE",
    "DEVICE CONTROL STRING",
    "PRIVATE USE ONE",
    "PRIVATE USE TWO",
    "SET TRANSMIT STATE",
    "CANCEL CHARACTER",
    "MESSAGE WAITING",
    "START OF GUARDED AREA",
    "END OF GUARDED AREA",
    "START OF STRING",
    "SINGLE GRAPHIC CHARACTER INTRODUCER",
    "SINGLE CHARACTER INTRODUCER",
    "CONTROL SEQUENCE INTRODUCER",
    "STRING TERMINATOR",
    "OPERATING SYSTEM COMMAND",
    "PRIVACY MESSAGE",
    "APPLICATION PROGRAM COMMAND",
];

const NAMED: &[(char, &str)] = &[
    ('\u{ad}', "SOFT HYPHEN"),
    ('\u{34f}', "COMBINING GRAPHEME JOINER"),
    ('\u{600}', "ARABIC NUMBER SIGN"),
    ('\u{601}', "ARABIC SIGN SANAH"),
    ('\u{602}', "ARABIC FOOTNOTE MARKER"),
    ('\u{603}', "ARABIC SIGN SAFHA"),
    ('\u{604}', "ARABIC SIGN SAMVAT"),
    ('\u{605}', "ARABIC NUMBER MARK ABOVE"),
    ('\u{61c}', "ARABIC LETTER MARK"),
    ('\u{6dd}', "ARABIC END OF AYAH"),
    ('\u{70f}', "SYRIAC ABBREVIATION MARK"),
    ('\u{890}', "ARABIC POUND MARK ABOVE"),
    ('\u{891}', "ARABIC PIASTRE MARK ABOVE"),
    ('\u{8e2}', "ARABIC DISPUTED END OF AYAH"),
    ('\u{115f}', "HANGUL CHOSEONG FILLER"),
    ('\u{1160}', "HANGUL JUNGSEONG FILLER"),
    ('\u{17b4}', "KHMER VOWEL INHERENT AQ"),
    ('\u{17b5}', "KHMER VOWEL INHERENT AA"),
    ('\u{180b}', "MONGOLIAN FREE VARIATION SELECTOR ONE"),
    ('\u{180c}', "MONGOLIAN FREE VARIATION SELECTOR TWO"),
    ('\u{180d}', "MONGOLIAN FREE VARIATION SELECTOR THREE"),
    ('\u{180e}', "MONGOLIAN VOWEL SEPARATOR"),
    ('\u{180f}', "MONGOLIAN FREE VARIATION SELECTOR FOUR"),
    ('\u{200b}', "ZERO WIDTH SPACE"),
    ('\u{200c}', "ZERO WIDTH NON-JOINER"),
    ('\u{200d}', "ZERO WIDTH JOINER"),
    ('\u{200e}', "LEFT-TO-RIGHT MARK"),
    ('\u{200f}', "RIGHT-TO-LEFT MARK"),
    ('\u{2028}', "LINE SEPARATOR"),
    ('\u{2029}', "PARAGRAPH SEPARATOR"),
    ('\u{202a}', "LEFT-TO-RIGHT EMBEDDING"),
    ('\u{202b}', "RIGHT-TO-LEFT EMBEDDING"),
    ('\u{202c}', "POP DIRECTIONAL FORMATTING"),
    ('\u{202d}', "LEFT-TO-RIGHT OVERRIDE"),
    ('\u{202e}', "RIGHT-TO-LEFT OVERRIDE"),
    ('\u{2060}', "WORD JOINER"),
    ('\u{2061}', "FUNCTION APPLICATION"),
    ('\u{2062}', "INVISIBLE TIMES"),
    ('\u{2063}', "INVISIBLE SEPARATOR"),
    ('\u{2064}', "INVISIBLE PLUS"),
    ('\u{2066}', "LEFT-TO-RIGHT ISOLATE"),
    ('\u{2067}', "RIGHT-TO-LEFT ISOLATE"),
    ('\u{2068}', "FIRST STRONG ISOLATE"),
    ('\u{2069}', "POP DIRECTIONAL ISOLATE"),
    ('\u{206a}', "INHIBIT SYMMETRIC SWAPPING"),
    ('\u{206b}', "ACTIVATE SYMMETRIC SWAPPING"),
    ('\u{206c}', "INHIBIT ARABIC FORM SHAPING"),
    ('\u{206d}', "ACTIVATE ARABIC FORM SHAPING"),
    ('\u{206e}', "NATIONAL DIGIT SHAPES"),
    ('\u{206f}', "NOMINAL DIGIT SHAPES"),
    ('\u{3164}', "HANGUL FILLER"),
    ('\u{feff}', "ZERO WIDTH NO-BREAK SPACE"),
    ('\u{ffa0}', "HALFWIDTH HANGUL FILLER"),
    ('\u{fff9}', "INTERLINEAR ANNOTATION ANCHOR"),
    ('\u{fffa}', "INTERLINEAR ANNOTATION SEPARATOR"),
    ('\u{fffb}', "INTERLINEAR ANNOTATION TERMINATOR"),
    ('\u{110bd}', "KAITHI NUMBER SIGN"),
    ('\u{110cd}', "KAITHI NUMBER SIGN ABOVE"),
    ('\u{e0001}', "LANGUAGE TAG"),
];

/// `U+202E RIGHT-TO-LEFT OVERRIDE`: the code point and its name, for messages
/// about characters that cannot be shown.
pub fn char_name(c: char) -> String {
    let n = c as u32;
    let name: Cow<str> = match n {
        0x00..=0x1f => C0[n as usize].into(),
        0x7f => "DELETE".into(),
        0x80..=0x9f => C1[(n - 0x80) as usize].into(),
        0xfe00..=0xfe0f => format!("VARIATION SELECTOR-{}", n - 0xfe00 + 1).into(),
        0xe0100..=0xe01ef => format!("VARIATION SELECTOR-{}", n - 0xe0100 + 17).into(),
        0x13430..=0x1343f => "EGYPTIAN HIEROGLYPH FORMAT CONTROL".into(),
        0x1bca0..=0x1bca3 => "SHORTHAND FORMAT CONTROL".into(),
        0x1d173..=0x1d17a => "MUSICAL SYMBOL FORMAT CONTROL".into(),
        0xe0020..=0xe007f => "TAG CHARACTER".into(),
        _ => match NAMED.iter().find(|(ch, _)| *ch == c) {
            Some((_, name)) => (*name).into(),
            None if is_unsafe(c) => "RESERVED INVISIBLE CODE POINT".into(),
            None => return format!("U+{n:04X}"),
        },
    };
    format!("U+{n:04X} {name}")
}

/// User-controlled text made safe to print: every character of
/// [`is_unsafe`] is written visibly (`\e` for ESC, `\0`, `\t`, `\n`, `\r`,
/// `\x07` for other C0 controls and DEL, `\u{9b}` for C1 controls and
/// `\u{202e}` for invisible characters). Backslashes are left as they are:
/// the text stays readable (paths, extraArgs), and where it matters the
/// decoder has already refused the real characters.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        push_escaped(&mut out, c);
    }
    Cow::Owned(out)
}

/// [`escape`] for text of several lines (error chains, step lists): the line
/// breaks stay, every other unsafe character is written visibly.
pub fn escape_lines(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| c != '\n' && is_unsafe(c)) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.split('\n')
            .map(|l| escape(l).into_owned())
            .collect::<Vec<_>>()
            .join("\n"),
    )
}

/// Append `c` to `out`, escaped if it is unsafe.
pub fn push_escaped(out: &mut String, c: char) {
    use std::fmt::Write;
    match c {
        '\0' => out.push_str("\\0"),
        '\t' => out.push_str("\\t"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\u{1b}' => out.push_str("\\e"),
        '\u{1}'..='\u{1f}' | '\u{7f}' => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c if is_unsafe(c) => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
        c => out.push(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        let cases: &[(&str, &str)] = &[
            ("plain /dev/sda", "plain /dev/sda"),
            ("données", "données"),
            ("\u{1b}[2J", "\\e[2J"),
            ("\u{1b}]0;title\u{7}", "\\e]0;title\\x07"),
            ("a\0b", "a\\0b"),
            ("a\tb\nc\r", "a\\tb\\nc\\r"),
            ("\u{7f}", "\\x7f"),
            ("\u{9b}31m", "\\u{9b}31m"),
            ("abc\u{202e}fed", "abc\\u{202e}fed"),
            ("\u{2066}x\u{2069}", "\\u{2066}x\\u{2069}"),
            ("zero\u{200b}width", "zero\\u{200b}width"),
            ("bom\u{feff}", "bom\\u{feff}"),
            ("line\u{2028}para\u{2029}", "line\\u{2028}para\\u{2029}"),
            ("tag\u{e0041}", "tag\\u{e0041}"),
            ("back\\slash", "back\\slash"),
        ];
        for (raw, shown) in cases {
            assert_eq!(escape(raw), *shown, "{raw:?}");
            assert!(!escape(raw).chars().any(is_unsafe));
        }
    }

    #[test]
    fn names() {
        let cases: &[(char, &str)] = &[
            ('\0', "U+0000 NULL"),
            ('\t', "U+0009 CHARACTER TABULATION"),
            ('\u{1b}', "U+001B ESCAPE"),
            ('\u{7f}', "U+007F DELETE"),
            ('\u{85}', "U+0085 NEXT LINE"),
            ('\u{9b}', "U+009B CONTROL SEQUENCE INTRODUCER"),
            ('\u{202e}', "U+202E RIGHT-TO-LEFT OVERRIDE"),
            ('\u{2066}', "U+2066 LEFT-TO-RIGHT ISOLATE"),
            ('\u{200b}', "U+200B ZERO WIDTH SPACE"),
            ('\u{feff}', "U+FEFF ZERO WIDTH NO-BREAK SPACE"),
            ('\u{fe0f}', "U+FE0F VARIATION SELECTOR-16"),
            ('\u{e0100}', "U+E0100 VARIATION SELECTOR-17"),
            ('\u{e0041}', "U+E0041 TAG CHARACTER"),
            ('\u{2065}', "U+2065 RESERVED INVISIBLE CODE POINT"),
            ('é', "U+00E9"),
        ];
        for (c, name) in cases {
            assert_eq!(char_name(*c), *name);
        }
    }

    #[test]
    fn classes() {
        for c in [
            '\0',
            '\t',
            '\n',
            '\u{1b}',
            '\u{7f}',
            '\u{80}',
            '\u{9f}',
            '\u{ad}',
            '\u{61c}',
            '\u{200b}',
            '\u{202a}',
            '\u{2066}',
            '\u{feff}',
            '\u{2028}',
            '\u{3164}',
            '\u{e0001}',
        ] {
            assert!(is_unsafe(c), "{c:?}");
        }
        for c in [
            ' ', 'a', 'é', '\u{a0}', 'ß', '中', '\u{301}', '😀', '\u{2010}', '\u{2070}',
        ] {
            assert!(!is_unsafe(c), "{c:?}");
        }
    }
}
