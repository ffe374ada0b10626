//! What the laptop asks the target's nasstrap (`nasstrap serve`), one request a
//! session: the request is the first line on stdin; events come back as JSON
//! lines ([`crate::report::Line`]). After the request, the laptop keeps stdin
//! open: a `stop` line, or end of input (the laptop died), asks a running apply
//! to stop between steps.

use crate::flow::Expected;
use serde::{Deserialize, Serialize};

/// Where the target keeps its binary, journal and lock: RAM on a rescue system,
/// so nothing of an install lands on a disk by accident.
pub const STATE_DIR: &str = "/run/nasstrap";
/// The uploaded binary on the target.
pub const TARGET_BINARY: &str = "/run/nasstrap/bin/nasstrap";
/// Where the git hosts' known_hosts lines live on the target, for the fetch
/// and install only (removed by `finish`).
pub const GIT_KNOWN_HOSTS: &str = "/run/nasstrap/git_known_hosts";
/// The line that asks a running apply to stop.
pub const STOP: &str = "stop";

/// One request.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "snake_case")]
pub enum Request {
    /// Wait for the disks, then send what is on them ([`crate::report::Event::Observed`]).
    Probe {
        /// The laptop's nasstrap version; the target refuses another one.
        version: String,
        /// Layout disk name and device path.
        disks: Vec<(String, String)>,
        /// How long to wait for a disk that is not there yet (SATA links come
        /// up one after another on the Helios64).
        wait_seconds: u64,
    },
    /// Apply what the laptop showed, if the disks are still as they were.
    Apply(Box<ApplyRequest>),
    /// Check that the installed system will boot from the plan's boot medium.
    BootCheck {
        /// The laptop's nasstrap version.
        version: String,
        /// The plan that was applied (boot medium, firmware regions, /boot).
        plan: Box<crate::plan::Plan>,
    },
    /// Unmount the layout, close LUKS, stop arrays; remove what the install
    /// left on the rescue system.
    Finish {
        /// The laptop's nasstrap version.
        version: String,
        /// The layout and its disks.
        spec: Spec,
    },
}

impl Request {
    /// The version of the laptop that sent it.
    pub fn version(&self) -> &str {
        match self {
            Request::Probe { version, .. }
            | Request::BootCheck { version, .. }
            | Request::Finish { version, .. } => version,
            Request::Apply(a) => &a.version,
        }
    }
}

/// The layout and its disks, as the target reads them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Spec {
    /// The layout file's name on the laptop (how the plan names it).
    pub layout_name: String,
    /// The layout file's text.
    pub layout_text: String,
    /// Layout disk name → device path on the target.
    pub disks: Vec<(String, String)>,
    /// `--ignore-expect`.
    pub ignore_expect: bool,
    /// Where filesystems are mounted.
    pub mount_root: String,
    /// `--firmware`.
    pub firmware: bool,
}

/// An apply of a plan the user saw.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApplyRequest {
    /// The laptop's nasstrap version; the target refuses another one.
    pub version: String,
    /// The layout and its disks.
    pub spec: Spec,
    /// The plan shown and the state it came from.
    pub expected: Expected,
    /// Layout disks the user allowed or confirmed destruction on.
    pub allow_destroy: Vec<String>,
    /// The user gave `--allow-hooks`: the plan's hooks may run.
    #[serde(default)]
    pub allow_hooks: bool,
}

/// This build's version, as both sides compare it.
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}
