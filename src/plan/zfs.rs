//! How ZFS datasets are mounted: shared by the plan (the install's mounts) and
//! the NixOS module (the installed system's), so both follow one rule.

use super::{Action, Step};

/// The `mountpoint` property `dataset` will have: its own, else inherited from
/// its parents, else the pool's root dataset's (`rootFsOptions`), as the
/// plan's create steps set them.
pub fn mountpoint_property(steps: &[Step], dataset: &str) -> Option<String> {
    let own = |name: &str| -> Option<String> {
        steps.iter().find_map(|s| match &s.action {
            Action::ZfsCreate {
                name: n, options, ..
            } if n == name => options
                .iter()
                .find(|(k, _)| k == "mountpoint")
                .map(|(_, v)| v.clone()),
            Action::ZpoolCreate {
                name: n,
                root_fs_options,
                ..
            } if n == name => root_fs_options
                .iter()
                .find(|(k, _)| k == "mountpoint")
                .map(|(_, v)| v.clone()),
            _ => None,
        })
    };
    let mut name = dataset;
    loop {
        if let Some(v) = own(name) {
            return Some(v);
        }
        name = name.rsplit_once('/')?.0;
    }
}

/// **zfsutil rule**: a dataset whose `mountpoint` property is `legacy` is
/// mounted by `mount -t zfs`, which refuses `zfsutil`; any other is mounted
/// by ZFS's own rules, which need it (mount.zfs refuses either mistake).
pub fn mount_options(options: &[String], legacy: bool) -> Vec<String> {
    let mut out: Vec<String> = options
        .iter()
        .filter(|o| *o != "zfsutil")
        .cloned()
        .collect();
    if !legacy {
        out.push("zfsutil".into());
    }
    out
}

/// The mount options of `dataset`, given the steps planned so far.
pub fn mount_options_of(steps: &[Step], dataset: &str, options: &[String]) -> Vec<String> {
    let legacy = mountpoint_property(steps, dataset).as_deref() == Some("legacy");
    mount_options(options, legacy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zfsutil_only_without_legacy() {
        let o = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(mount_options(&o(&["zfsutil"]), true), o(&[]));
        assert_eq!(
            mount_options(&o(&["noatime", "zfsutil"]), false),
            o(&["noatime", "zfsutil"])
        );
        assert_eq!(
            mount_options(&o(&["noatime"]), false),
            o(&["noatime", "zfsutil"])
        );
    }

    #[test]
    fn the_mountpoint_property_is_inherited_from_parents_and_the_pool() {
        let step = |action: Action| Step {
            id: 1,
            change: super::super::Change::Create,
            subject: String::new(),
            description: String::new(),
            reason: None,
            disks: Vec::new(),
            action,
        };
        let kv = |k: &str, v: &str| vec![(k.to_string(), v.to_string())];
        let steps = [
            step(Action::ZpoolCreate {
                name: "tank".into(),
                vdev: "raidz2".into(),
                devices: Vec::new(),
                options: Vec::new(),
                root_fs_options: kv("mountpoint", "none"),
                altroot: "/mnt".into(),
            }),
            step(Action::ZfsCreate {
                name: "tank/data".into(),
                options: kv("mountpoint", "legacy"),
                volume_size: None,
            }),
            step(Action::ZfsCreate {
                name: "tank/data/media".into(),
                options: Vec::new(),
                volume_size: None,
            }),
        ];
        assert_eq!(mountpoint_property(&steps, "tank").as_deref(), Some("none"));
        let media = mountpoint_property(&steps, "tank/data/media");
        assert_eq!(media.as_deref(), Some("legacy"));
        assert_eq!(
            mount_options_of(&steps, "tank/data/media", &[]),
            Vec::<String>::new()
        );
        assert_eq!(mount_options_of(&steps, "tank", &[]), ["zfsutil"]);
    }
}
