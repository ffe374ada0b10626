//! Every parser fed every prefix of its fixtures, mutated fixtures, and noise: an error
//! is a fine answer, a panic is not (the probe runs on a box the user cares about).

use std::io::Cursor;

use super::*;

/// A parser under test: `true` when it accepted the input.
type Parser = fn(&str) -> bool;

const CASES: &[(&str, Parser)] = &[
    ("lsblk/loop-scenario.json", |t| {
        lsblk::parse_lsblk(t).is_ok()
    }),
    ("lsblk/qemu-md-luks-handwritten.json", |t| {
        lsblk::parse_lsblk(t).is_ok()
    }),
    ("blkid/multi.txt", |t| blkid::parse_blkid_export(t).is_ok()),
    ("mdadm/detail-raid6-degraded-handwritten.txt", |t| {
        mdadm::parse_detail_export(t).is_ok()
    }),
    ("mdstat/mixed-handwritten.txt", |t| {
        mdadm::parse_mdstat(t).is_ok()
    }),
    ("luksdump/luks1.txt", |t| luks::parse_luks_dump(t).is_ok()),
    ("luksdump/luks2.txt", |t| luks::parse_luks_dump(t).is_ok()),
    ("proc/mounts.txt", |t| proc::parse_mounts(t).is_ok()),
    ("proc/swaps.txt", |t| proc::parse_swaps(t).is_ok()),
    ("btrfs/show-raid1-missing.txt", |t| {
        btrfs::parse_filesystem_show(t).is_ok()
    }),
    ("btrfs/subvolume-list-a.txt", |t| {
        btrfs::parse_subvolume_list(t).is_ok()
    }),
    ("zfs/zpool-list-handwritten.txt", |t| {
        zfs::parse_zpool_list(t).is_ok()
    }),
    ("zfs/zpool-status-P-handwritten.txt", |t| {
        zfs::parse_zpool_status(t).is_ok()
    }),
    ("zfs/zfs-list-handwritten.txt", |t| {
        zfs::parse_zfs_list(t).is_ok()
    }),
];

/// The string helpers, with an input each accepts.
const HELPERS: &[(&str, Parser)] = &[
    (
        "/sys/devices/platform/f8000000.pcie/pci0000:00/0000:00:00.0/0000:01:00.0/ata1/host0/target0:0:0/0:0:0:0/block/sda",
        |t| sysfs::path_id(t, &[("ata1".to_string(), 1)].into()).is_some(),
    ),
    (
        "CRYPT-LUKS2-5b0f3f2e1c1a4d8e9a3f2f6d7c8b9a01-cryptdata",
        |t| luks::parse_dm_crypt_uuid(t).is_some(),
    ),
    ("naa.50014ee05abcdef0", |t| {
        sysfs::wwn_from_wwid(t).is_some()
    }),
    ("a\\040b\\011", |t| !proc::unescape_octal(t).is_empty()),
];

/// xorshift: deterministic noise without a dependency.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn fixtures_parse_and_their_prefixes_do_not_panic() {
    let fixtures = CASES.iter().map(|(file, parse)| (fixture(file), parse));
    let helpers = HELPERS
        .iter()
        .map(|(text, parse)| (text.to_string(), parse));
    for (text, parse) in fixtures.chain(helpers) {
        assert!(parse(&text), "must be accepted whole: {text}");
        for (i, _) in text.char_indices() {
            parse(&text[..i]);
        }
    }
}

#[test]
fn mutated_fixtures_do_not_panic() {
    // Characters the formats give meaning to, so mutations hit the interesting paths.
    const ALPHABET: &[u8] = b" \t\n:=[]()%/,.-_\"{}0123456789abcdefSUF*\\";
    let mut noise = Noise(0x9E37_79B9_7F4A_7C15);
    let fixtures = CASES.iter().map(|(file, parse)| (fixture(file), parse));
    let helpers = HELPERS
        .iter()
        .map(|(text, parse)| (text.to_string(), parse));
    for (text, parse) in fixtures.chain(helpers) {
        let text = text.into_bytes();
        for _ in 0..300 {
            let mut bytes = text.clone();
            for _ in 0..1 + noise.below(4) {
                if bytes.is_empty() {
                    break;
                }
                let at = noise.below(bytes.len());
                match noise.below(3) {
                    0 => bytes[at] = ALPHABET[noise.below(ALPHABET.len())],
                    1 => drop(bytes.remove(at)),
                    _ => bytes.insert(at, ALPHABET[noise.below(ALPHABET.len())]),
                }
            }
            parse(&String::from_utf8_lossy(&bytes));
        }
    }
}

#[test]
fn noise_does_not_panic() {
    let mut noise = Noise(42);
    for len in [0, 1, 91, 92, 511, 512, 600, 4096, 70_000] {
        let bytes: Vec<u8> = (0..len).map(|_| noise.next() as u8).collect();
        let text = String::from_utf8_lossy(&bytes);
        for (_, parse) in CASES.iter().chain(HELPERS) {
            parse(&text);
        }
        sysfs::ata_identity_from_vpd89(&bytes);
        sysfs::serial_from_vpd80(&bytes);
        for lb in [512, 4096] {
            let _ = gpt::read_table(Cursor::new(bytes.clone()), lb);
        }
    }
}
