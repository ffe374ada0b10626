//! Flake repositories made in temp dirs for the staging tests and bench: real git, real
//! files.

use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;
use std::process::Command;

/// Runs git in `dir`, as a fixed author; panics with its stderr if it fails.
pub fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@t"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Writes `text` to `p` (parents made) with `mode`.
pub fn write(p: &Path, text: &[u8], mode: u32) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A small flake with one of each: tracked, executable, nested, a symlink, untracked,
/// ignored, and a file added but not committed.
pub fn small() -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    git(d, &["init", "-q"]);
    write(&d.join("flake.nix"), b"{ outputs = _: { }; }\n", 0o644);
    write(&d.join("bin/run.sh"), b"#!/bin/sh\n", 0o755);
    write(&d.join("hosts/nas/default.nix"), b"{ }\n", 0o600);
    write(&d.join(".gitignore"), b"result\n", 0o644);
    symlink("hosts/nas/default.nix", d.join("nas.nix")).unwrap();
    git(d, &["add", "."]);
    git(d, &["commit", "-q", "-m", "init"]);
    write(&d.join("secret.key"), b"untracked\n", 0o600);
    write(&d.join("result"), b"ignored\n", 0o644);
    write(&d.join("hosts/added.nix"), b"{ }\n", 0o644);
    git(d, &["add", "hosts/added.nix"]);
    t
}

/// A committed repository of `files` files spread over nested directories, `bytes` in all
/// (sizes vary, content does not compress to nothing), every 10th executable.
pub fn generated(files: usize, bytes: usize) -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    git(d, &["init", "-q"]);
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mean = bytes / files.max(1);
    for i in 0..files {
        let size = (next() as usize % (2 * mean)).max(1);
        let text: Vec<u8> = (0..size)
            .map(|_| b"abcdefghij{};= \n"[next() as usize % 16])
            .collect();
        let p = d.join(format!("m{}/s{}/f{i}.nix", i % 17, i % 5));
        write(&p, &text, if i % 10 == 0 { 0o755 } else { 0o644 });
    }
    git(d, &["add", "."]);
    git(d, &["commit", "-q", "-m", "generated"]);
    t
}
