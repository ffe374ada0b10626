//! The ssh master against a throw-away sshd on 127.0.0.1: commands ride one connection, and
//! an unknown, changed or unpinned host key stops everything before a session starts.

mod common;
use common::skip::{self, Need};
use common::sshd::{Sshd, keygen};
use nasstrap::remote::ssh::{ConnectError, Connection};
use std::process::{Command, Stdio};

fn sshd() -> Option<Sshd> {
    if skip::skip(&[Need::Sshd]) {
        return None;
    }
    Some(Sshd::start())
}

/// Lines of the sshd log that show a login or a session: none may appear when the host
/// key is refused. (`Connection from` shows the client did reach the server.)
fn logins(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| l.contains("Accepted") || l.contains("Starting session"))
        .collect()
}

#[test]
fn a_known_host_runs_commands_over_one_connection() {
    let Some(sshd) = sshd() else { return };
    std::fs::write(sshd.path("known_hosts"), sshd.known_hosts_line() + "\n").unwrap();
    let c = Connection::connect(&sshd.opts()).unwrap_or_else(|e| panic!("{e}"));
    assert!(c.control_socket().exists());

    let out = c.run("echo hi; echo oops >&2; exit 3", b"").unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hi\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "oops\n");
    assert_eq!(out.status.code(), Some(3));

    // More than a pipe holds, both ways at once: the stdin feeder must not wait for stdout.
    let input: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    let out = c.run("cat", &input).unwrap();
    assert!(out.status.success());
    assert!(out.stdout == input, "stdin did not come back intact");

    // A word that needs quoting arrives as one argument, verbatim.
    let word = "it's $HOME `x`";
    let q = nasstrap::remote::ssh::quote(word);
    let out = c.run(&format!("printf %s {q}"), b"").unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), word);

    let ctl = c.control_socket().to_path_buf();
    c.close().unwrap();
    assert!(!ctl.exists(), "the control socket outlived close");
    let log = sshd.log();
    let accepted = log
        .lines()
        .filter(|l| l.contains("Accepted publickey"))
        .count();
    assert_eq!(accepted, 1, "one login for three commands:\n{log}");
}

#[test]
fn an_unknown_host_is_refused_before_anything_runs() {
    let Some(sshd) = sshd() else { return };
    let e = Connection::connect(&sshd.opts()).err().expect("refused");
    let ConnectError::HostKeyUnknown { host, offered } = &e else {
        panic!("{e:?}")
    };
    let offered = offered.as_ref().expect("the offered key");
    assert_eq!(host, &format!("[127.0.0.1]:{}", sshd.port));
    assert_eq!(offered.fingerprint, sshd.fingerprint());
    assert_eq!(offered.known_hosts_line(), sshd.known_hosts_line());
    let shown = e.to_string();
    assert!(
        shown.contains(&format!("--host-key {}", sshd.fingerprint())),
        "{shown}"
    );
    assert!(shown.contains(&sshd.known_hosts_line()), "{shown}");

    let log = sshd.log();
    assert!(log.contains("Connection from 127.0.0.1"), "{log}");
    assert_eq!(logins(&log), Vec::<&str>::new());
    // Strict: nothing was added to known_hosts.
    assert_eq!(
        std::fs::read_to_string(sshd.path("known_hosts")).unwrap(),
        ""
    );
}

#[test]
fn a_changed_host_key_is_refused_showing_the_new_one() {
    let Some(sshd) = sshd() else { return };
    keygen(&sshd.path("impostor"));
    let public = std::fs::read_to_string(sshd.path("impostor.pub")).unwrap();
    let line = format!("[127.0.0.1]:{} {}", sshd.port, public);
    std::fs::write(sshd.path("known_hosts"), &line).unwrap();
    let e = Connection::connect(&sshd.opts()).err().expect("refused");
    let ConnectError::HostKeyChanged { offered, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(offered.as_ref().unwrap().fingerprint, sshd.fingerprint());
    assert!(e.to_string().contains(&sshd.fingerprint()), "{e}");
    assert_eq!(logins(&sshd.log()), Vec::<&str>::new());
    assert_eq!(
        std::fs::read_to_string(sshd.path("known_hosts")).unwrap(),
        line
    );
}

#[test]
fn a_pin_decides_alone() {
    let Some(sshd) = sshd() else { return };
    // known_hosts holds another key for the host: with a pin it is not read.
    keygen(&sshd.path("impostor"));
    let public = std::fs::read_to_string(sshd.path("impostor.pub")).unwrap();
    std::fs::write(
        sshd.path("known_hosts"),
        format!("[127.0.0.1]:{} {}", sshd.port, public),
    )
    .unwrap();

    let mut o = sshd.opts();
    o.host_key = Some(sshd.fingerprint());
    let c = Connection::connect(&o).unwrap_or_else(|e| panic!("{e}"));
    let out = c.run("echo pinned", b"").unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "pinned\n");
    c.close().unwrap();
    let before = logins(&sshd.log()).len();

    let wrong = "SHA256:0000000000000000000000000000000000000000000";
    o.host_key = Some(wrong.into());
    let e = Connection::connect(&o).err().expect("refused");
    let ConnectError::HostKeyNotPinned { pin, offered, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(pin, wrong);
    assert_eq!(offered.as_ref().unwrap().fingerprint, sshd.fingerprint());
    assert_eq!(logins(&sshd.log()).len(), before, "{}", sshd.log());
}

#[test]
fn commands_and_the_master_are_out_of_the_terminals_process_group() {
    let Some(sshd) = sshd() else { return };
    std::fs::write(sshd.path("known_hosts"), sshd.known_hosts_line() + "\n").unwrap();
    let c = Connection::connect(&sshd.opts()).unwrap_or_else(|e| panic!("{e}"));
    let ours = pgid(std::process::id());

    let mut child = c.command("sleep 30").stdout(Stdio::null()).spawn().unwrap();
    let theirs = pgid(child.id());
    child.kill().unwrap();
    child.wait().unwrap();
    assert_ne!(theirs, ours, "a Ctrl-C for us would reach the command");
    assert_eq!(theirs, child.id(), "it leads its own group");

    // The master forked away from us too (`ssh -f` calls daemon(3), a new session).
    let check = Command::new("ssh")
        .arg("-S")
        .arg(c.control_socket())
        .args(["-O", "check", "none"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&check.stderr);
    let master: u32 = said
        .split("pid=")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("ssh -O check: {said}"));
    assert_ne!(pgid(master), ours, "a Ctrl-C for us would reach the master");
    c.close().unwrap();
}

/// A process's group, from ps (nix's getpgid needs a feature the crate does not enable).
fn pgid(pid: u32) -> u32 {
    let out = Command::new("ps")
        .args(["-o", "pgid=", "-p", &pid.to_string()])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    text.trim()
        .parse()
        .unwrap_or_else(|_| panic!("ps: {text:?}"))
}

#[test]
fn proxy_jump_from_the_users_config_keeps_working_with_a_pin() {
    let Some(sshd) = sshd() else { return };
    // The jump host is the same sshd under another name, known through the user's config
    // and its own known_hosts; the target is pinned.
    let d = sshd.dir.path().display();
    std::fs::write(
        sshd.path("jump_known_hosts"),
        sshd.known_hosts_line().replace("[127.0.0.1]", "[jumphost]"),
    )
    .unwrap();
    let config = format!(
        "Host jumphost\n  HostName 127.0.0.1\n  HostKeyAlias [jumphost]:{port}\n  Port {port}\n  \
         User {user}\n  IdentityFile {d}/id\n  IdentitiesOnly yes\n  \
         UserKnownHostsFile {d}/jump_known_hosts\n  StrictHostKeyChecking yes\n\
         Host 127.0.0.1\n  ProxyJump jumphost\n",
        port = sshd.port,
        user = sshd.user,
    );
    std::fs::write(sshd.path("ssh_config"), config).unwrap();
    let mut o = sshd.opts();
    o.host_key = Some(sshd.fingerprint());
    let c = Connection::connect(&o).unwrap_or_else(|e| panic!("{e}"));
    let out = c.run("echo through", b"").unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "through\n");
    c.close().unwrap();
    let log = sshd.log();
    let accepted = log
        .lines()
        .filter(|l| l.contains("Accepted publickey"))
        .count();
    assert_eq!(accepted, 2, "the jump and the target:\n{log}");
}
