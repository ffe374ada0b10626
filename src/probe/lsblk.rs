//! `lsblk --json --bytes --output …` ([`super::LSBLK_CMD`]).
//!
//! Read through `serde_json::Value` rather than typed structs because the value types
//! moved between util-linux versions (sizes and RM/RO were strings before 2.33ish,
//! numbers and booleans now) and columns come and go (MOUNTPOINTS since 2.37, START since
//! 2.38); a missing column reads as absent instead of failing the whole probe.

use serde_json::{Map, Value};

use super::ProbeError;

const TOOL: &str = "lsblk --json";

/// One block device from the tree, flattened.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LsblkDevice {
    /// NAME (for dm devices the mapper name, e.g. `cryptdata`).
    pub name: String,
    /// KNAME: the kernel name (`dm-0`, `sda1`).
    pub kname: String,
    /// PATH: the device node (`/dev/mapper/cryptdata` for dm).
    pub path: String,
    /// TYPE: `disk`, `part`, `loop`, `raid6`, `crypt`, `rom`…
    pub kind: String,
    /// SIZE in bytes.
    pub size: u64,
    /// START: first sector of a partition, 512-byte units.
    pub start: Option<u64>,
    /// LOG-SEC.
    pub log_sec: Option<u32>,
    /// PHY-SEC.
    pub phy_sec: Option<u32>,
    /// RM.
    pub removable: bool,
    /// RO.
    pub read_only: bool,
    /// MODEL, trimmed.
    pub model: Option<String>,
    /// SERIAL, trimmed.
    pub serial: Option<String>,
    /// WWN.
    pub wwn: Option<String>,
    /// PKNAME: the parent's kernel name.
    pub pkname: Option<String>,
    /// FSTYPE (udev database only: `None` without udev).
    pub fstype: Option<String>,
    /// FSVER (udev only).
    pub fsver: Option<String>,
    /// LABEL (udev only).
    pub label: Option<String>,
    /// UUID (udev only).
    pub uuid: Option<String>,
    /// FSUSED in bytes, for mounted filesystems.
    pub fsused: Option<u64>,
    /// PTTYPE (udev only).
    pub pttype: Option<String>,
    /// PTUUID (udev only).
    pub ptuuid: Option<String>,
    /// PARTUUID (udev only).
    pub partuuid: Option<String>,
    /// PARTLABEL (udev only).
    pub partlabel: Option<String>,
    /// PARTTYPE (udev only).
    pub parttype: Option<String>,
    /// MOUNTPOINTS without lsblk's `null` placeholders (MOUNTPOINT on older lsblk).
    pub mountpoints: Vec<String>,
    /// Kernel names of the devices nested directly under this one in the tree:
    /// partitions, and holders such as md arrays and dm mappings.
    pub children: Vec<String>,
}

/// Parses the JSON tree into a flat list, parents before children. A device that
/// appears under several parents (an md array under each member) is listed once.
pub fn parse_lsblk(json: &str) -> Result<Vec<LsblkDevice>, ProbeError> {
    let root: Value = serde_json::from_str(json).map_err(|e| ProbeError::Json {
        tool: TOOL,
        what: e.to_string(),
    })?;
    let Some(top) = root.get("blockdevices").and_then(Value::as_array) else {
        return Err(json_err("no \"blockdevices\" array"));
    };
    let mut out = Vec::new();
    for node in top {
        flatten(node, &mut out)?;
    }
    Ok(out)
}

fn json_err(what: impl Into<String>) -> ProbeError {
    ProbeError::Json {
        tool: TOOL,
        what: what.into(),
    }
}

fn flatten(node: &Value, out: &mut Vec<LsblkDevice>) -> Result<String, ProbeError> {
    let obj = node
        .as_object()
        .ok_or_else(|| json_err("a block device is not an object"))?;
    let mut dev = device(obj)?;
    let kname = dev.kname.clone();
    let children = match obj.get("children") {
        None | Some(Value::Null) => &[][..],
        Some(Value::Array(a)) => a.as_slice(),
        Some(_) => return Err(json_err(format!("{kname}: \"children\" is not an array"))),
    };
    // Reserve our slot first so the list stays parents-before-children.
    let slot = out.len();
    let seen = out.iter().any(|d| d.kname == kname);
    if !seen {
        out.push(LsblkDevice::default());
    }
    for child in children {
        dev.children.push(flatten(child, out)?);
    }
    if !seen {
        out[slot] = dev;
    }
    Ok(kname)
}

fn device(o: &Map<String, Value>) -> Result<LsblkDevice, ProbeError> {
    let kname = text(o, "kname")
        .or_else(|| text(o, "name"))
        .ok_or_else(|| json_err("a block device has neither \"kname\" nor \"name\""))?;
    let num =
        |key: &str| number(o, key).map_err(|what| json_err(format!("{kname}: {key}: {what}")));
    let flag =
        |key: &str| boolean(o, key).map_err(|what| json_err(format!("{kname}: {key}: {what}")));
    let mountpoints = match o.get("mountpoints") {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => text(o, "mountpoint").into_iter().collect(),
    };
    Ok(LsblkDevice {
        name: text(o, "name").unwrap_or_else(|| kname.clone()),
        path: text(o, "path").unwrap_or_else(|| format!("/dev/{kname}")),
        kind: text(o, "type").unwrap_or_default(),
        size: num("size")?.unwrap_or(0),
        start: num("start")?,
        log_sec: num("log-sec")?.and_then(|v| u32::try_from(v).ok()),
        phy_sec: num("phy-sec")?.and_then(|v| u32::try_from(v).ok()),
        removable: flag("rm")?,
        read_only: flag("ro")?,
        model: text(o, "model"),
        serial: text(o, "serial"),
        wwn: text(o, "wwn"),
        pkname: text(o, "pkname"),
        fstype: text(o, "fstype"),
        fsver: text(o, "fsver"),
        label: text(o, "label"),
        uuid: text(o, "uuid"),
        fsused: num("fsused")?,
        pttype: text(o, "pttype"),
        ptuuid: text(o, "ptuuid"),
        partuuid: text(o, "partuuid"),
        partlabel: text(o, "partlabel"),
        parttype: text(o, "parttype"),
        mountpoints,
        children: Vec::new(),
        kname,
    })
}

/// A string column, trimmed (MODEL and SERIAL come padded from sysfs), empty → `None`.
fn text(o: &Map<String, Value>, key: &str) -> Option<String> {
    let s = o.get(key)?.as_str()?.trim();
    (!s.is_empty()).then(|| s.to_string())
}

/// A numeric column: a JSON number, or a decimal string on older lsblk.
fn number(o: &Map<String, Value>, key: &str) -> Result<Option<u64>, String> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| format!("{n} is not a byte count")),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| format!("{s:?} is not a number")),
        Some(v) => Err(format!("{v} is not a number")),
    }
}

/// A flag column: a JSON boolean, or `"0"`/`"1"` on older lsblk; absent is false.
fn boolean(o: &Map<String, Value>, key: &str) -> Result<bool, String> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::Number(n)) if n.as_u64() == Some(0) => Ok(false),
        Some(Value::Number(n)) if n.as_u64() == Some(1) => Ok(true),
        Some(Value::String(s)) if s == "0" => Ok(false),
        Some(Value::String(s)) if s == "1" => Ok(true),
        Some(v) => Err(format!("{v} is not a flag")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::fixture;

    #[test]
    fn captured_loop_scenario() {
        let devs = parse_lsblk(&fixture("lsblk/loop-scenario.json")).unwrap();
        let knames: Vec<&str> = devs.iter().map(|d| d.kname.as_str()).collect();
        assert_eq!(
            knames,
            [
                "loop0", "loop0p1", "loop0p2", "loop0p3", "loop0p4", "loop1", "loop1p1", "loop2",
                "loop3", "loop4", "loop5", "loop5p1", "loop5p2", "loop6"
            ]
        );
        let disk = &devs[0];
        assert_eq!(disk.kind, "loop");
        assert_eq!(disk.size, 256 << 20);
        assert_eq!(
            (disk.log_sec, disk.phy_sec, disk.removable, disk.read_only),
            (Some(512), Some(512), false, false)
        );
        assert_eq!(disk.children, ["loop0p1", "loop0p2", "loop0p3", "loop0p4"]);
        assert_eq!(disk.mountpoints, Vec::<String>::new());
        // Without udev lsblk knows no filesystem or table facts, only sysfs and mountinfo.
        assert_eq!((&disk.pttype, &disk.ptuuid), (&None, &None));
        let p1 = &devs[1];
        assert_eq!(
            (p1.kind.as_str(), p1.start, p1.size),
            ("part", Some(2048), 64 << 20)
        );
        assert_eq!(p1.pkname.as_deref(), Some("loop0"));
        assert_eq!(
            (&p1.fstype, &p1.uuid, &p1.label, &p1.partuuid),
            (&None, &None, &None, &None)
        );
        assert_eq!(p1.mountpoints, ["/tmp/nasstrap-capture/mnt/root fs"]);
        assert_eq!(devs[2].mountpoints, ["[SWAP]"]);
        assert_eq!(devs[8].mountpoints, ["/tmp/nasstrap-capture/mnt/data"]);
    }

    #[test]
    fn extra_columns_are_ignored() {
        let devs = parse_lsblk(&fixture("lsblk/gpt-all-columns.json")).unwrap();
        assert_eq!(devs.len(), 5);
        assert_eq!(devs[4].start, Some(329728));
    }

    #[test]
    fn old_string_typed_output_and_shared_holders() {
        // util-linux before typed JSON: strings everywhere, MOUNTPOINT singular. An md
        // array over two members appears under both and is listed once.
        let json = r#"{"blockdevices": [
          {"name": "sda", "kname": "sda", "type": "disk", "size": "1000", "rm": "0", "ro": "1",
           "model": "WDC WD40EFRX-68N32N0    ", "children": [
             {"name": "sda1", "type": "part", "size": "900", "start": "2048",
              "children": [{"name": "md127", "type": "raid1", "size": "800", "mountpoint": "/srv"}]}]},
          {"name": "sdb", "type": "disk", "size": "1000", "rm": "0", "ro": "0", "children": [
             {"name": "sdb1", "type": "part", "size": "900",
              "children": [{"name": "md127", "type": "raid1", "size": "800", "mountpoint": "/srv"}]}]}
        ]}"#;
        let devs = parse_lsblk(json).unwrap();
        let knames: Vec<&str> = devs.iter().map(|d| d.kname.as_str()).collect();
        assert_eq!(knames, ["sda", "sda1", "md127", "sdb", "sdb1"]);
        assert_eq!(
            (devs[0].size, devs[0].removable, devs[0].read_only),
            (1000, false, true)
        );
        assert_eq!(devs[0].model.as_deref(), Some("WDC WD40EFRX-68N32N0"));
        assert_eq!(devs[0].path, "/dev/sda");
        assert_eq!(devs[1].start, Some(2048));
        assert_eq!(devs[1].children, ["md127"]);
        assert_eq!(devs[4].children, ["md127"]);
        assert_eq!(devs[2].mountpoints, ["/srv"]);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let cases = [
            (
                "",
                "malformed lsblk --json output: EOF while parsing a value at line 1 column 0",
            ),
            (
                r#"{"blockdevices": [{"name": "sda", "size": 1"#,
                "malformed lsblk --json output: EOF while parsing an object at line 1 column 43",
            ),
            (
                "{}",
                "malformed lsblk --json output: no \"blockdevices\" array",
            ),
            (
                r#"{"blockdevices": [1]}"#,
                "malformed lsblk --json output: a block device is not an object",
            ),
            (
                r#"{"blockdevices": [{"type": "disk"}]}"#,
                "malformed lsblk --json output: a block device has neither \"kname\" nor \"name\"",
            ),
            (
                r#"{"blockdevices": [{"name": "sda", "size": -1}]}"#,
                "malformed lsblk --json output: sda: size: -1 is not a byte count",
            ),
            (
                r#"{"blockdevices": [{"name": "sda", "size": "1G"}]}"#,
                "malformed lsblk --json output: sda: size: \"1G\" is not a number",
            ),
            (
                r#"{"blockdevices": [{"name": "sda", "rm": "yes"}]}"#,
                "malformed lsblk --json output: sda: rm: \"yes\" is not a flag",
            ),
            (
                r#"{"blockdevices": [{"name": "sda", "children": 3}]}"#,
                "malformed lsblk --json output: sda: \"children\" is not an array",
            ),
        ];
        for (json, want) in cases {
            assert_eq!(parse_lsblk(json).unwrap_err().to_string(), want, "{json}");
        }
    }
}
