//! A throw-away OpenSSH server on 127.0.0.1 for the ssh tests: its own config, host key,
//! authorized key and log in a temp dir, stopped on drop. It logs in the user running the
//! tests (root here; an unprivileged sshd can log in only its own user).

use super::skip;
use nasstrap::remote::ssh::SshOpts;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running sshd.
pub struct Sshd {
    /// Everything it uses, and the client's files.
    pub dir: tempfile::TempDir,
    /// The port it listens on, on 127.0.0.1.
    pub port: u16,
    /// The user it lets in (the one running the tests).
    pub user: String,
    child: Child,
}

impl Sshd {
    /// Starts one and waits until it listens.
    pub fn start() -> Sshd {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        keygen(&d.join("hostkey"));
        keygen(&d.join("id"));
        std::fs::copy(d.join("id.pub"), d.join("authorized_keys")).unwrap();
        std::fs::write(d.join("known_hosts"), "").unwrap();
        // Empty: the host's own ~/.ssh/config must not change what the tests see.
        std::fs::write(d.join("ssh_config"), "").unwrap();
        if nix::unistd::geteuid().is_root() {
            // sshd run as root chroots its unprivileged child here; Debian's unit
            // creates it at boot, and there is no unit here.
            std::fs::create_dir_all("/run/sshd").unwrap();
        }
        let port = free_port();
        let config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/hostkey\n\
             AuthorizedKeysFile {d}/authorized_keys\nStrictModes no\nUsePAM no\n\
             PidFile {d}/sshd.pid\nLogLevel VERBOSE\nPasswordAuthentication no\n\
             KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n",
            d = d.display()
        );
        std::fs::write(d.join("sshd_config"), config).unwrap();
        let child = Command::new(skip::sshd_path().expect("skip checked it"))
            .arg("-f")
            .arg(d.join("sshd_config"))
            .args(["-D", "-e", "-E"])
            .arg(d.join("sshd.log"))
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let user = nix::unistd::User::from_uid(nix::unistd::getuid())
            .unwrap()
            .expect("a user for this uid")
            .name;
        let sshd = Sshd {
            dir,
            port,
            user,
            child,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !sshd.log().contains("Server listening") {
            assert!(
                Instant::now() < deadline,
                "sshd did not start:\n{}",
                sshd.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        sshd
    }

    /// A file in its directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Its log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.path("sshd.log")).unwrap_or_default()
    }

    /// Its host key's fingerprint, as `ssh-keygen -l` prints it.
    pub fn fingerprint(&self) -> String {
        let out = Command::new("ssh-keygen")
            .arg("-lf")
            .arg(self.path("hostkey.pub"))
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        text.split(' ')
            .nth(1)
            .expect("bits fingerprint comment")
            .to_string()
    }

    /// The known_hosts line for its host key.
    pub fn known_hosts_line(&self) -> String {
        let public = std::fs::read_to_string(self.path("hostkey.pub")).unwrap();
        let mut w = public.split(' ');
        let (t, key) = (w.next().unwrap(), w.next().unwrap());
        format!("[127.0.0.1]:{} {t} {key}", self.port)
    }

    /// Options that reach it with the test identity, its (empty) known_hosts and an empty
    /// ssh config.
    pub fn opts(&self) -> SshOpts {
        let mut o = SshOpts::new(format!("{}@127.0.0.1:{}", self.user, self.port));
        o.identity = Some(self.path("id"));
        o.known_hosts = Some(self.path("known_hosts"));
        o.ssh_config = Some(self.path("ssh_config"));
        o
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An ed25519 key pair without a passphrase at `path` and `path.pub`.
pub fn keygen(path: &Path) {
    let ok = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "nasstrap-test", "-f"])
        .arg(path)
        .status()
        .unwrap()
        .success();
    assert!(ok, "ssh-keygen {}", path.display());
}

/// A port nobody listens on now, the kernel's pick. Something could take it before sshd
/// binds it; sshd's log then says so in the start-up failure.
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}
