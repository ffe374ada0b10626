//! The NixOS side of a layout: the module that makes the installed system
//! find its disks (`nasstrap-disks.nix`), and whether a flake's host imports it.
//!
//! Installs onto md RAID (and LUKS on it) that do not boot are a known
//! nixos-anywhere/disko failure: the initrd assembles no array and opens no
//! volume it was not told about. The module tells it, by the identifiers the
//! disks have after apply (filesystem UUIDs, the array's UUID in mdadm's
//! form, the LUKS header's UUID), never by `/dev/sdX`, which follows probe
//! order. Pure code: the plan and the observed state in, Nix text out.
//!
//! Decisions, each a named rule in `rules` with its reason:
//! - *data mount rule*: mounts outside `/` and the system trees (`/boot /nix
//!   /usr /var /etc` and below) get `nofail` and a device timeout;
//! - *initrd rule*: LUKS under a path NixOS mounts in the initrd opens there
//!   (`boot.initrd.luks.devices`); any other opens after it from crypttab,
//!   `nofail` when only data lies on it;
//! - *zfsutil rule*: `zfsutil` exactly for datasets whose mountpoint is not
//!   `legacy`;
//! - *hostId rule*: ZFS's `networking.hostId` is derived from the root
//!   filesystem's UUID and set with `lib.mkDefault`, so the host's own wins.

mod gather;
mod imports;
mod nix;
mod render;
mod rules;

pub use imports::{Verdict, imports};
pub use rules::{DEVICE_TIMEOUT, NEEDED_FOR_BOOT, SYSTEM_TREES, is_data_mount, needed_for_boot};

use crate::layout::Layout;
use crate::layout::diag::escape;
use crate::plan::Plan;
use crate::probe::Observed;

/// The file the module is written to, next to the host's configuration.
pub const MODULE_FILE: &str = "nasstrap-disks.nix";

/// Why the module cannot be written (yet).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Arrays to assemble or LUKS volumes to open first: what is inside them
    /// has no identifier to see until then.
    #[error(
        "not up yet: {}; `nasstrap mount LAYOUT` brings them up",
        escape(&.0.join("; "))
    )]
    NotUp(Vec<String>),
    /// The disks do not hold the layout yet: these steps would make it.
    #[error(
        "the disks do not hold the layout yet ({} to do: {}); run `nasstrap apply` first",
        .0.len(),
        escape(&.0.join("; "))
    )]
    NotInstalled(Vec<String>),
    /// The probe shows nothing that names `device` for good.
    #[error("{} shows no {what}: nothing to name it by in the installed system", escape(.device))]
    Unidentified {
        /// The plan's device path.
        device: String,
        /// What was looked for.
        what: &'static str,
    },
    /// A text from the disks that cannot go into Nix or a config line.
    #[error("{} `{text}` {why}; it cannot go into the module", escape(.device))]
    Unwritable {
        /// Where it is (empty for the command line or layout name).
        device: String,
        /// The text, escaped.
        text: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// A mount of the plan lies outside the install root.
    #[error("mount on {} is not below the install root {}", escape(.target), escape(.root))]
    OutsideRoot {
        /// The mount target.
        target: String,
        /// The install root.
        root: String,
    },
}

/// The module for `plan`'s layout as `observed` shows it after apply:
/// `fileSystems`, `swapDevices`, md arrays, LUKS, ZFS, with a header naming
/// the layout and `command`, the command line that regenerates it. `layout`
/// gives what the plan does not carry (swap flags).
pub fn disks_module(
    plan: &Plan,
    observed: &Observed,
    layout: &Layout,
    command: &str,
) -> Result<String, Refusal> {
    let model = gather::gather(plan, observed, layout)?;
    let header = render::Header {
        layout: &plan.layout,
        command,
    };
    render::module(&header, &model)
}
