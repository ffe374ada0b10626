//! The same partition boundaries as disko. For every GPT disk of disko's examples
//! (tests/fixtures/disko), sgdisk runs on one loop device with the arguments disko's `gpt`
//! type passes (lib/types/gpt.nix: one `sgdisk --align-end --new=N:START:END …` per
//! partition, in priority order), and nasstrap plans and applies the same partitions on
//! another loop device of the same size. Both tables are read back and every partition's
//! number, first and last LBA must agree: someone moving from disko gets the same disk.
//!
//! Only the table is compared, so the partitions' contents are dropped on nasstrap's side
//! (the geometry never looks at them; it also lets the examples nasstrap refuses for their
//! contents take part). Disks are planned at the example's `imageSize` and at an uneven size,
//! with 512- and 4096-byte sectors; identical partition specs are run once.

mod common;

use common::loopdev::{self, Loop};
use nasstrap::{layout, plan, probe, report};
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// A partition's fields as disko resolves them (gpt.nix's option defaults).
struct DiskoPart {
    name: String,
    label: String,
    kind: String,
    priority: i64,
    start: String,
    end: String,
    alignment: i64,
    attributes: Vec<i64>,
    /// `_index` as the fixture has it (disko's own evaluation), when present.
    index: Option<i64>,
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

/// gpt.nix's defaults, for a partition named `name` of disk `disk`.
fn disko_part(disk: &str, name: &str, v: &Value) -> DiskoPart {
    let size = text(v, "size").unwrap_or_else(|| "0".into());
    let swap = v.pointer("/content/type").and_then(Value::as_str) == Some("swap");
    let kind = text(v, "type").unwrap_or_else(|| if swap { "8200" } else { "8300" }.into());
    let priority = v
        .get("priority")
        .and_then(Value::as_i64)
        .unwrap_or(if size == "100%" {
            9001
        } else if kind == "EF02" {
            100
        } else {
            1000
        });
    let start = text(v, "start").unwrap_or_else(|| "0".into());
    let end = text(v, "end").unwrap_or_else(|| {
        if size == "100%" {
            "-0".into()
        } else {
            format!("+{size}")
        }
    });
    let alignment = v.get("alignment").and_then(Value::as_i64).unwrap_or(
        if start.ends_with('s') || end.ends_with('s') {
            1
        } else {
            0
        },
    );
    DiskoPart {
        name: text(v, "name").unwrap_or_else(|| name.into()),
        label: text(v, "label").unwrap_or_else(|| format!("disk-{disk}-{name}")),
        kind,
        priority,
        start,
        end,
        alignment,
        attributes: v
            .get("attributes")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_i64).collect())
            .unwrap_or_default(),
        index: v.get("_index").and_then(Value::as_i64),
    }
}

/// disko's `sortedPartitions`: a stable sort by priority of the partitions in attribute
/// name order; a partition's number (`_index`) is its place in it, from 1.
fn disko_order(disk: &str, parts: &Map<String, Value>) -> Vec<DiskoPart> {
    let mut names: Vec<&String> = parts.keys().collect();
    names.sort(); // Nix orders attribute names bytewise.
    let mut v: Vec<DiskoPart> = names
        .into_iter()
        .map(|n| disko_part(disk, n, &parts[n]))
        .collect();
    v.sort_by_key(|p| p.priority);
    v
}

/// The sgdisk command lines of disko's gpt `_create` on a blank `device`: `--clear` (blkid
/// finds nothing), then one invocation per partition in priority order.
fn disko_sgdisk(parts: &[DiskoPart], device: &str) -> Vec<Vec<String>> {
    let mut out = vec![vec!["sgdisk".into(), "--clear".into(), device.into()]];
    for (i, p) in parts.iter().enumerate() {
        let n = i + 1;
        let mut argv: Vec<String> = vec!["sgdisk".into(), "--align-end".into()];
        if p.alignment != 0 {
            argv.push(format!("--set-alignment={}", p.alignment));
        }
        argv.push(format!("--new={n}:{}:{}", p.start, p.end));
        argv.push(format!("--partition-guid={n}:R"));
        argv.push(format!("--change-name={n}:{}", p.label));
        argv.push(format!("--typecode={n}:{}", p.kind));
        argv.push(format!("--attributes={n}:=:0"));
        let unique: BTreeSet<i64> = p.attributes.iter().copied().collect();
        for b in unique {
            argv.push(format!("--attributes={n}:set:{b}"));
        }
        argv.push(device.into());
        out.push(argv);
    }
    out
}

fn run(argv: &[String]) -> String {
    let out = Command::new(&argv[0])
        .args(&argv[1..])
        .output()
        .unwrap_or_else(|e| panic!("{argv:?}: {e}"));
    assert!(
        out.status.success(),
        "{argv:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

static ATTACH: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// `(number, first LBA, last LBA)` of each partition, in number order.
type Bounds = Vec<(u32, u64, u64)>;

/// The table on `device`, read with the crate's reader.
fn read_back(device: &str, sector: u32) -> Bounds {
    let f = std::fs::File::open(device).unwrap();
    let g = probe::gpt::read_gpt(f, sector)
        .unwrap()
        .unwrap_or_else(|| panic!("no GPT on {device}"));
    assert!(g.primary_ok && g.backup_ok, "{device}: a damaged copy");
    g.entries
        .iter()
        .map(|e| (e.number, e.first_lba, e.last_lba))
        .collect()
}

/// The table as `sgdisk -p` prints it (a second reader, for sgdisk's side).
fn sgdisk_print(device: &str) -> Bounds {
    let out = run(&["sgdisk".into(), "-p".into(), device.into()]);
    out.lines()
        .skip_while(|l| !l.starts_with("Number"))
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (
                f[0].parse().unwrap(),
                f[1].parse().unwrap(),
                f[2].parse().unwrap(),
            )
        })
        .collect()
}

/// What sgdisk writes when run as disko runs it.
fn with_sgdisk(dir: &Path, parts: &[DiskoPart], size: u64, sector: u32) -> Bounds {
    let l = {
        // Two `losetup --find` at once may pick the same free device.
        let _one = ATTACH.lock().unwrap_or_else(|p| p.into_inner());
        Loop::with_sector_size(dir, "sgdisk", size, sector)
    };
    for argv in disko_sgdisk(parts, &l.device) {
        run(&argv);
    }
    let b = read_back(&l.device, sector);
    assert_eq!(b, sgdisk_print(&l.device), "the two readers disagree");
    b
}

/// What nasstrap writes for disk `disk` with these partitions (contents dropped).
fn with_nasstrap(
    dir: &Path,
    disk: &str,
    parts: &Map<String, Value>,
    size: u64,
    sector: u32,
) -> Bounds {
    let l = Loop::with_sector_size(dir, "nasstrap", size, sector);
    let bare: Map<String, Value> = parts
        .iter()
        .map(|(k, v)| {
            let mut v = v.clone();
            v["content"] = Value::Null;
            v["hybrid"] = Value::Null;
            (k.clone(), v)
        })
        .collect();
    let doc = json!({ "disk": { disk: {
        "type": "disk",
        "device": l.device,
        "content": { "type": "gpt", "partitions": bare },
    }}});
    let map = vec![(disk.to_string(), l.device.clone())];
    let loaded =
        layout::load_str("disko.json", &doc.to_string(), &map).unwrap_or_else(|r| panic!("{r}"));
    let mut opts = plan::Options {
        mount_root: dir.join("mnt").display().to_string(),
        ..Default::default()
    };
    opts.facts.insert(
        disk.into(),
        plan::DiskFacts {
            size_bytes: size,
            sector,
            source: plan::SizeSource::Probe,
        },
    );
    let p = plan::build(&loaded, &opts).unwrap_or_else(|r| panic!("{r}"));
    nasstrap::exec::apply::apply(&p, &report::Recorder::default())
        .unwrap_or_else(|e| panic!("{e:#}"));
    read_back(&l.device, sector)
}

/// A size as disko's `imageSize` writes it (`2G`).
fn image_size(s: &str) -> u64 {
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let shift = match unit {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        _ => panic!("imageSize {s}"),
    };
    num.parse::<u64>().unwrap() << shift
}

/// Every GPT disk of every fixture: (example, disk, partitions, imageSize in bytes).
fn gpt_disks() -> Vec<(String, String, Map<String, Value>, u64)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/disko");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
        let example = f.file_stem().unwrap().to_string_lossy().into_owned();
        let Some(disks) = v.get("disk").and_then(Value::as_object) else {
            continue;
        };
        for (name, d) in disks {
            if d.pointer("/content/type").and_then(Value::as_str) != Some("gpt") {
                continue;
            }
            let parts = d.pointer("/content/partitions").unwrap().as_object();
            let size = image_size(d.get("imageSize").and_then(Value::as_str).unwrap_or("2G"));
            out.push((example.clone(), name.clone(), parts.unwrap().clone(), size));
        }
    }
    out
}

/// One table to compare: a fixture's disk at one size and sector size.
struct Case<'a> {
    example: &'a str,
    disk: &'a str,
    parts: &'a Map<String, Value>,
    order: Vec<DiskoPart>,
    size: u64,
    sector: u32,
}

impl Case<'_> {
    fn describe(&self) -> String {
        let spec: Vec<String> = self
            .order
            .iter()
            .map(|p| format!("{}:{}", p.start, p.end))
            .collect();
        format!(
            "{} disk {} ({} bytes, {}-byte sectors, --new {})",
            self.example,
            self.disk,
            self.size,
            self.sector,
            spec.join(" ")
        )
    }
}

/// The cases of every fixture, each distinct partition spec, size and sector size once.
fn cases(disks: &[(String, String, Map<String, Value>, u64)]) -> Vec<Case<'_>> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for (example, disk, parts, image) in disks {
        let order = disko_order(disk, parts);
        for (i, p) in order.iter().enumerate() {
            if let Some(ix) = p.index {
                assert_eq!(ix, i as i64 + 1, "{example}/{disk}/{}: _index", p.name);
            }
        }
        // The geometry depends only on these.
        let spec: Vec<String> = order
            .iter()
            .map(|p| format!("{}:{}:{}", p.start, p.end, p.alignment))
            .collect();
        // The example's size, and one that is no multiple of the 1 MiB alignment.
        for size in [*image, image + (5 << 20) + (12 << 10)] {
            for sector in [512u32, 4096] {
                if seen.insert((spec.clone(), size, sector)) {
                    out.push(Case {
                        example,
                        disk,
                        parts,
                        order: disko_order(disk, parts),
                        size,
                        sector,
                    });
                }
            }
        }
    }
    out
}

#[test]
fn every_disko_gpt_has_sgdisks_boundaries() {
    if loopdev::skip_unless_available() {
        return;
    }
    let _g = loopdev::serial();
    let started = std::time::Instant::now();
    let disks = gpt_disks();
    assert!(disks.len() >= 20, "only {} GPT disks found", disks.len());
    let cases = cases(&disks);
    let dirs: Vec<_> = cases.iter().map(|_| tempfile::tempdir().unwrap()).collect();
    // sgdisk sleeps a second after each write (gptfdisk's DiskSync) and disko runs it once
    // per partition: the cases run side by side, or this test would take minutes.
    let want: Vec<Bounds> = std::thread::scope(|s| {
        let handles: Vec<_> = cases
            .iter()
            .zip(&dirs)
            .map(|(c, d)| s.spawn(|| with_sgdisk(d.path(), &c.order, c.size, c.sector)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut differences = Vec::new();
    for ((c, d), want) in cases.iter().zip(&dirs).zip(want) {
        let got = with_nasstrap(d.path(), c.disk, c.parts, c.size, c.sector);
        if want != got {
            differences.push(format!(
                "{}:\n  sgdisk   {want:?}\n  nasstrap {got:?}",
                c.describe()
            ));
        }
    }
    eprintln!(
        "{} distinct tables from {} disks in {:.1?}",
        cases.len(),
        disks.len(),
        started.elapsed()
    );
    assert!(
        differences.is_empty(),
        "{} tables differ from sgdisk's (number, first LBA, last LBA):\n{}",
        differences.len(),
        differences.join("\n")
    );
}
