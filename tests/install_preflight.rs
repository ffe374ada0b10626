//! `install --flake` checks what it can on the laptop before it opens anything:
//! the machine's identity must decrypt the host's secrets (a file it cannot
//! decrypt is named), and the host must import the disks module nasstrap
//! writes (else the exact line to add). No target is needed: the one given
//! listens nowhere, and the run must not even try it.

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::str::FromStr;

const NASSTRAP: &str = env!("CARGO_BIN_EXE_nasstrap");

fn flake(dir: &Path, imports: bool) -> std::path::PathBuf {
    let f = dir.join("flake");
    std::fs::create_dir_all(&f).unwrap();
    let module = if imports {
        "./nasstrap-disks.nix"
    } else {
        "./hardware.nix"
    };
    let text = format!(
        "{{ outputs = {{ self, nixpkgs }}: {{\n  nixosConfigurations.helios64 = nixpkgs.lib.nixosSystem {{\n    modules = [ ./configuration.nix {module} ];\n  }};\n}}; }}\n"
    );
    std::fs::write(f.join("flake.nix"), text).unwrap();
    f
}

fn install(dir: &Path, flake: &Path, extra: &[&str]) -> (i32, String, String) {
    let out = Command::new(NASSTRAP)
        .arg("install")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/layouts/helios64.yaml"
        ))
        // Port 9 on loopback: nothing listens; the run must stop before it.
        .args(["--target", "root@127.0.0.1:9", "--events", "json"])
        .arg("--known-hosts")
        .arg(dir.join("known_hosts"))
        .arg("--flake")
        .arg(format!("{}#helios64", flake.display()))
        .args(extra)
        .output()
        .expect("nasstrap install");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn an_identity_that_cannot_decrypt_a_secret_stops_the_install_before_it_connects() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("known_hosts"), "").unwrap();
    let key = dir.path().join("host_key");
    let made = Command::new(NASSTRAP)
        .args(["keys", "create", "--out"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let recipient = String::from_utf8_lossy(&made.stdout).trim().to_string();
    let to = age::ssh::Recipient::from_str(&recipient).expect("a recipient");
    let secrets = dir.path().join("secrets");
    std::fs::create_dir_all(&secrets).unwrap();
    for (name, plain) in [("wifi.age", "psk"), ("broken.age", "x")] {
        let enc =
            age::Encryptor::with_recipients(std::iter::once(&to as &dyn age::Recipient)).unwrap();
        let mut bytes = Vec::new();
        let mut w = enc.wrap_output(&mut bytes).unwrap();
        w.write_all(plain.as_bytes()).unwrap();
        w.finish().unwrap();
        if name == "broken.age" {
            // One flipped byte in the payload: the file is damaged.
            let last = bytes.len() - 1;
            bytes[last] ^= 0x55;
        }
        std::fs::write(secrets.join(name), bytes).unwrap();
    }
    let flake = flake(dir.path(), true);
    let identity = format!("{}:/etc/ssh/ssh_host_ed25519_key", key.display());
    let args = [
        "--identity",
        &identity,
        "--secrets",
        secrets.to_str().unwrap(),
    ];
    let (code, out, err) = install(dir.path(), &flake, &args);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("broken.age"), "the file is named: {out}");
    assert!(
        !out.contains("wifi.age"),
        "only what fails is listed: {out}"
    );
    assert!(out.contains("\"kind\":\"keys\""), "{out}");
    assert!(
        !out.contains("\"phase\":\"connect\""),
        "nothing was opened: {out}"
    );
}

#[test]
fn a_host_that_does_not_import_the_disks_module_is_told_the_line_to_add() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("known_hosts"), "").unwrap();
    let flake = flake(dir.path(), false);
    let (code, out, err) = install(dir.path(), &flake, &[]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("\"kind\":\"flake\""), "{out}");
    assert!(
        out.contains("./nasstrap-disks.nix"),
        "the exact line: {out}"
    );
    assert!(
        !out.contains("\"phase\":\"connect\""),
        "nothing was opened: {out}"
    );
}
