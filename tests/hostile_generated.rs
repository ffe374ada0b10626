//! Hostile layouts too big to commit, generated here: disko's one-line JSON
//! of about a megabyte with thousands of errors must give a bounded,
//! located, terminal-safe report and exit 2.

use std::path::Path;
use std::process::Command;

/// Same rule as tests/hostile_layouts.rs.
fn unsafe_char(c: char) -> bool {
    (c.is_control() && c != '\n')
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}' | '\u{2028}' | '\u{2029}')
}

fn plan(path: &Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_nasstrap"))
        .arg("plan")
        .arg(path)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The checks every report must pass: exit 2, nothing on stdout, every
/// error located, nothing raw that drives a terminal, and bounded.
fn check(path: &Path, code: i32, out: &str, err: &str) {
    assert_eq!(code, 2, "{err}");
    assert_eq!(out, "");
    assert!(err.len() < 64 << 10, "{} bytes of stderr", err.len());
    assert!(!err.chars().any(unsafe_char));
    let shown = path.display().to_string();
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error: ")).collect();
    assert!(!errors.is_empty());
    for l in errors {
        let rest = l
            .strip_prefix("error: ")
            .and_then(|r| r.strip_prefix(&shown))
            .and_then(|r| r.strip_prefix(':'))
            .unwrap_or_else(|| panic!("unlocated: {l}"));
        let mut it = rest.splitn(3, ':');
        assert!(it.next().unwrap().parse::<u32>().is_ok(), "{l}");
        assert!(it.next().unwrap().parse::<u32>().is_ok(), "{l}");
    }
    // No snippet line is longer than its window (60 + 40 columns, `…`
    // marks, the escapes of a few characters and the gutter).
    for l in err.lines().filter(|l| l.contains(" | ")) {
        assert!(l.chars().count() < 200, "{l}");
    }
}

/// disko's `nix eval --json` shape, on one line: `n` disks, each with an
/// unknown key, every tenth with an escape sequence in its device.
fn one_line_json(n: usize) -> String {
    let disks: Vec<String> = (0..n)
        .map(|i| {
            let dev = if i % 10 == 0 {
                format!("/dev/x{i}\\u001b[2J")
            } else {
                format!("/dev/x{i}")
            };
            format!(
                "\"d{i}\": {{\"_create\": \"( # disk d{i}\\n  type=disk\\n)\\n\", \"device\": \"{dev}\", \"type\": \"disk\", \"sise\": \"1G\"}}"
            )
        })
        .collect();
    format!(
        "{{\"_create\": \"set -efux\\n\", \"disk\": {{{}}}, \"mdadm\": {{}}}}\n",
        disks.join(", ")
    )
}

#[test]
fn a_megabyte_of_one_line_json_with_thousands_of_errors_gives_a_bounded_report() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("disko.json");
    let json = one_line_json(11_000);
    assert!(json.len() > 1 << 20, "{} bytes", json.len());
    assert_eq!(json.lines().count(), 1);
    std::fs::write(&path, &json).unwrap();
    let (code, out, err) = plan(&path);
    check(&path, code, &out, &err);
    // 11000 unknown keys and 1100 escape sequences, 50 of them shown.
    assert_eq!(err.lines().filter(|l| l.starts_with("error: ")).count(), 50);
    assert!(
        err.contains("… and 12050 more errors not shown\n"),
        "{}",
        &err[err.len().saturating_sub(300)..]
    );
    assert!(err.ends_with(": 12100 errors in the layout\n"));
    assert!(err.contains(
        ": disk.d0.device: the value contains an invisible or control character (U+001B ESCAPE)"
    ));
    assert!(err.contains(": disk.d1.sise: unknown key `sise`"));
}

#[test]
fn an_error_a_megabyte_into_a_line_shows_a_window_with_the_caret() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("disko.json");
    let mut json = one_line_json(11_000).replace(", \"sise\": \"1G\"", "");
    // Keep only the last escape sequence, far into the line.
    json = json.replace("\\u001b[2J", "");
    let at = json.rfind("\"type\": \"disk\"").unwrap();
    json.insert_str(at, "\"destroy\": \"\\u009b31m\", ");
    std::fs::write(&path, &json).unwrap();
    let (code, out, err) = plan(&path);
    check(&path, code, &out, &err);
    // The caret is on the escape itself, after the opening quote.
    let col = json[..at + "\"destroy\": \"".len()].chars().count() + 1;
    assert!(
        err.starts_with(&format!(
            "error: {}:1:{col}: disk.d10999.destroy: the value contains an invisible or control character (U+009B CONTROL SEQUENCE INTRODUCER)\n",
            path.display()
        )),
        "{err}"
    );
    // The window: `…`, 60 columns before the caret, 40 from it, `…`.
    let snippet = err.lines().nth(1).unwrap();
    let caret = err.lines().nth(2).unwrap();
    assert!(
        snippet.starts_with("  1 | …") && snippet.ends_with('…'),
        "{snippet}"
    );
    assert_eq!(caret, format!("    | {}^", " ".repeat(61)));
    assert_eq!(
        &snippet[snippet.find('…').unwrap()..].chars().nth(61),
        &Some('\\')
    );
}
