//! `keys create`: a fresh ed25519 host key pair in OpenSSH's format, the
//! private half created 0600 and never over an existing file.

use super::KeysError;
use ssh_key::rand_core::OsRng;
use ssh_key::{Algorithm, HashAlg, LineEnding, PrivateKey};
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// A key pair written by [`create`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    /// The private key (mode 0600).
    pub private: PathBuf,
    /// The public key, `FILE.pub` (mode 0644).
    pub public: PathBuf,
    /// The line to add to agenix's `secrets.nix`: `ssh-ed25519 AAAA… COMMENT`.
    pub recipient: String,
    /// `SHA256:…`, as `ssh-keygen -lf` prints it.
    pub fingerprint: String,
}

/// Generate an ed25519 key pair: `out` (private, 0600) and `out.pub` (0644).
/// Refuses if either exists; a file appears whole or not at all.
pub fn create(out: &Path, comment: &str) -> Result<Created, KeysError> {
    let public = pub_path(out);
    for p in [out, public.as_path()] {
        if p.symlink_metadata().is_ok() {
            return Err(KeysError::Exists(p.to_path_buf()));
        }
    }
    let mut key = PrivateKey::random(&mut OsRng, Algorithm::Ed25519)
        .map_err(|e| KeysError::Generate(e.to_string()))?;
    key.set_comment(comment);
    let private_text = key
        .to_openssh(LineEnding::LF)
        .map_err(|e| KeysError::Generate(e.to_string()))?;
    let recipient = key
        .public_key()
        .to_openssh()
        .map_err(|e| KeysError::Generate(e.to_string()))?;

    write_new(out, private_text.as_bytes(), 0o600)?;
    if let Err(e) = write_new(&public, format!("{recipient}\n").as_bytes(), 0o644) {
        // Half a pair is worse than none: the next run would refuse on it.
        let _ = fs::remove_file(out);
        return Err(e);
    }
    Ok(Created {
        private: out.to_path_buf(),
        public,
        recipient,
        fingerprint: key.fingerprint(HashAlg::Sha256).to_string(),
    })
}

/// `FILE.pub` beside `FILE`, as ssh-keygen names it.
fn pub_path(out: &Path) -> PathBuf {
    let mut s = out.as_os_str().to_owned();
    s.push(".pub");
    PathBuf::from(s)
}

/// Write `bytes` to a temporary file beside `path` with `mode`, sync it, and
/// link it into place without replacing anything (a racing file wins).
fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), KeysError> {
    let err = |source| KeysError::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    // tempfile creates it 0600, so the key is never readable by others, even
    // for a moment; the public half is opened up before it is linked.
    let mut tmp = tempfile::Builder::new()
        .prefix(".nasstrap-key")
        .tempfile_in(dir)
        .map_err(err)?;
    tmp.write_all(bytes).map_err(err)?;
    tmp.as_file()
        .set_permissions(fs::Permissions::from_mode(mode))
        .map_err(err)?;
    tmp.as_file().sync_all().map_err(err)?;
    tmp.persist_noclobber(path).map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            KeysError::Exists(path.to_path_buf())
        } else {
            err(e.error)
        }
    })?;
    // The new name is durable only once the directory is.
    fs::File::open(dir).and_then(|d| d.sync_all()).map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pub_path_appends_dot_pub() {
        assert_eq!(
            pub_path(Path::new("/x/ssh_host_ed25519_key")),
            PathBuf::from("/x/ssh_host_ed25519_key.pub")
        );
        assert_eq!(pub_path(Path::new("k")), PathBuf::from("k.pub"));
    }
}
