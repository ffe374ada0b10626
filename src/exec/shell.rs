//! `rescue --shell`: a shell inside the mounted system, the way its owner
//! would repair it by hand. `nixos-enter` when the root is NixOS and the
//! rescue system has it; else `chroot` with /dev, /proc and /sys bound; else,
//! when the root has no shell (nothing installed yet), a shell of the rescue
//! system in the root directory, and a word that it is not chrooted.

use super::Cmd;
use anyhow::{Context, Result};
use std::path::Path;
use std::process::{Command, ExitStatus};

/// How the shell was entered, for the words around it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entered {
    /// `nixos-enter --root ROOT`.
    NixosEnter,
    /// `chroot ROOT /bin/sh`, with /dev, /proc and /sys bound.
    Chroot,
    /// The rescue system's shell, working directory ROOT.
    NotChrooted,
}

/// Which way [`enter`] goes for `root`: a rule over what exists.
pub fn way(root: &Path, have_nixos_enter: bool) -> Entered {
    if have_nixos_enter && root.join("etc/NIXOS").exists() {
        Entered::NixosEnter
    } else if root.join("bin/sh").exists() {
        Entered::Chroot
    } else {
        Entered::NotChrooted
    }
}

fn in_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(tool).is_file()))
}

/// Open an interactive shell in `root` (stdin, stdout, stderr inherited)
/// and wait for it to exit. Binds made for it are undone before returning.
pub fn enter(root: &Path) -> Result<(Entered, ExitStatus)> {
    let how = way(root, in_path("nixos-enter"));
    let status = match how {
        Entered::NixosEnter => Command::new("nixos-enter")
            .arg("--root")
            .arg(root)
            .status()
            .context("starting nixos-enter")?,
        Entered::Chroot => {
            let mut bound = Vec::new();
            for (what, how) in [("dev", "--rbind"), ("proc", "--bind"), ("sys", "--rbind")] {
                let at = root.join(what);
                if !at.is_dir() {
                    continue;
                }
                let at = at.display().to_string();
                let from = format!("/{what}");
                Cmd::of(
                    format!("binding {from} for the shell"),
                    &["mount", how, &from, &at],
                )
                .run()?;
                bound.push(at);
            }
            let status = Command::new("chroot")
                .arg(root)
                .arg("/bin/sh")
                .status()
                .context("starting chroot");
            for at in bound.iter().rev() {
                let _ = Cmd::of(format!("unbinding {at}"), &["umount", "-R", at]).run();
            }
            status?
        }
        Entered::NotChrooted => {
            let sh = std::env::var("SHELL").unwrap_or_else(|_| "/bin/sh".into());
            Command::new(sh)
                .current_dir(root)
                .status()
                .context("starting a shell")?
        }
    };
    Ok((how, status))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_way_in_follows_what_the_root_holds() {
        let root = tempfile::tempdir().unwrap();
        assert_eq!(way(root.path(), true), Entered::NotChrooted);
        std::fs::create_dir_all(root.path().join("bin")).unwrap();
        std::fs::write(root.path().join("bin/sh"), "").unwrap();
        assert_eq!(way(root.path(), true), Entered::Chroot);
        std::fs::create_dir_all(root.path().join("etc")).unwrap();
        std::fs::write(root.path().join("etc/NIXOS"), "").unwrap();
        assert_eq!(way(root.path(), true), Entered::NixosEnter);
        assert_eq!(way(root.path(), false), Entered::Chroot);
    }
}
