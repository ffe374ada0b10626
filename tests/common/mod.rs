//! Helpers shared by integration tests: each test binary that needs them declares `mod common;`.
//!
//! Every test binary compiles this whole module but uses only part of it, so unused items are
//! expected here and not worth a warning in each binary (nor are its unused re-exports).
#![allow(dead_code, unused_imports)]

pub mod flake;
pub mod gitserver;
pub mod layout;
pub mod loopdev;
pub mod qemu;
pub mod rescue;
pub mod skip;
pub mod sshd;
