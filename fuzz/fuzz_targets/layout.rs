//! The layout loader, validator and planner on arbitrary input: must never
//! panic, hang or blow the stack, whatever the file holds — and a layout it
//! accepts must plan only inside its own namespaces. The oracle below is
//! written independently of `layout::names` on purpose: it checks the plan's
//! paths as the kernel and mount(8) would read them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nasstrap::plan::{Action, Plan, partition_path};

/// A path with no `.`/`..`/empty component and no trailing slash.
fn clean(p: &str) -> bool {
    p.starts_with('/')
        && (p == "/" || !p.ends_with('/'))
        && p[1..]
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
}

/// A character that must never reach a terminal raw.
fn unsafe_char(c: char) -> bool {
    (c.is_control() && c != '\n')
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}' | '\u{2028}' | '\u{2029}')
}

/// One name component under /dev/md, /dev/mapper: no slash, not . or ..
fn component(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains('/')
}

/// Every device node the plan may write: its disks, their planned
/// partitions, and the nodes the layout itself creates.
fn check(plan: &Plan) {
    let mut disks: Vec<&str> = Vec::new();
    let mut nodes: Vec<String> = Vec::new();
    for d in &plan.disks {
        assert!(clean(&d.device), "disk device {:?}", d.device);
        assert!(!disks.contains(&d.device.as_str()), "two disks on {}", d.device);
        disks.push(&d.device);
        nodes.push(d.device.clone());
        for n in 1..=128 {
            nodes.push(partition_path(&d.device, n));
        }
    }
    for a in &disks {
        for b in &disks {
            for n in 1..=128 {
                assert_ne!(partition_path(a, n), *b, "{b} is a partition of {a}");
            }
        }
    }
    let root = &plan.mount_root;
    assert!(clean(root), "mount root {root:?}");
    for st in &plan.steps {
        assert!(!st.description.contains('\n'), "step {}: {:?}", st.id, st.description);
        let ok_node = |dev: &str, nodes: &[String]| {
            if let Some(n) = dev.strip_prefix("/dev/md/") {
                component(n)
            } else if let Some(n) = dev.strip_prefix("/dev/mapper/") {
                component(n)
            } else if let Some(n) = dev.strip_prefix("/dev/zvol/") {
                clean(&format!("/{n}"))
            } else {
                nodes.iter().any(|x| x == dev)
            }
        };
        match &st.action {
            Action::WipeSignatures { device }
            | Action::Mkswap { device }
            | Action::BtrfsSubvolume { device, .. } => {
                assert!(ok_node(device, &nodes), "step {}: writes {device}", st.id)
            }
            Action::WriteGpt { device, .. } | Action::WriteFirmware { device, .. } => {
                assert!(disks.contains(&device.as_str()), "step {}: table on {device}", st.id)
            }
            Action::MdCreate { device, members, name, .. } => {
                assert!(component(name) && device == &format!("/dev/md/{name}"));
                for m in members {
                    assert!(ok_node(m, &nodes) && m != device, "step {}: member {m}", st.id);
                }
            }
            Action::LuksFormat { device, name, .. } | Action::LuksOpen { device, name, .. } => {
                assert!(component(name), "mapper name {name:?}");
                assert!(ok_node(device, &nodes), "step {}: LUKS on {device}", st.id);
                assert_ne!(device, &format!("/dev/mapper/{name}"));
            }
            Action::Mkfs { devices, .. } => {
                for d in devices {
                    assert!(ok_node(d, &nodes), "step {}: mkfs on {d}", st.id);
                }
            }
            Action::Mount { target, .. } => {
                assert!(clean(target), "mount target {target:?}");
                assert!(
                    target == root || target.starts_with(&format!("{root}/")) || root == "/",
                    "mount target {target} outside {root}"
                );
            }
            _ => {}
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let loaded = match nasstrap::layout::load_str("fuzz.yaml", text, &[]) {
        Ok(l) => l,
        Err(report) => {
            let shown = report.to_string();
            assert!(!shown.chars().any(unsafe_char), "raw control character in: {shown:?}");
            return;
        }
    };
    match nasstrap::plan::build(&loaded, &nasstrap::plan::Options::default()) {
        Ok(plan) => {
            check(&plan);
            let text = nasstrap::plan::render::text(&plan);
            assert!(!text.chars().any(unsafe_char), "raw control character in the plan");
            let _ = nasstrap::plan::script::sh(&plan);
        }
        Err(report) => {
            let shown = report.to_string();
            assert!(!shown.chars().any(unsafe_char), "raw control character in: {shown:?}");
        }
    }
});
