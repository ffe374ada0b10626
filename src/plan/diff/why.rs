//! What forbids applying a plan at all, as data, worded once (`Display`).

/// What the diff found that forbids applying at all (not a step).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The layout name concerned: a disk, or an array for what is wrong with
    /// one (`tank`).
    pub disk: String,
    /// Why.
    pub reason: Why,
}

/// Why a disk (or array) is refused. Rendered once, by `Display`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    /// The layout's device is not there.
    Missing {
        /// The device path the layout (or `--disk`) gives.
        device: String,
    },
    /// An `expect:` pin does not match the device.
    Identity {
        /// The device probed.
        device: String,
        /// `expect.size`, `expect.serial` or `expect.model`.
        pin: &'static str,
        /// What the device has.
        found: String,
        /// What the layout expects.
        expected: String,
    },
    /// Data would be destroyed on a disk that is in use.
    Busy {
        /// Each use, e.g. `/dev/sda1 is mounted on /srv`.
        uses: Vec<String>,
    },
    /// A device the plan would write over (or rest on) could not be probed:
    /// what is on it is unknown, which is not the same as nothing.
    Unreadable {
        /// The kernel's path of the device (`/dev/sdc`, `/dev/sdc1`, `/dev/md127`).
        device: String,
        /// What failed, in the probe's words.
        error: String,
    },
    /// An md array the plan would reuse or write over exists but does not
    /// run (inactive, size 0, or unreadable): its data cannot be seen.
    NotRunning {
        /// Its name (`tank`), when mdadm could tell.
        array: Option<String>,
        /// Its device (`/dev/md127`).
        device: String,
        /// How it is not running: `inactive`, `size 0`, `cannot be read: …`.
        state: String,
        /// The members it has gathered.
        members: Vec<String>,
        /// How many members the layout plans for it.
        planned: usize,
    },
    /// Two layout disks lead to one block device.
    SameDevice {
        /// This disk's device path, as the layout gives it.
        device: String,
        /// The kernel's path of the device both lead to.
        kernel: String,
        /// The other layout disk.
        other: String,
    },
    /// A layout disk is a partition of some disk.
    Partition {
        /// The device path, as the layout gives it.
        device: String,
        /// The partition's kernel path (`/dev/sda1`).
        partition: String,
        /// Its disk's kernel path (`/dev/sda`).
        disk: String,
    },
    /// A layout disk is a stacked device (md array, device-mapper), not a disk.
    Stacked {
        /// The device path, as the layout gives it.
        device: String,
        /// The kernel's path (`/dev/md127`, `/dev/dm-0`).
        kernel: String,
        /// What it is: `an md array`, `a device-mapper device`, `a rom device`.
        what: String,
    },
    /// An array of the layout runs (or could run) with members gone: apply
    /// and mount leave it to `rescue` (look) and `replace` (repair).
    Degraded(super::Degraded),
}

impl Why {
    /// Busy disks stop apply, but not `mount`/`unmount` (in use is what those are for)
    /// nor the diff (which only notes it).
    pub fn is_busy(&self) -> bool {
        matches!(self, Why::Busy { .. })
    }

    /// A degraded array md can still run: the diff shows it, `rescue` starts it
    /// degraded and `replace` repairs it; apply and mount stop.
    pub fn is_runnable_degraded(&self) -> bool {
        matches!(self, Why::Degraded(d) if d.can_run())
    }

    /// Whether `unmount` must stop too. It writes nothing and takes down
    /// only what is up, so what forbids writing (busy, unreadable, an array
    /// that does not run) does not concern it; a disk that is not the one the
    /// layout names does (its mounts may be someone else's).
    pub fn stops_takedown(&self) -> bool {
        matches!(
            self,
            Why::Missing { .. }
                | Why::Identity { .. }
                | Why::SameDevice { .. }
                | Why::Partition { .. }
                | Why::Stacked { .. }
        )
    }
}

impl std::fmt::Display for Why {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Why::Missing { device } => write!(f, "{device} is not present"),
            Why::Identity {
                device,
                pin,
                found,
                expected,
            } => match *pin {
                "expect.size" => write!(
                    f,
                    "{device} is {found}, the layout expects {expected} ({pin})"
                ),
                "expect.serial" => write!(
                    f,
                    "{device} has serial {found}, the layout expects {expected} ({pin})"
                ),
                _ => write!(
                    f,
                    "{device} is a {found}, the layout expects {expected} ({pin})"
                ),
            },
            Why::Busy { uses } => write!(f, "busy: {}; unmount or stop it first", uses.join(", ")),
            Why::Unreadable { device, error } => write!(
                f,
                "{device} cannot be read: {error}; nothing will be written over it"
            ),
            Why::NotRunning {
                array,
                device,
                state,
                members,
                planned,
            } => write!(
                f,
                "{} exists but is not running ({state}, {} of {planned} members: {}); nasstrap \
                 will not write over it (`mdadm --run {device}` starts it, `mdadm --stop \
                 {device}` stops it)",
                array_words(array.as_deref(), device),
                members.len(),
                if members.is_empty() {
                    "none".to_string()
                } else {
                    members.join(" ")
                }
            ),
            Why::SameDevice {
                device,
                kernel,
                other,
            } => write!(
                f,
                "{device} is {kernel}, which {other} already names; one device cannot be two disks"
            ),
            Why::Partition {
                device,
                partition,
                disk,
            } => write!(
                f,
                "{device} is partition {partition} of {disk}, not a whole disk; name the disk"
            ),
            Why::Stacked {
                device,
                kernel,
                what,
            } => write!(f, "{device} is {what} ({kernel}), not a disk"),
            Why::Degraded(d) => write!(f, "{d}"),
        }
    }
}

/// `array tank (/dev/md127)`, or `array /dev/md127` without a name.
pub(super) fn array_words(name: Option<&str>, device: &str) -> String {
    match name {
        Some(n) => format!("array {n} ({device})"),
        None => format!("array {device}"),
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.disk, self.reason)
    }
}
