//! The CLI's `Reporter`: an indicatif bar over the steps on a terminal, plain
//! lines otherwise (indicatif hides itself when stderr is not a terminal, so
//! the plain lines are what logs and CI see).

use crate::layout::diag::escape_lines as shown;
use crate::plan::Plan;
use crate::report::{Event, Reporter};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

/// Progress bars for apply.
pub struct Bars {
    bar: ProgressBar,
    plain: bool,
}

impl Bars {
    /// A bar sized to the plan's steps that will run.
    pub fn new(plan: &Plan) -> Bars {
        let n = plan
            .steps
            .iter()
            .filter(|s| s.change != crate::plan::Change::Keep)
            .count() as u64;
        Bars::with_len(n)
    }

    /// No bar: plain lines only (before a run's length is known).
    pub fn plain() -> Bars {
        Bars {
            bar: ProgressBar::hidden(),
            plain: true,
        }
    }

    /// A bar of `n` steps.
    pub fn with_len(n: u64) -> Bars {
        let plain =
            !std::io::stderr().is_terminal() || std::env::var_os("NASSTRAP_NO_PROGRESS").is_some();
        let bar = if plain {
            ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::hidden())
        } else {
            ProgressBar::new(n)
        };
        bar.set_style(
            ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {msg}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        Bars { bar, plain }
    }
}

impl Bars {
    /// A line above the bar (or alone, without a terminal).
    fn line(&self, text: &str) {
        if self.plain {
            eprintln!("{text}");
        } else {
            self.bar.suspend(|| eprintln!("{text}"));
        }
    }
}

impl Reporter for Bars {
    fn event(&self, e: &Event) {
        match e {
            Event::StepStarted { id, description } => {
                if self.plain {
                    eprintln!("step {id}: {}", shown(description));
                }
                self.bar.set_message(shown(description).into_owned());
            }
            Event::Progress {
                percent, message, ..
            } => self
                .bar
                .set_message(format!("{} {percent:.0}%", shown(message))),
            Event::StepDone { .. } => self.bar.inc(1),
            Event::StepFailed { id, error } => {
                self.bar.abandon();
                eprintln!("step {id} failed: {}", shown(error));
            }
            Event::Note { message } => self.bar.suspend(|| eprintln!("{}", shown(message))),
            Event::Finish {
                ok,
                steps_run,
                seconds,
            } => {
                self.bar.finish_and_clear();
                if *ok {
                    eprintln!("done: {steps_run} steps in {seconds:.1}s");
                }
            }
            Event::Phase { phase } => self.line(&format!("{phase}…")),
            Event::PhaseDone { phase, seconds } => {
                self.line(&format!("{phase}: done in {seconds:.1}s"))
            }
            Event::Waiting { message } => self.line(&format!("waiting: {}", shown(message))),
            Event::Consented { disks } if !disks.is_empty() => {
                self.line(&format!("destruction allowed on: {}", disks.join(", ")))
            }
            Event::Stopped { message, .. } => self.line(&format!("stopped: {}", shown(message))),
            // Shown by the caller in its own form (the diff), or protocol data.
            Event::Start { .. }
            | Event::Planned { .. }
            | Event::Consented { .. }
            | Event::ConsentAsked { .. }
            | Event::NoChanges
            | Event::Observed { .. } => {}
        }
    }
}
