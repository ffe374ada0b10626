//! A NAS owner's worst day, in the emulated Helios64 with udev (as a real rescue
//! system has): helios64.yaml installed with data on the RAID6, then bay 3 pulled.
//! `diff` shows the array degraded and proposes no destruction; `rescue` starts it
//! degraded and read-only, mounts read-only, the data checks out and cannot be
//! written; a blank drive in bay 3 is put back by `replace`, the rebuild followed
//! to a clean array; a second `replace` does nothing.
//! Bays are small (256 MiB) so that md's syncs finish within the test.
//! Skips without QEMU (see `common::qemu::skip`); CI never skips.

mod common;

use common::qemu::{self, BY_ID_MAP, BootOpts, Guest, Outcome, WorkDir};

const LAYOUT: &str = "/layouts/helios64.yaml";
const MAP: &str = "--disk-map /tmp/by-id.map --ignore-expect";
const BAY: u64 = 256 << 20;

fn boot(work: Option<WorkDir>, detached: Vec<&'static str>) -> Guest {
    let g = Guest::boot(BootOpts {
        work,
        bay_size: BAY,
        detached,
        ..BootOpts::default()
    })
    .expect("boot");
    g.ssh_ok(&format!("cat > /tmp/by-id.map <<'EOF'\n{BY_ID_MAP}EOF"));
    g
}

fn run(g: &Guest, args: &str) -> Outcome {
    let o = g.nasstrap(&format!("{args} </dev/null"));
    eprintln!("$ nasstrap {args}\n{}{}(exit {})", o.out, o.err, o.code);
    o
}

/// Until no array of the guest syncs (the initial resync of a new RAID6).
fn wait_for_sync(g: &Guest) {
    for _ in 0..600 {
        if !g.ssh_ok("cat /proc/mdstat").contains("sync") {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    panic!("md still syncing:\n{}", g.ssh_ok("cat /proc/mdstat"));
}

/// Whether a diff's text has a step that destroys.
fn destroys(diff: &str) -> bool {
    diff.lines()
        .any(|l| l.split_whitespace().nth(1) == Some("destroy"))
}

/// sha256 of the test data, as `sha256sum` prints it, from below `root`.
fn checksum(g: &Guest, root: &str) -> String {
    g.ssh_ok(&format!("cd {root}/srv && sha256sum data/*"))
}

#[test]
fn qemu_rescue_raid6_with_a_pulled_bay_then_replace() {
    if qemu::skip() {
        return;
    }
    // Installed, with data, synced, cleanly shut down.
    let g = boot(None, vec![]);
    let o = run(&g, &format!("apply {LAYOUT} {MAP} --yes"));
    assert_eq!(o.code, 0, "apply");
    g.ssh_ok(
        "mkdir -p /mnt/srv/data && for i in 1 2 3; do \
         dd if=/dev/urandom of=/mnt/srv/data/f$i bs=1M count=8 status=none; done && sync",
    );
    let sums = checksum(&g, "/mnt");
    wait_for_sync(&g);
    assert_eq!(run(&g, &format!("unmount {LAYOUT} {MAP}")).code, 0);
    let work = g.poweroff().expect("poweroff");

    // Bay 3 pulled: udev gathers the other four and does not start the array.
    let g = boot(Some(work), vec!["bay3"]);
    let mdstat = g.ssh_ok("cat /proc/mdstat");
    eprintln!("after boot without bay3:\n{mdstat}");
    let o = run(&g, &format!("diff {LAYOUT} {MAP} --detailed-exitcode"));
    assert_eq!(o.code, 3, "a degraded array is a difference, not a failure");
    assert!(!destroys(&o.out), "no destruction proposed");
    assert!(o.out.contains("nothing is destroyed"), "{}", o.out);
    assert!(
        o.err.contains("tank: degraded: 4 of 5 members in sync") && o.err.contains("bay3 missing"),
        "{}",
        o.err
    );
    assert!(o.err.contains("nasstrap replace"), "the repair is named");
    let o = run(&g, &format!("apply {LAYOUT} {MAP} --yes"));
    assert_eq!(o.code, 1, "apply leaves a degraded array to rescue/replace");
    assert_eq!(
        g.ssh_ok("cat /proc/mdstat"),
        mdstat,
        "refused apply changed md"
    );

    // rescue: degraded, read-only, mounted read-only, the data intact.
    let o = run(&g, &format!("rescue {LAYOUT} {MAP} --root /mnt"));
    assert_eq!(o.code, 0, "rescue");
    assert!(o.err.contains("bay3 missing"), "{}", o.err);
    assert!(o.err.contains("mounted read-only below /mnt"), "{}", o.err);
    let md = g.ssh_ok("cat /proc/mdstat");
    assert!(md.contains("(read-only)") && md.contains("[5/4]"), "{md}");
    let mounts = g.ssh_ok("grep ' /mnt' /proc/mounts");
    assert!(mounts.contains(" /mnt/srv ext4 ro"), "{mounts}");
    assert_eq!(checksum(&g, "/mnt"), sums, "data after rescue");
    let write = g.ssh("touch /mnt/srv/data/x");
    assert!(!write.status.success(), "a write below a read-only rescue");
    // --shell on top: a shell below the root (nothing installed to chroot
    // into), then everything taken down.
    assert_eq!(
        run(&g, &format!("unmount {LAYOUT} {MAP} --root /mnt")).code,
        0
    );
    let o = g.nasstrap(&format!(
        "rescue {LAYOUT} {MAP} --root /mnt --shell <<'EOF'\nsha256sum srv/data/f1\nEOF"
    ));
    assert_eq!(o.code, 0, "{}{}", o.out, o.err);
    let f1 = sums
        .lines()
        .next()
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap();
    assert!(o.out.contains(f1), "the shell saw the data\n{}", o.out);
    assert!(o.err.contains("unmounted, closed and stopped"), "{}", o.err);
    let left = g.ssh_ok("grep ' /mnt' /proc/mounts || true; cat /proc/mdstat");
    assert!(
        !left.contains("/mnt/srv") && !left.contains("md127 : active"),
        "{left}"
    );
    let work = g.poweroff().expect("poweroff");

    // A blank drive in bay 3: replace puts it back, md rebuilds, all clean.
    std::fs::remove_file(work.image("bay3")).unwrap();
    let g = boot(Some(work), vec![]);
    let o = run(&g, &format!("diff {LAYOUT} {MAP}"));
    assert!(o.err.contains("bay3 blank (a new disk)"), "{}", o.err);
    assert!(!destroys(&o.out), "{}", o.out);
    let o = run(
        &g,
        &format!("replace {LAYOUT} --disk bay3 --disk-map /tmp/by-id.map --ignore-expect"),
    );
    assert_eq!(o.code, 0, "replace");
    let md = g.ssh_ok("cat /proc/mdstat");
    assert!(md.contains("[5/5]") && md.contains("[UUUUU]"), "{md}");
    assert!(!md.contains("recovery"), "{md}");
    let o = run(
        &g,
        &format!("replace {LAYOUT} --disk bay3 --disk-map /tmp/by-id.map --ignore-expect"),
    );
    assert_eq!(o.code, 0);
    assert!(
        o.err
            .contains("bay3 is in sync in array tank; nothing to do"),
        "{}",
        o.err
    );
    let o = run(&g, &format!("mount {LAYOUT} {MAP} --root /mnt --read-only"));
    assert_eq!(o.code, 0, "mount");
    assert_eq!(checksum(&g, "/mnt"), sums, "data after replace");
    let o = run(&g, &format!("diff {LAYOUT} {MAP} --detailed-exitcode"));
    assert_eq!(o.code, 0, "converged after replace");
    g.poweroff().expect("poweroff");
}
