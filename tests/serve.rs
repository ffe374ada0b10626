//! `nasstrap serve`, the target's side of `install`, refuses what it cannot
//! trust before touching anything: a line that is no request, and a laptop of
//! another version (it would misread the plan). The conversation itself is
//! tested against the emulated board (`tests/qemu_install.rs`).

use std::io::Write;
use std::process::{Command, Stdio};

fn serve(input: &str) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_nasstrap"))
        .arg("serve")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("nasstrap serve");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn a_line_that_is_no_request_is_bad_input() {
    let (code, out, err) = serve("rm -rf /\n");
    assert_eq!(code, 2, "{out}{err}");
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("not a request"), "{err}");
}

#[test]
fn a_laptop_of_another_version_is_refused_with_an_event() {
    let req = r#"{"request":"probe","version":"0.0.0-other","disks":[["bay1","/dev/sda"]],"wait_seconds":0}"#;
    let (code, out, err) = serve(&format!("{req}\n"));
    assert_eq!(code, 1, "{out}{err}");
    let line: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON line");
    assert_eq!(line["schema"], 1);
    assert_eq!(line["event"], "stopped");
    assert_eq!(line["kind"], "version");
    assert!(
        line["message"].as_str().unwrap().contains("0.0.0-other"),
        "{line}"
    );
}
