//! Why a connection was not made. Host key refusals are their own variants, each showing the
//! key the server offered and how to accept it, once the user has checked it.

use super::hostkey::OfferedKey;
use std::fmt;
use std::path::PathBuf;

/// Why [`super::Connection::connect`] did not connect. Nothing ran on the target in any case.
#[derive(Debug)]
pub enum ConnectError {
    /// No key is known for the host in known_hosts.
    HostKeyUnknown {
        /// The host as known_hosts names it.
        host: String,
        /// What the server offered, if ssh got that far.
        offered: Option<Box<OfferedKey>>,
    },
    /// known_hosts holds a different key for the host.
    HostKeyChanged {
        /// The host as known_hosts names it.
        host: String,
        /// What the server offered.
        offered: Option<Box<OfferedKey>>,
    },
    /// The server's key does not have the pinned fingerprint.
    HostKeyNotPinned {
        /// The host as known_hosts names it.
        host: String,
        /// The `--host-key` fingerprint.
        pin: String,
        /// What the server offered.
        offered: Option<Box<OfferedKey>>,
    },
    /// The control socket's path would be longer than the platform allows.
    ControlPathTooLong {
        /// The control directory.
        path: PathBuf,
        /// The length ssh would bind.
        len: usize,
        /// `sun_path`'s size here.
        limit: usize,
    },
    /// The destination, pin or a path given cannot be used; the message says which and why.
    Invalid(String),
    /// Anything else: ssh's own words (the whole error chain and its log).
    Failed {
        /// What was being done.
        what: String,
        /// Why it failed.
        detail: String,
    },
}

impl std::error::Error for ConnectError {}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectError::HostKeyUnknown { host, offered } => {
                write!(f, "no host key is known for {host}: not connecting")?;
                hint(f, host, offered.as_deref())
            }
            ConnectError::HostKeyChanged { host, offered } => {
                write!(
                    f,
                    "the host key of {host} is not the one known_hosts holds: not connecting \
                     (the box was reinstalled, or someone is in the middle)"
                )?;
                hint(f, host, offered.as_deref())
            }
            ConnectError::HostKeyNotPinned { host, pin, offered } => {
                write!(
                    f,
                    "the host key of {host} is not the pinned one: not connecting\n  \
                     pinned: {pin}"
                )?;
                hint(f, host, offered.as_deref())
            }
            ConnectError::ControlPathTooLong { path, len, limit } => write!(
                f,
                "the ssh control socket under {} would be {len} bytes long, and this system \
                 allows {}: set XDG_RUNTIME_DIR to a shorter directory",
                path.display(),
                limit - 1
            ),
            ConnectError::Invalid(msg) => write!(f, "{msg}"),
            ConnectError::Failed { what, detail } => write!(f, "{what}: {detail}"),
        }
    }
}

/// The offered key and the two ways to accept it, or how to see it when ssh did not say.
fn hint(f: &mut fmt::Formatter<'_>, host: &str, offered: Option<&OfferedKey>) -> fmt::Result {
    match offered {
        Some(k) => write!(
            f,
            "\n  the server offered: {k}\n  \
             compare it with the box's own (on its console: ssh-keygen -lf \
             /etc/ssh/ssh_host_{}_key.pub); if it is the same, either pass\n    \
             --host-key {}\n  \
             or add this line to known_hosts:\n    {}",
            key_file(&k.key_type),
            k.fingerprint,
            k.known_hosts_line()
        ),
        None => write!(
            f,
            "\n  ssh did not report the key the server offered; to see it, \
             `{} | ssh-keygen -lf -` (a separate, unchecked connection: \
             compare what it prints with the box's console before trusting it)",
            keyscan(host)
        ),
    }
}

/// The name sshd's host key file has for a key type (`/etc/ssh/ssh_host_<it>_key`).
fn key_file(key_type: &str) -> &str {
    match key_type {
        t if t.starts_with("ecdsa-") => "ecdsa",
        t if t.contains("rsa") => "rsa",
        _ => "ed25519",
    }
}

/// The ssh-keyscan command line for a host as known_hosts names it.
fn keyscan(host: &str) -> String {
    let bracketed = host.strip_prefix('[').and_then(|h| h.split_once("]:"));
    match bracketed {
        Some((h, port)) => format!("ssh-keyscan -p {port} {h}"),
        None => format!("ssh-keyscan {host}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_show_the_offered_key_and_the_pin_line() {
        let offered = OfferedKey {
            host: "[127.0.0.1]:2222".into(),
            fingerprint: "SHA256:abc".into(),
            key_type: "ssh-ed25519".into(),
            key: "AAAAC3".into(),
        };
        let e = ConnectError::HostKeyUnknown {
            host: "[127.0.0.1]:2222".into(),
            offered: Some(Box::new(offered)),
        };
        assert_eq!(
            e.to_string(),
            "no host key is known for [127.0.0.1]:2222: not connecting\n  \
             the server offered: ssh-ed25519 SHA256:abc\n  \
             compare it with the box's own (on its console: ssh-keygen -lf \
             /etc/ssh/ssh_host_ed25519_key.pub); if it is the same, either pass\n    \
             --host-key SHA256:abc\n  \
             or add this line to known_hosts:\n    \
             [127.0.0.1]:2222 ssh-ed25519 AAAAC3"
        );
        let e = ConnectError::HostKeyNotPinned {
            host: "nas".into(),
            pin: "SHA256:x".into(),
            offered: None,
        };
        let s = e.to_string();
        assert!(
            s.starts_with("the host key of nas is not the pinned one"),
            "{s}"
        );
        assert!(s.contains("pinned: SHA256:x\n"), "{s}");
        assert!(
            s.contains("`ssh-keyscan nas | ssh-keygen -lf -` (a separate, unchecked"),
            "{s}"
        );
        assert_eq!(keyscan("[::1]:2222"), "ssh-keyscan -p 2222 ::1");
        assert_eq!(key_file("ecdsa-sha2-nistp256"), "ecdsa");
        assert_eq!(key_file("ssh-rsa"), "rsa");
    }
}
