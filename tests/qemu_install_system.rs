//! `nasstrap install --flake` end to end in the emulated Helios64: disks, the
//! flake staged with its disks module, a private `git+ssh` input fetched on the
//! target through the forwarded agent (a git server on the host that only the
//! agent's key opens), `nixos-install`, the boot check, finish. The real
//! `nixos-install` needs the Nix binary cache, which cannot be reached here:
//! `tests/fixtures/install/nixos-install-standin.sh` stands in for it (its name
//! says so), records how it was called, and does what runs offline.
//! Skips without QEMU (see `common::qemu::skip`); CI never skips.

mod common;

use common::gitserver::{self, GitServer};
use common::qemu::{self, BootOpts, Guest};
use std::path::{Path, PathBuf};
use std::process::Command;

const NASSTRAP: &str = env!("CARGO_BIN_EXE_nasstrap");

/// A fleet flake in a git repository whose host reads the private input and
/// the disks module nasstrap generates.
fn flake(git: &GitServer) -> PathBuf {
    let dir = git.path().join("flake");
    std::fs::create_dir_all(&dir).unwrap();
    let nix = r#"{
  inputs.secrets = { url = "URL"; flake = false; };
  outputs = { self, secrets }: {
    nixosConfigurations.helios64 = {
      # The NixOS module nasstrap writes beside this file (./nasstrap-disks.nix).
      disksModule = assert builtins.isFunction (import ./nasstrap-disks.nix);
        builtins.readFile ./nasstrap-disks.nix;
      secret = builtins.readFile "${secrets}/secret.txt";
      toplevel = derivation {
        name = "helios64-toplevel";
        system = "aarch64-linux";
        builder = "/bin/sh";
        args = [ "-c" "echo '${builtins.readFile "${secrets}/secret.txt"}' > $out" ];
      };
    };
  };
}
"#;
    std::fs::write(dir.join("flake.nix"), nix.replace("URL", &git.url())).unwrap();
    std::fs::write(dir.join("untracked-junk.txt"), "not for the NAS").unwrap();
    let git_cmd = |args: &[&str]| {
        let out = Command::new("git")
            .arg("-C")
            .arg(&dir)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    git_cmd(&["init", "-q", "-b", "main"]);
    git_cmd(&["add", "flake.nix"]);
    git_cmd(&[
        "-c",
        "user.name=ci",
        "-c",
        "user.email=ci@localhost",
        "commit",
        "-q",
        "-m",
        "f",
    ]);
    dir
}

/// The machine's identity (`keys create`) and a secrets dir it decrypts.
fn identity(git: &GitServer) -> (PathBuf, PathBuf) {
    use std::io::Write;
    use std::str::FromStr;
    let key = git.path().join("helios64_host_key");
    let made = Command::new(NASSTRAP)
        .args(["keys", "create", "--out"])
        .arg(&key)
        .output();
    let made = made.unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let recipient = String::from_utf8_lossy(&made.stdout).trim().to_string();
    let to = age::ssh::Recipient::from_str(&recipient).unwrap();
    let enc = age::Encryptor::with_recipients(std::iter::once(&to as &dyn age::Recipient));
    let mut bytes = Vec::new();
    let mut w = enc.unwrap().wrap_output(&mut bytes).unwrap();
    w.write_all(b"wifi psk").unwrap();
    w.finish().unwrap();
    let secrets = git.path().join("agenix");
    std::fs::create_dir_all(&secrets).unwrap();
    std::fs::write(secrets.join("wifi.age"), bytes).unwrap();
    (key, secrets)
}

fn install(g: &Guest, git: &GitServer, flake: &Path) -> (i32, String, String) {
    install_with_agent(g, git, flake, Some(&git.agent_sock))
}

fn install_with_agent(
    g: &Guest,
    git: &GitServer,
    flake: &Path,
    agent: Option<&Path>,
) -> (i32, String, String) {
    let known = git.path().join("laptop_known_hosts");
    std::fs::write(&known, format!("{}\n", git.known_hosts_line)).unwrap();
    let identity = format!(
        "{}:/etc/ssh/ssh_host_ed25519_key",
        git.path().join("helios64_host_key").display()
    );
    let out = g
        .install(&qemu::repo_root().join("layouts/helios64.yaml"))
        .arg("--flake")
        .arg(format!("{}#helios64", flake.display()))
        .arg("--git-known-hosts")
        .arg(&known)
        .args(["--identity", &identity, "--secrets"])
        .arg(git.path().join("agenix"))
        .args(["--events", "json"])
        .envs(agent.map(|a| ("SSH_AUTH_SOCK", a)))
        .output()
        .expect("nasstrap install");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

fn events(out: &str) -> Vec<serde_json::Value> {
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// Every regular file of the rescue system (its RAM), concatenated.
fn rescue_files(g: &Guest) -> Vec<u8> {
    let cmd = "find / /run /tmp -xdev \\( -path /proc -o -path /sys -o -path /dev \\) -prune \
               -o -type f -print0 | xargs -0 cat 2>/dev/null; true";
    let out = g.ssh_command().arg("--").arg(cmd).output().unwrap();
    out.stdout
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn qemu_install_flake_with_a_private_input_through_the_agent_and_a_nixos_install_standin() {
    if qemu::skip() {
        return;
    }
    let git = GitServer::start();
    let flake = flake(&git);
    let (key, _) = identity(&git);
    let standin = qemu::repo_root().join("tests/fixtures/install/nixos-install-standin.sh");
    let g = Guest::boot(BootOpts {
        git_server: Some(git.path().to_path_buf()),
        files: vec![(standin, "/usr/local/bin/nixos-install".into())],
        ..BootOpts::default()
    })
    .expect("boot");

    // Without the agent the private input cannot be fetched: git's own words come
    // back, and finish still runs (nothing mounted, the git host's key gone).
    let (code, out, err) = install_with_agent(&g, &git, &flake, None);
    assert_eq!(code, 1, "{out}{err}");
    let evs = events(&out);
    let stopped = evs
        .iter()
        .find(|e| e["event"] == "stopped")
        .expect("stopped");
    let msg = stopped["message"].as_str().unwrap();
    assert!(msg.contains("fetching the flake's inputs"), "{msg}");
    assert!(msg.contains("10.0.2.100"), "names the git host: {msg}");
    assert!(
        msg.contains("Permission denied"),
        "ssh's own message: {msg}"
    );
    let finished = evs
        .iter()
        .any(|e| e["event"] == "phase_done" && e["phase"] == "finish");
    assert!(finished, "{out}");
    g.ssh_ok("test ! -e /run/nasstrap/git_known_hosts && ! mountpoint -q /mnt");

    let (code, out, err) = install(&g, &git, &flake);
    assert_eq!(code, 0, "{out}{err}");
    let evs = events(&out);
    for p in ["disks", "stage", "fetch", "install", "boot-check", "finish"] {
        let done = evs
            .iter()
            .any(|e| e["event"] == "phase_done" && e["phase"] == p);
        assert!(done, "phase {p} did not finish: {out}{err}");
    }
    // The boot check read what the stand-in wrote: it boots, but U-Boot is not on the
    // eMMC (no --firmware), which is said.
    let checks: Vec<_> = evs.iter().filter(|e| e["event"] == "check").collect();
    assert!(
        checks.iter().all(|c| c["verdict"] != "problem"),
        "{checks:#?}"
    );
    let firmware = checks
        .iter()
        .any(|c| c["rule"] == "firmware" && c["verdict"] == "warning");
    assert!(firmware, "{checks:#?}");
    // How nixos-install was called, and with what around it.
    let log = g.ssh_ok("cat /run/nixos-install-standin.log");
    assert!(
        log.contains(
            "argv: --root /mnt --flake /mnt/etc/nixos#helios64 --no-root-passwd --no-channel-copy\n"
        ),
        "{log}"
    );
    assert!(
        !log.contains("SSH_AUTH_SOCK=\n"),
        "the agent is forwarded to it: {log}"
    );
    assert!(
        log.contains(&git.known_hosts_line),
        "the git host's key is there: {log}"
    );
    assert!(
        log.contains("UserKnownHostsFile=/run/nasstrap/git_known_hosts"),
        "{log}"
    );
    // It read the private input and the disks module.
    assert_eq!(
        g.ssh_ok("cat /run/nixos-install-standin.secret"),
        git.secret
    );
    let module = g.ssh_ok("cat /run/nixos-install-standin.disks");
    assert!(module.contains("fileSystems"), "{module}");
    // Finish: nothing mounted, arrays stopped, the git host's key gone again.
    g.ssh_ok("test ! -e /run/nasstrap/git_known_hosts && ! mountpoint -q /mnt");
    assert!(!g.ssh_ok("cat /proc/mdstat").contains("active"));
    // The new root holds the system, the flake (tracked files only) and the module.
    let root = g.ssh_ok(
        "mkdir -p /tmp/r && mount -o ro /dev/mmcblk0p2 /tmp/r && \
         ls /tmp/r/nix/store /tmp/r/etc/nixos; \
         stat -c 'identity %a' /tmp/r/etc/ssh/ssh_host_ed25519_key; \
         sha256sum /tmp/r/etc/ssh/ssh_host_ed25519_key; umount /tmp/r",
    );
    // The identity, asked for, is the one secret placed on the new root (0600).
    assert!(root.contains("identity 600"), "{root}");
    let local = Command::new("sha256sum").arg(&key).output().unwrap();
    let local = String::from_utf8_lossy(&local.stdout);
    assert!(
        root.contains(local.split_whitespace().next().unwrap()),
        "{root}"
    );
    assert!(root.contains("-helios64-toplevel"), "{root}");
    assert!(
        root.contains("nasstrap-disks.nix") && root.contains("flake.nix"),
        "{root}"
    );
    assert!(!root.contains("untracked-junk.txt"), "{root}");

    // The deploy key never reached the target: not in the rescue system's files...
    let files = rescue_files(&g);
    assert!(
        contains(&files, git.secret.as_bytes()),
        "positive control: the fetched input is seen"
    );
    assert!(
        !contains(&files, &git.seed),
        "the private key's seed is on the rescue system"
    );
    let body: Vec<&str> = git
        .key_text
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    assert!(
        !contains(&files, body[1].as_bytes()),
        "the key file's text is on the rescue system"
    );

    // A second run has nothing to make up to the install (it only brings the disks up).
    let (code, out, err) = install(&g, &git, &flake);
    assert_eq!(code, 0, "{out}{err}");
    let evs = events(&out);
    let until_finish = evs.iter().take_while(|e| e["phase"] != "finish");
    for e in until_finish.filter(|e| e["event"] == "step_started") {
        let d = e["description"].as_str().unwrap();
        assert!(
            d.starts_with("mount") || d.starts_with("assemble"),
            "the second run changed the disks: {d}\n{out}"
        );
    }

    // ...nor on any disk.
    let work = g.poweroff().expect("poweroff");
    for d in qemu::DISKS {
        let image = work.image(d.name);
        for needle in [&git.seed[..], body[1].as_bytes()] {
            let found = gitserver::find_in_file(&image, needle);
            assert_eq!(found, None, "the deploy key is on {}", image.display());
        }
    }
}
