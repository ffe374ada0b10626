//! Installing over SSH: the laptop's connection, and the target's side of it.

pub mod agent;
pub mod ssh;
pub mod journal;
pub mod protocol;
