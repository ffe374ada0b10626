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
const PLANS: [&str; 8] = [
    "simple-efi",
    "zfs",
    "hybrid",
    "hybrid-mbr",
    "swap",
    "tmpfs",
    "gpt-bios-compat",
    "luks-on-mdadm",
];

/// Examples that use something nasstrap refuses by name, with the feature.
const REFUSES: [(&str, &str); 8] = [
    (
        "mdadm-raid5-args",
        "a GPT inside an md array, LUKS volume or zvol is not supported yet",
    ),
    (
        "luks-btrfs-subvolumes",
        "`additionalKeyFiles` is not supported yet",
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
    ("btrfs-subvolumes", "btrfs swap files are not supported yet"),
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
