//! Where the master's control socket goes. A Unix socket path must fit `sun_path` (104 bytes
//! on macOS and the BSDs, 108 on Linux, both counting the NUL), and ssh's own error for a
//! long one ("unix_listener: path … too long") comes late and says nothing of the cure, so
//! the length is checked here first.

use std::path::{Path, PathBuf};

/// `sun_path`'s size on this platform, NUL included.
pub const SUN_PATH: usize = if cfg!(any(
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd",
    target_os = "openbsd",
    target_os = "netbsd",
    target_os = "dragonfly"
)) {
    104
} else {
    108
};

/// What the openssh crate and ssh add to the control directory: the crate's
/// `/.ssh-connection` + 6 random characters, its `/master`, and the `.` + 16 random
/// characters ssh appends to the name it binds before renaming it into place.
const ADDED: usize = "/.ssh-connection".len() + 6 + "/master".len() + 17;

/// The longest path ssh will bind for a control directory `dir`.
pub fn bound_len(dir: &Path) -> usize {
    dir.as_os_str().len() + ADDED
}

/// Whether a control directory leaves room for the socket name within `limit`.
pub fn fits(dir: &Path, limit: usize) -> bool {
    bound_len(dir) < limit
}

/// The control directories to try, best first: `$XDG_RUNTIME_DIR` (private, in RAM, gone at
/// logout), the crate's default (`$XDG_STATE_HOME` or `~/.local/state`), then `/tmp` (short
/// everywhere; the crate makes a 0700 directory inside).
pub fn candidates(var: impl Fn(&str) -> Option<String>) -> Vec<PathBuf> {
    let abs = |v: Option<String>| v.map(PathBuf::from).filter(|p| p.is_absolute());
    let mut out = Vec::new();
    out.extend(abs(var("XDG_RUNTIME_DIR")));
    match abs(var("XDG_STATE_HOME")) {
        Some(p) => out.push(p),
        None => out.extend(abs(var("HOME")).map(|h| h.join(".local/state"))),
    }
    out.push(PathBuf::from("/tmp"));
    out
}

/// The first candidate that is short enough, or the first candidate with the length it
/// would bind (for the error) when none is.
pub fn choose(candidates: &[PathBuf], limit: usize) -> Result<PathBuf, (PathBuf, usize)> {
    match candidates.iter().find(|d| fits(d, limit)) {
        Some(d) => Ok(d.clone()),
        None => {
            let first = candidates.first().cloned().unwrap_or_default();
            let len = bound_len(&first);
            Err((first, len))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_counts_what_the_crate_and_ssh_add() {
        // The crate's socket: <dir>/.ssh-connectionAbC123/master, then ssh binds
        // <that>.0123456789abcdef before renaming it.
        let dir = Path::new("/run/user/1000");
        let bound = format!(
            "{}/.ssh-connectionAbC123/master.0123456789abcdef",
            dir.display()
        );
        assert_eq!(bound_len(dir), bound.len());
        // It must leave room for the NUL.
        let at_limit = "/".repeat(104 - ADDED);
        assert!(!fits(Path::new(&at_limit), 104));
        assert!(fits(Path::new(&at_limit[1..]), 104));
    }

    #[test]
    fn a_long_home_falls_back_to_tmp() {
        let home = format!("/Users/{}", "x".repeat(60));
        let vars = |v: &str| (v == "HOME").then(|| home.clone());
        let c = candidates(vars);
        assert_eq!(
            c,
            [PathBuf::from(&home).join(".local/state"), "/tmp".into()]
        );
        assert_eq!(choose(&c, 104), Ok(PathBuf::from("/tmp")));
    }

    #[test]
    fn the_runtime_dir_comes_first_and_relative_paths_are_ignored() {
        let vars = |v: &str| match v {
            "XDG_RUNTIME_DIR" => Some("/run/user/501".to_string()),
            "XDG_STATE_HOME" => Some("state".to_string()),
            "HOME" => Some("/home/me".to_string()),
            _ => None,
        };
        let c = candidates(vars);
        assert_eq!(
            c,
            ["/run/user/501", "/home/me/.local/state", "/tmp"].map(PathBuf::from)
        );
        assert_eq!(choose(&c, 104), Ok(PathBuf::from("/run/user/501")));
    }

    #[test]
    fn none_fitting_names_the_first() {
        let long = PathBuf::from(format!("/{}", "y".repeat(80)));
        assert_eq!(
            choose(std::slice::from_ref(&long), 104),
            Err((long.clone(), 81 + ADDED))
        );
    }
}
