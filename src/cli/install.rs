//! `nasstrap install`: its arguments and how they become a [`flow::install::Install`].

use super::{Deferred, DiskArgs, EXIT_OK, Events, Failure, json_stop, target};
use crate::flow;
use crate::plan;
use std::path::PathBuf;

/// `nasstrap install`'s arguments.
#[derive(clap::Args, Debug)]
pub struct InstallArgs {
    /// The layout file (on this machine).
    layout: PathBuf,
    #[command(flatten)]
    disks: DiskArgs,
    /// The target: USER@HOST[:PORT] (a host alias of ~/.ssh/config works).
    #[arg(long, value_name = "USER@HOST[:PORT]")]
    target: String,
    /// Allow destructive steps on these layout disks (e.g. `--allow-destroy bay3`).
    #[arg(long = "allow-destroy", value_name = "NAME", num_args = 1..)]
    allow_destroy: Vec<String>,
    /// Answer yes to prompts about non-destructive steps (never to destruction).
    #[arg(long)]
    yes: bool,
    /// Run the layout's disko hooks on the target (shell text; the plan shows each in full).
    #[arg(long)]
    allow_hooks: bool,
    /// Also write the layout's firmware images to their raw regions.
    #[arg(long)]
    firmware: bool,
    /// Accept only a host key with this fingerprint (as `ssh-keygen -lf` prints it);
    /// known_hosts files are then not consulted.
    #[arg(long, value_name = "SHA256:…")]
    host_key: Option<String>,
    /// Check the host key against FILE instead of ~/.ssh/known_hosts.
    #[arg(long, value_name = "FILE")]
    known_hosts: Option<PathBuf>,
    /// Use FILE instead of ~/.ssh/config.
    #[arg(long, value_name = "FILE")]
    ssh_config: Option<PathBuf>,
    /// Log in with this key only (default: ssh config and agent).
    #[arg(long, short = 'i', value_name = "FILE")]
    ssh_key: Option<PathBuf>,
    /// The NixOS system to install once the disks match: a flake directory on this
    /// machine and its host (`nixosConfigurations.HOST`).
    #[arg(long, value_name = "PATH#HOST")]
    flake: Option<String>,
    /// A tree mirroring the new root, copied onto it with modes and owners.
    #[arg(long, value_name = "DIR", requires = "flake")]
    extra_files: Option<PathBuf>,
    /// The machine's identity (e.g. from `nasstrap keys create`) and where it goes on
    /// the new root, e.g. `host_key:/etc/ssh/ssh_host_ed25519_key` (mode 0600).
    #[arg(long, value_name = "LOCAL:REMOTE", value_parser = parse_identity, requires = "flake")]
    identity: Option<(PathBuf, String)>,
    /// The host's agenix secrets: the identity must decrypt them before any disk is touched.
    #[arg(long, value_name = "DIR", requires = "identity")]
    secrets: Option<PathBuf>,
    /// Where the git hosts' keys are read (default ~/.ssh/known_hosts); copied to the
    /// target for the fetch and install only.
    #[arg(long, value_name = "FILE")]
    git_known_hosts: Option<PathBuf>,
    /// Reboot the target when every phase succeeded.
    #[arg(long, requires = "flake")]
    reboot: bool,
    /// Where on the new root the flake is staged.
    #[arg(long, value_name = "DIR", default_value = "/etc/nixos")]
    stage_dir: String,
    /// Also stage the flake's `.git` (by default only its tracked files).
    #[arg(long, requires = "flake")]
    stage_git: bool,
    /// The nasstrap to run on the target (default: this binary if the target has
    /// this machine's architecture, else ~/.cache/nasstrap/VERSION/nasstrap-ARCH-linux).
    #[arg(long, value_name = "PATH")]
    target_binary: Option<PathBuf>,
    /// Phases to run, in order: connect, preflight, disks, stage, fetch, install,
    /// boot-check, finish (earlier ones always run). Default: all (up to disks
    /// without --flake).
    #[arg(long, value_name = "LIST")]
    phases: Option<String>,
    /// How long the target waits for a disk's SATA link to come up, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    link_wait: u64,
    /// Show the plan, save it (with the state it was computed from) to FILE, and stop.
    #[arg(long, value_name = "FILE", conflicts_with = "plan")]
    save_plan: Option<PathBuf>,
    /// Apply a plan saved with --save-plan; the target refuses if its disks changed since.
    #[arg(long, value_name = "FILE")]
    plan: Option<PathBuf>,
    /// Progress as JSON lines on stdout instead of bars.
    #[arg(long, value_enum, default_value_t = Events::Human)]
    events: Events,
    /// Where filesystems are mounted on the target.
    #[arg(long, default_value = "/mnt")]
    mount_root: String,
}

/// Runs `install`; returns the exit code.
pub fn run(args: InstallArgs) -> Result<i32, Failure> {
    let InstallArgs {
        layout: path,
        disks,
        target: destination,
        allow_destroy,
        yes,
        allow_hooks,
        firmware,
        host_key,
        known_hosts,
        ssh_config,
        ssh_key,
        flake,
        extra_files,
        identity,
        secrets,
        git_known_hosts,
        reboot,
        stage_dir,
        stage_git,
        target_binary,
        phases,
        link_wait,
        save_plan,
        plan,
        events,
        mount_root,
    } = args;
    let system = flake
        .as_deref()
        .map(|f| {
            let (path, host) = f
                .rsplit_once('#')
                .filter(|(p, h)| !p.is_empty() && !h.is_empty())
                .ok_or_else(|| Failure::Usage(format!("--flake {f}: expected PATH#HOST")))?;
            let home = std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_default();
            Ok::<_, Failure>(flow::install::System {
                flake: PathBuf::from(path),
                host: host.to_string(),
                extra_files: extra_files.clone(),
                identity: identity.clone(),
                secrets: secrets.clone(),
                git_known_hosts: git_known_hosts
                    .clone()
                    .unwrap_or_else(|| home.join(".ssh/known_hosts")),
                reboot,
                stage_dir: stage_dir.clone(),
                with_git: stage_git,
            })
        })
        .transpose()?;
    let default = if system.is_some() { "finish" } else { "disks" };
    let until = parse_phases(phases.as_deref().unwrap_or(default))?;
    if until > flow::install::Phase::Disks && system.is_none() {
        return Err(Failure::Usage(
            "--phases: the phases after `disks` install a system: give --flake PATH#HOST".into(),
        ));
    }
    let i = flow::install::Install {
        target: target(path, &disks, mount_root, firmware)?,
        ssh: crate::remote::ssh::SshOpts {
            destination,
            host_key,
            known_hosts,
            ssh_config,
            identity: ssh_key,
            connect_timeout: std::time::Duration::from_secs(20),
            // Only the fetch and the install ask for it (`-A` on those commands).
            forward_agent: system.is_some(),
        },
        consent: crate::exec::guard::Consent {
            allow_destroy,
            yes,
            allow_hooks,
        },
        target_binary,
        until,
        link_wait: std::time::Duration::from_secs(link_wait),
        save_plan,
        plan,
        system,
    };
    // Ctrl-C asks the target to stop between steps; a second one quits at once.
    let interrupt = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sigint = signal_hook::consts::SIGINT;
    signal_hook::flag::register_conditional_shutdown(sigint, 130, interrupt.clone())
        .and_then(|_| signal_hook::flag::register(sigint, interrupt.clone()))
        .map_err(|e| Failure::Runtime(e.into()))?;
    let ui = crate::prompt::Terminal::new();
    let view = InstallView {
        events,
        inner: Deferred::new(events),
    };
    match flow::install::install(&i, &ui, &view, &interrupt) {
        Ok(flow::Applied::NoChanges) if events == Events::Human && i.save_plan.is_none() => {
            if until == flow::install::Phase::Disks {
                eprintln!("no changes: the target's disks already match the layout");
            }
            Ok(EXIT_OK)
        }
        Ok(_) => Ok(EXIT_OK),
        Err(stop) => {
            // The target's own stop was passed on already.
            let forwarded = matches!(stop, flow::Stop::OnTarget { .. });
            if events == Events::Json && !forwarded {
                json_stop(&stop);
            }
            Err(stop.into())
        }
    }
}

fn parse_identity(s: &str) -> Result<(PathBuf, String), String> {
    match s.rsplit_once(':') {
        Some((local, remote)) if !local.is_empty() && remote.starts_with('/') => {
            Ok((PathBuf::from(local), remote.to_string()))
        }
        _ => Err(format!(
            "expected LOCAL:REMOTE with an absolute REMOTE path, found `{s}`"
        )),
    }
}

/// `--phases a,b,c` → the last phase to run.
fn parse_phases(list: &str) -> Result<flow::install::Phase, Failure> {
    use flow::install::Phase;
    let mut last = Phase::Connect;
    for p in list.split(',').map(str::trim) {
        last = last.max(match p {
            "connect" => Phase::Connect,
            "preflight" => Phase::Preflight,
            "disks" => Phase::Disks,
            "stage" => Phase::Stage,
            "fetch" => Phase::Fetch,
            "install" => Phase::Install,
            "boot-check" => Phase::BootCheck,
            "finish" => Phase::Finish,
            _ => {
                return Err(Failure::Usage(format!(
                    "--phases: unknown phase `{p}` (connect, preflight, disks, stage, fetch, \
                     install, boot-check, finish)"
                )));
            }
        });
    }
    Ok(last)
}

/// Install's reporter: the plan shown as a diff (people) or as an event (JSON),
/// everything else as apply shows it.
struct InstallView {
    events: Events,
    inner: Deferred,
}

impl crate::report::Reporter for InstallView {
    fn event(&self, e: &crate::report::Event) {
        if let (Events::Human, crate::report::Event::Planned { plan, .. }) = (self.events, e) {
            print!("{}", plan::render::diff_text(plan));
        }
        self.inner.event(e);
    }
}
