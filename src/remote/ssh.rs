//! One ssh master connection to the target for the whole run; every later command rides it
//! (`ssh -S <socket> … none -- cmd`), so the host key is checked and the user authenticated
//! once. The `openssh` crate starts and stops the master; its tokio runtime stays inside this
//! module, behind a synchronous API like the rest of the code base.
//!
//! Host keys are always checked strictly ([`hostkey`]); `--host-key` pins a fingerprint
//! instead of known_hosts. The user's ssh config, agent and `ProxyJump` keep working.

pub mod dest;
pub mod error;
pub mod hostkey;
pub mod socket;

pub use dest::Destination;
pub use error::ConnectError;
pub use hostkey::OfferedKey;

use anyhow::Context;
use hostkey::{Check, Refusal};
use openssh::{ControlPersist, KnownHosts, SessionBuilder};
use std::io::Write;
use std::num::NonZeroUsize;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// How long the master outlives its last command. It is not the run's length (nasstrap closes
/// the master itself) but what is left behind if nasstrap is killed; it must still outlast
/// the longest pause between steps, such as a consent prompt.
const IDLE: usize = 30 * 60;

/// Keepalives, so a dead link shows up as an error rather than a hang.
const ALIVE_INTERVAL: Duration = Duration::from_secs(15);

/// How to reach the target.
#[derive(Debug, Clone)]
pub struct SshOpts {
    /// `USER@HOST[:PORT]` (also `HOST`, `[v6addr]:port`).
    pub destination: String,
    /// `--host-key SHA256:…`: the pinned fingerprint; then known_hosts files are not consulted.
    pub host_key: Option<String>,
    /// `--known-hosts FILE` instead of the user's ~/.ssh/known_hosts.
    pub known_hosts: Option<PathBuf>,
    /// `--ssh-config FILE` instead of ~/.ssh/config.
    pub ssh_config: Option<PathBuf>,
    /// `-i` style identity, offered alone; default: the user's ssh config and agent.
    pub identity: Option<PathBuf>,
    /// ssh's `ConnectTimeout` (TCP connect and banner); the whole login gets three times it.
    pub connect_timeout: Duration,
    /// Let the master forward the agent; only commands made with
    /// [`Connection::command_with_agent`] ask for it (the step that fetches a
    /// private input), so no other step ever sees the agent.
    pub forward_agent: bool,
}

impl SshOpts {
    /// Options for `destination` with the defaults: known_hosts, the user's config, 10 s.
    pub fn new(destination: impl Into<String>) -> SshOpts {
        SshOpts {
            destination: destination.into(),
            host_key: None,
            known_hosts: None,
            ssh_config: None,
            identity: None,
            connect_timeout: Duration::from_secs(10),
            forward_agent: false,
        }
    }
}

/// An open master connection to the target.
pub struct Connection {
    // Dropped in this order: the session (closing the master) needs the runtime.
    session: Option<openssh::Session>,
    rt: tokio::runtime::Runtime,
    ctl: PathBuf,
    destination: Destination,
    /// The master's config file and host key script.
    _private: tempfile::TempDir,
}

impl Connection {
    /// Opens the master. Host key checking is always strict; nothing runs on the target
    /// before the host key is verified.
    pub fn connect(opts: &SshOpts) -> Result<Connection, ConnectError> {
        let dest = Destination::parse(&opts.destination).map_err(ConnectError::Invalid)?;
        let check = match &opts.host_key {
            Some(pin) => Check::Pin(hostkey::parse_pin(pin).map_err(ConnectError::Invalid)?),
            None => Check::KnownHosts(opts.known_hosts.as_deref().map(existing).transpose()?),
        };
        let user_config = match &opts.ssh_config {
            Some(p) => existing(p)?,
            // ssh expands `~` in Include; a missing file is skipped, as ssh would.
            None => PathBuf::from("~/.ssh/config"),
        };
        let identity = opts.identity.as_deref().map(existing).transpose()?;

        let candidates = socket::candidates(|v| std::env::var(v).ok());
        let dir = socket::choose(&candidates, socket::SUN_PATH).map_err(|(path, len)| {
            ConnectError::ControlPathTooLong {
                path,
                len,
                limit: socket::SUN_PATH,
            }
        })?;
        let failed = |what: &str, e: std::io::Error| ConnectError::Failed {
            what: what.to_string(),
            detail: e.to_string(),
        };
        std::fs::create_dir_all(&dir)
            .map_err(|e| failed(&format!("creating {}", dir.display()), e))?;
        let private = tempfile::Builder::new()
            .prefix(".nasstrap-ssh")
            .tempdir_in(&dir)
            .map_err(|e| {
                failed(
                    &format!("creating a private directory in {}", dir.display()),
                    e,
                )
            })?;
        let record = private.path().join("offered");
        let script = private.path().join("known-hosts");
        let pin = match &check {
            Check::Pin(p) => Some(p.as_str()),
            Check::KnownHosts(_) => None,
        };
        write_private(&script, &hostkey::script(&record, pin), 0o700)
            .map_err(|e| failed("writing the host key script", e))?;
        let config = hostkey::Config {
            host: &dest.host,
            script: &script,
            pinned: pin.is_some(),
            user_config: &user_config,
            forward_agent: opts.forward_agent,
        };
        let config_path = private.path().join("config");
        write_private(
            &config_path,
            &config.text().map_err(ConnectError::Invalid)?,
            0o600,
        )
        .map_err(|e| failed("writing the ssh config", e))?;

        let mut b = SessionBuilder::default();
        b.known_hosts_check(KnownHosts::Strict)
            .config_file(&config_path)
            .control_directory(&dir)
            .control_persist(ControlPersist::IdleFor(
                NonZeroUsize::new(IDLE).expect("not zero"),
            ))
            .server_alive_interval(ALIVE_INTERVAL)
            .connect_timeout(opts.connect_timeout);
        if let Some(u) = &dest.user {
            b.user(u.clone());
        }
        if let Some(p) = dest.port {
            b.port(p);
        }
        if let Some(k) = &identity {
            b.keyfile(k);
        }
        if let Check::KnownHosts(Some(f)) = &check {
            b.user_known_hosts_file(f);
        }

        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| failed("starting the ssh runtime", e))?;
        // ConnectTimeout covers the TCP connect and the banner only; authentication and jump
        // hosts come on top, and ssh has no bound for them.
        let limit = opts.connect_timeout * 3;
        // The timer must be made inside the runtime.
        let started =
            rt.block_on(async { tokio::time::timeout(limit, b.connect(&dest.host)).await });
        let session = match started {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                let detail = format!("{:#}", anyhow::Error::new(e));
                let offered = std::fs::read_to_string(&record)
                    .ok()
                    .and_then(|t| hostkey::parse_record(&t))
                    .map(Box::new);
                return Err(refusal(&dest, &check, &detail, offered));
            }
            Err(_) => {
                return Err(ConnectError::Failed {
                    what: format!("connecting to {dest}"),
                    detail: format!("no connection within {} s", limit.as_secs()),
                });
            }
        };
        let ctl = session.control_socket().to_path_buf();
        Ok(Connection {
            session: Some(session),
            rt,
            ctl,
            destination: dest,
            _private: private,
        })
    }

    /// A `std::process::Command` that runs `remote_cmd` (a shell command line the caller
    /// quoted) on the target through the master: openssh's own mux invocation, in its own
    /// process group so a Ctrl-C on the terminal reaches nasstrap only, which then stops the
    /// target between steps. stdin is null unless the caller sets it.
    pub fn command(&self, remote_cmd: &str) -> Command {
        // Port 9 (discard) and host "none": if the master is gone this cannot quietly open a
        // second, unchecked connection. Part 2 adds `-A` here for the one step that needs the
        // agent: `command_with_agent`.
        let mut c = Command::new("ssh");
        c.arg("-S")
            .arg(&self.ctl)
            .args(["-o", "BatchMode=yes", "-T", "-p", "9", "none", "--"])
            .arg(remote_cmd)
            .stdin(Stdio::null())
            .process_group(0);
        c
    }

    /// [`Connection::command`] with the agent forwarded to this one command
    /// (`-A`), when the master was opened with [`SshOpts::forward_agent`].
    pub fn command_with_agent(&self, remote_cmd: &str) -> Command {
        let mut c = Command::new("ssh");
        c.arg("-S")
            .arg(&self.ctl)
            .args(["-o", "BatchMode=yes", "-A", "-T", "-p", "9", "none", "--"])
            .arg(remote_cmd)
            .stdin(Stdio::null())
            .process_group(0);
        c
    }

    /// Runs `remote_cmd` with `stdin` bytes, collects stdout/stderr and the exit code (255
    /// is also what ssh exits with when the connection is lost).
    pub fn run(&self, remote_cmd: &str, stdin: &[u8]) -> anyhow::Result<Output> {
        let mut c = self.command(remote_cmd);
        c.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c
            .spawn()
            .with_context(|| format!("starting ssh for `{remote_cmd}`"))?;
        let mut input = child.stdin.take().expect("piped");
        // Feed stdin while the output is read: either pipe filling up would stall the other.
        let (fed, out) = std::thread::scope(|s| {
            let feeder = s.spawn(move || input.write_all(stdin));
            let out = child.wait_with_output();
            (feeder.join().expect("stdin writer panicked"), out)
        });
        let out = out.with_context(|| format!("waiting for `{remote_cmd}` on the target"))?;
        match fed {
            // The command may well finish without reading all its input.
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                Err(e).with_context(|| format!("writing stdin of `{remote_cmd}`"))
            }
            _ => Ok(out),
        }
    }

    /// The control socket (for tests/diagnostics).
    pub fn control_socket(&self) -> &Path {
        &self.ctl
    }

    /// Where this connection goes.
    pub fn destination(&self) -> &Destination {
        &self.destination
    }

    /// Closes the master (also on Drop, best effort).
    pub fn close(mut self) -> anyhow::Result<()> {
        let session = self.session.take().expect("only close takes it");
        self.rt
            .block_on(session.close())
            .with_context(|| format!("closing the ssh connection to {}", self.destination))
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        if let Some(s) = self.session.take() {
            let _ = self.rt.block_on(s.close());
        }
    }
}

/// Shell-quote one word for a remote POSIX sh: as it is when it holds only characters sh
/// takes literally, else in single quotes with each `'` written `'\''`.
pub fn quote(word: &str) -> String {
    // No `=` (a first word `a=b` is an assignment) and no `~` (tilde expansion).
    let plain = |c: char| c.is_ascii_alphanumeric() || "_./:@%+,-".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        return word.to_string();
    }
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// The typed refusal for a failed master start, from ssh's log (in `detail`).
fn refusal(
    dest: &Destination,
    check: &Check,
    detail: &str,
    offered: Option<Box<OfferedKey>>,
) -> ConnectError {
    let host = offered
        .as_ref()
        .map(|k| k.host.clone())
        .unwrap_or_else(|| dest.known_hosts_name());
    match (hostkey::classify(detail), check) {
        // With known_hosts files off, ssh logs only "Host key verification failed": the
        // recorded key tells a wrong key from another refusal (a revoked key).
        (Some(_), Check::Pin(pin)) if offered.as_ref().is_none_or(|k| &k.fingerprint != pin) => {
            ConnectError::HostKeyNotPinned {
                host,
                pin: pin.clone(),
                offered,
            }
        }
        (Some(Refusal::Unknown), Check::KnownHosts(_)) => {
            ConnectError::HostKeyUnknown { host, offered }
        }
        (Some(Refusal::Changed), Check::KnownHosts(_)) => {
            ConnectError::HostKeyChanged { host, offered }
        }
        _ => ConnectError::Failed {
            what: format!("connecting to {dest}"),
            detail: detail.trim_end().to_string(),
        },
    }
}

/// `p` made absolute, if it is a file; ssh would read a missing one as empty, which for a
/// known_hosts file means "unknown host" and hides the typo.
fn existing(p: &Path) -> Result<PathBuf, ConnectError> {
    match std::fs::canonicalize(p) {
        Ok(abs) if abs.is_file() => Ok(abs),
        Ok(_) => Err(ConnectError::Invalid(format!(
            "{}: not a regular file",
            p.display()
        ))),
        Err(e) => Err(ConnectError::Invalid(format!("{}: {e}", p.display()))),
    }
}

/// Create `path` with `mode` (never wider: it is made, not reused) and write `text`.
fn write_private(path: &Path, text: &str, mode: u32) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)?;
    f.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_sh() {
        let words = [
            "plain",
            "",
            "it's",
            "a b",
            "$HOME",
            "`x`",
            "a=b",
            "~",
            "line\nbreak",
            "\\",
        ];
        for w in words {
            let q = quote(w);
            let out = Command::new("sh")
                .arg("-c")
                .arg(format!("printf %s {q}"))
                .output()
                .unwrap();
            assert_eq!(String::from_utf8(out.stdout).unwrap(), w, "{q}");
        }
        assert_eq!(quote("/dev/sda1"), "/dev/sda1");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote("a=b"), "'a=b'");
    }

    fn dest() -> Destination {
        Destination::parse("root@127.0.0.1:2222").unwrap()
    }

    #[test]
    fn refusals_are_typed() {
        let unknown = "failed to connect to the remote host: No ED25519 host key is known for \
                       [127.0.0.1]:2222 and you have requested strict checking.";
        let kh = Check::KnownHosts(None);
        let e = refusal(&dest(), &kh, unknown, None);
        assert!(
            matches!(&e, ConnectError::HostKeyUnknown { host, offered: None } if host == "[127.0.0.1]:2222"),
            "{e:?}"
        );
        let pin = Check::Pin("SHA256:x".into());
        let failed = "failed to connect to the remote host: Host key verification failed.";
        let e = refusal(&dest(), &pin, failed, None);
        assert!(matches!(e, ConnectError::HostKeyNotPinned { .. }), "{e:?}");
        let offered = |fp: &str| {
            Some(Box::new(OfferedKey {
                host: "[127.0.0.1]:2222".into(),
                fingerprint: fp.into(),
                key_type: "ssh-ed25519".into(),
                key: "AAAA".into(),
            }))
        };
        let e = refusal(&dest(), &pin, failed, offered("SHA256:y"));
        assert!(matches!(e, ConnectError::HostKeyNotPinned { .. }), "{e:?}");
        // The pinned key itself refused (revoked, say): ssh's words, not "not pinned".
        let e = refusal(&dest(), &pin, failed, offered("SHA256:x"));
        assert!(matches!(e, ConnectError::Failed { .. }), "{e:?}");
        let e = refusal(&dest(), &kh, "REMOTE HOST IDENTIFICATION HAS CHANGED", None);
        assert!(matches!(e, ConnectError::HostKeyChanged { .. }), "{e:?}");
        let e = refusal(&dest(), &kh, "Permission denied (publickey).\n", None);
        assert_eq!(
            e.to_string(),
            "connecting to root@127.0.0.1:2222: Permission denied (publickey)."
        );
    }

    #[test]
    fn typos_in_paths_are_caught_before_ssh() {
        let mut o = SshOpts::new("nas");
        o.known_hosts = Some("/nonexistent/known_hosts".into());
        let e = Connection::connect(&o).err().unwrap();
        assert!(
            e.to_string()
                .starts_with("/nonexistent/known_hosts: No such file"),
            "{e}"
        );
        let mut o = SshOpts::new("nas box");
        o.host_key = Some("SHA256:short".into());
        assert!(matches!(
            Connection::connect(&o),
            Err(ConnectError::Invalid(_))
        ));
    }
}
