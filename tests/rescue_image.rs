//! The rescue USB image for the real Helios64 (`qemu/build-rescue-image.sh`), built with a
//! fresh login key and read back without QEMU and without mounting: a GPT with one bootable
//! ext4 partition at 16 MiB, an extlinux.conf that nasstrap's own boot check passes (the
//! board's DTB, its serial console, an arm64 Image, an initrd), and an initramfs whose
//! per-image overlay holds exactly the key the build printed. Skips like the QEMU tests
//! (it needs the prepared guest; see `common::skip`).

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use common::rescue::{self, CpioFile, FIRST_LBA, LABEL};
use nasstrap::bootcheck::entry;
use nasstrap::bootcheck::extlinux::{self, Choice};
use nasstrap::bootcheck::{BOARD_DTB, BootFs, Rule, Verdict};

/// GPT type "Linux filesystem" (sgdisk's 8300).
const LINUX_FS: &str = "0FC63DAF-8483-4772-8E79-3D69D8477DE4";
const HOST_KEY: &str = "etc/ssh/ssh_host_ed25519_key";

#[test]
fn the_rescue_image_boots_the_helios64_as_uboot_reads_it() {
    if rescue::skip() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let built = rescue::build(dir.path());
    let image = &built.image;

    // The script's temp files are gone, and the image (it holds a private key) is private.
    let left: Vec<_> = fs::read_dir(&built.tmp).unwrap().collect();
    assert!(left.is_empty(), "the build left {left:?} in its TMPDIR");
    let mode = fs::metadata(image).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "image mode {mode:o}");

    // One partition, at 16 MiB, flagged bootable for U-Boot's `part list -bootable`.
    let (parts, both_copies_ok) = rescue::partitions(image);
    assert!(both_copies_ok, "primary and backup GPT check out");
    assert_eq!(parts.len(), 1, "{parts:?}");
    let p = &parts[0];
    assert_eq!((p.number, p.first_lba), (1, FIRST_LBA));
    assert_ne!(
        p.attributes & (1 << 2),
        0,
        "legacy BIOS bootable: {:#x}",
        p.attributes
    );
    assert_eq!((p.name.as_str(), p.type_guid.as_str()), (LABEL, LINUX_FS));
    let len = fs::metadata(image).unwrap().len();
    assert!(
        (p.last_lba + 1) * 512 <= len - 33 * 512,
        "partition within the image"
    );

    // ext4, labelled, without the features older U-Boot ext4 readers do not know.
    let offset = rescue::offset(image);
    let sb = read_at(image, offset + 1024, 1024);
    let le32 = |o: usize| u32::from_le_bytes(sb[o..o + 4].try_into().unwrap());
    assert_eq!(&sb[0x38..0x3a], &[0x53, 0xef], "ext4 superblock magic");
    let label = String::from_utf8_lossy(&sb[0x78..0x88]);
    assert_eq!(label.trim_end_matches('\0'), LABEL);
    let (compat, incompat, ro_compat) = (le32(0x5c), le32(0x60), le32(0x64));
    assert_ne!(incompat & 0x40, 0, "extents (an ext4 partition)");
    assert_eq!(incompat & 0x80, 0, "no 64bit");
    assert_eq!(ro_compat & 0x400, 0, "no metadata_csum");
    assert_eq!(compat & 0x4, 0, "no journal");

    // extlinux.conf as U-Boot's sysboot reads it.
    let conf = rescue::cat(image, offset, "/extlinux/extlinux.conf");
    let conf = String::from_utf8(conf).expect("utf-8 extlinux.conf");
    let cfg = extlinux::parse(&conf);
    let (label, how) = cfg.default_label().expect("a label");
    assert_eq!(how, Choice::Named, "{conf}");
    assert_eq!(label.kernel.as_deref(), Some("/Image"));
    assert_eq!(label.initrd.as_deref(), Some("/initrd.img"));
    assert_eq!(
        label.fdt.as_deref(),
        Some(format!("/dtbs/{BOARD_DTB}").as_str())
    );
    let append = label.append.clone().unwrap_or_default();
    let words: Vec<&str> = append.split_whitespace().collect();
    for want in [
        "console=ttyS2,1500000",
        "nasstrap.net=dhcp",
        "net.ifnames=0",
    ] {
        assert!(words.contains(&want), "{want} in APPEND {append:?}");
    }

    // The files it names, copied out of the partition: nasstrap's boot-check rules on them.
    let tree = dir.path().join("partition");
    fs::create_dir(&tree).unwrap();
    let request = format!(
        "rdump /extlinux /dtbs /Image /initrd.img {}",
        tree.display()
    );
    rescue::debugfs(image, offset, &request);
    let boot = BootFs {
        disk: "usb".into(),
        number: 1,
        device: "/dev/sda1".into(),
        mountpoint: "/".into(),
        dir: tree.clone(),
        conf: "/extlinux/extlinux.conf".into(),
    };
    let findings = entry::check(&boot);
    for f in &findings {
        eprintln!("{f}");
    }
    let rules: Vec<Rule> = findings.iter().map(|f| f.rule).collect();
    assert_eq!(
        rules,
        [Rule::Dtb, Rule::Console, Rule::Kernel, Rule::Initrd]
    );
    assert!(
        findings.iter().all(|f| f.verdict == Verdict::Ok),
        "{findings:#?}"
    );

    // The device tree is the board's.
    let dtb = fs::read(tree.join("dtbs").join(BOARD_DTB)).unwrap();
    let compatible = root_compatible(&dtb);
    assert!(
        compatible.iter().any(|c| c == "kobol,helios64"),
        "{compatible:?}"
    );

    initramfs_holds_this_images_keys(&tree.join("initrd.img"), &built);
}

/// The base archive is the shared, key-free one; the overlay after it holds the login key
/// given at build time, the one host key whose fingerprint the build printed, and nasstrap.
fn initramfs_holds_this_images_keys(initrd: &Path, built: &rescue::Built) {
    let keep = |n: &str| {
        [
            HOST_KEY,
            "root/.ssh/authorized_keys",
            "etc/hostname",
            "etc/nasstrap/modules",
        ]
        .contains(&n)
            || n == "usr/local/bin/nasstrap"
            || n.starts_with("etc/ssh/ssh_host_")
    };
    let entries = rescue::initramfs_entries(initrd, keep);
    let archives = entries.last().map_or(0, |e| e.archive + 1);
    assert_eq!(archives, 2, "base + overlay");
    let find = |archive: usize, name: &str| -> Option<&CpioFile> {
        entries
            .iter()
            .find(|e| e.archive == archive && e.name == name)
    };

    // Base: the board's drivers and the DHCP hook, and nothing per image.
    assert!(find(0, "etc/nasstrap/udhcpc.script").is_some());
    let modules = find(0, "etc/nasstrap/modules").and_then(|e| e.data.clone());
    let modules = String::from_utf8(modules.expect("module list")).unwrap();
    for m in [
        "dwmac_rk",
        "sdhci_of_arasan",
        "phy_rockchip_pcie",
        "dwc3",
        "usb_storage",
    ] {
        assert!(modules.lines().any(|l| l == m), "{m} in the module list");
    }
    let per_image = |e: &&CpioFile| {
        e.name.starts_with("etc/ssh/ssh_host_")
            || e.name == "root/.ssh/authorized_keys"
            || e.name == "usr/local/bin/nasstrap"
    };
    let leaked: Vec<_> = entries
        .iter()
        .filter(|e| e.archive == 0)
        .filter(per_image)
        .collect();
    assert!(
        leaked.is_empty(),
        "per-image files in the shared base: {leaked:?}"
    );

    // Overlay: root's keys, private.
    let auth = find(1, "root/.ssh/authorized_keys").expect("authorized_keys");
    assert_eq!(auth.mode, 0o100600);
    let login_pub = fs::read(built.login_key.with_extension("pub")).unwrap();
    assert_eq!(auth.data.as_deref(), Some(login_pub.as_slice()));
    for private_dir in ["root", "root/.ssh"] {
        let d = find(1, private_dir).unwrap_or_else(|| panic!("{private_dir} in the overlay"));
        assert_eq!(d.mode, 0o40700, "{private_dir}");
    }

    // Exactly one private host key, and it is the one the build printed.
    let keys: Vec<_> = entries
        .iter()
        .filter(|e| e.name.starts_with("etc/ssh/ssh_host_") && !e.name.ends_with(".pub"))
        .collect();
    assert_eq!(keys.len(), 1, "{keys:?}");
    let (key, pubkey) = (keys[0], find(1, &format!("{HOST_KEY}.pub")).expect(".pub"));
    assert_eq!(
        (key.archive, key.name.as_str(), key.mode),
        (1, HOST_KEY, 0o100600)
    );
    let key_file = tempfile::NamedTempFile::new().unwrap();
    fs::write(key_file.path(), key.data.as_deref().unwrap()).unwrap();
    let lf = Command::new("ssh-keygen")
        .arg("-lf")
        .arg(key_file.path())
        .output();
    let lf = String::from_utf8(lf.expect("ssh-keygen -lf").stdout).unwrap();
    assert_eq!(
        lf.split_whitespace().nth(1),
        Some(built.host_key.as_str()),
        "{lf}"
    );
    let pubkey = String::from_utf8(pubkey.data.clone().unwrap()).unwrap();
    let pub_fields: Vec<&str> = pubkey.split_whitespace().take(2).collect();
    let line: Vec<&str> = built.known_hosts.split_whitespace().collect();
    assert_eq!(
        line[1..],
        pub_fields[..],
        "known_hosts line is the image's host key"
    );

    // nasstrap: a static aarch64 ELF, executable.
    let bin = find(1, "usr/local/bin/nasstrap").expect("nasstrap in the overlay");
    assert_eq!(bin.mode, 0o100755);
    let elf = bin.data.as_deref().unwrap();
    assert_eq!((&elf[..4], elf[18]), (&b"\x7fELF"[..], 0xb7), "aarch64 ELF");
    let hostname = find(1, "etc/hostname")
        .and_then(|e| e.data.clone())
        .unwrap();
    assert_eq!(
        String::from_utf8(hostname).unwrap().trim(),
        "helios64-rescue"
    );
}

fn read_at(path: &Path, at: u64, len: usize) -> Vec<u8> {
    use std::os::unix::fs::FileExt;
    let mut buf = vec![0u8; len];
    let file = fs::File::open(path).unwrap();
    file.read_exact_at(&mut buf, at).unwrap();
    buf
}

/// The root node's `compatible` strings of a flattened device tree (devicetree spec v0.4,
/// §5: header, then the structure block of BEGIN_NODE/PROP/END_NODE tokens).
fn root_compatible(dtb: &[u8]) -> Vec<String> {
    let be = |o: usize| u32::from_be_bytes(dtb[o..o + 4].try_into().unwrap()) as usize;
    assert_eq!(be(0), 0xd00d_feed, "FDT magic");
    let (mut p, strings) = (be(8), be(12));
    let cstr = |at: usize| {
        let end = dtb[at..].iter().position(|b| *b == 0).unwrap();
        &dtb[at..at + end]
    };
    let mut depth = 0;
    loop {
        let token = be(p);
        p += 4;
        match token {
            1 => {
                p += (cstr(p).len() + 1).next_multiple_of(4);
                depth += 1;
            }
            2 => {
                depth -= 1;
                if depth == 0 {
                    return Vec::new();
                }
            }
            3 => {
                let (len, name) = (be(p), cstr(strings + be(p + 4)));
                p += 8;
                if depth == 1 && name == b"compatible" {
                    let value = &dtb[p..p + len];
                    return value
                        .split(|b| *b == 0)
                        .filter(|s| !s.is_empty())
                        .map(|s| String::from_utf8_lossy(s).into_owned())
                        .collect();
                }
                p += len.next_multiple_of(4);
            }
            4 => {}
            _ => return Vec::new(),
        }
    }
}
