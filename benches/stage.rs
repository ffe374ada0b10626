//! nasstrap's flake staging (its own tar stream into one `tar -x` over the ssh master) against
//! `git archive HEAD | ssh … 'tar -x -C DEST'` over the same master, for a generated flake
//! of 2,000 files / 30 MB, against the throw-away sshd on 127.0.0.1. Each side runs several
//! times, alternating, into a RAM-backed directory; prints the medians and their ratio
//! (target <= 1.1).
//! Run: `cargo bench --bench stage` (needs sshd, ssh, git; see tests/common/skip.rs).

#[path = "../tests/common/mod.rs"]
mod common;

use common::skip::{self, Need};
use common::sshd::Sshd;
use nasstrap::remote::ssh::{Connection, quote};
use nasstrap::remote::stage::{self, Request};
use std::process::{Command, Stdio};
use std::time::Instant;

const FILES: usize = 2_000;
const BYTES: usize = 30 << 20;
const RUNS: usize = 11;

fn main() {
    let missing = skip::missing(&[Need::Sshd, Need::Tools(&["git"])]);
    if !missing.is_empty() {
        eprintln!("SKIP: {}", missing.join("; "));
        return;
    }
    let repo = common::flake::generated(FILES, BYTES);
    let sshd = Sshd::start();
    std::fs::write(sshd.path("known_hosts"), sshd.known_hosts_line() + "\n").unwrap();
    let conn = Connection::connect(&sshd.opts()).unwrap_or_else(|e| panic!("{e}"));
    // The target side in RAM: disk writeback of 30 MB a run swamps what is compared
    // (building and sending the stream), run to run, on a shared machine.
    let target = tempfile::tempdir_in("/dev/shm").unwrap_or_else(|_| tempfile::tempdir().unwrap());
    let ours_dest = target.path().join("ours/etc/nixos");
    let theirs_dest = target.path().join("theirs/etc/nixos");

    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    let mut staged = None;
    for _ in 0..RUNS {
        let req = Request {
            flake: repo.path(),
            with_git: false,
            dest: ours_dest.to_str().unwrap(),
            extra: None,
            root: "/",
        };
        let t = Instant::now();
        staged = Some(stage::stage(&conn, &req, &nasstrap::report::Silent).expect("stage"));
        ours.push(t.elapsed().as_secs_f64());

        let t = Instant::now();
        git_archive(&conn, repo.path(), theirs_dest.to_str().unwrap());
        theirs.push(t.elapsed().as_secs_f64());
    }
    let same = Command::new("diff")
        .args(["-r", "--no-dereference"])
        .arg(&ours_dest)
        .arg(&theirs_dest)
        .status()
        .unwrap()
        .success();
    assert!(same, "the two trees differ");
    let staged = staged.unwrap();
    let (o, t) = (median(&mut ours), median(&mut theirs));
    println!(
        "stage: {} files, {:.1} MiB stream, {RUNS} runs each",
        staged.files,
        staged.bytes as f64 / (1 << 20) as f64
    );
    println!(
        "  nasstrap stage:           median {o:.3} s  (runs {})",
        shown(&ours)
    );
    println!(
        "  git archive | ssh tar -x: median {t:.3} s  (runs {})",
        shown(&theirs)
    );
    println!("  ratio: {:.2} (target <= 1.1)", o / t);
    conn.close().unwrap();
}

/// The baseline: a fresh directory, `git archive HEAD` piped into `tar -x` over the master.
fn git_archive(conn: &Connection, repo: &std::path::Path, dest: &str) {
    let d = quote(dest);
    let mut remote = conn
        .command(&format!("rm -rf {d} && mkdir -p {d} && tar -x -f - -C {d}"))
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let mut archive = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["archive", "HEAD"])
        .stdout(remote.stdin.take().unwrap())
        .spawn()
        .unwrap();
    assert!(archive.wait().unwrap().success());
    assert!(remote.wait().unwrap().success());
}

fn median(v: &mut [f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[s.len() / 2]
}

fn shown(v: &[f64]) -> String {
    v.iter()
        .map(|x| format!("{x:.3}"))
        .collect::<Vec<_>>()
        .join(" ")
}
