//! The CLI's `Reporter`: on a terminal, indicatif bars — the run's steps, one
//! bar per disk the plan writes, one per array resyncing — and plain lines
//! otherwise (logs and CI see those).

use crate::layout::diag::escape_lines as shown;
use crate::plan::{Change, Plan};
use crate::report::{Event, Reporter};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::{BTreeMap, HashMap};
use std::io::IsTerminal;
use std::sync::Mutex;

/// Progress bars for apply.
pub struct Bars {
    multi: MultiProgress,
    bar: ProgressBar,
    /// Layout disk → its bar (steps that write to it).
    disks: BTreeMap<String, ProgressBar>,
    /// Step id → the layout disks it writes to.
    step_disks: HashMap<u32, Vec<String>>,
    /// Step id of an array's creation → its resync bar, made on first progress.
    resync: Mutex<HashMap<u32, ProgressBar>>,
    plain: bool,
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .expect("valid template")
        .progress_chars("=> ")
}

impl Bars {
    /// No bar: plain lines only (before a run's length is known).
    pub fn plain() -> Bars {
        Bars::make(0, None, true)
    }

    /// A bar of `n` steps.
    pub fn with_len(n: u64) -> Bars {
        Bars::for_run(n, None)
    }

    /// A bar of `n` steps and, when the plan is known, one per disk it writes.
    pub fn for_run(n: u64, plan: Option<&Plan>) -> Bars {
        let plain =
            !std::io::stderr().is_terminal() || std::env::var_os("NASSTRAP_NO_PROGRESS").is_some();
        Bars::make(n, plan, plain)
    }

    fn make(n: u64, plan: Option<&Plan>, plain: bool) -> Bars {
        let multi = if plain {
            MultiProgress::with_draw_target(ProgressDrawTarget::hidden())
        } else {
            MultiProgress::new()
        };
        let bar = multi.add(ProgressBar::new(n));
        bar.set_style(style("{spinner} [{bar:30}] {pos}/{len} {msg}"));
        let mut disks = BTreeMap::new();
        let mut step_disks = HashMap::new();
        if let Some(plan) = plan {
            let mut count: BTreeMap<&str, u64> = BTreeMap::new();
            for s in plan.steps.iter().filter(|s| s.change != Change::Keep) {
                for d in &s.disks {
                    *count.entry(d).or_default() += 1;
                }
                step_disks.insert(s.id, s.disks.clone());
            }
            // Only worth a bar each when the run spans several disks.
            if count.len() > 1 {
                for (d, n) in count {
                    let b = multi.add(ProgressBar::new(n));
                    b.set_style(style("  {prefix:8} [{bar:20}] {pos}/{len}"));
                    b.set_prefix(d.to_string());
                    disks.insert(d.to_string(), b);
                }
            }
        }
        Bars {
            multi,
            bar,
            disks,
            step_disks,
            resync: Mutex::new(HashMap::new()),
            plain,
        }
    }

    /// A line above the bars (or alone, without a terminal).
    fn line(&self, text: &str) {
        if self.plain {
            eprintln!("{text}");
        } else {
            self.multi.suspend(|| eprintln!("{text}"));
        }
    }

    fn finish(&self) {
        for b in self.disks.values() {
            b.finish_and_clear();
        }
        if let Ok(r) = self.resync.lock() {
            // A resync goes on after the run: leave its last state on screen.
            for b in r.values() {
                b.abandon();
            }
        }
    }

    fn progress(&self, id: u32, percent: f32, message: &str) {
        let Ok(mut r) = self.resync.lock() else {
            return;
        };
        if self.plain {
            // Without a terminal: a line per tenth, and the last one.
            let now = percent.clamp(0.0, 100.0) as u64;
            let last = r.get(&id).map(ProgressBar::position);
            if last.is_none_or(|l| l / 10 != now / 10) {
                eprintln!("  {}: {percent:.1}%", shown(message));
            }
            r.entry(id)
                .or_insert_with(|| {
                    ProgressBar::with_draw_target(Some(100), ProgressDrawTarget::hidden())
                })
                .set_position(now);
            return;
        }
        let b = r.entry(id).or_insert_with(|| {
            let b = self.multi.add(ProgressBar::new(100));
            b.set_style(style("  {msg:20} [{bar:20}] {pos}%"));
            b
        });
        b.set_message(shown(message).into_owned());
        b.set_position(percent.clamp(0.0, 100.0) as u64);
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
                id,
                percent,
                message,
            } => self.progress(*id, *percent, message),
            Event::StepDone { id, .. } => {
                self.bar.inc(1);
                for d in self.step_disks.get(id).into_iter().flatten() {
                    if let Some(b) = self.disks.get(d) {
                        b.inc(1);
                    }
                }
            }
            Event::StepFailed { id, error } => {
                self.bar.abandon();
                self.line(&format!("step {id} failed: {}", shown(error)));
            }
            Event::Note { message } => self.line(&shown(message)),
            Event::Finish {
                ok,
                steps_run,
                seconds,
            } => {
                self.bar.finish_and_clear();
                self.finish();
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
            Event::Log { line } => self.line(&format!("  {}", shown(line))),
            Event::Check {
                rule,
                verdict,
                message,
            } => self.line(&format!("{verdict:7} {rule}: {}", shown(message))),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Plan {
        let yaml = include_str!("../layouts/helios64.yaml");
        let loaded = crate::layout::load_str("helios64.yaml", yaml, &Vec::new()).unwrap();
        let opts = crate::plan::Options {
            layout_file: "helios64.yaml".into(),
            seed: String::new(),
            mount_root: "/mnt".into(),
            facts: HashMap::new(),
            firmware: false,
            ignore_expect: false,
        };
        crate::plan::build(&loaded, &opts).unwrap()
    }

    #[test]
    fn each_disk_gets_a_bar_counting_the_steps_that_write_it() {
        let p = plan();
        let bars = Bars::make(p.steps.len() as u64, Some(&p), true);
        assert_eq!(
            bars.disks.keys().collect::<Vec<_>>(),
            ["bay1", "bay2", "bay3", "bay4", "bay5", "emmc"]
        );
        let md = p
            .steps
            .iter()
            .find(|s| matches!(s.action, crate::plan::Action::MdCreate { .. }))
            .unwrap();
        let before = bars.disks["bay3"].position();
        bars.event(&Event::StepDone {
            id: md.id,
            seconds: 1.0,
        });
        assert_eq!(bars.disks["bay3"].position(), before + 1);
        bars.event(&Event::Progress {
            id: md.id,
            percent: 42.5,
            message: "array tank: resync".into(),
        });
        assert_eq!(bars.resync.lock().unwrap()[&md.id].position(), 42);
    }
}
