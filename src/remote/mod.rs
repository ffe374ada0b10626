//! Driving the target from the laptop: one ssh master connection per run.

pub mod ssh;
