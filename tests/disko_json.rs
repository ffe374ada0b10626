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
const PLANS: [&str; 7] = [
    "simple-efi",
    "hybrid",
    "hybrid-mbr",
    "swap",
    "tmpfs",
    "gpt-bios-compat",
    "luks-on-mdadm",
];

/// Examples that use something nasstrap refuses by name, with the feature.
const REFUSES: [(&str, &str); 9] = [
    (
        "mdadm-raid5-args",
        "a GPT inside an md array, LUKS volume or zvol is not supported yet",
    ),
    (
        "zfs",
        "`postCreateHook` is not supported: hooks run arbitrary shell",
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
