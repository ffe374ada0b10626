//! agenix's `secrets.nix`: which `.age` files are encrypted to which
//! recipients. It is Nix, so Nix evaluates it, the way agenix itself does
//! (`nix-instantiate --eval --strict --json`); without Nix the check tries
//! every file instead.

use super::KeysError;
use crate::exec::Cmd;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The rules file's name, at the top of the secrets directory.
pub const RULES_FILE: &str = "secrets.nix";

/// What `secrets.nix` says, or why it was not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rules {
    /// Evaluated: file path (relative to the directory) → its recipients.
    Evaluated(BTreeMap<String, Vec<String>>),
    /// The directory has no `secrets.nix`.
    Absent,
    /// `secrets.nix` is there but `nix-instantiate` is not on PATH.
    NoNix,
}

#[derive(Deserialize)]
struct Rule {
    #[serde(rename = "publicKeys", default)]
    public_keys: Vec<String>,
}

impl Rules {
    /// Read `dir/secrets.nix` if it is there (spawns `nix-instantiate`).
    pub fn load(dir: &Path) -> Result<Rules, KeysError> {
        let path = dir.join(RULES_FILE);
        if !path.is_file() {
            return Ok(Rules::Absent);
        }
        let abs = std::path::absolute(&path).unwrap_or(path.clone());
        let argv = [
            "nix-instantiate",
            "--eval",
            "--strict",
            "--json",
            // An evaluation, not a build: nothing is written to the store.
            "--readonly-mode",
            &abs.to_string_lossy(),
        ];
        let out = match Cmd::of("evaluate agenix's secrets.nix", &argv).output() {
            Ok(out) => out,
            Err(e) if not_found(&e) => return Ok(Rules::NoNix),
            Err(e) => {
                return Err(KeysError::Rules {
                    path,
                    detail: format!("{e:#}"),
                });
            }
        };
        if !out.exit.success() {
            return Err(KeysError::Rules {
                path,
                detail: format!(
                    "nix-instantiate: {}\n{}",
                    out.exit,
                    crate::exec::tail(&out.stderr)
                ),
            });
        }
        Rules::from_json(&out.stdout).map_err(|detail| KeysError::Rules { path, detail })
    }

    /// Parse what `nix-instantiate --json` printed for a `secrets.nix`.
    pub fn from_json(json: &str) -> Result<Rules, String> {
        let rules: BTreeMap<String, Rule> = serde_json::from_str(json)
            .map_err(|e| format!("not an attribute set of {{ publicKeys = [ … ]; }}: {e}"))?;
        Ok(Rules::Evaluated(
            rules
                .into_iter()
                .map(|(file, r)| (normal(&file), r.public_keys))
                .collect(),
        ))
    }

    /// The files `secrets.nix` lists for a recipient (by `named`), relative
    /// to the directory; `None` when there are no evaluated rules.
    pub fn files_for(&self, named: impl Fn(&str) -> bool) -> Option<Vec<PathBuf>> {
        match self {
            Rules::Evaluated(map) => Some(
                map.iter()
                    .filter(|(_, keys)| keys.iter().any(|k| named(k)))
                    .map(|(f, _)| PathBuf::from(f))
                    .collect(),
            ),
            Rules::Absent | Rules::NoNix => None,
        }
    }
}

/// Whether starting the command failed because it is not installed.
fn not_found(e: &anyhow::Error) -> bool {
    e.chain()
        .filter_map(|c| c.downcast_ref::<std::io::Error>())
        .any(|io| io.kind() == std::io::ErrorKind::NotFound)
}

/// agenix resolves names relative to secrets.nix: `./a.age` and `a.age` are one file.
fn normal(file: &str) -> String {
    let mut f = file;
    while let Some(rest) = f.strip_prefix("./") {
        f = rest;
    }
    f.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evaluated_rules_list_files_per_recipient() {
        // What nix-instantiate printed for a secrets.nix with a let block.
        let json = r#"{"dir/x.age":{"publicKeys":["age1abc"]},"./wifi.age":{"publicKeys":["ssh-ed25519 AAAAfoo nas","age1abc"],"armor":true}}"#;
        let rules = Rules::from_json(json).unwrap();
        assert_eq!(
            rules.files_for(|k| k == "age1abc").unwrap(),
            [PathBuf::from("dir/x.age"), PathBuf::from("wifi.age")]
        );
        assert_eq!(
            rules
                .files_for(|k| k.starts_with("ssh-ed25519 AAAAfoo"))
                .unwrap(),
            [PathBuf::from("wifi.age")]
        );
        assert!(rules.files_for(|k| k == "age1zzz").unwrap().is_empty());
    }

    #[test]
    fn a_rule_without_public_keys_lists_nobody() {
        let rules = Rules::from_json(r#"{"a.age":{}}"#).unwrap();
        assert!(rules.files_for(|_| true).unwrap().is_empty());
    }

    #[test]
    fn not_an_attribute_set_is_an_error() {
        assert!(Rules::from_json("[1,2]").is_err());
        assert!(Rules::from_json(r#"{"a.age":{"publicKeys":"age1abc"}}"#).is_err());
    }

    #[test]
    fn no_rules_no_list() {
        assert_eq!(Rules::Absent.files_for(|_| true), None);
        assert_eq!(Rules::NoNix.files_for(|_| true), None);
    }
}
