//! One skip rule for every test that needs more than the compiler: loop devices, root, named
//! tools, the emulated Helios64. A test names what it needs; when something is missing it
//! prints `SKIP: <what>` and returns early, unless this machine must run it (CI), where it
//! panics naming what is missing. So a CI run can never pass by skipping.
//!
//! ```ignore
//! mod common;
//! use common::skip::{self, Need};
//!
//! #[test]
//! fn formats() {
//!     if skip::skip(&[Need::Root, Need::LoopDevices, Need::Tools(&["mkfs.ext4"])]) { return; }
//!     // …
//! }
//! ```

use std::io::Write;
use std::path::Path;
use std::process::Command;

/// Something a test needs from the machine it runs on.
#[derive(Clone, Copy, Debug)]
pub enum Need {
    /// Running as root (effective uid 0).
    Root,
    /// The kernel's loop driver (`/dev/loop-control`).
    LoopDevices,
    /// Each of these programs, found in `PATH`.
    Tools(&'static [&'static str]),
    /// The emulated Helios64: QEMU, Debian's Rust cross toolchain and arm64 packages
    /// (what `.ci/setup` installs; see `qemu/README.md`).
    Qemu,
    /// A throw-away OpenSSH server: `sshd` (in `PATH` or `/usr/sbin`, package openssh-server)
    /// with `ssh` and `ssh-keygen` (openssh-client).
    Sshd,
}

/// What to do with a test, given what is missing and whether this machine must run it.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing is missing.
    Run,
    /// Something is missing and skipping is allowed: the `SKIP:` line to print.
    Skip(String),
    /// Something is missing but this machine must run the test: the panic message.
    Fail(String),
}

/// The rule itself, apart from the environment: `missing` lists what is absent, and
/// `required_by` names why skipping is not allowed (e.g. `CI=true`), if it is not.
pub fn verdict(missing: &[String], required_by: Option<&str>) -> Verdict {
    if missing.is_empty() {
        return Verdict::Run;
    }
    let what = missing.join("; ");
    match required_by {
        Some(why) => Verdict::Fail(format!(
            "this test may not skip here ({why}), but it cannot run: {what}"
        )),
        None => Verdict::Skip(format!("SKIP: {what}")),
    }
}

/// Why tests must run rather than skip, read through `var` (the environment, in [`skip`]):
/// `CI` set to anything but empty, `0` or `false` (CI services set `CI=true`), or
/// `NASSTRAP_REQUIRE=1` (`NASSTRAP_REQUIRE_QEMU=1`, its older name, still counts).
pub fn required_by(var: impl Fn(&str) -> Option<String>) -> Option<String> {
    if let Some(ci) = var("CI")
        && !matches!(ci.to_ascii_lowercase().as_str(), "" | "0" | "false")
    {
        return Some(format!("CI={ci}"));
    }
    ["NASSTRAP_REQUIRE", "NASSTRAP_REQUIRE_QEMU"]
        .into_iter()
        .find(|v| var(v).as_deref() == Some("1"))
        .map(|v| format!("{v}=1"))
}

/// [`required_by`] of this process's environment.
pub fn required() -> Option<String> {
    required_by(|v| std::env::var(v).ok())
}

/// Everything in `needs` that this machine lacks, one phrase each, in the order asked.
pub fn missing(needs: &[Need]) -> Vec<String> {
    let mut out = Vec::new();
    for need in needs {
        match need {
            Need::Root if !nix::unistd::geteuid().is_root() => out.push("not root".into()),
            Need::LoopDevices if !Path::new("/dev/loop-control").exists() => {
                out.push("no /dev/loop-control".into());
            }
            Need::Tools(tools) => {
                let absent: Vec<&str> = tools.iter().copied().filter(|t| !in_path(t)).collect();
                if !absent.is_empty() {
                    out.push(format!("not in PATH: {}", absent.join(" ")));
                }
            }
            Need::Qemu => {
                if let Err(why) = qemu_available() {
                    out.push(why);
                }
            }
            Need::Sshd => {
                if sshd_path().is_none() {
                    out.push("no sshd in PATH or /usr/sbin (openssh-server)".into());
                }
                let absent: Vec<&str> = ["ssh", "ssh-keygen"]
                    .into_iter()
                    .filter(|t| !in_path(t))
                    .collect();
                if !absent.is_empty() {
                    out.push(format!("not in PATH: {}", absent.join(" ")));
                }
            }
            _ => {}
        }
    }
    out
}

/// The skip rule: true (after printing `SKIP: <what is missing>`) when the test should
/// return early; panics instead when this machine must run it ([`required`]).
pub fn skip(needs: &[Need]) -> bool {
    match verdict(&missing(needs), required().as_deref()) {
        Verdict::Run => false,
        Verdict::Fail(msg) => panic!("{msg}"),
        Verdict::Skip(line) => {
            // Straight to stderr, past libtest's capture: a skip must show even when passing.
            let _ = std::io::stderr().write_all(format!("{line}\n").as_bytes());
            true
        }
    }
}

/// Whether `tool` is an executable file in one of `PATH`'s directories.
pub fn in_path(tool: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).any(|d| d.join(tool).is_file())
}

/// Where `sshd` is: in `PATH`, else Debian's `/usr/sbin` (not in a user's `PATH`). sshd
/// re-executes itself, so the path is absolute.
pub fn sshd_path() -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([std::path::PathBuf::from("/usr/sbin")])
        .map(|d| d.join("sshd"))
        .find(|p| p.is_absolute() && p.is_file())
}

/// Whether the host has what the emulated board needs; `Err` names the first thing missing.
pub fn qemu_available() -> Result<(), String> {
    let tools = "qemu-system-aarch64 aarch64-linux-gnu-gcc ssh ssh-keygen cpio dpkg-deb apt-get";
    if let Some(t) = tools.split(' ').find(|t| !in_path(t)) {
        return Err(format!("{t} not found in PATH"));
    }
    // Debian's toolchain: rustup's cannot build for aarch64 here (see build-guest-binary.sh).
    let files = [
        "/usr/bin/cargo",
        "/usr/bin/rustc",
        "/usr/lib/rustlib/aarch64-unknown-linux-gnu",
    ];
    if let Some(f) = files.iter().find(|f| !Path::new(f).exists()) {
        return Err(format!(
            "{f} missing (cargo-web, rustc-web, libstd-rust-web-dev:arm64)"
        ));
    }
    let arches = Command::new("dpkg")
        .arg("--print-foreign-architectures")
        .output();
    let arches = arches.map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
    match arches {
        Ok(a) if a.lines().any(|a| a == "arm64") => Ok(()),
        _ => Err("dpkg architecture arm64 not enabled".into()),
    }
}
