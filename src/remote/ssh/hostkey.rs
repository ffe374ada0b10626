//! Host key checking for the master connection, all through ssh's own config file:
//! `StrictHostKeyChecking=yes` always (from the crate's `KnownHosts::Strict`), and a
//! `KnownHostsCommand` script that records the key the server offered, so a refusal can show
//! it, and, when a fingerprint is pinned, vouches for exactly that key and nothing else.
//!
//! What OpenSSH 9.2 does with `KnownHostsCommand` (checked against a throw-away sshd):
//! it runs it twice per connection, first with `%I`=`ORDER` before the key exchange
//! (`%f %t %K` are `NONE` then; the output only orders host key algorithms), then with
//! `%I`=`HOSTNAME` once the server's key is in hand, with `%H` the name known_hosts uses
//! (`[127.0.0.1]:2222`), **before** it decides, so the key is recorded for unknown and
//! changed keys alike. (`ADDRESS` follows when `CheckHostIP` is on.) The arguments are
//! split and expanded by ssh itself, without a shell.
//!
//! How a refusal reads in ssh's log (`-E`): with known_hosts, "No ED25519 host key is known
//! for … and you have requested strict checking" (unknown) or "REMOTE HOST IDENTIFICATION
//! HAS CHANGED" (changed), then "Host key verification failed."; with a pin (known_hosts
//! files `none`) only the last line, without the reason: the recorded key tells.

use std::fmt;
use std::path::Path;

/// How the server's host key is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// Against known_hosts: the user's, or this file.
    KnownHosts(Option<std::path::PathBuf>),
    /// Against this fingerprint alone (`SHA256:…`); known_hosts files are not read.
    Pin(String),
}

/// A `--host-key` value: `SHA256:` and 43 base64 characters, as `ssh-keygen -l` prints it.
pub fn parse_pin(s: &str) -> Result<String, String> {
    let b64 = s.strip_prefix("SHA256:").unwrap_or("");
    let b64 = b64.trim_end_matches('=');
    if b64.len() == 43
        && b64
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '/')
    {
        return Ok(format!("SHA256:{b64}"));
    }
    Err(format!(
        "host key {s:?}: expected a SHA256 fingerprint like ssh-keygen -l prints it \
         (SHA256: and 43 characters)"
    ))
}

/// The key a server offered, as ssh reported it to the recording script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferedKey {
    /// The host as known_hosts names it (`nas`, `[10.0.0.5]:2222`).
    pub host: String,
    /// `SHA256:…`.
    pub fingerprint: String,
    /// `ssh-ed25519`, `ecdsa-sha2-nistp256`, `rsa-sha2-512`…
    pub key_type: String,
    /// The public key, base64.
    pub key: String,
}

impl OfferedKey {
    /// The line that makes known_hosts vouch for this key.
    pub fn known_hosts_line(&self) -> String {
        // known_hosts names RSA keys by their key type, whatever signature algorithm ssh
        // negotiated.
        let t = if self.key_type.starts_with("rsa-sha2-") {
            "ssh-rsa"
        } else {
            &self.key_type
        };
        format!("{} {t} {}", self.host, self.key)
    }
}

/// The first key in what the recording script wrote: lines of `%H %f %t %K`.
pub fn parse_record(text: &str) -> Option<OfferedKey> {
    text.lines().find_map(|l| {
        let w: Vec<&str> = l.split(' ').collect();
        match w[..] {
            [host, fp, t, key] if fp.starts_with("SHA256:") && key != "NONE" => Some(OfferedKey {
                host: host.into(),
                fingerprint: fp.into(),
                key_type: t.into(),
                key: key.into(),
            }),
            _ => None,
        }
    })
}

/// Why ssh refused the host key, read from its log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No key is known for the host (of any type ssh would take).
    Unknown,
    /// A different key is known for the host.
    Changed,
    /// Some other host key failure (a revoked key, a bad certificate): see the log.
    Other,
}

/// Whether and why ssh's log says the host key was refused; `None` when it failed for
/// another reason (no route, authentication…).
pub fn classify(log: &str) -> Option<Refusal> {
    if log.contains("REMOTE HOST IDENTIFICATION HAS CHANGED")
        || log.contains("has changed and you have requested strict checking")
    {
        Some(Refusal::Changed)
    } else if log.contains("host key is known for")
        && log.contains("you have requested strict checking")
    {
        Some(Refusal::Unknown)
    } else if log.contains("Host key verification failed") {
        Some(Refusal::Other)
    } else {
        None
    }
}

/// The `KnownHostsCommand` script (POSIX sh, for macOS too). It appends `%H %f %t %K` to
/// `record` and, with a pin, prints the known_hosts line for the offered key only when its
/// fingerprint is the pin, so ssh finds that key known and no other.
pub fn script(record: &Path, pin: Option<&str>) -> String {
    let record = super::quote(&record.to_string_lossy());
    let mut s = format!(
        "#!/bin/sh\n\
         # ssh runs this with %I %H %f %t %K (see nasstrap's remote/ssh/hostkey.rs).\n\
         # ORDER comes before the key exchange, without a key: nothing to say.\n\
         [ \"$1\" = ORDER ] && exit 0\n\
         printf '%s %s %s %s\\n' \"$2\" \"$3\" \"$4\" \"$5\" >> {record}\n"
    );
    if let Some(pin) = pin {
        // parse_pin allows only base64 characters: safe inside single quotes.
        s.push_str(&format!(
            "[ \"$3\" = '{pin}' ] && printf '%s %s %s\\n' \"$2\" \"$4\" \"$5\"\n"
        ));
    }
    s.push_str("exit 0\n");
    s
}

/// What the master's `-F` file needs to know.
pub struct Config<'a> {
    /// The destination's host as typed: our options apply to it alone, not to jump hosts
    /// (ssh passes `-F` on to a `ProxyJump` connection).
    pub host: &'a str,
    /// The recording (and pinning) script.
    pub script: &'a Path,
    /// Whether the script is the only authority (a pin): known_hosts files are then off.
    pub pinned: bool,
    /// The user's ssh config: `~/.ssh/config` or `--ssh-config`.
    pub user_config: &'a Path,
    /// The master may forward the agent (to the target only, never a jump host).
    pub forward_agent: bool,
}

/// A path as one ssh_config argument, or why it cannot be one. ssh splits arguments itself
/// (quotes, backslashes) and expands `%` tokens and `Include` globs, so paths with those
/// characters are refused rather than escaped.
pub fn config_word(p: &Path) -> Result<String, String> {
    let s = p.to_string_lossy();
    if s.chars().any(|c| c.is_control() || "\"'\\%*?[".contains(c)) {
        return Err(format!(
            "{s}: ssh cannot take this path in its config (quotes, backslashes, %, * ? [ \
             or control characters)"
        ));
    }
    Ok(format!("\"{s}\""))
}

impl Config<'_> {
    /// The config file: our options first (the first value ssh reads wins), then the
    /// files `-F` would otherwise skip, the user's and the system's, so `Host` blocks,
    /// `ProxyJump`, identities and the agent keep working.
    pub fn text(&self) -> Result<String, String> {
        let script = config_word(self.script)?;
        let user = config_word(self.user_config)?;
        let mut t = String::from(
            "# Written by nasstrap for one connection.\n\
             # The fingerprint the pin is compared with.\n\
             FingerprintHash sha256\n\
             # Never write to the user's known_hosts.\n\
             UpdateHostKeys no\n",
        );
        t.push_str(&format!("Match originalhost {}\n", self.host));
        t.push_str(&format!("  KnownHostsCommand {script} %I %H %f %t %K\n"));
        if self.pinned {
            t.push_str("  UserKnownHostsFile none\n  GlobalKnownHostsFile none\n");
        }
        if self.forward_agent {
            t.push_str("  ForwardAgent yes\n");
        }
        // `Match all` ends our block: the includes apply to every host.
        t.push_str(&format!(
            "Match all\nInclude {user}\nMatch all\nInclude /etc/ssh/ssh_config\n"
        ));
        Ok(t)
    }
}

impl fmt::Display for OfferedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.key_type, self.fingerprint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FP: &str = "SHA256:ib7v1gPY9kVTr8i9CiZEAeMqIWmTdtYO7jXsqPFkWEY";

    #[test]
    fn pins_are_sha256_fingerprints() {
        assert_eq!(parse_pin(FP).as_deref(), Ok(FP));
        assert_eq!(parse_pin(&format!("{FP}=")).as_deref(), Ok(FP));
        for bad in [
            "",
            "ib7v1gPY9kVTr8i9CiZEAeMqIWmTdtYO7jXsqPFkWEY",
            "MD5:ab:cd",
            "SHA256:x'y",
        ] {
            assert!(
                parse_pin(bad).unwrap_err().contains("expected a SHA256"),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_record_gives_the_offered_key() {
        let text = format!("[127.0.0.1]:2222 {FP} ssh-ed25519 AAAAC3Nz\n");
        let k = parse_record(&text).unwrap();
        assert_eq!(k.fingerprint, FP);
        assert_eq!(
            k.known_hosts_line(),
            "[127.0.0.1]:2222 ssh-ed25519 AAAAC3Nz"
        );
        assert_eq!(k.to_string(), format!("ssh-ed25519 {FP}"));
        let rsa = parse_record(&format!("nas {FP} rsa-sha2-512 AAAAB3")).unwrap();
        assert_eq!(rsa.known_hosts_line(), "nas ssh-rsa AAAAB3");
        assert_eq!(parse_record("127.0.0.1 NONE NONE NONE\n"), None);
        assert_eq!(parse_record(""), None);
    }

    #[test]
    fn ssh_logs_are_classified() {
        // OpenSSH 9.2's words, from the throw-away sshd.
        let unknown = "No ED25519 host key is known for [127.0.0.1]:2299 and you have \
                       requested strict checking.\r\nHost key verification failed.\r\n";
        let changed = "@@@@@@@\r\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\r\n\
                       Host key for [127.0.0.1]:2299 has changed and you have requested \
                       strict checking.\r\nHost key verification failed.\r\n";
        let revoked = "@ WARNING: REVOKED HOST KEY DETECTED! @\nHost key verification failed.";
        let refused = "ssh: connect to host 127.0.0.1 port 2299: Connection refused";
        let denied = "root@127.0.0.1: Permission denied (publickey).";
        assert_eq!(classify(unknown), Some(Refusal::Unknown));
        assert_eq!(classify(changed), Some(Refusal::Changed));
        assert_eq!(classify(revoked), Some(Refusal::Other));
        assert_eq!(classify(refused), None);
        assert_eq!(classify(denied), None);
    }

    #[test]
    fn the_script_records_always_and_vouches_only_for_the_pin() {
        let s = script(Path::new("/run/user/1/.nasstrap-x/offered"), None);
        assert!(s.contains(">> /run/user/1/.nasstrap-x/offered\n"), "{s}");
        assert!(!s.contains("SHA256"), "{s}");
        let s = script(Path::new("/tmp/it's/offered"), Some(FP));
        assert!(s.contains(r">> '/tmp/it'\''s/offered'"), "{s}");
        assert!(s.contains(&format!("[ \"$3\" = '{FP}' ] && printf")), "{s}");
    }

    #[test]
    fn the_script_runs_under_sh() {
        let dir = tempfile::tempdir().unwrap();
        let record = dir.path().join("offered");
        let run = |pin: Option<&str>, args: &[&str]| {
            let path = dir.path().join("kh");
            std::fs::write(&path, script(&record, pin)).unwrap();
            let out = std::process::Command::new("sh")
                .arg(&path)
                .args(args)
                .output()
                .unwrap();
            assert!(out.status.success());
            String::from_utf8(out.stdout).unwrap()
        };
        let offered = ["HOSTNAME", "[h]:2", FP, "ssh-ed25519", "AAAA"];
        assert_eq!(run(None, &["ORDER", "h", "NONE", "NONE", "NONE"]), "");
        assert_eq!(run(None, &offered), "");
        assert_eq!(run(Some(FP), &offered), "[h]:2 ssh-ed25519 AAAA\n");
        let other = "SHA256:0000000000000000000000000000000000000000000";
        assert_eq!(run(Some(other), &offered), "");
        let rec = std::fs::read_to_string(&record).unwrap();
        assert_eq!(rec, format!("[h]:2 {FP} ssh-ed25519 AAAA\n").repeat(3));
    }

    #[test]
    fn config_text() {
        let c = Config {
            host: "nas",
            script: Path::new("/run/user/1/.nasstrap-x/known-hosts"),
            pinned: true,
            user_config: Path::new("/home/me/.ssh/config"),
            forward_agent: false,
        };
        assert_eq!(
            c.text().unwrap(),
            "# Written by nasstrap for one connection.\n\
             # The fingerprint the pin is compared with.\n\
             FingerprintHash sha256\n\
             # Never write to the user's known_hosts.\n\
             UpdateHostKeys no\n\
             Match originalhost nas\n\
             \x20 KnownHostsCommand \"/run/user/1/.nasstrap-x/known-hosts\" %I %H %f %t %K\n\
             \x20 UserKnownHostsFile none\n\
             \x20 GlobalKnownHostsFile none\n\
             Match all\n\
             Include \"/home/me/.ssh/config\"\n\
             Match all\n\
             Include /etc/ssh/ssh_config\n"
        );
        let c = Config { pinned: false, ..c };
        assert!(!c.text().unwrap().contains("KnownHostsFile none"));
        assert!(!c.text().unwrap().contains("ForwardAgent"));
        // Forwarding is the target's alone: inside its `Match`, before the includes.
        let fwd = Config {
            forward_agent: true,
            ..c
        }
        .text()
        .unwrap();
        let at = fwd.find("  ForwardAgent yes\n").expect("forwarding on");
        assert!(at > fwd.find("Match originalhost").unwrap());
        assert!(at < fwd.find("Match all").unwrap());
        let c = Config {
            user_config: Path::new("/home/me/ssh %d"),
            ..c
        };
        assert!(c.text().unwrap_err().contains("ssh cannot take this path"));
    }
}
