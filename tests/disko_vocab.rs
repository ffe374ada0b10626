//! The rest of disko's vocabulary: disk and partition `name`s, any
//! `mkfs.<format>`, btrfs across LUKS, btrfs swap files, LUKS extra keys
//! and key-file slices. What each plans, and what is refused, where and why.

mod common;

use common::layout::errs;
use nasstrap::{layout, plan};

fn plan_of(src: &str) -> plan::Plan {
    let l = layout::load_str("t.yaml", src, &[]).unwrap();
    plan::build(&l, &plan::Options::default()).unwrap()
}

fn luks_yaml(luks: &str) -> String {
    format!(
        "disk:\n  d1:\n    device: /dev/sda\n    content:\n      type: gpt\n      partitions:\n        p: {{ size: 100%, content: {{ type: luks, name: c, {luks}, content: {{ type: filesystem, format: ext4, mountpoint: / }} }} }}\n"
    )
}

#[test]
fn a_partition_name_makes_its_label() {
    let p = plan_of(
        "disk:\n  d1:\n    device: /dev/sda\n    name: main\n    content:\n      type: gpt\n      partitions:\n        p: { name: root, size: 100%, content: { type: filesystem, format: ext4, mountpoint: / } }\n",
    );
    let t = p.disks[0].table.as_ref().unwrap();
    assert_eq!(p.disks[0].name, "d1");
    assert_eq!(t.partitions[0].label, "disk-main-root");
}

#[test]
fn formats_refused_by_name() {
    let src = |f: &str| {
        format!(
            "disk:\n  d1:\n    device: /dev/sda\n    content: {{ type: filesystem, format: {f}, mountpoint: / }}\n"
        )
    };
    assert_eq!(
        errs(&src("bcachefs")),
        [
            "4:42: disk.d1.content.format: bcachefs is not supported by nasstrap yet\n  hint: the rescue and target kernels have no bcachefs; use btrfs, ext4 or xfs"
        ] as [&str; 1]
    );
    assert_eq!(
        errs(&src("ext5")),
        [
            "4:42: disk.d1.content.format: unknown filesystem format `ext5`\n  hint: did you mean `ext4`?"
        ] as [&str; 1]
    );
    assert_eq!(
        errs(&src("Ext4/x")),
        [
            "4:42: disk.d1.content.format: unknown filesystem format `Ext4/x`\n  hint: a format names mkfs.<format>: up to 32 lowercase letters, digits, `_`, `-`, `.`; known formats: ext4, ext3, ext2, xfs, btrfs, vfat, f2fs"
        ] as [&str; 1]
    );
    // A filesystem of its own, one letter from xfs: mkfs.jfs, mounted as jfs.
    assert!(errs(&src("jfs")).is_empty());
    let p = plan_of(&src("jfs"));
    assert!(p.steps.iter().any(|s| matches!(&s.action,
        plan::Action::Mkfs { format, .. } if format == "jfs")));
    assert_eq!(plan::needs::package_of("mkfs.jfs"), "jfsutils");
}

#[test]
fn f2fs_labels_are_checked_and_mmc_skips_discard() {
    let p = plan_of(
        "disk:\n  d1:\n    device: /dev/mmcblk0\n    content: { type: filesystem, format: f2fs, mountpoint: /, extraArgs: [-l, root] }\n",
    );
    let cmds: Vec<Vec<String>> = p
        .steps
        .iter()
        .flat_map(|s| plan::script::commands(&s.action))
        .collect();
    assert!(
        cmds.contains(
            &[
                "mkfs.f2fs",
                "-f",
                "-q",
                "-t",
                "0",
                "-l",
                "root",
                "/dev/mmcblk0"
            ]
            .map(String::from)
            .to_vec()
        ),
        "{cmds:?}"
    );
}

#[test]
fn quoting_in_an_argument_item_is_refused() {
    let src = "disk:\n  d1:\n    device: /dev/sda\n    content: { type: filesystem, format: ext4, mountpoint: /, extraArgs: [\"-L 'my root'\"] }\n";
    assert_eq!(
        errs(src),
        [
            "4:75: disk.d1.content.extraArgs[0]: `-L 'my root'` needs a shell to unquote; nasstrap splits such an item at whitespace only\n  hint: write each argument as its own list item, unquoted"
        ] as [&str; 1]
    );
}

#[test]
fn btrfs_across_luks_waits_for_a_volume_declared_later() {
    // The btrfs is on the first disk's volume and names the second's.
    let src = "disk:
  a:
    device: /dev/sda
    content:
      type: luks
      name: one
      settings: { keyFile: /k }
      content: { type: btrfs, extraArgs: [\"-m raid1\", /dev/mapper/two], mountpoint: / }
  b:
    device: /dev/sdb
    content: { type: luks, name: two, settings: { keyFile: /k } }
";
    let p = plan_of(src);
    let pos =
        |f: &dyn Fn(&plan::Action) -> bool| p.steps.iter().position(|s| f(&s.action)).unwrap();
    let mkfs = pos(&|a| matches!(a, plan::Action::Mkfs { .. }));
    let open_two = pos(&|a| matches!(a, plan::Action::LuksOpen { name, .. } if name == "two"));
    assert!(open_two < mkfs);
    let plan::Action::Mkfs {
        devices,
        extra_args,
        ..
    } = &p.steps[mkfs].action
    else {
        unreachable!()
    };
    assert_eq!(devices, &["/dev/mapper/one", "/dev/mapper/two"]);
    assert_eq!(extra_args, &["-m", "raid1"]);
}

#[test]
fn a_luks_member_of_a_btrfs_holds_nothing_else() {
    let src = "disk:
  a:
    device: /dev/sda
    content: { type: luks, name: one, settings: { keyFile: /k }, content: { type: btrfs, extraArgs: [/dev/mapper/two], mountpoint: / } }
  b:
    device: /dev/sdb
    content: { type: luks, name: two, settings: { keyFile: /k }, content: { type: swap } }
";
    let e = errs(src);
    assert!(
        e.iter().any(|e| e.contains("LUKS `two` is a member of the btrfs at disk.a.content.name and also has content of its own")),
        "{e:#?}"
    );
}

#[test]
fn key_file_slices_and_extra_keys_reach_cryptsetup() {
    let p = plan_of(&luks_yaml(
        "settings: { keyFile: /k, keyFileOffset: 2, keyFileSize: 8 }, additionalKeyFiles: [/k2, /k3]",
    ));
    let cmds: Vec<String> = p
        .steps
        .iter()
        .flat_map(|s| plan::script::commands(&s.action))
        .filter(|c| c[0] == "cryptsetup")
        .map(|c| c.join(" "))
        .collect();
    let slice = "--key-file /k --keyfile-offset 2 --keyfile-size 8";
    assert_eq!(
        cmds,
        [
            format!("cryptsetup luksFormat --batch-mode --type luks2 {slice} /dev/sda1"),
            format!("cryptsetup open {slice} /dev/sda1 c"),
            format!("cryptsetup luksAddKey --batch-mode {slice} /dev/sda1 /k2"),
            format!("cryptsetup luksAddKey --batch-mode {slice} /dev/sda1 /k3"),
        ]
    );
    let n = plan::needs::of(&p);
    assert_eq!(
        n.key_files.iter().map(String::as_str).collect::<Vec<_>>(),
        ["/k", "/k2", "/k3"]
    );
    // The JSON carries the slice; a plan without one is as before.
    let json = serde_json::to_string(&p).unwrap();
    assert!(
        json.contains("\"key_slice\":{\"offset\":2,\"size\":8}"),
        "{json}"
    );
    let back: plan::Plan = serde_json::from_str(&json).unwrap();
    assert_eq!(back, p);
}

#[test]
fn key_file_slices_need_a_key_file_and_extra_keys_absolute_paths() {
    assert_eq!(
        errs(&luks_yaml(
            "passwordFile: /p, settings: { keyFileSize: 8 }, additionalKeyFiles: [k2]"
        )),
        [
            "7:88: disk.d1.content.partitions.p.content.settings.keyFileSize: `keyFileSize` needs a key file (`settings.keyFile`)\n  hint: it says which bytes of the key file are the key",
            "7:127: disk.d1.content.partitions.p.content.additionalKeyFiles[0]: additional key file `k2` is not an absolute path",
        ] as [&str; 2]
    );
}

#[test]
fn swap_files_need_a_mounted_holder_and_a_size() {
    let src = "disk:
  d1:
    device: /dev/sda
    content:
      type: btrfs
      swap: { a: { size: 1G } }
      subvolumes:
        /s: { mountpoint: /, swap: { b: { path: ../b, size: 1G }, c: { priority: 1 } } }
";
    assert_eq!(
        errs(src),
        [
            "6:15: disk.d1.content.swap.a: swap file `a` is in the btrfs, which has no `mountpoint`\n  hint: give the btrfs a mountpoint: the swap file is used where it is mounted",
            "8:49: disk.d1.content.subvolumes./s.swap.b.path: swap file path `../b` has a `..` component\n  hint: nasstrap never resolves `.` or `..`: write the path inside the filesystem",
            "8:70: disk.d1.content.subvolumes./s.swap.c: missing `size`\n  hint: e.g. size: 4G",
        ] as [&str; 3]
    );
}

#[test]
fn swap_files_are_kept_while_swapped_on_and_swapped_off_before_unmount() {
    let p = plan_of(
        "disk:\n  d1:\n    device: /dev/sda\n    content: { type: btrfs, mountpoint: /, swap: { s: { size: 64M } } }\n",
    );
    let sh = plan::script::sh(&p);
    assert!(
        sh.contains("btrfs filesystem mkswapfile --size 67108864 \"$f\""),
        "{sh}"
    );
    assert!(sh.contains("\nswapon /mnt/s\n"), "{sh}");
    let obs = nasstrap::probe::Observed {
        disks: Vec::new(),
        md_arrays: Vec::new(),
        luks: Vec::new(),
        btrfs: Vec::new(),
        zpools: Vec::new(),
        mounts: vec![nasstrap::probe::Mount {
            source: "/dev/sda".into(),
            target: "/mnt".into(),
            fstype: "btrfs".into(),
            options: Vec::new(),
        }],
        swaps: vec!["/mnt/s".into()],
        paths: Vec::new(),
    };
    let down = plan::updown::take_down(&p, &obs);
    let what: Vec<&str> = down.steps.iter().map(|s| s.description.as_str()).collect();
    assert_eq!(what, ["stop swapping on /mnt/s", "unmount /mnt"]);
}
