//! `nasstrap rescue` and `nasstrap replace`: their arguments and output. The
//! flows are `flow::rescue` and `flow::replace`.

use super::{Deferred, DiskArgs, EXIT_OK, Events, Failure, json_stop, parse_pair, target};
use crate::flow;
use crate::layout::diag::escape_lines as shown;
use crate::plan;
use std::path::{Path, PathBuf};

/// `nasstrap rescue`'s arguments.
#[derive(clap::Args, Debug)]
pub struct RescueArgs {
    /// The layout file the disks were set up with.
    layout: PathBuf,
    #[command(flatten)]
    disks: DiskArgs,
    /// Where to mount.
    #[arg(long, default_value = "/mnt")]
    root: String,
    /// Mount read-write (arrays assembled read-write, LUKS opened read-write).
    #[arg(long)]
    rw: bool,
    /// Open LUKS volume NAME with the key in FILE (never a key on the command line).
    #[arg(long = "key-file", value_name = "NAME=FILE", value_parser = parse_pair)]
    key_files: Vec<(String, String)>,
    /// Open a shell in the mounted system (chrooted when it has one); on exit,
    /// everything is unmounted, closed and stopped again.
    #[arg(long)]
    shell: bool,
}

/// `nasstrap replace`'s arguments.
#[derive(clap::Args, Debug)]
pub struct ReplaceArgs {
    /// The layout file the disks were set up with.
    layout: PathBuf,
    /// The layout disk whose drive was swapped (e.g. `bay3`).
    #[arg(long, value_name = "NAME")]
    disk: String,
    /// The new drive, when it is not where the layout says (e.g. `/dev/sdf`).
    #[arg(long, value_name = "DEVICE")]
    device: Option<String>,
    /// Read NAME=DEVICE lines from FILE (e.g. qemu/guest.map); --device wins.
    #[arg(long, value_name = "FILE")]
    disk_map: Option<PathBuf>,
    /// Do not check the layout's `expect:` pins (size/serial/model).
    #[arg(long)]
    ignore_expect: bool,
    /// Allow destroying what the new drive holds (e.g. `--allow-destroy bay3`).
    #[arg(long = "allow-destroy", value_name = "NAME", num_args = 1..)]
    allow_destroy: Vec<String>,
    /// Answer yes to the prompt before the (non-destructive) steps.
    #[arg(long)]
    yes: bool,
    /// Return once the drive is added; md rebuilds in the background.
    #[arg(long)]
    no_wait: bool,
    /// Progress as JSON lines on stdout instead of bars.
    #[arg(long, value_enum, default_value_t = Events::Human)]
    events: Events,
}

/// What repairs a degraded array, as commands to type.
fn repair_hints(layout: &str, d: &plan::diff::Degraded) -> Vec<String> {
    use plan::diff::How;
    let mut out = Vec::new();
    if !d.running {
        out.push(format!(
            "to look at the data: nasstrap rescue {layout} (starts {} degraded, read-only)",
            d.array
        ));
    }
    for g in &d.gone {
        let replace = format!("nasstrap replace {layout} --disk {}", g.disk);
        out.push(match &g.how {
            How::Absent => format!("repair: put a new disk in {}, then {replace}", g.disk),
            How::Blank | How::Stale => format!("repair: {replace}"),
            How::Faulty | How::Unreadable(_) => {
                format!("repair: swap the disk in {}, then {replace}", g.disk)
            }
            How::Holds(_) => format!("repair: {replace} --allow-destroy {}", g.disk),
        });
    }
    out
}

/// Each degraded array on stderr, with the commands that repair it.
pub(super) fn print_degraded(layout: &Path, degraded: &[plan::diff::Degraded]) {
    let layout = shown(&layout.display().to_string()).to_string();
    for d in degraded {
        eprintln!("{}: {}", d.array, shown(&d.to_string()));
        for hint in repair_hints(&layout, d) {
            eprintln!("  {hint}");
        }
    }
}

/// `nasstrap rescue`.
pub fn rescue(a: RescueArgs) -> Result<i32, Failure> {
    let mut t = target(a.layout, &a.disks, a.root, false)?;
    t.key_files = a.key_files;
    let ui = crate::prompt::Terminal::new();
    let r = flow::rescue(&t, a.rw, &ui, &Deferred::new(Events::Human))?;
    let names: Vec<&str> = r.degraded.iter().map(|d| d.array.as_str()).collect();
    print!("{}", plan::render::diff_text_with(&r.look.plan, &names));
    print_degraded(&t.layout, &r.degraded);
    let how = if a.rw { "read-write" } else { "read-only" };
    let root = &t.mount_root;
    if !a.shell {
        eprintln!(
            "mounted {how} below {root}; `nasstrap unmount {} --root {root}` takes it down",
            shown(&t.layout.display().to_string())
        );
        return Ok(EXIT_OK);
    }
    eprintln!("mounted {how} below {root}; exit the shell to unmount and close everything");
    let entered = crate::exec::shell::enter(Path::new(root));
    match &entered {
        Ok((crate::exec::shell::Entered::NotChrooted, _)) => {
            eprintln!(
                "(that shell ran on the rescue system: {root} holds no /bin/sh to chroot into)"
            )
        }
        Ok(_) => {}
        Err(e) => eprintln!("error: {e:#}"),
    }
    flow::unmount(&t, &Deferred::new(Events::Human))?;
    eprintln!("unmounted, closed and stopped what rescue brought up");
    Ok(EXIT_OK)
}

/// `nasstrap replace`.
pub fn replace(a: ReplaceArgs) -> Result<i32, Failure> {
    let args = DiskArgs {
        disks: a
            .device
            .iter()
            .map(|d| (a.disk.clone(), d.clone()))
            .collect(),
        disk_map: a.disk_map,
        ignore_expect: a.ignore_expect,
    };
    let t = target(a.layout, &args, "/mnt".into(), false)?;
    let consent = crate::exec::guard::Consent {
        allow_destroy: a.allow_destroy,
        yes: a.yes,
        // A replacement runs no layout hooks.
        allow_hooks: false,
    };
    let ui = crate::prompt::Terminal::new();
    let reporter = Deferred::new(a.events);
    let done =
        flow::replace(&t, &a.disk, !a.no_wait, &consent, &ui, &reporter).inspect_err(|stop| {
            if a.events == Events::Json {
                json_stop(stop);
            }
        })?;
    match done {
        flow::Replaced::InSync { arrays } if arrays.is_empty() => {
            eprintln!("{}: holds no array member; nothing to do", a.disk)
        }
        flow::Replaced::InSync { arrays } => eprintln!(
            "{} is in sync in {}; nothing to do",
            a.disk,
            arrays.join(", ")
        ),
        flow::Replaced::WasRebuilding { array } if a.no_wait => {
            eprintln!("array {array} is rebuilding onto {} already", a.disk)
        }
        flow::Replaced::WasRebuilding { array } => eprintln!("array {array} is in sync again"),
        flow::Replaced::Ran(_) if a.no_wait => eprintln!(
            "{} added; md rebuilds in the background (see /proc/mdstat)",
            a.disk
        ),
        flow::Replaced::Ran(_) => eprintln!("{} added and rebuilt; every array is in sync", a.disk),
    }
    Ok(EXIT_OK)
}
