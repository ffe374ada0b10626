//! Staging a flake over the ssh master against a throw-away sshd on 127.0.0.1: exactly the
//! tracked files arrive, with their modes; extra files keep mode and owner; a re-stage leaves
//! exactly the new tree.

mod common;
use common::flake::{self, git, write};
use common::skip::{self, Need};
use common::sshd::Sshd;
use nasstrap::remote::ssh::Connection;
use nasstrap::remote::stage::{self, Request};
use nasstrap::report::{Event, Recorder};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

fn connect() -> Option<(Sshd, Connection)> {
    // Root: the extra file's owner is kept only by a root tar.
    if skip::skip(&[Need::Sshd, Need::Root, Need::Tools(&["git", "tar"])]) {
        return None;
    }
    let sshd = Sshd::start();
    std::fs::write(sshd.path("known_hosts"), sshd.known_hosts_line() + "\n").unwrap();
    let c = Connection::connect(&sshd.opts()).unwrap_or_else(|e| panic!("{e}"));
    Some((sshd, c))
}

/// Every path below `dir` with its kind, mode and owner, sorted.
fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(dir: &Path, base: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            let rel = p.strip_prefix(base).unwrap().display().to_string();
            let kind = if m.is_symlink() {
                format!("-> {}", std::fs::read_link(&p).unwrap().display())
            } else if m.is_dir() {
                "dir".into()
            } else {
                format!("{:o}", m.permissions().mode() & 0o7777)
            };
            let mode = if m.is_dir() {
                format!(" {:o}", m.permissions().mode() & 0o7777)
            } else {
                String::new()
            };
            out.push(format!("{rel} {kind}{mode} {}:{}", m.uid(), m.gid()));
            if m.is_dir() {
                walk(&p, base, out);
            }
        }
    }
    walk(dir, dir, &mut out);
    out.sort();
    out
}

#[test]
fn exactly_the_tracked_files_arrive_and_a_restage_replaces_them() {
    let Some((_sshd, conn)) = connect() else {
        return;
    };
    let repo = flake::small();
    let target = tempfile::tempdir().unwrap();
    let root = target.path().join("mnt");
    let dest = root.join("etc/nixos");
    let extra = tempfile::tempdir().unwrap();
    let key = extra.path().join("etc/ssh/ssh_host_ed25519_key");
    write(&key, b"-----BEGIN OPENSSH PRIVATE KEY-----\n", 0o600);
    std::os::unix::fs::chown(&key, Some(1234), Some(1234)).unwrap();
    write(
        &extra.path().join("etc/nixos/secrets/age.key"),
        b"AGE\n",
        0o400,
    );

    let req = Request {
        flake: repo.path(),
        with_git: false,
        dest: dest.to_str().unwrap(),
        extra: Some(extra.path()),
        root: root.to_str().unwrap(),
    };
    let events = Recorder::default();
    let staged = stage::stage(&conn, &req, &events).unwrap();
    assert_eq!(
        tree(&dest),
        [
            ".gitignore 644 0:0",
            "bin dir 755 0:0",
            "bin/run.sh 755 0:0",
            "flake.nix 644 0:0",
            "hosts dir 755 0:0",
            "hosts/added.nix 644 0:0",
            "hosts/nas dir 755 0:0",
            "hosts/nas/default.nix 644 0:0",
            "nas.nix -> hosts/nas/default.nix 0:0",
            "secrets dir 755 0:0",
            "secrets/age.key 400 0:0",
        ]
    );
    let dest_mode = std::fs::metadata(&dest).unwrap().permissions().mode() & 0o7777;
    assert_eq!(dest_mode, 0o755);
    let k = std::fs::metadata(root.join("etc/ssh/ssh_host_ed25519_key")).unwrap();
    assert_eq!((k.mode() & 0o7777, k.uid(), k.gid()), (0o600, 1234, 1234));
    assert_eq!(staged.files, 8);
    let events = events.0.into_inner().unwrap();
    let last = events.iter().rev().find_map(|e| match e {
        Event::Progress { percent, .. } => Some(*percent),
        _ => None,
    });
    assert_eq!(last, Some(100.0), "{events:?}");
    assert!(
        !events.iter().any(|e| matches!(e, Event::Note { .. })),
        "a git flake needs no note: {events:?}"
    );

    // A file dropped from the flake, and the leftovers of a stage cut short.
    git(repo.path(), &["rm", "-q", "-f", "hosts/added.nix"]);
    write(&dest.with_extension("new").join("junk"), b"x", 0o644);
    let req = Request { extra: None, ..req };
    stage::stage(&conn, &req, &nasstrap::report::Silent).unwrap();
    let now = tree(&dest);
    assert!(
        !now.iter()
            .any(|l| l.starts_with("hosts/added.nix") || l.starts_with("secrets")),
        "{now:?}"
    );
    assert!(now.contains(&"flake.nix 644 0:0".to_string()), "{now:?}");
    let mut left: Vec<_> = std::fs::read_dir(dest.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    left.sort();
    assert_eq!(left, ["nixos", "ssh"], "no .new or .old left behind");
    conn.close().unwrap();
}

#[test]
fn a_plain_directory_is_staged_whole_with_a_note_and_failures_say_why() {
    let Some((_sshd, conn)) = connect() else {
        return;
    };
    let src = tempfile::tempdir().unwrap();
    write(&src.path().join("flake.nix"), b"{ }\n", 0o600);
    write(&src.path().join("notes.txt"), b"x", 0o644);
    let target = tempfile::tempdir().unwrap();
    let dest = target.path().join("etc/nixos");
    let req = Request {
        flake: src.path(),
        with_git: false,
        dest: dest.to_str().unwrap(),
        extra: None,
        root: "/",
    };
    let events = Recorder::default();
    stage::stage(&conn, &req, &events).unwrap();
    assert_eq!(tree(&dest), ["flake.nix 644 0:0", "notes.txt 644 0:0"]);
    let events = events.0.into_inner().unwrap();
    assert!(
        events.iter().any(
            |e| matches!(e, Event::Note { message } if message.contains("not in a git repository"))
        ),
        "{events:?}"
    );

    // The destination's parent is a file: the target's error comes back.
    std::fs::write(target.path().join("file"), "").unwrap();
    let blocked = target.path().join("file/nixos");
    let req = Request {
        dest: blocked.to_str().unwrap(),
        ..req
    };
    let e = stage::stage(&conn, &req, &nasstrap::report::Silent).unwrap_err();
    let shown = format!("{e:#}");
    assert!(
        shown.contains("exit code") && shown.contains("file"),
        "{shown}"
    );
    conn.close().unwrap();
}
