//! The seed's key lifecycle: a new machine gets an SSH host key whose public
//! half is an agenix recipient (`keys create`), and before any disk is touched
//! the install proves that key decrypts every secret meant for the machine
//! (`keys check`). Decrypted bytes are read only to prove they can be, and are
//! wiped; they are never printed or kept.

pub mod command;
mod create;
mod header;
mod identity;
mod rules;
mod verdict;

use std::path::PathBuf;

pub use create::{Created, create};
pub use identity::{Identity, IdentityKind};
pub use rules::Rules;
pub use verdict::{Checked, FileVerdict, Meant, Reason, RulesUsed, Verdict, check, check_with};

/// Why a key could not be made or a check could not run (a file that does not
/// decrypt is a [`Verdict`], not an error).
#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    /// `create` never overwrites a key.
    #[error("{0} exists: refusing to overwrite it")]
    Exists(PathBuf),
    /// Writing the key pair failed.
    #[error("writing {path}: {source}")]
    Write {
        /// The file being written.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The key could not be generated or encoded.
    #[error("generating the key: {0}")]
    Generate(String),
    /// The identity file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The identity file is not a key age can use.
    #[error("{0}: not an identity (expected an OpenSSH private key or one AGE-SECRET-KEY-1… line)")]
    NotAnIdentity(PathBuf),
    /// The identity file holds more than one age key, so which recipient it is
    /// would be a guess.
    #[error("{0}: holds more than one AGE-SECRET-KEY-1… line; give a file with one")]
    SeveralIdentities(PathBuf),
    /// A passphrase-protected SSH key cannot be a host key (the host decrypts
    /// unattended at boot).
    #[error("{0}: the SSH key is passphrase-protected; a host key must not be")]
    EncryptedIdentity(PathBuf),
    /// An SSH key age does not support (ecdsa, sk-…).
    #[error("{path}: age cannot use this SSH key: {detail}")]
    UnsupportedIdentity {
        /// The file.
        path: PathBuf,
        /// The key type, or why not.
        detail: String,
    },
    /// The secrets directory could not be listed.
    #[error("listing {path}: {source}")]
    List {
        /// The directory.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// agenix's `secrets.nix` did not evaluate.
    #[error("evaluating {path}: {detail}")]
    Rules {
        /// The rules file.
        path: PathBuf,
        /// Why (nix-instantiate's stderr tail, or the JSON error).
        detail: String,
    },
}
