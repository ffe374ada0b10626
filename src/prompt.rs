//! The CLI's `Prompter`: questions on the terminal (stderr), answers from
//! stdin, passphrases read without echo. Only the CLI uses it; library flows
//! ask through the `Prompter` trait.

use crate::exec::guard::Prompter;
use crate::exec::secret::Secret;
use crate::layout::diag::escape_lines as shown;
use std::io::{BufRead, IsTerminal, Write};

/// Asks on the terminal when stdin and stderr are one; otherwise nobody answers.
pub struct Terminal {
    interactive: bool,
}

impl Terminal {
    /// A prompter for this process's terminal, if it has one.
    pub fn new() -> Terminal {
        Terminal {
            interactive: std::io::stdin().is_terminal() && std::io::stderr().is_terminal(),
        }
    }
}

impl Default for Terminal {
    fn default() -> Self {
        Terminal::new()
    }
}

fn read_line() -> Option<String> {
    let mut line = String::new();
    match std::io::stdin().lock().read_line(&mut line) {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(line),
    }
}

impl Prompter for Terminal {
    fn interactive(&self) -> bool {
        self.interactive
    }

    fn show(&self, text: &str) {
        eprintln!("{}", shown(text));
    }

    fn ask(&self, prompt: &str) -> Option<String> {
        if !self.interactive {
            return None;
        }
        eprint!("{}", shown(prompt));
        let _ = std::io::stderr().flush();
        read_line()
    }

    fn ask_secret(&self, prompt: &str) -> Option<Secret> {
        if !self.interactive {
            return None;
        }
        // Echo goes off before the prompt shows: an answer typed as soon as
        // it appears must not be flushed by the terminal change.
        let line = without_echo(|| {
            eprint!("{}", shown(prompt));
            let _ = std::io::stderr().flush();
            read_line()
        });
        eprintln!();
        let mut bytes = line?.into_bytes();
        while bytes.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            bytes.pop();
        }
        Some(Secret::new(bytes))
    }
}

/// Run `f` with the terminal's echo off, restoring it afterwards.
#[cfg(target_os = "linux")]
fn without_echo<T>(f: impl FnOnce() -> T) -> T {
    use nix::sys::termios::{LocalFlags, SetArg, tcgetattr, tcsetattr};
    let stdin = std::io::stdin();
    let Ok(saved) = tcgetattr(&stdin) else {
        return f();
    };
    let mut quiet = saved.clone();
    quiet.local_flags.remove(LocalFlags::ECHO);
    let _ = tcsetattr(&stdin, SetArg::TCSAFLUSH, &quiet);
    let out = f();
    let _ = tcsetattr(&stdin, SetArg::TCSAFLUSH, &saved);
    out
}

#[cfg(not(target_os = "linux"))]
fn without_echo<T>(f: impl FnOnce() -> T) -> T {
    f()
}
