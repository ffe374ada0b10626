//! Progress reporting. Library code calls a `Reporter`; only the CLI knows
//! indicatif. `--events json` prints the same events as JSON lines, which is
//! what the laptop reads back when the binary runs on the target over SSH.

use serde::{Deserialize, Serialize};

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
}

/// Receives events; implementations decide how to show them.
pub trait Reporter: Send + Sync {
    /// Handle one event.
    fn event(&self, e: &Event);
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
        let line = serde_json::to_string(e).expect("events serialize");
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
