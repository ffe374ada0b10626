//! Unsafe characters in scalars: the error, and where in the source the
//! character is (raw, or written as an escape in double quotes).

use super::{Kind, Node, unread_key};
use crate::layout::diag::{Diagnostic, Pos, char_name, is_unsafe};
use saphyr_parser::ScalarStyle;

/// The error for an unsafe character in a key or value.
pub(super) fn unsafe_char_error(at: Pos, path: String, what: &str, c: char) -> Diagnostic {
    let hint = match c {
        '\t' => "write spaces instead; no name, path or argument needs a tab",
        '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}' => {
            "write the value on one line; no name, path or argument spans lines"
        }
        '\u{feff}' => "delete the byte order mark; editors leave one where files were joined",
        _ => {
            "delete it: it can hide or reorder text or drive the terminal; retype the text if it was pasted"
        }
    };
    Diagnostic::error(
        Some(at),
        path,
        format!(
            "the {what} contains an invisible or control character ({})",
            char_name(c)
        ),
    )
    .with_hint(hint)
}

/// Search `text` (the source of one scalar, starting at `start`) for the
/// character `c` of its value. Line breaks are matched only in block
/// scalars, whose span starts at their content (elsewhere YAML folds
/// breaks); in double quotes, escapes are decoded.
pub(super) fn find_in_source(text: &str, start: Pos, style: ScalarStyle, c: char) -> Option<Pos> {
    let block = matches!(style, ScalarStyle::Literal | ScalarStyle::Folded);
    let double = matches!(style, ScalarStyle::DoubleQuoted);
    let (mut line, mut col) = (start.line, start.col);
    let mut it = text.chars().peekable();
    while let Some(ch) = it.next() {
        let here = Pos { line, col };
        if ch == '\n' || ch == '\r' {
            if ch == '\r' && it.peek() == Some(&'\n') {
                it.next();
            }
            if block && c == '\n' {
                return Some(here);
            }
            line += 1;
            col = 1;
            continue;
        }
        col += 1;
        if ch == '\\' && double {
            if unescape(&mut it, &mut col) == Some(c) {
                return Some(here);
            }
        } else if ch == c {
            return Some(here);
        }
    }
    None
}

/// The character a double-quoted escape stands for, consuming it after the
/// backslash (`col` follows); `None` for line continuations and bad escapes.
fn unescape(it: &mut std::iter::Peekable<std::str::Chars<'_>>, col: &mut u32) -> Option<char> {
    let e = *it.peek()?;
    if e == '\n' || e == '\r' {
        return None;
    }
    it.next();
    *col += 1;
    let hex = |n: usize, it: &mut std::iter::Peekable<std::str::Chars<'_>>, col: &mut u32| {
        let mut v = 0u32;
        for _ in 0..n {
            let d = it.peek()?.to_digit(16)?;
            it.next();
            *col += 1;
            v = v * 16 + d;
        }
        char::from_u32(v)
    };
    Some(match e {
        '0' => '\0',
        'a' => '\u{7}',
        'b' => '\u{8}',
        't' | '\t' => '\t',
        'n' => '\n',
        'v' => '\u{b}',
        'f' => '\u{c}',
        'r' => '\r',
        'e' => '\u{1b}',
        'N' => '\u{85}',
        '_' => '\u{a0}',
        'L' => '\u{2028}',
        'P' => '\u{2029}',
        'x' => hex(2, it, col)?,
        'u' => hex(4, it, col)?,
        'U' => hex(8, it, col)?,
        other => other,
    })
}

/// The first unsafe character in the parts of `n` that are read, for an
/// alias whose anchor was defined where nothing was checked.
pub(super) fn first_unsafe(n: &Node) -> Option<char> {
    match &n.kind {
        Kind::Scalar { value, .. } => value.chars().find(|c| is_unsafe(*c)),
        Kind::Seq(items) => items.iter().find_map(first_unsafe),
        Kind::Map(entries) => entries.iter().find_map(|(k, v)| {
            k.name
                .chars()
                .find(|c| is_unsafe(*c))
                .or_else(|| (!unread_key(&k.name)).then(|| first_unsafe(v)).flatten())
        }),
        _ => None,
    }
}
