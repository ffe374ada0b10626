//! Command-line definitions, output and exit codes. Logic lives in the library
//! modules; this file only parses, dispatches and prints.

mod install;
mod repair;

use crate::flow;
use crate::layout::diag::escape_lines as shown;
use crate::layout::{self, Report, size};
use crate::plan::{self, DiskFacts, SizeSource};
use clap::{Parser, Subcommand, ValueEnum};
use std::collections::HashMap;
use std::path::PathBuf;

/// Exit code: success, or no changes.
pub const EXIT_OK: i32 = 0;
/// Exit code: the run failed.
pub const EXIT_FAILURE: i32 = 1;
/// Exit code: bad input (layout or arguments).
pub const EXIT_BAD_INPUT: i32 = 2;

/// nasstrap: a disk layout in YAML → a plan → applied on the box.
#[derive(Parser, Debug)]
#[command(name = "nasstrap", version, about, max_term_width = 100)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Which disks a layout applies to.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct DiskArgs {
    /// Use DEVICE for the layout's disk NAME (e.g. `--disk bay1=/dev/sda`).
    #[arg(long = "disk", value_name = "NAME=DEVICE", value_parser = parse_pair)]
    pub disks: Vec<(String, String)>,
    /// Read NAME=DEVICE lines from FILE (e.g. qemu/guest.map); `--disk` wins.
    #[arg(long, value_name = "FILE")]
    pub disk_map: Option<PathBuf>,
    /// Do not check the layout's `expect:` pins (size/serial/model), e.g. on an
    /// emulated board whose SD card stands in for the eMMC.
    #[arg(long)]
    pub ignore_expect: bool,
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Show what a from-scratch install of LAYOUT does, touching nothing.
    Plan {
        /// The layout file (YAML, or disko's JSON).
        layout: PathBuf,
        #[command(flatten)]
        disks: DiskArgs,
        /// Plan disk NAME as SIZE bytes (e.g. `--disk-size bay1=4TiB`).
        #[arg(long = "disk-size", value_name = "NAME=SIZE", value_parser = parse_pair)]
        disk_sizes: Vec<(String, String)>,
        /// Plan disk NAME with N-byte logical sectors (512 or 4096).
        #[arg(long = "sector-size", value_name = "NAME=N", value_parser = parse_pair)]
        sector_sizes: Vec<(String, String)>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Include writing the layout's firmware images.
        #[arg(long)]
        firmware: bool,
        /// Where filesystems are mounted for the install.
        #[arg(long, default_value = "/mnt")]
        mount_root: String,
    },
    /// Print the JSON Schema of the layout format.
    Schema,
    /// Show what is on the block devices.
    Probe {
        #[command(flatten)]
        disks: DiskArgs,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Print a layout that describes what is there.
        #[arg(long)]
        as_layout: bool,
        /// With --as-layout: mountpoints below this root are written relative to it.
        #[arg(long, default_value = "/mnt")]
        mount_root: String,
        /// Print the tools' raw output as captured (JSON), to replay as a test fixture.
        #[arg(long, conflicts_with_all = ["json", "as_layout"])]
        raw: bool,
    },
    /// Compare LAYOUT with the live disks: keep / create / change / DESTROY.
    Diff {
        /// The layout file.
        layout: PathBuf,
        #[command(flatten)]
        disks: DiskArgs,
        /// Print the annotated plan as JSON.
        #[arg(long)]
        json: bool,
        /// Exit 0 when nothing would change, 3 for changes, 4 for destructive changes.
        #[arg(long)]
        detailed_exitcode: bool,
        /// Where filesystems are mounted for the install.
        #[arg(long, default_value = "/mnt")]
        mount_root: String,
    },
    /// Assemble, open and mount LAYOUT below --root (idempotent).
    Mount {
        /// The layout file.
        layout: PathBuf,
        #[command(flatten)]
        disks: DiskArgs,
        /// Where to mount.
        #[arg(long, visible_alias = "mount-root", default_value = "/mnt")]
        root: String,
        /// Mount read-only, open LUKS read-only.
        #[arg(long)]
        read_only: bool,
    },
    /// Unmount LAYOUT, close LUKS, stop arrays (idempotent).
    Unmount {
        /// The layout file.
        layout: PathBuf,
        #[command(flatten)]
        disks: DiskArgs,
        /// Where it is mounted.
        #[arg(long, visible_alias = "mount-root", default_value = "/mnt")]
        root: String,
    },
    /// Make the disks match LAYOUT (run on the machine that holds them).
    Apply {
        /// The layout file.
        layout: PathBuf,
        #[command(flatten)]
        disks: DiskArgs,
        /// Allow destructive steps on these layout disks (e.g. `--allow-destroy bay3`).
        #[arg(long = "allow-destroy", value_name = "NAME", num_args = 1..)]
        allow_destroy: Vec<String>,
        /// Answer yes to prompts about non-destructive steps (never to destruction).
        #[arg(long)]
        yes: bool,
        /// Also write the layout's firmware images to their raw regions.
        #[arg(long)]
        firmware: bool,
        /// Progress as JSON lines on stdout instead of bars.
        #[arg(long, value_enum, default_value_t = Events::Human)]
        events: Events,
        /// Where filesystems are mounted for the install.
        #[arg(long, default_value = "/mnt")]
        mount_root: String,
        /// Run the layout's disko hooks (shell text; `plan` shows each in full).
        #[arg(long)]
        allow_hooks: bool,
    },
    /// Install LAYOUT on a target over SSH: one pinned connection, preflight,
    /// the target's disks probed there, diffed and shown here, applied there;
    /// with --flake, the NixOS system after them.
    Install(Box<install::InstallArgs>),
    /// The target's side of `install`: one request on stdin, events on stdout.
    #[command(hide = true)]
    Serve,
    /// Print the NixOS module that makes the installed system find LAYOUT's
    /// disks (by UUID: filesystems, swap, md arrays, LUKS, ZFS), probed here.
    NixosConfig {
        /// The layout file.
        layout: PathBuf,
        #[command(flatten)]
        disks: DiskArgs,
        /// Where the install mounts the filesystems.
        #[arg(long, default_value = "/mnt")]
        mount_root: String,
        /// Write the module to FILE (e.g. the flake's nasstrap-disks.nix).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// After nixos-install: check that a Helios64 boots what is under ROOT
    /// (extlinux.conf, device tree, console, kernel, initrd, firmware).
    BootCheck {
        /// The layout file the disks were set up with.
        layout: PathBuf,
        #[command(flatten)]
        disks: DiskArgs,
        /// Where the installed system's filesystems are mounted.
        #[arg(long, default_value = "/mnt")]
        root: PathBuf,
    },
    /// On the box, booted from the rescue medium: assemble the layout's arrays
    /// (degraded when disks are gone), open LUKS, mount everything read-only below
    /// --root and show the diff; --shell opens a shell there and takes it all down after.
    Rescue(Box<repair::RescueArgs>),
    /// After a drive swap: partition the new drive as LAYOUT says, add it to its
    /// arrays and follow the rebuild to the end.
    Replace(Box<repair::ReplaceArgs>),
    /// A new machine's host key, and proof it decrypts the agenix secrets meant for it.
    Keys {
        #[command(subcommand)]
        command: crate::keys::command::KeysCommand,
    },
}

/// How apply reports progress.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Events {
    /// Bars on a terminal, plain lines otherwise.
    Human,
    /// JSON lines on stdout (what the remote installer reads).
    Json,
}

/// Plan renderings.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// For people.
    Text,
    /// Stable JSON (docs/plan-json.md).
    Json,
    /// A POSIX sh script doing the same.
    Sh,
}

fn parse_pair(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() && !v.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("expected NAME=VALUE, found `{s}`")),
    }
}

/// A failure and the exit code it maps to.
#[derive(Debug)]
pub enum Failure {
    /// The layout is wrong (exit 2); the report says where.
    Layout(Report),
    /// The arguments are wrong (exit 2).
    Usage(String),
    /// A flow stopped (exit 1, or 2 for a layout problem).
    Stop(flow::Stop),
    /// Something failed while running (exit 1).
    Runtime(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Runtime(e)
    }
}

impl From<flow::Stop> for Failure {
    fn from(s: flow::Stop) -> Self {
        match s {
            flow::Stop::Layout(r) => Failure::Layout(r),
            other => Failure::Stop(other),
        }
    }
}

/// The `--disk` and `--disk-map` mappings merged, `--disk` last so it wins.
pub fn disk_map(a: &DiskArgs) -> Result<Vec<(String, String)>, Failure> {
    let mut out = Vec::new();
    if let Some(f) = &a.disk_map {
        let text = std::fs::read_to_string(f)
            .map_err(|e| Failure::Usage(format!("reading disk map {}: {e}", f.display())))?;
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            out.push(
                parse_pair(line)
                    .map_err(|e| Failure::Usage(format!("{}:{}: {e}", f.display(), i + 1)))?,
            );
        }
    }
    for (k, v) in &a.disks {
        out.retain(|(n, _)| n != k);
        out.push((k.clone(), v.clone()));
    }
    Ok(out)
}

fn facts_args(
    sizes: &[(String, String)],
    sectors: &[(String, String)],
) -> Result<HashMap<String, DiskFacts>, Failure> {
    let mut sector_of: HashMap<String, u32> = HashMap::new();
    for (name, n) in sectors {
        match n.as_str() {
            "512" => sector_of.insert(name.clone(), 512),
            "4096" => sector_of.insert(name.clone(), 4096),
            _ => {
                return Err(Failure::Usage(format!(
                    "--sector-size {name}={n}: sectors are 512 or 4096 bytes"
                )));
            }
        };
    }
    let mut out = HashMap::new();
    for (name, text) in sizes {
        let p = size::parse(text).map_err(|e| {
            Failure::Usage(format!(
                "--disk-size {name}={text}: {}\n  hint: {}",
                e.message, e.hint
            ))
        })?;
        let sector = sector_of.get(name).copied().unwrap_or(512);
        let bytes = p
            .size
            .bytes(sector as u64, 0)
            .filter(|b| *b > 0)
            .ok_or_else(|| {
                Failure::Usage(format!("--disk-size {name}={text}: give an absolute size"))
            })?;
        out.insert(
            name.clone(),
            DiskFacts {
                size_bytes: bytes - bytes % sector as u64,
                sector,
                source: SizeSource::Flag,
            },
        );
    }
    for name in sector_of.keys() {
        if !out.contains_key(name) {
            return Err(Failure::Usage(format!(
                "--sector-size {name}: also give --disk-size {name}=SIZE"
            )));
        }
    }
    Ok(out)
}

/// Load a layout (its report may hold errors; planning refuses them).
pub fn load(path: &std::path::Path, map: &[(String, String)]) -> Result<layout::Loaded, Failure> {
    layout::load_file(path, map).map_err(Failure::Layout)
}

/// Run the command; returns the exit code.
pub fn run(cli: Cli) -> Result<i32, Failure> {
    match cli.command {
        Command::Plan {
            layout: path,
            disks,
            disk_sizes,
            sector_sizes,
            format,
            firmware,
            mount_root,
        } => {
            let map = disk_map(&disks)?;
            let facts = facts_args(&disk_sizes, &sector_sizes)?;
            let loaded = load(&path, &map)?;
            for name in facts.keys() {
                if !loaded.layout.disks.iter().any(|d| &d.name == name) {
                    return Err(Failure::Usage(format!(
                        "--disk-size {name}: the layout has no disk `{name}`"
                    )));
                }
            }
            let opts = plan::Options {
                layout_file: path.display().to_string(),
                seed: String::new(),
                mount_root,
                facts,
                firmware,
                ignore_expect: false,
            };
            let plan = plan::build(&loaded, &opts).map_err(Failure::Layout)?;
            if !loaded.report.diagnostics.is_empty() {
                eprint!("{}", loaded.report);
            }
            let out = match format {
                Format::Text => plan::render::text(&plan),
                Format::Json => plan::render::json(&plan),
                Format::Sh => plan::script::sh(&plan),
            };
            print!("{out}");
            Ok(EXIT_OK)
        }
        Command::Probe {
            disks,
            json,
            as_layout,
            mount_root,
            raw,
        } => {
            let map = disk_map(&disks)?;
            if raw {
                let r = crate::exec::collect::collect()?;
                println!("{}", serde_json::to_string_pretty(&r).expect("serializes"));
                return Ok(EXIT_OK);
            }
            let only: Vec<String> = map.iter().map(|(_, d)| d.clone()).collect();
            let obs = crate::exec::collect::observe(&only)?;
            if as_layout {
                print!(
                    "{}",
                    crate::probe::describe::as_layout_at(
                        &obs,
                        &map,
                        mount_root.trim_end_matches('/')
                    )
                );
            } else if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&obs).expect("serializes")
                );
            } else {
                print!("{}", crate::probe::describe::text(&obs));
            }
            Ok(EXIT_OK)
        }
        Command::Diff {
            layout: path,
            disks,
            json,
            detailed_exitcode,
            mount_root,
        } => {
            let t = target(path, &disks, mount_root, false)?;
            let (look, missing) = flow::diff(&t)?;
            print_warnings(&look);
            let degraded: Vec<_> = flow::degraded(&look.refusals)
                .into_iter()
                .filter(|d| d.can_run())
                .collect();
            if json {
                print!("{}", plan::render::json(&look.plan));
            } else {
                let names: Vec<&str> = degraded.iter().map(|d| d.array.as_str()).collect();
                print!("{}", plan::render::diff_text_with(&look.plan, &names));
            }
            for m in &missing {
                eprintln!("note: apply would stop here: {}", shown(&m.to_string()));
            }
            // A busy disk is apply's problem; a missing or wrong disk makes the diff meaningless.
            let mut fatal = false;
            repair::print_degraded(&t.layout, &degraded);
            for r in &look.refusals {
                if r.reason.is_runnable_degraded() {
                    // Shown above, with what repairs it.
                } else if r.reason.is_busy() {
                    eprintln!("note: apply would refuse {}", shown(&r.to_string()));
                } else {
                    eprintln!("refused: {}", shown(&r.to_string()));
                    fatal = true;
                }
            }
            if fatal {
                return Ok(EXIT_FAILURE);
            }
            let plan = &look.plan;
            Ok(
                match (
                    detailed_exitcode,
                    plan.is_noop(),
                    plan.destructive().next().is_some(),
                ) {
                    (false, _, _) => EXIT_OK,
                    // A degraded array is a difference, though no step runs.
                    (true, true, _) if !degraded.is_empty() => 3,
                    (true, true, _) => EXIT_OK,
                    (true, false, false) => 3,
                    (true, false, true) => 4,
                },
            )
        }
        Command::Apply {
            layout: path,
            disks,
            allow_destroy,
            yes,
            firmware,
            events,
            mount_root,
            allow_hooks,
        } => {
            let t = target(path, &disks, mount_root, firmware)?;
            let consent = crate::exec::guard::Consent {
                allow_destroy,
                yes,
                allow_hooks,
            };
            let ui = crate::prompt::Terminal::new();
            // The bar is sized when the plan is known; until then, plain lines.
            let reporter = Deferred::new(events);
            let applied = flow::apply(&t, &consent, &ui, &reporter).inspect_err(|stop| {
                if events == Events::Json {
                    json_stop(stop);
                }
            })?;
            match applied {
                flow::Applied::NoChanges => {
                    eprintln!(
                        "no changes: the disks already match {}",
                        shown(&t.layout.display().to_string())
                    );
                }
                flow::Applied::Ran(_) => {}
            }
            Ok(EXIT_OK)
        }
        Command::Mount {
            layout: path,
            disks,
            root,
            read_only,
        } => {
            let t = target(path, &disks, root, false)?;
            let ui = crate::prompt::Terminal::new();
            flow::mount(&t, read_only, &ui, &Deferred::new(Events::Human))?;
            Ok(EXIT_OK)
        }
        Command::Unmount {
            layout: path,
            disks,
            root,
        } => {
            let t = target(path, &disks, root, false)?;
            flow::unmount(&t, &Deferred::new(Events::Human))?;
            Ok(EXIT_OK)
        }
        Command::Install(args) => install::run(*args),
        Command::Serve => Ok(crate::remote::agent::serve(std::io::BufReader::new(
            std::io::stdin(),
        ))),
        Command::Schema => {
            println!(
                "{}",
                serde_json::to_string_pretty(&layout::schema::schema()).expect("serializes")
            );
            Ok(EXIT_OK)
        }
        Command::NixosConfig {
            layout: path,
            disks,
            mount_root,
            out,
        } => {
            // The command line that regenerates the module, for its header.
            let q = crate::remote::ssh::quote;
            let mut cmd = format!("nasstrap nixos-config {}", q(&path.display().to_string()));
            for (n, d) in &disks.disks {
                cmd.push_str(&format!(" --disk {}", q(&format!("{n}={d}"))));
            }
            if let Some(f) = &disks.disk_map {
                cmd.push_str(&format!(" --disk-map {}", q(&f.display().to_string())));
            }
            if disks.ignore_expect {
                cmd.push_str(" --ignore-expect");
            }
            if mount_root != "/mnt" {
                cmd.push_str(&format!(" --mount-root {}", q(&mount_root)));
            }
            let t = target(path, &disks, mount_root, false)?;
            let look = flow::look(&t)?;
            print_warnings(&look);
            // A missing or wrong disk: the plan is not about these disks at all.
            let wrong: Vec<_> = look
                .refusals
                .iter()
                .filter(|r| !r.reason.is_busy())
                .collect();
            if !wrong.is_empty() {
                for r in wrong {
                    eprintln!("refused: {}", shown(&r.to_string()));
                }
                return Ok(EXIT_FAILURE);
            }
            let loaded = load(&t.layout, &t.disks)?;
            let text = crate::nixos::disks_module(&look.plan, &look.observed, &loaded.layout, &cmd)
                .map_err(|r| Failure::Runtime(anyhow::anyhow!("no NixOS module: {r}")))?;
            match out {
                Some(f) => std::fs::write(&f, text).map_err(|e| {
                    Failure::Runtime(anyhow::anyhow!("writing {}: {e}", f.display()))
                })?,
                None => print!("{text}"),
            }
            Ok(EXIT_OK)
        }
        Command::BootCheck {
            layout: path,
            disks,
            root,
        } => {
            let found = crate::bootcheck::installed(&load(&path, &disk_map(&disks)?)?, &root)?;
            for f in &found {
                println!("{f}");
            }
            let bad = crate::bootcheck::has_problems(&found);
            Ok(if bad { EXIT_FAILURE } else { EXIT_OK })
        }
        Command::Rescue(a) => repair::rescue(*a),
        Command::Replace(a) => repair::replace(*a),
        Command::Keys { command } => Ok(crate::keys::command::run(command)?),
    }
}

/// The flow's target from the command line.
fn target(
    layout: PathBuf,
    disks: &DiskArgs,
    mount_root: String,
    firmware: bool,
) -> Result<flow::Target, Failure> {
    if disks.ignore_expect {
        eprintln!("warning: --ignore-expect: the layout's identity pins are not checked");
    }
    Ok(flow::Target {
        layout,
        disks: disk_map(disks)?,
        ignore_expect: disks.ignore_expect,
        mount_root,
        firmware,
        label: None,
        key_files: Vec::new(),
    })
}

fn print_warnings(look: &flow::Look) {
    if let Some(r) = &look.warnings {
        eprint!("{r}");
    }
}

/// A stop as the last JSON line, so a calling program learns why from the stream.
fn json_stop(stop: &flow::Stop) {
    use crate::report::{JsonLines, Reporter};
    JsonLines.event(&stop.event());
}

/// The CLI's reporter: JSON lines, or bars sized to the run once it starts
/// (the flow decides the plan; the bar learns its length from `Start`).
struct Deferred {
    events: Events,
    /// The plan the run is about, once an event brought it.
    plan: std::sync::OnceLock<plan::Plan>,
    bars: std::sync::OnceLock<crate::progress::Bars>,
}

impl Deferred {
    fn new(events: Events) -> Deferred {
        Deferred {
            events,
            plan: std::sync::OnceLock::new(),
            bars: std::sync::OnceLock::new(),
        }
    }
}

impl crate::report::Reporter for Deferred {
    fn event(&self, e: &crate::report::Event) {
        match self.events {
            Events::Json => crate::report::JsonLines.event(e),
            Events::Human => {
                // Bars once the run's length is known; plain lines before.
                match e {
                    crate::report::Event::Planned { plan, .. } => {
                        let _ = self.plan.set((**plan).clone());
                    }
                    crate::report::Event::Start { total } => {
                        let bars = crate::progress::Bars::for_run(*total as u64, self.plan.get());
                        let _ = self.bars.set(bars);
                    }
                    _ => {}
                }
                match self.bars.get() {
                    Some(bars) => bars.event(e),
                    None => crate::progress::Bars::plain().event(e),
                }
            }
        }
    }
}
