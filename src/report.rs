//! Progress reporting. Library code calls a `Reporter`; only the CLI knows
//! indicatif. `--events json` prints the same events as JSON lines, which is
//! what the laptop reads back when the binary runs on the target over SSH.
//! Every line carries the schema version ([`SCHEMA`]): a laptop and a target of
//! different versions notice instead of misreading each other.

use serde::{Deserialize, Serialize};

/// Version of the JSON-lines event format. Bump on any incompatible change.
pub const SCHEMA: u32 = 1;

/// One JSON line: the schema version and the event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Line {
    /// [`SCHEMA`] of the writer.
    pub schema: u32,
    /// What happened.
    #[serde(flatten)]
    pub event: Event,
}

impl Line {
    /// The line for `e`, in this build's schema.
    pub fn of(e: &Event) -> Line {
        Line {
            schema: SCHEMA,
            event: e.clone(),
        }
    }
}

/// One thing that happened during a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A run of `total` steps begins.
    Start { total: u32 },
    /// Step `id` started.
    StepStarted { id: u32, description: String },
    /// Progress within a step (md resync, large writes), 0–100.
    Progress {
        id: u32,
        percent: f32,
        message: String,
    },
    /// Step `id` finished.
    StepDone { id: u32, seconds: f64 },
    /// Step `id` failed; the run stops.
    StepFailed { id: u32, error: String },
    /// A note for the user.
    Note { message: String },
    /// The run is over.
    Finish {
        ok: bool,
        steps_run: u32,
        seconds: f64,
    },
    /// An install phase (`connect`, `preflight`, `disks`…) begins.
    Phase { phase: String },
    /// An install phase ended well.
    PhaseDone { phase: String, seconds: f64 },
    /// Waiting for something outside our control (a SATA link, an earlier run).
    Waiting { message: String },
    /// The plan as diffed against the disks, with the fingerprint of the state it
    /// was computed from: what the user is shown and asked to consent to.
    Planned {
        plan: Box<crate::plan::Plan>,
        basis: String,
    },
    /// The plan destroys data on these layout disks (name → device, model,
    /// serial, size) and the command line did not allow it: the user is asked.
    ConsentAsked {
        disks: std::collections::BTreeMap<String, String>,
    },
    /// Destruction on these layout disks was allowed (`--allow-destroy`) or confirmed.
    Consented { disks: Vec<String> },
    /// The disks already match the layout; nothing ran.
    NoChanges,
    /// A line of a long-running tool's output (`nix`, `nixos-install`).
    Log { line: String },
    /// One rule of a check (the boot check): `ok`, `warning` or `problem`, and why.
    Check {
        rule: String,
        verdict: String,
        message: String,
    },
    /// The target's probe: what is on its disks (the laptop diffs it).
    Observed {
        observed: Box<crate::probe::Observed>,
        /// What an earlier run on this target left in its journal, oldest first.
        journal: Vec<String>,
    },
    /// A flow stopped without finishing; `kind` says why in one word
    /// (`refused`, `changed`, `preflight`, `denied`, `interrupted`, `layout`, `failed`…).
    Stopped {
        kind: crate::flow::StopKind,
        message: String,
    },
}

/// Receives events; implementations decide how to show them.
pub trait Reporter: Send + Sync {
    /// Handle one event.
    fn event(&self, e: &Event);
    /// The user asked to stop (Ctrl-C on the laptop): the runner starts no new
    /// step, lets running ones finish, and stops with [`Interrupted`].
    fn stop_requested(&self) -> bool {
        false
    }
}

/// A run stopped between steps because it was asked to.
#[derive(Debug, thiserror::Error)]
#[error("stopped on request after {done} of {total} steps; running the same command again resumes")]
pub struct Interrupted {
    /// Steps finished.
    pub done: u32,
    /// Steps the run had.
    pub total: u32,
}

/// Prints nothing (tests, `--quiet`).
pub struct Silent;

impl Reporter for Silent {
    fn event(&self, _: &Event) {}
}

/// JSON lines on stdout, one event a line, flushed each time (`--events json`).
pub struct JsonLines;

impl Reporter for JsonLines {
    fn event(&self, e: &Event) {
        use std::io::Write;
        let line = serde_json::to_string(&Line::of(e)).expect("events serialize");
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
}

/// Collects events in memory (tests).
#[derive(Default)]
pub struct Recorder(pub std::sync::Mutex<Vec<Event>>);

impl Reporter for Recorder {
    fn event(&self, e: &Event) {
        self.0.lock().expect("not poisoned").push(e.clone());
    }
}
