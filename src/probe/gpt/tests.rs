//! Tables written by the real tools (sgdisk, sfdisk, mkfs.vfat) into sparse image files,
//! then damaged byte by byte. These tools need no root on plain files.

use std::fs::File;
use std::io::Cursor;
use std::os::unix::fs::FileExt;
use std::process::Command;

use super::*;

const MIB: u64 = 1 << 20;
const DISK_GUID: &str = "6E0D5C2A-0B1F-4E8B-9C4D-3F2A1B0C9D8E";

fn image(size: u64) -> tempfile::NamedTempFile {
    let f = tempfile::NamedTempFile::new().expect("creating a temp image");
    f.as_file().set_len(size).expect("sizing the temp image");
    f
}

fn run(tool: &str, args: &[&str], stdin: Option<&str>) {
    let mut cmd = Command::new(tool);
    cmd.args(args).stdout(std::process::Stdio::null());
    let out = match stdin {
        None => cmd.output(),
        Some(text) => {
            use std::io::Write as _;
            let mut child = cmd
                .stdin(std::process::Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| panic!("{tool} is needed for this test: {e}"));
            child.stdin.take().map(|mut s| s.write_all(text.as_bytes()));
            child.wait_with_output()
        }
    };
    let out = out.unwrap_or_else(|e| panic!("{tool} is needed for this test: {e}"));
    assert!(
        out.status.success(),
        "{tool} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// 16 MiB image: p1 "boot" 1 MiB at 2048 with the legacy-bootable bit, p3 "data" after
/// it (a gap at slot 2, as left by a deleted partition).
fn sgdisk_image() -> tempfile::NamedTempFile {
    let img = image(16 * MIB);
    let path = img.path().to_str().expect("utf-8 temp path");
    run(
        "sgdisk",
        &[
            "-U",
            DISK_GUID,
            "-n1:2048:+1M",
            "-t1:8300",
            "-c1:boot",
            "-u1:1A2B3C4D-0001-4000-8000-000000000001",
            "-A1:set:2",
            "-n3:0:0",
            "-t3:FD00",
            "-c3:data",
            "-u3:1A2B3C4D-0003-4000-8000-000000000003",
            path,
        ],
        None,
    );
    img
}

fn expected(primary_ok: bool, backup_ok: bool) -> Table {
    Table::Gpt(Gpt {
        disk_guid: DISK_GUID.into(),
        first_usable_lba: 34,
        last_usable_lba: 32734,
        primary_ok,
        backup_ok,
        entries: vec![
            GptEntry {
                number: 1,
                first_lba: 2048,
                last_lba: 4095,
                type_guid: "0FC63DAF-8483-4772-8E79-3D69D8477DE4".into(),
                part_guid: "1A2B3C4D-0001-4000-8000-000000000001".into(),
                name: "boot".into(),
                attributes: 1 << 2,
            },
            GptEntry {
                number: 3,
                first_lba: 4096,
                last_lba: 32734,
                type_guid: "A19D880F-05FC-4D3B-A006-743F0F84911E".into(),
                part_guid: "1A2B3C4D-0003-4000-8000-000000000003".into(),
                name: "data".into(),
                attributes: 0,
            },
        ],
    })
}

fn flip(img: &tempfile::NamedTempFile, offset: u64) {
    let f = img.as_file();
    let mut b = [0u8; 1];
    f.read_exact_at(&mut b, offset)
        .expect("reading the byte to flip");
    f.write_all_at(&[!b[0]], offset).expect("flipping a byte");
}

fn table_of(img: &tempfile::NamedTempFile) -> Table {
    read_table(File::open(img.path()).expect("opening the image"), 512).expect("reading the table")
}

const LAST: u64 = 16 * MIB - 512;

#[test]
fn gpt_copies_and_damage() {
    // (what is damaged, byte offsets to flip, expected table)
    let cases: &[(&str, &[u64], Table)] = &[
        ("nothing", &[], expected(true, true)),
        (
            "primary header (disk guid byte)",
            &[512 + 56],
            expected(false, true),
        ),
        ("primary entry array", &[1024 + 60], expected(false, true)),
        ("backup header", &[LAST + 56], expected(true, false)),
        (
            "backup entry array",
            &[LAST - 32 * 512 + 60],
            expected(true, false),
        ),
        (
            "both headers",
            &[512 + 56, LAST + 56],
            Table::Unknown(
                "gpt signature found but neither the primary nor the backup table checks out"
                    .into(),
            ),
        ),
    ];
    for (what, offsets, want) in cases {
        let img = sgdisk_image();
        for o in *offsets {
            flip(&img, *o);
        }
        assert_eq!(&table_of(&img), want, "damaged: {what}");
    }
}

#[test]
fn read_gpt_reports_presence() {
    let img = sgdisk_image();
    let Table::Gpt(want) = expected(true, true) else {
        unreachable!()
    };
    assert_eq!(
        read_gpt(File::open(img.path()).unwrap(), 512).unwrap(),
        Some(want)
    );
    assert_eq!(
        read_gpt(File::open(image(MIB).path()).unwrap(), 512).unwrap(),
        None
    );
}

#[test]
fn mbr_and_no_table() {
    let mbr = image(16 * MIB);
    run(
        "sfdisk",
        &["-q", mbr.path().to_str().unwrap()],
        Some("label: dos\nstart=2048, type=83\n"),
    );
    assert_eq!(table_of(&mbr), Table::Mbr);

    assert_eq!(table_of(&image(16 * MIB)), Table::None);
    assert_eq!(
        read_table(Cursor::new(vec![0u8; 100]), 512).unwrap(),
        Table::None
    );

    // A whole-disk FAT filesystem ends sector 0 with 0x55AA too: not a table.
    let fat = image(16 * MIB);
    run("mkfs.vfat", &[fat.path().to_str().unwrap()], None);
    assert_eq!(table_of(&fat), Table::None);

    // A protective MBR whose GPT headers are both gone.
    let img = sgdisk_image();
    img.as_file().write_all_at(&[0u8; 8], 512).unwrap();
    img.as_file().write_all_at(&[0u8; 8], LAST).unwrap();
    assert_eq!(
        table_of(&img),
        Table::Unknown("protective mbr without a readable gpt (wrong logical sector size?)".into())
    );
}

#[test]
fn sector_size_must_match() {
    let img = sgdisk_image();
    // Read as 4Kn, LBA 1 is byte 4096: no header there, but the protective MBR says GPT.
    let got = read_table(File::open(img.path()).unwrap(), 4096).unwrap();
    assert_eq!(
        got,
        Table::Unknown("protective mbr without a readable gpt (wrong logical sector size?)".into())
    );
    let err = read_table(File::open(img.path()).unwrap(), 1024).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unsupported logical sector size 1024 (only 512 and 4096 are read)"
    );
}

#[test]
fn gpt_with_4096_byte_sectors() {
    // sgdisk cannot make a 4Kn table in a plain file; the crate's own writer can.
    let mut dev = Cursor::new(vec![0u8; 64 * MIB as usize]);
    let guid = uuid::Uuid::parse_str(DISK_GUID).unwrap();
    gpt::mbr::ProtectiveMBR::with_lb_size(u32::try_from(64 * MIB / 4096 - 1).unwrap())
        .overwrite_lba0(&mut dev)
        .unwrap();
    let mut disk = GptConfig::new()
        .writable(true)
        .logical_block_size(LogicalBlockSize::Lb4096)
        .create_from_device(dev, Some(guid))
        .unwrap();
    disk.add_partition_at("root", 1, 256, 1024, gpt::partition_types::LINUX_FS, 0)
        .unwrap();
    let dev = disk.write().unwrap();
    let Table::Gpt(got) = read_table(dev, 4096).unwrap() else {
        panic!("no gpt read")
    };
    assert_eq!(
        (got.disk_guid.as_str(), got.primary_ok, got.backup_ok),
        (DISK_GUID, true, true)
    );
    assert_eq!(
        (
            got.entries[0].first_lba,
            got.entries[0].last_lba,
            got.entries[0].name.as_str()
        ),
        (256, 1279, "root")
    );
}

/// CRC-32 (IEEE), to forge headers the crate would otherwise accept.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Rewrites a header field and fixes the header CRC so only the field is "wrong".
fn forge(img: &tempfile::NamedTempFile, header_at: u64, field_at: usize, value: u32) {
    let f = img.as_file();
    let mut h = [0u8; 92];
    f.read_exact_at(&mut h, header_at).unwrap();
    h[field_at..field_at + 4].copy_from_slice(&value.to_le_bytes());
    h[16..20].fill(0);
    let crc = crc32(&h);
    h[16..20].copy_from_slice(&crc.to_le_bytes());
    f.write_all_at(&h, header_at).unwrap();
}

#[test]
fn hostile_headers_are_damage_not_panics() {
    // Entry size 256 (legal in the spec) would trip the crate's assert; a huge entry
    // count would make it allocate the whole array. Both valid CRCs.
    let cases: &[(&str, u64, usize, u32)] = &[
        ("primary entry size", 512, 84, 256),
        ("primary entry count", 512, 80, u32::MAX),
        ("backup entry size", LAST, 84, 256),
    ];
    for (what, at, field, value) in cases {
        let img = sgdisk_image();
        forge(&img, *at, *field, *value);
        let primary_ok = *at != 512;
        assert_eq!(table_of(&img), expected(primary_ok, !primary_ok), "{what}");
    }
}

#[test]
fn device_errors_are_errors() {
    struct Failing;
    impl Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::other("medium error"))
        }
    }
    impl Seek for Failing {
        fn seek(&mut self, _: SeekFrom) -> io::Result<u64> {
            Ok(16 * MIB)
        }
    }
    assert_eq!(
        read_table(Failing, 512).unwrap_err().to_string(),
        "reading the partition table: medium error"
    );
}
