use super::*;

/// A libata VPD page 0x89 with the given IDENTIFY strings (padded like the drive pads
/// them) and optional WWN words 108–111.
pub(crate) fn vpd89(model: &str, serial: &str, wwn: Option<[u16; 4]>) -> Vec<u8> {
    let mut page = vec![0u8; 572];
    page[1] = 0x89;
    page[2..4].copy_from_slice(&0x238u16.to_be_bytes());
    let mut put = |first_word: usize, words: usize, text: &str| {
        let padded = format!("{text:<width$}", width = 2 * words);
        for (i, pair) in padded.as_bytes().chunks(2).enumerate() {
            let w = u16::from_be_bytes([pair[0], pair[1]]);
            page[60 + 2 * (first_word + i)..][..2].copy_from_slice(&w.to_le_bytes());
        }
    };
    put(10, 10, serial);
    put(27, 20, model);
    if let Some(words) = wwn {
        for (i, w) in words.iter().enumerate() {
            page[60 + 2 * (108 + i)..][..2].copy_from_slice(&w.to_le_bytes());
        }
    }
    page
}

fn ports() -> BTreeMap<String, u32> {
    (1..=5).map(|n| (format!("ata{n}"), n)).collect()
}

// The QEMU guest's paths (reference/qemu-aarch64/guest-devices.log names them) and the
// Helios64's (rk3399: PCIe at f8000000 with the SATA controller behind a root port,
// eMMC at fe330000, SD at fe320000).
const QEMU_SDA: &str = "/sys/devices/platform/4010000000.pcie/pci0000:00/0000:00:03.0/ata1/host0/target0:0:0/0:0:0:0/block/sda";
const QEMU_SDE: &str = "/sys/devices/platform/4010000000.pcie/pci0000:00/0000:00:03.0/ata5/host4/target4:0:0/4:0:0:0/block/sde";
const QEMU_MMC: &str = "/sys/devices/platform/4010000000.pcie/pci0000:00/0000:00:04.0/mmc_host/mmc0/mmc0:aaaa/block/mmcblk0";
const H64_SDA: &str = "/sys/devices/platform/f8000000.pcie/pci0000:00/0000:00:00.0/0000:01:00.0/ata1/host0/target0:0:0/0:0:0:0/block/sda";
const H64_EMMC: &str = "/sys/devices/platform/fe330000.mmc/mmc_host/mmc1/mmc1:0001/block/mmcblk1";
const H64_EMMC_BOOT0: &str =
    "/sys/devices/platform/fe330000.mmc/mmc_host/mmc1/mmc1:0001/block/mmcblk1boot0";
const H64_SD: &str = "/sys/devices/platform/fe320000.mmc/mmc_host/mmc0/mmc0:59b4/block/mmcblk0";

#[test]
fn by_path_like_udev() {
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "sda",
            QEMU_SDA,
            &[
                "platform-4010000000.pcie-pci-0000:00:03.0-ata-1.0",
                "platform-4010000000.pcie-pci-0000:00:03.0-ata-1",
            ],
        ),
        (
            "sde",
            QEMU_SDE,
            &[
                "platform-4010000000.pcie-pci-0000:00:03.0-ata-5.0",
                "platform-4010000000.pcie-pci-0000:00:03.0-ata-5",
            ],
        ),
        (
            "mmcblk0",
            QEMU_MMC,
            &["platform-4010000000.pcie-pci-0000:00:04.0"],
        ),
        (
            "sda",
            H64_SDA,
            &[
                "platform-f8000000.pcie-pci-0000:01:00.0-ata-1.0",
                "platform-f8000000.pcie-pci-0000:01:00.0-ata-1",
            ],
        ),
        ("mmcblk1", H64_EMMC, &["platform-fe330000.mmc"]),
        (
            "mmcblk1boot0",
            H64_EMMC_BOOT0,
            &["platform-fe330000.mmc-boot0"],
        ),
        ("mmcblk0", H64_SD, &["platform-fe320000.mmc"]),
        // Behind a port multiplier (bus 2), and a second disk on a PATA-style target 1.
        (
            "sdf",
            "/sys/devices/pci0000:00/0000:00:1f.2/ata3/host2/target2:2:0/2:2:0:0/block/sdf",
            &["pci-0000:00:1f.2-ata-3.2.0", "pci-0000:00:1f.2-ata-3"],
        ),
        (
            "sdg",
            "/sys/devices/pci0000:00/0000:00:1f.2/ata3/host2/target2:0:1/2:0:1:0/block/sdg",
            &["pci-0000:00:1f.2-ata-3.1", "pci-0000:00:1f.2-ata-3"],
        ),
        // A platform AHCI with nested platform parents: only the nearest one counts.
        (
            "sda",
            "/sys/devices/platform/soc/fe000000.sata/ata1/host0/target0:0:0/0:0:0:0/block/sda",
            &[
                "platform-fe000000.sata-ata-1.0",
                "platform-fe000000.sata-ata-1",
            ],
        ),
    ];
    for (kname, syspath, want) in cases {
        let names = path_id(syspath, &ports())
            .map(|id| by_path_names(kname, &id))
            .unwrap_or_default();
        let want: Vec<String> = want
            .iter()
            .map(|n| format!("/dev/disk/by-path/{n}"))
            .collect();
        assert_eq!(names, want, "{syspath}");
    }
}

#[test]
fn no_by_path() {
    let cases = [
        // udev skips virtual devices.
        "/sys/devices/virtual/block/loop0",
        "/sys/devices/virtual/block/md127",
        // ATA port number unknown: udev gives up too.
        "/sys/devices/pci0000:00/0000:00:1f.2/ata9/host8/target8:0:0/8:0:0:0/block/sdh",
        // SCSI but not ATA (virtio-scsi, USB storage): not derived here.
        "/sys/devices/pci0000:00/0000:00:05.0/virtio2/host2/target2:0:0/2:0:0:0/block/sdb",
        // An MMC host on PCI with no platform parent has no known transport.
        "/sys/devices/pci0000:00/0000:00:04.0/mmc_host/mmc0/mmc0:aaaa/block/mmcblk0",
        "",
        "garbage",
        "/sys/block",
    ];
    for syspath in cases {
        assert_eq!(path_id(syspath, &ports()), None, "{syspath}");
    }
}

#[test]
fn ata_identity_and_by_id() {
    let qemu = ata_identity_from_vpd89(&vpd89("QEMU HARDDISK", "SATA0", None)).unwrap();
    assert_eq!(
        qemu,
        AtaIdentity {
            model: "QEMU HARDDISK".into(),
            serial: "SATA0".into(),
            wwn: None
        }
    );
    let wd = ata_identity_from_vpd89(&vpd89(
        "WDC WD40EFRX-68N32N0",
        "     WD-WCC7K1234567",
        Some([0x5001, 0x4ee0, 0x5abc, 0xdef0]),
    ))
    .unwrap();
    assert_eq!(
        wd,
        AtaIdentity {
            model: "WDC WD40EFRX-68N32N0".into(),
            serial: "WD-WCC7K1234567".into(),
            wwn: Some("0x50014ee05abcdef0".into())
        }
    );

    let cases: Vec<(IdFacts, &[&str])> = vec![
        (
            IdFacts {
                kname: "sda",
                syspath: QEMU_SDA,
                ata: Some(qemu),
                ..IdFacts::default()
            },
            &["ata-QEMU_HARDDISK_SATA0"],
        ),
        (
            IdFacts {
                kname: "sda",
                syspath: H64_SDA,
                wwn: wd.wwn.as_deref(),
                ata: Some(wd.clone()),
                ..IdFacts::default()
            },
            &[
                "ata-WDC_WD40EFRX-68N32N0_WD-WCC7K1234567",
                "wwn-0x50014ee05abcdef0",
            ],
        ),
        (
            IdFacts {
                kname: "sdb",
                syspath: H64_SDA,
                ata: Some(AtaIdentity {
                    model: "ST4000VN008-2DR166".into(),
                    serial: String::new(),
                    wwn: None,
                }),
                ..IdFacts::default()
            },
            &["ata-ST4000VN008-2DR166"],
        ),
        (
            IdFacts {
                kname: "mmcblk0",
                syspath: QEMU_MMC,
                mmc_name: Some("QEMU!"),
                mmc_serial: Some("0xdeadbeef"),
                ..IdFacts::default()
            },
            &["mmc-QEMU__0xdeadbeef"],
        ),
        (
            IdFacts {
                kname: "mmcblk1",
                syspath: H64_EMMC,
                mmc_name: Some("AJTD4R"),
                mmc_serial: Some("0x2a3b4c5d"),
                ..IdFacts::default()
            },
            &["mmc-AJTD4R_0x2a3b4c5d"],
        ),
        // The rule matches mmcblk[0-9] only: no by-id for boot areas or mmcblk10.
        (
            IdFacts {
                kname: "mmcblk1boot0",
                syspath: H64_EMMC_BOOT0,
                mmc_name: Some("AJTD4R"),
                mmc_serial: Some("0x1"),
                ..IdFacts::default()
            },
            &[],
        ),
        (
            IdFacts {
                kname: "mmcblk10",
                syspath: H64_EMMC,
                mmc_name: Some("AJTD4R"),
                mmc_serial: Some("0x1"),
                ..IdFacts::default()
            },
            &[],
        ),
        (
            IdFacts {
                kname: "loop0",
                syspath: "/sys/devices/virtual/block/loop0",
                ..IdFacts::default()
            },
            &[],
        ),
    ];
    for (facts, want) in cases {
        let want: Vec<String> = want
            .iter()
            .map(|n| format!("/dev/disk/by-id/{n}"))
            .collect();
        assert_eq!(by_id_names(&facts), want, "{facts:?}");
    }
    let disk = ["/dev/disk/by-id/ata-QEMU_HARDDISK_SATA0".to_string()];
    assert_eq!(
        partition_names(&disk, 2),
        ["/dev/disk/by-id/ata-QEMU_HARDDISK_SATA0-part2"]
    );
}

#[test]
fn sanitizing_like_udev() {
    let cases = [
        ("  WDC  WD40EFRX-68N32N0  ", "WDC_WD40EFRX-68N32N0"),
        ("QEMU!", "QEMU_"),
        ("a/b\\c", "a_b_c"),
        ("Ünïcode ok", "Ünïcode_ok"),
        ("#+-.:=@_", "#+-.:=@_"),
        ("\t\n", ""),
    ];
    for (raw, want) in cases {
        assert_eq!(udev_sanitize(raw), want, "{raw:?}");
    }
}

#[test]
fn vpd_pages_and_wwids() {
    let mut pg80 = vec![0, 0x80, 0, 20];
    pg80.extend_from_slice(b"     WD-WCC7K1234567");
    assert_eq!(serial_from_vpd80(&pg80).as_deref(), Some("WD-WCC7K1234567"));
    assert_eq!(
        serial_from_vpd80(&[0, 0x80, 0, 40, b'x']),
        None,
        "length beyond the page"
    );
    assert_eq!(serial_from_vpd80(&[0, 0x83, 0, 0]), None);
    assert_eq!(serial_from_vpd80(&[]), None);
    assert_eq!(
        ata_identity_from_vpd89(&vpd89("M", "S", None)[..100]),
        None,
        "truncated page"
    );
    assert_eq!(
        ata_identity_from_vpd89(&vpd89("", "S", None)),
        None,
        "no model"
    );
    assert_eq!(
        ata_identity_from_vpd89(&[0xff; 600]),
        None,
        "wrong page code"
    );
    assert_eq!(
        wwn_from_wwid("naa.50014EE05ABCDEF0\n").as_deref(),
        Some("0x50014ee05abcdef0")
    );
    assert_eq!(
        wwn_from_wwid("t10.ATA     QEMU HARDDISK                           SATA0"),
        None
    );
    assert_eq!(wwn_from_wwid("naa."), None);
}
