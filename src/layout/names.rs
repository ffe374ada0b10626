//! One way from a name to a path. Every name that becomes a device node, a
//! mapper name, an md name, a pool or dataset, a subvolume or a mount path is
//! checked here, by the rules of the tool that will receive it, and comes out
//! in the one normalized form the rest of nasstrap compares and prints.
//!
//! Why a checker per namespace: each tool has its own idea of a valid name,
//! and a name that one tool takes as a path component (`/dev/md/<name>`,
//! `/dev/mapper/<name>`) turns `..` or `/` into a node outside the layout.
//! The reader calls these and turns a `NameError` into a diagnostic at the
//! name's position; the model only ever holds names that passed.

/// Why a name was refused: what is wrong, and how to write it instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameError {
    /// What is wrong, lowercase, one line.
    pub message: String,
    /// How to fix it.
    pub hint: String,
}

fn fail<T>(message: String, hint: impl Into<String>) -> Result<T, NameError> {
    Err(NameError {
        message,
        hint: hint.into(),
    })
}

/// A character that must not reach a terminal raw: controls and the
/// invisible or direction-changing ones.
fn invisible(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}' | '\u{2028}' | '\u{2029}' | '\u{00ad}')
}

/// A name as messages show it: invisible characters written as `\u{…}`, so
/// a refused name cannot forge output lines.
pub fn shown(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if invisible(c) {
            out.push_str(&format!("\\u{{{:04x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// How a refused character is named in a message.
fn char_name(c: char) -> String {
    match c {
        ' ' => "a space".into(),
        c if invisible(c) || c.is_whitespace() => format!("U+{:04X}", c as u32),
        c => format!("`{c}`"),
    }
}

/// mdadm's name field: 32 bytes (`MD_NAME_MAX`).
pub const MD_NAME_MAX: usize = 32;
/// device-mapper's `DM_NAME_LEN` is 128 with the terminating NUL.
pub const MAPPER_NAME_MAX: usize = 127;
/// ZFS's `ZFS_MAX_DATASET_NAME_LEN` is 256 with the terminating NUL.
pub const ZFS_NAME_MAX: usize = 255;
/// A path component (`NAME_MAX`, btrfs's `BTRFS_NAME_LEN`).
pub const COMPONENT_MAX: usize = 255;

/// An md array name, as `mdadm --create /dev/md/<name>` takes it. mdadm
/// (since its "POSIX portable names" change) accepts letters, digits, `.`,
/// `_` and `-`, not starting with `-` or `.`, at most 32 bytes.
pub fn md_array(name: &str) -> Result<String, NameError> {
    const CHARS: &str = "mdadm names use letters, digits, `.`, `_` and `-` (POSIX portable names)";
    if name.is_empty() {
        return fail(
            "md array name is empty".into(),
            "name the array, e.g. `data`",
        );
    }
    let n = shown(name);
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        let hint = match c {
            '/' => format!("{CHARS}; `/dev/md/{n}` would leave /dev/md"),
            ':' => format!("{CHARS}; mdadm reads `:` as a homehost separator"),
            _ => CHARS.into(),
        };
        return fail(
            format!("md array name `{n}` contains {}", char_name(c)),
            hint,
        );
    }
    if name.starts_with('.') {
        return fail(
            format!("md array name `{n}` starts with `.`"),
            format!(
                "{CHARS}, starting with a letter or digit; `/dev/md/{n}` would be hidden or outside /dev/md"
            ),
        );
    }
    if name.starts_with('-') {
        return fail(
            format!("md array name `{n}` starts with `-`"),
            "mdadm would read it as an option; start with a letter or digit",
        );
    }
    if name.len() > MD_NAME_MAX {
        return fail(
            format!(
                "md array name `{n}` is {} bytes; mdadm keeps at most {MD_NAME_MAX}",
                name.len()
            ),
            "shorten it",
        );
    }
    Ok(name.to_string())
}

/// The node of an md array.
pub fn md_device(name: &str) -> String {
    format!("/dev/md/{name}")
}

/// A LUKS mapper name, as `cryptsetup open DEV <name>` takes it: at most 127
/// bytes, only the characters udev keeps unmangled in `/dev/mapper` names
/// (letters, digits, `#+-.:=@_`), not `.`, `..` or `control` (the
/// device-mapper control node).
pub fn mapper(name: &str) -> Result<String, NameError> {
    const CHARS: &str = "device-mapper names use letters, digits and `#+-.:=@_`";
    if name.is_empty() {
        return fail(
            "LUKS name is empty".into(),
            "name the volume, e.g. `crypted`",
        );
    }
    let n = shown(name);
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "#+-.:=@_".contains(*c)))
    {
        let hint = if c == '/' {
            format!("{CHARS}; `/dev/mapper/{n}` would leave /dev/mapper")
        } else {
            CHARS.into()
        };
        return fail(format!("LUKS name `{n}` contains {}", char_name(c)), hint);
    }
    if name == "." || name == ".." {
        return fail(
            format!("LUKS name `{n}` is not a device-mapper name"),
            format!("`/dev/mapper/{n}` is a directory, not a volume; use a word such as `crypted`"),
        );
    }
    if name == "control" {
        return fail(
            "LUKS name `control` is the device-mapper control node".into(),
            "/dev/mapper/control exists on every system; choose another name",
        );
    }
    if name.len() > MAPPER_NAME_MAX {
        return fail(
            format!(
                "LUKS name `{n}` is {} bytes; device-mapper keeps at most {MAPPER_NAME_MAX}",
                name.len()
            ),
            "shorten it",
        );
    }
    Ok(name.to_string())
}

/// The node of an opened LUKS volume.
pub fn mapper_device(name: &str) -> String {
    format!("/dev/mapper/{name}")
}

const ZFS_CHARS: &str = "ZFS names use letters, digits, `_`, `-`, `:` and `.`";

fn zfs_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ':' | '.')
}

/// A zpool name by `zpool create`'s rules: starts with a letter, letters,
/// digits and `_-:.` only, not a vdev keyword (nor starting with `mirror`,
/// `raidz`, `draid` or `spare`), not a Solaris disk name (`c0…`). ZFS also
/// allows spaces; nasstrap does not, since pool names reach command lines
/// and fstab.
pub fn zpool(name: &str) -> Result<String, NameError> {
    const RESERVED: [&str; 8] = [
        "mirror", "raidz", "draid", "spare", "log", "cache", "special", "dedup",
    ];
    const PREFIXES: [&str; 4] = ["mirror", "raidz", "draid", "spare"];
    if name.is_empty() {
        return fail("pool name is empty".into(), "name the pool, e.g. `tank`");
    }
    let n = shown(name);
    if let Some(c) = name.chars().find(|c| !zfs_char(*c)) {
        return fail(
            format!("pool name `{n}` contains {}", char_name(c)),
            ZFS_CHARS,
        );
    }
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return fail(
            format!("pool name `{n}` does not start with a letter"),
            "ZFS pool names start with a letter",
        );
    }
    if RESERVED.contains(&name) {
        return fail(
            format!("pool name `{n}` is reserved by ZFS"),
            "mirror, raidz, draid, spare, log, cache, special and dedup name vdev kinds",
        );
    }
    if let Some(p) = PREFIXES.iter().find(|p| name.starts_with(*p)) {
        return fail(
            format!("pool name `{n}` starts with `{p}`, which ZFS reserves"),
            "names starting with mirror, raidz, draid or spare are vdev kinds to zpool",
        );
    }
    if name.len() > 1 && name.starts_with('c') && name.as_bytes()[1].is_ascii_digit() {
        return fail(
            format!("pool name `{n}` looks like a disk name (c0…)"),
            "ZFS refuses pool names of a `c` and a digit; choose another name",
        );
    }
    if name.len() > ZFS_NAME_MAX {
        return fail(
            format!(
                "pool name `{n}` is {} bytes; ZFS keeps at most {ZFS_NAME_MAX}",
                name.len()
            ),
            "shorten it",
        );
    }
    Ok(name.to_string())
}

/// A dataset name below `pool` (`data/media`): components separated by `/`,
/// none empty, `.` or `..`, each of ZFS's characters; `pool/name` at most 255
/// bytes. Returns the name below the pool.
pub fn dataset(pool: &str, name: &str) -> Result<String, NameError> {
    if name.is_empty() {
        return fail("dataset name is empty".into(), "name it, e.g. `data/media`");
    }
    let n = shown(name);
    if name.starts_with('/') {
        return fail(
            format!("dataset name `{n}` starts with `/`"),
            format!(
                "dataset names are relative to the pool: write `{}`",
                shown(name.trim_start_matches('/'))
            ),
        );
    }
    for comp in name.split('/') {
        match comp {
            "" => {
                return fail(
                    format!("dataset name `{n}` has an empty component"),
                    "write components separated by single `/`, without a trailing `/`",
                );
            }
            "." | ".." => {
                return fail(
                    format!("dataset name `{n}` has a `{comp}` component"),
                    "ZFS refuses `.` and `..` in dataset names",
                );
            }
            _ => {}
        }
        if let Some(c) = comp.chars().find(|c| !zfs_char(*c)) {
            let hint = if c == '@' {
                format!("{ZFS_CHARS}; `@` names a snapshot, which is not a dataset")
            } else {
                ZFS_CHARS.into()
            };
            return fail(
                format!("dataset name `{n}` contains {}", char_name(c)),
                hint,
            );
        }
    }
    let full = pool.len() + 1 + name.len();
    if full > ZFS_NAME_MAX {
        return fail(
            format!(
                "dataset `{}/{n}` is {full} bytes; ZFS keeps at most {ZFS_NAME_MAX}",
                shown(pool)
            ),
            "shorten it",
        );
    }
    Ok(name.to_string())
}

/// The node of a ZFS volume.
pub fn zvol_device(pool: &str, dataset: &str) -> String {
    format!("/dev/zvol/{pool}/{dataset}")
}

/// A btrfs subvolume path inside its filesystem. disko writes them with a
/// leading `/` (`/home`); that is dropped, so `@home`, `home` and `/home` are
/// all plain relative paths. No empty, `.` or `..` component; each at most
/// 255 bytes (`BTRFS_NAME_LEN`).
pub fn subvolume(name: &str) -> Result<String, NameError> {
    let n = shown(name);
    let rel = name.strip_prefix('/').unwrap_or(name);
    if rel.is_empty() {
        return fail(
            format!("subvolume name `{n}` names the top level"),
            "the top level is the btrfs itself: give it a `mountpoint` instead",
        );
    }
    for comp in rel.split('/') {
        match comp {
            "" => {
                return fail(
                    format!("subvolume name `{n}` has an empty component"),
                    "write components separated by single `/`, without a trailing `/`",
                );
            }
            "." | ".." => {
                return fail(
                    format!("subvolume name `{n}` has a `{comp}` component"),
                    "nasstrap never resolves `.` or `..`: write the path inside the filesystem",
                );
            }
            _ if comp.len() > COMPONENT_MAX => {
                return fail(
                    format!(
                        "subvolume name `{n}` has a component of {} bytes; btrfs keeps at most {COMPONENT_MAX}",
                        comp.len()
                    ),
                    "shorten it",
                );
            }
            _ => {}
        }
        if let Some(c) = comp.chars().find(|c| invisible(*c)) {
            return fail(
                format!("subvolume name `{n}` contains {}", char_name(c)),
                "use printable characters",
            );
        }
    }
    Ok(rel.to_string())
}

/// Absolute paths, lexically: `//` and `/./` collapse, a trailing `/` goes;
/// `..` is refused, never resolved (what it means depends on symlinks).
fn absolute(what: &str, path: &str) -> Result<String, NameError> {
    let n = shown(path);
    let mut parts = Vec::new();
    for comp in path.split('/').skip(1) {
        match comp {
            "" | "." => {}
            ".." => {
                return fail(
                    format!("{what} `{n}` has a `..` component"),
                    "nasstrap never resolves `..`: write the path it means",
                );
            }
            _ if comp.len() > COMPONENT_MAX => {
                return fail(
                    format!(
                        "{what} `{n}` has a component of {} bytes; paths keep at most {COMPONENT_MAX}",
                        comp.len()
                    ),
                    "shorten it",
                );
            }
            _ => {
                if let Some(c) = comp.chars().find(|c| invisible(*c)) {
                    return fail(
                        format!("{what} `{n}` contains {}", char_name(c)),
                        "use printable characters",
                    );
                }
                parts.push(comp);
            }
        }
    }
    Ok(format!("/{}", parts.join("/")))
}

/// A mountpoint: absolute and normalized (`/srv/` is `/srv`, `//boot` and
/// `/./boot` are `/boot`); `..` refused.
pub fn mountpoint(path: &str) -> Result<String, NameError> {
    if !path.starts_with('/') {
        return fail(
            format!("mountpoint `{}` is not absolute", shown(path)),
            format!("write /{}", shown(path.trim_start_matches("./"))),
        );
    }
    absolute("mountpoint", path)
}

/// A disk's device path: absolute and normalized like a mountpoint. Whether
/// it names a whole disk is `whole_disk`'s question.
pub fn device(path: &str) -> Result<String, NameError> {
    if !path.starts_with('/') {
        return fail(
            format!("device `{}` is not an absolute path", shown(path)),
            "e.g. /dev/sda or /dev/disk/by-path/…",
        );
    }
    let d = absolute("device", path)?;
    if d == "/" {
        return fail(
            format!("device `{}` names no device", shown(path)),
            "e.g. /dev/sda or /dev/disk/by-path/…",
        );
    }
    Ok(d)
}

/// If `device` (normalized) is a partition by the kernel's or udev's naming,
/// the disk it belongs to and its number: `/dev/sda1`, `/dev/mmcblk0p2`,
/// `/dev/nvme0n1p3`, `/dev/loop0p1`, `/dev/disk/by-path/X-part1`.
pub fn partition_of(device: &str) -> Option<(String, u32)> {
    fn digits_at_end(s: &str) -> Option<(&str, u32)> {
        let cut = s.trim_end_matches(|c: char| c.is_ascii_digit());
        if cut.len() == s.len() {
            return None;
        }
        Some((cut, s[cut.len()..].parse().ok()?))
    }
    if let Some(rest) = device.strip_prefix("/dev/disk/") {
        let (dir, name) = rest.split_once('/')?;
        let (base, n) = digits_at_end(name)?;
        let disk = base.strip_suffix("-part")?;
        return (!disk.is_empty()).then(|| (format!("/dev/disk/{dir}/{disk}"), n));
    }
    let name = device.strip_prefix("/dev/")?;
    if name.contains('/') {
        return None;
    }
    let (base, n) = digits_at_end(name)?;
    // sdX1, vdX1, hdX1, xvdX1: letters, then the number.
    for prefix in ["sd", "vd", "hd", "xvd"] {
        if let Some(letters) = base.strip_prefix(prefix)
            && !letters.is_empty()
            && letters.chars().all(|c| c.is_ascii_lowercase())
        {
            return Some((format!("/dev/{base}"), n));
        }
    }
    // mmcblk0p1, nvme0n1p1, loop0p1, nbd0p1: a disk ending in a digit, `p`, the number.
    let disk = base.strip_suffix('p')?;
    let number = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    let numbered = |prefix: &str| disk.strip_prefix(prefix).is_some_and(number);
    // nvme0 is the controller; its disks are nvme0n1, nvme0n2…
    let nvme = disk
        .strip_prefix("nvme")
        .and_then(|r| r.split_once('n'))
        .is_some_and(|(a, b)| number(a) && number(b));
    (nvme || ["mmcblk", "loop", "nbd"].iter().any(|p| numbered(p)))
        .then(|| (format!("/dev/{disk}"), n))
}

/// Refuse a device that the layout itself creates or that is a partition: a
/// disk's device is wiped and repartitioned, so it must be a whole disk.
pub fn whole_disk(device: &str) -> Result<(), NameError> {
    let d = shown(device);
    let under = |dir: &str| device.strip_prefix(dir).is_some_and(|r| r.starts_with('/'));
    let numbered = |prefix: &str| {
        device
            .strip_prefix(prefix)
            .is_some_and(|r| !r.is_empty() && r.chars().all(|c| c.is_ascii_digit()))
    };
    let by_id = device.strip_prefix("/dev/disk/by-id/").unwrap_or("");
    let what = if under("/dev/md")
        || numbered("/dev/md")
        || numbered("/dev/md_d")
        || by_id.starts_with("md-")
    {
        Some((
            "an md array",
            "arrays are declared under `mdadm:` and built from disks' partitions",
        ))
    } else if under("/dev/mapper") || numbered("/dev/dm-") || by_id.starts_with("dm-") {
        Some((
            "a device-mapper volume",
            "LUKS volumes are declared as `type: luks` content of a partition",
        ))
    } else if under("/dev/zvol") || numbered("/dev/zd") {
        Some((
            "a ZFS volume",
            "volumes are declared as `type: zfs_volume` datasets of a pool",
        ))
    } else if under("/dev/disk/by-partlabel") || under("/dev/disk/by-partuuid") {
        Some((
            "a partition",
            "use the disk it is on and declare the partition under its `content`",
        ))
    } else {
        None
    };
    if let Some((what, hint)) = what {
        return fail(format!("device `{d}` is {what}, not a whole disk"), hint);
    }
    if let Some((disk, _)) = partition_of(device) {
        return fail(
            format!("device `{d}` is a partition, not a whole disk"),
            format!(
                "use the disk, {}, and declare the partition under its `content`",
                shown(&disk)
            ),
        );
    }
    Ok(())
}

/// A name that only labels things in the plan (a disk, a partition, a
/// firmware region): not empty, nothing invisible.
pub fn subject(kind: &str, name: &str) -> Result<String, NameError> {
    if name.is_empty() {
        return fail(format!("{kind} name is empty"), "give it a name");
    }
    if let Some(c) = name.chars().find(|c| invisible(*c)) {
        return fail(
            format!("{kind} name `{}` contains {}", shown(name), char_name(c)),
            "names appear in the plan; use printable characters",
        );
    }
    Ok(name.to_string())
}

mod labels;
pub use labels::{GPT_NAME_UNITS, LabelTool, default_gpt_name, gpt_name, label};

#[cfg(test)]
mod tests;
