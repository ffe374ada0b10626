//! Installing over SSH: the laptop's one master connection ([`ssh`]), what it
//! asks the target ([`protocol`]), the flake it copies there ([`stage`]), and the target's
//! side ([`agent`], [`journal`]).

pub mod agent;
pub mod journal;
pub mod protocol;
pub mod ssh;
pub mod stage;
