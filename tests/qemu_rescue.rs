//! A NAS owner's worst day, in the emulated Helios64 with udev (as a real rescue
//! system has): helios64.yaml installed with data on the RAID6, then bay 3 pulled.
//! `diff` shows the array degraded and proposes no destruction; `rescue` starts it
//! degraded and read-only, mounts read-only, the data checks out and cannot be
//! written; a blank drive in bay 3 is put back by `replace`, the rebuild followed
//! to a clean array; a second `replace` does nothing.
//! Bays are small (256 MiB) so that md's syncs finish within the test.
//! Skips without QEMU (see `common::qemu::skip`); CI never skips.

mod common;

use common::qemu::{self, BY_ID_MAP, BootOpts, DISKS, Guest, Outcome, WorkDir, image_digest};

const LAYOUT: &str = "/layouts/helios64.yaml";
const MAP: &str = "--disk-map /tmp/by-id.map --ignore-expect";
const BAY: u64 = 256 << 20;

fn boot(work: Option<WorkDir>, detached: Vec<&'static str>) -> Guest {
    boot_with(BootOpts {
        work,
        detached,
        ..BootOpts::default()
    })
}

/// Small bays and a 2 GiB SD card (the eMMC stand-in; `--ignore-expect`).
fn boot_with(opts: BootOpts) -> Guest {
    let g = Guest::boot(BootOpts {
        bay_size: BAY,
        sd_size: 2 << 30,
        ..opts
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
    // Something to chroot into: a root with a static shell (busybox) and
    // the mountpoints rescue --shell binds /dev, /proc and /sys on.
    g.ssh_ok(
        "mkdir -p /mnt/bin /mnt/dev /mnt/proc /mnt/sys && cp /bin/busybox /mnt/bin/busybox \
         && cp /bin/busybox /mnt/bin/sh",
    );
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
    // --shell: chrooted into the root, /proc bound, the data there; on exit
    // everything taken down.
    assert_eq!(
        run(&g, &format!("unmount {LAYOUT} {MAP} --root /mnt")).code,
        0
    );
    let o = g.nasstrap(&format!(
        "rescue {LAYOUT} {MAP} --root /mnt --shell <<'EOF'\n\
         /bin/busybox sha256sum /srv/data/f1\n\
         /bin/busybox test -e /proc/self/mounts && echo proc-bound\n\
         EOF"
    ));
    assert_eq!(o.code, 0, "{}{}", o.out, o.err);
    let f1 = sums.split_whitespace().next().unwrap();
    assert!(o.out.contains(f1), "the shell saw the data\n{}", o.out);
    assert!(o.out.contains("proc-bound"), "{}", o.out);
    assert!(
        !o.err.contains("that shell ran on the rescue system"),
        "chrooted\n{}",
        o.err
    );
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
    assert!(
        o.err.contains("array tank: in sync, 5 of 5: 100.0%"),
        "the rebuild is followed\n{}",
        o.err
    );
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

/// What is on every disk image, host side (see `image_digest`).
fn digests(work: &WorkDir) -> Vec<(String, String)> {
    DISKS
        .iter()
        .map(|d| (d.name.to_string(), image_digest(&work.image(d.name))))
        .collect()
}

const LUKS: &str = "/layouts/helios64-luks.yaml";
/// The passphrase, where the layout's passwordFile says (install) and where
/// a rescue system keeps it (`--key-file`).
const KEY: &str = "mkdir -p /run/nasstrap && printf 'correct horse battery\\n' > /run/nasstrap/tank.key \
                   && cp /run/nasstrap/tank.key /root/tank.key";

#[test]
fn qemu_rescue_luks_changes_nothing_then_a_bay_with_read_errors_is_replaced() {
    if qemu::skip() {
        return;
    }
    let g = boot(None, vec![]);
    g.ssh_ok(KEY);
    assert_eq!(
        run(&g, &format!("apply {LUKS} {MAP} --yes")).code,
        0,
        "apply"
    );
    g.ssh_ok(
        "mkdir -p /mnt/srv/data && for i in 1 2; do \
         dd if=/dev/urandom of=/mnt/srv/data/f$i bs=1M count=8 status=none; done && sync",
    );
    let sums = checksum(&g, "/mnt");
    wait_for_sync(&g);
    assert_eq!(run(&g, &format!("unmount {LUKS} {MAP}")).code, 0);
    let work = g.poweroff().expect("poweroff");

    // rescue on disks that match the layout writes nothing to them.
    let before = digests(&work);
    let g = boot(Some(work), vec![]);
    g.ssh_ok(KEY);
    let key = "--key-file tank-crypt=/root/tank.key";
    let o = run(&g, &format!("rescue {LUKS} {MAP} {key}"));
    assert_eq!(o.code, 0, "rescue");
    assert_eq!(checksum(&g, "/mnt"), sums, "data under rescue");
    let mapper = g.ssh_ok("cryptsetup status tank-crypt");
    assert!(mapper.contains("readonly"), "{mapper}");
    assert_eq!(run(&g, &format!("unmount {LUKS} {MAP}")).code, 0);
    let work = g.poweroff().expect("poweroff");
    let after = digests(&work);
    assert_eq!(after, before, "rescue changed what is on the disks");

    // Bay 3 fails every read from power-on: udev cannot read its member, the
    // probe cannot either. Shown as a faulty member, rescued without it.
    let g = boot_with(BootOpts {
        work: Some(work),
        read_errors: vec!["bay3"],
        ..BootOpts::default()
    });
    g.ssh_ok(KEY);
    let o = run(&g, &format!("diff {LUKS} {MAP} --detailed-exitcode"));
    assert_eq!(o.code, 3, "degraded, not refused");
    assert!(!destroys(&o.out), "{}", o.out);
    assert!(
        o.err.contains("bay3 faulty: it cannot be read"),
        "{}",
        o.err
    );
    assert!(o.err.contains("repair: swap the disk in bay3"), "{}", o.err);
    let o = run(&g, &format!("rescue {LUKS} {MAP} {key}"));
    assert_eq!(o.code, 0, "rescue");
    assert_eq!(checksum(&g, "/mnt"), sums, "data with bay3 failing");
    let o = run(
        &g,
        &format!("replace {LUKS} --disk bay3 --disk-map /tmp/by-id.map --ignore-expect"),
    );
    assert_eq!(o.code, 1, "a failing drive still in is not written to");
    assert!(o.err.contains("swap the disk"), "{}", o.err);
    assert_eq!(run(&g, &format!("unmount {LUKS} {MAP}")).code, 0);
    let work = g.poweroff().expect("poweroff");

    // Swapped for a blank drive: replace, rebuilt, the data intact.
    std::fs::remove_file(work.image("bay3")).unwrap();
    let g = boot(Some(work), vec![]);
    g.ssh_ok(KEY);
    let o = run(
        &g,
        &format!("replace {LUKS} --disk bay3 --disk-map /tmp/by-id.map --ignore-expect"),
    );
    assert_eq!(o.code, 0, "replace");
    let md = g.ssh_ok("cat /proc/mdstat");
    assert!(md.contains("[5/5]") && md.contains("[UUUUU]"), "{md}");
    let o = run(&g, &format!("rescue {LUKS} {MAP} {key}"));
    assert_eq!(o.code, 0, "rescue after replace");
    assert!(!o.err.contains("degraded"), "{}", o.err);
    assert_eq!(checksum(&g, "/mnt"), sums, "data after replace");
    g.poweroff().expect("poweroff");
}

const BTRFS: &str = "/layouts/helios64-btrfs.yaml";

#[test]
fn qemu_rescue_btrfs_raid1_with_a_pulled_bay_then_replace() {
    if qemu::skip() {
        return;
    }
    let g = boot(None, vec![]);
    assert_eq!(
        run(&g, &format!("apply {BTRFS} {MAP} --yes")).code,
        0,
        "apply"
    );
    g.ssh_ok(
        "mkdir -p /mnt/srv/data && for i in 1 2 3; do \
         dd if=/dev/urandom of=/mnt/srv/data/f$i bs=1M count=8 status=none; done && sync",
    );
    let sums = checksum(&g, "/mnt");
    assert_eq!(run(&g, &format!("unmount {BTRFS} {MAP}")).code, 0);
    let work = g.poweroff().expect("poweroff");

    // Bay 3 pulled: the filesystem is whole on four of five devices (raid1).
    let g = boot(Some(work), vec!["bay3"]);
    let o = run(&g, &format!("diff {BTRFS} {MAP} --detailed-exitcode"));
    assert_eq!(o.code, 3, "degraded, not refused");
    assert!(!destroys(&o.out), "{}", o.out);
    assert!(
        o.err
            .contains("tank: degraded: 4 of 5 devices present, not mounted; bay3 missing"),
        "{}",
        o.err
    );
    let o = run(&g, &format!("rescue {BTRFS} {MAP}"));
    assert_eq!(o.code, 0, "rescue");
    let mounts = g.ssh_ok("grep ' /mnt/srv ' /proc/mounts");
    assert!(
        mounts.contains(" btrfs ro,") && mounts.contains("degraded"),
        "{mounts}"
    );
    assert_eq!(checksum(&g, "/mnt"), sums, "data on a degraded btrfs");
    assert!(
        !g.ssh("touch /mnt/srv/data/x").status.success(),
        "read-only"
    );
    assert_eq!(run(&g, &format!("unmount {BTRFS} {MAP}")).code, 0);
    let work = g.poweroff().expect("poweroff");

    // A blank drive in bay 3: btrfs replace rebuilds the lost device onto it.
    std::fs::remove_file(work.image("bay3")).unwrap();
    let g = boot(Some(work), vec![]);
    let replace = format!("replace {BTRFS} --disk bay3 --disk-map /tmp/by-id.map --ignore-expect");
    let o = run(&g, &replace);
    assert_eq!(o.code, 0, "replace");
    let show = g.ssh_ok("btrfs filesystem show --raw tank");
    assert!(
        show.contains("Total devices 5") && !show.contains("missing"),
        "{show}"
    );
    assert!(show.contains("/dev/sdc1"), "{show}");
    let o = run(&g, &replace);
    assert_eq!(o.code, 0);
    assert!(
        o.err
            .contains("bay3 is in sync in btrfs tank; nothing to do"),
        "{}",
        o.err
    );
    let o = run(&g, &format!("mount {BTRFS} {MAP} --root /mnt --read-only"));
    assert_eq!(o.code, 0, "mount");
    assert_eq!(checksum(&g, "/mnt"), sums, "data after replace");
    let o = run(&g, &format!("diff {BTRFS} {MAP} --detailed-exitcode"));
    assert_eq!(o.code, 0, "converged after replace");
    g.poweroff().expect("poweroff");
}
