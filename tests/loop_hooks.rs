//! disko hooks on a loop device, through the binary: refused without
//! --allow-hooks (each named where the layout writes it, nothing done), run
//! once each with it; a re-apply runs nothing, and after an unmount only the
//! mount hook runs again, never the create hook.

mod common;

use common::loopdev::{self, nasstrap};

#[test]
fn hooks_run_once_and_only_when_allowed() {
    if loopdev::skip_unless_available() {
        return;
    }
    let _g = loopdev::serial();
    let dir = tempfile::tempdir().unwrap();
    let disk = loopdev::Loop::new(dir.path(), "h", 128 << 20);
    let log = dir.path().join("hooks.log");
    let root = dir.path().join("mnt");
    let layout = dir.path().join("hooks.yaml");
    std::fs::write(
        &layout,
        format!(
            "disk:
  h:
    device: {dev}
    content:
      type: gpt
      partitions:
        root:
          size: 100%
          content:
            type: filesystem
            format: ext4
            mountpoint: /
            postCreateHook: echo created >> {log}
            postMountHook: |
              test -d {root}/lost+found
              echo mounted >> {log}
",
            dev = disk.device,
            log = log.display(),
            root = root.display(),
        ),
    )
    .unwrap();
    let l = layout.to_str().unwrap();
    let r = root.to_str().unwrap();
    let log_text = || std::fs::read_to_string(&log).unwrap_or_default();

    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // Without consent: refused before anything runs, each hook located.
        let (code, out) = nasstrap(&["apply", l, "--mount-root", r]);
        assert_ne!(code, 0, "{out}");
        assert!(
            out.contains("refusing to run the layout's hooks without --allow-hooks"),
            "{out}"
        );
        assert!(
            out.contains(&format!(
                "{l}:13:29: disk.h.content.partitions.root.content.postCreateHook: step "
            )),
            "{out}"
        );
        assert!(
            out.contains(&format!(
                "{l}:15:15: disk.h.content.partitions.root.content.postMountHook: step "
            )),
            "{out}"
        );
        assert_eq!(log_text(), "");
        let (_, diff) = nasstrap(&["diff", l, "--mount-root", r]);
        assert!(!diff.contains("keep "), "nothing was made:\n{diff}");

        let (code, out) = nasstrap(&["apply", l, "--mount-root", r, "--allow-hooks"]);
        assert_eq!(code, 0, "{out}");
        assert_eq!(log_text(), "created\nmounted\n");

        // Everything is there: nothing runs, hooks included.
        let (code, out) = nasstrap(&["apply", l, "--mount-root", r, "--allow-hooks"]);
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("no changes"), "{out}");
        assert_eq!(log_text(), "created\nmounted\n");

        // Unmounted: the mount runs again, and its hook with it; the
        // filesystem is there, so its create hook does not.
        let (code, out) = nasstrap(&["unmount", l, "--mount-root", r]);
        assert_eq!(code, 0, "{out}");
        let (code, out) = nasstrap(&["apply", l, "--mount-root", r, "--allow-hooks"]);
        assert_eq!(code, 0, "{out}");
        assert_eq!(log_text(), "created\nmounted\nmounted\n");
    }));
    loopdev::unmount_all(&root);
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}
