//! nasstrap: a declarative disk layout (disko's vocabulary, in YAML) → a plan of
//! actions → applied locally on the box, or driven over SSH from a laptop.
//!
//! `layout` (spec) and `probe` (observed state) feed `plan` (desired × observed
//! → ordered actions), all pure code; only `exec` runs things.

pub mod bootcheck;
pub mod cli;
pub mod exec;
pub mod flow;
pub mod keys;
pub mod layout;
pub mod nixos;
pub mod plan;
pub mod probe;
pub mod progress;
pub mod prompt;
pub mod remote;
pub mod report;
