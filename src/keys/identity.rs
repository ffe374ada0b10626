//! An identity that decrypts age files: an OpenSSH private key (what a host
//! has, `/etc/ssh/ssh_host_ed25519_key`) or an age X25519 key
//! (`AGE-SECRET-KEY-1…`, what `age-keygen` writes), with its recipient.

use super::KeysError;
use std::fmt;
use std::path::Path;
use std::str::FromStr;
use zeroize::Zeroizing;

/// Which kind of key an identity is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityKind {
    /// An OpenSSH private key (ssh-ed25519 or ssh-rsa).
    Ssh,
    /// An age X25519 key.
    X25519,
}

/// A loaded identity and the recipient string that encrypts to it.
pub struct Identity {
    /// SSH or X25519.
    pub kind: IdentityKind,
    /// `ssh-ed25519 AAAA…` (no comment) or `age1…`: what agenix lists.
    pub recipient: String,
    inner: Box<dyn age::Identity>,
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("kind", &self.kind)
            .field("recipient", &self.recipient)
            .finish_non_exhaustive()
    }
}

impl Identity {
    /// Read an identity file: an OpenSSH private key, or age's format (one
    /// `AGE-SECRET-KEY-1…` line; `#` comments and blank lines are skipped).
    pub fn load(path: &Path) -> Result<Identity, KeysError> {
        let bytes = Zeroizing::new(std::fs::read(path).map_err(|source| KeysError::Read {
            path: path.to_path_buf(),
            source,
        })?);
        Identity::parse(&bytes, path)
    }

    /// Parse an identity from the bytes of `path` (named in errors).
    pub fn parse(bytes: &[u8], path: &Path) -> Result<Identity, KeysError> {
        let text =
            std::str::from_utf8(bytes).map_err(|_| KeysError::NotAnIdentity(path.to_path_buf()))?;
        if text.trim_start().starts_with("-----BEGIN") {
            ssh(text, path)
        } else {
            x25519(text, path)
        }
    }

    /// The identity as age uses it.
    pub fn as_age(&self) -> &dyn age::Identity {
        self.inner.as_ref()
    }

    /// Whether a recipient string (as in `secrets.nix`) names this identity:
    /// for SSH keys the type and key, not the comment.
    pub fn is_named_by(&self, recipient: &str) -> bool {
        match self.kind {
            IdentityKind::X25519 => recipient.trim() == self.recipient,
            IdentityKind::Ssh => {
                let mut ours = self.recipient.split_whitespace();
                let mut theirs = recipient.split_whitespace();
                ours.next() == theirs.next() && ours.next() == theirs.next()
            }
        }
    }
}

fn ssh(text: &str, path: &Path) -> Result<Identity, KeysError> {
    use age::ssh::{Identity as SshIdentity, ParseRecipientKeyError, Recipient};
    let key = SshIdentity::from_buffer(text.as_bytes(), Some(path.display().to_string()))
        .map_err(|_| KeysError::NotAnIdentity(path.to_path_buf()))?;
    match &key {
        SshIdentity::Unencrypted(_) => {}
        SshIdentity::Encrypted(_) => return Err(KeysError::EncryptedIdentity(path.to_path_buf())),
        SshIdentity::Unsupported(u) => {
            return Err(KeysError::UnsupportedIdentity {
                path: path.to_path_buf(),
                detail: unsupported(u),
            });
        }
    }
    let recipient = Recipient::try_from(key.clone()).map_err(|e| {
        let detail = match e {
            ParseRecipientKeyError::Unsupported(t) => format!("key type {t}"),
            ParseRecipientKeyError::RsaModulusTooLarge => "RSA modulus too large".into(),
            ParseRecipientKeyError::Invalid(why) => why.into(),
            ParseRecipientKeyError::Ignore => "not a key".into(),
            // The enum is non-exhaustive.
            other => format!("{other:?}"),
        };
        KeysError::UnsupportedIdentity {
            path: path.to_path_buf(),
            detail,
        }
    })?;
    Ok(Identity {
        kind: IdentityKind::Ssh,
        recipient: recipient.to_string(),
        inner: Box::new(key),
    })
}

fn unsupported(u: &age::ssh::UnsupportedKey) -> String {
    use age::ssh::UnsupportedKey;
    match u {
        UnsupportedKey::Type(t) => format!("key type {t}"),
        UnsupportedKey::Hardware(t) => format!("hardware key {t}"),
        UnsupportedKey::EncryptedPem => "encrypted PEM key".into(),
        UnsupportedKey::EncryptedSsh(c) => format!("encrypted with cipher {c:?}"),
    }
}

fn x25519(text: &str, path: &Path) -> Result<Identity, KeysError> {
    let mut keys = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'));
    let line = keys
        .next()
        .ok_or_else(|| KeysError::NotAnIdentity(path.to_path_buf()))?;
    if keys.next().is_some() {
        return Err(KeysError::SeveralIdentities(path.to_path_buf()));
    }
    let key = age::x25519::Identity::from_str(line)
        .map_err(|_| KeysError::NotAnIdentity(path.to_path_buf()))?;
    Ok(Identity {
        kind: IdentityKind::X25519,
        recipient: key.to_public().to_string(),
        inner: Box::new(key),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // What `age-keygen` printed for a throw-away key.
    const X25519_FILE: &str = "# created: 2026-11-30T00:19:55Z\n\
        # public key: age1gg78kgmj4vjn7ccx7kt253lgrdkwv8adyvvu7ls0epr0t3fjruyqk7w44z\n\
        AGE-SECRET-KEY-1U2TF8XWDTXCKPUNGY5TSXF8VMW2X9QV6TFMA28KZGLDLJSEP0UUQC58KQG\n";

    #[test]
    fn x25519_file_gives_its_public_key() {
        let id = Identity::parse(X25519_FILE.as_bytes(), Path::new("k")).unwrap();
        assert_eq!(id.kind, IdentityKind::X25519);
        assert_eq!(
            id.recipient,
            "age1gg78kgmj4vjn7ccx7kt253lgrdkwv8adyvvu7ls0epr0t3fjruyqk7w44z"
        );
        assert!(id.is_named_by(" age1gg78kgmj4vjn7ccx7kt253lgrdkwv8adyvvu7ls0epr0t3fjruyqk7w44z"));
    }

    #[test]
    fn two_age_keys_are_refused() {
        let two = format!("{X25519_FILE}{}", X25519_FILE.lines().last().unwrap());
        assert!(matches!(
            Identity::parse(two.as_bytes(), Path::new("k")),
            Err(KeysError::SeveralIdentities(_))
        ));
    }

    #[test]
    fn garbage_is_not_an_identity() {
        for bad in [
            "",
            "# only a comment\n",
            "hello\n",
            "-----BEGIN NOTHING-----\n",
        ] {
            assert!(
                matches!(
                    Identity::parse(bad.as_bytes(), Path::new("k")),
                    Err(KeysError::NotAnIdentity(_))
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn ssh_recipients_match_without_their_comment() {
        let id = Identity {
            kind: IdentityKind::Ssh,
            recipient: "ssh-ed25519 AAAAC3Nz".into(),
            inner: Box::new(age::x25519::Identity::generate()),
        };
        assert!(id.is_named_by("ssh-ed25519 AAAAC3Nz root@nas"));
        assert!(id.is_named_by("ssh-ed25519 AAAAC3Nz"));
        assert!(!id.is_named_by("ssh-ed25519 AAAAC3Nx root@nas"));
        assert!(!id.is_named_by("ssh-rsa AAAAC3Nz"));
    }
}
