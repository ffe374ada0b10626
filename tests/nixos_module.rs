//! The NixOS module of every shipped layout, against the state its disks are
//! in after apply, snapshot-tested; its text must parse and evaluate with Nix.
//!
//! The LUKS layout's state is a real probe of the emulated Helios64
//! (`raw/qemu-helios64-luks.json`). The others are that capture with the bays'
//! content edited into what their layout makes (the eMMC part stays real):
//! this host and the guest have no ZFS, and the capture has only the LUKS
//! install. Each edited state must diff as "nothing to do" first, so it is
//! what apply would have left.

mod common;

use common::skip::{self, Need};
use nasstrap::layout::{self, Loaded};
use nasstrap::nixos::{self, Refusal};
use nasstrap::plan::{self, Plan};
use nasstrap::probe::{self, BtrfsFs, Mount, Observed, Signature, Table, Zpool};
use std::path::Path;

const COMMAND: &str = "nasstrap nixos-config layouts/X.yaml --disk-map qemu/guest.map";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn capture(name: &str) -> Observed {
    let text = std::fs::read_to_string(root().join("tests/fixtures/probe/raw").join(name)).unwrap();
    let raw: probe::RawProbe = serde_json::from_str(&text).unwrap();
    probe::assemble(&raw).unwrap()
}

fn load(name: &str) -> Loaded {
    let map: Vec<(String, String)> = std::fs::read_to_string(root().join("qemu/guest.map"))
        .unwrap()
        .lines()
        .filter_map(|l| {
            l.split_once('=')
                .map(|(a, b)| (a.to_string(), b.to_string()))
        })
        .collect();
    layout::load_file(&root().join(format!("layouts/{name}.yaml")), &map).unwrap()
}

fn plan_of(loaded: &Loaded, name: &str, obs: &Observed) -> Plan {
    let opts = plan::Options {
        layout_file: format!("layouts/{name}.yaml"),
        ignore_expect: true,
        ..Default::default()
    };
    plan::diff::against(loaded, obs, &opts).unwrap().0
}

/// The module of layout `name` against `obs`, which must hold it (all kept).
fn module(name: &str, obs: &Observed) -> String {
    let loaded = load(name);
    let p = plan_of(&loaded, name, obs);
    let todo: Vec<&str> = p
        .steps
        .iter()
        .filter(|s| {
            s.change != plan::Change::Keep && !matches!(s.action, plan::Action::Mount { .. })
        })
        .map(|s| s.description.as_str())
        .collect();
    assert!(
        todo.is_empty(),
        "{name}: the state does not hold the layout: {todo:?}"
    );
    nixos::disks_module(&p, obs, &loaded.layout, &COMMAND.replace('X', name))
        .unwrap_or_else(|r| panic!("{name}: {r}"))
}

const BAYS: [&str; 5] = ["sda", "sdb", "sdc", "sdd", "sde"];

/// The LUKS capture with the bays' arrays and LUKS gone and their
/// partitions set to `type_guid`, each holding what `sig` makes of it.
fn bays(mut obs: Observed, type_guid: &str, sig: impl Fn(usize) -> Option<Signature>) -> Observed {
    obs.md_arrays.clear();
    obs.luks.clear();
    obs.mounts.retain(|m| !m.target.starts_with("/mnt/srv"));
    for d in obs
        .disks
        .iter_mut()
        .filter(|d| BAYS.contains(&d.name.as_str()))
    {
        let i = BAYS.iter().position(|b| *b == d.name).unwrap();
        if let Table::Gpt(g) = &mut d.table {
            for e in &mut g.entries {
                e.type_guid = type_guid.to_uppercase();
            }
        }
        for p in &mut d.partitions {
            p.part_type = Some(type_guid.to_lowercase());
            p.holders.clear();
            p.signature = sig(i);
        }
    }
    obs
}

fn sig(fstype: &str, uuid: &str, sub: Option<String>, label: &str) -> Signature {
    Signature {
        fstype: fstype.into(),
        uuid: Some(uuid.into()),
        uuid_sub: sub,
        label: Some(label.into()),
        version: None,
        used_bytes: None,
    }
}

fn mount(source: &str, target: &str, fstype: &str) -> Mount {
    Mount {
        source: source.into(),
        target: target.into(),
        fstype: fstype.into(),
        options: vec!["rw".into()],
    }
}

/// helios64.yaml: the array holds ext4 itself (the capture's ext4, one level down).
fn md_ext4() -> Observed {
    let mut obs = capture("qemu-helios64-luks.json");
    let inner = obs.luks[0].open.as_ref().unwrap().signature.clone();
    obs.luks.clear();
    let md = &mut obs.md_arrays[0];
    md.signature = inner;
    md.holders.clear();
    for m in &mut obs.mounts {
        if m.source == "/dev/mapper/tank-crypt" {
            m.source = md.path.clone();
        }
    }
    obs
}

const BTRFS_UUID: &str = "5b7c1a52-8d0e-4f3a-9c61-2e4b8f0d7a19";

fn btrfs_raid1() -> Observed {
    let mut obs = bays(
        capture("qemu-helios64-luks.json"),
        "0fc63daf-8483-4772-8e79-3d69d8477de4",
        |i| {
            let sub = format!("5b7c1a52-0000-4000-8000-00000000000{i}");
            Some(sig("btrfs", BTRFS_UUID, Some(sub), "tank"))
        },
    );
    obs.btrfs = vec![BtrfsFs {
        uuid: BTRFS_UUID.into(),
        label: Some("tank".into()),
        devices: BAYS.iter().map(|b| format!("/dev/{b}1")).collect(),
        devids: (1..=5).collect(),
        total_devices: 5,
        subvolumes: vec!["@data".into(), "@snapshots".into()],
    }];
    obs.mounts.push(mount("/dev/sda1", "/mnt/srv", "btrfs"));
    obs.mounts
        .push(mount("/dev/sda1", "/mnt/srv/.snapshots", "btrfs"));
    obs
}

fn zfs_raidz2() -> Observed {
    // blkid reports a zfs_member's pool GUID, in decimal, as its UUID.
    let mut obs = bays(
        capture("qemu-helios64-luks.json"),
        "6a85cf4d-1dd2-11b2-99a6-080020736631",
        |i| {
            let sub = format!("1234567890123456{i}");
            Some(sig("zfs_member", "9876543210987654321", Some(sub), "tank"))
        },
    );
    let datasets = [
        "",
        "/services",
        "/data",
        "/data/shares",
        "/data/media",
        "/backups",
    ];
    obs.zpools = vec![Zpool {
        name: "tank".into(),
        health: "ONLINE".into(),
        vdevs: BAYS.iter().map(|b| format!("/dev/{b}1")).collect(),
        unavailable: Vec::new(),
        datasets: datasets.iter().map(|d| format!("tank{d}")).collect(),
    }];
    obs
}

#[test]
fn helios64_luks_from_a_real_probe() {
    let m = module("helios64-luks", &capture("qemu-helios64-luks.json"));
    insta::assert_snapshot!("helios64-luks", m);
}

#[test]
fn helios64_md_ext4() {
    insta::assert_snapshot!("helios64", module("helios64", &md_ext4()));
}

#[test]
fn helios64_btrfs() {
    insta::assert_snapshot!("helios64-btrfs", module("helios64-btrfs", &btrfs_raid1()));
}

#[test]
fn helios64_zfs() {
    insta::assert_snapshot!("helios64-zfs", module("helios64-zfs", &zfs_raidz2()));
}

#[test]
fn a_stopped_array_is_refused_until_mounted() {
    let obs = capture("qemu-helios64-luks-down.json");
    let loaded = load("helios64-luks");
    let p = plan_of(&loaded, "helios64-luks", &obs);
    let r = nixos::disks_module(&p, &obs, &loaded.layout, COMMAND).unwrap_err();
    assert!(
        matches!(&r, Refusal::NotUp(steps) if steps[0].starts_with("assemble")),
        "{r}"
    );
    assert!(r.to_string().contains("`nasstrap mount LAYOUT`"), "{r}");
}

#[test]
fn blank_disks_are_refused_until_applied() {
    // The ZFS layout against the LUKS install: nothing of it exists.
    let obs = capture("qemu-helios64-luks.json");
    let loaded = load("helios64-zfs");
    let p = plan_of(&loaded, "helios64-zfs", &obs);
    let r = nixos::disks_module(&p, &obs, &loaded.layout, COMMAND).unwrap_err();
    assert!(matches!(r, Refusal::NotInstalled(_)), "{r}");
}

#[test]
fn labels_from_the_disks_cannot_break_out_of_the_module() {
    // A root filesystem with no UUID and a hostile label: named by label,
    // udev-encoded, and a control character refused.
    let mut obs = capture("qemu-helios64-luks.json");
    let loaded = load("helios64-luks");
    let set_root_sig = |obs: &mut Observed, label: &str| {
        let p = obs
            .disks
            .iter_mut()
            .flat_map(|d| &mut d.partitions)
            .find(|p| p.name == "mmcblk0p2")
            .unwrap();
        let s = p.signature.as_mut().unwrap();
        s.uuid = None;
        s.label = Some(label.into());
    };
    // The layout pins the label (`-L NIXOS_ROOT`): use a layout-free check of
    // the device by changing only what the diff does not compare.
    set_root_sig(&mut obs, "NIXOS_ROOT");
    let p = plan_of(&loaded, "helios64-luks", &obs);
    set_root_sig(&mut obs, "x\"${builtins.abort \"pwned\"} \\");
    let m = nixos::disks_module(&p, &obs, &loaded.layout, COMMAND).unwrap();
    assert!(
        m.contains(r#"device = "/dev/disk/by-label/x\\x22\\x24\\x7bbuiltins.abort\\x20\\x22pwned\\x22\\x7d\\x20\\x5c";"#),
        "{m}"
    );
    if nix_available() {
        assert_eq!(
            eval(&m, "config.fileSystems.\"/\".device"),
            format!(
                "\"{}\"",
                r"/dev/disk/by-label/x\\x22\\x24\\x7bbuiltins.abort\\x20\\x22pwned\\x22\\x7d\\x20\\x5c"
            )
        );
    }
    set_root_sig(&mut obs, "two\nlines");
    let r = nixos::disks_module(&p, &obs, &loaded.layout, COMMAND).unwrap_err();
    assert!(matches!(r, Refusal::Unwritable { .. }), "{r}");
}

fn nix_available() -> bool {
    !skip::skip(&[Need::Tools(&["nix-instantiate"])])
}

/// Evaluate `expr` over the module called with a stub `lib`; its result as Nix prints it.
fn eval(module: &str, expr: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("nasstrap-disks.nix");
    std::fs::write(&f, module).unwrap();
    let code = format!(
        "let config = import {} {{ lib = {{ mkDefault = v: v; }}; config = {{}}; pkgs = {{}}; }}; in {expr}",
        f.display()
    );
    let out = std::process::Command::new("nix-instantiate")
        .args(["--eval", "--strict", "--store", "dummy://", "-E", &code])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{module}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn modules_parse_and_evaluate_with_nix() {
    if skip::skip(&[Need::Tools(&["nix-instantiate"])]) {
        return;
    }
    let all = [
        ("helios64-luks", capture("qemu-helios64-luks.json")),
        ("helios64", md_ext4()),
        ("helios64-btrfs", btrfs_raid1()),
        ("helios64-zfs", zfs_raidz2()),
    ];
    for (name, obs) in all {
        let m = module(name, &obs);
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("m.nix");
        std::fs::write(&f, &m).unwrap();
        let out = std::process::Command::new("nix-instantiate")
            .args(["--parse", "--store", "dummy://"])
            .arg(&f)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: {}\n{m}",
            String::from_utf8_lossy(&out.stderr)
        );
        // The whole module evaluates to an attribute set, every value forced.
        let v = eval(&m, "builtins.attrNames config");
        assert!(v.contains("\"fileSystems\""), "{name}: {v}");
    }
}

#[test]
fn luks_under_a_path_the_initrd_mounts_opens_there() {
    // The LUKS layout with its ext4 on /var/lib instead of /srv: NixOS mounts
    // /var/lib in the initrd, so the volume is asked for there, and the mount
    // is a system mount (no nofail).
    let text = std::fs::read_to_string(root().join("layouts/helios64-luks.yaml"))
        .unwrap()
        .replace("mountpoint: /srv", "mountpoint: /var/lib");
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("var-lib.yaml");
    std::fs::write(&f, text).unwrap();
    let map = [
        ("emmc", "/dev/mmcblk0"),
        ("bay1", "/dev/sda"),
        ("bay2", "/dev/sdb"),
    ]
    .into_iter()
    .chain([
        ("bay3", "/dev/sdc"),
        ("bay4", "/dev/sdd"),
        ("bay5", "/dev/sde"),
    ])
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect::<Vec<_>>();
    let loaded = layout::load_file(&f, &map).unwrap();
    let obs = capture("qemu-helios64-luks.json");
    let opts = plan::Options {
        layout_file: "var-lib.yaml".into(),
        ignore_expect: true,
        ..Default::default()
    };
    let p = plan::diff::against(&loaded, &obs, &opts).unwrap().0;
    let m = nixos::disks_module(&p, &obs, &loaded.layout, COMMAND).unwrap();
    assert!(!m.contains("crypttab"), "{m}");
    assert!(
        m.contains(
            "  boot.initrd.luks.devices.\"tank-crypt\" = {\n    \
             device = \"/dev/disk/by-uuid/34c52a5a-733a-43e4-8d48-b71860a9fc08\";\n    \
             allowDiscards = true;\n  };\n"
        ),
        "{m}"
    );
    assert!(
        m.contains("  fileSystems.\"/var/lib\" = {\n    device = \"/dev/disk/by-uuid/8c5c4ab8-d081-4a3e-bfb0-e0ccff5f5821\";\n    fsType = \"ext4\";\n    options = [ \"noatime\" ];\n"),
        "{m}"
    );
    if nix_available() {
        assert_eq!(
            eval(
                &m,
                "config.boot.initrd.luks.devices.\"tank-crypt\".allowDiscards"
            ),
            "true"
        );
    }
}
