//! Plans travel from the laptop back to the target as JSON: every plan the
//! shipped layouts and the accepted fixtures produce must read back equal to
//! itself, or the target would apply something other than what was consented to.
//! (The diffed plans, with reasons and read-only assembly, are round-tripped by
//! the diff's unit tests, where the observed states are built.)

use nasstrap::layout::{self, size};
use nasstrap::plan::{self, DiskFacts, Options, SizeSource};
use std::path::{Path, PathBuf};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|x| x == "yaml" || x == "json") {
            out.push(p);
        }
    }
}

/// The `# args:` of a fixture, as `nasstrap plan` would read them (only the
/// ones that change the plan: `--disk`, `--disk-size`, `--mount-root`).
fn options(p: &Path, map: &mut Vec<(String, String)>) -> Options {
    let mut opts = Options {
        layout_file: p.display().to_string(),
        ..Options::default()
    };
    let text = String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned();
    let args: Vec<String> = text
        .lines()
        .take_while(|l| l.starts_with('#'))
        .filter_map(|l| l.strip_prefix("# args: "))
        .flat_map(|a| a.split_whitespace().map(String::from))
        .collect();
    for pair in args.chunks(2) {
        let [flag, value] = pair else { continue };
        let (name, rest) = value.split_once('=').unwrap_or(("", value));
        match flag.as_str() {
            "--disk" => map.push((name.into(), rest.into())),
            "--mount-root" => opts.mount_root = value.clone(),
            "--disk-size" => {
                let b = size::parse(rest).unwrap().size.bytes(512, 0).unwrap();
                let facts = DiskFacts {
                    size_bytes: b - b % 512,
                    sector: 512,
                    source: SizeSource::Flag,
                };
                opts.facts.insert(name.into(), facts);
            }
            _ => {}
        }
    }
    opts
}

#[track_caller]
fn round_trips(what: &Path, p: &plan::Plan) {
    let json = plan::render::json(p);
    let back: plan::Plan = serde_json::from_str(&json)
        .unwrap_or_else(|e| panic!("{}: the plan does not read back: {e}", what.display()));
    assert_eq!(
        &back,
        p,
        "{}: the plan reads back different",
        what.display()
    );
    // And the reading writes the same text: nothing is lost or defaulted differently.
    assert_eq!(plan::render::json(&back), json, "{}", what.display());
}

#[test]
fn every_layout_and_accepted_fixture_round_trips() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut all = Vec::new();
    files(&root.join("layouts"), &mut all);
    files(&root.join("tests/fixtures/accepted"), &mut all);
    all.sort();
    assert!(all.len() > 10, "too few layouts found: {all:?}");
    for p in &all {
        let mut map = Vec::new();
        let opts = options(p, &mut map);
        let loaded = layout::load_file(p, &map).unwrap_or_else(|r| panic!("{r}"));
        let built = plan::build(&loaded, &opts).unwrap_or_else(|r| panic!("{r}"));
        round_trips(p, &built);
        // With firmware written too, so `write_firmware` steps are covered.
        let fw = Options {
            firmware: true,
            ..opts
        };
        if let Ok(built) = plan::build(&loaded, &fw) {
            round_trips(p, &built);
        }
    }
}
