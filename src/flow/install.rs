//! `install`, part 1: from the laptop, over one SSH connection, make the
//! target's disks match the layout. Phases: connect (host key verified before
//! anything runs there), preflight (one round trip; the target's nasstrap is
//! uploaded when missing or different), disks (the target probes in one round
//! trip, the laptop diffs, shows and asks, the target applies exactly that
//! plan if its disks are still in the state it was computed from).

use super::{Applied, Expected, Stop, Target};
use crate::exec::guard::{self, Consent, Prompter};
use crate::exec::preflight::Missing;
use crate::layout;
use crate::plan::{self, Plan, basis::Basis, needs};
use crate::probe::Observed;
use crate::remote::protocol::{self, ApplyRequest, Request, TARGET_BINARY};
use crate::remote::ssh::{Connection, SshOpts, quote};
use crate::report::{Event, Line, Reporter, SCHEMA};
use anyhow::{Context, anyhow};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

mod system;

pub use system::System;

/// Install phases, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// Open the master connection, verify the host key.
    Connect,
    /// Architecture, tools, memory, the target's nasstrap; the identity
    /// decrypts the host's secrets.
    Preflight,
    /// Probe, diff, consent, apply.
    Disks,
    /// The flake, the disks module and extra files onto the new root.
    Stage,
    /// Every input of the flake into the target's store, private ones
    /// through the forwarded agent.
    Fetch,
    /// `nixos-install`.
    Install,
    /// Will the box boot from what was installed?
    BootCheck,
    /// Unmount, stop, close; remove what the install left; reboot if asked.
    Finish,
}

impl Phase {
    /// The phase's name on the command line and in events.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Connect => "connect",
            Phase::Preflight => "preflight",
            Phase::Disks => "disks",
            Phase::Stage => "stage",
            Phase::Fetch => "fetch",
            Phase::Install => "install",
            Phase::BootCheck => "boot-check",
            Phase::Finish => "finish",
        }
    }
}

/// Memory the target needs free to run nasstrap and the tools from RAM.
const NEED_MIB: u64 = 256;

/// What to install where.
#[derive(Debug)]
pub struct Install {
    /// The layout (a file on the laptop) and its disks as the target names them.
    pub target: Target,
    /// How to reach the target.
    pub ssh: SshOpts,
    /// What destruction the command line allows.
    pub consent: Consent,
    /// The nasstrap to run on the target (else: this binary when the
    /// architectures match, or the cached cross build).
    pub target_binary: Option<PathBuf>,
    /// The last phase to run (earlier phases always run).
    pub until: Phase,
    /// How long the target waits for a disk's link to come up.
    pub link_wait: Duration,
    /// Save the shown plan here and stop before applying.
    pub save_plan: Option<PathBuf>,
    /// Apply this saved plan instead of diffing anew.
    pub plan: Option<PathBuf>,
    /// The system to install once the disks are ready (`--flake`).
    pub system: Option<System>,
}

/// A plan saved by `--save-plan`: what was shown, with the identities of the
/// disks it destroys, to ask about them when it is applied.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Saved {
    /// The plan and its basis.
    pub expected: Expected,
    /// Layout disk → device, model, serial, size.
    pub identities: BTreeMap<String, String>,
}

/// Runs the install up to `i.until`. `interrupt` is set by Ctrl-C: the target
/// stops between steps.
pub fn install(
    i: &Install,
    ui: &dyn Prompter,
    reporter: &dyn Reporter,
    interrupt: &AtomicBool,
) -> Result<Applied, Stop> {
    let loaded = layout::load_file(&i.target.layout, &i.target.disks).map_err(Stop::Layout)?;
    if loaded.report.has_errors() {
        return Err(Stop::Layout(loaded.report));
    }
    let opts = i.target.options();
    // The from-scratch plan: every program an install may run, for preflight.
    let scratch = plan::build(&loaded, &opts).map_err(Stop::Layout)?;

    // Local checks first: a flake that cannot find its disks, or an identity that
    // cannot decrypt the host's secrets, stops before anything is opened.
    if let Some(s) = &i.system {
        system::check_system(s)?;
    }
    let conn = phase(reporter, Phase::Connect, || {
        Connection::connect(&i.ssh).map_err(Stop::Connect)
    })?;
    phase(reporter, Phase::Preflight, || {
        preflight(&conn, &scratch, i.target_binary.as_deref(), reporter)
    })?;
    if i.until < Phase::Disks {
        let _ = conn.close();
        return Ok(Applied::NoChanges);
    }
    let done = phase(reporter, Phase::Disks, || {
        disks(i, &conn, &loaded, &opts, ui, reporter, interrupt)
    });
    let done = match (done, &i.system) {
        (Ok((applied, Some(plan))), Some(s)) if i.until >= Phase::Stage => {
            let rest = system::install(i, s, &conn, &loaded, &plan, reporter, interrupt);
            rest.map(|()| applied)
        }
        (done, _) => done.map(|(applied, _)| applied),
    };
    let _ = conn.close();
    done
}

/// The layout and its disks as the target reads them.
fn spec(i: &Install) -> Result<protocol::Spec, Stop> {
    let layout_text = std::fs::read_to_string(&i.target.layout)
        .with_context(|| format!("reading {}", i.target.layout.display()))?;
    Ok(protocol::Spec {
        layout_name: i.target.layout.display().to_string(),
        layout_text,
        disks: i.target.disks.clone(),
        ignore_expect: i.target.ignore_expect,
        mount_root: i.target.mount_root.clone(),
        firmware: i.target.firmware,
    })
}

/// Runs one phase between its events.
fn phase<T>(
    reporter: &dyn Reporter,
    p: Phase,
    f: impl FnOnce() -> Result<T, Stop>,
) -> Result<T, Stop> {
    let t = Instant::now();
    reporter.event(&Event::Phase {
        phase: p.name().into(),
    });
    let r = f()?;
    reporter.event(&Event::PhaseDone {
        phase: p.name().into(),
        seconds: t.elapsed().as_secs_f64(),
    });
    Ok(r)
}

/// What the preflight round trip found on the target.
#[derive(Debug, Default, PartialEq)]
struct Facts {
    arch: String,
    mem_kib: Option<u64>,
    binary: Option<String>,
    missing_programs: Vec<String>,
    missing_keys: Vec<String>,
}

/// The preflight script: plain POSIX sh, so it needs nothing of ours there.
fn preflight_script(n: &needs::Needs) -> String {
    let mut s = String::from(
        "echo \"arch=$(uname -m)\"\n\
         echo \"mem_kib=$(sed -n 's/^MemAvailable: *\\([0-9]*\\).*/\\1/p' /proc/meminfo)\"\n",
    );
    s += &format!(
        "b={}\nif [ -x \"$b\" ]; then echo \"binary=$(sha256sum \"$b\" | cut -d' ' -f1)\"; fi\n",
        quote(TARGET_BINARY)
    );
    for p in &n.programs {
        s += &format!(
            "command -v {0} >/dev/null 2>&1 || echo missing_program={0}\n",
            quote(p)
        );
    }
    for k in &n.key_files {
        s += &format!("[ -r {0} ] || echo missing_key={0}\n", quote(k));
    }
    s
}

fn parse_facts(out: &str) -> Facts {
    let mut f = Facts::default();
    for line in out.lines() {
        match line.split_once('=') {
            Some(("arch", v)) => f.arch = v.trim().to_string(),
            Some(("mem_kib", v)) => f.mem_kib = v.trim().parse().ok(),
            Some(("binary", v)) => f.binary = Some(v.trim().to_string()),
            Some(("missing_program", v)) => f.missing_programs.push(v.to_string()),
            Some(("missing_key", v)) => f.missing_keys.push(v.to_string()),
            _ => {}
        }
    }
    f
}

/// Checks the target in one round trip and uploads nasstrap when it is missing
/// or another build (a second round trip, only then).
fn preflight(
    conn: &Connection,
    scratch: &Plan,
    given: Option<&Path>,
    reporter: &dyn Reporter,
) -> Result<(), Stop> {
    let n = needs::of(scratch);
    let out = conn
        .run("sh -s", preflight_script(&n).as_bytes())
        .context("preflight on the target")?;
    if !out.status.success() {
        return Err(Stop::Failed(anyhow!(
            "preflight on the target failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let facts = parse_facts(&String::from_utf8_lossy(&out.stdout));
    let mut missing: Vec<Missing> = facts
        .missing_programs
        .iter()
        .map(|p| Missing::Program {
            program: p.clone(),
            package: needs::package_of(p),
        })
        .collect();
    missing.extend(facts.missing_keys.iter().map(|k| Missing::KeyFile {
        path: k.clone(),
        error: "not readable on the target".into(),
    }));
    if let Some(kib) = facts.mem_kib
        && kib / 1024 < NEED_MIB
    {
        missing.push(Missing::Memory {
            available_mib: kib / 1024,
            need_mib: NEED_MIB,
        });
    }
    let binary = match binary_for(&facts.arch, given) {
        Ok(b) => Some(b),
        Err(m) => {
            missing.push(m);
            None
        }
    };
    if !missing.is_empty() {
        return Err(Stop::Preflight(missing));
    }
    let binary = binary.expect("no problem means a binary");
    let bytes = std::fs::read(&binary)
        .with_context(|| format!("reading the target binary {}", binary.display()))?;
    let hash = hex(&Sha256::digest(&bytes));
    if facts.binary.as_deref() == Some(hash.as_str()) {
        return Ok(());
    }
    reporter.event(&Event::Note {
        message: format!(
            "uploading nasstrap ({} KiB) to {TARGET_BINARY}",
            bytes.len() / 1024
        ),
    });
    upload(conn, &bytes, &hash)
}

/// Uploads the binary beside its place and moves it there only when the
/// target computes the same hash.
fn upload(conn: &Connection, bytes: &[u8], hash: &str) -> Result<(), Stop> {
    let dir = Path::new(TARGET_BINARY)
        .parent()
        .expect("a directory")
        .display()
        .to_string();
    let new = format!("{TARGET_BINARY}.new");
    let script = format!(
        "umask 077 && mkdir -p {dir} && cat > {new} && chmod 700 {new} && \
         got=$(sha256sum {new} | cut -d' ' -f1) && \
         if [ \"$got\" = {hash} ]; then mv -f {new} {bin}; else echo \"$got\"; rm -f {new}; exit 3; fi",
        dir = quote(&dir),
        new = quote(&new),
        hash = quote(hash),
        bin = quote(TARGET_BINARY),
    );
    let out = conn.run(&script, bytes).context("uploading nasstrap")?;
    if out.status.code() == Some(3) {
        return Err(Stop::Failed(anyhow!(
            "the uploaded nasstrap has sha256 {} on the target, not {hash}; the copy was removed",
            String::from_utf8_lossy(&out.stdout).trim()
        )));
    }
    if !out.status.success() {
        return Err(Stop::Failed(anyhow!(
            "uploading nasstrap failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

/// The nasstrap to run on a target of `arch`.
fn binary_for(arch: &str, given: Option<&Path>) -> Result<PathBuf, Missing> {
    if let Some(p) = given {
        return Ok(p.to_path_buf());
    }
    if cfg!(target_os = "linux")
        && std::env::consts::ARCH == arch
        && let Ok(me) = std::env::current_exe()
    {
        return Ok(me);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from("/nonexistent"))
        .join("nasstrap")
        .join(protocol::version())
        .join(format!("nasstrap-{arch}-linux"));
    if cache.is_file() {
        return Ok(cache);
    }
    Err(Missing::TargetBinary {
        arch: arch.to_string(),
        looked: cache.display().to_string(),
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Probe, diff, show, ask, apply. Returns the plan the disks now match (none
/// when the plan was only saved).
fn disks(
    i: &Install,
    conn: &Connection,
    loaded: &layout::Loaded,
    opts: &plan::Options,
    ui: &dyn Prompter,
    reporter: &dyn Reporter,
    interrupt: &AtomicBool,
) -> Result<(Applied, Option<Plan>), Stop> {
    let (expected, ids) = match &i.plan {
        Some(file) => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("reading the saved plan {}", file.display()))?;
            let saved: Saved = serde_json::from_str(&text)
                .with_context(|| format!("reading the saved plan {}", file.display()))?;
            (saved.expected, saved.identities)
        }
        None => {
            let (observed, journal) = probe_target(i, conn, loaded, reporter, interrupt)?;
            for line in journal {
                reporter.event(&Event::Note {
                    message: format!("resuming: {line}"),
                });
            }
            let (plan, refusals) =
                plan::diff::against(loaded, &observed, opts).map_err(Stop::Layout)?;
            if !refusals.is_empty() {
                return Err(Stop::Refused(refusals));
            }
            let ids = super::identities(&plan, &observed);
            let basis = Basis::of(&plan, &observed);
            (Expected { plan, basis }, ids)
        }
    };
    reporter.event(&Event::Planned {
        plan: Box::new(expected.plan.clone()),
        basis: expected.basis.fingerprint(),
    });
    if let Some(file) = &i.save_plan {
        let saved = Saved {
            expected,
            identities: ids,
        };
        let json = serde_json::to_string_pretty(&saved).expect("plans serialize");
        std::fs::write(file, json).with_context(|| format!("writing {}", file.display()))?;
        return Ok((Applied::NoChanges, None));
    }
    if expected.plan.is_noop() {
        reporter.event(&Event::NoChanges);
        return Ok((Applied::NoChanges, Some(expected.plan)));
    }
    let destroyed = guard::destroyed(&expected.plan);
    let asked: BTreeMap<String, String> = destroyed
        .keys()
        .filter(|d| !i.consent.allow_destroy.contains(d))
        .map(|d| (d.clone(), ids.get(d).cloned().unwrap_or_default()))
        .collect();
    if !asked.is_empty() {
        reporter.event(&Event::ConsentAsked { disks: asked });
    }
    let mut confirmed = BTreeSet::new();
    guard::check(&expected.plan, &ids, &i.consent, ui, &mut confirmed, false)
        .map_err(Stop::Denied)?;
    let mut allowed: BTreeSet<String> = i.consent.allow_destroy.iter().cloned().collect();
    allowed.extend(confirmed);
    reporter.event(&Event::Consented {
        disks: allowed
            .iter()
            .filter(|d| destroyed.contains_key(*d))
            .cloned()
            .collect(),
    });
    let plan = expected.plan.clone();
    let request = Request::Apply(Box::new(ApplyRequest {
        version: protocol::version(),
        spec: spec(i)?,
        expected,
        allow_destroy: allowed.into_iter().collect(),
        allow_hooks: i.consent.allow_hooks,
    }));
    let events = converse(conn, &request, false, reporter, interrupt)?;
    let ran = events.iter().rev().find_map(|e| match e {
        Event::Finish {
            ok: true,
            steps_run,
            ..
        } => Some(Applied::Ran(*steps_run)),
        Event::NoChanges => Some(Applied::NoChanges),
        _ => None,
    });
    let ran =
        ran.ok_or_else(|| Stop::Failed(anyhow!("the target ended the apply without saying how")))?;
    Ok((ran, Some(plan)))
}

/// The target's probe, and what its journal says of an earlier run.
pub(super) fn probe_target(
    i: &Install,
    conn: &Connection,
    loaded: &layout::Loaded,
    reporter: &dyn Reporter,
    interrupt: &AtomicBool,
) -> Result<(Observed, Vec<String>), Stop> {
    // The layout's disks as mapped: what the target's apply will look at.
    let disks = loaded
        .layout
        .disks
        .iter()
        .map(|d| (d.name.clone(), d.device.v.clone()))
        .collect();
    let request = Request::Probe {
        version: protocol::version(),
        disks,
        wait_seconds: i.link_wait.as_secs(),
    };
    let events = converse(conn, &request, false, reporter, interrupt)?;
    events
        .into_iter()
        .find_map(|e| match e {
            Event::Observed { observed, journal } => Some((*observed, journal)),
            _ => None,
        })
        .ok_or_else(|| Stop::Failed(anyhow!("the target sent no probe")))
}

/// One request to the target's nasstrap: its events are passed on to
/// `reporter` as they come (all but the probe's data) and returned; a stop on
/// the target becomes [`Stop::OnTarget`]. While it runs, `interrupt` asks the
/// target to stop between steps.
pub(super) fn converse(
    conn: &Connection,
    request: &Request,
    agent: bool,
    reporter: &dyn Reporter,
    interrupt: &AtomicBool,
) -> Result<Vec<Event>, Stop> {
    let serve = format!("{} serve", quote(TARGET_BINARY));
    let mut command = if agent {
        conn.command_with_agent(&serve)
    } else {
        conn.command(&serve)
    };
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting ssh")?;
    let mut stdin = child.stdin.take().expect("piped");
    let line = serde_json::to_string(request).expect("requests serialize");
    writeln!(stdin, "{line}").context("sending the request to the target")?;
    stdin.flush().context("sending the request to the target")?;
    let stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let over = AtomicBool::new(false);
    let mut events = Vec::new();
    let mut bad: Option<String> = None;
    let err_text = std::thread::scope(|s| {
        // Asks the target to stop on Ctrl-C; the pipe stays open until the
        // conversation is over (its end would also mean "stop").
        s.spawn(|| {
            let mut sent = false;
            while !over.load(Ordering::SeqCst) {
                if !sent && interrupt.load(Ordering::SeqCst) {
                    sent = writeln!(stdin, "{}", protocol::STOP).is_ok();
                    let _ = stdin.flush();
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            drop(stdin);
        });
        let err = s.spawn(move || {
            let mut t = String::new();
            let _ = stderr.read_to_string(&mut t);
            t
        });
        for l in BufReader::new(stdout).lines() {
            let Ok(l) = l else { break };
            match serde_json::from_str::<Line>(&l) {
                Ok(line) if line.schema == SCHEMA => {
                    if !matches!(line.event, Event::Observed { .. }) {
                        reporter.event(&line.event);
                    }
                    events.push(line.event);
                }
                Ok(line) => {
                    bad = Some(format!(
                        "the target's nasstrap speaks events schema {}, this one {SCHEMA}",
                        line.schema
                    ));
                }
                Err(e) => bad = Some(format!("not an event from the target: {e}: {l}")),
            }
        }
        over.store(true, Ordering::SeqCst);
        err.join().unwrap_or_default()
    });
    let status = child.wait().context("waiting for ssh")?;
    if let Some(b) = bad {
        return Err(Stop::Failed(anyhow!("{b}")));
    }
    if let Some((kind, message)) = events.iter().rev().find_map(|e| match e {
        Event::Stopped { kind, message } => Some((*kind, message.clone())),
        _ => None,
    }) {
        return Err(Stop::OnTarget { kind, message });
    }
    if !status.success() {
        let tail: Vec<&str> = err_text.lines().rev().take(10).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(Stop::Failed(anyhow!(
            "the target's nasstrap failed ({status}): {}",
            tail.join("\n")
        )));
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preflight_facts_are_read_from_the_script_output() {
        let f = parse_facts(
            "arch=aarch64\nmem_kib=3800000\nbinary=abc\nmissing_program=mdadm\nmissing_key=/run/k\n",
        );
        assert_eq!(f.arch, "aarch64");
        assert_eq!(f.mem_kib, Some(3_800_000));
        assert_eq!(f.binary.as_deref(), Some("abc"));
        assert_eq!(f.missing_programs, ["mdadm"]);
        assert_eq!(f.missing_keys, ["/run/k"]);
    }

    #[test]
    fn the_preflight_script_quotes_what_it_checks() {
        let mut n = needs::Needs::default();
        n.programs.insert("mkfs.ext4".into());
        n.key_files.insert("/run/it's.key".into());
        let s = preflight_script(&n);
        assert!(s.contains("command -v mkfs.ext4 "), "{s}");
        assert!(s.contains("[ -r '/run/it'\\''s.key' ]"), "{s}");
    }

    #[test]
    fn a_given_binary_wins_and_a_foreign_arch_without_one_is_a_problem() {
        let p = Path::new("/some/nasstrap");
        assert_eq!(binary_for("aarch64", Some(p)).unwrap(), p);
        let m = binary_for("riscv128", None).unwrap_err();
        assert!(matches!(m, Missing::TargetBinary { .. }), "{m}");
    }
}
