//! disko's own JSON (`nix eval --json` of `disko.devices`) loads as-is and plans,
//! or fails with the clear unsupported-feature error. Fixtures: tests/fixtures/disko.

use nasstrap::{layout, plan};
use std::path::Path;

fn outcome(name: &str) -> Result<usize, Vec<String>> {
    let f = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/disko")
        .join(format!("{name}.json"));
    let l = layout::load_file(&f, &[])
        .map_err(|r| r.diagnostics.iter().map(|d| d.short()).collect::<Vec<_>>())?;
    plan::build(&l, &plan::Options::default())
        .map(|p| p.steps.len())
        .map_err(|r| {
            r.diagnostics
                .iter()
                .filter(|d| d.severity == layout::Severity::Error)
                .map(|d| d.short())
                .collect()
        })
}

/// Examples nasstrap plans today.
const PLANS: [&str; 13] = [
    "simple-efi",
    "zfs",
    "hybrid",
    "hybrid-mbr",
    "swap",
    "tmpfs",
    "gpt-bios-compat",
    "luks-on-mdadm",
    "long-device-name",
    "f2fs",
    "luks-btrfs-raid",
    "btrfs-subvolumes",
    "luks-btrfs-subvolumes",
];

/// Examples that use something nasstrap refuses by name, with the feature.
const REFUSES: [(&str, &str); 6] = [
    (
        "mdadm-raid5-args",
        "a GPT inside an md array, LUKS volume or zvol is not supported yet",
    ),
    ("lvm-raid", "type `lvm_vg` is not supported by nasstrap yet"),
    ("bcachefs", "is not supported by nasstrap yet"),
    (
        "zfs-with-vdevs",
        "zpool vdev topologies (`mode.topology`) are not supported yet",
    ),
    (
        "mdadm",
        "a GPT inside an md array, LUKS volume or zvol is not supported yet",
    ),
    (
        "boot-raid1",
        "a GPT inside an md array, LUKS volume or zvol is not supported yet",
    ),
];

#[test]
fn supported_examples_plan() {
    for name in PLANS {
        match outcome(name) {
            Ok(steps) => assert!(steps > 2, "{name}: only {steps} steps"),
            Err(e) => panic!("{name}: {e:#?}"),
        }
    }
}

#[test]
fn unsupported_examples_name_what_is_missing() {
    for (name, what) in REFUSES {
        let errs = outcome(name).expect_err(name);
        assert!(errs.iter().any(|e| e.contains(what)), "{name}: {errs:#?}");
        assert!(
            errs.iter().all(|e| e.contains("not supported")),
            "{name}: {errs:#?}"
        );
    }
}

#[test]
fn every_fixture_is_covered() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/disko");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            e.ok()?
                .file_name()
                .to_str()?
                .strip_suffix(".json")
                .map(str::to_string)
        })
        .collect();
    names.sort();
    let mut known: Vec<String> = PLANS
        .iter()
        .map(|s| s.to_string())
        .chain(REFUSES.iter().map(|(n, _)| n.to_string()))
        .collect();
    known.sort();
    assert_eq!(names, known);
}

/// disko's `zfs` example carries a postCreateHook: it plans as a step right
/// after the pool is made, with its text whole and where the JSON has it.
#[test]
fn zfs_hook_is_a_step_after_its_pool() {
    let f = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/disko/zfs.json");
    let l = layout::load_file(&f, &[]).unwrap();
    let p = plan::build(&l, &plan::Options::default()).unwrap();
    let i = p
        .steps
        .iter()
        .position(|s| matches!(s.action, plan::Action::Hook { .. }))
        .expect("a hook step");
    let pool = &p.steps[i - 1];
    assert!(matches!(&pool.action, plan::Action::ZpoolCreate { name, .. } if name == "zroot"));
    let plan::Action::Hook {
        hook,
        owner,
        step,
        script,
        at,
    } = &p.steps[i].action
    else {
        unreachable!()
    };
    assert_eq!(hook.as_str(), "postCreateHook");
    assert_eq!(owner, "pool zroot");
    assert_eq!(*step, pool.id);
    assert_eq!(
        script,
        "zfs list -t snapshot -H -o name | grep -E '^zroot@blank$' || zfs snapshot zroot@blank"
    );
    assert!(at.ends_with(": zpool.zroot.postCreateHook"), "{at}");
    assert_eq!(p.steps[i].description, "run postCreateHook of pool zroot");
}

fn plan_of(name: &str) -> plan::Plan {
    let f = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/disko")
        .join(format!("{name}.json"));
    let l = layout::load_file(&f, &[]).unwrap();
    plan::build(&l, &plan::Options::default()).unwrap()
}

/// disko's `long-device-name`: the disk's `name` differs from its key `main`;
/// the default GPT labels are made of the name (hashed past 36 bytes), as
/// disko's partition `device` paths in the JSON say.
#[test]
fn a_disk_name_makes_the_labels_and_the_key_names_the_disk() {
    let p = plan_of("long-device-name");
    assert_eq!(p.disks[0].name, "main");
    let labels: Vec<&str> = p.disks[0]
        .table
        .as_ref()
        .unwrap()
        .partitions
        .iter()
        .map(|t| t.label.as_str())
        .collect();
    // sha256("disk-this-is-some-…-too-long-ESP"), first 36 hex digits.
    assert_eq!(
        labels,
        [
            "36601cdc461d3589a280204a4b674b3cad5d",
            "bf3cfbd77a309f330b322e19e5a8377852b1"
        ]
    );
}

/// disko's `f2fs`: mkfs.f2fs with the layout's arguments, mounted as f2fs.
#[test]
fn f2fs_is_made_and_mounted_as_f2fs() {
    let p = plan_of("f2fs");
    let mkfs = p
        .steps
        .iter()
        .find_map(|s| match &s.action {
            plan::Action::Mkfs {
                format, extra_args, ..
            } if format == "f2fs" => Some(extra_args.clone()),
            _ => None,
        })
        .expect("an f2fs mkfs");
    assert_eq!(
        mkfs,
        ["-O", "extra_attr,inode_checksum,sb_checksum,compression"]
    );
    assert!(p.steps.iter().any(|s| matches!(&s.action,
        plan::Action::Mount { fstype, target, .. } if fstype == "f2fs" && target == "/mnt")));
    let n = plan::needs::of(&p);
    assert!(n.programs.contains("mkfs.f2fs"));
    assert_eq!(plan::needs::package_of("mkfs.f2fs"), "f2fs-tools");
}

/// disko's `luks-btrfs-raid`: the btrfs on LUKS `p2` names `/dev/mapper/p1`
/// (and `"-d raid1"` as one item): one mkfs over both mappings, after both opened.
#[test]
fn btrfs_across_luks_volumes_is_one_mkfs_after_both_opens() {
    let p = plan_of("luks-btrfs-raid");
    let i = p
        .steps
        .iter()
        .position(
            |s| matches!(s.action, plan::Action::Mkfs { ref format, .. } if format == "btrfs"),
        )
        .unwrap();
    let plan::Action::Mkfs {
        devices,
        extra_args,
        ..
    } = &p.steps[i].action
    else {
        unreachable!()
    };
    assert_eq!(devices, &["/dev/mapper/p2", "/dev/mapper/p1"]);
    assert_eq!(extra_args, &["-d", "raid1"]);
    for name in ["p1", "p2"] {
        let open = p
            .steps
            .iter()
            .position(|s| matches!(&s.action, plan::Action::LuksOpen { name: n, .. } if n == name))
            .unwrap();
        assert!(open < i, "{name} is open before the mkfs");
    }
    assert_eq!(p.steps[i].disks, ["disk1", "disk2"]);
}

/// disko's `btrfs-subvolumes`: four swap files (two in the top level, two in
/// subvolume /swap), made after the subvolumes, swapped on after the mounts.
#[test]
fn btrfs_swap_files_are_made_and_swapped_on() {
    let p = plan_of("btrfs-subvolumes");
    let made: Vec<(Option<String>, String, u64, String)> = p
        .steps
        .iter()
        .filter_map(|s| match &s.action {
            plan::Action::BtrfsSwapfile {
                subvolume,
                path,
                size,
                file,
                ..
            } => Some((subvolume.clone(), path.clone(), *size, file.clone())),
            _ => None,
        })
        .collect();
    let m = 20 << 20;
    assert_eq!(
        made,
        [
            (
                None,
                "swapfile".into(),
                m,
                "/mnt/partition-root/swapfile".into()
            ),
            (
                None,
                "swapfile1".into(),
                m,
                "/mnt/partition-root/swapfile1".into()
            ),
            (
                Some("swap".into()),
                "swapfile".into(),
                m,
                "/mnt/.swapvol/swapfile".into()
            ),
            (
                Some("swap".into()),
                "rel-path".into(),
                m,
                "/mnt/.swapvol/rel-path".into()
            ),
        ]
    );
    let last_subvol = p
        .steps
        .iter()
        .rposition(|s| matches!(s.action, plan::Action::BtrfsSubvolume { .. }))
        .unwrap();
    let first_file = p
        .steps
        .iter()
        .position(|s| matches!(s.action, plan::Action::BtrfsSwapfile { .. }))
        .unwrap();
    assert!(last_subvol < first_file);
    let last_mount = p
        .steps
        .iter()
        .rposition(|s| matches!(s.action, plan::Action::Mount { .. }))
        .unwrap();
    let swapons: Vec<usize> = p
        .steps
        .iter()
        .enumerate()
        .filter(|(_, s)| matches!(s.action, plan::Action::Swapon { .. }))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(swapons.len(), 4);
    assert!(swapons.iter().all(|&i| i > last_mount));
}

/// disko's `luks-btrfs-subvolumes`: the additional key file is added after
/// the open, unlocked with the first key file; no key is ever on argv.
#[test]
fn additional_key_files_are_added_with_the_first_key() {
    let p = plan_of("luks-btrfs-subvolumes");
    let open = p
        .steps
        .iter()
        .position(|s| matches!(s.action, plan::Action::LuksOpen { .. }))
        .unwrap();
    let add = p
        .steps
        .iter()
        .position(|s| matches!(s.action, plan::Action::LuksAddKey { .. }))
        .unwrap();
    assert_eq!(add, open + 1);
    assert_eq!(
        plan::script::commands(&p.steps[add].action),
        [[
            "cryptsetup",
            "luksAddKey",
            "--batch-mode",
            "--key-file",
            "/tmp/secret.key",
            "/dev/vdb2",
            "/tmp/additionalSecret.key"
        ]]
    );
    let n = plan::needs::of(&p);
    assert!(n.key_files.contains("/tmp/additionalSecret.key"));
}
