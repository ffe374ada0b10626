//! btrfs swap files (disko's `swap` on a top level and on a subvolume) on a
//! loop device, through the binary: made and swapped on by apply, kept by a
//! second apply, swapped off by unmount (which then unmounts), and after
//! that kept and swapped on again by apply. Mount roots are temp dirs.

mod common;

use common::loopdev::{self, nasstrap};
use std::process::Command;

/// The swap files the kernel uses, from /proc/swaps.
fn swaps() -> Vec<String> {
    std::fs::read_to_string("/proc/swaps")
        .unwrap()
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

#[test]
fn btrfs_swap_files_are_made_swapped_on_and_kept() {
    if loopdev::skip_unless_available() {
        return;
    }
    let _g = loopdev::serial();
    let dir = tempfile::tempdir().unwrap();
    let disk = loopdev::Loop::new(dir.path(), "s", 512 << 20);
    let root = dir.path().join("mnt");
    let layout = dir.path().join("swapfile.yaml");
    std::fs::write(
        &layout,
        format!(
            "disk:
  s:
    device: {dev}
    content:
      type: gpt
      partitions:
        root:
          size: 100%
          content:
            type: btrfs
            extraArgs: [\"-L swapfs\"]
            mountpoint: /
            swap:
              top: {{ size: 16M }}
            subvolumes:
              /swap:
                mountpoint: /.swapvol
                swap:
                  swapfile: {{ size: 20M, path: in/rel-path, priority: 5 }}
",
            dev = disk.device,
        ),
    )
    .unwrap();
    let l = layout.to_str().unwrap();
    let r = root.to_str().unwrap();
    let top = format!("{r}/top");
    let sub = format!("{r}/.swapvol/in/rel-path");

    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let (code, out) = nasstrap(&["apply", l, "--mount-root", r]);
        assert_eq!(code, 0, "{out}");
        let on = swaps();
        assert!(on.contains(&top) && on.contains(&sub), "{on:?}\n{out}");
        assert_eq!(std::fs::metadata(&top).unwrap().len(), 16 << 20);
        assert_eq!(std::fs::metadata(&sub).unwrap().len(), 20 << 20);
        // The label written as one item with its flag went to mkfs as two words.
        let label = Command::new("blkid")
            .args(["-o", "value", "-s", "LABEL", &format!("{}p1", disk.device)])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&label.stdout).trim(), "swapfs");

        // Swapping on both: nothing to do.
        let (code, out) = nasstrap(&["apply", l, "--mount-root", r]);
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("no changes"), "{out}");

        // unmount swaps off first, else the subvolumes stay busy.
        let (code, out) = nasstrap(&["unmount", l, "--mount-root", r]);
        assert_eq!(code, 0, "{out}");
        let on = swaps();
        assert!(!on.contains(&top) && !on.contains(&sub), "{on:?}\n{out}");

        // The files are there; apply keeps them (made only when missing)
        // and swaps on them again.
        let (code, out) = nasstrap(&["diff", l, "--mount-root", r]);
        assert_eq!(code, 0, "{out}");
        assert!(
            out.contains("made when missing: the probe does not look inside filesystems"),
            "{out}"
        );
        let (code, out) = nasstrap(&["apply", l, "--mount-root", r]);
        assert_eq!(code, 0, "{out}");
        let on = swaps();
        assert!(on.contains(&top) && on.contains(&sub), "{on:?}\n{out}");
        assert_eq!(std::fs::metadata(&sub).unwrap().len(), 20 << 20);
    }));
    loopdev::unmount_all(&root);
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}
