//! Installing over a previous NAS's disks: what a rescue system assembled or
//! opened from them is taken down first, and the old partitions' signatures
//! wiped, all gated as destroy.

use super::NAS;
use super::kit::*;
use crate::probe::Observed;

/// The same three disks, re-partitioned: one ext4 partition each.
const NEW: &str = "
disk:
  a: { device: /dev/sda, content: { type: gpt, partitions: { store: { size: 100%, content: { type: filesystem, format: ext4, mountpoint: /a } } } } }
  b: { device: /dev/sdb, content: { type: gpt, partitions: { store: { size: 100%, content: { type: filesystem, format: ext4, mountpoint: /b } } } } }
  c: { device: /dev/sdc, content: { type: gpt, partitions: { store: { size: 100%, content: { type: filesystem, format: ext4, mountpoint: /c } } } } }
";

/// The old NAS's disks as a rescue system with udev sees them: the array
/// assembled (md127), the LUKS container on it closed, nothing mounted.
fn old_nas() -> Observed {
    let mut obs = installed(&layout(NAS), &blank(&["sda", "sdb", "sdc"], 4 * GIB));
    obs.mounts.clear();
    obs.luks[0].open = None;
    obs.luks[0].open_as = None;
    obs.md_arrays[0].holders.clear();
    obs
}

#[test]
fn old_array_is_stopped_and_old_partitions_wiped() {
    expect(diff_of(&layout(NEW), &old_nas()), "
 1 destroy stop array md127 (tank, raid5 on /dev/sda1 /dev/sdb1 /dev/sdc1, assembled from the old disks)
           because it holds crypto_LUKS; its members are on a, b, c, which this plan destroys
 2 destroy wipe old signatures on /dev/sda1
           because it holds linux_raid_member 'any:tank', which a new partition at that place would bring back
 3 destroy wipe old signatures on /dev/sdb1
           because it holds linux_raid_member 'any:tank', which a new partition at that place would bring back
 4 destroy wipe old signatures on /dev/sdc1
           because it holds linux_raid_member 'any:tank', which a new partition at that place would bring back
 5 destroy wipe the signatures on disk a (/dev/sda)
           because /dev/sda holds a GPT with 1 partition; /dev/sda1: linux_raid_member 'any:tank'
 6 destroy write a GPT with 1 partition on a
           because partition 1 is named `disk-a-data`, planned `disk-a-store` holding linux_raid_member 'any:tank'
 7 destroy wipe the signatures on disk b (/dev/sdb)
           because /dev/sdb holds a GPT with 1 partition; /dev/sdb1: linux_raid_member 'any:tank'
 8 destroy write a GPT with 1 partition on b
           because partition 1 is named `disk-b-data`, planned `disk-b-store` holding linux_raid_member 'any:tank'
 9 destroy wipe the signatures on disk c (/dev/sdc)
           because /dev/sdc holds a GPT with 1 partition; /dev/sdc1: linux_raid_member 'any:tank'
10 destroy write a GPT with 1 partition on c
           because partition 1 is named `disk-c-data`, planned `disk-c-store` holding linux_raid_member 'any:tank'
11 create  clear old signatures on new partition /dev/sda1
12 create  clear old signatures on new partition /dev/sdb1
13 create  clear old signatures on new partition /dev/sdc1
14 create  make ext4 on /dev/sda1
15 create  make ext4 on /dev/sdb1
16 create  make ext4 on /dev/sdc1
17 create  mount /dev/sda1 on /mnt/a
18 create  mount /dev/sdb1 on /mnt/b
19 create  mount /dev/sdc1 on /mnt/c
");
}

#[test]
fn open_luks_on_the_old_array_is_closed_first() {
    let mut obs = old_nas();
    let full = installed(&layout(NAS), &blank(&["sda", "sdb", "sdc"], 4 * GIB));
    obs.luks = full.luks.clone();
    obs.luks[0].open.as_mut().unwrap().mountpoints.clear();
    obs.md_arrays[0].holders = vec!["dm-0".into()];
    expect(diff_of(&layout(NEW), &obs), "
 1 destroy close LUKS crypt on /dev/md127 (opened from the old disks)
           because it holds ext4 'tank'; it is open on a, b, c, which this plan destroys
 2 destroy stop array md127 (tank, raid5 on /dev/sda1 /dev/sdb1 /dev/sdc1, assembled from the old disks)
           because it holds crypto_LUKS; its members are on a, b, c, which this plan destroys
 3 destroy wipe old signatures on /dev/sda1
           because it holds linux_raid_member 'any:tank', which a new partition at that place would bring back
 4 destroy wipe old signatures on /dev/sdb1
           because it holds linux_raid_member 'any:tank', which a new partition at that place would bring back
 5 destroy wipe old signatures on /dev/sdc1
           because it holds linux_raid_member 'any:tank', which a new partition at that place would bring back
 6 destroy wipe the signatures on disk a (/dev/sda)
           because /dev/sda holds a GPT with 1 partition; /dev/sda1: linux_raid_member 'any:tank'
 7 destroy write a GPT with 1 partition on a
           because partition 1 is named `disk-a-data`, planned `disk-a-store` holding linux_raid_member 'any:tank'
 8 destroy wipe the signatures on disk b (/dev/sdb)
           because /dev/sdb holds a GPT with 1 partition; /dev/sdb1: linux_raid_member 'any:tank'
 9 destroy write a GPT with 1 partition on b
           because partition 1 is named `disk-b-data`, planned `disk-b-store` holding linux_raid_member 'any:tank'
10 destroy wipe the signatures on disk c (/dev/sdc)
           because /dev/sdc holds a GPT with 1 partition; /dev/sdc1: linux_raid_member 'any:tank'
11 destroy write a GPT with 1 partition on c
           because partition 1 is named `disk-c-data`, planned `disk-c-store` holding linux_raid_member 'any:tank'
12 create  clear old signatures on new partition /dev/sda1
13 create  clear old signatures on new partition /dev/sdb1
14 create  clear old signatures on new partition /dev/sdc1
15 create  make ext4 on /dev/sda1
16 create  make ext4 on /dev/sdb1
17 create  make ext4 on /dev/sdc1
18 create  mount /dev/sda1 on /mnt/a
19 create  mount /dev/sdb1 on /mnt/b
20 create  mount /dev/sdc1 on /mnt/c
");
}

#[test]
fn mounted_old_stack_stays_busy() {
    let obs = installed(&layout(NAS), &blank(&["sda", "sdb", "sdc"], 4 * GIB));
    expect(diff_of(&layout(NEW), &obs), "
 1 destroy wipe old signatures on /dev/sda1
           because it holds linux_raid_member 'any:tank', which a new partition at that place would bring back
 2 destroy wipe old signatures on /dev/sdb1
           because it holds linux_raid_member 'any:tank', which a new partition at that place would bring back
 3 destroy wipe old signatures on /dev/sdc1
           because it holds linux_raid_member 'any:tank', which a new partition at that place would bring back
 4 destroy wipe the signatures on disk a (/dev/sda)
           because /dev/sda holds a GPT with 1 partition; /dev/sda1: linux_raid_member 'any:tank'
 5 destroy write a GPT with 1 partition on a
           because partition 1 is named `disk-a-data`, planned `disk-a-store` holding linux_raid_member 'any:tank'
 6 destroy wipe the signatures on disk b (/dev/sdb)
           because /dev/sdb holds a GPT with 1 partition; /dev/sdb1: linux_raid_member 'any:tank'
 7 destroy write a GPT with 1 partition on b
           because partition 1 is named `disk-b-data`, planned `disk-b-store` holding linux_raid_member 'any:tank'
 8 destroy wipe the signatures on disk c (/dev/sdc)
           because /dev/sdc holds a GPT with 1 partition; /dev/sdc1: linux_raid_member 'any:tank'
 9 destroy write a GPT with 1 partition on c
           because partition 1 is named `disk-c-data`, planned `disk-c-store` holding linux_raid_member 'any:tank'
10 create  clear old signatures on new partition /dev/sda1
11 create  clear old signatures on new partition /dev/sdb1
12 create  clear old signatures on new partition /dev/sdc1
13 create  make ext4 on /dev/sda1
14 create  make ext4 on /dev/sdb1
15 create  make ext4 on /dev/sdc1
16 create  mount /dev/sda1 on /mnt/a
17 create  mount /dev/sdb1 on /mnt/b
18 create  mount /dev/sdc1 on /mnt/c
refused: a: busy: /dev/sda1 is held by md127 (array tank, held by dm-0 (LUKS crypt, mounted on /mnt/srv)); unmount or stop it first
refused: b: busy: /dev/sdb1 is held by md127 (array tank, held by dm-0 (LUKS crypt, mounted on /mnt/srv)); unmount or stop it first
refused: c: busy: /dev/sdc1 is held by md127 (array tank, held by dm-0 (LUKS crypt, mounted on /mnt/srv)); unmount or stop it first
");
}

#[test]
fn old_array_held_by_something_else_stays_busy() {
    let mut obs = old_nas();
    obs.md_arrays[0].holders = vec!["dm-3".into()];
    expect(diff_of(&layout(NEW), &obs), "
 1 destroy wipe old signatures on /dev/sda1
           because it holds linux_raid_member 'any:tank', which a new partition at that place would bring back
 2 destroy wipe old signatures on /dev/sdb1
           because it holds linux_raid_member 'any:tank', which a new partition at that place would bring back
 3 destroy wipe old signatures on /dev/sdc1
           because it holds linux_raid_member 'any:tank', which a new partition at that place would bring back
 4 destroy wipe the signatures on disk a (/dev/sda)
           because /dev/sda holds a GPT with 1 partition; /dev/sda1: linux_raid_member 'any:tank'
 5 destroy write a GPT with 1 partition on a
           because partition 1 is named `disk-a-data`, planned `disk-a-store` holding linux_raid_member 'any:tank'
 6 destroy wipe the signatures on disk b (/dev/sdb)
           because /dev/sdb holds a GPT with 1 partition; /dev/sdb1: linux_raid_member 'any:tank'
 7 destroy write a GPT with 1 partition on b
           because partition 1 is named `disk-b-data`, planned `disk-b-store` holding linux_raid_member 'any:tank'
 8 destroy wipe the signatures on disk c (/dev/sdc)
           because /dev/sdc holds a GPT with 1 partition; /dev/sdc1: linux_raid_member 'any:tank'
 9 destroy write a GPT with 1 partition on c
           because partition 1 is named `disk-c-data`, planned `disk-c-store` holding linux_raid_member 'any:tank'
10 create  clear old signatures on new partition /dev/sda1
11 create  clear old signatures on new partition /dev/sdb1
12 create  clear old signatures on new partition /dev/sdc1
13 create  make ext4 on /dev/sda1
14 create  make ext4 on /dev/sdb1
15 create  make ext4 on /dev/sdc1
16 create  mount /dev/sda1 on /mnt/a
17 create  mount /dev/sdb1 on /mnt/b
18 create  mount /dev/sdc1 on /mnt/c
refused: a: busy: /dev/sda1 is held by md127 (array tank, held by dm-3); unmount or stop it first
refused: b: busy: /dev/sdb1 is held by md127 (array tank, held by dm-3); unmount or stop it first
refused: c: busy: /dev/sdc1 is held by md127 (array tank, held by dm-3); unmount or stop it first
");
}

#[test]
fn kept_disks_tear_nothing_down() {
    let mut obs = old_nas();
    obs.luks.clear();
    expect(
        diff_of(&layout(NAS), &obs),
        "
 1 keep    wipe the signatures on disk a (/dev/sda)
 2 keep    write a GPT with 1 partition on a
 3 keep    wipe the signatures on disk b (/dev/sdb)
 4 keep    write a GPT with 1 partition on b
 5 keep    wipe the signatures on disk c (/dev/sdc)
 6 keep    write a GPT with 1 partition on c
 7 keep    clear old signatures on new partition /dev/sda1
 8 keep    clear old signatures on new partition /dev/sdb1
 9 keep    clear old signatures on new partition /dev/sdc1
10 keep    create RAID5 array tank from 3 devices
11 keep    format LUKS2 `crypt` on /dev/md/tank
12 create  open LUKS `crypt` as /dev/mapper/crypt
13 create  make ext4 on /dev/mapper/crypt
14 create  mount /dev/mapper/crypt on /mnt/srv
",
    );
}

#[test]
fn open_luks_on_an_old_partition_is_closed() {
    let old = "
disk:
  a:
    device: /dev/sda
    content:
      type: gpt
      partitions:
        vault: { size: 100%, content: { type: luks, name: vault, passwordFile: /k, content: { type: filesystem, format: ext4 } } }
";
    let obs = installed(&layout(old), &blank(&["sda"], 4 * GIB));
    expect(diff_of(&layout(super::SIMPLE), &obs), "
 1 destroy close LUKS vault on /dev/sda1 (opened from the old disks)
           because it holds ext4; it is open on a, which this plan destroys
 2 destroy wipe old signatures on /dev/sda1
           because it holds crypto_LUKS, which a new partition at that place would bring back
 3 destroy wipe the signatures on disk a (/dev/sda)
           because /dev/sda holds a GPT with 1 partition; /dev/sda1: crypto_LUKS
 4 destroy write a GPT with 3 partitions on a
           because partition 1 `disk-a-vault` is at sectors 2048..8386559, planned 2048..2099199 holding crypto_LUKS
 5 create  clear old signatures on new partition /dev/sda1
 6 create  clear old signatures on new partition /dev/sda2
 7 create  clear old signatures on new partition /dev/sda3
 8 create  make ext4 on /dev/sda1
 9 create  make swap on /dev/sda2
10 create  make xfs on /dev/sda3
11 create  mount /dev/sda1 on /mnt
12 create  mount /dev/sda3 on /mnt/data
");
}
