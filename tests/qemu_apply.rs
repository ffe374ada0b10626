//! The emulated Helios64 installed by the real aarch64 binary: the shipped
//! layouts applied from blank disks, a no-op second run, the partitions the
//! plan promised read back from the disk images on the host, the first 16 MiB
//! of the SD card untouched, the `plan --format sh` script agreeing with the
//! engine, and a guest killed mid-apply converging on the next boot.
//! Skips without QEMU (see `common::qemu::skip`); CI never skips.

mod common;

use common::qemu::{self, BootOpts, GIB, Guest, WorkDir};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};

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
    let o = g.ssh(&format!("NASSTRAP_NO_PROGRESS=1 nasstrap {args}"));
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into(),
        String::from_utf8_lossy(&o.stderr).into(),
    )
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

    let t = std::time::Instant::now();
    let (code, out, err) = nasstrap(&g, &format!("apply {l} {MAP} --events json"));
    eprintln!("qemu: apply {layout}: {:.1} s", t.elapsed().as_secs_f64());
    assert_eq!(code, 0, "{out}{err}");
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

#[test]
fn qemu_killed_mid_apply_converges() {
    if qemu::skip() {
        return;
    }
    let g = Guest::boot(BootOpts::default()).expect("boot");
    let l = "/layouts/helios64.yaml";
    g.ssh_ok(&format!(
        "(NASSTRAP_NO_PROGRESS=1 nasstrap apply {l} {MAP} > /tmp/apply.log 2>&1 &) ; true"
    ));
    // Let it get into the middle: tables written, some filesystems made.
    let start = std::time::Instant::now();
    loop {
        let log = g.ssh_ok("cat /tmp/apply.log");
        if log.contains("make ext4 on /dev/mmcblk0p2") || start.elapsed().as_secs() > 120 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let work = g.kill();
    let g = Guest::boot(BootOpts {
        work: Some(work),
        ..BootOpts::default()
    })
    .expect("second boot");
    let (code, out, err) = nasstrap(&g, &format!("diff {l} {MAP}"));
    assert_eq!(code, 0, "{out}{err}");
    eprintln!("qemu: after the kill, the diff says:\n{out}{err}");
    let all = "--allow-destroy emmc bay1 bay2 bay3 bay4 bay5";
    let (code, out, err) = nasstrap(&g, &format!("apply {l} {MAP} {all}"));
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = nasstrap(&g, &format!("diff {l} {MAP} --detailed-exitcode"));
    assert_eq!(code, 0, "converged\n{out}{err}");
    let (code, _, err) = nasstrap(&g, &format!("unmount {l} {MAP}"));
    assert_eq!(code, 0, "{err}");
    g.poweroff().expect("poweroff");
}
