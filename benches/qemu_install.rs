//! Wall time, seen from the laptop (this machine), of
//! `nasstrap install layouts/helios64.yaml --phases connect,preflight,disks`
//! against the same apply over plain `ssh` commands: upload the binary with
//! `ssh … 'cat > …'`, then `ssh … nasstrap apply` (the way a script would,
//! one connection each). Each on fresh disks in a fresh guest; prints both
//! and their ratio. Run: `cargo bench --bench qemu_install`.

#[path = "../tests/common/mod.rs"]
mod common;

use common::qemu::{self, BootOpts, Guest};
use std::process::{Command, Stdio};
use std::time::Instant;

/// A fresh `ssh` to the guest: its own connection, as a script would open.
fn plain_ssh(g: &Guest) -> Command {
    let mut c = Command::new("ssh");
    c.args(g.ssh_args()).arg("root@127.0.0.1");
    c
}

fn check(what: &str, out: std::process::Output) {
    if !out.status.success() {
        panic!(
            "{what} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn main() {
    if let Err(why) = qemu::qemu_available() {
        eprintln!("SKIP: {why}");
        return;
    }
    let prepared = qemu::prepare().expect("prepared");
    let layout = qemu::repo_root().join("layouts/helios64.yaml");
    let sd_size = 2 * qemu::GIB;

    // Baseline: upload, then apply, one plain ssh command each.
    let g = Guest::boot(BootOpts {
        sd_size,
        ..BootOpts::default()
    })
    .expect("boot");
    let t = Instant::now();
    let bin = std::fs::File::open(&prepared.nasstrap).expect("binary");
    let up = plain_ssh(&g)
        .arg("mkdir -p /run/plain && cat > /run/plain/nasstrap && chmod 755 /run/plain/nasstrap")
        .stdin(Stdio::from(bin))
        .output()
        .expect("ssh");
    check("upload", up);
    let yaml = std::fs::File::open(&layout).expect("layout");
    let apply = plain_ssh(&g)
        .arg("cat > /run/plain/l.yaml && NASSTRAP_NO_PROGRESS=1 /run/plain/nasstrap apply /run/plain/l.yaml --disk-map /etc/nasstrap/guest.map --ignore-expect </dev/null")
        .stdin(Stdio::from(yaml))
        .output()
        .expect("ssh");
    check("plain apply", apply);
    let baseline = t.elapsed().as_secs_f64();
    g.poweroff().expect("poweroff");

    let g = Guest::boot(BootOpts {
        sd_size,
        ..BootOpts::default()
    })
    .expect("boot");
    let t = Instant::now();
    let out = g
        .install(&layout)
        .args(["--phases", "connect,preflight,disks"])
        .output()
        .expect("nasstrap install");
    check("install", out);
    let ours = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let out = g.install(&layout).output().expect("nasstrap install");
    check("install again", out);
    let rerun = t.elapsed().as_secs_f64();
    g.poweroff().expect("poweroff");

    println!("install helios64.yaml over ssh (upload + apply), wall time on the laptop:");
    println!("  plain ssh commands (upload, apply)   {baseline:6.1} s");
    println!(
        "  nasstrap install                     {ours:6.1} s  ({:.2}x)",
        ours / baseline
    );
    println!("  nasstrap install, re-run (no-op)     {rerun:6.1} s");
}
