//! Where hooks land in a from-scratch plan: pre before their owner's making,
//! post right after it, mount hooks around each of the owner's mounts.

use crate::plan::{Action, Plan};

fn plan(yaml: &str) -> Plan {
    let l = crate::layout::load_str("l.yaml", yaml, &[]).unwrap_or_else(|r| panic!("{r}"));
    crate::plan::build(&l, &crate::plan::Options::default()).unwrap_or_else(|r| panic!("{r}"))
}

/// The steps as `id description`, hooks with `-> step`.
fn lines(p: &Plan) -> Vec<String> {
    p.steps
        .iter()
        .map(|s| match &s.action {
            Action::Hook { step, .. } => format!("{} {} -> {step}", s.id, s.description),
            _ => format!("{} {}", s.id, s.description),
        })
        .collect()
}

#[test]
fn luks_btrfs_and_their_mounts() {
    let p = plan(
        "
disk:
  a:
    device: /dev/sda
    content:
      type: gpt
      preCreateHook: echo table
      partitions:
        root:
          size: 100%
          content:
            type: luks
            name: crypt
            passwordFile: /run/key
            postCreateHook: cryptsetup status crypt
            content:
              type: btrfs
              preCreateHook: echo pre
              postCreateHook: echo post
              preMountHook: echo mount
              subvolumes:
                root: { mountpoint: / }
                home: { mountpoint: /home }
",
    );
    assert_eq!(
        lines(&p),
        [
            "1 run preCreateHook of disk a -> 3",
            "2 wipe the signatures on disk a (/dev/sda)",
            "3 write a GPT with 1 partition on a",
            "4 clear old signatures on new partition /dev/sda1",
            "5 format LUKS2 `crypt` on /dev/sda1",
            "6 open LUKS `crypt` as /dev/mapper/crypt",
            "7 run postCreateHook of LUKS `crypt` -> 5",
            "8 run preCreateHook of btrfs on /dev/mapper/crypt -> 9",
            "9 make btrfs on /dev/mapper/crypt",
            "10 create btrfs subvolume root on /dev/mapper/crypt",
            "11 create btrfs subvolume home on /dev/mapper/crypt",
            "12 run postCreateHook of btrfs on /dev/mapper/crypt -> 9",
            "13 run preMountHook of btrfs on /dev/mapper/crypt, mounting /mnt -> 14",
            "14 mount /dev/mapper/crypt on /mnt",
            "15 run preMountHook of btrfs on /dev/mapper/crypt, mounting /mnt/home -> 16",
            "16 mount /dev/mapper/crypt on /mnt/home",
        ]
    );
    // A hook step is about its step's subject and writes to its disks.
    assert_eq!(p.steps[6].subject, "crypt");
    assert_eq!(p.steps[6].disks, ["a"]);
}

#[test]
fn array_pool_dataset_and_tmpfs() {
    let p = plan(
        "
disk:
  a: { device: /dev/sda, content: { type: gpt, partitions: { r: { size: 1G, content: { type: mdraid, name: md } }, z: { size: 100%, content: { type: zfs, pool: tank } } } } }
  b: { device: /dev/sdb, content: { type: gpt, partitions: { r: { size: 1G, content: { type: mdraid, name: md } } } } }
mdadm:
  md: { level: 1, postCreateHook: mdadm --detail /dev/md/md, content: { type: swap, preCreateHook: echo swap } }
zpool:
  tank:
    mode: ''
    preCreateHook: echo pool
    postCreateHook: zfs snapshot tank@blank
    postMountHook: echo root
    mountpoint: /
    datasets:
      data: { type: zfs_fs, mountpoint: /data, postCreateHook: echo data, preMountHook: echo m }
nodev:
  /tmp: { fsType: tmpfs, postMountHook: chmod 1777 /mnt/tmp }
",
    );
    let got = lines(&p);
    let after = |a: &str, b: &str| {
        let i = got
            .iter()
            .position(|l| l.contains(a))
            .unwrap_or_else(|| panic!("{a}: {got:#?}"));
        assert!(got[i + 1].contains(b), "{b} after {a}: {got:#?}");
    };
    after("create RAID1 array md", "run postCreateHook of array md");
    after(
        "run preCreateHook of swap on /dev/md/md",
        "make swap on /dev/md/md",
    );
    after("run preCreateHook of pool tank", "create ZFS pool tank");
    after("create ZFS pool tank", "run postCreateHook of pool tank");
    after(
        "create ZFS dataset tank/data",
        "run postCreateHook of dataset tank/data",
    );
    after(
        "mount tank on /mnt",
        "run postMountHook of pool tank, mounting /mnt",
    );
    after(
        "run preMountHook of dataset tank/data",
        "mount tank/data on /mnt/data",
    );
    after(
        "mount none on /mnt/tmp",
        "run postMountHook of tmpfs /tmp, mounting /mnt/tmp",
    );
}
