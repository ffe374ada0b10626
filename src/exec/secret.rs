//! Passphrases typed by the user (`askPassword`): asked once, before the first
//! write, held in memory only for the run, fed to cryptsetup on stdin, wiped
//! when dropped. Never in argv, the plan, events or logs.

use std::collections::BTreeMap;
use std::fmt;

/// Secret bytes, overwritten with zeros when dropped.
pub struct Secret(Vec<u8>);

impl Secret {
    /// Wrap bytes (a trailing newline is the caller's to strip).
    pub fn new(bytes: Vec<u8>) -> Secret {
        Secret(bytes)
    }

    /// The bytes, to feed a tool's stdin.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        for b in self.0.iter_mut() {
            // A volatile write, so the zeroing is not optimised away.
            // SAFETY: `b` is a valid, aligned, exclusive reference to a u8.
            unsafe { std::ptr::write_volatile(b, 0) };
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// Passphrases by LUKS mapper name.
#[derive(Debug, Default)]
pub struct Secrets(BTreeMap<String, Secret>);

impl Secrets {
    /// No passphrases (plans without `askPassword`).
    pub fn none() -> Secrets {
        Secrets::default()
    }

    /// Remember the passphrase of LUKS volume `name`.
    pub fn insert(&mut self, name: &str, s: Secret) {
        self.0.insert(name.to_string(), s);
    }

    /// The passphrase of LUKS volume `name`, if it was asked.
    pub fn get(&self, name: &str) -> Option<&Secret> {
        self.0.get(name)
    }
}
