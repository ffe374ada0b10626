//! Whether a flake's host configuration imports the disks module, by reading
//! its `.nix` files (evaluating them would need nixpkgs). A reference to
//! `nasstrap-disks.nix` outside comments counts as the import; it says where
//! the module must be written, relative to the file that names it.

use super::MODULE_FILE;
use std::path::{Path, PathBuf};

/// What the flake says about the disks module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A file names the module: write it at `module`. (Flakes see only files
    /// git tracks: it must be `git add`ed.)
    Imported {
        /// The `.nix` file that names it.
        by: PathBuf,
        /// Where the module is expected.
        module: PathBuf,
    },
    /// The host exists but nothing names the module: add `add` there.
    NotImported {
        /// Where to add it.
        file: PathBuf,
        /// The exact text to add.
        add: String,
        /// Where in that file.
        place: String,
    },
    /// No `flake.nix` in the directory.
    NoFlake,
    /// The flake does not mention the host at all.
    NoHost,
}

/// Whether `host`'s configuration in the flake at `flake_dir` imports
/// `./nasstrap-disks.nix`, and if not, the lines to add.
pub fn imports(flake_dir: &Path, host: &str) -> Verdict {
    let flake = flake_dir.join("flake.nix");
    let Ok(flake_text) = std::fs::read_to_string(&flake) else {
        return Verdict::NoFlake;
    };
    let mut files = Vec::new();
    nix_files(flake_dir, &mut files);
    files.sort();
    let mut host_seen = false;
    for f in &files {
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        let code = strip_comments(&text);
        if let Some(path) = module_reference(&code) {
            let dir = f.parent().unwrap_or(flake_dir);
            return Verdict::Imported {
                by: f.clone(),
                module: normalize(&dir.join(path)),
            };
        }
        host_seen |= mentions(&code, host);
    }
    if !host_seen {
        return Verdict::NoHost;
    }
    let code = strip_comments(&flake_text);
    let defined = code.contains(&format!("nixosConfigurations.{host}"))
        || code.contains(&format!("nixosConfigurations.\"{host}\""));
    Verdict::NotImported {
        file: flake,
        add: format!("./{MODULE_FILE}"),
        place: if defined {
            format!("in the `modules = [ … ]` list of `nixosConfigurations.{host}`")
        } else {
            format!(
                "in the `modules = [ … ]` list of host `{host}`'s nixosSystem, or as \
                 `imports = [ ./{MODULE_FILE} ];` in its configuration module"
            )
        },
    }
}

/// The `.nix` files below `dir`, skipping hidden directories and `result` links.
fn nix_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        let Ok(kind) = e.file_type() else { continue };
        if kind.is_dir() && !name.starts_with('.') {
            nix_files(&p, out);
        } else if kind.is_file() && name.ends_with(".nix") && name != MODULE_FILE {
            out.push(p);
        }
    }
}

/// Nix code without `#` and `/* */` comments (strings are not tracked: a `#`
/// inside one cuts the rest of its line, which only loses text to search).
fn strip_comments(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while !rest.is_empty() {
        match (rest.find('#'), rest.find("/*")) {
            (Some(h), b) if b.is_none_or(|b| h < b) => {
                out.push_str(&rest[..h]);
                rest = rest[h..].find('\n').map_or("", |n| &rest[h + n..]);
            }
            (_, Some(b)) => {
                out.push_str(&rest[..b]);
                rest = rest[b + 2..]
                    .find("*/")
                    .map_or("", |e| &rest[b + 2 + e + 2..]);
            }
            _ => {
                out.push_str(rest);
                rest = "";
            }
        }
    }
    out
}

/// The path in the first reference to the module: `./nasstrap-disks.nix`,
/// `../hosts/nas/nasstrap-disks.nix`.
fn module_reference(code: &str) -> Option<&str> {
    let at = code.find(MODULE_FILE)?;
    let path_char = |c: char| c.is_ascii_alphanumeric() || "._-+/".contains(c);
    let start = code[..at]
        .rfind(|c: char| !path_char(c))
        .map_or(0, |i| i + 1);
    Some(&code[start..at + MODULE_FILE.len()])
}

/// Whether `host` appears as a word (an attribute name or a string).
fn mentions(code: &str, host: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '\'';
    code.match_indices(host).any(|(i, _)| {
        let before = code[..i].chars().next_back();
        let after = code[i + host.len()..].chars().next();
        !before.is_some_and(word) && !after.is_some_and(word)
    })
}

/// `a/b/../c/./d` → `a/c/d`, without touching the file system.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flake(files: &[(&str, &str)]) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let p = d.path().join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        d
    }

    const FLAKE: &str = r#"{
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";
  outputs = { nixpkgs, ... }: {
    nixosConfigurations.nas = nixpkgs.lib.nixosSystem {
      system = "aarch64-linux";
      modules = [ ./configuration.nix ];
    };
  };
}"#;

    #[test]
    fn a_host_without_the_import_is_told_what_to_add() {
        let d = flake(&[("flake.nix", FLAKE), ("configuration.nix", "{ ... }: { }")]);
        let v = imports(d.path(), "nas");
        assert_eq!(
            v,
            Verdict::NotImported {
                file: d.path().join("flake.nix"),
                add: "./nasstrap-disks.nix".into(),
                place: "in the `modules = [ … ]` list of `nixosConfigurations.nas`".into(),
            }
        );
    }

    #[test]
    fn an_import_in_a_host_module_is_found_with_where_the_module_goes() {
        let d = flake(&[
            (
                "flake.nix",
                &FLAKE.replace("./configuration.nix", "./hosts/nas"),
            ),
            (
                "hosts/nas/default.nix",
                "{ ... }: {\n  imports = [ ./hardware.nix ./nasstrap-disks.nix ];\n}",
            ),
        ]);
        assert_eq!(
            imports(d.path(), "nas"),
            Verdict::Imported {
                by: d.path().join("hosts/nas/default.nix"),
                module: d.path().join("hosts/nas/nasstrap-disks.nix"),
            }
        );
    }

    #[test]
    fn an_import_in_the_flake_itself() {
        let d = flake(&[(
            "flake.nix",
            &FLAKE.replace(
                "./configuration.nix ]",
                "./configuration.nix ./x/../nasstrap-disks.nix ]",
            ),
        )]);
        let Verdict::Imported { module, .. } = imports(d.path(), "nas") else {
            panic!()
        };
        assert_eq!(module, d.path().join("nasstrap-disks.nix"));
    }

    #[test]
    fn a_commented_out_import_does_not_count() {
        let d = flake(&[
            ("flake.nix", FLAKE),
            (
                "configuration.nix",
                "{ ... }: {\n  # imports = [ ./nasstrap-disks.nix ];\n  /* ./nasstrap-disks.nix */ }",
            ),
        ]);
        assert!(matches!(
            imports(d.path(), "nas"),
            Verdict::NotImported { .. }
        ));
    }

    #[test]
    fn no_flake_and_unknown_hosts() {
        let d = flake(&[("configuration.nix", "{ }")]);
        assert_eq!(imports(d.path(), "nas"), Verdict::NoFlake);
        let d = flake(&[("flake.nix", FLAKE)]);
        assert_eq!(imports(d.path(), "nas2"), Verdict::NoHost);
        assert_eq!(imports(d.path(), "na"), Verdict::NoHost);
    }

    #[test]
    fn hosts_built_by_a_function_get_the_general_place() {
        let text =
            r#"{ outputs = { self, nixpkgs }: { nixosConfigurations = mkHosts [ "nas" ]; }; }"#;
        let d = flake(&[("flake.nix", text)]);
        let Verdict::NotImported { place, .. } = imports(d.path(), "nas") else {
            panic!()
        };
        assert!(
            place.contains("imports = [ ./nasstrap-disks.nix ];"),
            "{place}"
        );
    }

    #[test]
    fn comments_are_stripped() {
        assert_eq!(strip_comments("a # b\nc /* d\n e */ f"), "a \nc  f");
        assert_eq!(strip_comments("x /* open"), "x ");
    }
}
