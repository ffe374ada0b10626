//! Every rule of every namespace, with its exact message and hint.

use super::*;

type Check = fn(&str) -> Result<String, NameError>;

/// (input, Ok(normalized) or Err((message, hint))).
type Case = (
    &'static str,
    Result<&'static str, (&'static str, &'static str)>,
);

fn run(check: Check, cases: &[Case]) {
    for (input, want) in cases {
        let got = check(input);
        let got = got
            .as_ref()
            .map(|s| s.as_str())
            .map_err(|e| (e.message.as_str(), e.hint.as_str()));
        assert_eq!(got, *want, "input {input:?}");
    }
}

const MD_CHARS: &str = "mdadm names use letters, digits, `.`, `_` and `-` (POSIX portable names)";

#[test]
fn md_names() {
    run(
        md_array,
        &[
            ("data", Ok("data")),
            ("md-0_a.b", Ok("md-0_a.b")),
            ("0", Ok("0")),
            (
                "abcdefghijklmnopqrstuvwxyz012345",
                Ok("abcdefghijklmnopqrstuvwxyz012345"),
            ),
            (
                "",
                Err(("md array name is empty", "name the array, e.g. `data`")),
            ),
            (
                "../sdz",
                Err((
                    "md array name `../sdz` contains `/`",
                    "mdadm names use letters, digits, `.`, `_` and `-` (POSIX portable names); `/dev/md/../sdz` would leave /dev/md",
                )),
            ),
            (
                "..",
                Err((
                    "md array name `..` starts with `.`",
                    "mdadm names use letters, digits, `.`, `_` and `-` (POSIX portable names), starting with a letter or digit; `/dev/md/..` would be hidden or outside /dev/md",
                )),
            ),
            (
                ".",
                Err((
                    "md array name `.` starts with `.`",
                    "mdadm names use letters, digits, `.`, `_` and `-` (POSIX portable names), starting with a letter or digit; `/dev/md/.` would be hidden or outside /dev/md",
                )),
            ),
            (
                "-x",
                Err((
                    "md array name `-x` starts with `-`",
                    "mdadm would read it as an option; start with a letter or digit",
                )),
            ),
            (
                "a b",
                Err(("md array name `a b` contains a space", MD_CHARS)),
            ),
            (
                "a\nb",
                Err(("md array name `a\\u{000a}b` contains U+000A", MD_CHARS)),
            ),
            ("tänk", Err(("md array name `tänk` contains `ä`", MD_CHARS))),
            (
                "host:data",
                Err((
                    "md array name `host:data` contains `:`",
                    "mdadm names use letters, digits, `.`, `_` and `-` (POSIX portable names); mdadm reads `:` as a homehost separator",
                )),
            ),
            (
                "abcdefghijklmnopqrstuvwxyz0123456",
                Err((
                    "md array name `abcdefghijklmnopqrstuvwxyz0123456` is 33 bytes; mdadm keeps at most 32",
                    "shorten it",
                )),
            ),
        ],
    );
    assert_eq!(md_device("data"), "/dev/md/data");
}

const DM_CHARS: &str = "device-mapper names use letters, digits and `#+-.:=@_`";

#[test]
fn mapper_names() {
    let long = "a".repeat(128);
    let max = "a".repeat(127);
    assert_eq!(mapper(&max), Ok(max.clone()));
    assert_eq!(
        mapper(&long).unwrap_err().message,
        format!("LUKS name `{long}` is 128 bytes; device-mapper keeps at most 127")
    );
    run(
        mapper,
        &[
            ("crypted", Ok("crypted")),
            ("luks-1@host:a=b+c#d", Ok("luks-1@host:a=b+c#d")),
            (
                "",
                Err(("LUKS name is empty", "name the volume, e.g. `crypted`")),
            ),
            (
                "../sda",
                Err((
                    "LUKS name `../sda` contains `/`",
                    "device-mapper names use letters, digits and `#+-.:=@_`; `/dev/mapper/../sda` would leave /dev/mapper",
                )),
            ),
            (
                "..",
                Err((
                    "LUKS name `..` is not a device-mapper name",
                    "`/dev/mapper/..` is a directory, not a volume; use a word such as `crypted`",
                )),
            ),
            (
                ".",
                Err((
                    "LUKS name `.` is not a device-mapper name",
                    "`/dev/mapper/.` is a directory, not a volume; use a word such as `crypted`",
                )),
            ),
            (
                "control",
                Err((
                    "LUKS name `control` is the device-mapper control node",
                    "/dev/mapper/control exists on every system; choose another name",
                )),
            ),
            ("a b", Err(("LUKS name `a b` contains a space", DM_CHARS))),
            (
                "a\tb",
                Err(("LUKS name `a\\u{0009}b` contains U+0009", DM_CHARS)),
            ),
            ("a$b", Err(("LUKS name `a$b` contains `$`", DM_CHARS))),
        ],
    );
    assert_eq!(mapper_device("c"), "/dev/mapper/c");
}

const ZFS: &str = "ZFS names use letters, digits, `_`, `-`, `:` and `.`";

#[test]
fn pool_names() {
    let reserved = "mirror, raidz, draid, spare, log, cache, special and dedup name vdev kinds";
    let prefix = "names starting with mirror, raidz, draid or spare are vdev kinds to zpool";
    run(
        zpool,
        &[
            ("tank", Ok("tank")),
            ("zroot", Ok("zroot")),
            ("a_b-c:d.e", Ok("a_b-c:d.e")),
            ("c", Ok("c")),
            ("cx1", Ok("cx1")),
            ("logs", Ok("logs")),
            (
                "",
                Err(("pool name is empty", "name the pool, e.g. `tank`")),
            ),
            (
                "1tank",
                Err((
                    "pool name `1tank` does not start with a letter",
                    "ZFS pool names start with a letter",
                )),
            ),
            (
                "_t",
                Err((
                    "pool name `_t` does not start with a letter",
                    "ZFS pool names start with a letter",
                )),
            ),
            ("a/b", Err(("pool name `a/b` contains `/`", ZFS))),
            ("a b", Err(("pool name `a b` contains a space", ZFS))),
            ("a@b", Err(("pool name `a@b` contains `@`", ZFS))),
            (
                "mirror",
                Err(("pool name `mirror` is reserved by ZFS", reserved)),
            ),
            (
                "raidz",
                Err(("pool name `raidz` is reserved by ZFS", reserved)),
            ),
            (
                "draid",
                Err(("pool name `draid` is reserved by ZFS", reserved)),
            ),
            (
                "spare",
                Err(("pool name `spare` is reserved by ZFS", reserved)),
            ),
            ("log", Err(("pool name `log` is reserved by ZFS", reserved))),
            (
                "cache",
                Err(("pool name `cache` is reserved by ZFS", reserved)),
            ),
            (
                "special",
                Err(("pool name `special` is reserved by ZFS", reserved)),
            ),
            (
                "dedup",
                Err(("pool name `dedup` is reserved by ZFS", reserved)),
            ),
            (
                "raidz2",
                Err((
                    "pool name `raidz2` starts with `raidz`, which ZFS reserves",
                    prefix,
                )),
            ),
            (
                "mirror1",
                Err((
                    "pool name `mirror1` starts with `mirror`, which ZFS reserves",
                    prefix,
                )),
            ),
            (
                "draid2:4d",
                Err((
                    "pool name `draid2:4d` starts with `draid`, which ZFS reserves",
                    prefix,
                )),
            ),
            (
                "spares",
                Err((
                    "pool name `spares` starts with `spare`, which ZFS reserves",
                    prefix,
                )),
            ),
            (
                "c0t0d0",
                Err((
                    "pool name `c0t0d0` looks like a disk name (c0…)",
                    "ZFS refuses pool names of a `c` and a digit; choose another name",
                )),
            ),
        ],
    );
    let long = format!("t{}", "a".repeat(255));
    assert_eq!(
        zpool(&long).unwrap_err().message,
        format!("pool name `{long}` is 256 bytes; ZFS keeps at most 255")
    );
}

#[test]
fn dataset_names() {
    let ds = |n: &str| dataset("tank", n);
    run(
        ds,
        &[
            ("data", Ok("data")),
            ("data/media", Ok("data/media")),
            ("__root", Ok("__root")),
            ("a.b:c-d_e", Ok("a.b:c-d_e")),
            (
                "",
                Err(("dataset name is empty", "name it, e.g. `data/media`")),
            ),
            (
                "/data",
                Err((
                    "dataset name `/data` starts with `/`",
                    "dataset names are relative to the pool: write `data`",
                )),
            ),
            (
                "a//b",
                Err((
                    "dataset name `a//b` has an empty component",
                    "write components separated by single `/`, without a trailing `/`",
                )),
            ),
            (
                "a/",
                Err((
                    "dataset name `a/` has an empty component",
                    "write components separated by single `/`, without a trailing `/`",
                )),
            ),
            (
                "a/../b",
                Err((
                    "dataset name `a/../b` has a `..` component",
                    "ZFS refuses `.` and `..` in dataset names",
                )),
            ),
            (
                "./a",
                Err((
                    "dataset name `./a` has a `.` component",
                    "ZFS refuses `.` and `..` in dataset names",
                )),
            ),
            (
                "a@snap",
                Err((
                    "dataset name `a@snap` contains `@`",
                    "ZFS names use letters, digits, `_`, `-`, `:` and `.`; `@` names a snapshot, which is not a dataset",
                )),
            ),
            ("a b", Err(("dataset name `a b` contains a space", ZFS))),
            ("a%b", Err(("dataset name `a%b` contains `%`", ZFS))),
        ],
    );
    assert!(dataset("tank", &"a".repeat(250)).is_ok());
    let name = "a".repeat(251);
    assert_eq!(
        dataset("tank", &name).unwrap_err().message,
        format!("dataset `tank/{name}` is 256 bytes; ZFS keeps at most 255")
    );
}

#[test]
fn subvolume_names() {
    let empty_comp = "write components separated by single `/`, without a trailing `/`";
    let dots = "nasstrap never resolves `.` or `..`: write the path inside the filesystem";
    run(
        subvolume,
        &[
            ("@home", Ok("@home")),
            ("/home", Ok("home")),
            ("/home/user", Ok("home/user")),
            ("home", Ok("home")),
            (".snapshots", Ok(".snapshots")),
            (
                "/",
                Err((
                    "subvolume name `/` names the top level",
                    "the top level is the btrfs itself: give it a `mountpoint` instead",
                )),
            ),
            (
                "",
                Err((
                    "subvolume name `` names the top level",
                    "the top level is the btrfs itself: give it a `mountpoint` instead",
                )),
            ),
            (
                "//home",
                Err(("subvolume name `//home` has an empty component", empty_comp)),
            ),
            (
                "a//b",
                Err(("subvolume name `a//b` has an empty component", empty_comp)),
            ),
            (
                "home/",
                Err(("subvolume name `home/` has an empty component", empty_comp)),
            ),
            (
                "../etc",
                Err(("subvolume name `../etc` has a `..` component", dots)),
            ),
            (
                "/a/./b",
                Err(("subvolume name `/a/./b` has a `.` component", dots)),
            ),
            (
                "..",
                Err(("subvolume name `..` has a `..` component", dots)),
            ),
        ],
    );
    let long = "a".repeat(256);
    assert_eq!(
        subvolume(&long).unwrap_err().message,
        format!("subvolume name `{long}` has a component of 256 bytes; btrfs keeps at most 255")
    );
    assert!(subvolume(&"a".repeat(255)).is_ok());
}

#[test]
fn mountpoints() {
    let dots = "nasstrap never resolves `..`: write the path it means";
    run(
        mountpoint,
        &[
            ("/", Ok("/")),
            ("/srv", Ok("/srv")),
            ("/srv/", Ok("/srv")),
            ("//boot", Ok("/boot")),
            ("/./boot", Ok("/boot")),
            ("/boot/.", Ok("/boot")),
            ("///", Ok("/")),
            ("/a//b/./c/", Ok("/a/b/c")),
            ("/.swapvol", Ok("/.swapvol")),
            ("/...", Ok("/...")),
            (
                "srv",
                Err(("mountpoint `srv` is not absolute", "write /srv")),
            ),
            (
                "./srv",
                Err(("mountpoint `./srv` is not absolute", "write /srv")),
            ),
            ("", Err(("mountpoint `` is not absolute", "write /"))),
            (
                "/mnt/../etc",
                Err(("mountpoint `/mnt/../etc` has a `..` component", dots)),
            ),
            ("/..", Err(("mountpoint `/..` has a `..` component", dots))),
            (
                "/srv/..",
                Err(("mountpoint `/srv/..` has a `..` component", dots)),
            ),
        ],
    );
    let long = format!("/{}", "a".repeat(256));
    assert_eq!(
        mountpoint(&long).unwrap_err().message,
        format!("mountpoint `{long}` has a component of 256 bytes; paths keep at most 255")
    );
}

#[test]
fn devices() {
    let rel = "e.g. /dev/sda or /dev/disk/by-path/…";
    run(
        device,
        &[
            ("/dev/sda", Ok("/dev/sda")),
            ("//dev//sda", Ok("/dev/sda")),
            ("/dev/./sda", Ok("/dev/sda")),
            ("/dev/sda/", Ok("/dev/sda")),
            (
                "/dev/disk/by-path/pci-0-part5-ata-1",
                Ok("/dev/disk/by-path/pci-0-part5-ata-1"),
            ),
            ("sda", Err(("device `sda` is not an absolute path", rel))),
            ("", Err(("device `` is not an absolute path", rel))),
            ("/", Err(("device `/` names no device", rel))),
            ("//.", Err(("device `//.` names no device", rel))),
            (
                "/dev/../dev/sda",
                Err((
                    "device `/dev/../dev/sda` has a `..` component",
                    "nasstrap never resolves `..`: write the path it means",
                )),
            ),
        ],
    );
}

#[test]
fn partitions_by_name() {
    let cases: &[(&str, Option<(&str, u32)>)] = &[
        ("/dev/sda1", Some(("/dev/sda", 1))),
        ("/dev/sdaa12", Some(("/dev/sdaa", 12))),
        ("/dev/vdb2", Some(("/dev/vdb", 2))),
        ("/dev/xvda1", Some(("/dev/xvda", 1))),
        ("/dev/hdc3", Some(("/dev/hdc", 3))),
        ("/dev/mmcblk0p2", Some(("/dev/mmcblk0", 2))),
        ("/dev/nvme0n1p3", Some(("/dev/nvme0n1", 3))),
        ("/dev/loop0p1", Some(("/dev/loop0", 1))),
        ("/dev/nbd1p1", Some(("/dev/nbd1", 1))),
        (
            "/dev/disk/by-path/platform-x.mmc-part1",
            Some(("/dev/disk/by-path/platform-x.mmc", 1)),
        ),
        (
            "/dev/disk/by-id/ata-X-part12",
            Some(("/dev/disk/by-id/ata-X", 12)),
        ),
        ("/dev/sda", None),
        ("/dev/mmcblk0", None),
        ("/dev/mmcblk0boot0", None),
        ("/dev/nvme0n1", None),
        ("/dev/loop3", None),
        ("/dev/loop-a", None),
        ("/dev/my-disk2", None),
        ("/dev/disk/by-path/pci-0-part5-ata-1", None),
        ("/dev/disk/by-id/wwn-part", None),
        ("/dev/disk/by-id/-part1", None),
        ("/dev/sd1", None),
        ("/dev/nvme0p1", None),
    ];
    for (dev, want) in cases {
        assert_eq!(
            partition_of(dev),
            want.map(|(d, n)| (d.to_string(), n)),
            "{dev}"
        );
    }
}

#[test]
fn whole_disks() {
    let md = "arrays are declared under `mdadm:` and built from disks' partitions";
    let dm = "LUKS volumes are declared as `type: luks` content of a partition";
    let zv = "volumes are declared as `type: zfs_volume` datasets of a pool";
    let part = "use the disk it is on and declare the partition under its `content`";
    type Want = Result<(), (&'static str, &'static str)>;
    let cases: &[(&str, Want)] = &[
        ("/dev/sda", Ok(())),
        ("/dev/disk/by-path/platform-fe330000.mmc", Ok(())),
        ("/dev/mdx", Ok(())),
        (
            "/dev/md/data",
            Err(("device `/dev/md/data` is an md array, not a whole disk", md)),
        ),
        (
            "/dev/md127",
            Err(("device `/dev/md127` is an md array, not a whole disk", md)),
        ),
        (
            "/dev/md_d0",
            Err(("device `/dev/md_d0` is an md array, not a whole disk", md)),
        ),
        (
            "/dev/disk/by-id/md-name-any:raid1",
            Err((
                "device `/dev/disk/by-id/md-name-any:raid1` is an md array, not a whole disk",
                md,
            )),
        ),
        (
            "/dev/mapper/crypted",
            Err((
                "device `/dev/mapper/crypted` is a device-mapper volume, not a whole disk",
                dm,
            )),
        ),
        (
            "/dev/dm-0",
            Err((
                "device `/dev/dm-0` is a device-mapper volume, not a whole disk",
                dm,
            )),
        ),
        (
            "/dev/zvol/tank/v",
            Err((
                "device `/dev/zvol/tank/v` is a ZFS volume, not a whole disk",
                zv,
            )),
        ),
        (
            "/dev/zd0",
            Err(("device `/dev/zd0` is a ZFS volume, not a whole disk", zv)),
        ),
        (
            "/dev/disk/by-partlabel/disk-a-b",
            Err((
                "device `/dev/disk/by-partlabel/disk-a-b` is a partition, not a whole disk",
                part,
            )),
        ),
        (
            "/dev/disk/by-partuuid/x",
            Err((
                "device `/dev/disk/by-partuuid/x` is a partition, not a whole disk",
                part,
            )),
        ),
        (
            "/dev/sda1",
            Err((
                "device `/dev/sda1` is a partition, not a whole disk",
                "use the disk, /dev/sda, and declare the partition under its `content`",
            )),
        ),
        (
            "/dev/mmcblk0p2",
            Err((
                "device `/dev/mmcblk0p2` is a partition, not a whole disk",
                "use the disk, /dev/mmcblk0, and declare the partition under its `content`",
            )),
        ),
    ];
    for (dev, want) in cases {
        let got = whole_disk(dev);
        let got = got
            .as_ref()
            .map(|_| ())
            .map_err(|e| (e.message.as_str(), e.hint.as_str()));
        assert_eq!(got, *want, "{dev}");
    }
}

#[test]
fn subjects() {
    assert_eq!(subject("disk", "bay1"), Ok("bay1".into()));
    assert_eq!(
        subject("disk", ""),
        Err(NameError {
            message: "disk name is empty".into(),
            hint: "give it a name".into()
        })
    );
    assert_eq!(
        subject("partition", "a\u{202e}b"),
        Err(NameError {
            message: "partition name `a\\u{202e}b` contains U+202E".into(),
            hint: "names appear in the plan; use printable characters".into()
        })
    );
}

#[test]
fn gpt_names() {
    let n36 = "a".repeat(36);
    assert_eq!(gpt_name(&n36), Ok(n36.clone()));
    assert_eq!(gpt_name(&"é".repeat(36)).map(|s| s.len()), Ok(72));
    let e = gpt_name(&"a".repeat(37)).unwrap_err();
    assert_eq!(
        e.message,
        format!(
            "GPT partition names hold 36 UTF-16 units; `{}` is longer",
            "a".repeat(37)
        )
    );
    // A character outside the BMP takes two UTF-16 units.
    assert!(gpt_name(&"😀".repeat(18)).is_ok());
    assert!(gpt_name(&"😀".repeat(19)).is_err());
}

#[test]
fn default_gpt_names_as_disko() {
    assert_eq!(default_gpt_name("disk", "main", "root"), "disk-main-root");
    // 36 bytes exactly: kept.
    let p = "p".repeat(36 - "disk-d-".len());
    assert_eq!(default_gpt_name("disk", "d", &p), format!("disk-d-{p}"));
    // 37 bytes: the first 36 hex digits of its SHA-256 (echo -n LABEL | sha256sum).
    let p = "p".repeat(37 - "disk-d-".len());
    assert_eq!(
        default_gpt_name("disk", "d", &p),
        "4ba8d2888c59fa052132414e314445a7281c"
    );
}

#[test]
fn labels() {
    let cases: &[(LabelTool, usize)] = &[
        (LabelTool::Ext, 16),
        (LabelTool::Xfs, 12),
        (LabelTool::Btrfs, 255),
        (LabelTool::Vfat, 11),
        (LabelTool::Swap, 15),
        (LabelTool::Luks2, 47),
    ];
    for (tool, max) in cases {
        let ok = "L".repeat(*max);
        assert_eq!(label(*tool, &ok), Ok(ok.clone()), "{tool:?}");
        let long = "L".repeat(max + 1);
        assert_eq!(
            label(*tool, &long),
            Err(NameError {
                message: format!(
                    "label `{long}` is {} bytes; {} keeps at most {max}",
                    max + 1,
                    tool.tool()
                ),
                hint: "shorten it: a longer label fails or is cut short after the disks are wiped"
                    .into()
            }),
            "{tool:?}"
        );
    }
    // Bytes, not characters: 6 × `é` is 12 bytes.
    assert!(label(LabelTool::Vfat, &"é".repeat(6)).is_err());
}
