//! Which files go to the target, read on the laptop: a flake's git-tracked files (what Nix
//! itself sees of a git flake) or, outside git, every file; and an `--extra-files` tree with
//! its modes and owners. Nothing here writes or talks to the target.

use anyhow::{Context, Result, bail};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};
use std::process::Command;

/// One thing to send: a file, a directory or a symlink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Where it goes, relative to the tree's root; never absolute, never `..`.
    pub path: PathBuf,
    /// Where it is on the laptop (nothing for a directory that only holds others).
    pub source: PathBuf,
    /// What it is.
    pub kind: Kind,
    /// Permission bits (`0o7777` at most).
    pub mode: u32,
    /// Numeric owner on the target.
    pub uid: u64,
    /// Numeric group on the target.
    pub gid: u64,
    /// Modification time, seconds since the epoch.
    pub mtime: u64,
}

/// The kinds of entry a tar stream carries here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A regular file of this many bytes (when listed).
    File { size: u64 },
    /// A directory.
    Dir,
    /// A symlink, its target kept verbatim (it is never followed, here or on the target).
    Symlink { target: PathBuf },
}

/// Where a flake's file list comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A git work tree (the flake may be a subdirectory of it): tracked files only.
    Git {
        /// The work tree's top.
        top: PathBuf,
    },
    /// Not in a git repository: every file, as Nix takes a `path:` flake.
    Plain,
}

/// Files of a git flake carry HEAD's commit time (as `git archive` does); a plain one this
/// (Nix's own store time): the same tree always makes the same stream.
const PLAIN_MTIME: u64 = 1;

/// Whether `dir` is in a git work tree. When git cannot say (not installed, or it refuses the
/// repository as another user's), a `.git` in `dir` or above is an error rather than a reason
/// to send untracked files.
pub fn source(dir: &Path) -> Result<Source> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["rev-parse", "--show-toplevel"])
        .output();
    let why = match out {
        Ok(o) if o.status.success() => {
            let top = OsStr::from_bytes(o.stdout.strip_suffix(b"\n").unwrap_or(&o.stdout));
            return Ok(Source::Git {
                top: PathBuf::from(top),
            });
        }
        Ok(o) => String::from_utf8_lossy(&o.stderr).trim().to_string(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => "git is not installed".into(),
        Err(e) => return Err(e).context("running git"),
    };
    // Absolute, so the ancestors reach `/` (`.` has none).
    let abs = std::path::absolute(dir).with_context(|| format!("resolving {}", dir.display()))?;
    if let Some(repo) = abs.ancestors().find(|d| d.join(".git").exists()) {
        bail!(
            "{} is in the git repository {}, but git cannot list its tracked files: {why}",
            dir.display(),
            repo.display()
        );
    }
    Ok(Source::Plain)
}

/// The flake's files: in a git work tree the tracked ones (index entries, with their
/// working-tree content and executable bit, as Nix reads a dirty tree; files deleted from the
/// working tree are left out, as Nix does), else every file. Submodules that are checked out
/// are sent with their own tracked files (so `self.submodules = true` works); one that is not
/// checked out is an empty directory, as git leaves it. `with_git` adds the `.git` directory
/// (and each submodule's `.git`), which needs the flake at the top of its work tree.
///
/// Owner root, modes 0644 or 0755 (only the executable bit counts, as in git and the Nix
/// store), directories 0755, every entry the same mtime. Sorted by path, parents first.
pub fn flake_files(dir: &Path, with_git: bool) -> Result<Vec<Entry>> {
    let mut out = Vec::new();
    match source(dir)? {
        Source::Git { top } => {
            if with_git && !same_dir(&top, dir) {
                bail!(
                    "{} is inside the git work tree {}: its .git is not in the flake, \
                     so it cannot be sent with it",
                    dir.display(),
                    top.display()
                );
            }
            let mtime = head_time(dir).unwrap_or(PLAIN_MTIME);
            tracked(dir, Path::new(""), with_git, mtime, &mut out)?;
        }
        Source::Plain => {
            if with_git {
                bail!("{} is not a git repository: it has no .git", dir.display());
            }
            walk(dir, Path::new(""), &Owners::Root(PLAIN_MTIME), &mut out)?;
        }
    }
    Ok(finish(out))
}

/// An `--extra-files` tree: every file, directory and symlink below `dir`, with its
/// permission bits (setuid and sticky included), numeric owner and mtime. `dir` itself is not
/// an entry: the target root keeps its own mode. Anything else (a device, a socket) is
/// refused.
pub fn extra_files(dir: &Path) -> Result<Vec<Entry>> {
    if !std::fs::metadata(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .is_dir()
    {
        bail!("{}: not a directory", dir.display());
    }
    let mut out = Vec::new();
    walk(dir, Path::new(""), &Owners::Kept, &mut out)?;
    Ok(finish(out))
}

/// Whose and how old the walked entries are.
enum Owners {
    /// Root's, 0644/0755, this mtime (a flake).
    Root(u64),
    /// As on the laptop (extra files).
    Kept,
    /// Root's, with the laptop's modes and mtimes (a flake's `.git`: its read-only objects
    /// stay so, and git on the target does not find a stranger's repository).
    Git,
}

/// The git-tracked entries of the work tree at `dir`, named under `prefix`.
fn tracked(
    dir: &Path,
    prefix: &Path,
    with_git: bool,
    mtime: u64,
    out: &mut Vec<Entry>,
) -> Result<()> {
    let listed = Command::new("git")
        .arg("-C")
        .arg(dir)
        // Paths as they are: no octal quoting of unusual bytes.
        .args([
            "-c",
            "core.quotePath=false",
            "ls-files",
            "-z",
            "--cached",
            "--stage",
        ])
        .output()
        .with_context(|| format!("running git ls-files in {}", dir.display()))?;
    if !listed.status.success() {
        bail!(
            "git ls-files in {}: {}",
            dir.display(),
            String::from_utf8_lossy(&listed.stderr).trim()
        );
    }
    let mut last: Option<&[u8]> = None;
    for record in listed.stdout.split(|&b| b == 0).filter(|r| !r.is_empty()) {
        let (gitlink, name) = parse_stage(record)
            .with_context(|| format!("reading git ls-files output in {}", dir.display()))?;
        // A conflicted path is listed once per stage.
        if last == Some(name) {
            continue;
        }
        last = Some(name);
        let rel = checked(Path::new(OsStr::from_bytes(name)))?;
        let src = dir.join(&rel);
        let at = prefix.join(&rel);
        if gitlink {
            if src.join(".git").exists() {
                tracked(&src, &at, with_git, mtime, out)?;
                if with_git {
                    git_dir(&src, &at, out)?;
                }
            } else {
                out.push(dir_entry(&at, &src, 0, 0, mtime));
            }
            continue;
        }
        let meta = match std::fs::symlink_metadata(&src) {
            Ok(m) => m,
            // Deleted in the working tree but still in the index: Nix leaves it out too.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e).with_context(|| format!("reading {}", src.display())),
        };
        if meta.is_dir() {
            bail!(
                "{}: git tracks a file here, but the working tree has a directory",
                src.display()
            );
        }
        out.push(entry(&src, at, &meta, &Owners::Root(mtime))?);
    }
    if with_git && prefix.as_os_str().is_empty() {
        git_dir(dir, prefix, out)?;
    }
    Ok(())
}

/// The `.git` of the work tree at `dir`: a directory (sent whole) or, in a submodule, the file
/// pointing into the top repository's `.git/modules`.
fn git_dir(dir: &Path, prefix: &Path, out: &mut Vec<Entry>) -> Result<()> {
    let src = dir.join(".git");
    let meta =
        std::fs::symlink_metadata(&src).with_context(|| format!("reading {}", src.display()))?;
    let at = prefix.join(".git");
    if meta.is_dir() {
        out.push(entry(&src, at.clone(), &meta, &Owners::Git)?);
        return walk(&src, &at, &Owners::Git, out);
    }
    if prefix.as_os_str().is_empty() {
        bail!(
            "{}: a file, not a directory (a linked worktree): the repository is elsewhere",
            src.display()
        );
    }
    out.push(entry(&src, at, &meta, &Owners::Git)?);
    Ok(())
}

/// One `git ls-files --stage` record, `MODE OBJECT STAGE\tPATH`: whether it is a submodule
/// (mode 160000) and the path.
fn parse_stage(record: &[u8]) -> Result<(bool, &[u8])> {
    let tab = record
        .iter()
        .position(|&b| b == b'\t')
        .context("no tab in a record")?;
    let (info, name) = (&record[..tab], &record[tab + 1..]);
    let mode = info.split(|&b| b == b' ').next().unwrap_or_default();
    Ok((mode == b"160000", name))
}

/// Everything below `dir`, named under `prefix`, in name order; symlinks are not followed.
fn walk(dir: &Path, prefix: &Path, owners: &Owners, out: &mut Vec<Entry>) -> Result<()> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<std::io::Result<_>>()
        .with_context(|| format!("listing {}", dir.display()))?;
    names.sort();
    for name in names {
        let src = dir.join(&name);
        let at = prefix.join(&name);
        let meta = std::fs::symlink_metadata(&src)
            .with_context(|| format!("reading {}", src.display()))?;
        let t = meta.file_type();
        // git's fsmonitor daemon keeps a socket in .git; nothing on the target needs it.
        if matches!(owners, Owners::Git) && !(t.is_file() || t.is_dir() || t.is_symlink()) {
            continue;
        }
        out.push(entry(&src, at.clone(), &meta, owners)?);
        if meta.is_dir() {
            walk(&src, &at, owners, out)?;
        }
    }
    Ok(())
}

/// The entry for `src`, already `lstat`ed, to be named `at`.
fn entry(src: &Path, at: PathBuf, meta: &std::fs::Metadata, owners: &Owners) -> Result<Entry> {
    let t = meta.file_type();
    let kind = if t.is_file() {
        Kind::File { size: meta.len() }
    } else if t.is_dir() {
        Kind::Dir
    } else if t.is_symlink() {
        let target = std::fs::read_link(src)
            .with_context(|| format!("reading the link {}", src.display()))?;
        Kind::Symlink { target }
    } else {
        bail!("{}: not a file, directory or symlink", src.display());
    };
    let (mode, uid, gid, mtime) = match owners {
        Owners::Root(mtime) => {
            let exec = matches!(kind, Kind::Dir | Kind::Symlink { .. }) || meta.mode() & 0o100 != 0;
            (if exec { 0o755 } else { 0o644 }, 0, 0, *mtime)
        }
        Owners::Git => (
            meta.mode() & 0o7777,
            0,
            0,
            u64::try_from(meta.mtime()).unwrap_or(0),
        ),
        Owners::Kept => (
            meta.mode() & 0o7777,
            u64::from(meta.uid()),
            u64::from(meta.gid()),
            u64::try_from(meta.mtime()).unwrap_or(0),
        ),
    };
    Ok(Entry {
        path: at,
        source: src.to_path_buf(),
        kind,
        mode,
        uid,
        gid,
        mtime,
    })
}

/// A directory entry made up for a parent or an empty submodule.
fn dir_entry(at: &Path, src: &Path, uid: u64, gid: u64, mtime: u64) -> Entry {
    Entry {
        path: at.to_path_buf(),
        source: src.to_path_buf(),
        kind: Kind::Dir,
        mode: 0o755,
        uid,
        gid,
        mtime,
    }
}

/// `p` if it is a plain relative path: no root, no `..`, no `.`, not empty. Git never lists
/// another, but a stream that could write outside its directory is not worth trusting that.
pub fn checked(p: &Path) -> Result<PathBuf> {
    let plain =
        !p.as_os_str().is_empty() && p.components().all(|c| matches!(c, Component::Normal(_)));
    if !plain {
        bail!("refusing the path {:?}: not plain and relative", p);
    }
    Ok(p.components().collect())
}

/// Sorted by path, with an entry for every parent directory not listed (git lists files
/// only), owned as the first entry below it is, and without duplicates.
fn finish(mut out: Vec<Entry>) -> Vec<Entry> {
    let mut parents = Vec::new();
    let listed: std::collections::BTreeSet<PathBuf> = out.iter().map(|e| e.path.clone()).collect();
    let mut added = std::collections::BTreeSet::new();
    for e in &out {
        // The k-th ancestor of the name is the k-th ancestor of the source.
        for (p, src) in e.path.ancestors().zip(e.source.ancestors()).skip(1) {
            if p.as_os_str().is_empty() || listed.contains(p) || !added.insert(p.to_path_buf()) {
                continue;
            }
            parents.push(dir_entry(p, src, e.uid, e.gid, e.mtime));
        }
    }
    out.extend(parents);
    out.sort_by(|a, b| {
        a.path
            .as_os_str()
            .as_bytes()
            .cmp(b.path.as_os_str().as_bytes())
    });
    out.dedup_by(|a, b| a.path == b.path);
    out
}

/// HEAD's committer time, if the repository has a commit.
fn head_time(dir: &Path) -> Option<u64> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["log", "-1", "--format=%ct"])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    String::from_utf8(out.stdout).ok()?.trim().parse().ok()
}

/// Whether two paths name the same directory (`rev-parse` prints a resolved path).
fn same_dir(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
