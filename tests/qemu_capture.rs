//! Re-captures the probe fixtures that only the emulated Helios64 can produce
//! (md arrays in every state, a LUKS-on-md stack). Not a test: run it by hand
//! when the tools' output may have changed, then review the diff:
//! `cargo test --test qemu_capture -- --ignored --nocapture`.

mod common;

use common::qemu::{self, BootOpts, Guest};
use std::path::Path;

fn save(name: &str, text: &str) {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/probe")
        .join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, text).unwrap();
    eprintln!("captured {}", p.display());
}

#[test]
#[ignore = "re-captures fixtures; run by hand"]
fn capture_md_states() {
    if qemu::skip() {
        return;
    }
    let g = Guest::boot(BootOpts {
        udev: false,
        ..BootOpts::default()
    })
    .expect("boot");
    g.ssh_ok("for d in sda sdb sdc sdd sde; do sgdisk -n1:0:+256M -t1:FD00 /dev/$d >/dev/null; partx -u /dev/$d; done; sleep 0.5");
    let members = "/dev/sda1 /dev/sdb1 /dev/sdc1 /dev/sdd1 /dev/sde1";
    g.ssh_ok(&format!("mdadm --create /dev/md/cap --run --level=6 --raid-devices=5 --homehost=any --name=cap {members} 2>/dev/null; sleep 1"));
    let snap = |state: &str| {
        save(
            &format!("mdstat/{state}-qemu.txt"),
            &g.ssh_ok("cat /proc/mdstat"),
        );
        save(
            &format!("mdadm/detail-raid6-{state}-qemu.txt"),
            &g.ssh_ok("mdadm --detail --export /dev/md127"),
        );
    };
    snap("resync");
    // Without udev there is no /dev/md/cap link: the array is /dev/md127.
    g.ssh_ok("mdadm --wait /dev/md127 || true");
    snap("clean");
    g.ssh_ok("mdadm /dev/md127 --fail /dev/sde1 --remove /dev/sde1 2>/dev/null");
    snap("degraded");
    g.ssh_ok(
        "mdadm --zero-superblock /dev/sde1; mdadm /dev/md127 --add /dev/sde1 2>/dev/null; sleep 1",
    );
    snap("recovering");
    g.ssh_ok("mdadm --wait /dev/md127 || true; mdadm --stop /dev/md127 2>/dev/null");
    g.ssh_ok("mdadm --assemble /dev/md127 /dev/sda1 /dev/sdb1 2>/dev/null || true");
    save("mdstat/inactive-qemu.txt", &g.ssh_ok("cat /proc/mdstat"));
    g.ssh_ok("mdadm --stop /dev/md127 2>/dev/null || true");
    g.poweroff().expect("poweroff");
}

#[test]
#[ignore = "re-captures fixtures; run by hand"]
fn capture_raw_probe_of_an_installed_luks_layout() {
    if qemu::skip() {
        return;
    }
    let g = Guest::boot(BootOpts::default()).expect("boot");
    let map = "--disk-map /etc/nasstrap/guest.map --ignore-expect";
    g.ssh_ok("mkdir -p /run/nasstrap && printf 'fixture passphrase\\n' > /run/nasstrap/tank.key");
    g.ssh_ok(&format!(
        "NASSTRAP_NO_PROGRESS=1 nasstrap apply /layouts/helios64-luks.yaml {map} >/dev/null 2>&1"
    ));
    save(
        "raw/qemu-helios64-luks.json",
        &g.ssh_ok("nasstrap probe --raw"),
    );
    g.ssh_ok(&format!(
        "NASSTRAP_NO_PROGRESS=1 nasstrap unmount /layouts/helios64-luks.yaml {map} >/dev/null 2>&1"
    ));
    save(
        "raw/qemu-helios64-luks-down.json",
        &g.ssh_ok("nasstrap probe --raw"),
    );
    g.poweroff().expect("poweroff");
}
