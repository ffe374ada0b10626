//! The target's side of an install (`nasstrap serve`): one request from stdin,
//! events as JSON lines on stdout, each also kept in the [`journal`](super::journal).
//! Runs the same library flows as a local `apply`.

use super::journal::{self, Journal};
use super::protocol::{self, ApplyRequest, Request, STATE_DIR, STOP, Spec};
use crate::exec::guard::{Consent, NoPrompter};
use crate::flow::{self, Applied, Stop, Target};
use crate::report::{Event, Line, Reporter};
use std::io::{BufRead, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Reports to the laptop and the journal; remembers when the laptop asked to
/// stop, or went away (stdin closed, stdout broken).
struct Wire {
    stop: Arc<AtomicBool>,
    journal: Mutex<Journal>,
}

impl Reporter for Wire {
    fn event(&self, e: &Event) {
        // The probe's data is for the laptop; the journal keeps what happened.
        if !matches!(e, Event::Observed { .. })
            && let Ok(mut j) = self.journal.lock()
        {
            j.record(e);
        }
        let line = serde_json::to_string(&Line::of(e)).expect("events serialize");
        let mut out = std::io::stdout().lock();
        if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
            // Nobody reads any more: finish the step at hand and stop.
            self.stop.store(true, Ordering::SeqCst);
        }
    }
    fn stop_requested(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }
}

/// Serves one request read from `input`; returns the exit code.
pub fn serve(mut input: impl BufRead + Send + 'static) -> i32 {
    let mut first = String::new();
    let request = match input.read_line(&mut first) {
        Ok(_) => serde_json::from_str::<Request>(&first),
        Err(e) => {
            eprintln!("nasstrap serve: reading the request: {e}");
            return 2;
        }
    };
    let request = match request {
        Ok(r) => r,
        Err(e) => {
            eprintln!("nasstrap serve: not a request: {e}");
            return 2;
        }
    };
    // Another build misreads the plan: refuse before touching anything, the
    // journal included.
    let laptop = request.version();
    if laptop != protocol::version() {
        let stop = Stop::Version {
            laptop: laptop.to_string(),
            target: protocol::version(),
        };
        crate::report::JsonLines.event(&stop.event());
        return 1;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let watch = stop.clone();
    // A `stop` line or the end of input (the laptop's process is gone) both
    // ask to stop between steps.
    std::thread::spawn(move || {
        let mut line = String::new();
        loop {
            line.clear();
            match input.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) if line.trim() == STOP => break,
                Ok(_) => {}
            }
        }
        watch.store(true, Ordering::SeqCst);
    });
    let run = match &request {
        Request::Probe { .. } => "probe",
        Request::Apply(_) => "apply",
        Request::BootCheck { .. } => "boot-check",
        Request::Finish { .. } => "finish",
    };
    let wire = Wire {
        stop,
        journal: Mutex::new(Journal::begin(run)),
    };
    let result = match request {
        Request::Probe {
            disks,
            wait_seconds,
            ..
        } => probe(&disks, Duration::from_secs(wait_seconds), &wire),
        Request::Apply(a) => apply(*a, &wire),
        Request::BootCheck { plan, .. } => boot_check(&plan, &wire),
        Request::Finish { spec, .. } => finish(spec, &wire),
    };
    match result {
        Ok(()) => 0,
        Err(stop) => {
            wire.event(&stop.event());
            1
        }
    }
}

/// Only one run works on the disks at a time: a laptop killed mid-apply leaves
/// its run going until the step at hand is done, and the next run waits for it.
/// The lock goes with the returned file.
fn lock(wire: &Wire) -> Result<std::fs::File, Stop> {
    let path = Path::new(STATE_DIR).join("lock");
    let failed =
        |e: std::io::Error| Stop::Failed(anyhow::anyhow!("locking {}: {e}", path.display()));
    std::fs::create_dir_all(STATE_DIR).map_err(failed)?;
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(failed)?;
    match f.try_lock() {
        Ok(()) => return Ok(f),
        Err(std::fs::TryLockError::WouldBlock) => {}
        Err(std::fs::TryLockError::Error(e)) => return Err(failed(e)),
    }
    wire.event(&Event::Waiting {
        message: "an earlier run on this target is still going; it stops after the step at hand"
            .into(),
    });
    f.lock().map_err(failed)?;
    Ok(f)
}

/// Waits (bounded) for each disk to appear, saying which one it waits for,
/// then sends what is on them.
fn probe(disks: &[(String, String)], wait: Duration, wire: &Wire) -> Result<(), Stop> {
    let _held = lock(wire)?;
    let deadline = Instant::now() + wait;
    for (name, device) in disks {
        let present = || crate::exec::gptwrite::is_block(device);
        if present() {
            continue;
        }
        wire.event(&Event::Waiting {
            message: format!(
                "{name} ({device}) is not there yet; waiting up to {} s for its link",
                wait.as_secs()
            ),
        });
        while !present() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(250));
        }
    }
    let devices: Vec<String> = disks.iter().map(|(_, d)| d.clone()).collect();
    let observed = crate::exec::collect::observe(&devices)?;
    wire.event(&Event::Observed {
        observed: Box::new(observed),
        journal: journal::read_last_run(),
    });
    Ok(())
}

/// The flow's target for a spec: the layout written where only this run reads it.
fn target(spec: Spec) -> Result<Target, Stop> {
    let file = Path::new(STATE_DIR).join("layout.yaml");
    std::fs::write(&file, &spec.layout_text)
        .map_err(|e| Stop::Failed(anyhow::anyhow!("writing {}: {e}", file.display())))?;
    Ok(Target {
        layout: file,
        disks: spec.disks,
        ignore_expect: spec.ignore_expect,
        mount_root: spec.mount_root,
        firmware: spec.firmware,
        label: Some(spec.layout_name),
        key_files: Vec::new(),
    })
}

/// Applies the plan the laptop showed, if the disks are still as they were.
fn apply(a: ApplyRequest, wire: &Wire) -> Result<(), Stop> {
    let _held = lock(wire)?;
    let t = target(a.spec)?;
    // The laptop asked the user; here nobody can answer.
    let consent = Consent {
        allow_destroy: a.allow_destroy,
        yes: true,
        allow_hooks: a.allow_hooks,
    };
    match flow::apply_expected(&t, Some(&a.expected), &consent, &NoPrompter, wire)? {
        Applied::NoChanges => wire.event(&Event::NoChanges),
        Applied::Ran(_) => {}
    }
    Ok(())
}

/// Says, rule by rule, whether the installed system will boot from the plan's
/// boot medium (read here, never written).
fn boot_check(plan: &crate::plan::Plan, wire: &Wire) -> Result<(), Stop> {
    use crate::bootcheck::{self, Verdict};
    let root = Path::new(&plan.mount_root);
    let medium = plan.disks.iter().find(|d| d.boot_medium);
    let findings = match medium.map(|d| std::fs::File::open(&d.device)) {
        Some(Ok(mut dev)) => bootcheck::check(root, plan, &mut dev),
        _ => bootcheck::check(root, plan, &mut std::io::empty()),
    };
    for f in findings {
        let verdict = match f.verdict {
            Verdict::Ok => "ok",
            Verdict::Warning => "warning",
            Verdict::Problem => "problem",
        };
        let mut message = f.message.clone();
        if let Some(fix) = &f.fix {
            message += &format!(" (fix: {fix})");
        }
        wire.event(&Event::Check {
            rule: f.rule.name().to_string(),
            verdict: verdict.to_string(),
            message,
        });
    }
    Ok(())
}

/// Takes the layout down and removes what the install put on this system.
fn finish(spec: Spec, wire: &Wire) -> Result<(), Stop> {
    let _held = lock(wire)?;
    let t = target(spec)?;
    let done = flow::unmount(&t, wire);
    for f in [protocol::GIT_KNOWN_HOSTS, &t.layout.display().to_string()] {
        let _ = std::fs::remove_file(f);
    }
    done
}
