//! `nasstrap install` from this machine (the laptop) to the emulated Helios64
//! (the target) over SSH: the host's build of nasstrap drives, the guest's
//! copy is the cross-built aarch64 binary that `install` uploads itself.
//! Connection and round-trip counts come from the guest's sshd log
//! (`LogLevel VERBOSE`), never from the code under test.
//! Skips without QEMU (see `common::qemu::skip`); CI never skips.

mod common;

use common::qemu::{self, BootOpts, Guest};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Instant;

/// `nasstrap install LAYOUT …` against `g`, with events as JSON lines.
fn install(g: &Guest, layout: &str, extra: &[&str]) -> Command {
    install_checked_by(g, layout, &g.known_hosts(), extra)
}

/// [`install`], checking the host key against `known_hosts`.
fn install_checked_by(g: &Guest, layout: &str, known_hosts: &Path, extra: &[&str]) -> Command {
    let layout = qemu::repo_root().join("layouts").join(layout);
    let mut c = g.install_checked_by(&layout, known_hosts);
    c.args(["--events", "json"]).args(extra);
    c
}

fn run(mut c: Command) -> (i32, String, String) {
    let t = Instant::now();
    let Output {
        status,
        stdout,
        stderr,
    } = c.output().expect("running nasstrap install");
    eprintln!("install: {:.1} s, {status}", t.elapsed().as_secs_f64());
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stdout).into(),
        String::from_utf8_lossy(&stderr).into(),
    )
}

/// The events of a run with `--events json`.
fn events(out: &str) -> Vec<serde_json::Value> {
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn has(evs: &[serde_json::Value], kind: &str) -> bool {
    evs.iter().any(|e| e["event"] == kind)
}

/// The guest's sshd log from line `from` on.
fn sshd_log(g: &Guest, from: usize) -> Vec<String> {
    g.ssh_ok("cat /var/log/sshd.log")
        .lines()
        .skip(from)
        .map(str::to_string)
        .collect()
}

/// Connections accepted in `log`, by client port, and the sessions each started.
fn connections(log: &[String]) -> Vec<(String, usize)> {
    let port = |l: &str| {
        let p = l.split(" port ").nth(1)?;
        Some(p.split_whitespace().next()?.to_string())
    };
    let accepted: Vec<String> = log
        .iter()
        .filter(|l| l.contains("Accepted publickey"))
        .filter_map(|l| port(l))
        .collect();
    accepted
        .into_iter()
        .map(|p| {
            let n = log
                .iter()
                .filter(|l| l.contains("Starting session:") && port(l).as_deref() == Some(&p))
                .count();
            (p, n)
        })
        .collect()
}

fn log_len(g: &Guest) -> usize {
    g.ssh_ok("cat /var/log/sshd.log").lines().count()
}

#[test]
fn qemu_install_refuses_a_forged_host_key_before_anything_runs_and_waits_for_a_bay_by_name() {
    if qemu::skip() {
        return;
    }
    let g = Guest::boot(BootOpts::default()).expect("boot");
    let from = log_len(&g);
    // Another key for the same [127.0.0.1]:port: what a man in the middle shows.
    let other = g.work_dir().join("other_key");
    let made = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&other)
        .status()
        .expect("ssh-keygen");
    assert!(made.success());
    let pubkey = std::fs::read_to_string(other.with_extension("pub")).unwrap();
    let pubkey: Vec<&str> = pubkey.split_whitespace().take(2).collect();
    let forged = g.work_dir().join("forged_known_hosts");
    let line = format!("[127.0.0.1]:{} {}\n", g.port(), pubkey.join(" "));
    std::fs::write(&forged, line).unwrap();
    let real = Command::new("ssh-keygen")
        .arg("-lf")
        .arg(g.known_hosts())
        .output()
        .expect("ssh-keygen -lf");
    let real = String::from_utf8_lossy(&real.stdout);
    let real_fp = real
        .split_whitespace()
        .nth(1)
        .expect("a fingerprint")
        .to_string();

    let (code, out, err) = run(install_checked_by(&g, "helios64.yaml", &forged, &[]));
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains(&real_fp), "the offered key is shown: {err}");
    assert!(err.contains("--host-key"), "and how to pin it: {err}");
    // Nothing ran: no login, no session, nothing uploaded, no disk touched.
    let log = sshd_log(&g, from);
    assert!(connections(&log).is_empty(), "{log:#?}");
    g.ssh_ok("test ! -e /run/nasstrap");
    let parts = g.ssh_ok("cat /proc/partitions");
    assert!(!parts.contains("sda1"), "{parts}");

    // A wrong pin is refused too; the right one connects whatever known_hosts says.
    let wrong = [
        "--phases",
        "connect",
        "--host-key",
        "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ];
    let (code, out, err) = run(install_checked_by(&g, "helios64.yaml", &forged, &wrong));
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains(&real_fp), "{err}");
    let right = ["--phases", "connect", "--host-key", &real_fp];
    let (code, out, err) = run(install_checked_by(&g, "helios64.yaml", &forged, &right));
    assert_eq!(code, 0, "{out}{err}");

    // A bay whose link never comes up: waited for by name, then refused as missing.
    let late = ["--disk", "bay5=/dev/sdz", "--link-wait", "2"];
    let (code, out, err) = run(install(&g, "helios64.yaml", &late));
    assert_eq!(code, 1, "{out}{err}");
    let evs = events(&out);
    let waited = evs.iter().any(|e| {
        e["event"] == "waiting"
            && e["message"]
                .as_str()
                .unwrap()
                .starts_with("bay5 (/dev/sdz)")
    });
    assert!(waited, "{out}");
    let stopped = evs
        .iter()
        .find(|e| e["event"] == "stopped")
        .expect("stopped");
    assert_eq!(stopped["kind"], "refused", "{out}");
    g.ssh_ok("! grep -q sda1 /proc/partitions");
}

#[test]
fn qemu_install_helios64_converges_and_a_rerun_does_nothing() {
    if qemu::skip() {
        return;
    }
    let g = Guest::boot(BootOpts::default()).expect("boot");
    let from = log_len(&g);
    let (code, out, err) = run(install(&g, "helios64.yaml", &[]));
    assert_eq!(code, 0, "{out}{err}");
    let evs = events(&out);
    assert!(evs.iter().all(|e| e["schema"] == 1), "{out}");
    for kind in [
        "phase",
        "planned",
        "consented",
        "start",
        "step_done",
        "finish",
    ] {
        assert!(has(&evs, kind), "no {kind} event: {out}");
    }
    assert!(g.ssh_ok("cat /proc/mdstat").contains("raid6"));
    g.ssh_ok("mountpoint -q /mnt && mountpoint -q /mnt/boot && mountpoint -q /mnt/srv");
    let log = sshd_log(&g, from);
    let conns = connections(&log);
    // One master; preflight, upload, probe, apply: one session each.
    assert_eq!(conns.len(), 1, "{log:#?}");
    assert_eq!(conns[0].1, 4, "{log:#?}");

    let from = log_len(&g);
    let (code, out, err) = run(install(&g, "helios64.yaml", &[]));
    assert_eq!(code, 0, "{out}{err}");
    let evs = events(&out);
    assert!(has(&evs, "no_changes"), "{out}");
    assert!(!has(&evs, "step_started"), "{out}");
    let log = sshd_log(&g, from);
    let conns = connections(&log);
    // The binary is there already: preflight and the probe, one round trip each.
    assert_eq!(conns.len(), 1, "{log:#?}");
    assert_eq!(conns[0].1, 2, "{log:#?}");
}

#[test]
fn qemu_install_helios64_luks_converges() {
    if qemu::skip() {
        return;
    }
    let g = Guest::boot(BootOpts::default()).expect("boot");
    // The layout's passwordFile lives in the target's RAM for the install.
    g.ssh_ok("mkdir -p /run/nasstrap && printf 'correct horse battery' > /run/nasstrap/tank.key");
    let (code, out, err) = run(install(&g, "helios64-luks.yaml", &[]));
    assert_eq!(code, 0, "{out}{err}");
    g.ssh_ok("test -e /dev/mapper/tank-crypt && mountpoint -q /mnt/srv");
    let (code, out, err) = run(install(&g, "helios64-luks.yaml", &[]));
    assert_eq!(code, 0, "{out}{err}");
    assert!(has(&events(&out), "no_changes"), "{out}");
}

/// Starts an install, waits for its `n`th finished step, then sends `signal`
/// (`INT` as Ctrl-C does, or `KILL`) to the laptop's process; returns its exit
/// code (if any) and every event line it printed.
fn cut_after(g: &Guest, n: usize, signal: &str) -> (Option<i32>, Vec<String>) {
    let mut c = install(g, "helios64.yaml", &[]);
    c.stdout(Stdio::piped()).stderr(Stdio::null());
    let mut child = c.spawn().expect("install");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    let mut done = 0;
    while done < n {
        let line = lines.next().expect("the run ended early").unwrap();
        done += line.contains("\"step_done\"") as usize;
        seen.push(line);
    }
    let pid = child.id().to_string();
    let sent = Command::new("kill").args(["-s", signal, &pid]).status();
    assert!(sent.unwrap().success());
    seen.extend(lines.map(Result::unwrap));
    let status = child.wait().unwrap();
    (status.code(), seen)
}

fn ids(lines: &[String], kind: &str) -> Vec<u64> {
    let mut ids: Vec<u64> = events(&lines.join("\n"))
        .iter()
        .filter(|e| e["event"] == kind)
        .map(|e| e["id"].as_u64().unwrap())
        .collect();
    ids.sort();
    ids
}

#[test]
fn qemu_install_laptop_interrupted_or_killed_during_apply_then_run_again_converges() {
    if qemu::skip() {
        return;
    }
    let g = Guest::boot(BootOpts::default()).expect("boot");
    // Ctrl-C: the target finishes the steps at hand, starts no other, and says so.
    let (code, seen) = cut_after(&g, 3, "INT");
    assert_eq!(code, Some(1), "{seen:#?}");
    let evs = events(&seen.join("\n"));
    let stopped: Vec<_> = evs.iter().filter(|e| e["event"] == "stopped").collect();
    assert_eq!(stopped.len(), 1, "{seen:#?}");
    assert_eq!(stopped[0]["kind"], "interrupted", "{seen:#?}");
    assert_eq!(
        ids(&seen, "step_started"),
        ids(&seen, "step_done"),
        "no step cut: {seen:#?}"
    );
    let total = evs.iter().find(|e| e["event"] == "start").unwrap()["total"]
        .as_u64()
        .unwrap();
    assert!((ids(&seen, "step_done").len() as u64) < total, "{seen:#?}");
    g.ssh_ok("! pgrep -f '[n]asstrap serve'");

    // SIGKILL: no handler runs; the target notices its laptop is gone.
    let (code, seen) = cut_after(&g, 3, "KILL");
    assert_eq!(code, None, "{seen:#?}");

    let (code, out, err) = run(install(&g, "helios64.yaml", &[]));
    assert_eq!(code, 0, "{out}{err}");
    let evs = events(&out);
    let resumed = evs.iter().any(|e| {
        e["event"] == "note" && e["message"].as_str().unwrap_or("").starts_with("resuming:")
    });
    assert!(resumed, "the journal of the cut run is shown: {out}");
    g.ssh_ok("mountpoint -q /mnt/srv");
    let (code, out, err) = run(install(&g, "helios64.yaml", &[]));
    assert_eq!(code, 0, "{out}{err}");
    assert!(has(&events(&out), "no_changes"), "{out}");
}

#[test]
fn qemu_install_refuses_a_plan_whose_disks_changed_since_it_was_shown() {
    if qemu::skip() {
        return;
    }
    let g = Guest::boot(BootOpts::default()).expect("boot");
    let saved: PathBuf = g.work_dir().join("plan.json");
    let save = ["--save-plan", saved.to_str().unwrap()];
    let (code, out, err) = run(install(&g, "helios64.yaml", &save));
    assert_eq!(code, 0, "{out}{err}");
    assert!(has(&events(&out), "planned"), "{out}");
    g.ssh_ok("test ! -e /proc/mdstat || ! grep -q md /proc/mdstat");

    // By hand, in between: a partition on bay3.
    g.ssh_ok("sgdisk -n 1:2048:+64M /dev/sdc >/dev/null && partx -u /dev/sdc 2>/dev/null; true");
    let before = g.storage_state();
    let apply = ["--plan", saved.to_str().unwrap()];
    let (code, out, err) = run(install(&g, "helios64.yaml", &apply));
    assert_eq!(code, 1, "{out}{err}");
    let evs = events(&out);
    let stopped = evs
        .iter()
        .find(|e| e["event"] == "stopped")
        .unwrap_or_else(|| panic!("no stopped event: {out}"));
    assert_eq!(stopped["kind"], "changed", "{out}");
    let msg = stopped["message"].as_str().unwrap();
    assert!(msg.contains("/dev/sdc"), "says what changed: {msg}");
    assert_eq!(g.storage_state(), before, "nothing was changed");

    // A fresh look shows the partition, and the run with consent converges.
    let (code, out, err) = run(install(&g, "helios64.yaml", &["--allow-destroy", "bay3"]));
    assert_eq!(code, 0, "{out}{err}");
    eprintln!("refusal shown: {msg}");
}
