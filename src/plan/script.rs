//! The plan as a POSIX sh script (sgdisk, mdadm, cryptsetup, mkfs.*, mount):
//! for review, and for running by hand in a rescue shell. `commands` is also
//! what the executor runs for every action but the GPT write, which it does
//! in-process with the `gpt` crate.

use super::{Action, KeySlice, KeySource, Plan, Step, partition_path};
use crate::layout::diag::{escape, is_unsafe};
use std::fmt::Write;

/// Quote a word for POSIX sh.
///
/// Control and invisible characters (see [`is_unsafe`]) are never written
/// raw, even inside single quotes where sh would take them literally: a
/// newline there would show a reader a second command line that is not one,
/// and ESC would drive the terminal showing the script. A newline becomes
/// `"$nl"` (the script defines `nl` when it uses it; command substitution
/// would drop a trailing one), the others `"$(printf '\033')"` with the
/// octal bytes (POSIX sh has no `$'…'`). The word stays one word.
pub fn quote(w: &str) -> String {
    if !w.is_empty()
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./:=@%+,-".contains(c))
    {
        return w.to_string();
    }
    if !w.chars().any(is_unsafe) {
        return single(w);
    }
    let mut out = String::new();
    let mut run = String::new();
    let mut octal = String::new();
    for c in w.chars() {
        // A run of octal escapes ends at a safe character or a newline.
        if (!is_unsafe(c) || c == '\n') && !octal.is_empty() {
            let _ = write!(out, "\"$(printf '{octal}')\"");
            octal.clear();
        }
        if !is_unsafe(c) {
            run.push(c);
            continue;
        }
        if !run.is_empty() {
            out.push_str(&single(&run));
            run.clear();
        }
        if c == '\n' {
            out.push_str("\"$nl\"");
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                let _ = write!(octal, "\\{b:03o}");
            }
        }
    }
    if !octal.is_empty() {
        let _ = write!(out, "\"$(printf '{octal}')\"");
    }
    if !run.is_empty() {
        out.push_str(&single(&run));
    }
    out
}

/// `w` in single quotes, each `'` written `'\''`.
fn single(w: &str) -> String {
    format!("'{}'", w.replace('\'', r"'\''"))
}

fn join(argv: &[String]) -> String {
    argv.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" ")
}

fn v(words: &[&str]) -> Vec<String> {
    words.iter().map(|s| s.to_string()).collect()
}

fn key_args(k: &KeySource, slice: &KeySlice) -> Vec<String> {
    let mut v = match k {
        KeySource::PasswordFile(p) | KeySource::KeyFile(p) => vec!["--key-file".into(), p.clone()],
        KeySource::Ask => Vec::new(),
    };
    if let Some(o) = slice.offset {
        v.extend(["--keyfile-offset".into(), o.to_string()]);
    }
    if let Some(n) = slice.size {
        v.extend(["--keyfile-size".into(), n.to_string()]);
    }
    v
}

/// Mount options without disko's placeholder `defaults`.
pub fn mount_options(options: &[String]) -> Vec<String> {
    options
        .iter()
        .filter(|o| o.as_str() != "defaults")
        .cloned()
        .collect()
}

/// The argv of each command an action runs. `WriteGpt`, `WriteFirmware` and
/// `BtrfsSubvolume` need more than plain commands and return nothing here.
pub fn commands(a: &Action) -> Vec<Vec<String>> {
    match a {
        Action::WipeSignatures { device } => vec![v(&["wipefs", "--all", "--quiet", device])],
        Action::WriteGpt { .. }
        | Action::WriteFirmware { .. }
        | Action::BtrfsSubvolume { .. }
        | Action::BtrfsSwapfile { .. }
        | Action::BtrfsReplace { .. } => Vec::new(),
        Action::Swapon { file, priority } => {
            let mut c = v(&["swapon"]);
            if let Some(p) = priority {
                c.extend(["--priority".into(), p.to_string()]);
            }
            c.push(file.clone());
            vec![c]
        }
        Action::Swapoff { file } => vec![v(&["swapoff", file])],
        Action::MdAssemble {
            device,
            members,
            read_only,
            ..
        } => {
            let mut c = v(&["mdadm", "--assemble", device, "--run"]);
            if *read_only {
                c.push("--readonly".into());
            }
            c.extend(members.iter().cloned());
            vec![c]
        }
        Action::ZpoolReplace { pool, old, new } => {
            vec![v(&["zpool", "replace", "-f", pool, old, new])]
        }
        // Read-write first: an array assembled read-only (rescue) or
        // auto-read-only (udev) would not start rebuilding onto the new member.
        Action::MdAdd { device, member, .. } => vec![
            v(&["mdadm", "--readwrite", device]),
            v(&["mdadm", "--manage", device, "--add", member]),
        ],
        Action::MdCreate {
            device,
            name,
            level,
            metadata,
            members,
            extra_args,
        } => {
            let mut c = v(&["mdadm", "--create", device, "--run", "--homehost=any"]);
            c.push(format!("--name={name}"));
            c.push(format!("--level={level}"));
            c.push(format!("--raid-devices={}", members.len()));
            if metadata != "default" {
                c.push(format!("--metadata={metadata}"));
            }
            c.extend(extra_args.iter().cloned());
            c.extend(members.iter().cloned());
            vec![c]
        }
        Action::LuksFormat {
            device,
            key,
            key_slice,
            extra_args,
            ..
        } => {
            let mut c = v(&[
                "cryptsetup",
                "luksFormat",
                "--batch-mode",
                "--type",
                "luks2",
            ]);
            c.extend(key_args(key, key_slice));
            c.extend(extra_args.iter().cloned());
            c.push(device.clone());
            vec![c]
        }
        Action::LuksOpen {
            device,
            name,
            key,
            key_slice,
            allow_discards,
            extra_args,
        } => {
            let mut c = v(&["cryptsetup", "open"]);
            c.extend(key_args(key, key_slice));
            if *allow_discards {
                c.push("--allow-discards".into());
            }
            c.extend(extra_args.iter().cloned());
            c.push(device.clone());
            c.push(name.clone());
            vec![c]
        }
        // The first key unlocks (`--key-file`, or typed); the new one is read
        // from its file whole. Never a key on argv.
        Action::LuksAddKey {
            device,
            key,
            key_slice,
            new_key,
            ..
        } => {
            let mut c = v(&["cryptsetup", "luksAddKey", "--batch-mode"]);
            c.extend(key_args(key, key_slice));
            c.push(device.clone());
            c.push(new_key.clone());
            vec![c]
        }
        Action::Mkfs {
            format,
            devices,
            extra_args,
        } => {
            let mut c = vec![format!("mkfs.{format}")];
            match format.as_str() {
                "ext4" | "ext3" | "ext2" => c.extend(v(&["-F", "-q"])),
                "xfs" | "btrfs" => c.extend(v(&["-f", "-q"])),
                // Over what wipefs left (it refuses a device that had a filesystem).
                "f2fs" => c.extend(v(&["-f", "-q"])),
                _ => {}
            }
            c.extend(extra_args.iter().cloned());
            c.extend(devices.iter().cloned());
            vec![c]
        }
        Action::Mkswap { device } => vec![v(&["mkswap", device])],
        Action::ZpoolCreate {
            name,
            vdev,
            devices,
            options,
            root_fs_options,
            altroot,
        } => {
            let mut c = v(&["zpool", "create", "-f", "-R", altroot]);
            for (k, val) in options {
                c.extend(["-o".into(), format!("{k}={val}")]);
            }
            for (k, val) in root_fs_options {
                c.extend(["-O".into(), format!("{k}={val}")]);
            }
            c.push(name.clone());
            if !vdev.is_empty() {
                c.push(vdev.clone());
            }
            c.extend(devices.iter().cloned());
            vec![c]
        }
        Action::ZfsCreate {
            name,
            options,
            volume_size,
        } => {
            let mut c = v(&["zfs", "create", "-p"]);
            if let Some(b) = volume_size {
                c.extend(["-V".into(), b.to_string()]);
            }
            for (k, val) in options {
                c.extend(["-o".into(), format!("{k}={val}")]);
            }
            c.push(name.clone());
            vec![c]
        }
        Action::Unmount { target } => vec![v(&["umount", target])],
        Action::Hook { script, .. } => vec![v(&["sh", "-c", script])],
        Action::LuksClose { name } => vec![v(&["cryptsetup", "close", name])],
        Action::MdStop { device } => vec![v(&["mdadm", "--stop", device])],
        Action::Mount {
            source,
            target,
            fstype,
            options,
        } => {
            let mut c = v(&["mount", "-t", fstype]);
            let o = mount_options(options);
            if !o.is_empty() {
                c.extend(["-o".into(), o.join(",")]);
            }
            c.push(source.clone());
            c.push(target.clone());
            vec![v(&["mkdir", "-p", target]), c]
        }
    }
}

fn step_lines(plan: &Plan, st: &Step, out: &mut String) {
    let _ = writeln!(
        out,
        "\n# step {}: {}: {}",
        st.id,
        format!("{:?}", st.change).to_lowercase(),
        escape(&st.description)
    );
    match &st.action {
        Action::WriteGpt { disk, device } => {
            let Some(t) = plan
                .disks
                .iter()
                .find(|d| &d.name == disk)
                .and_then(|d| d.table.as_ref())
            else {
                return;
            };
            let _ = writeln!(
                out,
                "sgdisk --clear --set-alignment=1 --disk-guid={} \\",
                t.disk_guid
            );
            for p in &t.partitions {
                let n = p.number;
                let mut words = vec![
                    format!("--new={n}:{}:{}", p.first_lba, p.last_lba),
                    format!("--typecode={n}:{}", p.type_guid),
                    format!("--change-name={n}:{}", p.label),
                    format!("--partition-guid={n}:{}", p.part_guid),
                ];
                if p.attributes != 0 {
                    words.push(format!("--attributes={n}:=:{:x}", p.attributes));
                }
                let _ = writeln!(out, "  {} \\", join(&words));
            }
            let _ = writeln!(out, "  {}", quote(device));
            // sgdisk asks the kernel to re-read the table; partx also covers
            // loop devices and kernels that did not pick the new table up.
            let _ = writeln!(
                out,
                "partx --update {} 2>/dev/null || partx --add {}",
                quote(device),
                quote(device)
            );
            for p in &t.partitions {
                let _ = writeln!(out, "wait_for {}", quote(&partition_path(device, p.number)));
            }
        }
        Action::WriteFirmware {
            device,
            image,
            offset,
            max_size,
            region,
            ..
        } => {
            let _ = writeln!(
                out,
                "[ \"$(wc -c < {img})\" -le {max_size} ] || {{ echo {msg} >&2; exit 1; }}",
                img = quote(image),
                msg = quote(&format!(
                    "firmware image {region} is larger than {max_size} bytes"
                ))
            );
            let _ = writeln!(
                out,
                "dd if={} of={} bs=512 seek={} conv=notrunc,fsync status=none",
                quote(image),
                quote(device),
                offset / 512
            );
        }
        Action::BtrfsSubvolume { device, name } => {
            let _ = writeln!(out, "scratch=$(mktemp -d)");
            let _ = writeln!(out, "mount -t btrfs {} \"$scratch\"", quote(device));
            let _ = writeln!(
                out,
                "btrfs subvolume create \"$scratch\"/{}",
                quote(name.trim_start_matches('/'))
            );
            let _ = writeln!(out, "umount \"$scratch\" && rmdir \"$scratch\"");
        }
        Action::BtrfsSwapfile {
            device,
            subvolume,
            path,
            size,
            ..
        } => {
            let inside = match subvolume {
                Some(sv) => format!("{}/{path}", sv.trim_start_matches('/')),
                None => path.clone(),
            };
            let _ = writeln!(out, "scratch=$(mktemp -d)");
            let _ = writeln!(
                out,
                "mount -t btrfs -o subvolid=5 {} \"$scratch\"",
                quote(device)
            );
            let _ = writeln!(out, "f=\"$scratch\"/{}", quote(&inside));
            let _ = writeln!(
                out,
                "[ -e \"$f\" ] || {{ mkdir -p \"$(dirname \"$f\")\" && btrfs filesystem mkswapfile --size {size} \"$f\"; }}"
            );
            let _ = writeln!(out, "umount \"$scratch\" && rmdir \"$scratch\"");
        }
        Action::BtrfsReplace {
            device, devid, new, ..
        } => {
            let _ = writeln!(out, "scratch=$(mktemp -d)");
            let _ = writeln!(
                out,
                "mount -t btrfs -o degraded,subvolid=5 {} \"$scratch\"",
                quote(device)
            );
            let _ = writeln!(
                out,
                "btrfs replace start -B -f {devid} {} \"$scratch\"",
                quote(new)
            );
            let _ = writeln!(out, "umount \"$scratch\" && rmdir \"$scratch\"");
        }
        // The hook's text verbatim, fed to sh: what runs is what is shown
        // (quoted instead when it holds a character that must not be raw).
        Action::Hook { script, .. } if !script.chars().any(|c| c != '\n' && is_unsafe(c)) => {
            let mut end = "NASSTRAP_HOOK".to_string();
            while script.lines().any(|l| l == end) {
                end.push('_');
            }
            let nl = if script.ends_with('\n') { "" } else { "\n" };
            let _ = write!(out, "sh <<'{end}'\n{script}{nl}{end}\n");
        }
        a => {
            for c in commands(a) {
                let _ = writeln!(out, "{}", join(&c));
            }
        }
    }
}

/// The whole script.
pub fn sh(plan: &Plan) -> String {
    let mut steps = String::new();
    for st in &plan.steps {
        if st.change != super::Change::Keep {
            step_lines(plan, st, &mut steps);
        }
    }
    let mut out = String::new();
    let _ = writeln!(out, "#!/bin/sh");
    let _ = writeln!(
        out,
        "# Generated by nasstrap {} from {}.",
        env!("CARGO_PKG_VERSION"),
        escape(&plan.layout)
    );
    let _ = writeln!(
        out,
        "# It does what `nasstrap apply` would do on blank disks. Review it first:"
    );
    let _ = writeln!(
        out,
        "# the steps marked destroy erase what the named disks hold."
    );
    let _ = writeln!(out, "set -eu");
    if steps.contains("\"$nl\"") {
        let _ = writeln!(
            out,
            "\n# A newline, for the words below that hold one.\nnl='\n'"
        );
    }
    let _ = writeln!(
        out,
        "\n# Partition nodes can lag behind the table write; wait up to 10 s for one."
    );
    let _ = writeln!(
        out,
        "wait_for() {{\n  i=0\n  while [ ! -b \"$1\" ] && [ \"$i\" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done\n  [ -b \"$1\" ] || {{ echo \"$1 did not appear\" >&2; exit 1; }}\n}}"
    );
    out.push_str(&steps);
    out
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn quoting() {
        assert_eq!(quote("/dev/sda1"), "/dev/sda1");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("$HOME"), "'$HOME'");
        // Unsafe characters never appear raw, and the word stays one word.
        let cases: &[(&str, &str)] = &[
            ("/dev/sda\nrm -rf /", "'/dev/sda'\"$nl\"'rm -rf /'"),
            ("a\n", "'a'\"$nl\""),
            ("\u{1b}[2J", "\"$(printf '\\033')\"'[2J'"),
            (
                "x\u{202e}\u{1b}y",
                "'x'\"$(printf '\\342\\200\\256\\033')\"'y'",
            ),
            ("it's\t", "'it'\\''s'\"$(printf '\\011')\""),
        ];
        for (w, want) in cases {
            assert_eq!(quote(w), *want, "{w:?}");
        }
    }
}
