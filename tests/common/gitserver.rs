//! A private git repository served over SSH to the emulated board, reachable only with
//! a key that lives in an `ssh-agent` of its own (the key file is destroyed once added):
//! what a fleet's `nix-secrets` repository is to an install. The guest reaches it as
//! `ssh://root@10.0.2.100/…` through QEMU's `guestfwd` (see `BootOpts::git_server`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The server's files, the agent and what a test checks against.
pub struct GitServer {
    pub dir: tempfile::TempDir,
    /// `SSH_AUTH_SOCK` of the agent holding the only key the server lets in.
    pub agent_sock: PathBuf,
    agent: Child,
    /// The bare repository's path (as in the URL).
    pub repo: PathBuf,
    /// A known_hosts line for the server as the guest names it (`10.0.2.100`).
    pub known_hosts_line: String,
    /// The text of the repository's `secret.txt`.
    pub secret: String,
    /// The private key's 32-byte ed25519 seed and its OpenSSH file text: what must
    /// never be found on the target.
    pub seed: Vec<u8>,
    pub key_text: String,
}

fn run(c: &mut Command) {
    let out = c.output().unwrap_or_else(|e| panic!("{c:?}: {e}"));
    assert!(
        out.status.success(),
        "{c:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl GitServer {
    /// Makes the keys, the agent, the repository and the sshd config.
    pub fn start() -> GitServer {
        let dir = tempfile::Builder::new()
            .prefix("nasstrap-git-")
            .tempdir()
            .unwrap();
        let d = dir.path().to_path_buf();
        std::fs::create_dir_all("/run/sshd").unwrap();
        for (name, comment) in [("host_key", "git-host"), ("deploy_key", "deploy")] {
            run(Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
                .arg(d.join(name)));
        }
        let agent_sock = d.join("agent.sock");
        let agent = Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&agent_sock)
            .stdout(Stdio::null())
            .spawn()
            .expect("ssh-agent");
        for _ in 0..100 {
            if agent_sock.exists() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        run(Command::new("ssh-add")
            .arg("-q")
            .arg(d.join("deploy_key"))
            .env("SSH_AUTH_SOCK", &agent_sock));
        let key_text = std::fs::read_to_string(d.join("deploy_key")).unwrap();
        let seed = ed25519_seed(&key_text);
        // From here on the key exists only inside the agent.
        std::fs::remove_file(d.join("deploy_key")).unwrap();
        let public = std::fs::read_to_string(d.join("deploy_key.pub")).unwrap();
        std::fs::write(
            d.join("authorized_keys"),
            format!(
                "restrict,command=\"git-shell -c \\\"$SSH_ORIGINAL_COMMAND\\\"\" {}",
                public.trim()
            ),
        )
        .unwrap();
        let config = format!(
            "HostKey {d}/host_key\nAuthorizedKeysFile {d}/authorized_keys\nPidFile none\n\
             AllowUsers root\nPermitRootLogin forced-commands-only\nPasswordAuthentication no\n\
             KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nLogLevel VERBOSE\n\
             SetEnv PATH=/usr/bin:/bin\n",
            d = d.display()
        );
        std::fs::write(d.join("sshd_config"), config).unwrap();
        let repo = d.join("private.git");
        let work = d.join("work");
        run(Command::new("git")
            .args(["init", "-q", "--bare"])
            .arg(&repo));
        run(Command::new("git")
            .args(["init", "-q", "-b", "main"])
            .arg(&work));
        let secret = format!("secret-installer-config {}", std::process::id());
        std::fs::write(work.join("secret.txt"), &secret).unwrap();
        run(Command::new("git").arg("-C").arg(&work).args(["add", "."]));
        run(Command::new("git").arg("-C").arg(&work).args([
            "-c",
            "user.name=ci",
            "-c",
            "user.email=ci@localhost",
            "commit",
            "-q",
            "-m",
            "init",
        ]));
        run(Command::new("git")
            .arg("-C")
            .arg(&work)
            .arg("push")
            .arg("-q")
            .arg(&repo)
            .arg("main"));
        let host_pub = std::fs::read_to_string(d.join("host_key.pub")).unwrap();
        let host_pub: Vec<&str> = host_pub.split_whitespace().take(2).collect();
        GitServer {
            agent_sock,
            agent,
            repo,
            known_hosts_line: format!("10.0.2.100 {}", host_pub.join(" ")),
            secret,
            seed,
            key_text,
            dir,
        }
    }

    /// The flake input URL of the repository.
    pub fn url(&self) -> String {
        format!("git+ssh://root@10.0.2.100{}?ref=main", self.repo.display())
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for GitServer {
    fn drop(&mut self) {
        let _ = (self.agent.kill(), self.agent.wait());
    }
}

/// The 32-byte seed of an OpenSSH ed25519 private key file: in the private
/// section, a 64-byte string (seed, then public key) after the public key.
fn ed25519_seed(text: &str) -> Vec<u8> {
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    let raw = base64_decode(&body);
    // The public key: the first 32-byte string (length 0x20) in the file.
    let at = raw
        .windows(4)
        .position(|w| w == [0, 0, 0, 0x20])
        .expect("a public key");
    let public = &raw[at + 4..at + 36];
    let sec = raw
        .windows(4)
        .enumerate()
        .filter(|(_, w)| *w == [0, 0, 0, 0x40])
        .map(|(i, _)| i + 4)
        .find(|&i| raw.len() >= i + 64 && &raw[i + 32..i + 64] == public)
        .expect("the private key");
    raw[sec..sec + 32].to_vec()
}

fn base64_decode(s: &str) -> Vec<u8> {
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes().filter(|c| *c != b'=' && !c.is_ascii_whitespace()) {
        let v = T.iter().position(|t| *t == c).expect("base64") as u32;
        acc = acc << 6 | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// Where `needle` occurs in the data of the (sparse) file at `path`: holes are
/// skipped, so scanning a 4 GiB image with little written is quick.
pub fn find_in_file(path: &Path, needle: &[u8]) -> Option<u64> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(path).unwrap();
    let len = f.metadata().unwrap().len();
    let mut pos = 0u64;
    let mut buf = vec![0u8; 8 << 20];
    let mut carry: Vec<u8> = Vec::new();
    while pos < len {
        // The next data region; none left: done.
        let data = seek_to(&f, pos, true);
        let Some(start) = data else { break };
        let end = seek_to(&f, start, false).unwrap_or(len);
        f.seek(SeekFrom::Start(start)).unwrap();
        let mut at = start;
        carry.clear();
        while at < end {
            let n = ((end - at) as usize).min(buf.len());
            f.read_exact(&mut buf[..n]).unwrap();
            let mut hay = std::mem::take(&mut carry);
            hay.extend_from_slice(&buf[..n]);
            if let Some(i) = hay.windows(needle.len()).position(|w| w == needle) {
                return Some(at - (hay.len() - n) as u64 + i as u64);
            }
            carry = hay[hay.len().saturating_sub(needle.len())..].to_vec();
            at += n as u64;
        }
        pos = end;
    }
    None
}

/// The next data (`data`) or hole offset from `from`.
fn seek_to(f: &std::fs::File, from: u64, data: bool) -> Option<u64> {
    let w = if data {
        nix::unistd::Whence::SeekData
    } else {
        nix::unistd::Whence::SeekHole
    };
    nix::unistd::lseek(f, from as i64, w).ok().map(|o| o as u64)
}
