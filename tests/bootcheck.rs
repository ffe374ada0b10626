//! The boot check on fixture trees shaped like what NixOS's
//! generic-extlinux-compatible leaves in /boot, against the plan of the
//! shipped Helios64 layout, with sparse image files as the boot medium.

use nasstrap::bootcheck::{self, Finding, IDBLOADER_OFFSET, ITB_OFFSET, Rule, Verdict};
use nasstrap::layout;
use nasstrap::plan::{self, Options, Plan};
use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

fn plan_of(name: &str) -> Plan {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let loaded = layout::load_file(&root.join(format!("layouts/{name}.yaml")), &[])
        .unwrap_or_else(|r| panic!("{r}"));
    plan::build(&loaded, &Options::default()).unwrap_or_else(|r| panic!("{r}"))
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/bootcheck/{name}"))
}

/// A sparse 16 MiB image; with `firmware`, the headers U-Boot's mkimage
/// writes: header0 of Debian's rockpro64-rk3399 idbloader.img (encrypted,
/// its first 16 bytes) with "RK33" at 0x800, and a FIT's FDT header at 8 MiB.
fn medium(firmware: bool) -> File {
    let mut f = tempfile::tempfile().unwrap();
    f.set_len(16 << 20).unwrap();
    if firmware {
        let head = [
            0x3b, 0x8c, 0xdc, 0xfc, 0xbe, 0x9f, 0x9d, 0x51, 0xeb, 0x30, 0x34, 0xce, 0x24, 0x51,
            0x1f, 0x98,
        ];
        f.seek(SeekFrom::Start(IDBLOADER_OFFSET)).unwrap();
        f.write_all(&head).unwrap();
        f.seek(SeekFrom::Start(IDBLOADER_OFFSET + 0x800)).unwrap();
        f.write_all(b"RK33").unwrap();
        f.seek(SeekFrom::Start(ITB_OFFSET)).unwrap();
        f.write_all(&[0xd0, 0x0d, 0xfe, 0xed, 0, 0, 0x05, 0x78])
            .unwrap();
    }
    f
}

fn run(root: &Path, plan: &Plan, firmware: bool) -> Vec<Finding> {
    let found = bootcheck::check(root, plan, &mut medium(firmware));
    for f in &found {
        eprintln!("{f}");
    }
    found
}

fn of(found: &[Finding], rule: Rule) -> Vec<&Finding> {
    found.iter().filter(|f| f.rule == rule).collect()
}

#[test]
fn a_nixos_boot_with_firmware_boots() {
    let found = run(&fixture("good"), &plan_of("helios64"), true);
    let rules: Vec<_> = found.iter().map(|f| f.rule.name()).collect();
    assert_eq!(
        rules,
        [
            "extlinux", "dtb", "console", "kernel", "initrd", "firmware", "firmware"
        ]
    );
    assert!(found.iter().all(|f| f.verdict == Verdict::Ok), "{found:#?}");
    assert!(
        found[0]
            .message
            .contains("/extlinux/extlinux.conf on emmc partition 1")
    );
    assert!(found[1].message.contains("rk3399-kobol-helios64.dtb"));
    assert!(!bootcheck::has_problems(&found));
}

#[test]
fn console_on_ttys0_is_a_problem_with_the_fix() {
    let found = run(&fixture("ttys0"), &plan_of("helios64"), true);
    let c = of(&found, Rule::Console);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].verdict, Verdict::Problem);
    assert!(c[0].message.contains("console=ttyS0,115200n8"), "{}", c[0]);
    assert!(
        c[0].fix
            .as_deref()
            .unwrap()
            .contains(r#"boot.kernelParams = [ "console=ttyS2,1500000" ];"#)
    );
    assert!(bootcheck::has_problems(&found));
}

#[test]
fn fdtdir_without_the_board_dtb_is_a_problem() {
    let found = run(&fixture("no-dtb"), &plan_of("helios64"), true);
    let d = of(&found, Rule::Dtb);
    assert_eq!(d[0].verdict, Verdict::Problem, "{}", d[0]);
    assert!(
        d[0].message
            .contains("rockchip/rk3399-kobol-helios64.dtb does not exist")
    );
    assert!(
        d[0].fix
            .as_deref()
            .unwrap()
            .contains("hardware.deviceTree.name")
    );
}

#[test]
fn fdtdir_with_the_board_dtb_is_ok() {
    let found = run(&fixture("fdtdir"), &plan_of("helios64"), true);
    let d = of(&found, Rule::Dtb);
    assert_eq!(d[0].verdict, Verdict::Ok, "{}", d[0]);
    assert!(d[0].message.contains("FDTDIR ../nixos/"));
    assert!(d[0].message.contains("/boot/nixos/0fzm7xp6y3v6s0d0q8jn9yk4yw2wvl2h-linux-6.6.63-dtbs/rockchip/rk3399-kobol-helios64.dtb"));
}

#[test]
fn an_empty_gap_warns_that_the_box_will_not_boot_from_the_emmc() {
    let found = run(&fixture("good"), &plan_of("helios64"), false);
    let fw = of(&found, Rule::Firmware);
    assert_eq!(fw.len(), 2);
    for f in &fw {
        assert_eq!(f.verdict, Verdict::Warning);
        assert!(
            f.message.contains(
                "the box will not boot from emmc unless U-Boot is in SPI flash or another medium"
            ),
            "{f}"
        );
        assert!(
            f.fix
                .as_deref()
                .unwrap()
                .contains("nasstrap apply --firmware")
        );
    }
    assert!(fw[0].message.contains("sector 64"));
    assert!(fw[1].message.contains("sector 16384"));
}

#[test]
fn a_tree_without_extlinux_stops_at_the_extlinux_rule() {
    let empty = tempfile::tempdir().unwrap();
    let found = run(empty.path(), &plan_of("helios64"), true);
    let rules: Vec<_> = found.iter().map(|f| f.rule).collect();
    assert_eq!(rules, [Rule::Extlinux, Rule::Firmware, Rule::Firmware]);
    assert_eq!(found[0].verdict, Verdict::Problem);
    assert!(
        found[0].message.contains("emmc partition 1"),
        "{}",
        found[0]
    );
    assert!(found[0].message.contains("mounted at /boot"));
}

#[test]
fn without_the_bootable_attribute_u_boot_falls_back_to_partition_1() {
    let mut plan = plan_of("helios64");
    for d in &mut plan.disks {
        for p in d.table.iter_mut().flat_map(|t| t.partitions.iter_mut()) {
            p.attributes &= !(1 << 2);
        }
    }
    let found = run(&fixture("good"), &plan, true);
    let e = of(&found, Rule::Extlinux);
    assert_eq!(e[0].verdict, Verdict::Warning, "{}", e[0]);
    assert!(e[0].fix.as_deref().unwrap().contains("bootable: true"));
    // Partition 1 is /boot here, so extlinux.conf is found all the same.
    assert_eq!(e[1].verdict, Verdict::Ok);
}

#[test]
fn extlinux_on_a_partition_u_boot_does_not_scan_is_a_problem() {
    // The root partition is flagged instead of /boot: U-Boot looks on / for
    // /boot/extlinux/extlinux.conf and finds the empty mountpoint.
    let mut plan = plan_of("helios64");
    let emmc = plan.disks.iter_mut().find(|d| d.boot_medium).unwrap();
    for p in &mut emmc.table.as_mut().unwrap().partitions {
        p.attributes ^= 1 << 2;
    }
    let found = run(&fixture("good"), &plan, true);
    let e = of(&found, Rule::Extlinux);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].verdict, Verdict::Problem);
    assert!(e[0].message.contains("emmc partition 2"), "{}", e[0]);
    assert!(
        e[0].message
            .contains("/boot/extlinux/extlinux.conf exists, but on the filesystem mounted at /boot, which is not flagged bootable"),
        "{}",
        e[0]
    );
    assert!(of(&found, Rule::Dtb).is_empty());
}
