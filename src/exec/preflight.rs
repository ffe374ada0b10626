//! Preflight: before the first write, check that this machine has everything
//! the plan will use — programs, key files, kernel drivers and filesystems,
//! a terminal for passphrases. Each problem is a value (`Missing`) so the
//! diff can show them as notes and apply can refuse with all of them at once.

use crate::plan::needs::{self, Needs, package_of};
use std::fmt;

/// One thing the plan needs that this machine lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Missing {
    /// A program is not in `PATH`.
    Program {
        /// Its name.
        program: String,
        /// The Debian package that ships it.
        package: &'static str,
    },
    /// A LUKS key or passphrase file cannot be read.
    KeyFile {
        /// Its path on this machine.
        path: String,
        /// Why (the OS error).
        error: String,
    },
    /// A kernel driver is neither loaded nor available as a module.
    Driver {
        /// `md`, `dm-crypt`, `zfs`.
        driver: &'static str,
    },
    /// The kernel cannot mount this filesystem type (not built in, no module).
    Filesystem {
        /// `vfat`, `xfs`…
        fstype: String,
    },
    /// A passphrase must be typed but there is no terminal to type it on.
    NoTerminal {
        /// The LUKS volume whose `askPassword` needs it.
        volume: String,
    },
    /// The install target is of another architecture than the binary for it.
    Arch {
        /// What the target's `uname -m` says.
        found: String,
        /// What was expected, and why.
        want: String,
    },
    /// The install target has too little free memory to run from RAM.
    Memory {
        /// `MemAvailable`, MiB.
        available_mib: u64,
        /// At least this much, MiB.
        need_mib: u64,
    },
    /// No nasstrap binary for the target's architecture on this laptop.
    TargetBinary {
        /// The target's architecture.
        arch: String,
        /// Where it was looked for.
        looked: String,
    },
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Missing::Program { program, package } => {
                write!(f, "`{program}` is not installed (Debian package {package})")
            }
            Missing::KeyFile { path, error } => write!(f, "cannot read key file {path}: {error}"),
            Missing::Driver { driver } => write!(
                f,
                "the kernel has no {driver} driver (neither loaded nor available as a module)"
            ),
            Missing::Filesystem { fstype } => write!(
                f,
                "the kernel cannot mount {fstype} (neither built in nor available as a module)"
            ),
            Missing::Arch { found, want } => {
                write!(f, "the target is {found}; {want}")
            }
            Missing::Memory {
                available_mib,
                need_mib,
            } => write!(
                f,
                "the target has {available_mib} MiB of memory available; nasstrap needs {need_mib} MiB"
            ),
            Missing::TargetBinary { arch, looked } => write!(
                f,
                "no nasstrap for {arch}-linux on this machine (looked at {looked}); build one \
                 (e.g. `cargo build --release --target {arch}-unknown-linux-gnu`) and pass \
                 --target-binary PATH"
            ),
            Missing::NoTerminal { volume } => write!(
                f,
                "LUKS `{volume}` asks for its passphrase (askPassword), and there is no terminal to type it on; use passwordFile or run on a terminal"
            ),
        }
    }
}

/// What preflight may look at: where programs are, whether a person can type.
pub struct Machine {
    /// Directories searched for programs (`PATH`).
    pub path: Vec<std::path::PathBuf>,
    /// A person can answer prompts (stdin and stderr are terminals, no `--events json`).
    pub interactive: bool,
    /// The root of /proc, /sys and /lib/modules (`/` except in tests).
    pub root: std::path::PathBuf,
}

impl Machine {
    /// This machine, as the current process sees it.
    pub fn here(interactive: bool) -> Machine {
        // Exactly the PATH the steps' programs will be spawned with.
        let path: Vec<_> = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).collect())
            .unwrap_or_default();
        Machine {
            path,
            interactive,
            root: "/".into(),
        }
    }

    fn has_program(&self, program: &str) -> bool {
        self.path.iter().any(|d| d.join(program).is_file())
    }

    fn at(&self, p: &str) -> std::path::PathBuf {
        self.root.join(p.trim_start_matches('/'))
    }

    /// A driver or filesystem is there: loaded, built in, or a module on disk.
    /// When nothing can be told (no /proc/modules, no /lib/modules), assume yes:
    /// only what is checkable is checked.
    fn has_kernel(&self, sysfs_module: &str, proc_fs: Option<&str>, ko: &[&str]) -> bool {
        if self.at(&format!("/sys/module/{sysfs_module}")).exists() {
            return true;
        }
        if let Some(fs) = proc_fs
            && let Ok(t) = std::fs::read_to_string(self.at("/proc/filesystems"))
            && t.lines().any(|l| l.split_whitespace().last() == Some(fs))
        {
            return true;
        }
        let Ok(release) = std::fs::read_to_string(self.at("/proc/sys/kernel/osrelease")) else {
            return true;
        };
        let dir = self.at(&format!("/lib/modules/{}", release.trim()));
        let mut any_index = false;
        for index in ["modules.builtin", "modules.dep"] {
            let Ok(t) = std::fs::read_to_string(dir.join(index)) else {
                continue;
            };
            any_index = true;
            let found = t.lines().any(|l| {
                let file = l.split(':').next().unwrap_or("");
                let base = file.rsplit('/').next().unwrap_or("");
                let stem = base.split(".ko").next().unwrap_or("");
                ko.iter().any(|k| stem == *k || stem == k.replace('-', "_"))
            });
            if found {
                return true;
            }
        }
        !any_index
    }
}

fn driver_present(m: &Machine, driver: &'static str) -> bool {
    match driver {
        "md" => m.at("/proc/mdstat").exists() || m.has_kernel("md_mod", None, &["md-mod"]),
        "dm-crypt" => m.has_kernel("dm_crypt", None, &["dm-crypt"]),
        "zfs" => m.has_kernel("zfs", Some("zfs"), &["zfs"]),
        _ => true,
    }
}

fn filesystem_present(m: &Machine, fstype: &str) -> bool {
    let module = match fstype {
        "vfat" => "vfat",
        "swap" => return true,
        other => other,
    };
    m.has_kernel(module, Some(fstype), &[module])
}

/// Everything in `needs` this machine lacks, in a stable order.
pub fn missing(needs: &Needs, m: &Machine) -> Vec<Missing> {
    let mut out = Vec::new();
    for p in &needs.programs {
        if !m.has_program(p) {
            out.push(Missing::Program {
                program: p.clone(),
                package: package_of(p),
            });
        }
    }
    for k in &needs.key_files {
        if let Err(e) = std::fs::File::open(k) {
            out.push(Missing::KeyFile {
                path: k.clone(),
                error: e.to_string(),
            });
        }
    }
    for d in &needs.drivers {
        if !driver_present(m, d) {
            out.push(Missing::Driver { driver: d });
        }
    }
    for fs in &needs.mounts {
        if !filesystem_present(m, fs) {
            out.push(Missing::Filesystem { fstype: fs.clone() });
        }
    }
    if !m.interactive {
        for a in &needs.passphrases {
            out.push(Missing::NoTerminal {
                volume: a.name.clone(),
            });
        }
    }
    out
}

/// Preflight of a whole plan on this machine.
pub fn check(plan: &crate::plan::Plan, m: &Machine) -> Vec<Missing> {
    missing(&needs::of(plan), m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::needs::AskedKey;
    use std::fs;
    use std::path::Path;

    fn fake_root() -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        fs::create_dir_all(r.join("proc/sys/kernel")).unwrap();
        fs::write(r.join("proc/sys/kernel/osrelease"), "6.1.0-test\n").unwrap();
        fs::write(r.join("proc/filesystems"), "nodev\ttmpfs\n\text4\n").unwrap();
        fs::create_dir_all(r.join("lib/modules/6.1.0-test")).unwrap();
        fs::write(
            r.join("lib/modules/6.1.0-test/modules.dep"),
            "kernel/drivers/md/dm-crypt.ko.xz: kernel/drivers/md/dm-mod.ko.xz\nkernel/fs/xfs/xfs.ko.xz:\n",
        )
        .unwrap();
        fs::write(
            r.join("lib/modules/6.1.0-test/modules.builtin"),
            "kernel/drivers/md/md-mod.ko\n",
        )
        .unwrap();
        fs::create_dir_all(r.join("bin")).unwrap();
        fs::write(r.join("bin/mkfs.ext4"), "").unwrap();
        t
    }

    fn machine(root: &Path, interactive: bool) -> Machine {
        Machine {
            path: vec![root.join("bin")],
            interactive,
            root: root.to_path_buf(),
        }
    }

    #[test]
    fn reports_every_missing_thing_with_its_package() {
        let t = fake_root();
        let m = machine(t.path(), false);
        let mut n = Needs::default();
        n.programs.extend(["mkfs.ext4".into(), "mkfs.vfat".into()]);
        n.key_files.insert("/nonexistent/key".into());
        n.drivers.extend(["md", "dm-crypt", "zfs"]);
        n.mounts
            .extend(["ext4".into(), "xfs".into(), "vfat".into()]);
        n.passphrases.push(AskedKey {
            name: "crypted".into(),
            new: true,
        });
        let got: Vec<String> = missing(&n, &m).iter().map(|x| x.to_string()).collect();
        assert_eq!(
            got,
            [
                "`mkfs.vfat` is not installed (Debian package dosfstools)",
                "cannot read key file /nonexistent/key: No such file or directory (os error 2)",
                "the kernel has no zfs driver (neither loaded nor available as a module)",
                "the kernel cannot mount vfat (neither built in nor available as a module)",
                "LUKS `crypted` asks for its passphrase (askPassword), and there is no terminal to type it on; use passwordFile or run on a terminal",
            ]
        );
    }

    #[test]
    fn a_terminal_answers_for_passphrases() {
        let t = fake_root();
        let mut n = Needs::default();
        n.passphrases.push(AskedKey {
            name: "crypted".into(),
            new: false,
        });
        assert!(missing(&n, &machine(t.path(), true)).is_empty());
    }

    #[test]
    fn without_module_indexes_the_kernel_is_not_judged() {
        let t = tempfile::tempdir().unwrap();
        let mut n = Needs::default();
        n.drivers.insert("zfs");
        n.mounts.insert("vfat".into());
        assert!(missing(&n, &machine(t.path(), true)).is_empty());
    }
}
