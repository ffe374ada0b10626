//! Preflight on real disks, through the binary: what the plan needs and this
//! machine lacks (a program, a key file, a terminal for a passphrase) stops
//! apply before its first write — the disk is bit-for-bit as it was — and the
//! diff names it as a note (all but the terminal: the diff assumes apply runs
//! where someone can type).

mod common;

use common::loopdev;

use std::path::Path;
use std::process::{Command, Stdio};

struct Run {
    code: i32,
    err: String,
}

fn nasstrap(args: &[&str], path: Option<&Path>) -> Run {
    let mut c = Command::new(env!("CARGO_BIN_EXE_nasstrap"));
    c.args(args)
        .env("NASSTRAP_NO_PROGRESS", "1")
        .stdin(Stdio::null());
    if let Some(p) = path {
        c.env("PATH", p);
    }
    let o = c.output().unwrap();
    Run {
        code: o.status.code().unwrap_or(-1),
        err: String::from_utf8_lossy(&o.stderr).into(),
    }
}

/// A PATH holding only the tools the probe and this layout use, without `mkfs.vfat`.
fn path_without_vfat(dir: &Path) -> std::path::PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for tool in [
        "lsblk",
        "blkid",
        "wipefs",
        "partx",
        "mkfs.ext4",
        "mount",
        "umount",
    ] {
        let found = ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
            .iter()
            .map(|d| Path::new(d).join(tool))
            .find(|p| p.is_file())
            .unwrap_or_else(|| panic!("{tool} not installed"));
        std::os::unix::fs::symlink(found, bin.join(tool)).unwrap();
    }
    bin
}

#[test]
fn missing_tools_keys_and_terminals_stop_apply_before_any_write() {
    if loopdev::skip_unless_available() {
        return;
    }
    let _g = loopdev::serial();
    let dir = tempfile::tempdir().unwrap();
    let disk = loopdev::Loop::new(dir.path(), "a", 256 << 20);
    let before = disk.checksum();
    let root = dir.path().join("mnt").display().to_string();
    let cases: [(&str, &str, Option<std::path::PathBuf>); 3] = [
        (
            "luks: { type: luks, name: sealed, passwordFile: /nonexistent/nasstrap.key, content: { type: filesystem, format: ext4 } }",
            "cannot read key file /nonexistent/nasstrap.key: No such file or directory",
            None,
        ),
        (
            "asked: { type: luks, name: sealed, askPassword: true, content: { type: filesystem, format: ext4 } }",
            "LUKS `sealed` asks for its passphrase (askPassword), and there is no terminal to type it on",
            None,
        ),
        (
            "esp: { type: filesystem, format: vfat }",
            "`mkfs.vfat` is not installed (Debian package dosfstools)",
            Some(path_without_vfat(dir.path())),
        ),
    ];
    for (content, want, path) in cases {
        let (name, body) = content.split_once(": ").unwrap();
        let layout = dir.path().join(format!("{name}.yaml"));
        std::fs::write(
            &layout,
            format!(
                "disk:\n  a:\n    device: {}\n    content:\n      type: gpt\n      partitions:\n        {name}:\n          size: 100%\n          content: {body}\n",
                disk.device
            ),
        )
        .unwrap();
        let l = layout.to_str().unwrap();
        let diff = nasstrap(&["diff", l, "--mount-root", &root], path.as_deref());
        assert_eq!(diff.code, 0, "{}", diff.err);
        // The diff assumes apply will be run where a person can type.
        let noted = diff
            .err
            .contains(&format!("note: apply would stop here: {want}"));
        assert_eq!(noted, name != "asked", "{}", diff.err);
        let r = nasstrap(
            &["apply", l, "--allow-destroy", "a", "--mount-root", &root],
            path.as_deref(),
        );
        assert_eq!(r.code, 1, "{}", r.err);
        assert!(
            r.err.contains("this machine cannot run the plan:") && r.err.contains(want),
            "{}",
            r.err
        );
        assert!(r.err.contains("nothing was changed"), "{}", r.err);
        assert_eq!(
            disk.checksum(),
            before,
            "{name}: a refused apply wrote to the disk"
        );
    }
}
