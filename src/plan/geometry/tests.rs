//! The geometry against sgdisk's as disko drives it (`--align-end`, one `--new` per
//! partition). The expected sectors are what sgdisk 1.0.9 wrote on loop devices of these
//! sizes (tests/loop_disko_geometry.rs checks the same on every disko example).

use crate::plan::{DiskFacts, Options, SizeSource, build};

const GIB: u64 = 1 << 30;

/// `(first, last)` of each partition of disk `d`, planned at `size` bytes and `sector`.
fn bounds(partitions: &str, size: u64, sector: u32) -> Vec<(u64, u64)> {
    let yaml = format!(
        "disk:\n  d:\n    device: /dev/sdx\n    content:\n      type: gpt\n      partitions:\n{partitions}"
    );
    let l = crate::layout::load_str("t.yaml", &yaml, &[]).unwrap_or_else(|r| panic!("{r}"));
    let mut opts = Options::default();
    opts.facts.insert(
        "d".into(),
        DiskFacts {
            size_bytes: size,
            sector,
            source: SizeSource::Flag,
        },
    );
    let p = build(&l, &opts).unwrap_or_else(|r| panic!("{r}"));
    let t = p.disks[0].table.as_ref().expect("a table");
    t.partitions
        .iter()
        .map(|p| (p.first_lba, p.last_lba))
        .collect()
}

const SIMPLE_EFI: &str = "
        ESP: { size: 500M, type: EF00 }
        root: { size: 100% }
";

#[test]
fn the_rest_ends_before_the_last_aligned_sector() {
    // Last usable is 4194270 (512) / 524282 (4096); sgdisk stops at the 1 MiB boundary below.
    assert_eq!(
        bounds(SIMPLE_EFI, 2 * GIB, 512),
        [(2048, 1026047), (1026048, 4192255)]
    );
    assert_eq!(
        bounds(SIMPLE_EFI, 2 * GIB, 4096),
        [(256, 128255), (128256, 524031)]
    );
}

#[test]
fn an_end_counted_from_the_disks_end_starts_from_the_aligned_end() {
    // disko's swap example: root ends 1 GiB before the end, swap takes the rest.
    let swap = "
        ESP: { size: 500M, type: EF00 }
        encryptedSwap: { size: 10M, type: \"8200\" }
        root: { end: -1G }
        plainSwap: { size: 100%, type: \"8200\", priority: 9001 }
";
    assert_eq!(
        bounds(swap, 2 * GIB, 512),
        [
            (2048, 1026047),
            (1026048, 1046527),
            (1046528, 2095103),
            (2095104, 4192255)
        ]
    );
    assert_eq!(
        bounds(swap, 2 * GIB, 4096),
        [
            (256, 128255),
            (128256, 130815),
            (130816, 261887),
            (261888, 524031)
        ]
    );
}

#[test]
fn an_absolute_end_is_the_last_sector() {
    // disko's btrfs-subvolumes example: `start = "1M"; end = "128M"` is 2048..262144, a
    // sector more than 127 MiB, and the next partition starts at the following 1 MiB.
    let esp = "
        ESP: { start: 1M, end: 128M, type: EF00, priority: 1 }
        root: { size: 100% }
";
    assert_eq!(
        bounds(esp, 2 * GIB, 512),
        [(2048, 262144), (264192, 4192255)]
    );
    assert_eq!(bounds(esp, 2 * GIB, 4096), [(256, 32768), (33024, 524031)]);
}

#[test]
fn the_rest_before_other_partitions_leaves_them_room_aligned() {
    // Not something disko does (its 100% comes last): the rest ends on a 1 MiB boundary
    // that leaves the later partition its aligned size.
    let parts = "
        data: { size: 100%, priority: 1 }
        tail: { size: 10M, priority: 2 }
";
    let b = bounds(parts, 2 * GIB + (5 << 20) + (12 << 10), 512);
    assert_eq!(b, [(2048, 4182015), (4182016, 4202495)]);
}

#[test]
fn a_rest_smaller_than_the_alignment_keeps_every_sector() {
    // After 1 MiB + 1 GiB, 2030 sectors are left past the aligned start: sgdisk does not
    // align the end then (it would leave nothing), and neither does the plan.
    let parts = "
        big: { size: 1G }
        small: { size: 100% }
";
    // The last usable sector is 2099200 + 2029; the backup header and table take 33 more.
    let size = (2099200 + 2030 + 33) * 512;
    assert_eq!(
        bounds(parts, size, 512),
        [(2048, 2099199), (2099200, 2101229)]
    );
}
