//! `nasstrap keys`: a host key made here decrypts files encrypted to its
//! recipient (by the age crate and, where installed, the real `age` CLI and
//! agenix's secrets.nix evaluated by Nix); files for others, corrupt files
//! and a refused overwrite are reported as such. No root, no network.

mod common;

use common::skip::{self, Need};
use nasstrap::keys::{self, Meant, Reason, Verdict};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::str::FromStr;

fn nasstrap(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nasstrap"))
        .args(args)
        .output()
        .expect("runs nasstrap")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Encrypt `plain` to one recipient with the age crate.
fn encrypt(to: Box<dyn age::Recipient>, plain: &[u8], file: &Path) {
    let enc = age::Encryptor::with_recipients(std::iter::once(to.as_ref())).expect("a recipient");
    let mut out = Vec::new();
    let mut w = enc.wrap_output(&mut out).unwrap();
    w.write_all(plain).unwrap();
    w.finish().unwrap();
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(file, out).unwrap();
}

fn ssh_recipient(line: &str) -> Box<dyn age::Recipient> {
    Box::new(age::ssh::Recipient::from_str(line.trim()).expect("an ssh recipient"))
}

/// `keys create` in `dir`; the recipient line it printed.
fn create(dir: &Path, name: &str) -> String {
    let out = dir.join(name);
    let o = nasstrap(&[
        "keys",
        "create",
        "--out",
        out.to_str().unwrap(),
        "--comment",
        "root@nas",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    text(&o.stdout)
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn create_writes_a_pair_and_prints_the_recipient() {
    let dir = tempfile::tempdir().unwrap();
    let line = create(dir.path(), "host_key");
    let key = dir.path().join("host_key");
    let public = dir.path().join("host_key.pub");
    assert!(
        line.starts_with("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA"),
        "{line}"
    );
    assert!(line.trim_end().ends_with(" root@nas"), "{line}");
    assert_eq!(std::fs::read_to_string(&public).unwrap(), line);
    assert_eq!(mode(&key), 0o600);
    assert_eq!(mode(&public), 0o644);
    let private = std::fs::read_to_string(&key).unwrap();
    assert!(private.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----\n"));
    // No temporary files left beside them.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
}

#[test]
fn openssh_reads_the_key() {
    if skip::skip(&[Need::Tools(&["ssh-keygen"])]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let line = create(dir.path(), "host_key");
    let o = Command::new("ssh-keygen")
        .args(["-y", "-f"])
        .arg(dir.path().join("host_key"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    // ssh-keygen derives the public key from the private one: the same key.
    assert_eq!(text(&o.stdout), line);
}

#[test]
fn create_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    create(dir.path(), "host_key");
    let key = dir.path().join("host_key");
    let before = std::fs::read(&key).unwrap();
    let o = nasstrap(&["keys", "create", "--out", key.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("exists: refusing to overwrite it"),
        "{}",
        text(&o.stderr)
    );
    assert_eq!(std::fs::read(&key).unwrap(), before);

    // A stray FILE.pub alone also refuses, and nothing is written.
    let other = dir.path().join("other");
    std::fs::write(dir.path().join("other.pub"), "old\n").unwrap();
    let err = keys::create(&other, "x").unwrap_err();
    assert!(matches!(err, keys::KeysError::Exists(p) if p.ends_with("other.pub")));
    assert!(!other.exists());
}

#[test]
fn check_tells_ours_from_others_and_names_the_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let line = create(dir.path(), "host_key");
    let id = dir.path().join("host_key");
    let secrets = dir.path().join("secrets");
    encrypt(
        ssh_recipient(&line),
        b"wifi password",
        &secrets.join("wifi.age"),
    );
    encrypt(
        ssh_recipient(&line),
        b"nested",
        &secrets.join("hosts/nas.age"),
    );
    let stranger = age::x25519::Identity::generate().to_public();
    encrypt(Box::new(stranger), b"not yours", &secrets.join("other.age"));
    // Ours, with the last payload byte flipped: the header still names us.
    encrypt(
        ssh_recipient(&line),
        b"soon corrupt",
        &secrets.join("bad.age"),
    );
    let mut bytes = std::fs::read(secrets.join("bad.age")).unwrap();
    *bytes.last_mut().unwrap() ^= 1;
    std::fs::write(secrets.join("bad.age"), bytes).unwrap();
    std::fs::write(secrets.join("notes.txt"), "not a secret").unwrap();

    let checked = keys::check(&id, &secrets).unwrap();
    let got: Vec<(PathBuf, Verdict)> = checked
        .files
        .iter()
        .map(|f| (f.file.clone(), f.verdict.clone()))
        .collect();
    assert!(
        matches!(&got[0], (p, Verdict::CannotDecrypt(Reason::Payload(_))) if p == Path::new("bad.age"))
    );
    assert_eq!(got[1], ("hosts/nas.age".into(), Verdict::Decrypts));
    assert_eq!(
        got[2],
        (
            "other.age".into(),
            Verdict::NotEncryptedToIt {
                recipients: vec!["X25519".into()]
            }
        )
    );
    assert_eq!(got[3], ("wifi.age".into(), Verdict::Decrypts));
    assert_eq!(got.len(), 4);
    assert!(checked.files.iter().all(|f| f.meant == Meant::Unknown));
    assert!(!checked.passed());

    let o = nasstrap(&[
        "keys",
        "check",
        "--identity",
        id.to_str().unwrap(),
        "--secrets",
        secrets.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let (out, err) = (text(&o.stdout), text(&o.stderr));
    assert!(out.contains("ok   wifi.age: decrypts"), "{out}");
    assert!(
        out.contains("skip other.age: not for this identity (encrypted to 1 X25519)"),
        "{out}"
    );
    assert!(
        out.contains("FAIL bad.age: cannot decrypt: the payload is corrupt"),
        "{out}"
    );
    assert!(err.contains("do not decrypt: bad.age"), "{err}");
    assert!(!out.contains("wifi password") && !err.contains("wifi password"));

    // Without the corrupt file, it passes.
    std::fs::remove_file(secrets.join("bad.age")).unwrap();
    let o = nasstrap(&[
        "keys",
        "check",
        "--identity",
        id.to_str().unwrap(),
        "--secrets",
        secrets.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
}

#[test]
fn an_x25519_identity_works_too() {
    let dir = tempfile::tempdir().unwrap();
    let key = age::x25519::Identity::generate();
    let id = dir.path().join("age.key");
    std::fs::write(
        &id,
        format!(
            "# created by a test\n{}\n",
            age::secrecy::ExposeSecret::expose_secret(&key.to_string())
        ),
    )
    .unwrap();
    let secrets = dir.path().join("secrets");
    encrypt(Box::new(key.to_public()), b"x", &secrets.join("a.age"));
    let checked = keys::check(&id, &secrets).unwrap();
    assert_eq!(checked.recipient, key.to_public().to_string());
    assert_eq!(checked.files[0].verdict, Verdict::Decrypts);
    assert!(checked.passed());
}

#[test]
fn an_identity_nothing_is_encrypted_to_fails() {
    let dir = tempfile::tempdir().unwrap();
    create(dir.path(), "host_key");
    let secrets = dir.path().join("secrets");
    let stranger = age::x25519::Identity::generate().to_public();
    encrypt(Box::new(stranger), b"x", &secrets.join("a.age"));
    let id = dir.path().join("host_key");
    let o = nasstrap(&[
        "keys",
        "check",
        "--identity",
        id.to_str().unwrap(),
        "--secrets",
        secrets.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("decrypts none of the 1 .age file(s)"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn the_age_cli_agrees() {
    if skip::skip(&[Need::Tools(&["age"])]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let line = create(dir.path(), "host_key");
    let id = dir.path().join("host_key");
    let secrets = dir.path().join("secrets");
    std::fs::create_dir(&secrets).unwrap();
    // age encrypts to our recipient line (armored, as some agenix setups do) …
    let mut child = Command::new("age")
        .args(["-a", "-r", line.trim(), "-o"])
        .arg(secrets.join("cli.age"))
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"from the cli")
        .unwrap();
    assert!(child.wait().unwrap().success());
    let checked = keys::check(&id, &secrets).unwrap();
    assert_eq!(checked.files[0].verdict, Verdict::Decrypts);
    // … and decrypts, with our private key, what the age crate encrypted to it.
    encrypt(
        ssh_recipient(&line),
        b"from the crate",
        &secrets.join("crate.age"),
    );
    let o = Command::new("age")
        .args(["-d", "-i"])
        .arg(&id)
        .arg(secrets.join("crate.age"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(o.stdout, b"from the crate");
}

#[test]
fn secrets_nix_says_which_files_are_meant() {
    if skip::skip(&[Need::Tools(&["nix-instantiate"])]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let line = create(dir.path(), "host_key");
    let id = dir.path().join("host_key");
    let secrets = dir.path().join("secrets");
    let admin = age::x25519::Identity::generate().to_public();
    encrypt(ssh_recipient(&line), b"x", &secrets.join("ok.age"));
    // Listed for the host, but encrypted before the host's key was added.
    encrypt(Box::new(admin.clone()), b"x", &secrets.join("stale.age"));
    encrypt(Box::new(admin.clone()), b"x", &secrets.join("admin.age"));
    let host = line
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ");
    std::fs::write(
        secrets.join("secrets.nix"),
        format!(
            "let\n  nas = \"{host} renamed\";\n  admin = \"{admin}\";\n  all = [ admin nas ];\nin {{\n  \
             \"ok.age\".publicKeys = all;\n  \"./stale.age\".publicKeys = all;\n  \
             \"admin.age\".publicKeys = [ admin ];\n  \"gone.age\".publicKeys = [ nas ];\n}}\n"
        ),
    )
    .unwrap();
    let checked = keys::check(&id, &secrets).unwrap();
    assert_eq!(checked.rules, keys::RulesUsed::Evaluated);
    let got: Vec<(String, Meant, bool)> = checked
        .files
        .iter()
        .map(|f| (f.file.display().to_string(), f.meant, f.fails()))
        .collect();
    assert_eq!(
        got,
        [
            ("admin.age".into(), Meant::NotListed, false),
            ("gone.age".into(), Meant::Listed, true),
            ("ok.age".into(), Meant::Listed, false),
            ("stale.age".into(), Meant::Listed, true),
        ]
    );
    let o = nasstrap(&[
        "keys",
        "check",
        "--identity",
        id.to_str().unwrap(),
        "--secrets",
        secrets.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stdout).contains(
            "FAIL stale.age: secrets.nix lists this key but the file is not encrypted to it"
        ),
        "{}",
        text(&o.stdout)
    );
    assert!(
        text(&o.stderr).contains("do not decrypt: gone.age, stale.age"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn without_nix_every_file_is_tried() {
    let dir = tempfile::tempdir().unwrap();
    let line = create(dir.path(), "host_key");
    let id = dir.path().join("host_key");
    let secrets = dir.path().join("secrets");
    encrypt(ssh_recipient(&line), b"x", &secrets.join("a.age"));
    let stranger = age::x25519::Identity::generate().to_public();
    encrypt(Box::new(stranger), b"x", &secrets.join("b.age"));
    std::fs::write(secrets.join("secrets.nix"), "{ }\n").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_nasstrap"))
        .args([
            "keys",
            "check",
            "--identity",
            id.to_str().unwrap(),
            "--secrets",
            secrets.to_str().unwrap(),
        ])
        .env("PATH", dir.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("no nix-instantiate to evaluate secrets.nix: the 1 file(s)"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn a_passphrase_protected_key_is_refused() {
    if skip::skip(&[Need::Tools(&["ssh-keygen"])]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k");
    let o = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "secret", "-C", "", "-f"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let err = keys::check(&key, dir.path()).unwrap_err();
    assert!(
        matches!(err, keys::KeysError::EncryptedIdentity(_)),
        "{err}"
    );
}
