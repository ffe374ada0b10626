//! Command-line definitions, output and exit codes. Logic lives in the library
//! modules; this file only parses, dispatches and prints.

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
    /// Something failed while running (exit 1).
    Runtime(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Runtime(e)
    }
}

/// The `--disk` and `--disk-map` mappings merged, `--disk` last so it wins.
pub fn disk_map(a: &DiskArgs) -> Result<Vec<(String, String)>, Failure> {
    let mut out = Vec::new();
    if let Some(f) = &a.disk_map {
        let text = std::fs::read_to_string(f).map_err(|e| Failure::Usage(format!("reading disk map {}: {e}", f.display())))?;
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            out.push(parse_pair(line).map_err(|e| Failure::Usage(format!("{}:{}: {e}", f.display(), i + 1)))?);
        }
    }
    for (k, v) in &a.disks {
        out.retain(|(n, _)| n != k);
        out.push((k.clone(), v.clone()));
    }
    Ok(out)
}

fn facts_args(sizes: &[(String, String)], sectors: &[(String, String)]) -> Result<HashMap<String, DiskFacts>, Failure> {
    let mut sector_of: HashMap<String, u32> = HashMap::new();
    for (name, n) in sectors {
        match n.as_str() {
            "512" => sector_of.insert(name.clone(), 512),
            "4096" => sector_of.insert(name.clone(), 4096),
            _ => return Err(Failure::Usage(format!("--sector-size {name}={n}: sectors are 512 or 4096 bytes"))),
        };
    }
    let mut out = HashMap::new();
    for (name, text) in sizes {
        let p = size::parse(text).map_err(|e| Failure::Usage(format!("--disk-size {name}={text}: {}\n  hint: {}", e.message, e.hint)))?;
        let sector = sector_of.get(name).copied().unwrap_or(512);
        let bytes = p.size.bytes(sector as u64, 0).filter(|b| *b > 0).ok_or_else(|| Failure::Usage(format!("--disk-size {name}={text}: give an absolute size")))?;
        out.insert(name.clone(), DiskFacts { size_bytes: bytes - bytes % sector as u64, sector, source: SizeSource::Flag });
    }
    for (name, sector) in sector_of {
        if !out.contains_key(&name) {
            return Err(Failure::Usage(format!("--sector-size {name}: also give --disk-size {name}=SIZE")));
        }
        let _ = sector;
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
        Command::Plan { layout: path, disks, disk_sizes, sector_sizes, format, firmware, mount_root } => {
            let map = disk_map(&disks)?;
            let facts = facts_args(&disk_sizes, &sector_sizes)?;
            let loaded = load(&path, &map)?;
            for name in facts.keys() {
                if !loaded.layout.disks.iter().any(|d| &d.name == name) {
                    return Err(Failure::Usage(format!("--disk-size {name}: the layout has no disk `{name}`")));
                }
            }
            let opts = plan::Options { layout_file: path.display().to_string(), seed: String::new(), mount_root, facts, firmware };
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
        Command::Schema => {
            println!("{}", serde_json::to_string_pretty(&layout::schema::schema()).expect("serializes"));
            Ok(EXIT_OK)
        }
    }
}
