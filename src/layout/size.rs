//! Sizes as layouts write them: `512MiB`, `1.5TiB`, disko's sgdisk-style `1G`
//! (binary: 1G = 1 GiB, as disko and sgdisk read it), sectors `2048s`, `N%`.
//!
//! Parsed here rather than with a size crate because those read `1G` as 10^9.

use serde::Serialize;
use std::fmt;

/// A size or offset as written in a layout.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Size {
    /// A number of bytes.
    Bytes(u64),
    /// A number of logical sectors (the disk's sector size decides the bytes).
    Sectors(u64),
    /// A percentage of the disk (`100%` is "the rest").
    Percent(u32),
}

/// A parsed size and how precisely it was written, so `14.6GiB` can match a
/// disk of 14.63 GiB (half a unit of the last digit either way).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Parsed {
    /// The value.
    pub size: Size,
    /// How far off a measured size may be and still match (bytes).
    pub tolerance: u64,
}

impl Size {
    /// The size in bytes for a disk of `disk_bytes` with `sector` byte sectors.
    pub fn bytes(&self, sector: u64, disk_bytes: u64) -> Option<u64> {
        match *self {
            Size::Bytes(b) => Some(b),
            Size::Sectors(s) => s.checked_mul(sector),
            // Checked: a percentage built elsewhere could exceed 100.
            Size::Percent(p) => u64::try_from(disk_bytes as u128 * p as u128 / 100).ok(),
        }
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Size::Bytes(b) => f.write_str(&human(b)),
            Size::Sectors(s) => write!(f, "{s}s"),
            Size::Percent(p) => write!(f, "{p}%"),
        }
    }
}

/// Why a size did not parse: the message and a hint.
#[derive(Debug, Clone, PartialEq)]
pub struct SizeError {
    /// What is wrong.
    pub message: String,
    /// How to write it instead.
    pub hint: String,
}

const UNITS: &[(&str, u32)] = &[
    ("B", 0),
    ("K", 10),
    ("KiB", 10),
    ("M", 20),
    ("MiB", 20),
    ("G", 30),
    ("GiB", 30),
    ("T", 40),
    ("TiB", 40),
    ("P", 50),
    ("PiB", 50),
];

/// Parse a size. A bare `0` means "not set" (disko's default start) and parses
/// as zero bytes; other bare numbers are refused because sgdisk would read them
/// as sectors and people as bytes.
pub fn parse(text: &str) -> Result<Parsed, SizeError> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = (&t[..split], t[split..].trim_start());
    if num.is_empty() || num.starts_with('.') || num.ends_with('.') || num.matches('.').count() > 1
    {
        return Err(SizeError {
            message: format!("`{text}` is not a size"),
            hint: "write a number and a unit: 512MiB, 16GiB, 2048s, 100% (K/M/G/T are binary, as in disko and sgdisk)"
                .into(),
        });
    }
    let (int_part, frac_part) = num.split_once('.').unwrap_or((num, ""));
    if unit.is_empty() {
        if num.chars().all(|c| c == '0') {
            return Ok(Parsed {
                size: Size::Bytes(0),
                tolerance: 0,
            });
        }
        return Err(SizeError {
            message: format!("`{text}` has no unit"),
            hint: format!(
                "write {num}s for sectors or {num}B for bytes; sgdisk would read a bare number as sectors"
            ),
        });
    }
    if unit == "s" || unit == "%" {
        if !frac_part.is_empty() {
            return Err(SizeError {
                message: format!(
                    "`{text}`: {} cannot have a fraction",
                    if unit == "s" {
                        "sectors"
                    } else {
                        "a percentage"
                    }
                ),
                hint: "use a whole number".into(),
            });
        }
        let n = int_part.parse::<u64>();
        if unit == "%" {
            let n = n.unwrap_or(u64::MAX);
            if n == 0 || n > 100 {
                return Err(SizeError {
                    message: format!("`{text}` is not a percentage between 1% and 100%"),
                    hint: "100% means the rest of the disk".into(),
                });
            }
            return Ok(Parsed {
                size: Size::Percent(n as u32),
                tolerance: 0,
            });
        }
        return Ok(Parsed {
            size: Size::Sectors(n.map_err(|_| overflow(text))?),
            tolerance: 0,
        });
    }
    let Some(&(_, shift)) = UNITS.iter().find(|(u, _)| *u == unit) else {
        return Err(unit_error(text, num, unit));
    };
    // Trailing zeros of the fraction say nothing; more than a byte's
    // precision in any unit is a typo, and would overflow the scale below.
    let frac_part = frac_part.trim_end_matches('0');
    if shift == 0 && !frac_part.is_empty() {
        return Err(SizeError {
            message: format!("`{text}`: bytes cannot have a fraction"),
            hint: "use a whole number".into(),
        });
    }
    if frac_part.len() > MAX_DECIMALS {
        return Err(SizeError {
            message: format!("`{text}` has more than {MAX_DECIMALS} decimal places"),
            hint: "no size needs that precision; write fewer decimals".into(),
        });
    }
    // Exact integer arithmetic: value = digits * 2^shift / 10^frac_len.
    // Leading zeros are dropped so they cannot overflow the parse.
    let digits = format!("{int_part}{frac_part}");
    let digits = match digits.trim_start_matches('0') {
        "" => "0",
        d => d,
    };
    let mantissa: u128 = digits.parse().map_err(|_| overflow(text))?;
    let scale = 10u128.pow(frac_part.len() as u32);
    let bytes = mantissa
        .checked_mul(1u128 << shift)
        .ok_or_else(|| overflow(text))?
        / scale;
    let bytes = u64::try_from(bytes).map_err(|_| overflow(text))?;
    let tolerance = if frac_part.is_empty() {
        0
    } else {
        (((1u128 << shift) / scale) / 2) as u64
    };
    Ok(Parsed {
        size: Size::Bytes(bytes),
        tolerance,
    })
}

/// Decimals beyond this are refused: 2^50 (a PiB) has 16 digits, so 16
/// decimals reach below a byte in every unit, and 10^18 fits the arithmetic.
const MAX_DECIMALS: usize = 18;

fn overflow(text: &str) -> SizeError {
    SizeError {
        message: format!("`{text}` is too large"),
        hint: "sizes must fit in 64 bits (16 EiB)".into(),
    }
}

fn unit_error(text: &str, num: &str, unit: &str) -> SizeError {
    let upper = unit.to_ascii_uppercase();
    let hint = match upper.as_str() {
        "KB" | "MB" | "GB" | "TB" | "PB" => {
            let p = &upper[..1];
            format!(
                "decimal units are not accepted; write {num}{p} or {num}{p}iB (binary: 1{p} = 1 {p}iB, as in disko and sgdisk)"
            )
        }
        "K" | "M" | "G" | "T" | "P" | "KIB" | "MIB" | "GIB" | "TIB" | "PIB" => {
            format!(
                "units are case-sensitive; write {num}{}",
                if upper.len() == 1 {
                    upper.clone()
                } else {
                    format!("{}iB", &upper[..1])
                }
            )
        }
        "S" | "SECTORS" => format!("write {num}s for sectors"),
        _ => {
            "units: B, K/KiB, M/MiB, G/GiB, T/TiB, P/PiB (all binary), s (sectors), % (of the disk)"
                .into()
        }
    };
    SizeError {
        message: format!("`{text}`: unknown unit `{unit}`"),
        hint,
    }
}

/// A byte count as a short binary-unit string (`1GiB`, `14.6GiB`, `512B`).
pub fn human(b: u64) -> String {
    const NAMES: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut i = 0;
    while i + 1 < NAMES.len() && b >= 1u64 << (10 * (i + 1)) {
        i += 1;
    }
    let unit = 1u64 << (10 * i);
    if b.is_multiple_of(unit) {
        format!("{}{}", b / unit, NAMES[i])
    } else {
        let v = b as f64 / unit as f64;
        let s = format!("{v:.2}");
        format!(
            "{}{}",
            s.trim_end_matches('0').trim_end_matches('.'),
            NAMES[i]
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted() {
        let cases: &[(&str, Size, u64)] = &[
            ("512MiB", Size::Bytes(512 << 20), 0),
            ("1G", Size::Bytes(1 << 30), 0),
            ("1GiB", Size::Bytes(1 << 30), 0),
            ("500M", Size::Bytes(500 << 20), 0),
            ("4K", Size::Bytes(4096), 0),
            ("1.5TiB", Size::Bytes(3 << 39), (1 << 40) / 20),
            ("14.6GiB", Size::Bytes(15676630630), (1 << 30) / 20),
            ("2048s", Size::Sectors(2048), 0),
            ("100%", Size::Percent(100), 0),
            ("0", Size::Bytes(0), 0),
            (" 16 MiB ", Size::Bytes(16 << 20), 0),
            ("512B", Size::Bytes(512), 0),
            ("1.50G", Size::Bytes(3 << 29), (1 << 30) / 20),
            ("0001G", Size::Bytes(1 << 30), 0),
            (
                "00000000000000000000000000000000000000000001K",
                Size::Bytes(1024),
                0,
            ),
            ("18446744073709551615B", Size::Bytes(u64::MAX), 0),
            ("16383.999999999999999999P", Size::Bytes(u64::MAX), 0),
            ("2.0B", Size::Bytes(2), 0),
            ("0100%", Size::Percent(100), 0),
        ];
        for (text, size, tol) in cases {
            assert_eq!(
                parse(text),
                Ok(Parsed {
                    size: *size,
                    tolerance: *tol
                }),
                "{text}"
            );
        }
    }

    #[test]
    fn refused() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "10GB",
                "`10GB`: unknown unit `GB`",
                "decimal units are not accepted; write 10G or 10GiB (binary: 1G = 1 GiB, as in disko and sgdisk)",
            ),
            (
                "10gib",
                "`10gib`: unknown unit `gib`",
                "units are case-sensitive; write 10GiB",
            ),
            (
                "1000",
                "`1000` has no unit",
                "write 1000s for sectors or 1000B for bytes; sgdisk would read a bare number as sectors",
            ),
            (
                "big",
                "`big` is not a size",
                "write a number and a unit: 512MiB, 16GiB, 2048s, 100% (K/M/G/T are binary, as in disko and sgdisk)",
            ),
            (
                "99999999999999999999P",
                "`99999999999999999999P` is too large",
                "sizes must fit in 64 bits (16 EiB)",
            ),
            (
                "20000P",
                "`20000P` is too large",
                "sizes must fit in 64 bits (16 EiB)",
            ),
            (
                "150%",
                "`150%` is not a percentage between 1% and 100%",
                "100% means the rest of the disk",
            ),
            (
                "1.5s",
                "`1.5s`: sectors cannot have a fraction",
                "use a whole number",
            ),
            (
                "18446744073709551616B",
                "`18446744073709551616B` is too large",
                "sizes must fit in 64 bits (16 EiB)",
            ),
            (
                "16384P",
                "`16384P` is too large",
                "sizes must fit in 64 bits (16 EiB)",
            ),
            (
                "99999999999999999999999999999999999999999999K",
                "`99999999999999999999999999999999999999999999K` is too large",
                "sizes must fit in 64 bits (16 EiB)",
            ),
            (
                "18446744073709551616s",
                "`18446744073709551616s` is too large",
                "sizes must fit in 64 bits (16 EiB)",
            ),
            (
                "99999999999999999999%",
                "`99999999999999999999%` is not a percentage between 1% and 100%",
                "100% means the rest of the disk",
            ),
            (
                "1.5B",
                "`1.5B`: bytes cannot have a fraction",
                "use a whole number",
            ),
            (
                "0.0000000000000000001G",
                "`0.0000000000000000001G` has more than 18 decimal places",
                "no size needs that precision; write fewer decimals",
            ),
            (
                "1..5G",
                "`1..5G` is not a size",
                "write a number and a unit: 512MiB, 16GiB, 2048s, 100% (K/M/G/T are binary, as in disko and sgdisk)",
            ),
        ];
        for (text, msg, hint) in cases {
            let e = parse(text).unwrap_err();
            assert_eq!(
                (e.message.as_str(), e.hint.as_str()),
                (*msg, *hint),
                "{text}"
            );
        }
    }

    #[test]
    fn bytes_never_wrap() {
        assert_eq!(Size::Percent(100).bytes(512, u64::MAX), Some(u64::MAX));
        assert_eq!(Size::Percent(50).bytes(512, 1000), Some(500));
        assert_eq!(Size::Percent(200).bytes(512, u64::MAX), None);
        assert_eq!(Size::Sectors(u64::MAX).bytes(512, 0), None);
        assert_eq!(Size::Sectors(8).bytes(4096, 0), Some(32768));
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human(1 << 30), "1GiB");
        assert_eq!(human(15676630630), "14.6GiB");
        assert_eq!(human(512), "512B");
        assert_eq!(human(16 << 20), "16MiB");
    }
}
