//! The target's journal of install runs (in RAM, under [`STATE_DIR`]): every
//! event a run sends is also appended here, so that a laptop that lost its
//! connection, or was killed, learns on the next run how far the last one got.
//! Resuming itself needs no journal: apply compares the layout with the disks
//! and runs only what is missing. The journal is what lets it say so.

use super::protocol::STATE_DIR;
use crate::report::{Event, Line};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;

/// The journal file.
pub fn path() -> PathBuf {
    PathBuf::from(STATE_DIR).join("journal.jsonl")
}

/// Appends events; a journal that cannot be written must not stop an install.
pub struct Journal(Option<File>);

impl Journal {
    /// Opens the journal and marks the start of a run.
    pub fn begin(run: &str) -> Journal {
        let _ = std::fs::create_dir_all(STATE_DIR);
        let f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path())
            .ok();
        let mut j = Journal(f);
        j.record(&Event::Phase {
            phase: run.to_string(),
        });
        j
    }

    /// Appends one event.
    pub fn record(&mut self, e: &Event) {
        if let Some(f) = &mut self.0 {
            let line = serde_json::to_string(&Line::of(e)).expect("events serialize");
            let _ = writeln!(f, "{line}");
        }
    }
}

/// What the last apply in `text` (the journal's lines) did, for people: empty
/// when there was none or it finished well.
pub fn last_run(text: &str) -> Vec<String> {
    let events: Vec<Event> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Line>(l).ok())
        .map(|l| l.event)
        .collect();
    let Some(start) = events
        .iter()
        .rposition(|e| matches!(e, Event::Phase { phase } if phase == "apply"))
    else {
        return Vec::new();
    };
    let run = &events[start + 1..];
    let mut total = 0;
    let mut done = 0;
    let mut last: Option<&str> = None;
    let mut started: Vec<(u32, &str)> = Vec::new();
    for e in run {
        match e {
            Event::Start { total: t } => total = *t,
            Event::StepStarted { id, description } => started.push((*id, description)),
            Event::StepDone { id, .. } => {
                done += 1;
                last = started.iter().find(|(i, _)| i == id).map(|(_, d)| *d);
            }
            Event::Finish { ok: true, .. } | Event::NoChanges => return Vec::new(),
            _ => {}
        }
    }
    let mut out = Vec::new();
    match run.iter().rev().find_map(|e| match e {
        Event::Stopped { message, .. } => Some(message.as_str()),
        Event::StepFailed { error, .. } => Some(error.as_str()),
        _ => None,
    }) {
        Some(why) => out.push(format!(
            "an earlier apply on this target ran {done} of {total} steps and stopped: {why}"
        )),
        None => out.push(format!(
            "an earlier apply on this target ran {done} of {total} steps and then lost its laptop"
        )),
    }
    if let Some(d) = last {
        out.push(format!("its last finished step: {d}"));
    }
    out
}

/// The last run's summary from the journal on this machine.
pub fn read_last_run() -> Vec<String> {
    std::fs::read_to_string(path())
        .map(|t| last_run(&t))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(events: &[Event]) -> String {
        events
            .iter()
            .map(|e| serde_json::to_string(&Line::of(e)).unwrap() + "\n")
            .collect()
    }

    #[test]
    fn a_finished_run_leaves_nothing_to_say() {
        let t = text(&[
            Event::Phase {
                phase: "apply".into(),
            },
            Event::Start { total: 1 },
            Event::StepStarted {
                id: 1,
                description: "mkfs".into(),
            },
            Event::StepDone {
                id: 1,
                seconds: 1.0,
            },
            Event::Finish {
                ok: true,
                steps_run: 1,
                seconds: 1.0,
            },
        ]);
        assert!(last_run(&t).is_empty());
        assert!(last_run("").is_empty());
    }

    #[test]
    fn a_cut_run_says_how_far_it_got() {
        let t = text(&[
            Event::Phase {
                phase: "apply".into(),
            },
            Event::Start { total: 3 },
            Event::StepStarted {
                id: 4,
                description: "write GPT on bay1".into(),
            },
            Event::StepDone {
                id: 4,
                seconds: 1.0,
            },
            Event::StepStarted {
                id: 5,
                description: "mkfs.ext4 /dev/md/tank".into(),
            },
        ]);
        let said = last_run(&t);
        assert_eq!(
            said[0],
            "an earlier apply on this target ran 1 of 3 steps and then lost its laptop"
        );
        assert_eq!(said[1], "its last finished step: write GPT on bay1");
    }
}
