//! Staging the user's NixOS flake (and `--extra-files`) onto the new root over the install's
//! ssh master: one tar stream, built here with the `tar` crate, into one `tar -x` on the
//! target.
//!
//! - **What is sent** ([`listing`]): a git flake's tracked files, as Nix sees them; a flake
//!   outside git, all of it (said in a note); `--extra-files DIR` mirrors the target root with
//!   its modes and numeric owners (nixos-anywhere's semantics), overlaid on what is there.
//! - **The stream**: built in-process, so the laptop's tar does not matter (on a Mac, no
//!   AppleDouble `._*` members and no xattrs); sorted, fixed owners and mtimes for the flake,
//!   names relative to `/` so one stream reaches both the flake's directory and the root. It
//!   streams: nothing larger than a buffer is held in memory.
//! - **On the target**: `tar -x -p -f - -C /`, flags GNU and busybox tar share (busybox
//!   accepts `-p` and restores modes anyway; neither gets `-o`, so root keeps the owners).
//!   Owner names are left empty so both use the numbers.
//! - **Re-staging**: the flake is extracted into a fresh `DEST.new`, then swapped in (the old
//!   one to `DEST.old`, removed). A file dropped from the flake since an earlier stage does
//!   not linger, and a stream cut short leaves the earlier stage whole, not half of each.
//!   Extra files are an overlay on the root, which cannot be swapped; those that fall inside
//!   DEST go into `DEST.new` with the flake (and win over a flake file of the same name).
//! - **Symlinks** are sent as symlinks with their targets verbatim, absolute or not: they are
//!   never followed here, no member lies below one, and the flake lands in a fresh
//!   directory, so a link cannot carry a later member outside DEST. Member names must be
//!   plain relative paths ([`listing::checked`]).

pub mod listing;

pub use listing::{Entry, Kind, Source, extra_files, flake_files};

use crate::remote::ssh::{Connection, quote};
use crate::report::{Event, Reporter};
use anyhow::{Context, Result, bail};
use std::io::{BufWriter, Read, Write};
use std::path::{Component, Path, PathBuf};
use std::process::Stdio;
use std::time::Instant;

/// The `id` of staging's [`Event::Progress`]: not a plan step's.
pub const PROGRESS_ID: u32 = u32::MAX;

/// What to stage where.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// The flake's directory on the laptop.
    pub flake: &'a Path,
    /// Send the flake's `.git` too (then Nix on the target sees a git flake).
    pub with_git: bool,
    /// Where the flake goes on the target, absolute: `/mnt/etc/nixos`.
    pub dest: &'a str,
    /// `--extra-files DIR`: a tree mirroring the target root.
    pub extra: Option<&'a Path>,
    /// The target root the extra files are copied to: `/mnt`.
    pub root: &'a str,
}

/// What a stage sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Staged {
    /// Files and symlinks (directories not counted).
    pub files: usize,
    /// Bytes of the tar stream.
    pub bytes: u64,
    /// From listing to the target's last rename.
    pub seconds: f64,
}

/// Stages `req.flake` (and the extra files) on the target through `conn`; reports a note
/// when the flake is not a git repository and progress as the stream goes.
pub fn stage(conn: &Connection, req: &Request, reporter: &dyn Reporter) -> Result<Staged> {
    let started = Instant::now();
    let dest = absolute(req.dest).context("checking the flake's destination")?;
    let root = absolute(req.root).context("checking the target root")?;
    if dest == "/" {
        bail!("refusing to stage the flake over the target's /");
    }
    if listing::source(req.flake)? == Source::Plain {
        reporter.event(&Event::Note {
            message: format!(
                "{} is not in a git repository: staging all its files",
                req.flake.display()
            ),
        });
    }
    let flake = flake_files(req.flake, req.with_git)?;
    let extra = match req.extra {
        Some(dir) => extra_files(dir)?,
        None => Vec::new(),
    };
    let members = members(flake, extra, &dest, &root)?;
    let total = stream_size(&members);
    let script = script(&dest);

    let mut child = conn
        .command(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting ssh for tar on the target")?;
    let stdin = child.stdin.take().expect("piped");
    let (out, err) = (
        child.stdout.take().expect("piped"),
        child.stderr.take().expect("piped"),
    );
    let mut shown = None;
    let progress = |sent: u64| {
        let percent = (sent as f64 * 100.0 / total.max(1) as f64).min(100.0) as u32;
        if shown != Some(percent) {
            shown = Some(percent);
            reporter.event(&Event::Progress {
                id: PROGRESS_ID,
                percent: percent as f32,
                message: format!("staging the flake: {} of {}", mib(sent), mib(total)),
            });
        }
    };
    // The target's output is read while the stream goes, so neither side stalls on a full
    // pipe; the stream is written from here, bounded by the pipe to ssh.
    let (sent, said, status) = std::thread::scope(|s| {
        let drain = |mut r: Box<dyn Read + Send>| {
            move || {
                let mut text = Vec::new();
                let _ = r.read_to_end(&mut text);
                text
            }
        };
        let stdout = s.spawn(drain(Box::new(out)));
        let stderr = s.spawn(drain(Box::new(err)));
        let mut w = Counting::new(BufWriter::with_capacity(1 << 18, stdin), progress);
        let sent = write_stream(&members, &mut w).map(|()| w.count);
        // Closing stdin ends the stream for the target's tar (also after an error).
        drop(w);
        let mut said = stderr.join().expect("stderr reader panicked");
        said.extend(stdout.join().expect("stdout reader panicked"));
        (sent, said, child.wait())
    });
    let status = status.context("waiting for tar on the target")?;
    let said = String::from_utf8_lossy(&said);
    if !status.success() {
        let why = match status.code() {
            Some(255) => "the ssh connection failed".to_string(),
            Some(c) => format!("exit code {c}"),
            None => "killed".to_string(),
        };
        bail!(
            "staging the flake into {dest} on the target: {why}\n{}",
            said.trim_end()
        );
    }
    let bytes = sent.with_context(|| format!("sending the flake to {dest}"))?;
    Ok(Staged {
        files: members.iter().filter(|m| m.kind != Kind::Dir).count(),
        bytes,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The stream's members, named relative to `/`: the flake under `DEST.new` (which is itself
/// a member, 0755 root), then the extra files under `root`, those inside DEST moved into
/// `DEST.new`.
pub fn members(flake: Vec<Entry>, extra: Vec<Entry>, dest: &str, root: &str) -> Result<Vec<Entry>> {
    let dest = Path::new(dest.trim_start_matches('/'));
    let new = PathBuf::from(format!("{}.new", dest.display()));
    let root = Path::new(root.trim_start_matches('/'));
    let mtime = flake.first().map_or(1, |e| e.mtime);
    let mut out = vec![Entry {
        path: new.clone(),
        source: PathBuf::new(),
        kind: Kind::Dir,
        mode: 0o755,
        uid: 0,
        gid: 0,
        mtime,
    }];
    for mut e in flake {
        e.path = new.join(listing::checked(&e.path)?);
        out.push(e);
    }
    for mut e in extra {
        let at = root.join(listing::checked(&e.path)?);
        e.path = match at.strip_prefix(dest) {
            Ok(inside) if inside.as_os_str().is_empty() => new.clone(),
            Ok(inside) => new.join(inside),
            Err(_) => at,
        };
        out.push(e);
    }
    Ok(out)
}

/// The target's side: a fresh `DEST.new` from the stream, then swapped in for DEST.
pub fn script(dest: &str) -> String {
    let parent = Path::new(dest)
        .parent()
        .map_or("/".into(), |p| p.display().to_string());
    let (d, new, old) = (
        quote(dest),
        quote(&format!("{dest}.new")),
        quote(&format!("{dest}.old")),
    );
    let parent = quote(&parent);
    format!(
        "set -e; umask 022; mkdir -p {parent}; rm -rf {new}; tar -x -p -f - -C /; \
         if [ -e {d} ] || [ -L {d} ]; then rm -rf {old}; mv {d} {old}; fi; \
         mv {new} {d}; rm -rf {old}"
    )
}

/// Writes `members` as one tar stream (GNU headers, long names as GNU extensions) to `w`.
pub fn write_stream<W: Write>(members: &[Entry], w: W) -> std::io::Result<()> {
    let mut b = tar::Builder::new(w);
    for m in members {
        let mut h = tar::Header::new_gnu();
        h.set_mode(m.mode);
        h.set_uid(m.uid);
        h.set_gid(m.gid);
        h.set_mtime(m.mtime);
        match &m.kind {
            Kind::Dir => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_size(0);
                b.append_data(&mut h, &m.path, std::io::empty())?;
            }
            Kind::Symlink { target } => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_size(0);
                b.append_link(&mut h, &m.path, target)?;
            }
            Kind::File { size } => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(*size);
                let f = std::fs::File::open(&m.source).map_err(|e| annotate(e, &m.source))?;
                b.append_data(&mut h, &m.path, Exact::new(f, *size, &m.source))?;
            }
        }
    }
    b.into_inner()?.flush()
}

/// The stream's length for `members`, for the progress bar (long names as the `tar` crate
/// writes them: an extra header and the name when it does not fit in 100 bytes).
pub fn stream_size(members: &[Entry]) -> u64 {
    let long = |n: usize| {
        if n >= 100 {
            512 + blocks(n as u64 + 1)
        } else {
            0
        }
    };
    let each: u64 = members
        .iter()
        .map(|m| {
            let name = long(m.path.as_os_str().len());
            match &m.kind {
                Kind::Dir => 512 + name,
                Kind::Symlink { target } => 512 + name + long(target.as_os_str().len()),
                Kind::File { size } => 512 + name + blocks(*size),
            }
        })
        .sum();
    each + 1024
}

/// `n` rounded up to tar's 512-byte blocks.
fn blocks(n: u64) -> u64 {
    n.div_ceil(512) * 512
}

/// `p` as an absolute path without `.`, `..`, doubled or trailing slashes.
fn absolute(p: &str) -> Result<String> {
    let path = Path::new(p);
    let mut c = path.components();
    if c.next() != Some(Component::RootDir) || !c.all(|c| matches!(c, Component::Normal(_))) {
        bail!("{p:?}: not a plain absolute path");
    }
    Ok(path.components().collect::<PathBuf>().display().to_string())
}

fn mib(n: u64) -> String {
    format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64)
}

fn annotate(e: std::io::Error, p: &Path) -> std::io::Error {
    std::io::Error::new(e.kind(), format!("reading {}: {e}", p.display()))
}

/// Counts what passes and tells `on` the running total.
struct Counting<W, F> {
    inner: W,
    count: u64,
    on: F,
}

impl<W, F: FnMut(u64)> Counting<W, F> {
    fn new(inner: W, on: F) -> Self {
        Counting {
            inner,
            count: 0,
            on,
        }
    }
}

impl<W: Write, F: FnMut(u64)> Write for Counting<W, F> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count += n as u64;
        (self.on)(self.count);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A file read to exactly the size its header announced: one that shrank since it was
/// listed is an error, not a corrupt stream; one that grew is cut at the listed size.
struct Exact<'a> {
    inner: std::io::Take<std::fs::File>,
    left: u64,
    path: &'a Path,
}

impl<'a> Exact<'a> {
    fn new(f: std::fs::File, size: u64, path: &'a Path) -> Self {
        Exact {
            inner: f.take(size),
            left: size,
            path,
        }
    }
}

impl Read for Exact<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && self.left > 0 && !buf.is_empty() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("{} shrank while it was being sent", self.path.display()),
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests;
