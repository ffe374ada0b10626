//! Plans of every shipped layout, in every rendering, snapshot-tested; the sh
//! rendering must pass shellcheck.

use nasstrap::layout;
use nasstrap::plan::{self, Options};
use std::path::Path;

const LAYOUTS: [&str; 4] = [
    "helios64",
    "helios64-luks",
    "helios64-btrfs",
    "helios64-zfs",
];

fn plan_of(name: &str) -> plan::Plan {
    // Layouts with disko hooks live with the test fixtures, not the shipped ones.
    let file = match name {
        "hooks" => "tests/fixtures/layouts/hooks.yaml".to_string(),
        _ => format!("layouts/{name}.yaml"),
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let loaded = layout::load_file(&root.join(&file), &[]).unwrap_or_else(|r| panic!("{r}"));
    assert!(loaded.report.diagnostics.is_empty(), "{}", loaded.report);
    let opts = Options {
        layout_file: file,
        ..Options::default()
    };
    plan::build(&loaded, &opts).unwrap_or_else(|r| panic!("{r}"))
}

#[test]
fn shipped_layouts_plan_as_text() {
    for name in LAYOUTS {
        insta::assert_snapshot!(format!("{name}.text"), plan::render::text(&plan_of(name)));
    }
}

#[test]
fn shipped_layouts_plan_as_json() {
    for name in LAYOUTS {
        insta::assert_snapshot!(format!("{name}.json"), plan::render::json(&plan_of(name)));
    }
}

#[test]
fn shipped_layouts_plan_as_sh() {
    for name in LAYOUTS {
        insta::assert_snapshot!(format!("{name}.sh"), plan::script::sh(&plan_of(name)));
    }
}

/// Each hook's text whole in every rendering; in sh, verbatim in a heredoc
/// whose end no line of the hook can close.
#[test]
fn hooks_plan_in_full() {
    let p = plan_of("hooks");
    insta::assert_snapshot!("hooks.text", plan::render::text(&p));
    insta::assert_snapshot!("hooks.json", plan::render::json(&p));
    insta::assert_snapshot!("hooks.sh", plan::script::sh(&p));
}

#[test]
fn sh_rendering_passes_shellcheck() {
    let have = std::process::Command::new("shellcheck")
        .arg("--version")
        .output()
        .is_ok();
    if !have {
        assert!(std::env::var("CI").is_err(), "shellcheck is required in CI");
        eprintln!("SKIP: shellcheck is not installed");
        return;
    }
    for name in LAYOUTS.iter().chain(&["hooks"]) {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join(format!("{name}.sh"));
        std::fs::write(&f, plan::script::sh(&plan_of(name))).unwrap();
        let out = std::process::Command::new("shellcheck")
            .args(["--shell=sh", "--severity=style"])
            .arg(&f)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

#[test]
fn json_is_stable_and_parses() {
    let p = plan_of("helios64");
    let v: serde_json::Value = serde_json::from_str(&plan::render::json(&p)).unwrap();
    assert_eq!(v["version"], 1);
    assert_eq!(v["disks"][0]["table"]["partitions"][0]["first_lba"], 32768);
    assert_eq!(v["steps"][0]["change"], "destroy");
    assert_eq!(v["steps"][0]["action"]["kind"], "wipe_signatures");
}

#[test]
fn plans_scale_to_the_disk_size_given() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("layouts/helios64.yaml");
    let loaded = layout::load_file(&file, &[]).unwrap();
    let mut opts = Options::default();
    opts.facts.insert(
        "bay1".into(),
        plan::DiskFacts {
            size_bytes: 4 << 40,
            sector: 4096,
            source: plan::SizeSource::Flag,
        },
    );
    let p = plan::build(&loaded, &opts).unwrap();
    let t = p.disks[1].table.as_ref().unwrap();
    // 4 KiB sectors: 1 MiB alignment is 256 sectors; the backup GPT takes the last 5 sectors,
    // so the rest of the disk ends at the 1 MiB boundary before them (sgdisk's --align-end).
    assert_eq!(
        (
            t.partitions[0].first_lba,
            t.partitions[0].last_lba,
            t.sector
        ),
        (256, (4u64 << 40) / 4096 - 256 - 1, 4096)
    );
}
