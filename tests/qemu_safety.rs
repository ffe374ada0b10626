//! The installer meets disks that are not blank or not healthy, in the emulated Helios64:
//! a previous NAS's running md array (destroyed only when allowed, untouched otherwise),
//! and a bay whose reads fail (refused before anything is written). These are the spec for
//! issue 7's engine work. Skips without QEMU (see `common::skip`); CI never skips.

mod common;

use common::qemu::{self, BootOpts, DISKS, Guest};
use std::io::{Read, Seek, SeekFrom};

const LAYOUT: &str = "/layouts/helios64.yaml";
const MAP: &str = "--disk-map /etc/nasstrap/guest.map --ignore-expect";
const ALL: &str = "--allow-destroy bay1 bay2 bay3 bay4 bay5 emmc";

/// The DESTROY steps of a text diff, each with its indented `because …` lines.
fn destroying(diff: &str) -> Vec<String> {
    let mut steps: Vec<String> = Vec::new();
    let mut inside = false;
    for line in diff.lines() {
        let numbered = line.trim_start().starts_with(|c: char| c.is_ascii_digit());
        if numbered {
            inside = line.contains(" DESTROY ");
            if inside {
                steps.push(line.to_string());
            }
        } else if inside && line.starts_with("    ") {
            let step = steps.last_mut().expect("a DESTROY step");
            step.push('\n');
            step.push_str(line);
        } else {
            inside = false;
        }
    }
    steps
}

/// The previous NAS's array is up (udev assembled it at boot), so apply must take it down
/// to install, and only when told to.
#[test]
fn installer_on_a_previous_nas() {
    if qemu::skip() {
        return;
    }
    let work = qemu::previous_nas().expect("the previous NAS's disks");
    let g = Guest::boot(BootOpts {
        work: Some(work),
        ..BootOpts::default()
    })
    .expect("boot");
    let mdstat = g.ssh_ok("cat /proc/mdstat");
    assert!(qemu::oldnas_assembled(&mdstat), "{mdstat}");

    // (1) The diff names what would be destroyed, the old array included.
    let d = g.nasstrap(&format!("diff {LAYOUT} {MAP} --detailed-exitcode"));
    assert_eq!(d.code, 4, "destroys\n{}{}", d.out, d.err);
    assert!(
        destroying(&d.out)
            .iter()
            .any(|step| step.contains("md127") || step.contains("oldnas")),
        "no DESTROY names the old array:\n{}",
        d.out
    );

    // (2) Without --allow-destroy and with nobody to ask: refused, and nothing changed.
    let before = g.storage_state();
    let r = g.nasstrap(&format!("apply {LAYOUT} {MAP}"));
    assert_eq!(r.code, 1, "{}{}", r.out, r.err);
    assert!(r.err.contains("re-run with --allow-destroy"), "{}", r.err);
    let changed = qemu::changes(&before, &g.storage_state());
    assert!(changed.is_empty(), "a refused apply changed:\n{changed}");

    // (3) Allowed: it installs over the old array.
    let a = g.nasstrap(&format!("apply {LAYOUT} {MAP} {ALL}"));
    assert_eq!(a.code, 0, "{}{}", a.out, a.err);

    // (4) And it converged: nothing left to do.
    let again = g.nasstrap(&format!("apply {LAYOUT} {MAP}"));
    assert_eq!(again.code, 0, "{}{}", again.out, again.err);
    assert!(again.err.contains("no changes"), "{}", again.err);
    let d = g.nasstrap(&format!("diff {LAYOUT} {MAP} --detailed-exitcode"));
    assert_eq!(d.code, 0, "converged\n{}{}", d.out, d.err);
    let u = g.nasstrap(&format!("unmount {LAYOUT} {MAP}"));
    assert_eq!(u.code, 0, "{}", u.err);
    g.poweroff().expect("poweroff");
}

/// bay3 fails every read (QEMU blkdebug). A disk nasstrap cannot read is a disk it cannot
/// know is blank: the diff refuses it, and apply writes nothing anywhere, even with every
/// destruction allowed.
#[test]
fn apply_refuses_to_write_over_an_unreadable_bay() {
    if qemu::skip() {
        return;
    }
    let g = Guest::boot(BootOpts {
        read_errors: vec!["bay3"],
        ..BootOpts::default()
    })
    .expect("boot");
    let readable: Vec<_> = DISKS.into_iter().filter(|d| d.name != "bay3").collect();
    let before = g.fingerprints(&readable);

    let d = g.nasstrap(&format!("diff {LAYOUT} {MAP}"));
    assert_eq!(d.code, 1, "{}{}", d.out, d.err);
    let refusal = d.err.lines().find(|l| l.starts_with("refused: bay3"));
    assert!(
        refusal.is_some_and(|l| l.contains("read")),
        "no refusal of bay3 for its reads:\n{}",
        d.err
    );

    let a = g.nasstrap(&format!("apply {LAYOUT} {MAP} {ALL}"));
    assert_eq!(a.code, 1, "{}{}", a.out, a.err);
    assert!(a.err.contains("bay3"), "{}", a.err);
    let changed = qemu::changes(&before, &g.fingerprints(&readable));
    assert!(changed.is_empty(), "a refused apply wrote:\n{changed}");
    let work = g.poweroff().expect("poweroff");

    // The host sees every image as blank as it began, bay3 included (its writes would work).
    for d in DISKS {
        let mut f = std::fs::File::open(work.image(d.name)).unwrap();
        let len = f.metadata().unwrap().len();
        for (what, at, size) in [("head", 0, 4 << 20), ("tail", len - (1 << 20), 1 << 20)] {
            let mut buf = vec![0u8; size];
            f.seek(SeekFrom::Start(at)).unwrap();
            f.read_exact(&mut buf).unwrap();
            assert!(buf.iter().all(|&b| b == 0), "{} {what} was written", d.name);
        }
    }
}
