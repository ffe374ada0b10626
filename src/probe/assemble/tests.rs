use super::*;
use crate::probe::fixture;
use crate::probe::raw::DevLink;

pub(super) fn run(target: &str, stdout: String, status: i32) -> Captured {
    Captured {
        target: target.into(),
        stdout,
        status,
        stderr: String::new(),
    }
}

const BTRFS_UUID: &str = "c0ffee00-1234-4abc-8def-0123456789ab";

/// The loop-device scenario of `capture.sh`, as the collector would have captured it
/// (every tool output is the real capture; the GPT of loop0 is what sgdisk wrote).
pub(super) fn loop_scenario() -> RawProbe {
    let blkid_cases = [
        ("gpt-disk", "/dev/loop0"),
        ("gpt-p1", "/dev/loop0p1"),
        ("gpt-p2", "/dev/loop0p2"),
        ("gpt-p3", "/dev/loop0p3"),
        ("gpt-p4", "/dev/loop0p4"),
        ("mbr-disk", "/dev/loop1"),
        ("mbr-p1", "/dev/loop1p1"),
        ("bare", "/dev/loop2"),
        ("btrfs-a", "/dev/loop3"),
        ("btrfs-b", "/dev/loop4"),
        ("badgpt-disk", "/dev/loop5"),
        ("badgpt-p1", "/dev/loop5p1"),
        ("badgpt-p2", "/dev/loop5p2"),
        ("ambivalent", "/dev/loop6"),
    ];
    let blkid = blkid_cases
        .iter()
        .map(|(case, dev)| {
            let status = fixture(&format!("blkid/{case}.status"))
                .trim()
                .parse()
                .expect("a status file holds a number");
            run(dev, fixture(&format!("blkid/{case}.txt")), status)
        })
        .collect();
    let entry = |number, first_lba, last_lba, type_guid: &str, name: &str| GptEntry {
        number,
        first_lba,
        last_lba,
        type_guid: type_guid.into(),
        part_guid: format!("1A2B3C4D-000{number}-4000-8000-00000000000{number}"),
        name: name.into(),
        attributes: 0,
    };
    let loop0 = Gpt {
        disk_guid: "6E0D5C2A-0B1F-4E8B-9C4D-3F2A1B0C9D8E".into(),
        first_usable_lba: 34,
        last_usable_lba: 524254,
        primary_ok: true,
        backup_ok: true,
        entries: vec![
            entry(
                1,
                2048,
                133119,
                "0FC63DAF-8483-4772-8E79-3D69D8477DE4",
                "root",
            ),
            entry(
                2,
                133120,
                198655,
                "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F",
                "my swap",
            ),
            entry(
                3,
                198656,
                329727,
                "C12A7328-F81F-11D2-BA4B-00A0C93EC93B",
                "esp",
            ),
            entry(
                4,
                329728,
                524254,
                "CA7D7CCB-63ED-4C53-861C-1742536059CC",
                "cryptdata",
            ),
        ],
    };
    RawProbe {
        lsblk: fixture("lsblk/loop-scenario.json"),
        blkid,
        sysfs: serde_json::from_str(&fixture("sysfs/loop-scenario.json")).expect("sysfs fixture"),
        tables: [("loop0".to_string(), Table::Gpt(loop0))].into(),
        luks_dump: vec![
            run("/dev/loop0p4", fixture("luksdump/luks2.txt"), 0),
            run("/dev/loop5p1", fixture("luksdump/luks1.txt"), 0),
        ],
        proc_mounts: fixture("proc/mounts.txt"),
        proc_swaps: fixture("proc/swaps.txt"),
        btrfs_show: Some(fixture("btrfs/show-raid1-mounted.txt")),
        btrfs_subvolumes: vec![run(BTRFS_UUID, fixture("btrfs/subvolume-list.txt"), 0)],
        ..RawProbe::default()
    }
}

fn sig_type(s: &Option<Signature>) -> Option<&str> {
    s.as_ref().map(|s| s.fstype.as_str())
}

#[test]
fn loop_scenario_without_udev() {
    let obs = assemble(&loop_scenario()).unwrap();
    let names: Vec<&str> = obs.disks.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "loop0", "loop1", "loop2", "loop3", "loop4", "loop5", "loop6"
        ]
    );
    let [gpt, mbr, bare, btrfs_a, btrfs_b, badgpt, amb] = &obs.disks[..] else {
        unreachable!()
    };

    assert!(matches!(gpt.table, Table::Gpt(_)));
    // (number, start, PARTLABEL, fstype, first mountpoint)
    type Row<'a> = (u32, u64, Option<&'a str>, Option<&'a str>, Option<&'a str>);
    let parts: Vec<Row> = gpt
        .partitions
        .iter()
        .map(|p| {
            (
                p.number,
                p.start_sector,
                p.part_label.as_deref(),
                sig_type(&p.signature),
                p.mountpoints.first().map(String::as_str),
            )
        })
        .collect();
    assert_eq!(
        parts,
        [
            (
                1,
                2048,
                Some("root"),
                Some("ext4"),
                Some("/tmp/nasstrap-capture/mnt/root fs")
            ),
            (2, 133120, Some("my swap"), Some("swap"), Some("[SWAP]")),
            (3, 198656, Some("esp"), Some("vfat"), None),
            (4, 329728, Some("cryptdata"), Some("crypto_LUKS"), None),
        ]
    );
    // Signatures came from blkid: lsblk alone (no udev) knew none of this.
    let root = gpt.partitions[0].signature.clone().unwrap();
    assert_eq!(
        (root.label.as_deref(), root.uuid.as_deref()),
        (
            Some("root fs"),
            Some("3f1c2b4a-5d6e-4f70-8a9b-0c1d2e3f4a5b")
        )
    );
    assert_eq!(root.used_bytes, Some(14336));

    assert_eq!(mbr.table, Table::Mbr);
    assert_eq!(mbr.partitions[0].part_type.as_deref(), Some("0x83"));
    assert_eq!(
        (
            bare.table.clone(),
            bare.signature.clone(),
            bare.partitions.len()
        ),
        (Table::None, None, 0)
    );
    assert_eq!(
        (sig_type(&btrfs_a.signature), btrfs_a.mountpoints.as_slice()),
        (
            Some("btrfs"),
            &["/tmp/nasstrap-capture/mnt/data".to_string()][..]
        )
    );
    assert_eq!(
        (sig_type(&btrfs_b.signature), btrfs_b.mountpoints.len()),
        (Some("btrfs"), 0)
    );
    assert_eq!(badgpt.table, Table::Unknown("gpt (table not read)".into()));
    assert_eq!(sig_type(&amb.signature), Some(AMBIVALENT));
    assert!(
        obs.disks
            .iter()
            .all(|d| d.by_id.is_empty() && d.by_path.is_empty()),
        "loop devices are virtual"
    );

    let luks: Vec<(&str, u8, Option<&str>, Option<&str>)> = obs
        .luks
        .iter()
        .map(|l| {
            (
                l.device.as_str(),
                l.version,
                l.label.as_deref(),
                l.open_as.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        luks,
        [
            ("/dev/loop0p4", 2, Some("cryptdata"), None),
            ("/dev/loop5p1", 1, None, None)
        ]
    );
    assert_eq!(
        obs.btrfs,
        [BtrfsFs {
            uuid: BTRFS_UUID.into(),
            label: Some("data".into()),
            devices: vec!["/dev/loop3".into(), "/dev/loop4".into()],
            devids: vec![1, 2],
            total_devices: 2,
            subvolumes: ["@", "@home", "@home/projects", "@snapshots"]
                .map(String::from)
                .to_vec(),
        }]
    );
    assert_eq!(obs.swaps, ["/dev/loop0p2"]);
    assert_eq!(
        (obs.md_arrays.len(), obs.zpools.len(), obs.mounts.len()),
        (0, 0, 4)
    );
    insta::assert_json_snapshot!("loop_scenario", obs);
}

#[test]
fn btrfs_without_btrfs_progs_comes_from_blkid() {
    let raw = RawProbe {
        btrfs_show: None,
        ..loop_scenario()
    };
    let obs = assemble(&raw).unwrap();
    assert_eq!(obs.btrfs.len(), 1);
    assert_eq!(
        (obs.btrfs[0].devices.as_slice(), obs.btrfs[0].total_devices),
        (&["/dev/loop3".to_string(), "/dev/loop4".to_string()][..], 2)
    );
    assert_eq!(obs.btrfs[0].subvolumes.len(), 4);
}

/// The QEMU guest as the installer would find it after an install: udev running (lsblk
/// knows the filesystems), md RAID6 over five ATA disks, LUKS2 on the array, open, ext4
/// inside; eMMC stand-in on SDHCI. Handwritten; see the fixtures' README.
fn qemu_scenario() -> RawProbe {
    let md_blkid = "DEVNAME=/dev/md127\nVERSION=2\nUUID=5b0f3f2e-1c1a-4d8e-9a3f-2f6d7c8b9a01\nLABEL=cryptdata\nTYPE=crypto_LUKS\nUSAGE=crypto\n";
    let dm_blkid = "DEVNAME=/dev/mapper/cryptdata\nLABEL=data\nUUID=8c1d2e3f-4a5b-4c6d-8e7f-90a1b2c3d4e5\nVERSION=1.0\nTYPE=ext4\nUSAGE=filesystem\n";
    let mmc = Gpt {
        disk_guid: "4D3C2B1A-0F9E-4D8C-B7A6-958473625140".into(),
        first_usable_lba: 34,
        last_usable_lba: 2097118,
        primary_ok: true,
        backup_ok: false,
        entries: vec![GptEntry {
            number: 1,
            first_lba: 32768,
            last_lba: 557055,
            type_guid: "0FC63DAF-8483-4772-8E79-3D69D8477DE4".into(),
            part_guid: "9A8B7C6D-0001-4E5F-8A9B-000000000001".into(),
            name: "disk-emmc-boot".into(),
            attributes: 1 << 2,
        }],
    };
    RawProbe {
        lsblk: fixture("lsblk/qemu-md-luks-handwritten.json"),
        blkid: vec![run("/dev/md127", md_blkid.into(), 0), run("/dev/mapper/cryptdata", dm_blkid.into(), 0), run("/dev/sdb", String::new(), 4)],
        sysfs: serde_json::from_str(&fixture("sysfs/qemu-md-luks-handwritten.json")).expect("sysfs fixture"),
        ata_ports: (1..=5).map(|n| (format!("ata{n}"), n)).collect(),
        tables: [("mmcblk0".to_string(), Table::Gpt(mmc))].into(),
        mdstat: Some(fixture("mdstat/clean-handwritten.txt")),
        md_detail: vec![run("/dev/md127", fixture("mdadm/detail-raid6-clean-handwritten.txt"), 0)],
        luks_dump: vec![run("/dev/md127", fixture("luksdump/luks2.txt"), 0)],
        proc_mounts: "/dev/mmcblk0p2 /mnt ext4 rw,relatime 0 0\n/dev/mmcblk0p1 /mnt/boot ext4 rw,relatime 0 0\n/dev/mapper/cryptdata /mnt/srv ext4 rw,noatime 0 0\n".into(),
        proc_swaps: "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n".into(),
        ..RawProbe::default()
    }
}

#[test]
fn qemu_md_luks_with_derived_names() {
    let obs = assemble(&qemu_scenario()).unwrap();
    let names: Vec<&str> = obs.disks.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["sda", "sdb", "sdc", "sdd", "sde", "mmcblk0"]);
    let sda = &obs.disks[0];
    assert_eq!(
        (sda.model.as_deref(), sda.serial.as_deref()),
        (Some("QEMU HARDDISK"), Some("SATA0"))
    );
    assert_eq!(sda.by_id, ["/dev/disk/by-id/ata-QEMU_HARDDISK_SATA0"]);
    assert_eq!(
        sda.by_path,
        [
            "/dev/disk/by-path/platform-4010000000.pcie-pci-0000:00:03.0-ata-1.0",
            "/dev/disk/by-path/platform-4010000000.pcie-pci-0000:00:03.0-ata-1"
        ]
    );
    // Not read from the device, but udev's lsblk columns say gpt.
    assert_eq!(sda.table, Table::Unknown("gpt (table not read)".into()));
    let sda1 = &sda.partitions[0];
    assert_eq!(
        sda1.by_id,
        ["/dev/disk/by-id/ata-QEMU_HARDDISK_SATA0-part1"]
    );
    assert_eq!(
        sda1.by_path[0],
        "/dev/disk/by-path/platform-4010000000.pcie-pci-0000:00:03.0-ata-1.0-part1"
    );
    assert_eq!(
        (sda1.part_label.as_deref(), sig_type(&sda1.signature)),
        (Some("disk-bay1-data"), Some("linux_raid_member"))
    );
    assert_eq!(sda1.holders, ["md127"]);
    // blkid failed on sdb (exit 4): what is on it is unknown, not blank, and
    // udev's stale columns do not stand in for it.
    assert_eq!(
        (&obs.disks[1].table, obs.disks[1].unreadable.as_deref()),
        (
            &Table::Unknown("unreadable".into()),
            Some("blkid /dev/sdb exited with status 4")
        )
    );
    // sdb1 was not probed at all: lsblk's udev columns stand in.
    assert_eq!(
        sig_type(&obs.disks[1].partitions[0].signature),
        Some("linux_raid_member")
    );

    let mmc = &obs.disks[5];
    assert_eq!(mmc.by_id, ["/dev/disk/by-id/mmc-QEMU__0xdeadbeef"]);
    assert_eq!(
        mmc.by_path,
        ["/dev/disk/by-path/platform-4010000000.pcie-pci-0000:00:04.0"]
    );
    assert_eq!(
        (mmc.model.as_deref(), mmc.serial.as_deref()),
        (Some("QEMU!"), Some("0xdeadbeef"))
    );
    assert_eq!(mmc.partitions[1].mountpoints, ["/mnt"]);
    // p2 is not in the (handwritten) GPT read; lsblk's PARTLABEL stands in.
    assert_eq!(
        mmc.partitions[1].part_label.as_deref(),
        Some("disk-emmc-root")
    );

    let md = &obs.md_arrays[0];
    assert_eq!(
        (
            md.name.as_deref(),
            md.path.as_str(),
            md.level.as_str(),
            md.raid_devices
        ),
        (Some("tank"), "/dev/md127", "raid6", 5)
    );
    assert_eq!(
        (
            md.state.clone(),
            sig_type(&md.signature),
            md.holders.as_slice()
        ),
        (
            MdState::Clean,
            Some("crypto_LUKS"),
            &["dm-0".to_string()][..]
        )
    );
    let members: Vec<(&str, Option<u32>, &str)> = md
        .members
        .iter()
        .map(|m| (m.device.as_str(), m.role, m.state.as_str()))
        .collect();
    assert_eq!(
        members,
        [
            ("/dev/sde1", Some(4), "active"),
            ("/dev/sdd1", Some(3), "active"),
            ("/dev/sdc1", Some(2), "active"),
            ("/dev/sdb1", Some(1), "active"),
            ("/dev/sda1", Some(0), "active")
        ]
    );

    let luks = &obs.luks[0];
    assert_eq!(
        (luks.device.as_str(), luks.version, luks.open_as.as_deref()),
        ("/dev/md127", 2, Some("cryptdata"))
    );
    let open = luks.open.as_ref().unwrap();
    assert_eq!(
        (
            open.kname.as_str(),
            open.path.as_str(),
            open.mountpoints.as_slice()
        ),
        (
            "dm-0",
            "/dev/mapper/cryptdata",
            &["/mnt/srv".to_string()][..]
        )
    );
    assert_eq!(
        open.signature.as_ref().and_then(|s| s.label.as_deref()),
        Some("data")
    );
    insta::assert_json_snapshot!("qemu_md_luks", obs);
}

#[test]
fn udev_links_win_over_derived_names() {
    let link = |link: &str, target: &str| DevLink {
        link: link.into(),
        target: target.into(),
    };
    let raw = RawProbe {
        dev_disk_links: Some(vec![
            link("/dev/disk/by-path/platform-x-ata-1.0", "sda"),
            link("/dev/disk/by-id/ata-REAL_NAME", "sda"),
            link("/dev/disk/by-id/ata-REAL_NAME-part1", "sda1"),
        ]),
        ..qemu_scenario()
    };
    let obs = assemble(&raw).unwrap();
    let sda = &obs.disks[0];
    assert_eq!(
        (sda.by_id.as_slice(), sda.by_path.as_slice()),
        (
            &["/dev/disk/by-id/ata-REAL_NAME".to_string()][..],
            &["/dev/disk/by-path/platform-x-ata-1.0".to_string()][..]
        )
    );
    assert_eq!(
        sda.partitions[0].by_id,
        ["/dev/disk/by-id/ata-REAL_NAME-part1"]
    );
    assert_eq!(sda.partitions[0].by_path, Vec::<String>::new());
    // udev made no links for sdb: none are invented.
    assert_eq!(
        (obs.disks[1].by_id.len(), obs.disks[1].by_path.len()),
        (0, 0)
    );
}

#[test]
fn lsblk_crypt_child_when_sysfs_has_no_dm() {
    let mut raw = qemu_scenario();
    raw.sysfs.retain(|s| s.name != "dm-0");
    let obs = assemble(&raw).unwrap();
    assert_eq!(obs.luks[0].open_as.as_deref(), Some("cryptdata"));
    assert_eq!(
        obs.luks[0].open.as_ref().map(|m| m.kname.as_str()),
        Some("dm-0")
    );
}

#[test]
fn md_states_through_assemble() {
    let cases = [
        (
            "degraded",
            "detail-raid6-degraded",
            MdState::Degraded { missing: 1 },
            4,
        ),
        (
            "resync",
            "detail-raid6-clean",
            MdState::Resyncing { percent: 12.6 },
            5,
        ),
        ("inactive", "detail-inactive", MdState::Inactive, 2),
    ];
    for (mdstat, detail, state, members) in cases {
        let raw = RawProbe {
            mdstat: Some(fixture(&format!("mdstat/{mdstat}-handwritten.txt"))),
            md_detail: vec![run(
                "/dev/md127",
                fixture(&format!("mdadm/{detail}-handwritten.txt")),
                0,
            )],
            ..qemu_scenario()
        };
        let md = &assemble(&raw).unwrap().md_arrays[0];
        assert_eq!((&md.state, md.members.len()), (&state, members), "{mdstat}");
    }
    let raw = RawProbe {
        mdstat: Some(fixture("mdstat/inactive-handwritten.txt")),
        md_detail: vec![run(
            "/dev/md127",
            fixture("mdadm/detail-inactive-handwritten.txt"),
            0,
        )],
        ..qemu_scenario()
    };
    let md = &assemble(&raw).unwrap().md_arrays[0];
    let members: Vec<(&str, Option<u32>, &str)> = md
        .members
        .iter()
        .map(|m| (m.device.as_str(), m.role, m.state.as_str()))
        .collect();
    assert_eq!(
        members,
        [("/dev/sdb1", None, "spare"), ("/dev/sda1", None, "spare")]
    );
    assert_eq!(
        (md.level.as_str(), md.raid_devices, md.name.as_deref()),
        ("unknown", 2, Some("tank"))
    );
}

#[test]
fn zpools_from_the_zfs_tools() {
    let raw = RawProbe {
        zpool_list: Some(fixture("zfs/zpool-list-handwritten.txt")),
        zpool_status: Some(fixture("zfs/zpool-status-P-handwritten.txt")),
        zfs_list: Some(fixture("zfs/zfs-list-handwritten.txt")),
        ..qemu_scenario()
    };
    let pools = assemble(&raw).unwrap().zpools;
    assert_eq!(pools.len(), 2);
    assert_eq!(
        (
            pools[0].name.as_str(),
            pools[0].health.as_str(),
            pools[0].vdevs.len()
        ),
        ("tank", "DEGRADED", 7)
    );
    assert_eq!(
        pools[0].datasets,
        ["tank", "tank/home", "tank/home/alice", "tank/media"]
    );
    assert_eq!(
        (pools[1].vdevs.as_slice(), pools[1].datasets.as_slice()),
        (&["/dev/sdf1".to_string()][..], &["backup".to_string()][..])
    );
}

#[test]
fn json_round_trips() {
    // RawProbe crosses SSH as JSON; Observed is stored as a fixture: both must survive.
    let mut raw = qemu_scenario();
    raw.sysfs[0].vpd_pg89 = Some(crate::probe::sysfs::tests::vpd89(
        "QEMU HARDDISK",
        "SATA0",
        None,
    ));
    let back: RawProbe = serde_json::from_str(&serde_json::to_string(&raw).unwrap()).unwrap();
    assert_eq!(back, raw);
    let obs = assemble(&raw).unwrap();
    let back: Observed = serde_json::from_str(&serde_json::to_string(&obs).unwrap()).unwrap();
    assert_eq!(back, obs);
    // A minimal probe: everything but lsblk and the proc files may be missing.
    let minimal: RawProbe = serde_json::from_str(
        r#"{"lsblk": "{\"blockdevices\": []}", "proc_mounts": "", "proc_swaps": ""}"#,
    )
    .unwrap();
    assert_eq!(assemble(&minimal).unwrap().disks, []);
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    let cases: Vec<(RawProbe, &str)> = vec![
        (
            RawProbe {
                lsblk: "garbage".into(),
                ..qemu_scenario()
            },
            "malformed lsblk --json output: expected value at line 1 column 1",
        ),
        (
            RawProbe {
                blkid: vec![run("/dev/sda", "TYPE=ext4\n".into(), 0)],
                ..qemu_scenario()
            },
            "malformed blkid --output export output at line 1: record without DEVNAME",
        ),
        (
            RawProbe {
                proc_mounts: "rootfs\n".into(),
                ..qemu_scenario()
            },
            "malformed /proc/mounts output at line 1: expected at least 4 fields, got 1",
        ),
        (
            RawProbe {
                mdstat: Some("md0 : ???\n".into()),
                ..qemu_scenario()
            },
            "malformed /proc/mdstat output at line 1: expected active or inactive, got \"???\"",
        ),
        (
            RawProbe {
                luks_dump: vec![run("/dev/md127", "not luks\n".into(), 0)],
                ..qemu_scenario()
            },
            "malformed cryptsetup luksDump output at line 1: expected \"LUKS header information\", got \"not luks\"",
        ),
        (
            RawProbe {
                zpool_list: Some("x y\n".into()),
                ..qemu_scenario()
            },
            "malformed zpool list output at line 1: expected name<TAB>health, got \"x y\"",
        ),
    ];
    for (raw, want) in cases {
        assert_eq!(assemble(&raw).unwrap_err().to_string(), want);
    }
    // Failed runs (non-zero exit) are not parsed at all: the device is just known less.
    let raw = RawProbe {
        luks_dump: vec![run("/dev/md127", "garbage".into(), 1)],
        ..qemu_scenario()
    };
    assert_eq!(
        assemble(&raw).unwrap().luks[0].version,
        2,
        "falls back to blkid's VERSION"
    );
}
