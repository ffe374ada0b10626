//! The layout meets real disks (loop devices, real tools), through the binary
//! as a user runs it: blank → diff lists creates (exit 3) → apply → diff empty
//! (exit 0) → apply again writes nothing → a hand-made change → diff names
//! exactly it → refused while the partition it destroys is mounted, and
//! without --allow-destroy → converges.

mod common;

use common::loopdev;

use std::path::Path;
use std::process::Command;

struct Run {
    code: i32,
    out: String,
    err: String,
}

fn nasstrap(args: &[&str]) -> Run {
    let o = Command::new(env!("CARGO_BIN_EXE_nasstrap"))
        .args(args)
        .env("NASSTRAP_NO_PROGRESS", "1")
        .output()
        .unwrap();
    Run {
        code: o.status.code().unwrap_or(-1),
        out: String::from_utf8_lossy(&o.stdout).into(),
        err: String::from_utf8_lossy(&o.stderr).into(),
    }
}

fn sh(cmd: &str) {
    let s = Command::new("sh").args(["-c", cmd]).status().unwrap();
    assert!(s.success(), "{cmd}");
}

#[test]
fn blank_apply_rerun_change_refuse_converge() {
    if loopdev::skip_unless_available() {
        return;
    }
    let _g = loopdev::serial();
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c, bystander) = loopdev::layout_disks(dir.path());
    sh(&format!("mkfs.ext4 -q {}", bystander.device));
    let untouched = bystander.checksum();
    let root = dir.path().join("mnt");
    let root_s = root.display().to_string();
    let map = dir.path().join("disks.map");
    std::fs::write(
        &map,
        loopdev::layout_map(&a, &b, &c)
            .iter()
            .map(|(n, d)| format!("{n}={d}\n"))
            .collect::<String>(),
    )
    .unwrap();
    let layout = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/layouts/loop.yaml");
    let l = layout.to_str().unwrap();
    let m = map.to_str().unwrap();
    let common = ["--disk-map", m, "--mount-root", &root_s];
    let with = |cmd: &str, extra: &[&str]| -> Vec<String> {
        let mut v = vec![cmd.to_string(), l.to_string()];
        v.extend(common.iter().map(|s| s.to_string()));
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let run = |args: Vec<String>| nasstrap(&args.iter().map(String::as_str).collect::<Vec<_>>());

    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // Blank disks: creates only.
        let d = run(with("diff", &["--detailed-exitcode"]));
        assert_eq!(d.code, 3, "{}{}", d.out, d.err);
        assert!(!d.out.contains("DESTROY"), "{}", d.out);

        let ap = run(with("apply", &[]));
        assert_eq!(ap.code, 0, "{}{}", ap.out, ap.err);

        let d = run(with("diff", &["--detailed-exitcode"]));
        assert_eq!(d.code, 0, "{}{}", d.out, d.err);
        assert!(d.out.contains("no changes"), "{}", d.out);

        // A second apply is a no-op: nothing written.
        let sums: Vec<String> = [&a, &b, &c].iter().map(|l| l.checksum()).collect();
        let again = run(with("apply", &[]));
        assert_eq!(again.code, 0, "{}{}", again.out, again.err);
        assert!(again.err.contains("no changes"), "{}", again.err);
        assert_eq!(
            sums,
            [&a, &b, &c]
                .iter()
                .map(|l| l.checksum())
                .collect::<Vec<_>>()
        );

        // probe --as-layout describes what is there: its diff is empty.
        let p = nasstrap(&[
            "probe",
            "--as-layout",
            "--disk-map",
            m,
            "--mount-root",
            &root_s,
        ]);
        assert_eq!(p.code, 0, "{}", p.err);
        let described = dir.path().join("described.yaml");
        std::fs::write(&described, &p.out).unwrap();
        let d = nasstrap(&[
            "diff",
            described.to_str().unwrap(),
            "--disk-map",
            m,
            "--mount-root",
            &root_s,
            "--detailed-exitcode",
        ]);
        assert_eq!(d.code, 0, "{}\n{}{}", p.out, d.out, d.err);

        // A hand-made change: the xfs log partition becomes ext4.
        let logs = format!("{}p3", a.device);
        sh(&format!(
            "umount {root_s}/var/log && mkfs.ext4 -q -F {logs}"
        ));
        let d = run(with("diff", &["--detailed-exitcode"]));
        assert_eq!(d.code, 4, "{}{}", d.out, d.err);
        let changed: Vec<&str> = d
            .out
            .lines()
            .filter(|l| l.contains("DESTROY") || l.contains("create"))
            .collect();
        assert_eq!(changed.len(), 2, "{}", d.out);
        assert!(
            d.out.contains(&format!("DESTROY  make xfs on {logs}"))
                && d.out
                    .contains(&format!("because {logs} holds ext4 where xfs is planned")),
            "{}",
            d.out
        );

        // Refused while the partition it would destroy is mounted (the
        // others being mounted does not matter: nothing writes to them)…
        sh(&format!("mount {logs} {root_s}/var/log"));
        let r = run(with("apply", &["--allow-destroy", "a"]));
        assert_eq!(r.code, 1, "{}", r.err);
        assert!(
            r.err.contains(&format!(
                "refused: a: busy: {logs} is mounted on {root_s}/var/log"
            )),
            "{}",
            r.err
        );
        // …and, once unmounted, without --allow-destroy.
        let u = run(with("unmount", &[]));
        assert_eq!(u.code, 0, "{}", u.err);
        let before = a.checksum();
        let r = run(with("apply", &[]));
        assert_eq!(r.code, 1, "{}", r.err);
        assert!(
            r.err
                .contains("refusing to destroy data on a without --allow-destroy"),
            "{}",
            r.err
        );
        assert_eq!(a.checksum(), before, "a refused apply wrote to the disk");

        let ok = run(with("apply", &["--allow-destroy", "a"]));
        assert_eq!(ok.code, 0, "{}{}", ok.out, ok.err);
        let d = run(with("diff", &["--detailed-exitcode"]));
        assert_eq!(d.code, 0, "{}{}", d.out, d.err);
    }));
    loopdev::unmount_all(&root);
    assert_eq!(
        bystander.checksum(),
        untouched,
        "a loop device outside the layout changed"
    );
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}
