//! The decisions the module makes, one named rule each: which mounts may fail
//! without stopping the boot, which LUKS volumes open in the initrd, how
//! identifiers are written.

use super::nix::udev_encode;
use sha2::{Digest, Sha256};

/// Trees the running system itself writes to. A filesystem at or below one
/// of them is a **system mount**: it blocks the boot when missing, because
/// carrying on would let the system write into the empty directory below it.
pub const SYSTEM_TREES: [&str; 5] = ["/boot", "/nix", "/usr", "/var", "/etc"];

/// How long a data mount waits for its device: longer than mdadm's
/// last-resort timer (30 s), which starts an array with a member missing,
/// so a degraded array still mounts; shorter than systemd's 90 s default.
pub const DEVICE_TIMEOUT: &str = "x-systemd.device-timeout=60s";

/// The paths NixOS mounts in the initrd (nixpkgs' `pathsNeededForBoot`):
/// what lies under them must open before stage 2, without a network.
pub const NEEDED_FOR_BOOT: [&str; 9] = [
    "/",
    "/nix",
    "/nix/store",
    "/var",
    "/var/log",
    "/var/lib",
    "/var/lib/nixos",
    "/etc",
    "/usr",
];

/// **Data mount rule**: every mountpoint that is not `/` and not at or below
/// a [`SYSTEM_TREES`] entry is data (`/srv`, `/tank/media`, `/home`). A data
/// mount gets `nofail` and [`DEVICE_TIMEOUT`], so a dead or missing array
/// leaves a NAS that boots to where it can be repaired over ssh.
pub fn is_data_mount(mountpoint: &str) -> bool {
    mountpoint != "/"
        && !SYSTEM_TREES
            .iter()
            .any(|t| mountpoint == *t || mountpoint.starts_with(&format!("{t}/")))
}

/// **Initrd rule**: NixOS mounts this mountpoint in the initrd, so the LUKS
/// volumes under it must be in `boot.initrd.luks.devices`.
pub fn needed_for_boot(mountpoint: &str) -> bool {
    NEEDED_FOR_BOOT.contains(&mountpoint)
}

/// The options of a mount in the module: the layout's, with `nofail` and the
/// device timeout added for a data mount that has a device to wait for
/// (tmpfs has none).
pub fn mount_options(mountpoint: &str, has_device: bool, options: &[String]) -> Vec<String> {
    let mut out = options.to_vec();
    if has_device && is_data_mount(mountpoint) {
        if !out.iter().any(|o| o == "nofail") {
            out.push("nofail".into());
        }
        if !out
            .iter()
            .any(|o| o.starts_with("x-systemd.device-timeout="))
        {
            out.push(DEVICE_TIMEOUT.into());
        }
    }
    out
}

/// Where a mount of the install (`/mnt/srv` below `/mnt`) is in the
/// installed system (`/srv`); `None` when it is not below the install root.
pub fn installed_path(target: &str, mount_root: &str) -> Option<String> {
    let root = mount_root.trim_end_matches('/');
    if root.is_empty() {
        return target.starts_with('/').then(|| target.to_string());
    }
    match target.strip_prefix(root) {
        Some("") | Some("/") => Some("/".into()),
        Some(rest) if rest.starts_with('/') => Some(rest.trim_end_matches('/').to_string()),
        _ => None,
    }
}

/// How the module names a filesystem's device: by UUID when it has one, else
/// by label (a filesystem made without UUID support), as udev's links spell
/// them.
pub fn fs_device(uuid: Option<&str>, label: Option<&str>) -> Option<String> {
    match (
        uuid.filter(|u| !u.is_empty()),
        label.filter(|l| !l.is_empty()),
    ) {
        (Some(u), _) => Some(format!("/dev/disk/by-uuid/{}", udev_encode(u))),
        (None, Some(l)) => Some(format!("/dev/disk/by-label/{}", udev_encode(l))),
        (None, None) => None,
    }
}

/// An md array's UUID as mdadm.conf's `UUID=` takes it: 32 hex digits in four
/// colon-separated groups (`e83d8db9:3271ad50:2c22ba9e:4f647fa2`), from
/// mdadm's own form or blkid's (`e83d8db9-3271-ad50-2c22-ba9e4f647fa2`, the
/// member's `UUID`). `None` for anything else.
pub fn mdadm_uuid(uuid: &str) -> Option<String> {
    let hex: String = uuid.chars().filter(|c| *c != ':' && *c != '-').collect();
    if hex.len() != 32 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let hex = hex.to_ascii_lowercase();
    Some(
        (0..4)
            .map(|i| &hex[i * 8..i * 8 + 8])
            .collect::<Vec<_>>()
            .join(":"),
    )
}

/// **hostId rule**: ZFS needs `networking.hostId`, eight hex digits unique
/// per machine and stable. It is derived from `seed` (the root filesystem's
/// UUID: random at mkfs, so unique per install, and the same every time the
/// module is regenerated) as the first 4 bytes of sha256.
pub fn host_id(seed: &str) -> String {
    let d = Sha256::digest(format!("nasstrap networking.hostId {seed}").as_bytes());
    d[..4].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_mounts_are_everything_outside_the_system_trees() {
        for data in [
            "/srv",
            "/srv/.snapshots",
            "/tank/data/media",
            "/home",
            "/variable",
            "/bootx",
        ] {
            assert!(is_data_mount(data), "{data}");
        }
        for system in [
            "/",
            "/boot",
            "/boot/efi",
            "/nix",
            "/var",
            "/var/lib/services",
            "/usr",
            "/etc",
        ] {
            assert!(!is_data_mount(system), "{system}");
        }
    }

    #[test]
    fn nofail_and_timeout_only_for_data_mounts_with_a_device() {
        let o = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            mount_options("/srv", true, &o(&["noatime"])),
            o(&["noatime", "nofail", DEVICE_TIMEOUT])
        );
        assert_eq!(mount_options("/", true, &o(&["noatime"])), o(&["noatime"]));
        assert_eq!(mount_options("/var/lib/x", true, &[]), o(&[]));
        assert_eq!(
            mount_options("/scratch", false, &o(&["size=1G"])),
            o(&["size=1G"])
        );
        // What the layout says already is not doubled or overridden.
        assert_eq!(
            mount_options(
                "/srv",
                true,
                &o(&["nofail", "x-systemd.device-timeout=5min"])
            ),
            o(&["nofail", "x-systemd.device-timeout=5min"])
        );
    }

    #[test]
    fn initrd_paths_are_nixos_own() {
        assert!(needed_for_boot("/"));
        assert!(needed_for_boot("/nix/store"));
        assert!(needed_for_boot("/var/log"));
        assert!(!needed_for_boot("/boot"));
        assert!(!needed_for_boot("/srv"));
        assert!(!needed_for_boot("/var/lib/services"));
    }

    #[test]
    fn install_paths_become_installed_paths() {
        assert_eq!(installed_path("/mnt", "/mnt").as_deref(), Some("/"));
        assert_eq!(installed_path("/mnt/", "/mnt/").as_deref(), Some("/"));
        assert_eq!(installed_path("/mnt/srv", "/mnt").as_deref(), Some("/srv"));
        assert_eq!(
            installed_path("/mnt/srv/.snapshots", "/mnt/").as_deref(),
            Some("/srv/.snapshots")
        );
        assert_eq!(installed_path("/srv", "/").as_deref(), Some("/srv"));
        assert_eq!(installed_path("/mntx/srv", "/mnt"), None);
        assert_eq!(installed_path("/other", "/mnt"), None);
    }

    #[test]
    fn devices_by_uuid_else_by_label() {
        let u = "8c5c4ab8-d081-4a3e-bfb0-e0ccff5f5821";
        assert_eq!(
            fs_device(Some(u), Some("tank")).unwrap(),
            format!("/dev/disk/by-uuid/{u}")
        );
        assert_eq!(
            fs_device(Some("ABCD-1234"), None).unwrap(),
            "/dev/disk/by-uuid/ABCD-1234"
        );
        assert_eq!(
            fs_device(None, Some("my boot")).unwrap(),
            r"/dev/disk/by-label/my\x20boot"
        );
        assert_eq!(
            fs_device(Some(""), Some("L")).unwrap(),
            "/dev/disk/by-label/L"
        );
        assert_eq!(fs_device(None, None), None);
    }

    #[test]
    fn mdadm_uuids_in_mdadm_form() {
        let want = "e83d8db9:3271ad50:2c22ba9e:4f647fa2";
        assert_eq!(mdadm_uuid(want).unwrap(), want);
        assert_eq!(
            mdadm_uuid("e83d8db9-3271-ad50-2c22-ba9e4f647fa2").unwrap(),
            want
        );
        assert_eq!(
            mdadm_uuid("E83D8DB9:3271AD50:2C22BA9E:4F647FA2").unwrap(),
            want
        );
        assert_eq!(mdadm_uuid(""), None);
        assert_eq!(mdadm_uuid("e83d8db9:3271ad50:2c22ba9e"), None);
        assert_eq!(mdadm_uuid("g83d8db9:3271ad50:2c22ba9e:4f647fa2"), None);
    }

    #[test]
    fn host_ids_are_eight_hex_digits_stable_per_seed() {
        let a = host_id("8c5c4ab8-d081-4a3e-bfb0-e0ccff5f5821");
        assert_eq!(a.len(), 8);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_eq!(a, host_id("8c5c4ab8-d081-4a3e-bfb0-e0ccff5f5821"));
        assert_ne!(a, host_id("another-root"));
    }
}
