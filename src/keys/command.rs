//! `nasstrap keys …`: the subcommands, their output and exit codes. The work
//! is [`super::create`] and [`super::check`].

use super::{Checked, RulesUsed, Verdict};
use crate::cli::{EXIT_FAILURE, EXIT_OK};
use crate::layout::diag::escape as shown;
use clap::Subcommand;
use std::path::PathBuf;

/// The key lifecycle of a new machine: its host key, and proof that the key
/// decrypts the agenix secrets meant for it.
#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Generate an ed25519 SSH host key pair (FILE 0600, FILE.pub 0644) and
    /// print the recipient line for agenix's secrets.nix.
    Create {
        /// Where to write the private key (never overwritten).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// The key's comment (e.g. the machine's name).
        #[arg(long, value_name = "TEXT", default_value = "")]
        comment: String,
    },
    /// Check that an identity decrypts every .age file under DIR meant for it
    /// (per DIR/secrets.nix when Nix can evaluate it); exit 1 naming each failure.
    Check {
        /// An OpenSSH private key, or an age key file (AGE-SECRET-KEY-1…).
        #[arg(long, value_name = "FILE")]
        identity: PathBuf,
        /// The secrets directory (agenix's, with secrets.nix and *.age files).
        #[arg(long, value_name = "DIR")]
        secrets: PathBuf,
    },
}

/// Run a `keys` subcommand; returns the exit code.
pub fn run(cmd: KeysCommand) -> anyhow::Result<i32> {
    match cmd {
        KeysCommand::Create { out, comment } => {
            let c = super::create(&out, &comment)?;
            eprintln!(
                "wrote {} (0600) and {} (0644), {}",
                shown(&c.private.display().to_string()),
                shown(&c.public.display().to_string()),
                c.fingerprint
            );
            eprintln!(
                "add this recipient to secrets.nix, list it in the publicKeys of the \
                 machine's secrets, then run `agenix -r`:"
            );
            println!("{}", shown(&c.recipient));
            Ok(EXIT_OK)
        }
        KeysCommand::Check { identity, secrets } => {
            let checked = super::check(&identity, &secrets)?;
            print_checked(&checked);
            Ok(if checked.passed() {
                EXIT_OK
            } else {
                EXIT_FAILURE
            })
        }
    }
}

fn print_checked(c: &Checked) {
    println!("identity: {}", shown(&c.recipient));
    for f in &c.files {
        println!("{f}");
    }
    let unknown = |v: &Verdict| matches!(v, Verdict::NotEncryptedToIt { .. });
    let skipped = c.files.iter().filter(|f| unknown(&f.verdict)).count();
    match c.rules {
        RulesUsed::Evaluated => {}
        RulesUsed::NoNix if skipped > 0 => eprintln!(
            "note: no nix-instantiate to evaluate secrets.nix: the {skipped} file(s) not \
             encrypted to this identity are taken as meant for others"
        ),
        RulesUsed::Absent | RulesUsed::NoNix => {}
    }
    let failed: Vec<String> = c
        .failures()
        .map(|f| shown(&f.file.display().to_string()).into_owned())
        .collect();
    if !failed.is_empty() {
        eprintln!(
            "error: {} file(s) meant for this identity do not decrypt: {}",
            failed.len(),
            failed.join(", ")
        );
    } else if c.decrypts_nothing() {
        eprintln!(
            "error: this identity decrypts none of the {} .age file(s): add its recipient \
             to secrets.nix and run `agenix -r`",
            c.files.len()
        );
    }
}
