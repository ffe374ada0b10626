//! The idempotent re-run on loop devices: after an apply of
//! tests/fixtures/layouts/loop.yaml, how long a second `apply` takes to find
//! nothing to do (probe + plan + diff; target <= 2 s wall), and how many
//! processes an apply of P steps spawns (target P + a small constant), with
//! the probe's share shown apart. Needs root. Run: `cargo bench --bench loop_rerun`.

#[path = "../tests/common/mod.rs"]
mod common;

use common::loopdev;

use nasstrap::{exec, layout, plan, report};
use std::path::Path;
use std::time::Instant;

fn main() {
    if let Err(why) = loopdev::available() {
        eprintln!("SKIP: {why}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c, _bystander) = loopdev::layout_disks(dir.path());
    let root = dir.path().join("mnt");
    let map = loopdev::layout_map(&a, &b, &c);
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/layouts/loop.yaml");
    let loaded = layout::load_file(&file, &map).unwrap();
    let opts = plan::Options {
        mount_root: root.display().to_string(),
        ..Default::default()
    };
    let devices: Vec<String> = map.iter().map(|(_, d)| d.clone()).collect();

    let p0 = exec::spawned();
    let t = Instant::now();
    let obs = exec::collect::observe(&devices).unwrap();
    let probe_procs = exec::spawned() - p0;
    let (p, _) = plan::diff::against(&loaded, &obs, &opts).unwrap();
    let p1 = exec::spawned();
    exec::apply::apply(&p, &report::Silent).unwrap();
    let apply_procs = exec::spawned() - p1;
    let first = t.elapsed();
    let steps = p.steps.len();

    let mut runs = Vec::new();
    let before = exec::spawned();
    for _ in 0..5 {
        let t = Instant::now();
        let obs = exec::collect::observe(&devices).unwrap();
        let (p, _) = plan::diff::against(&loaded, &obs, &opts).unwrap();
        assert!(p.is_noop(), "the re-run found work to do");
        runs.push(t.elapsed().as_secs_f64());
    }
    let rerun_procs = (exec::spawned() - before) / 5;
    runs.sort_by(f64::total_cmp);
    loopdev::unmount_all(&root);

    println!(
        "first apply          {:>7.2} s  ({steps} steps)",
        first.as_secs_f64()
    );
    println!(
        "re-run (no-op)       {:>7.2} s  median of 5 (target <= 2 s)",
        runs[2]
    );
    println!(
        "processes: apply {apply_procs} for {steps} steps (+{} over P); the probe of the blank disks {probe_procs}; a no-op re-run {rerun_procs} (lsblk, blkid per block device, btrfs)",
        apply_procs as i64 - steps as i64
    );
}
