//! nasstrap's apply of layouts/helios64.yaml in the emulated Helios64 against
//! qemu/bench/disko-style.sh (the same steps, done the way disko's generated
//! script does them), each on fresh disks in a fresh guest; prints both times,
//! their ratio (target <= 0.7) and nasstrap's peak memory (target <= 64 MiB).
//! Run: `cargo bench --bench qemu_apply` (needs what .ci/setup installs).

#[path = "../tests/common/mod.rs"]
mod common;

use common::qemu::{self, BootOpts, Guest};
use std::path::PathBuf;

fn timed(g: &Guest, cmd: &str) -> f64 {
    // busybox date has no %N: the guest's uptime has centiseconds.
    let out = g.ssh_ok(&format!("s=$(cut -d' ' -f1 /proc/uptime); {cmd} > /tmp/bench.log 2>&1 || {{ cat /tmp/bench.log; exit 1; }}; e=$(cut -d' ' -f1 /proc/uptime); awk \"BEGIN {{print $e - $s}}\""));
    out.trim().lines().last().unwrap().parse().expect("seconds")
}

fn main() {
    if let Err(why) = qemu::qemu_available() {
        eprintln!("SKIP: {why}");
        return;
    }
    let script = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/qemu/bench/disko-style.sh"
    ));
    // A 2 GiB SD card: mkfs without -E nodiscard makes QEMU's SD model write
    // every block, so on the default 16 GiB card the baseline takes many minutes.
    let sd_size = 2 * qemu::GIB;
    let g = Guest::boot(BootOpts {
        files: vec![(script, "/bench/disko-style.sh".into())],
        sd_size,
        ..BootOpts::default()
    })
    .expect("boot");
    let baseline = timed(&g, "sh /bench/disko-style.sh");
    g.ssh_ok("umount /mnt/srv /mnt/boot /mnt && mdadm --stop /dev/md/tank");
    g.poweroff().expect("poweroff");

    let script = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/qemu/bench/disko-style.sh"
    ));
    let g = Guest::boot(BootOpts {
        files: vec![(script, "/bench/disko-style.sh".into())],
        sd_size,
        ..BootOpts::default()
    })
    .expect("boot");
    let baseline_nodiscard = timed(&g, "NODISCARD=1 sh /bench/disko-style.sh");
    g.ssh_ok("umount /mnt/srv /mnt/boot /mnt && mdadm --stop /dev/md/tank");
    g.poweroff().expect("poweroff");

    let g = Guest::boot(BootOpts {
        sd_size,
        ..BootOpts::default()
    })
    .expect("boot");
    let ours = timed(
        &g,
        "NASSTRAP_NO_PROGRESS=1 nasstrap apply /layouts/helios64.yaml --disk-map /etc/nasstrap/guest.map --ignore-expect --events json",
    );
    let log = g.ssh_ok("cat /tmp/bench.log");
    let peak = log
        .lines()
        .find_map(|l| {
            l.split("peak memory: ")
                .nth(1)
                .map(|s| s.trim_end_matches("\"}").to_string())
        })
        .unwrap_or_default();
    g.ssh_ok("NASSTRAP_NO_PROGRESS=1 nasstrap unmount /layouts/helios64.yaml --disk-map /etc/nasstrap/guest.map --ignore-expect");
    g.poweroff().expect("poweroff");

    println!("(SD card 2 GiB, bays 4 GiB each)");
    println!("disko-style script  {baseline:>7.1} s");
    println!("  same, -E nodiscard {baseline_nodiscard:>6.1} s");
    println!(
        "nasstrap apply      {ours:>7.1} s   ratio {:.2} (target <= 0.7); {:.2} against the nodiscard baseline",
        ours / baseline,
        ours / baseline_nodiscard
    );
    println!("nasstrap peak RSS   {peak} (target <= 64 MiB)");
}
