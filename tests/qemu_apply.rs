//! The emulated Helios64 installed by the real aarch64 binary: the shipped
//! layouts applied from blank disks, a no-op second run, the partitions the
//! plan promised read back from the disk images on the host, the first 16 MiB
//! of the SD card untouched, the `plan --format sh` script agreeing with the
//! engine, and a guest killed mid-apply (proven by apply's own events) converging on the
//! next boot.
//! Skips without QEMU (see `common::qemu::skip`); CI never skips.

mod common;

use common::qemu::{self, BootOpts, GIB, Guest, WorkDir};
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

const MAP: &str = "--disk-map /etc/nasstrap/guest.map --ignore-expect";
/// Bytes 32 KiB..16 MiB of the SD card: where idbloader, the U-Boot env and u-boot.itb live.
const FIRMWARE: std::ops::Range<u64> = (32 << 10)..(16 << 20);

/// A work dir whose SD card already holds a recognisable "bootloader" in the gap.
fn work_with_firmware() -> WorkDir {
    let work = WorkDir::new().expect("work dir");
    let mut f = File::create(work.image("emmc")).unwrap();
    f.set_len(16 * GIB).unwrap();
    f.seek(SeekFrom::Start(FIRMWARE.start)).unwrap();
    f.write_all(&pattern()).unwrap();
    work
}

fn pattern() -> Vec<u8> {
    (0..FIRMWARE.end - FIRMWARE.start)
        .map(|i| (i % 251) as u8 ^ 0x5a)
        .collect()
}

fn gap(work: &WorkDir) -> Vec<u8> {
    let mut f = File::open(work.image("emmc")).unwrap();
    f.seek(SeekFrom::Start(FIRMWARE.start)).unwrap();
    let mut buf = vec![0u8; (FIRMWARE.end - FIRMWARE.start) as usize];
    f.read_exact(&mut buf).unwrap();
    buf
}

/// `nasstrap ARGS` in the guest: (exit code, stdout, stderr).
fn nasstrap(g: &Guest, args: &str) -> (i32, String, String) {
    let o = g.nasstrap(args);
    (o.code, o.out, o.err)
}

/// Every partition the plan promised, read back from the images with the gpt crate.
fn check_tables(work: &WorkDir, plan: &serde_json::Value) {
    for d in plan["disks"].as_array().unwrap() {
        let name = d["name"].as_str().unwrap();
        let Some(t) = d["table"].as_object() else {
            continue;
        };
        let disk = gpt::GptConfig::new()
            .only_valid_headers(true)
            .open(work.image(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            disk.guid().to_string().to_uppercase(),
            t["disk_guid"].as_str().unwrap(),
            "{name}"
        );
        let got: Vec<_> = disk
            .partitions()
            .iter()
            .filter(|(_, p)| p.is_used())
            .collect();
        let want = t["partitions"].as_array().unwrap();
        assert_eq!(got.len(), want.len(), "{name}");
        for p in want {
            let n = p["number"].as_u64().unwrap() as u32;
            let g = &disk.partitions()[&n];
            assert_eq!(
                (g.first_lba, g.last_lba),
                (
                    p["first_lba"].as_u64().unwrap(),
                    p["last_lba"].as_u64().unwrap()
                ),
                "{name} p{n}"
            );
            assert_eq!(
                g.part_type_guid.guid.to_string().to_uppercase(),
                p["type_guid"].as_str().unwrap(),
                "{name} p{n}"
            );
            assert_eq!(g.name, p["label"].as_str().unwrap(), "{name} p{n}");
            assert_eq!(g.flags, p["attributes"].as_u64().unwrap(), "{name} p{n}");
        }
    }
}

fn apply_layout(layout: &str, setup: &str) {
    let work = work_with_firmware();
    let g = Guest::boot(BootOpts {
        work: Some(work),
        ..BootOpts::default()
    })
    .expect("boot");
    if !setup.is_empty() {
        g.ssh_ok(setup);
    }
    let l = format!("/layouts/{layout}");
    let (code, out, err) = nasstrap(&g, &format!("diff {l} {MAP} --detailed-exitcode"));
    assert_eq!(code, 3, "blank disks: creates only\n{out}{err}");
    assert!(!out.contains("DESTROY"), "{out}");
    let (_, plan_json, _) = nasstrap(&g, &format!("diff {l} {MAP} --json"));
    let plan: serde_json::Value = serde_json::from_str(&plan_json).expect("diff --json");

    // Every kernel block event during apply: no partition may vanish under it
    // (udev re-reading a table apply just wrote made md fail members at birth).
    g.ssh_ok("(udevadm monitor --kernel --subsystem-match=block > /tmp/apply-events 2>&1 </dev/null &) ; sleep 0.5");
    let t = std::time::Instant::now();
    let (code, out, err) = nasstrap(&g, &format!("apply {l} {MAP} --events json"));
    eprintln!("qemu: apply {layout}: {:.1} s", t.elapsed().as_secs_f64());
    assert_eq!(code, 0, "{out}{err}");
    let kernel = g.ssh_ok("sleep 1; pkill -x udevadm; cat /tmp/apply-events");
    let vanished: Vec<&str> = kernel
        .lines()
        .filter(|l| l.contains(" remove ") && l.contains("/block/") && l.split('/').count() > 2)
        .filter(|l| {
            // …/block/sdb/sdb1 (block): a partition below its disk.
            let path = l.split_whitespace().nth(2).unwrap_or("");
            let mut parts = path.rsplit('/');
            let (p, d) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            !d.is_empty() && p.starts_with(d) && p != d
        })
        .collect();
    assert!(
        vanished.is_empty(),
        "partitions vanished during apply:\n{}",
        vanished.join("\n")
    );
    assert!(
        kernel.contains(" add "),
        "the event monitor saw nothing:\n{kernel}"
    );
    let events: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON event per line"))
        .collect();
    assert_eq!(events.last().unwrap()["event"], "finish");
    assert_eq!(events.last().unwrap()["ok"], true);
    if let Some(m) = events.iter().find(|e| {
        e["event"] == "note"
            && e["message"]
                .as_str()
                .unwrap_or("")
                .starts_with("peak memory")
    }) {
        eprintln!("qemu: {layout}: {}", m["message"].as_str().unwrap());
    }

    let (code, out, err) = nasstrap(&g, &format!("diff {l} {MAP} --detailed-exitcode"));
    assert_eq!(code, 0, "after apply the diff is empty\n{out}{err}");
    let (code, _, err) = nasstrap(&g, &format!("apply {l} {MAP}"));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("no changes"), "second apply is a no-op: {err}");
    let (code, _, err) = nasstrap(&g, &format!("unmount {l} {MAP}"));
    assert_eq!(code, 0, "{err}");

    let work = g.poweroff().expect("poweroff");
    check_tables(&work, &plan);
    assert!(
        gap(&work) == pattern(),
        "the first 16 MiB of the SD card changed"
    );
}

#[test]
fn qemu_helios64_raid6_ext4() {
    if qemu::skip() {
        return;
    }
    apply_layout("helios64.yaml", "");
}

#[test]
fn qemu_helios64_luks_on_raid6() {
    if qemu::skip() {
        return;
    }
    // The passphrase lives in the rescue system's RAM only, never on a disk.
    apply_layout(
        "helios64-luks.yaml",
        "mkdir -p /run/nasstrap && umask 077 && printf 'correct horse battery staple\\n' > /run/nasstrap/tank.key",
    );
}

#[test]
fn qemu_helios64_btrfs_raid1() {
    if qemu::skip() {
        return;
    }
    apply_layout("helios64-btrfs.yaml", "");
}

#[test]
fn qemu_plan_sh_script_agrees_with_the_engine() {
    if qemu::skip() {
        return;
    }
    let g = Guest::boot(BootOpts::default()).expect("boot");
    let sizes = "--disk-size emmc=16GiB --disk-size bay1=4GiB --disk-size bay2=4GiB --disk-size bay3=4GiB --disk-size bay4=4GiB --disk-size bay5=4GiB";
    g.ssh_ok(&format!("nasstrap plan /layouts/helios64.yaml --disk-map /etc/nasstrap/guest.map {sizes} --format sh > /tmp/plan.sh"));
    let o = g.ssh("sh -eu /tmp/plan.sh");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (code, out, err) = nasstrap(
        &g,
        &format!("diff /layouts/helios64.yaml {MAP} --detailed-exitcode"),
    );
    assert_eq!(
        code, 0,
        "the script's result differs from the layout\n{out}{err}"
    );
    // A resyncing array keeps the guest from powering off: stop it cleanly.
    let (code, _, err) = nasstrap(&g, &format!("unmount /layouts/helios64.yaml {MAP}"));
    assert_eq!(code, 0, "{err}");
    g.poweroff().expect("poweroff");
}

/// `(subject, action kind)` of a plan step: what it makes, stable across plans (ids and
/// descriptions are not: a later plan may skip steps).
fn key(step: &serde_json::Value) -> (String, String) {
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
    (text(&step["subject"]), text(&step["action"]["kind"]))
}

/// Runs `apply --events json` in the guest, reading its events live on the host, and pulls
/// the plug the moment the step that makes the eMMC's root filesystem has started: the
/// tables and the boot filesystem are done by then, the filesystem on the array and the
/// mounts are not. The events prove where it died. The next boot's diff lists only what is
/// left, and an apply converges.
#[test]
fn qemu_killed_mid_apply_converges() {
    if qemu::skip() {
        return;
    }
    let g = Guest::boot(BootOpts::default()).expect("boot");
    let l = "/layouts/helios64.yaml";
    let (code, plan_json, err) = nasstrap(&g, &format!("diff {l} {MAP} --json"));
    assert_eq!(code, 0, "{err}");
    let plan: serde_json::Value = serde_json::from_str(&plan_json).expect("diff --json");
    let steps = plan["steps"].as_array().expect("steps");
    let root_fs = ("disk-emmc-root".to_string(), "mkfs".to_string());
    let target = steps
        .iter()
        .find(|s| key(s) == root_fs)
        .expect("a step makes the root fs");
    let (target, last) = (&target["id"], &steps.last().expect("steps")["id"]);

    let mut apply = g
        .ssh_command()
        .arg("--")
        .arg(format!(
            "NASSTRAP_NO_PROGRESS=1 nasstrap apply {l} {MAP} --events json 2>/tmp/apply.err"
        ))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("ssh");
    let (tx, rx) = mpsc::channel();
    let out = apply.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let parse = |line: String| -> serde_json::Value {
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: not an event: {line}"))
    };
    let mut events = Vec::new();
    let start = Instant::now();
    loop {
        let left = Duration::from_secs(300).saturating_sub(start.elapsed());
        let line = rx.recv_timeout(left);
        let e =
            parse(line.unwrap_or_else(|e| {
                panic!("step {target} never started ({e}); events: {events:#?}")
            }));
        events.push(e.clone());
        if e["event"] == "step_started" && e["id"] == *target {
            break;
        }
        if e["event"] == "finish" || e["event"] == "step_failed" {
            let err = g.ssh("cat /tmp/apply.err").stdout;
            let err = String::from_utf8_lossy(&err);
            panic!("apply ended before step {target}: {events:#?}\n{err}");
        }
    }
    let work = g.kill();
    eprintln!(
        "qemu: killed {:.1} s into apply, at step {target} of {last}",
        start.elapsed().as_secs_f64()
    );
    // Whatever apply printed before the plug was pulled and was still on its way.
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(30)) {
        events.push(parse(line));
    }
    let _ = (apply.kill(), apply.wait());
    let done = |id: &serde_json::Value| {
        events
            .iter()
            .any(|e| e["event"] == "step_done" && e["id"] == *id)
    };
    let starts = events.iter().filter(|e| e["event"] == "step_started");
    assert!(starts.count() >= 1, "no step started: {events:#?}");
    assert!(!done(target), "step {target} finished before the kill");
    assert!(
        !done(last),
        "the last step finished: the kill came too late"
    );
    assert!(
        !events.iter().any(|e| e["event"] == "finish"),
        "apply finished before the kill: {events:#?}"
    );
    // Tables, arrays and filesystems outlive the guest (mounts do not). apply runs steps of
    // independent disks in parallel, so which of them ran is what the events say.
    let kept = |s: &&serde_json::Value| {
        let kind = &s["action"]["kind"];
        kind == "write_gpt" || kind == "md_create" || kind == "mkfs"
    };
    let started = |id: &serde_json::Value| {
        events
            .iter()
            .any(|e| e["event"] == "step_started" && e["id"] == *id)
    };
    let finished = steps.iter().filter(kept).filter(|s| done(&s["id"]));
    let finished: Vec<(String, String)> = finished.map(key).collect();
    let unstarted = steps.iter().filter(kept).filter(|s| !started(&s["id"]));
    let unstarted: Vec<(String, String)> = unstarted.map(key).collect();
    assert!(
        !finished.is_empty(),
        "nothing lasting finished: {events:#?}"
    );

    let g = Guest::boot(BootOpts {
        work: Some(work),
        ..BootOpts::default()
    })
    .expect("second boot");
    let (code, out, err) = nasstrap(&g, &format!("diff {l} {MAP}"));
    assert_eq!(code, 0, "{out}{err}");
    eprintln!("qemu: after the kill, the diff says:\n{out}{err}");
    let (code, json, err) = nasstrap(&g, &format!("diff {l} {MAP} --json"));
    assert_eq!(code, 0, "{err}");
    let left: serde_json::Value = serde_json::from_str(&json).expect("diff --json");
    let left: Vec<(String, String)> = left["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter(|s| s["change"] != "keep")
        .map(key)
        .collect();
    // Only what is left: what finished stays done, what never started is still to do.
    for k in &finished {
        assert!(
            !left.contains(k),
            "{k:?} finished before the kill, yet is to do again:\n{out}"
        );
    }
    for k in &unstarted {
        assert!(
            left.contains(k),
            "{k:?} never started, yet is not to do:\n{out}"
        );
    }
    let all = "--allow-destroy emmc bay1 bay2 bay3 bay4 bay5";
    let (code, out, err) = nasstrap(&g, &format!("apply {l} {MAP} {all}"));
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = nasstrap(&g, &format!("diff {l} {MAP} --detailed-exitcode"));
    assert_eq!(code, 0, "converged\n{out}{err}");
    let (code, _, err) = nasstrap(&g, &format!("unmount {l} {MAP}"));
    assert_eq!(code, 0, "{err}");
    g.poweroff().expect("poweroff");
}
