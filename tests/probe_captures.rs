//! Tool output captured in the emulated Helios64 (tests/qemu_capture.rs), parsed
//! and replayed: md arrays in each state, and a whole probe of an installed
//! LUKS-on-RAID6 layout, which must diff as "nothing to do".

use nasstrap::probe::{self, MdState};
use nasstrap::{layout, plan};
use std::path::Path;

fn fixture(p: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/probe")
            .join(p),
    )
    .unwrap()
}

fn state(name: &str) -> MdState {
    let entries = probe::mdadm::parse_mdstat(&fixture(&format!("mdstat/{name}-qemu.txt"))).unwrap();
    assert_eq!(entries.len(), 1);
    probe::mdadm::md_state(&entries[0], None)
}

#[test]
fn md_states_from_the_guest() {
    assert!(
        matches!(state("resync"), MdState::Resyncing { percent } if (percent - 93.5).abs() < 0.01),
        "{:?}",
        state("resync")
    );
    assert!(
        matches!(state("clean"), MdState::Clean | MdState::Active),
        "{:?}",
        state("clean")
    );
    assert_eq!(state("degraded"), MdState::Degraded { missing: 1 });
    assert!(
        matches!(state("recovering"), MdState::Recovering { percent } if (percent - 17.2).abs() < 0.01),
        "{:?}",
        state("recovering")
    );
    for s in ["resync", "clean", "degraded", "recovering"] {
        let d = probe::mdadm::parse_detail_export(&fixture(&format!(
            "mdadm/detail-raid6-{s}-qemu.txt"
        )))
        .unwrap();
        assert_eq!(d.short_name().as_deref(), Some("cap"), "{s}");
    }
}

fn replay(raw: &str) -> plan::Plan {
    let raw: probe::raw::RawProbe = serde_json::from_str(&fixture(raw)).unwrap();
    let obs = probe::assemble::assemble(&raw).unwrap();
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
    let (p, refusals) = plan::diff::against(&loaded, &obs, &opts).unwrap();
    assert!(refusals.iter().all(|r| r.reason.is_busy()), "{refusals:?}");
    p
}

#[test]
fn installed_luks_layout_replays_as_nothing_to_do() {
    let p = replay("raw/qemu-helios64-luks.json");
    assert!(p.is_noop(), "{}", plan::render::diff_text(&p));
}

#[test]
fn taken_down_luks_layout_needs_only_assemble_open_mount() {
    let p = replay("raw/qemu-helios64-luks-down.json");
    // The array is there but stopped: the diff assembles it and, until apply
    // looks inside, says so instead of claiming what it holds.
    let text = plan::render::diff_text(&p);
    assert!(p.destructive().next().is_none(), "{text}");
    let todo: Vec<&plan::Step> = p
        .steps
        .iter()
        .filter(|s| s.change != plan::Change::Keep)
        .collect();
    assert!(
        matches!(todo[0].action, plan::Action::MdAssemble { .. }),
        "{text}"
    );
    for s in &todo[1..] {
        assert!(
            matches!(s.action, plan::Action::Mount { .. })
                || s.reason.as_deref()
                    == Some(
                        "not visible until the array is assembled; apply assembles it and looks again"
                    ),
            "{text}"
        );
    }
}
