//! The only module that runs things. `Cmd` is one external command with a
//! human description; its errors carry the command line and the tail of its
//! stderr. Every process spawned is counted, so tests and benchmarks can check
//! that a plan of P steps spawns about P processes.

pub mod apply;
pub mod collect;
pub mod gptwrite;
pub mod guard;
pub mod lock;
pub mod preflight;
pub mod rebuild;
pub mod secret;
pub mod shell;

use anyhow::{Context, Result, bail};
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

static SPAWNED: AtomicUsize = AtomicUsize::new(0);

/// How many processes this process has spawned so far.
pub fn spawned() -> usize {
    SPAWNED.load(Ordering::Relaxed)
}

/// One external command.
#[derive(Debug, Clone)]
pub struct Cmd {
    /// What it does, for people ("make ext4 on /dev/sda1").
    pub description: String,
    /// `argv[0]`.
    pub program: String,
    /// The rest of argv. Never a secret: secrets go on stdin.
    pub args: Vec<String>,
    /// Bytes fed to stdin (e.g. a passphrase), never logged.
    pub stdin: Option<Vec<u8>>,
}

/// What a command printed, and how it ended.
#[derive(Debug, Clone)]
pub struct Output {
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// How it ended.
    pub exit: Exit,
}

/// How a process ended: tools give meaning to their exit codes (blkid: 2
/// nothing found, 8 ambivalent), so the code is kept, not just success.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// It exited with this code.
    Code(i32),
    /// A signal killed it.
    Signal(i32),
}

impl Exit {
    /// Exit code 0.
    pub fn success(self) -> bool {
        self == Exit::Code(0)
    }
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exit::Code(c) => write!(f, "exit status {c}"),
            Exit::Signal(s) => write!(f, "killed by signal {s}"),
        }
    }
}

impl Cmd {
    /// A command from an argv and a description.
    pub fn new(description: impl Into<String>, argv: &[String]) -> Cmd {
        Cmd {
            description: description.into(),
            program: argv[0].clone(),
            args: argv[1..].to_vec(),
            stdin: None,
        }
    }

    /// A command from string literals.
    pub fn of(description: impl Into<String>, argv: &[&str]) -> Cmd {
        let v: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
        Cmd::new(description, &v)
    }

    /// The command line as a shell would show it.
    pub fn line(&self) -> String {
        std::iter::once(self.program.as_str())
            .chain(self.args.iter().map(String::as_str))
            .map(crate::plan::script::quote)
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Run it; a non-zero exit is an error naming the command and its stderr tail.
    pub fn run(&self) -> Result<Output> {
        let out = self.output()?;
        if !out.exit.success() {
            bail!(
                "{} failed: `{}`\n{}",
                self.description,
                self.line(),
                tail(&out.stderr)
            );
        }
        Ok(out)
    }

    /// Run it and return what it printed and how it ended, whatever that was.
    /// Only failing to start or to wait for it is an error.
    pub fn output(&self) -> Result<Output> {
        SPAWNED.fetch_add(1, Ordering::Relaxed);
        tracing_debug(&self.line());
        let mut c = Command::new(&self.program);
        c.args(&self.args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env("LC_ALL", "C")
            // util-linux tools take a BSD lock on the device when this says so;
            // apply holds that lock on disks it rewrites (exec::lock), and a
            // tool waiting for it would wait for us.
            .env_remove("LOCK_BLOCK_DEVICE");
        c.stdin(if self.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        let mut child = c
            .spawn()
            .with_context(|| format!("{}: starting `{}`", self.description, self.program))?;
        if let Some(input) = &self.stdin {
            let mut si = child.stdin.take().expect("piped");
            si.write_all(input)
                .with_context(|| format!("{}: writing stdin", self.description))?;
        }
        let out = child
            .wait_with_output()
            .with_context(|| format!("{}: waiting for `{}`", self.description, self.program))?;
        use std::os::unix::process::ExitStatusExt;
        let exit = match (out.status.code(), out.status.signal()) {
            (Some(c), _) => Exit::Code(c),
            (None, Some(s)) => Exit::Signal(s),
            // Neither: only for stopped/continued children, which wait never returns.
            (None, None) => Exit::Code(-1),
        };
        Ok(Output {
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            exit,
        })
    }
}

fn tracing_debug(line: &str) {
    if std::env::var_os("NASSTRAP_TRACE").is_some() {
        eprintln!("exec: {line}");
    }
}

/// The last lines of a tool's stderr, enough to see why it failed.
pub fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(8);
    lines[start..]
        .iter()
        .map(|l| format!("  | {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_carry_the_command_and_stderr() {
        let e = Cmd::of("listing a missing dir", &["ls", "/nonexistent-nasstrap"])
            .run()
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(
                "listing a missing dir failed: `ls /nonexistent-nasstrap`\n  | ls: cannot access"
            ),
            "{e}"
        );
    }

    #[test]
    fn output_keeps_the_exit_code_and_the_signal() {
        let out = Cmd::of("exiting 2", &["sh", "-c", "echo oops >&2; exit 2"])
            .output()
            .unwrap();
        assert_eq!((out.exit, out.stderr.as_str()), (Exit::Code(2), "oops\n"));
        let out = Cmd::of("killing itself", &["sh", "-c", "kill -9 $$"])
            .output()
            .unwrap();
        assert_eq!(out.exit, Exit::Signal(9));
        assert_eq!(out.exit.to_string(), "killed by signal 9");
    }

    #[test]
    fn stdin_is_fed_and_counted() {
        let before = spawned();
        let mut c = Cmd::of("cat", &["cat"]);
        c.stdin = Some(b"secret".to_vec());
        assert_eq!(c.run().unwrap().stdout, "secret");
        assert!(spawned() > before);
    }
}
