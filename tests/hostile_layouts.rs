//! Hostile and malformed layouts, through the real binary.
//!
//! Every file under `tests/fixtures/hostile/` (any depth) must be refused by
//! `nasstrap plan FILE`: exit 2, nothing on stdout, every `error:` line located
//! (`FILE:LINE:COL:`), and no raw control, C1 or invisible/bidi character in
//! anything printed. Every file under `tests/fixtures/accepted/` must plan
//! (exit 0) with the same hygiene.
//!
//! Expectations: lines `# expect: TEXT` at the top of a YAML file, or the lines
//! of a sidecar `NAME.expect` file (for JSON), each a text stderr must contain.
//! `# args: …` adds arguments to `plan` (e.g. `--mount-root /target`).
//! `# unlocated` allows whole-file errors without a line (an empty file).

use std::path::{Path, PathBuf};
use std::process::Command;

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|x| x != "expect") {
            out.push(p);
        }
    }
    out.sort();
}

struct Header {
    expect: Vec<String>,
    args: Vec<String>,
    unlocated: bool,
}

fn header(p: &Path) -> Header {
    let bytes = std::fs::read(p).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    let mut h = Header {
        expect: Vec::new(),
        args: Vec::new(),
        unlocated: false,
    };
    for l in text.lines().take_while(|l| l.starts_with('#')) {
        if let Some(e) = l.strip_prefix("# expect: ") {
            h.expect.push(e.to_string());
        } else if let Some(a) = l.strip_prefix("# args: ") {
            h.args.extend(a.split_whitespace().map(String::from));
        } else if l.trim() == "# unlocated" {
            h.unlocated = true;
        }
    }
    if let Ok(side) = std::fs::read_to_string(p.with_extension("expect")) {
        h.expect
            .extend(side.lines().filter(|l| !l.is_empty()).map(String::from));
    }
    h
}

/// A character that must never reach a terminal raw from user input.
pub fn unsafe_char(c: char) -> bool {
    (c.is_control() && c != '\n')
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}' | '\u{2028}' | '\u{2029}')
}

fn run(p: &Path, extra: &[String]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_nasstrap"))
        .arg("plan")
        .arg(p)
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn hygiene(name: &str, text: &str) -> Option<String> {
    text.chars()
        .find(|c| unsafe_char(*c))
        .map(|c| format!("{name}: raw U+{:04X} in output:\n{text}", c as u32))
}

#[test]
fn hostile_layouts_are_refused_with_located_errors() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hostile");
    let mut all = Vec::new();
    files(&root, &mut all);
    let mut failures = Vec::new();
    for p in &all {
        let name = p.strip_prefix(&root).unwrap().display().to_string();
        let h = header(p);
        let (code, out, err) = run(p, &h.args);
        let shown = p.display().to_string();
        if code != 2 {
            failures.push(format!("{name}: exit {code}, want 2\n{out}{err}"));
            continue;
        }
        if !out.is_empty() {
            failures.push(format!("{name}: stdout not empty:\n{out}"));
        }
        failures.extend(hygiene(&name, &err));
        for l in err.lines().filter(|l| l.starts_with("error: ")) {
            let rest = l.strip_prefix("error: ").unwrap();
            let located = rest
                .strip_prefix(&shown)
                .and_then(|r| r.strip_prefix(':'))
                .is_some_and(|r| {
                    let mut it = r.splitn(3, ':');
                    let line = it.next().is_some_and(|n| n.parse::<u32>().is_ok());
                    let col = it.next().is_some_and(|n| n.parse::<u32>().is_ok());
                    line && col
                });
            if !located && !h.unlocated {
                failures.push(format!("{name}: error without file:line:col: {l}"));
            }
        }
        if !err.lines().any(|l| l.starts_with("error: ")) {
            failures.push(format!("{name}: exit 2 but no `error:` line:\n{err}"));
        }
        for e in &h.expect {
            if !err.contains(e.as_str()) {
                failures.push(format!("{name}: stderr lacks `{e}`:\n{err}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} hostile layouts misbehave:\n\n{}",
        failures.len(),
        all.len(),
        failures.join("\n\n")
    );
}

#[test]
fn lenient_layouts_plan() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/accepted");
    let mut all = Vec::new();
    files(&root, &mut all);
    let mut failures = Vec::new();
    for p in &all {
        let name = p.strip_prefix(&root).unwrap().display().to_string();
        let h = header(p);
        let (code, out, err) = run(p, &h.args);
        if code != 0 {
            failures.push(format!("{name}: exit {code}, want 0\n{err}"));
            continue;
        }
        failures.extend(hygiene(&name, &out));
        failures.extend(hygiene(&name, &err));
        for e in &h.expect {
            if !out.contains(e.as_str()) && !err.contains(e.as_str()) {
                failures.push(format!("{name}: output lacks `{e}`"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
