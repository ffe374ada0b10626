//! Every validation rule: the exact message, location and hint.

mod common;

use common::layout::errs;
use nasstrap::{layout, plan};

#[test]
fn unknown_key() {
    let src = "disk:\n  d1:\n    device: /dev/sda\n    content:\n      type: gpt\n      partitions:\n        root: { size: 100%, content: { type: filesystem, format: ext4, mountpont: / } }\n";
    assert_eq!(
        errs(src),
        [
            "7:72: disk.d1.content.partitions.root.content.mountpont: unknown key `mountpont`\n  hint: did you mean `mountpoint`?"
        ] as [&str; 1]
    );
}

#[test]
fn duplicate_disk() {
    let src = "disk:\n  d1: { device: /dev/sda }\n  d1: { device: /dev/sdb }\n";
    assert_eq!(
        errs(src),
        [
            "3:3: duplicate key `d1`\n  hint: first defined at line 2; YAML would silently keep only the last one"
        ] as [&str; 1]
    );
}

#[test]
fn bad_size_gb() {
    let src = "disk:\n  d1:\n    device: /dev/sda\n    content:\n      type: gpt\n      partitions:\n        data: { size: 10GB }\n";
    assert_eq!(
        errs(src),
        [
            "7:23: disk.d1.content.partitions.data.size: `10GB`: unknown unit `GB`\n  hint: decimal units are not accepted; write 10G or 10GiB (binary: 1G = 1 GiB, as in disko and sgdisk)"
        ] as [&str; 1]
    );
}

#[test]
fn size_overflow() {
    let src = "disk:\n  d1:\n    device: /dev/sda\n    content:\n      type: gpt\n      partitions:\n        data: { size: 99999999999P }\n";
    assert_eq!(
        errs(src),
        [
            "7:23: disk.d1.content.partitions.data.size: `99999999999P` is too large\n  hint: sizes must fit in 64 bits (16 EiB)"
        ] as [&str; 1]
    );
}

#[test]
fn overlap() {
    let src = "disk:\n  d1:\n    device: /dev/sda\n    content:\n      type: gpt\n      partitions:\n        a: { start: 1MiB, size: 10MiB, priority: 1 }\n        b: { start: 5MiB, size: 10MiB, priority: 2 }\n";
    assert_eq!(
        errs(src),
        [
            "8:9: disk.d1.content.partitions.b: partition `b` (sectors 10240..30719) overlaps `a` (sectors 2048..22527)"
        ] as [&str; 1]
    );
}

#[test]
fn two_rest() {
    let src = "disk:\n  d1:\n    device: /dev/sda\n    content:\n      type: gpt\n      partitions:\n        a: { size: 100% }\n        b: { }\n";
    assert_eq!(
        errs(src),
        [
            "7:9: disk.d1.content.partitions.a: partitions `b` and `a` both take the rest of the disk\n  hint: give one of them a size"
        ] as [&str; 1]
    );
}

#[test]
fn does_not_fit() {
    let src = "disk:\n  d1:\n    device: /dev/sda\n    expect: { size: 1GiB }\n    content:\n      type: gpt\n      partitions:\n        a: { size: 2GiB }\n";
    assert_eq!(
        errs(src),
        [
            "8:20: disk.d1.content.partitions.a.size: partition `a` (2GiB) does not fit on disk `d1` of 1GiB (expect.size)\n  hint: make it smaller, or check the disk"
        ] as [&str; 1]
    );
}

#[test]
fn boot_gap() {
    let src = "board: helios64\ndisk:\n  emmc:\n    device: /dev/mmcblk0\n    content:\n      type: gpt\n      partitions:\n        boot: { start: 1MiB, size: 512MiB, bootable: true, content: { type: filesystem, format: ext4, mountpoint: /boot } }\n";
    assert_eq!(
        errs(src),
        [
            "8:24: disk.emmc.content.partitions.boot.start: partition `boot` starts at 1MiB, inside the first 16 MiB of the boot medium\n  hint: the Helios64 boot ROM reads idbloader at sector 64 and U-Boot at 8 MiB; start at 16MiB or later"
        ] as [&str; 1]
    );
}

#[test]
fn raid_members() {
    let src = "disk:\n  d1:\n    device: /dev/sda\n    content:\n      type: gpt\n      partitions:\n        a: { size: 100%, content: { type: mdraid, name: tank } }\nmdadm:\n  tank: { level: 6, content: { type: filesystem, format: ext4, mountpoint: /srv } }\n";
    assert_eq!(
        errs(src),
        [
            "9:18: mdadm.tank.level: RAID6 needs at least 4 members, `tank` has 1\n  hint: add members or choose another level"
        ] as [&str; 1]
    );
}

#[test]
fn dangling_md() {
    let src = "disk:\n  d1:\n    device: /dev/sda\n    content:\n      type: gpt\n      partitions:\n        a: { size: 100%, content: { type: mdraid, name: tnak } }\nmdadm:\n  tank: { level: 1 }\n";
    assert_eq!(
        errs(src),
        [
            "7:57: disk.d1.content.partitions.a.content.name: no md array named `tnak`\n  hint: did you mean `tank`?",
            "9:3: mdadm.tank: array `tank` has no members\n  hint: give partitions `content: { type: mdraid, name: tank }`"
        ] as [&str; 2]
    );
}

#[test]
fn device_twice() {
    let src = "disk:\n  a: { device: /dev/sda }\n  b: { device: /dev/sda }\n";
    assert_eq!(
        errs(src),
        [
            "3:16: disk.b.device: device `/dev/sda` is also disk `a`\n  hint: each disk needs its own device; check the by-path names or --disk mappings"
        ] as [&str; 1]
    );
}

#[test]
fn same_mountpoint() {
    let src = "disk:\n  d1:\n    device: /dev/sda\n    content:\n      type: gpt\n      partitions:\n        a: { size: 1G, content: { type: filesystem, format: ext4, mountpoint: /srv } }\n        b: { size: 1G, content: { type: filesystem, format: xfs, mountpoint: /srv/ } }\n";
    assert_eq!(
        errs(src),
        [
            "8:78: disk.d1.content.partitions.b.content.mountpoint: mountpoint `/srv` is also used by disk.d1.content.partitions.a.content.mountpoint\n  hint: first used at line 7"
        ] as [&str; 1]
    );
}

#[test]
fn relative_mountpoint() {
    let src = "disk:\n  d1:\n    device: /dev/sda\n    content:\n      type: gpt\n      partitions:\n        a: { size: 1G, content: { type: filesystem, format: ext4, mountpoint: srv } }\n";
    assert_eq!(
        errs(src),
        [
            "7:79: disk.d1.content.partitions.a.content.mountpoint: mountpoint `srv` is not absolute\n  hint: write /srv"
        ] as [&str; 1]
    );
}

#[test]
fn unknown_format() {
    let src = "disk:\n  d1:\n    device: /dev/sda\n    content:\n      type: gpt\n      partitions:\n        a: { size: 1G, content: { type: filesystem, format: ext5 } }\n";
    assert_eq!(
        errs(src),
        [
            "7:61: disk.d1.content.partitions.a.content.format: unknown filesystem format `ext5`\n  hint: did you mean `ext4`?"
        ] as [&str; 1]
    );
}

#[test]
fn unknown_type_code() {
    let src = "disk:\n  d1:\n    device: /dev/sda\n    content:\n      type: gpt\n      partitions:\n        a: { size: 1G, type: 8301x }\n";
    assert_eq!(
        errs(src),
        [
            "7:30: disk.d1.content.partitions.a.type: `8301x` is neither a type code nor a GUID\n  hint: write an sgdisk code such as 8300, FD00, EF00, 8200, BF00 (`sgdisk -L` lists them), or a type GUID"
        ] as [&str; 1]
    );
}

#[test]
fn bad_type_code() {
    let src = "disk:\n  d1:\n    device: /dev/sda\n    content:\n      type: gpt\n      partitions:\n        a: { size: 1G, type: 1234 }\n";
    assert_eq!(
        errs(src),
        [
            "7:30: disk.d1.content.partitions.a.type: unknown partition type code `1234`\n  hint: `sgdisk -L` lists the codes; or write the type GUID"
        ] as [&str; 1]
    );
}

#[test]
fn malformed_guid() {
    let src = "disk:\n  d1:\n    device: /dev/sda\n    content:\n      type: gpt\n      partitions:\n        a: { size: 1G, type: 0FC63DAF-8483-4772-8E79-3D69D8477DEZ }\n";
    assert_eq!(
        errs(src),
        [
            "7:30: disk.d1.content.partitions.a.type: malformed GUID `0FC63DAF-8483-4772-8E79-3D69D8477DEZ`\n  hint: a GUID is 8-4-4-4-12 hex digits, e.g. 0FC63DAF-8483-4772-8E79-3D69D8477DE4"
        ] as [&str; 1]
    );
}

#[test]
fn tab() {
    let src = "disk:\n\td1: {}\n";
    assert_eq!(
        errs(src),
        [
            "2:2: yaml syntax: tabs disallowed within this context (block indentation)\n  hint: indent with spaces; YAML does not allow tabs for indentation"
        ] as [&str; 1]
    );
}

#[test]
fn unclosed_flow() {
    let src = "disk: { d1: { device: /dev/sda }\n";
    assert_eq!(
        errs(src),
        [
            "2:1: yaml syntax: while parsing a flow mapping, did not find expected ',' or '}'\n  hint: a `[` or `{` is not closed"
        ] as [&str; 1]
    );
}

#[test]
fn unknown_anchor() {
    let src = "disk:\n  d1: *missing\n";
    assert_eq!(
        errs(src),
        [
            "2:7: yaml syntax: while parsing node, found unknown anchor\n  hint: define the anchor (`&name`) before the alias (`*name`) uses it"
        ] as [&str; 1]
    );
}

#[test]
fn empty() {
    let src = "";
    assert_eq!(
        errs(src),
        ["the layout is empty\n  hint: start from layouts/helios64.yaml"] as [&str; 1]
    );
}

#[test]
fn no_disks() {
    let src = "board: helios64\n";
    assert_eq!(
        errs(src),
        [
            "1:1: disk: the layout declares no disks\n  hint: add a `disk:` section; see layouts/helios64.yaml"
        ] as [&str; 1]
    );
}

#[test]
fn unsupported_lvm() {
    let src = "disk:\n  d1:\n    device: /dev/sda\n    content:\n      type: gpt\n      partitions:\n        a: { size: 100%, content: { type: lvm_pv, vg: pool } }\n";
    assert_eq!(
        errs(src),
        [
            "7:43: disk.d1.content.partitions.a.content.type: type `lvm_pv` is not supported by nasstrap yet\n  hint: supported content types: gpt, filesystem, mdraid, luks, btrfs, swap, zfs"
        ] as [&str; 1]
    );
}

#[test]
fn unknown_content() {
    let src = "disk:\n  d1:\n    device: /dev/sda\n    content:\n      type: gpt\n      partitions:\n        a: { size: 100%, content: { type: filesytem } }\n";
    assert_eq!(
        errs(src),
        [
            "7:43: disk.d1.content.partitions.a.content.type: unknown content type `filesytem`\n  hint: did you mean `filesystem`?"
        ] as [&str; 1]
    );
}

#[test]
fn firmware_overlap() {
    let src = "disk:\n  d1:\n    device: /dev/sda\n    firmware:\n      - { name: a, offset: 64s, max_size: 8MiB }\n      - { name: b, offset: 8MiB, max_size: 1MiB }\n";
    assert_eq!(
        errs(src),
        ["6:28: disk.d1.firmware[1].offset: firmware region `b` overlaps `a` (line 5)"]
            as [&str; 1]
    );
}

#[test]
fn boolean_yes() {
    let src = "disk:\n  d1:\n    device: /dev/sda\n    content:\n      type: gpt\n      partitions:\n        a: { size: 1G, bootable: yes }\n";
    assert_eq!(
        errs(src),
        [
            "7:34: disk.d1.content.partitions.a.bootable: expected true or false, found `yes`\n  hint: write `true`: `yes` is a boolean only in YAML 1.1, and layouts are YAML 1.2"
        ] as [&str; 1]
    );
}

#[test]
fn hook() {
    // A disk without a GPT has no step of its own for a create hook to run with.
    let src = "disk:\n  d1: { device: /dev/sda, postCreateHook: 'rm -rf /' }\n";
    assert_eq!(
        errs(src),
        [
            "2:43: disk.d1.postCreateHook: `postCreateHook` is not supported here: a disk without a GPT has no create step of its own\n  hint: put the hook on its content"
        ] as [&str; 1]
    );
}

#[test]
fn unmount_hook() {
    let src = "disk:\n  d1:\n    device: /dev/sda\n    content: { type: filesystem, format: ext4, mountpoint: /, preUnmountHook: 'sync' }\n";
    assert_eq!(
        errs(src),
        [
            "4:79: disk.d1.content.preUnmountHook: `preUnmountHook` is not supported: nasstrap runs create and mount hooks only\n  hint: remove the hook and do the step in the NixOS configuration or by hand"
        ] as [&str; 1]
    );
}

#[test]
fn mount_hook_without_a_mount() {
    let src = "disk:\n  d1:\n    device: /dev/sda\n    content: { type: filesystem, format: ext4, postMountHook: 'true' }\n";
    assert_eq!(
        errs(src),
        [
            "4:63: disk.d1.content.postMountHook: `postMountHook` is not supported here: it has no `mountpoint`, so nothing mounts it\n  hint: give it a mountpoint, or remove the hook"
        ] as [&str; 1]
    );
}

#[test]
fn hook_with_an_escape() {
    // Shown in full before it runs: ESC would rewrite what the terminal shows.
    let src = "disk:\n  d1:\n    device: /dev/sda\n    content: { type: filesystem, format: ext4, mountpoint: /, postCreateHook: \"echo \\e[2J\" }\n";
    assert_eq!(
        errs(src),
        [
            "4:79: disk.d1.content.postCreateHook: `postCreateHook` holds U+001B ESCAPE: a hook is shown in full before it runs, and this character would change what is shown\n  hint: remove it; a command that needs it can write it with printf"
        ] as [&str; 1]
    );
}

#[test]
fn hooks_on_a_member_are_refused() {
    let src = "disk:\n  d1:\n    device: /dev/sda\n    content: { type: mdraid, name: r, preCreateHook: 'true' }\nmdadm:\n  r: { level: 1, content: { type: filesystem, format: ext4, mountpoint: / } }\n";
    let e = errs(src);
    assert!(
        e.iter().any(|e| e.starts_with("4:54: disk.d1.content.preCreateHook: `preCreateHook` is not supported here: a member of an array or pool has no step of its own")),
        "{e:#?}"
    );
}

#[test]
fn luks_no_key() {
    let src = "disk:\n  d1:\n    device: /dev/sda\n    content:\n      type: gpt\n      partitions:\n        a: { size: 100%, content: { type: luks, name: c } }\n";
    assert_eq!(
        errs(src),
        [
            "7:55: disk.d1.content.partitions.a.content.name: LUKS volume `c` has no key\n  hint: set passwordFile, settings.keyFile, or askPassword: true"
        ] as [&str; 1]
    );
}

#[test]
fn many_at_once() {
    let src = "disk:\n  d1:\n    device: /dev/sda\n    content:\n      type: gpt\n      partitions:\n        a: { size: 10GB, content: { type: filesystem, format: ext5, mountpoint: srv } }\n        b: { sise: 1G }\n";
    assert_eq!(
        errs(src),
        [
            "7:20: disk.d1.content.partitions.a.size: `10GB`: unknown unit `GB`\n  hint: decimal units are not accepted; write 10G or 10GiB (binary: 1G = 1 GiB, as in disko and sgdisk)",
            "7:63: disk.d1.content.partitions.a.content.format: unknown filesystem format `ext5`\n  hint: did you mean `ext4`?",
            "8:14: disk.d1.content.partitions.b.sise: unknown key `sise`\n  hint: did you mean `size`?"
        ] as [&str; 3]
    );
}

#[test]
fn report_renders_file_line_col_and_a_caret() {
    let src = "disk:\n  d1:\n    device: /dev/sda\n    content: { type: gpt, partitions: { a: { size: 10GB } } }\n";
    let l = layout::load_str("layouts/x.yaml", src, &[]).unwrap();
    let r = plan::build(&l, &plan::Options::default()).unwrap_err();
    assert_eq!(
        r.to_string(),
        "error: layouts/x.yaml:4:52: disk.d1.content.partitions.a.size: `10GB`: unknown unit `GB`\n  4 |     content: { type: gpt, partitions: { a: { size: 10GB } } }\n    |                                                    ^\n  hint: decimal units are not accepted; write 10G or 10GiB (binary: 1G = 1 GiB, as in disko and sgdisk)\nlayouts/x.yaml: 1 error in the layout\n"
    );
}

#[test]
fn disk_mapping_to_an_unknown_disk_is_an_error() {
    let src = "disk:\n  d1: { device: /dev/sda }\n";
    let l = layout::load_str("t.yaml", src, &[("d9".into(), "/dev/sdb".into())]).unwrap();
    assert_eq!(
        l.report
            .diagnostics
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>(),
        ["--disk d9: the layout has no disk `d9`\n  hint: disks: d1"]
    );
}

#[test]
fn huge_and_deep_inputs_do_not_crash() {
    let deep = format!("disk: {}{}", "[".repeat(5000), "]".repeat(5000));
    assert!(!errs(&deep).is_empty());
    let mut many = String::from("disk:\n");
    for i in 0..20000 {
        many.push_str(&format!("  d{i}: {{ device: /dev/x{i} }}\n"));
    }
    assert_eq!(errs(&many), Vec::<String>::new());
}

#[test]
fn control_character_in_a_value() {
    let src = "disk:\n  d1:\n    device: \"/dev/sda\\e[2J\"\n";
    assert_eq!(
        errs(src),
        [
            "3:22: disk.d1.device: the value contains an invisible or control character (U+001B ESCAPE)\n  hint: delete it: it can hide or reorder text or drive the terminal; retype the text if it was pasted"
        ] as [&str; 1]
    );
}

#[test]
fn bidi_override_in_a_key_and_nothing_after_it() {
    // The disk is dropped with its key: no "declares no disks" follows.
    let src = "disk:\n  \"sd\u{202e}a\": { device: /dev/sda }\n";
    assert_eq!(
        errs(src),
        [
            "2:6: disk: the key contains an invisible or control character (U+202E RIGHT-TO-LEFT OVERRIDE)\n  hint: delete it: it can hide or reorder text or drive the terminal; retype the text if it was pasted"
        ] as [&str; 1]
    );
}

#[test]
fn refused_name_has_no_follow_on() {
    // No "missing `name`", no dangling array `md0`.
    let src = "disk:\n  a:\n    device: /dev/sda\n    content:\n      type: gpt\n      partitions:\n        p: { size: 100%, content: { type: mdraid, name: \"md\\u200b0\" } }\nmdadm:\n  md0: { level: 1, content: { type: filesystem, format: ext4, mountpoint: /srv } }\n";
    assert_eq!(
        errs(src),
        [
            "7:60: disk.a.content.partitions.p.content.name: the value contains an invisible or control character (U+200B ZERO WIDTH SPACE)\n  hint: delete it: it can hide or reorder text or drive the terminal; retype the text if it was pasted"
        ] as [&str; 1]
    );
}

#[test]
fn tab_in_an_argument() {
    let src = "disk:\n  d1:\n    device: /dev/sda\n    content:\n      type: gpt\n      partitions:\n        a: { size: 100%, content: { type: filesystem, format: ext4, mountpoint: /, extraArgs: [\"-L\", \"a\\tb\"] } }\n";
    assert_eq!(
        errs(src),
        [
            "7:104: disk.d1.content.partitions.a.content.extraArgs[1]: the value contains an invisible or control character (U+0009 CHARACTER TABULATION)\n  hint: write spaces instead; no name, path or argument needs a tab"
        ] as [&str; 1]
    );
}

#[test]
fn yaml12_booleans_in_any_case() {
    let src = "disk:\n  d1:\n    device: /dev/sda\n    destroy: True\n    content:\n      type: gpt\n      partitions:\n        a: { size: 100%, bootable: TRUE, content: { type: filesystem, format: ext4, mountpoint: / } }\n";
    assert_eq!(errs(src), Vec::<String>::new());
}

#[test]
fn boolean_on_and_quoted_true() {
    let src = "disk:\n  d1:\n    device: /dev/sda\n    destroy: on\n    content:\n      type: gpt\n      partitions:\n        a: { size: 1G, bootable: \"true\" }\n";
    assert_eq!(
        errs(src),
        [
            "4:14: disk.d1.destroy: expected true or false, found `on`\n  hint: write `true`: `on` is a boolean only in YAML 1.1, and layouts are YAML 1.2",
            "8:34: disk.d1.content.partitions.a.bootable: expected true or false, found the string `true`\n  hint: remove the quotes: `\"true\"` is a string"
        ] as [&str; 2]
    );
}

#[test]
fn any_gdisk_type_code() {
    let src = "disk:\n  d1:\n    device: /dev/sda\n    content:\n      type: gpt\n      partitions:\n        a: { size: 1G, type: 8306 }\n        b: { size: 1G, type: ef00 }\n        c: { size: 1G, type: a504 }\n";
    assert_eq!(errs(src), Vec::<String>::new());
}

#[test]
fn near_type_code() {
    let src = "disk:\n  d1:\n    device: /dev/sda\n    content:\n      type: gpt\n      partitions:\n        a: { size: 1G, type: FD01 }\n";
    assert_eq!(
        errs(src),
        [
            "7:30: disk.d1.content.partitions.a.type: unknown partition type code `FD01`\n  hint: did you mean FD00 (Linux RAID)? `sgdisk -L` lists the codes; or write the type GUID"
        ] as [&str; 1]
    );
}

#[test]
fn fractional_bytes() {
    let src = "disk:\n  d1:\n    device: /dev/sda\n    content:\n      type: gpt\n      partitions:\n        data: { size: 1.5B }\n";
    assert_eq!(
        errs(src),
        [
            "7:23: disk.d1.content.partitions.data.size: `1.5B`: bytes cannot have a fraction\n  hint: use a whole number"
        ] as [&str; 1]
    );
}

#[test]
fn report_escapes_the_snippet_and_keeps_the_caret_under_the_character() {
    let src = "disk:\n  d1:\n    device: /dev/sda\u{1b}]0;owned\u{7}\n";
    let r = layout::load_str("x.yaml", src, &[]).unwrap().report;
    assert_eq!(
        r.to_string(),
        "error: x.yaml:3:21: disk.d1.device: the value contains an invisible or control character (U+001B ESCAPE)\n  3 |     device: /dev/sda\\e]0;owned\\x07\n    |                     ^\n  hint: delete it: it can hide or reorder text or drive the terminal; retype the text if it was pasted\nx.yaml: 1 error in the layout\n"
    );
}
