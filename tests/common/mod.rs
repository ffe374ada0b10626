//! Helpers shared by integration tests: each test binary that needs them declares `mod common;`.
//!
//! Every test binary compiles this whole module but uses only part of it, so unused items are
//! expected here and not worth a warning in each binary.
#![allow(dead_code)]

pub mod qemu;
