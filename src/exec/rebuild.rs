//! Waiting for md to rebuild onto a member `replace` added: progress from
//! `/proc/mdstat` (a read, no process) as `progress` events, until every slot
//! is in sync.

use crate::report::{Event, Interrupted, Reporter};
use anyhow::{Result, bail};
use std::time::{Duration, Instant};

/// How long an array may sit with slots out of sync and no rebuild running
/// before the wait gives up (md starts a recovery within a second or two of
/// the add; a delayed one says `recovery=DELAYED`, which counts as running).
const IDLE_LIMIT: Duration = Duration::from_secs(20);

/// Wait until array `name` (`device`, e.g. `/dev/md/tank`) has every slot in
/// sync, reporting its recovery as progress of step `id`. Stops early, with
/// [`Interrupted`], when the reporter is asked to stop (the rebuild goes on
/// in the kernel either way); `ran` is how many steps ran before, for it.
pub fn wait(name: &str, device: &str, id: u32, ran: u32, reporter: &dyn Reporter) -> Result<()> {
    let kname = std::fs::canonicalize(device)
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| device.trim_start_matches("/dev/").to_string());
    let mut idle_since: Option<Instant> = None;
    let mut last = -1.0f32;
    loop {
        let text = std::fs::read_to_string("/proc/mdstat")?;
        let entries = crate::probe::mdadm::parse_mdstat(&text)?;
        let Some(e) = entries.iter().find(|e| e.name == kname) else {
            bail!("array {name} ({device}) is not in /proc/mdstat any more");
        };
        match (&e.sync, e.slots) {
            (Some(sync), _) => {
                idle_since = None;
                let percent = sync.percent.unwrap_or(0.0);
                if (percent - last).abs() >= 0.1 {
                    last = percent;
                    reporter.event(&Event::Progress {
                        id,
                        percent,
                        message: format!("array {name}: {}", sync.action),
                    });
                }
            }
            (None, Some((total, in_sync))) if in_sync >= total => {
                reporter.event(&Event::Progress {
                    id,
                    percent: 100.0,
                    message: format!("array {name}: in sync, {in_sync} of {total}"),
                });
                return Ok(());
            }
            (None, slots) => {
                let since = *idle_since.get_or_insert_with(Instant::now);
                if since.elapsed() > IDLE_LIMIT {
                    let (total, in_sync) = slots.unwrap_or((0, 0));
                    bail!(
                        "array {name} has {in_sync} of {total} members in sync and is not \
                         rebuilding (see /proc/mdstat)"
                    );
                }
            }
        }
        if reporter.stop_requested() {
            return Err(Interrupted {
                done: ran,
                total: ran,
            }
            .into());
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}
