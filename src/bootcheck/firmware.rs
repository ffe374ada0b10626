//! Rule `firmware`: idbloader at sector 64 and u-boot.itb at sector 16384 of
//! the boot medium (Rockchip's layout, helios64.md §1.5).
//!
//! idbloader.img as `mkimage -n rk3399 -T rksd` (and binman's
//! u-boot-rockchip.bin) writes it: a 512-byte header0, always RC4-encrypted
//! with the BootROM's well-known key, whose plain text starts with the
//! little-endian magic 0x0FF0AA55 and gives the SPL's offset in blocks
//! (`init_offset`, 4); the SPL starts with its SoC name, `RK33` for the
//! RK3399, at that offset (0x800) — not at byte 0. Source: U-Boot
//! tools/rkcommon.c (`rkcommon_set_header0`, `rkcommon_parse_header`,
//! `spl_infos`), checked against Debian bookworm's u-boot-rockchip 2023.01
//! rockpro64-rk3399/idbloader.img: bytes 0..4 are 3b 8c dc fc (the encrypted
//! magic) and bytes 0x800..0x804 are "RK33". u-boot.itb is a FIT, i.e. a
//! flattened device tree: big-endian magic 0xD00DFEED at byte 0.

use super::{Finding, ReadAt, Rule};
use crate::plan::Plan;

/// Where the BootROM reads idbloader: sector 64.
pub const IDBLOADER_OFFSET: u64 = 64 * 512;
/// Where SPL reads u-boot.itb: sector 16384.
pub const ITB_OFFSET: u64 = 16384 * 512;
/// The BootROM's RC4 key for header0 (U-Boot tools/rkcommon.c `rc4_key`).
const RC4_KEY: [u8; 16] = [124, 78, 3, 4, 85, 5, 9, 7, 45, 44, 123, 56, 23, 13, 23, 17];
/// header0's magic, little endian once decrypted.
const RK_MAGIC: u32 = 0x0FF0_AA55;
/// The header of newer SoCs (RK3568/RK3588), unencrypted: "RKNS".
const RK_MAGIC_V2: &[u8; 4] = b"RKNS";

/// What is at sector 64.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Idbloader {
    /// No Rockchip header: zeros, or something else.
    Missing,
    /// A Rockchip header0 and the SPL's SoC name (e.g. `RK33`), if readable.
    Found { soc: Option<String> },
    /// A v2 header ("RKNS", RK3568 and later): not for the RK3399.
    V2,
}

/// RC4 (the stream cipher) over `data` in place.
fn rc4(key: &[u8], data: &mut [u8]) {
    let mut s: [u8; 256] = std::array::from_fn(|i| i as u8);
    let mut j = 0u8;
    for i in 0..256 {
        j = j.wrapping_add(s[i]).wrapping_add(key[i % key.len()]);
        s.swap(i, j as usize);
    }
    let (mut i, mut j) = (0u8, 0u8);
    for b in data {
        i = i.wrapping_add(1);
        j = j.wrapping_add(s[i as usize]);
        s.swap(i as usize, j as usize);
        *b ^= s[s[i as usize].wrapping_add(s[j as usize]) as usize];
    }
}

/// Read the idbloader header from the bytes at sector 64 (at least 512; the
/// SoC name needs `init_offset` × 512 + 4).
pub fn idbloader(head: &[u8]) -> Idbloader {
    if head.starts_with(RK_MAGIC_V2) {
        return Idbloader::V2;
    }
    let Some(h0) = head.get(..512) else {
        return Idbloader::Missing;
    };
    let mut h0: [u8; 512] = h0.try_into().expect("512 bytes");
    rc4(&RC4_KEY, &mut h0);
    if u32::from_le_bytes([h0[0], h0[1], h0[2], h0[3]]) != RK_MAGIC {
        return Idbloader::Missing;
    }
    let disable_rc4 = u32::from_le_bytes([h0[8], h0[9], h0[10], h0[11]]) != 0;
    let at = u16::from_le_bytes([h0[12], h0[13]]) as usize * 512;
    // An RC4-encrypted SPL hides its name; that is a header all the same.
    let soc = head
        .get(at..at + 4)
        .filter(|n| disable_rc4 && n.starts_with(b"RK") && n.iter().all(u8::is_ascii_alphanumeric))
        .map(|n| String::from_utf8_lossy(n).into_owned());
    Idbloader::Found { soc }
}

/// The FIT's size when the bytes at sector 16384 start with the FDT magic.
pub fn fit(head: &[u8]) -> Option<u32> {
    match head.get(..8)? {
        [0xd0, 0x0d, 0xfe, 0xed, a, b, c, d] => Some(u32::from_be_bytes([*a, *b, *c, *d])),
        _ => None,
    }
}

/// Run the rule on the plan's boot medium.
pub fn check(plan: &Plan, medium: &mut dyn ReadAt) -> Vec<Finding> {
    let Some(disk) = plan.disks.iter().find(|d| d.boot_medium) else {
        return vec![Finding::warning(
            Rule::Firmware,
            "the plan has no boot medium (a Helios64 layout marks the disk holding /boot or firmware), so the firmware was not checked",
        )];
    };
    let name = format!("{} ({})", disk.name, disk.device);
    let missing = |what: &str, sector: u64| {
        Finding::warning(
            Rule::Firmware,
            format!(
                "no {what} at sector {sector} of {name}: the box will not boot from {} unless U-Boot is in SPI flash or another medium",
                disk.name
            ),
        )
        .with_fix("write it with `nasstrap apply --firmware` (the layout's firmware image)")
    };
    let mut read = |offset: u64, len: usize| -> Result<Vec<u8>, Finding> {
        let mut buf = vec![0u8; len];
        match medium.read_at(offset, &mut buf) {
            Ok(n) => {
                buf.truncate(n);
                Ok(buf)
            }
            Err(e) => Err(Finding::problem(
                Rule::Firmware,
                format!("cannot read {name} at byte {offset}: {e}"),
            )),
        }
    };
    let mut out = Vec::new();
    // header0 says where the SPL starts; 64 KiB covers any sane init_offset.
    out.push(match read(IDBLOADER_OFFSET, 64 << 10) {
        Err(f) => f,
        Ok(head) => match idbloader(&head) {
            Idbloader::Missing => missing("idbloader (Rockchip boot header)", 64),
            Idbloader::V2 => Finding::problem(
                Rule::Firmware,
                format!("the idbloader at sector 64 of {name} has a v2 (RKNS) header, which is for RK3568 and later, not the Helios64's RK3399"),
            )
            .with_fix("write an idbloader built for rk3399 with `nasstrap apply --firmware`"),
            Idbloader::Found { soc: Some(s) } if s != "RK33" => Finding::problem(
                Rule::Firmware,
                format!("the idbloader at sector 64 of {name} is for {s}, not the RK3399 (RK33)"),
            )
            .with_fix("write an idbloader built for rk3399 with `nasstrap apply --firmware`"),
            Idbloader::Found { soc } => Finding::ok(
                Rule::Firmware,
                format!(
                    "idbloader at sector 64 of {name}: Rockchip header{}",
                    soc.map(|s| format!(", SPL for {s}")).unwrap_or_default()
                ),
            ),
        },
    });
    let room = disk
        .firmware
        .iter()
        .find(|r| r.offset == ITB_OFFSET)
        .map(|r| r.max_size);
    out.push(match read(ITB_OFFSET, 8) {
        Err(f) => f,
        Ok(head) => match fit(&head) {
            None => missing("u-boot.itb (FIT image)", 16384),
            Some(size) if room.is_some_and(|r| u64::from(size) > r) => Finding::problem(
                Rule::Firmware,
                format!(
                    "the FIT at sector 16384 of {name} claims {size} bytes, more than its region's {} bytes",
                    room.unwrap_or_default()
                ),
            ),
            Some(size) => Finding::ok(
                Rule::Firmware,
                format!("u-boot.itb at sector 16384 of {name}: a FIT image ({size} bytes of tree)"),
            ),
        },
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first 16 bytes of Debian bookworm's u-boot-rockchip 2023.01
    /// rockpro64-rk3399/idbloader.img: header0, encrypted.
    const REAL_HEAD: [u8; 16] = [
        0x3b, 0x8c, 0xdc, 0xfc, 0xbe, 0x9f, 0x9d, 0x51, 0xeb, 0x30, 0x34, 0xce, 0x24, 0x51, 0x1f,
        0x98,
    ];

    fn image(head: &[u8], spl: &[u8]) -> Vec<u8> {
        let mut v = vec![0u8; 0x1000];
        v[..head.len()].copy_from_slice(head);
        v[0x800..0x800 + spl.len()].copy_from_slice(spl);
        v
    }

    #[test]
    fn rc4_decrypts_the_real_header() {
        let mut h = REAL_HEAD;
        rc4(&RC4_KEY, &mut h);
        // magic 0x0FF0AA55, disable_rc4 = 1, init_offset = 4 blocks.
        assert_eq!(&h[..4], &[0x55, 0xaa, 0xf0, 0x0f]);
        assert_eq!(&h[8..14], &[1, 0, 0, 0, 4, 0]);
    }

    #[test]
    fn idbloader_headers() {
        assert_eq!(
            idbloader(&image(&REAL_HEAD, b"RK33")),
            Idbloader::Found {
                soc: Some("RK33".into())
            }
        );
        assert_eq!(
            idbloader(&image(&REAL_HEAD, b"RK32")),
            Idbloader::Found {
                soc: Some("RK32".into())
            }
        );
        assert_eq!(
            idbloader(&image(&REAL_HEAD, b"\0\0\0\0")),
            Idbloader::Found { soc: None }
        );
        // "RK33" without the encrypted header0 is not a bootable idbloader.
        assert_eq!(idbloader(&image(b"RK33", b"RK33")), Idbloader::Missing);
        assert_eq!(idbloader(&[0u8; 4096]), Idbloader::Missing);
        assert_eq!(idbloader(&REAL_HEAD), Idbloader::Missing);
        assert_eq!(idbloader(&image(b"RKNS", b"")), Idbloader::V2);
    }

    #[test]
    fn fit_magic_is_big_endian() {
        assert_eq!(fit(&[0xd0, 0x0d, 0xfe, 0xed, 0, 0, 5, 0x78]), Some(0x578));
        assert_eq!(fit(&[0xed, 0xfe, 0x0d, 0xd0, 0, 0, 5, 0x78]), None);
        assert_eq!(fit(&[0xd0, 0x0d]), None);
    }
}
