//! After `nixos-install`: will a Helios64 boot from what was installed, and
//! if not, precisely why. Each rule is a small function over the installed
//! tree (mounted under a root such as `/mnt`), the plan and the raw bytes of
//! the boot medium, and yields [`Finding`]s; nothing here spawns or writes.
//!
//! The chain checked is the one the board runs (the Helios64 research notes,
//! helios64.md §1.4–1.5): the BootROM loads idbloader from
//! sector 64, SPL loads u-boot.itb from sector 16384, and U-Boot's distro
//! boot looks on partitions carrying GPT attribute bit 2 for
//! `/extlinux/extlinux.conf`, then `/boot/extlinux/extlinux.conf`, and boots
//! the default label with its kernel, initrd, device tree and command line.

pub mod entry;
pub mod extlinux;
mod firmware;
mod target;

pub use firmware::{IDBLOADER_OFFSET, ITB_OFFSET};
pub use target::BootFs;

use crate::plan::Plan;
use serde::Serialize;
use std::fmt;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

/// The Helios64's device tree, relative to a dtbs directory (U-Boot's
/// `CONFIG_DEFAULT_FDT_FILE`, so `$fdtfile`, in Kobol's board port).
pub const BOARD_DTB: &str = "rockchip/rk3399-kobol-helios64.dtb";

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// As it should be.
    Ok,
    /// May boot, or boots without something wanted (e.g. a serial console).
    Warning,
    /// Will not boot this way.
    Problem,
}

/// The rule a finding comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Rule {
    /// extlinux.conf on the bootable partition, and its default label.
    Extlinux,
    /// The device tree the default label names.
    Dtb,
    /// The serial console on the kernel command line.
    Console,
    /// The kernel the default label names.
    Kernel,
    /// The initrd the default label names.
    Initrd,
    /// idbloader and u-boot.itb in the boot medium's first 16 MiB.
    Firmware,
}

impl Rule {
    /// The rule's name, as shown and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Rule::Extlinux => "extlinux",
            Rule::Dtb => "dtb",
            Rule::Console => "console",
            Rule::Kernel => "kernel",
            Rule::Initrd => "initrd",
            Rule::Firmware => "firmware",
        }
    }
}

/// One rule's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Which rule.
    pub rule: Rule,
    /// Ok, warning or problem.
    pub verdict: Verdict,
    /// A sentence for people.
    pub message: String,
    /// What to change, when something should change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Finding {
    fn new(rule: Rule, verdict: Verdict, message: impl Into<String>) -> Self {
        Finding {
            rule,
            verdict,
            message: message.into(),
            fix: None,
        }
    }

    /// An ok finding.
    pub fn ok(rule: Rule, message: impl Into<String>) -> Self {
        Self::new(rule, Verdict::Ok, message)
    }

    /// A warning.
    pub fn warning(rule: Rule, message: impl Into<String>) -> Self {
        Self::new(rule, Verdict::Warning, message)
    }

    /// A problem.
    pub fn problem(rule: Rule, message: impl Into<String>) -> Self {
        Self::new(rule, Verdict::Problem, message)
    }

    /// The same finding with a fix.
    pub fn with_fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Ok => "ok",
            Verdict::Warning => "warning",
            Verdict::Problem => "problem",
        })
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:<7} {}: {}",
            self.verdict.to_string(),
            self.rule,
            self.message
        )?;
        if let Some(fix) = &self.fix {
            write!(f, "\n        fix: {fix}")?;
        }
        Ok(())
    }
}

/// Reading the boot medium at byte offsets; any `Read + Seek` (a block
/// device, an image file) is one.
pub trait ReadAt {
    /// Fill as much of `buf` as the medium has from `offset`; fewer bytes
    /// than asked only at its end.
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<usize>;
}

impl<T: Read + Seek> ReadAt for T {
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        self.seek(SeekFrom::Start(offset))?;
        let mut got = 0;
        while got < buf.len() {
            match self.read(&mut buf[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(got)
    }
}

/// Check that the system installed under `root` (where the plan's
/// filesystems are mounted, e.g. `/mnt`) boots on a Helios64: extlinux.conf
/// on the bootable partition, the default label's device tree, console,
/// kernel and initrd, and the firmware on `medium` (the plan's boot medium).
/// When no extlinux.conf is found, the label rules have nothing to look at
/// and the extlinux finding says why.
pub fn check(root: &Path, plan: &Plan, medium: &mut dyn ReadAt) -> Vec<Finding> {
    let (fs, mut out) = target::locate(root, plan);
    if let Some(fs) = fs {
        out.extend(entry::check(&fs));
    }
    out.extend(firmware::check(plan, medium));
    out
}

/// [`check`] for the command line: plan `loaded` with its filesystems
/// mounted under `root` (sizes do not matter here, so none are probed) and
/// read the boot medium's device itself, read-only.
pub fn installed(loaded: &crate::layout::Loaded, root: &Path) -> anyhow::Result<Vec<Finding>> {
    use anyhow::Context;
    let opts = crate::plan::Options {
        mount_root: root.display().to_string(),
        ignore_expect: true,
        ..Default::default()
    };
    let plan = crate::plan::build(loaded, &opts).map_err(|r| anyhow::anyhow!("{r}"))?;
    let Some(disk) = plan.disks.iter().find(|d| d.boot_medium) else {
        return Ok(check(root, &plan, &mut io::empty()));
    };
    let mut dev = std::fs::File::open(&disk.device)
        .with_context(|| format!("opening the boot medium {}", disk.device))?;
    Ok(check(root, &plan, &mut dev))
}

/// True when some finding says the box will not boot.
pub fn has_problems(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.verdict == Verdict::Problem)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findings_read_as_sentences() {
        let f = Finding::problem(Rule::Console, "APPEND has console=ttyS0")
            .with_fix("boot.kernelParams = [ \"console=ttyS2,1500000\" ];");
        assert_eq!(
            f.to_string(),
            "problem console: APPEND has console=ttyS0\n        fix: boot.kernelParams = [ \"console=ttyS2,1500000\" ];"
        );
        assert_eq!(
            Finding::ok(Rule::Dtb, "fine").to_string(),
            "ok      dtb: fine"
        );
        let json = serde_json::to_string(&Finding::warning(Rule::Firmware, "x")).unwrap();
        assert_eq!(
            json,
            r#"{"rule":"firmware","verdict":"warning","message":"x"}"#
        );
    }

    #[test]
    fn short_reads_stop_at_the_end() {
        let mut c = io::Cursor::new(vec![1u8, 2, 3]);
        let mut buf = [0u8; 8];
        assert_eq!(c.read_at(1, &mut buf).unwrap(), 2);
        assert_eq!(&buf[..2], &[2, 3]);
        assert_eq!(c.read_at(10, &mut buf).unwrap(), 0);
    }
}
