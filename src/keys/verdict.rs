//! `keys check`: one verdict per `.age` file under the secrets directory —
//! decrypts, not encrypted to this identity, or cannot be decrypted and why.
//! With agenix's `secrets.nix` evaluated, a file it lists for this identity
//! that is not encrypted to it (forgot `agenix -r`) fails; without it such a
//! file is taken as meant for someone else.

use super::header;
use super::rules::{RULES_FILE, Rules};
use super::{Identity, KeysError};
use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// Whether `secrets.nix` lists this identity as a recipient of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Meant {
    /// It does.
    Listed,
    /// It does not (or does not name the file).
    NotListed,
    /// No rules were evaluated.
    Unknown,
}

/// What happened to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// It decrypts with this identity.
    Decrypts,
    /// It is not encrypted to this identity; the types of the recipients it is
    /// encrypted to, from its header (`ssh-ed25519`, `X25519`, …).
    NotEncryptedToIt {
        /// One entry per recipient stanza.
        recipients: Vec<String>,
    },
    /// It cannot be decrypted.
    CannotDecrypt(Reason),
    /// `secrets.nix` lists it for this identity, but there is no such file.
    Missing,
}

/// Why a file cannot be decrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// Neither an age file nor an armored one.
    NotAge,
    /// The age header does not parse.
    Header,
    /// An age format newer than this build knows.
    UnknownFormat,
    /// The header's MAC does not verify: changed after it was encrypted.
    HeaderMac,
    /// A stanza addressed to this key does not unwrap (corrupt, or forged).
    Unwrap,
    /// Encrypted with a passphrase, not to recipients.
    Passphrase,
    /// The payload does not decrypt: corrupt or truncated.
    Payload(String),
    /// Reading the file failed.
    Io(String),
    /// Anything else age reported.
    Other(String),
}

/// One file's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileVerdict {
    /// The file, relative to the secrets directory.
    pub file: PathBuf,
    /// Whether `secrets.nix` means it for this identity.
    pub meant: Meant,
    /// What happened.
    pub verdict: Verdict,
}

impl FileVerdict {
    /// Whether this file stops the install: one meant for this identity that
    /// does not decrypt, or one that is broken (unless secrets.nix says it is
    /// someone else's).
    pub fn fails(&self) -> bool {
        match self.verdict {
            Verdict::Decrypts => false,
            Verdict::NotEncryptedToIt { .. } => self.meant == Meant::Listed,
            Verdict::CannotDecrypt(_) => self.meant != Meant::NotListed,
            Verdict::Missing => true,
        }
    }
}

/// What `secrets.nix` contributed to a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RulesUsed {
    /// Evaluated: files are checked against what it lists.
    Evaluated,
    /// There is none.
    Absent,
    /// There is one, but no `nix-instantiate` to evaluate it.
    NoNix,
}

/// The result of [`check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// The identity's recipient (`ssh-ed25519 AAAA…` or `age1…`).
    pub recipient: String,
    /// Whether `secrets.nix` was used.
    pub rules: RulesUsed,
    /// One verdict per file, by path.
    pub files: Vec<FileVerdict>,
}

impl Checked {
    /// The files that stop the install.
    pub fn failures(&self) -> impl Iterator<Item = &FileVerdict> {
        self.files.iter().filter(|f| f.fails())
    }

    /// Whether no file decrypts. A host key nothing is encrypted to is a
    /// mistake (its recipient was never added, or the files never rekeyed),
    /// so this fails the check too.
    pub fn decrypts_nothing(&self) -> bool {
        !self.files.iter().any(|f| f.verdict == Verdict::Decrypts)
    }

    /// Whether the install may go on: something decrypts and nothing fails.
    pub fn passed(&self) -> bool {
        !self.decrypts_nothing() && self.failures().next().is_none()
    }
}

/// Check that `identity` decrypts every `.age` file under `secrets` meant for
/// it. Decrypted bytes are wiped as they are read.
pub fn check(identity: &Path, secrets: &Path) -> Result<Checked, KeysError> {
    let id = Identity::load(identity)?;
    let rules = Rules::load(secrets)?;
    check_with(&id, secrets, &rules)
}

/// [`check`] with the identity and the rules already loaded.
pub fn check_with(id: &Identity, secrets: &Path, rules: &Rules) -> Result<Checked, KeysError> {
    let listed = rules.files_for(|r| id.is_named_by(r));
    let mut files: Vec<FileVerdict> = age_files(secrets)?
        .into_iter()
        .map(|file| {
            let meant = match &listed {
                None => Meant::Unknown,
                Some(l) if l.contains(&file) => Meant::Listed,
                Some(_) => Meant::NotListed,
            };
            let verdict = try_file(id, &secrets.join(&file));
            FileVerdict {
                file,
                meant,
                verdict,
            }
        })
        .collect();
    for file in listed.iter().flatten() {
        if !files.iter().any(|f| &f.file == file) {
            files.push(FileVerdict {
                file: file.clone(),
                meant: Meant::Listed,
                verdict: Verdict::Missing,
            });
        }
    }
    files.sort_by(|a, b| a.file.cmp(&b.file));
    Ok(Checked {
        recipient: id.recipient.clone(),
        rules: match rules {
            Rules::Evaluated(_) => RulesUsed::Evaluated,
            Rules::Absent => RulesUsed::Absent,
            Rules::NoNix => RulesUsed::NoNix,
        },
        files,
    })
}

/// Every `*.age` file under `dir`, relative to it, sorted; hidden
/// directories (`.git`) are skipped.
fn age_files(dir: &Path) -> Result<Vec<PathBuf>, KeysError> {
    let mut out = Vec::new();
    let mut todo = vec![PathBuf::new()];
    while let Some(rel) = todo.pop() {
        let here = dir.join(&rel);
        let list = |source| KeysError::List {
            path: here.clone(),
            source,
        };
        for entry in std::fs::read_dir(&here).map_err(list)? {
            let entry = entry.map_err(list)?;
            let name = entry.file_name();
            let path = rel.join(&name);
            let kind = entry.file_type().map_err(list)?;
            if kind.is_dir() && !name.to_string_lossy().starts_with('.') {
                todo.push(path);
            } else if !kind.is_dir() && path.extension().is_some_and(|e| e == "age") {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Decrypt one file to nowhere: the verdict is whether every byte decrypts.
fn try_file(id: &Identity, path: &Path) -> Verdict {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) => return Verdict::CannotDecrypt(Reason::Io(e.to_string())),
    };
    let input = age::armor::ArmoredReader::new(BufReader::new(file));
    let decryptor = match age::Decryptor::new_buffered(BufReader::new(input)) {
        Ok(d) => d,
        Err(_) if !looks_like_age(path) => return Verdict::CannotDecrypt(Reason::NotAge),
        // age reports a header cut short as an I/O error.
        Err(age::DecryptError::Io(e)) if e.kind() != io::ErrorKind::PermissionDenied => {
            return Verdict::CannotDecrypt(Reason::Header);
        }
        Err(e) => return Verdict::CannotDecrypt(reason(e)),
    };
    if decryptor.is_scrypt() {
        return Verdict::CannotDecrypt(Reason::Passphrase);
    }
    let mut reader = match decryptor.decrypt(std::iter::once(id.as_age())) {
        Ok(r) => r,
        Err(age::DecryptError::NoMatchingKeys) => {
            return Verdict::NotEncryptedToIt {
                recipients: header::stanza_types(&dearmored_head(path)),
            };
        }
        Err(e) => return Verdict::CannotDecrypt(reason(e)),
    };
    let mut buf = Zeroizing::new(vec![0u8; 64 * 1024]);
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return Verdict::Decrypts,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Verdict::CannotDecrypt(Reason::Payload(e.to_string())),
        }
    }
}

/// Whether a file starts as a binary or an armored age file does.
fn looks_like_age(path: &Path) -> bool {
    let mut head = [0u8; 64];
    let n = File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    let text = String::from_utf8_lossy(&head[..n]);
    let text = text.trim_start();
    text.starts_with("age-encryption.org/")
        || text.starts_with("-----BEGIN AGE ENCRYPTED FILE-----")
}

/// The first bytes of a file, dearmored: enough for its header.
fn dearmored_head(path: &Path) -> Vec<u8> {
    let mut head = Vec::new();
    if let Ok(f) = File::open(path) {
        let r = age::armor::ArmoredReader::new(BufReader::new(f));
        // A short or failed read leaves what was read; the header is at the start.
        let _ = r.take(64 * 1024).read_to_end(&mut head);
    }
    head
}

fn reason(e: age::DecryptError) -> Reason {
    use age::DecryptError as E;
    match e {
        E::InvalidHeader => Reason::Header,
        E::UnknownFormat => Reason::UnknownFormat,
        E::InvalidMac => Reason::HeaderMac,
        E::DecryptionFailed => Reason::Unwrap,
        E::ExcessiveWork { .. } => Reason::Passphrase,
        E::Io(io) => Reason::Io(io.to_string()),
        other => Reason::Other(other.to_string()),
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::NotAge => f.write_str("not an age file"),
            Reason::Header => f.write_str("its age header is corrupt or truncated"),
            Reason::UnknownFormat => f.write_str("an age format this build does not know"),
            Reason::HeaderMac => f.write_str("its header was changed after encryption"),
            Reason::Unwrap => f.write_str("the stanza for this key does not unwrap (corrupt?)"),
            Reason::Passphrase => f.write_str("encrypted with a passphrase, not to recipients"),
            Reason::Payload(e) => write!(f, "the payload is corrupt or truncated ({e})"),
            Reason::Io(e) => write!(f, "reading it: {e}"),
            Reason::Other(e) => f.write_str(e),
        }
    }
}

impl fmt::Display for FileVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.file.display().to_string();
        let file = crate::layout::diag::escape(&name);
        let mark = match (&self.verdict, self.fails()) {
            (_, true) => "FAIL",
            (Verdict::Decrypts, false) => "ok  ",
            (_, false) => "skip",
        };
        match (&self.verdict, self.meant) {
            (Verdict::Decrypts, _) => write!(f, "{mark} {file}: decrypts"),
            (Verdict::NotEncryptedToIt { recipients }, meant) => {
                let to = header::describe(recipients);
                match meant {
                    Meant::Listed => write!(
                        f,
                        "{mark} {file}: {RULES_FILE} lists this key but the file is not \
                         encrypted to it (encrypted to {to}; run `agenix -r`)"
                    ),
                    _ => write!(
                        f,
                        "{mark} {file}: not for this identity (encrypted to {to})"
                    ),
                }
            }
            (Verdict::CannotDecrypt(r), _) => write!(f, "{mark} {file}: cannot decrypt: {r}"),
            (Verdict::Missing, _) => write!(
                f,
                "{mark} {file}: {RULES_FILE} lists it for this key but there is no such file"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(meant: Meant, verdict: Verdict) -> FileVerdict {
        FileVerdict {
            file: "a.age".into(),
            meant,
            verdict,
        }
    }

    #[test]
    fn which_verdicts_fail() {
        let not_for = || Verdict::NotEncryptedToIt { recipients: vec![] };
        let corrupt = || Verdict::CannotDecrypt(Reason::Header);
        for (meant, verdict, fails) in [
            (Meant::Unknown, Verdict::Decrypts, false),
            (Meant::Listed, Verdict::Decrypts, false),
            (Meant::Unknown, not_for(), false),
            (Meant::NotListed, not_for(), false),
            (Meant::Listed, not_for(), true),
            (Meant::Unknown, corrupt(), true),
            (Meant::Listed, corrupt(), true),
            (Meant::NotListed, corrupt(), false),
            (Meant::Listed, Verdict::Missing, true),
        ] {
            assert_eq!(
                v(meant, verdict.clone()).fails(),
                fails,
                "{meant:?} {verdict:?}"
            );
        }
    }

    #[test]
    fn nothing_decrypting_fails_the_check() {
        let checked = |files| Checked {
            recipient: "age1x".into(),
            rules: RulesUsed::Absent,
            files,
        };
        assert!(!checked(vec![]).passed());
        let other = v(
            Meant::Unknown,
            Verdict::NotEncryptedToIt { recipients: vec![] },
        );
        assert!(!checked(vec![other.clone()]).passed());
        assert!(checked(vec![other, v(Meant::Unknown, Verdict::Decrypts)]).passed());
    }

    #[test]
    fn lines_name_the_file_and_why() {
        let to = vec!["ssh-ed25519".to_string(), "X25519".to_string()];
        let lines = [
            v(Meant::Unknown, Verdict::Decrypts),
            v(
                Meant::Unknown,
                Verdict::NotEncryptedToIt {
                    recipients: to.clone(),
                },
            ),
            v(Meant::Listed, Verdict::NotEncryptedToIt { recipients: to }),
            v(Meant::Unknown, Verdict::CannotDecrypt(Reason::NotAge)),
            v(Meant::Listed, Verdict::Missing),
        ]
        .map(|f| f.to_string());
        assert_eq!(
            lines,
            [
                "ok   a.age: decrypts",
                "skip a.age: not for this identity (encrypted to 1 ssh-ed25519, 1 X25519)",
                "FAIL a.age: secrets.nix lists this key but the file is not encrypted to it \
                 (encrypted to 1 ssh-ed25519, 1 X25519; run `agenix -r`)",
                "FAIL a.age: cannot decrypt: not an age file",
                "FAIL a.age: secrets.nix lists it for this key but there is no such file",
            ]
        );
    }
}
