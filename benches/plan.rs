//! Load + validate + plan time for the shipped Helios64 layout and generated
//! layouts of 5..60 disks, printed as absolute times and as ratios against a
//! baseline run in the same process (parsing the same text into the YAML tree
//! alone), so figures compare across machines. Run: `cargo bench --bench plan`.

use nasstrap::{layout, plan};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// A layout of `n` data disks, each GPT → one partition → RAID6 members, plus
/// an eMMC with firmware regions and /boot, as on a Helios64 with many bays.
fn generated(n: usize) -> String {
    let mut s = String::from(
        "board: helios64\ndisk:\n  emmc:\n    device: /dev/mmcblk1\n    expect: { size: 14.6GiB }\n    firmware:\n      - { name: idbloader, offset: 64s, max_size: 4MiB }\n      - { name: u-boot, offset: 16384s, max_size: 8MiB }\n    content:\n      type: gpt\n      partitions:\n        boot: { size: 1GiB, bootable: true, content: { type: filesystem, format: ext4, mountpoint: /boot } }\n        root: { size: 100%, content: { type: filesystem, format: ext4, mountpoint: / } }\n",
    );
    for i in 0..n {
        s.push_str(&format!("  bay{i}:\n    device: /dev/disk/by-path/bay-{i}\n    expect: {{ size: 4TiB }}\n    content:\n      type: gpt\n      partitions:\n        data: {{ size: 100%, type: FD00, content: {{ type: mdraid, name: tank }} }}\n"));
    }
    s.push_str("mdadm:\n  tank:\n    level: 6\n    content: { type: filesystem, format: ext4, mountpoint: /srv }\n");
    s
}

fn time<F: FnMut()>(mut f: F) -> Duration {
    // Warm up, then the median of 21 runs.
    f();
    let mut v: Vec<Duration> = (0..21)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    v.sort();
    v[v.len() / 2]
}

fn full(text: &str) {
    let loaded = layout::load_str("bench.yaml", text, &[]).expect("bench layouts load");
    let p = plan::build(&loaded, &plan::Options::default()).expect("bench layouts plan");
    black_box(plan::render::text(&p));
}

fn main() {
    let helios = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/layouts/helios64.yaml"
    ))
    .unwrap();
    let base = time(|| {
        black_box(layout::yaml::parse(&helios).unwrap());
    });
    let t = time(|| full(&helios));
    println!(
        "helios64.yaml        load+validate+plan {:>9.3} ms   {:>6.1}x the YAML parse alone  (target <= 20 ms)",
        t.as_secs_f64() * 1e3,
        t.as_secs_f64() / base.as_secs_f64()
    );
    let mut per_disk = Vec::new();
    for n in [5usize, 15, 30, 60] {
        let text = generated(n);
        let base = time(|| {
            black_box(layout::yaml::parse(&text).unwrap());
        });
        let t = time(|| full(&text));
        per_disk.push((n, t));
        println!(
            "generated {n:>2} disks  load+validate+plan {:>9.3} ms   {:>6.1}x the YAML parse alone{}",
            t.as_secs_f64() * 1e3,
            t.as_secs_f64() / base.as_secs_f64(),
            if n == 60 { "  (target <= 200 ms)" } else { "" }
        );
    }
    let (n0, t0) = per_disk[0];
    let (n1, t1) = per_disk[per_disk.len() - 1];
    println!(
        "growth: {}x the disks cost {:.1}x the time (linear would be {}x)",
        n1 / n0,
        t1.as_secs_f64() / t0.as_secs_f64(),
        n1 / n0
    );
}
