//! The binary's exit codes and outputs, as a script sees them.

use std::process::Command;

fn nasstrap(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_nasstrap"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn plan_of_the_shipped_layout_exits_zero() {
    let (code, out, err) = nasstrap(&["plan", "layouts/helios64.yaml"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("p1  boot         sectors       32768..2129919"),
        "{out}"
    );
    assert!(
        out.ends_with("26 steps; 6 destroy what is on: emmc, bay1, bay2, bay3, bay4, bay5\n"),
        "{out}"
    );
}

#[test]
fn bad_layout_exits_two_with_every_error() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bad.yaml");
    std::fs::write(&f, "disk:\n  d1:\n    device: /dev/sda\n    content: { type: gpt, partitions: { a: { size: 10GB }, b: { sise: 1G } } }\n").unwrap();
    let (code, out, err) = nasstrap(&["plan", f.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert_eq!(out, "");
    assert!(
        err.contains("bad.yaml:4:52: disk.d1.content.partitions.a.size: `10GB`: unknown unit `GB`"),
        "{err}"
    );
    assert!(
        err.contains("bad.yaml:4:65: disk.d1.content.partitions.b.sise: unknown key `sise`"),
        "{err}"
    );
    assert!(err.ends_with("2 errors in the layout\n"), "{err}");
}

#[test]
fn bad_arguments_exit_two() {
    assert_eq!(
        nasstrap(&["plan", "layouts/helios64.yaml", "--disk-size", "bay9=1TiB"]).0,
        2
    );
    assert_eq!(
        nasstrap(&["plan", "layouts/helios64.yaml", "--disk-size", "bay1=1TB"]).0,
        2
    );
    assert_eq!(nasstrap(&["plan", "no/such/file.yaml"]).0, 2);
    assert_eq!(nasstrap(&["plan"]).0, 2);
}

#[test]
fn disk_map_file_remaps_devices() {
    let dir = tempfile::tempdir().unwrap();
    let map = dir.path().join("guest.map");
    std::fs::write(&map, "# guest\nemmc=/dev/mmcblk0\nbay1=/dev/sda\n").unwrap();
    let (code, out, err) = nasstrap(&[
        "plan",
        "layouts/helios64.yaml",
        "--disk-map",
        map.to_str().unwrap(),
        "--disk",
        "bay2=/dev/sdb",
        "--format",
        "sh",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("\nwipefs --all --quiet /dev/mmcblk0\n")
            && out.contains("/dev/mmcblk0p1")
            && out.contains("/dev/sdb1"),
        "{out}"
    );
}

#[test]
fn schema_is_json() {
    let (code, out, _) = nasstrap(&["schema"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["$schema"], "http://json-schema.org/draft-07/schema#");
    assert!(
        v["definitions"]["content"]["oneOf"]
            .as_array()
            .unwrap()
            .len()
            >= 7
    );
}

#[test]
fn committed_schema_is_current() {
    let (_, out, _) = nasstrap(&["schema"]);
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/layout.schema.json"
    ))
    .unwrap();
    assert_eq!(
        committed, out,
        "regenerate with: cargo run -- schema > docs/layout.schema.json"
    );
}
