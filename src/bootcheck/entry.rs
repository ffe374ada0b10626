//! Rules on the label U-Boot boots: `dtb`, `console`, `kernel`, `initrd`,
//! each a function of the label and the boot filesystem.

use super::extlinux::{self, Choice, Label};
use super::target::BootFs;
use super::{BOARD_DTB, Finding, Rule};
use std::fs;
use std::io::Read;

/// The kernel parameter the Helios64's serial console needs.
const CONSOLE: &str = "console=ttyS2,1500000";
/// The NixOS line that sets it.
const CONSOLE_FIX: &str = "boot.kernelParams = [ \"console=ttyS2,1500000\" ];";
/// The NixOS line that picks the board's device tree.
const DTB_FIX: &str = "hardware.deviceTree.name = \"rockchip/rk3399-kobol-helios64.dtb\"; with a kernel that builds it (mainline ≥ 5.11)";

/// Read extlinux.conf, pick the default label and run the label rules.
pub fn check(fs: &BootFs) -> Vec<Finding> {
    let text = match fs::read(fs.conf_path()) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(e) => {
            return vec![Finding::problem(
                Rule::Extlinux,
                format!("cannot read {}: {e}", fs.conf_path().display()),
            )];
        }
    };
    let cfg = extlinux::parse(&text);
    let mut out = Vec::new();
    let Some((label, how)) = cfg.default_label() else {
        out.push(
            Finding::problem(
                Rule::Extlinux,
                format!("{} has no LABEL: U-Boot has nothing to boot", fs.conf),
            )
            .with_fix("run nixos-install (or `nixos-rebuild boot`) with `boot.loader.generic-extlinux-compatible.enable = true;`"),
        );
        return out;
    };
    match how {
        Choice::Named => {}
        Choice::FirstNoDefault => out.push(Finding::warning(
            Rule::Extlinux,
            format!(
                "{} has no DEFAULT; U-Boot tries the labels in order, starting with `{}`",
                fs.conf, label.name
            ),
        )),
        Choice::FirstUnknownDefault => out.push(Finding::warning(
            Rule::Extlinux,
            format!(
                "DEFAULT `{}` names no LABEL in {}; U-Boot tries the labels in order, starting with `{}`",
                cfg.default.as_deref().unwrap_or_default(),
                fs.conf,
                label.name
            ),
        )),
    }
    if !cfg.includes.is_empty() {
        out.push(Finding::warning(
            Rule::Extlinux,
            format!(
                "{} includes {}, which this check does not follow",
                fs.conf,
                cfg.includes.join(", ")
            ),
        ));
    }
    out.push(dtb(fs, label));
    out.push(console(label));
    out.push(kernel(fs, label));
    out.push(initrd(fs, label));
    out
}

/// What is at a path on the boot partition.
enum Found {
    File(Vec<u8>),
    Dir,
    Missing,
}

/// Look a path up on the boot partition, reading the first bytes of a file.
fn look(fs: &BootFs, on_partition: &str) -> Found {
    let here = fs.here(on_partition);
    match fs::metadata(&here) {
        Ok(m) if m.is_dir() => Found::Dir,
        Ok(_) => {
            let mut head = Vec::new();
            match fs::File::open(&here).and_then(|f| f.take(64).read_to_end(&mut head)) {
                Ok(_) => Found::File(head),
                Err(_) => Found::Missing,
            }
        }
        Err(_) => Found::Missing,
    }
}

fn is_fdt(head: &[u8]) -> bool {
    head.starts_with(&[0xd0, 0x0d, 0xfe, 0xed])
}

/// `name` `path` (here: …) for messages.
fn shown(fs: &BootFs, keyword: &str, path: &str) -> String {
    let on = fs.resolve(path);
    format!("{keyword} {path} ({})", fs.here(&on).display())
}

/// Rule `dtb`: the device tree the label names exists, and is the Helios64's.
pub fn dtb(fs: &BootFs, l: &Label) -> Finding {
    let who = format!("label `{}`", l.name);
    if let Some(fdt) = &l.fdt {
        // U-Boot's label_boot takes FDT before FDTDIR.
        let what = shown(fs, "FDT", fdt);
        return match look(fs, &fs.resolve(fdt)) {
            Found::Missing | Found::Dir => Finding::problem(
                Rule::Dtb,
                format!("{who} names {what}, which does not exist: U-Boot skips the label"),
            )
            .with_fix(DTB_FIX),
            Found::File(h) if !is_fdt(&h) => Finding::problem(
                Rule::Dtb,
                format!("{who} names {what}, which is not a device tree blob"),
            ),
            Found::File(_) if !fdt.ends_with(BOARD_DTB) => Finding::warning(
                Rule::Dtb,
                format!("{who} names {what}, not the Helios64's {BOARD_DTB}"),
            )
            .with_fix(DTB_FIX),
            Found::File(_) => Finding::ok(Rule::Dtb, format!("{who} loads {what}")),
        };
    }
    if let Some(dir) = &l.fdtdir {
        let what = shown(fs, "FDTDIR", dir);
        if !matches!(look(fs, &fs.resolve(dir)), Found::Dir) {
            return Finding::problem(
                Rule::Dtb,
                format!("{who} names {what}, which is not a directory: U-Boot skips the label"),
            )
            .with_fix(DTB_FIX);
        }
        let board = format!("{}/{BOARD_DTB}", fs.resolve(dir));
        let here = fs.here(&board);
        return match look(fs, &board) {
            Found::File(h) if is_fdt(&h) => Finding::ok(
                Rule::Dtb,
                format!("{who} has {what}; U-Boot loads {BOARD_DTB} from it ({})", here.display()),
            ),
            Found::File(_) => Finding::problem(
                Rule::Dtb,
                format!("{} under {what} is not a device tree blob", BOARD_DTB),
            ),
            _ => Finding::problem(
                Rule::Dtb,
                format!(
                    "{who} has {what}, but {} does not exist there, and that is the file U-Boot's $fdtfile names: U-Boot skips the label",
                    BOARD_DTB
                ),
            )
            .with_fix(DTB_FIX),
        };
    }
    Finding::warning(
        Rule::Dtb,
        format!("{who} names no FDT or FDTDIR: the kernel gets whatever device tree U-Boot itself was built with, or none"),
    )
    .with_fix(DTB_FIX)
}

/// Rule `console`: the label's command line puts the console on ttyS2 at
/// 1500000 baud, and not on ttyS0, which breaks ttyS2's output on this board
/// (nixos-hardware PR #318's README).
pub fn console(l: &Label) -> Finding {
    let who = format!("label `{}`", l.name);
    let Some(append) = &l.append else {
        return Finding::warning(
            Rule::Console,
            format!("{who} has no APPEND: the kernel gets U-Boot's own bootargs, and no serial console on ttyS2"),
        )
        .with_fix(CONSOLE_FIX);
    };
    let consoles: Vec<&str> = append
        .split_whitespace()
        .filter_map(|w| w.strip_prefix("console="))
        .collect();
    let dev = |c: &&str| c.split(',').next().unwrap_or(c).to_string();
    if let Some(bad) = consoles.iter().find(|c| dev(c) == "ttyS0") {
        return Finding::problem(
            Rule::Console,
            format!("{who} has console={bad} in APPEND: on the Helios64 a console on ttyS0 breaks the serial output on ttyS2"),
        )
        .with_fix(format!("drop console=ttyS0 (added by the sd-image profile or a kexec installer) and set {CONSOLE_FIX}"));
    }
    let Some(s2) = consoles.iter().rposition(|c| dev(c) == "ttyS2") else {
        return Finding::warning(
            Rule::Console,
            format!("{who} has no console=ttyS2 in APPEND: no kernel or login output on the serial console (ttyS2 at 1500000 baud)"),
        )
        .with_fix(CONSOLE_FIX);
    };
    let baud: String = consoles[s2]
        .split(',')
        .nth(1)
        .unwrap_or("")
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    if baud != "1500000" {
        let had = if baud.is_empty() {
            "no speed".to_string()
        } else {
            baud
        };
        return Finding::warning(
            Rule::Console,
            format!("{who} has console={} ({had}): Kobol's U-Boot and the board's serial console run at 1500000 baud", consoles[s2]),
        )
        .with_fix(CONSOLE_FIX);
    }
    if s2 + 1 != consoles.len() {
        return Finding::warning(
            Rule::Console,
            format!(
                "{who} has {CONSOLE}, but console={} comes after it and becomes /dev/console, so systemd's output and the emergency shell go there instead",
                consoles[consoles.len() - 1]
            ),
        )
        .with_fix("put console=ttyS2,1500000 last in boot.kernelParams");
    }
    Finding::ok(
        Rule::Console,
        format!("{who} has console={} in APPEND", consoles[s2]),
    )
}

/// Rule `kernel`: the label's LINUX/KERNEL exists and looks like an arm64
/// kernel U-Boot can start.
pub fn kernel(fs: &BootFs, l: &Label) -> Finding {
    let who = format!("label `{}`", l.name);
    let Some(k) = &l.kernel else {
        return Finding::problem(Rule::Kernel, format!("{who} has no LINUX or KERNEL line"));
    };
    let what = shown(fs, "LINUX", k);
    match look(fs, &fs.resolve(k)) {
        Found::Missing | Found::Dir => Finding::problem(
            Rule::Kernel,
            format!("{who} names {what}, which does not exist: U-Boot skips the label"),
        )
        .with_fix(
            "run nixos-install again; /boot/nixos is filled when the bootloader is installed",
        ),
        // arm64 Image header: "ARM\x64" at 0x38 (Documentation/arch/arm64/booting.rst).
        Found::File(h) if h.get(0x38..0x3c) == Some(b"ARM\x64") => {
            Finding::ok(Rule::Kernel, format!("{who} loads {what}, an arm64 Image"))
        }
        Found::File(h) if is_fdt(&h) || h.starts_with(&[0x27, 0x05, 0x19, 0x56]) => {
            Finding::ok(Rule::Kernel, format!("{who} loads {what}, a FIT or uImage"))
        }
        Found::File(h) if h.starts_with(&[0x1f, 0x8b]) => Finding::warning(
            Rule::Kernel,
            format!(
                "{who} loads {what}, a gzip-compressed kernel: U-Boot's booti needs kernel_comp_addr_r for it"
            ),
        ),
        Found::File(_) => Finding::warning(
            Rule::Kernel,
            format!(
                "{who} loads {what}, which is not an arm64 Image (no ARM\\x64 magic at byte 0x38)"
            ),
        ),
    }
}

/// Rule `initrd`: the label's INITRD exists (NixOS's stage 1 lives there).
pub fn initrd(fs: &BootFs, l: &Label) -> Finding {
    let who = format!("label `{}`", l.name);
    let Some(i) = &l.initrd else {
        return Finding::problem(
            Rule::Initrd,
            format!(
                "{who} has no INITRD: NixOS's stage 1, which mounts / and starts init, lives in the initrd"
            ),
        );
    };
    let what = shown(fs, "INITRD", i);
    match look(fs, &fs.resolve(i)) {
        Found::File(h) if !h.is_empty() => Finding::ok(Rule::Initrd, format!("{who} loads {what}")),
        Found::File(_) => {
            Finding::problem(Rule::Initrd, format!("{who} names {what}, which is empty"))
        }
        _ => Finding::problem(
            Rule::Initrd,
            format!("{who} names {what}, which does not exist: U-Boot skips the label"),
        )
        .with_fix(
            "run nixos-install again; /boot/nixos is filled when the bootloader is installed",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bootcheck::Verdict;
    use std::path::Path;

    fn label(append: Option<&str>) -> Label {
        Label {
            name: "nixos-default".into(),
            append: append.map(String::from),
            ..Label::default()
        }
    }

    fn verdict(append: Option<&str>) -> Verdict {
        console(&label(append)).verdict
    }

    #[test]
    fn console_rule() {
        assert_eq!(verdict(Some("init=/x console=ttyS2,1500000")), Verdict::Ok);
        assert_eq!(verdict(Some("console=ttyS2,1500000n8")), Verdict::Ok);
        assert_eq!(
            verdict(Some("console=tty0 console=ttyS2,1500000")),
            Verdict::Ok
        );
        assert_eq!(
            verdict(Some("console=ttyS2,1500000 console=ttyS0")),
            Verdict::Problem
        );
        assert_eq!(verdict(Some("console=ttyS2,115200n8")), Verdict::Warning);
        assert_eq!(verdict(Some("console=ttyS2")), Verdict::Warning);
        assert_eq!(
            verdict(Some("console=ttyS2,1500000 console=tty0")),
            Verdict::Warning
        );
        assert_eq!(verdict(Some("init=/x loglevel=4")), Verdict::Warning);
        assert_eq!(verdict(None), Verdict::Warning);
        let f = console(&label(Some("quiet")));
        assert_eq!(f.fix.as_deref(), Some(CONSOLE_FIX));
    }

    fn fixture_fs(name: &str) -> BootFs {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bootcheck");
        BootFs {
            disk: "emmc".into(),
            number: 1,
            device: "/dev/mmcblk1p1".into(),
            mountpoint: "/boot".into(),
            dir: root.join(name).join("boot"),
            conf: "/extlinux/extlinux.conf".into(),
        }
    }

    #[test]
    fn label_rules_on_missing_files() {
        let fs = fixture_fs("good");
        let l = Label {
            kernel: Some("../nixos/nope-Image".into()),
            initrd: Some("/nixos/nope-initrd".into()),
            fdt: Some("/nixos/nope.dtb".into()),
            ..label(None)
        };
        assert_eq!(kernel(&fs, &l).verdict, Verdict::Problem);
        assert_eq!(initrd(&fs, &l).verdict, Verdict::Problem);
        assert_eq!(dtb(&fs, &l).verdict, Verdict::Problem);
        let bare = label(None);
        assert_eq!(kernel(&fs, &bare).verdict, Verdict::Problem);
        assert_eq!(initrd(&fs, &bare).verdict, Verdict::Problem);
        // No device tree named: U-Boot's own, or none.
        assert_eq!(dtb(&fs, &bare).verdict, Verdict::Warning);
    }

    #[test]
    fn a_kernel_that_is_not_an_image_is_a_warning() {
        let fs = fixture_fs("good");
        // The initrd is a file, but not an arm64 Image.
        let l = Label {
            kernel: Some(
                "../nixos/r7q2vb1hk0n4x3yc5d6p9wz8m1l2s3t4-initrd-linux-6.6.63-initrd".into(),
            ),
            ..label(None)
        };
        assert_eq!(kernel(&fs, &l).verdict, Verdict::Warning);
        // An FDT that is no device tree blob is a problem.
        let l = Label {
            fdt: Some("../nixos/0fzm7xp6y3v6s0d0q8jn9yk4yw2wvl2h-linux-6.6.63-Image".into()),
            ..label(None)
        };
        assert_eq!(dtb(&fs, &l).verdict, Verdict::Problem);
        let l = Label {
            fdtdir: Some("../nixos/missing-dtbs".into()),
            ..label(None)
        };
        assert_eq!(dtb(&fs, &l).verdict, Verdict::Problem);
    }
}
