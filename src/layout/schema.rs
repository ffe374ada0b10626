//! A JSON Schema (draft-07) of the layout, for YAML language servers:
//! `# yaml-language-server: $schema=layout.schema.json`. Written by hand so it
//! describes what people type (camelCase keys, size strings), not the model.

use serde_json::{Value, json};

fn obj(props: Value, required: &[&str]) -> Value {
    let mut props = props;
    // disko's computed `_…` keys are allowed anywhere and ignored.
    json!({ "type": "object", "properties": props.take(), "required": required, "patternProperties": { "^_": {} }, "additionalProperties": false })
}

fn hooks(mut props: Value) -> Value {
    for h in super::read::HOOKS {
        props[h] = if h.contains("Unmount") {
            json!({ "const": "", "description": "unmount hooks are refused; only an empty string is accepted (disko's default)" })
        } else {
            json!({ "type": "string", "description": "shell text: `plan` shows it in full, `apply --allow-hooks` runs it with sh -c (refused where the object has no such step)" })
        };
    }
    props
}

/// The schema as a JSON value.
pub fn schema() -> Value {
    let size = json!({ "type": "string", "pattern": "^\\s*[0-9]+(\\.[0-9]+)?\\s*(B|K|KiB|M|MiB|G|GiB|T|TiB|P|PiB|s|%)\\s*$|^0$", "description": "binary units (1G = 1 GiB, as disko/sgdisk), sectors `2048s`, or `N%` of the disk" });
    let strings = json!({ "type": "array", "items": { "type": "string" } });
    let mountpoint = json!({ "type": ["string", "null"], "pattern": "^/" });
    let props = json!({ "type": "object", "additionalProperties": { "type": "string" } });
    let content_ref = json!({ "$ref": "#/definitions/content" });
    let filesystem = obj(
        hooks(
            json!({ "type": { "const": "filesystem" }, "device": {}, "format": { "type": "string", "pattern": "^[a-z0-9_][a-z0-9_.-]{0,31}$", "not": { "enum": ["bcachefs", "zfs", "swap", "tmpfs", "ramfs"] }, "examples": ["ext4", "xfs", "btrfs", "vfat", "f2fs"], "description": "made with mkfs.<format>; ext2/3/4, xfs, btrfs, vfat and f2fs are known by name" }, "mountpoint": mountpoint, "mountOptions": strings, "extraArgs": strings }),
        ),
        &["type", "format"],
    );
    let partition = obj(
        json!({
            "type": { "type": "string", "description": "sgdisk code (8300, FD00, EF00, EF02, 8200, BF00…) or type GUID" },
            "size": size, "start": size, "end": { "type": "string", "description": "+SIZE, -SIZE (back from the end) or the offset of its last sector, as sgdisk reads them" },
            "name": {}, "label": { "type": "string", "maxLength": 36 }, "priority": { "type": "integer" }, "alignment": {},
            "attributes": { "type": "array", "items": { "type": "integer", "minimum": 0, "maximum": 63 } },
            "bootable": { "type": "boolean", "description": "GPT attribute bit 2, what U-Boot's distro boot scans" },
            "content": content_ref, "device": {}, "hybrid": {}, "uuid": {}
        }),
        &[],
    );
    let gpt = obj(
        hooks(
            json!({ "type": { "const": "gpt" }, "device": {}, "efiGptPartitionFirst": {}, "partitions": { "type": "object", "additionalProperties": { "$ref": "#/definitions/partition" } } }),
        ),
        &["type"],
    );
    let luks = obj(
        hooks(json!({
            "type": { "const": "luks" }, "device": {}, "name": { "type": "string" }, "passwordFile": { "type": "string" }, "keyFile": { "type": "string" },
            "askPassword": { "type": "boolean" }, "settings": { "type": "object" }, "additionalKeyFiles": strings, "initrdUnlock": {},
            "extraFormatArgs": strings, "extraOpenArgs": strings, "content": content_ref, "enrollFido2": {}, "extraFido2EnrollArgs": {}, "enrollRecovery": {}
        })),
        &["type", "name"],
    );
    // disko's btrfs `swap`: swap files by name, in the top level or a subvolume.
    let swapfiles = json!({ "type": "object", "additionalProperties": obj(
        json!({ "size": size, "path": { "type": "string" }, "priority": { "type": "integer" }, "options": strings }),
        &["size"],
    ) });
    let subvolume = obj(
        json!({ "type": {}, "name": { "type": "string" }, "mountpoint": mountpoint, "mountOptions": strings, "extraArgs": strings, "swap": swapfiles }),
        &[],
    );
    let btrfs = obj(
        hooks(
            json!({ "type": { "const": "btrfs" }, "device": {}, "extraArgs": strings, "mountpoint": mountpoint, "mountOptions": strings, "swap": swapfiles, "subvolumes": { "type": "object", "additionalProperties": subvolume } }),
        ),
        &["type"],
    );
    let mdraid = obj(
        json!({ "type": { "const": "mdraid" }, "device": {}, "name": { "type": "string" } }),
        &["type", "name"],
    );
    let zfs = obj(
        json!({ "type": { "const": "zfs" }, "device": {}, "pool": { "type": "string" } }),
        &["type", "pool"],
    );
    let swap = obj(
        hooks(
            json!({ "type": { "const": "swap" }, "device": {}, "priority": { "type": "integer" }, "randomEncryption": { "type": "boolean" }, "resumeDevice": { "type": "boolean" }, "discardPolicy": {}, "extraArgs": strings, "mountOptions": strings }),
        ),
        &["type"],
    );
    let firmware = obj(
        json!({ "name": { "type": "string" }, "offset": size, "max_size": size, "image": { "type": "string" } }),
        &["name", "offset", "max_size"],
    );
    let disk = obj(
        hooks(json!({
            "type": { "const": "disk" }, "device": { "type": "string", "pattern": "^/" }, "name": {}, "imageName": {}, "imageSize": {}, "destroy": { "type": "boolean" },
            "expect": obj(json!({ "size": size, "serial": { "type": "string" }, "model": { "type": "string" } }), &[]),
            "firmware": { "type": "array", "items": firmware }, "content": content_ref
        })),
        &["device"],
    );
    let mdadm = obj(
        hooks(
            json!({ "type": { "const": "mdadm" }, "name": {}, "level": { "enum": [0, 1, 5, 6, 10] }, "metadata": { "enum": ["default", "0.90", "1.0", "1.1", "1.2", "1"] }, "extraArgs": strings, "content": content_ref }),
        ),
        &[],
    );
    let dataset = obj(
        hooks(
            json!({ "type": { "enum": ["zfs_fs", "zfs_volume"] }, "name": {}, "options": props, "mountpoint": mountpoint, "mountOptions": strings, "size": size, "content": content_ref, "extraArgs": strings }),
        ),
        &["type"],
    );
    let zpool = obj(
        hooks(
            json!({ "type": { "const": "zpool" }, "name": {}, "mode": { "enum": ["", "stripe", "mirror", "raidz", "raidz1", "raidz2", "raidz3"] }, "options": props, "rootFsOptions": props, "mountpoint": mountpoint, "mountOptions": strings, "datasets": { "type": "object", "additionalProperties": dataset } }),
        ),
        &[],
    );
    let nodev = obj(
        hooks(
            json!({ "type": { "const": "nodev" }, "fsType": { "type": "string" }, "device": { "type": "string" }, "mountpoint": mountpoint, "mountOptions": strings }),
        ),
        &[],
    );
    let top = obj(
        json!({
            "board": { "enum": ["helios64"] },
            "disk": { "type": "object", "additionalProperties": { "$ref": "#/definitions/disk" } },
            "mdadm": { "type": "object", "additionalProperties": mdadm },
            "zpool": { "type": "object", "additionalProperties": zpool },
            "nodev": { "type": "object", "additionalProperties": nodev },
            "lvm_vg": { "type": "object", "maxProperties": 0, "description": "not supported yet" },
            "bcachefs_filesystems": { "type": "object", "maxProperties": 0, "description": "not supported yet" }
        }),
        &["disk"],
    );
    let mut s = top;
    s["$schema"] = json!("http://json-schema.org/draft-07/schema#");
    s["title"] = json!(
        "nasstrap disk layout (disko's disko.devices vocabulary plus board, expect, firmware, bootable)"
    );
    s["definitions"] = json!({
        "disk": disk, "partition": partition,
        "content": { "oneOf": [gpt, filesystem, mdraid, luks, btrfs, swap, zfs] }
    });
    s
}
