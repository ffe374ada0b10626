//! The basis of a plan against a real probe of the emulated Helios64
//! (LUKS on RAID6 over five disks, eMMC root), replayed: every fact, pinned
//! by a snapshot; the same capture twice gives the same fingerprint; the
//! array taken down is a difference, named.

use nasstrap::plan::basis::Basis;
use nasstrap::probe::{self, Observed};
use nasstrap::{layout, plan};
use std::path::Path;

fn observed(raw: &str) -> Observed {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("tests/fixtures/probe/raw").join(raw)).unwrap();
    let raw: probe::raw::RawProbe = serde_json::from_str(&text).unwrap();
    probe::assemble::assemble(&raw).unwrap()
}

fn plan_against(obs: &Observed) -> plan::Plan {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let map: Vec<(String, String)> = std::fs::read_to_string(root.join("qemu/guest.map"))
        .unwrap()
        .lines()
        .filter_map(|l| {
            l.split_once('=')
                .map(|(a, b)| (a.to_string(), b.to_string()))
        })
        .collect();
    let loaded = layout::load_file(&root.join("layouts/helios64-luks.yaml"), &map).unwrap();
    let opts = plan::Options {
        ignore_expect: true,
        ..Default::default()
    };
    plan::diff::against(&loaded, obs, &opts).unwrap().0
}

#[test]
fn installed_helios64_basis() {
    let obs = observed("qemu-helios64-luks.json");
    let p = plan_against(&obs);
    let b = Basis::of(&p, &obs);
    let text: String = b.facts.iter().map(|(k, v)| format!("{k}: {v}\n")).collect();
    insta::assert_snapshot!("helios64-luks.basis", text);
    let again = Basis::of(&p, &observed("qemu-helios64-luks.json"));
    assert_eq!(again.fingerprint(), b.fingerprint());
}

#[test]
fn taken_down_between_diff_and_apply_is_named() {
    let up = observed("qemu-helios64-luks.json");
    let p = plan_against(&up);
    let earlier = Basis::of(&p, &up);
    let now = Basis::of(&p, &observed("qemu-helios64-luks-down.json"));
    assert_ne!(now.fingerprint(), earlier.fingerprint());
    let text: String = now
        .changes(&earlier)
        .iter()
        .map(|d| format!("{d}\n"))
        .collect();
    insta::assert_snapshot!("helios64-luks-down.changes", text);
}
