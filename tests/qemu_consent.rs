//! Consent before any change of state, in the emulated Helios64: an installed
//! RAID6 whose array is not running (booted without udev, so nothing
//! auto-assembles it). Looking inside needs the array assembled, which is a
//! change of state; apply may do it only after consent, and a refused apply
//! stops it again. `mount --read-only` assembles it read-only.
//! Skips without QEMU (see `common::qemu::skip`); CI never skips.

mod common;

use common::qemu::{self, BootOpts, Guest};

const MAP: &str = "--disk-map /etc/nasstrap/guest.map --ignore-expect";
const ALL: &str = "--allow-destroy emmc bay1 bay2 bay3 bay4 bay5";

/// `nasstrap ARGS` in the guest: (exit code, stdout, stderr).
fn nasstrap(g: &Guest, args: &str) -> (i32, String, String) {
    let o = g.ssh(&format!(
        "NASSTRAP_NO_PROGRESS=1 nasstrap {args} </dev/null"
    ));
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into(),
        String::from_utf8_lossy(&o.stderr).into(),
    )
}

/// What the guest's md and dm state is, to compare before and after.
fn state(g: &Guest) -> String {
    g.ssh_ok("cat /proc/mdstat; ls /dev/mapper; grep -v '^proc\\|^sys\\|^dev\\|^tmpfs\\|^devpts' /proc/mounts || true")
}

#[test]
fn qemu_apply_looks_inside_arrays_only_after_consent() {
    if qemu::skip() {
        return;
    }
    let l = "/layouts/helios64.yaml";
    let g = Guest::boot(BootOpts::default()).expect("boot");
    let (code, out, err) = nasstrap(&g, &format!("apply {l} {MAP}"));
    assert_eq!(code, 0, "{out}{err}");
    let (code, _, err) = nasstrap(&g, &format!("unmount {l} {MAP}"));
    assert_eq!(code, 0, "{err}");
    let work = g.poweroff().expect("poweroff");

    let g = Guest::boot(BootOpts {
        work: Some(work),
        udev: false,
        ..BootOpts::default()
    })
    .expect("second boot");
    // The same disks, but the array should now hold xfs.
    g.ssh_ok("sed '/^  tank:/,$ s/format: ext4/format: xfs/' /layouts/helios64.yaml > /tmp/xfs.yaml && grep -q 'format: xfs' /tmp/xfs.yaml");
    let x = "/tmp/xfs.yaml";
    let (code, out, err) = nasstrap(&g, &format!("diff {x} {MAP}"));
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("assemble the existing array tank"), "{out}");
    assert!(
        out.contains("not visible until the array is assembled"),
        "{out}"
    );

    let before = state(&g);
    assert!(!before.contains("md127 : active"), "{before}");
    // Looking inside shows xfs would replace ext4: not allowed, so the array
    // that was assembled to look is stopped again.
    let (code, out, err) = nasstrap(&g, &format!("apply {x} {MAP}"));
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains(
            "refusing to destroy data on bay1, bay2, bay3, bay4, bay5 without --allow-destroy"
        ),
        "{err}"
    );
    assert!(err.contains("holds ext4"), "{err}");
    assert_eq!(
        state(&g),
        before,
        "a refused apply changed md/dm/mount state"
    );

    // mount --read-only: assembled read-only, mounted ro; unmount stops it.
    let (code, out, err) = nasstrap(&g, &format!("mount {l} {MAP} --root /mnt --read-only"));
    assert_eq!(code, 0, "{out}{err}");
    let md = g.ssh_ok("cat /proc/mdstat; grep ' /mnt/srv ' /proc/mounts");
    assert!(md.contains("(read-only)"), "{md}");
    assert!(md.contains(" /mnt/srv ext4 ro"), "{md}");
    let (code, _, err) = nasstrap(&g, &format!("unmount {l} {MAP} --root /mnt"));
    assert_eq!(code, 0, "{err}");
    assert_eq!(state(&g), before, "unmount leaves things as they were");

    // With consent it converges.
    let (code, out, err) = nasstrap(&g, &format!("apply {x} {MAP} {ALL}"));
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = nasstrap(&g, &format!("diff {x} {MAP} --detailed-exitcode"));
    assert_eq!(code, 0, "converged\n{out}{err}");
    let (code, _, err) = nasstrap(&g, &format!("unmount {x} {MAP}"));
    assert_eq!(code, 0, "{err}");
    g.poweroff().expect("poweroff");
}
