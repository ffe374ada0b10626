//! Diagnostics for layout files: every problem at once, each with file:line:col,
//! the YAML path it concerns, what is wrong and a hint.
//!
//! Everything user-controlled that is printed (messages quote values, paths
//! hold keys, the snippet is a source line) goes through [`escape`]: a layout
//! must not be able to drive the terminal. A hostile file must not flood it
//! either: snippets are a window around the column, long texts are clipped in
//! the middle, and only the first [`MAX_SHOWN`] diagnostics are printed.

mod chars;

pub use chars::{char_name, escape, escape_lines, is_unsafe, push_escaped};

use std::borrow::Cow;
use std::fmt;
use unicode_width::UnicodeWidthChar;

/// At most this many diagnostics are printed; the rest are counted.
pub const MAX_SHOWN: usize = 50;
/// Columns of the source line shown before the caret.
const BEFORE: usize = 60;
/// Columns of the source line shown from the caret on.
const AFTER: usize = 40;
/// Messages, paths and hints longer than this (in characters) are clipped in the middle.
const MAX_TEXT: usize = 300;

/// A position in the layout source, 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, serde::Serialize)]
pub struct Pos {
    /// 1-based line.
    pub line: u32,
    /// 1-based column (in characters).
    pub col: u32,
}

/// The position of byte `at` of `src`, counting lines as YAML does (LF,
/// CRLF or a lone CR) and columns in characters.
pub fn pos_at(src: &str, at: usize) -> Pos {
    let before = &src[..at];
    let line_start = before.rfind(['\n', '\r']).map_or(0, |i| i + 1);
    let breaks = before.matches('\n').count() + before.matches('\r').count()
        - before.matches("\r\n").count();
    Pos {
        line: breaks as u32 + 1,
        col: before[line_start..].chars().count() as u32 + 1,
    }
}

/// How bad a diagnostic is: errors stop the run (exit code 2), warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The layout cannot be planned.
    Error,
    /// The layout plans, but probably not as the user meant.
    Warning,
}

/// One problem found in a layout.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// Where in the file; `None` for problems of the whole file (e.g. empty).
    pub pos: Option<Pos>,
    /// The YAML path, e.g. `disk.bay3.content.partitions.data.size`; empty for the root.
    pub path: String,
    /// What is wrong, lowercase, one line.
    pub message: String,
    /// How to fix it, if there is something useful to say.
    pub hint: Option<String>,
}

impl Diagnostic {
    /// An error at `pos` concerning `path`.
    pub fn error(pos: Option<Pos>, path: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            pos,
            path: path.into(),
            message: message.into(),
            hint: None,
        }
    }

    /// A warning at `pos` concerning `path`.
    pub fn warning(pos: Option<Pos>, path: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            pos,
            path: path.into(),
            message: message.into(),
            hint: None,
        }
    }

    /// The same diagnostic with a hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// `line:col: path: message` without the file name or hint: what tests
    /// compare. Path and message are escaped, never clipped.
    pub fn short(&self) -> String {
        let mut s = String::new();
        if let Some(p) = self.pos {
            s.push_str(&format!("{}:{}: ", p.line, p.col));
        }
        if !self.path.is_empty() {
            s.push_str(&escape(&self.path));
            s.push_str(": ");
        }
        s.push_str(&escape(&self.message));
        s
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.short())?;
        if let Some(h) = &self.hint {
            write!(f, "\n  hint: {}", escape(h))?;
        }
        Ok(())
    }
}

/// All the problems of one layout file, rendered against its source.
#[derive(Debug, Clone)]
pub struct Report {
    /// The file name as the user gave it.
    pub file: String,
    /// The source text, for the snippet under each diagnostic.
    pub source: String,
    /// Errors and warnings in file order.
    pub diagnostics: Vec<Diagnostic>,
}

impl Report {
    /// True when any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }

    /// Number of errors.
    pub fn error_count(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines = if self.diagnostics.iter().any(|d| d.pos.is_some()) {
            source_lines(&self.source)
        } else {
            Vec::new()
        };
        for d in self.diagnostics.iter().take(MAX_SHOWN) {
            let sev = match d.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            let file = shown(&self.file);
            let loc = match d.pos {
                Some(p) => format!("{file}:{}:{}", p.line, p.col),
                None => file.into_owned(),
            };
            let path = if d.path.is_empty() {
                String::new()
            } else {
                format!("{}: ", shown(&d.path))
            };
            writeln!(f, "{sev}: {loc}: {path}{}", shown(&d.message))?;
            if let Some(p) = d.pos
                && let Some(text) = (p.line as usize).checked_sub(1).and_then(|i| lines.get(i))
            {
                let n = p.line.to_string();
                let (window, caret) = snippet(text, p.col);
                writeln!(f, "  {n} | {window}")?;
                writeln!(f, "  {} | {}^", " ".repeat(n.len()), " ".repeat(caret))?;
            }
            if let Some(h) = &d.hint {
                writeln!(f, "  hint: {}", shown(h))?;
            }
        }
        let hidden = &self.diagnostics[self.diagnostics.len().min(MAX_SHOWN)..];
        if !hidden.is_empty() {
            let errors = hidden
                .iter()
                .filter(|d| d.severity == Severity::Error)
                .count();
            let warnings = hidden.len() - errors;
            let mut parts = Vec::new();
            if errors > 0 {
                parts.push(plural(errors, "more error"));
            }
            if warnings > 0 {
                parts.push(plural(warnings, "more warning"));
            }
            writeln!(f, "… and {} not shown", parts.join(" and "))?;
        }
        let errors = self.error_count();
        if errors > 0 {
            writeln!(
                f,
                "{}: {} in the layout",
                shown(&self.file),
                plural(errors, "error")
            )?;
        }
        Ok(())
    }
}

fn plural(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// User text as printed: escaped, and clipped in the middle when very long
/// (a message quoting a megabyte-long value must not flood the terminal).
fn shown(s: &str) -> Cow<'_, str> {
    let e = escape(s);
    if e.chars().count() <= MAX_TEXT {
        return e;
    }
    let head: String = e.chars().take(MAX_TEXT * 2 / 3).collect();
    let tail: Vec<char> = e.chars().rev().take(MAX_TEXT / 4).collect();
    let tail: String = tail.into_iter().rev().collect();
    Cow::Owned(format!("{head} … {tail}"))
}

/// The source split at YAML's line breaks (LF, CRLF and a lone CR, as the
/// parser counts lines), so line numbers match the parser's.
fn source_lines(src: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let b = src.as_bytes();
    let (mut start, mut i) = (0, 0);
    while i < b.len() {
        match b[i] {
            b'\n' => {
                out.push(&src[start..i]);
                start = i + 1;
            }
            b'\r' => {
                out.push(&src[start..i]);
                if b.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if start < b.len() {
        out.push(&src[start..]);
    }
    out
}

/// How wide `c` is once printed: its escape for unsafe characters, else its
/// terminal width (2 for East Asian wide characters, 0 for combining marks).
fn width(c: char) -> usize {
    if is_unsafe(c) {
        let mut s = String::new();
        push_escaped(&mut s, c);
        s.len()
    } else {
        c.width().unwrap_or(1)
    }
}

/// The part of `line` shown under a diagnostic at column `col` (1-based, in
/// characters): up to [`BEFORE`] columns before it and [`AFTER`] from it on,
/// escaped, with `…` where the line is cut; and how many columns the caret
/// is indented. Disko's one-line JSON would otherwise print a megabyte per error.
fn snippet(line: &str, col: u32) -> (String, usize) {
    let at = line
        .char_indices()
        .nth(col.saturating_sub(1) as usize)
        .map(|(i, _)| i)
        .unwrap_or(line.len());
    let (before, after) = line.split_at(at);
    let mut left = Vec::new();
    let mut used = 0;
    let mut cut_left = false;
    for c in before.chars().rev() {
        let w = width(c);
        if used + w > BEFORE {
            cut_left = true;
            break;
        }
        used += w;
        left.push(c);
    }
    let mut out = String::new();
    let mut caret = used;
    if cut_left {
        out.push('…');
        caret += 1;
    }
    for c in left.into_iter().rev() {
        push_escaped(&mut out, c);
    }
    let mut used = 0;
    for c in after.chars() {
        let w = width(c);
        if used + w > AFTER {
            out.push('…');
            break;
        }
        used += w;
        push_escaped(&mut out, c);
    }
    (out, caret)
}

/// Closest candidate within a small edit distance, for "did you mean" hints.
pub fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let word_l = word.to_ascii_lowercase();
    candidates
        .iter()
        .map(|c| (edit_distance(&word_l, &c.to_ascii_lowercase()), *c))
        .filter(|(d, c)| *d <= (c.len() / 3).max(1) + usize::from(c.len() > 6))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Edit distance with transpositions (optimal string alignment); inputs are
/// short keys, so O(n·m) is fine.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The window and the caret line as printed, joined for comparison.
    fn shown_at(line: &str, col: u32) -> String {
        let (w, caret) = snippet(line, col);
        format!("{w}\n{}^", " ".repeat(caret))
    }

    #[test]
    fn snippets_are_windows_with_the_caret_under_the_column() {
        let cases: &[(&str, u32, &str)] = &[
            ("  size: 10GB", 9, "  size: 10GB\n        ^"),
            // Past the end of the line (an error at a line break).
            ("a: b", 5, "a: b\n    ^"),
            // Escaped characters widen the line; the caret follows.
            ("a: \u{1b}[2Jx", 8, "a: \\e[2Jx\n        ^"),
            ("\tb: 1", 2, "\\tb: 1\n  ^"),
            ("k: \u{202e}x", 5, "k: \\u{202e}x\n           ^"),
            // Wide characters take two columns, combining marks none.
            ("名前: 日本語x", 8, "名前: 日本語x\n            ^"),
            ("e\u{301}e\u{301}: x", 7, "e\u{301}e\u{301}: x\n    ^"),
        ];
        for (line, col, want) in cases {
            assert_eq!(shown_at(line, *col), *want, "{line:?}");
        }
    }

    #[test]
    fn long_lines_are_cut_around_the_column() {
        let line = format!("{}X{}", "a".repeat(1000), "b".repeat(1000));
        assert_eq!(
            shown_at(&line, 1001),
            format!(
                "…{}X{}…\n{}^",
                "a".repeat(60),
                "b".repeat(39),
                " ".repeat(61)
            )
        );
        // Near the start only the right is cut, near the end only the left.
        assert_eq!(shown_at(&line, 3), format!("{}…\n  ^", "a".repeat(42)));
        assert_eq!(
            shown_at(&line, 2001),
            format!("…{}\n{}^", "b".repeat(61), " ".repeat(61))
        );
        // Wide characters count two columns each in the window.
        let wide = format!("{}X", "日".repeat(100));
        assert_eq!(
            shown_at(&wide, 101),
            format!("…{}X\n{}^", "日".repeat(30), " ".repeat(61))
        );
    }

    #[test]
    fn lines_split_as_yaml_counts_them() {
        assert_eq!(source_lines("a\nb\r\nc\rd"), ["a", "b", "c", "d"]);
        assert_eq!(source_lines("a\n\nb\n"), ["a", "", "b"]);
    }

    fn report(source: &str, diagnostics: Vec<Diagnostic>) -> String {
        Report {
            file: "l.yaml".into(),
            source: source.into(),
            diagnostics,
        }
        .to_string()
    }

    #[test]
    fn reports_escape_everything_they_print() {
        let d = Diagnostic::error(
            Some(Pos { line: 2, col: 8 }),
            "disk.\u{1b}]0;x\u{7}",
            "unknown key `\u{9b}2J`",
        )
        .with_hint("did you mean `\u{202e}`?");
        assert_eq!(
            report("disk:\n  d: { \u{1b}]0;x\u{7}: 1 }\n", vec![d]),
            "error: l.yaml:2:8: disk.\\e]0;x\\x07: unknown key `\\u{9b}2J`\n  2 |   d: { \\e]0;x\\x07: 1 }\n    |        ^\n  hint: did you mean `\\u{202e}`?\nl.yaml: 1 error in the layout\n"
        );
    }

    #[test]
    fn reports_print_fifty_diagnostics_and_count_the_rest() {
        let mut ds: Vec<Diagnostic> = (1..=60)
            .map(|i| Diagnostic::error(Some(Pos { line: 1, col: i }), "", format!("e{i}")))
            .collect();
        ds.push(Diagnostic::warning(None, "", "w"));
        let out = report("x\n", ds);
        assert_eq!(out.lines().filter(|l| l.starts_with("error: ")).count(), 50);
        assert!(out.ends_with("… and 10 more errors and 1 more warning not shown\nl.yaml: 60 errors in the layout\n"), "{out}");
    }

    #[test]
    fn long_texts_are_clipped_in_the_middle() {
        let long = format!("`{}` is not a size", "9".repeat(5000));
        let out = report("", vec![Diagnostic::error(None, "", long)]);
        let first = out.lines().next().unwrap();
        assert_eq!(
            first,
            format!(
                "error: l.yaml: `{} … {}` is not a size",
                "9".repeat(199),
                "9".repeat(60)
            )
        );
    }

    #[test]
    fn suggestions() {
        let keys = ["mountpoint", "mountOptions", "format", "extraArgs"];
        assert_eq!(did_you_mean("mountpont", &keys), Some("mountpoint"));
        assert_eq!(did_you_mean("mount_options", &keys), Some("mountOptions"));
        assert_eq!(did_you_mean("fromat", &keys), Some("format"));
        assert_eq!(did_you_mean("zzz", &keys), None);
    }
}
