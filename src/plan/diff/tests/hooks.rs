//! Hooks run with their step: create hooks when their owner is made, mount
//! hooks when the mount runs; kept otherwise.

use super::kit::*;
use crate::layout::HookKind;
use crate::plan::diff::against;
use crate::plan::{Action, Change, Options};

const HOOKED: &str = "
disk:
  a:
    device: /dev/sda
    preCreateHook: echo disk
    content:
      type: gpt
      partitions:
        root:
          size: 1GiB
          content:
            type: filesystem
            format: ext4
            mountpoint: /
            extraArgs: [-L, root]
            postCreateHook: touch /made
            postMountHook: touch /mounted
        data: { size: 100%, content: { type: filesystem, format: xfs, mountpoint: /data } }
";

#[test]
fn on_blank_disks_every_hook_runs() {
    let l = layout(HOOKED);
    expect(
        diff_of(&l, &blank(&["sda"], 4 * GIB)),
        "
 1 create  run preCreateHook of disk a
 2 keep    wipe the signatures on disk a (/dev/sda)
 3 create  write a GPT with 2 partitions on a
 4 create  clear old signatures on new partition /dev/sda1
 5 create  clear old signatures on new partition /dev/sda2
 6 create  make ext4 on /dev/sda1
 7 create  run postCreateHook of ext4 on /dev/sda1
 8 create  make xfs on /dev/sda2
 9 create  mount /dev/sda1 on /mnt
10 create  run postMountHook of ext4 on /dev/sda1, mounting /mnt
11 create  mount /dev/sda2 on /mnt/data
",
    );
}

#[test]
fn installed_and_mounted_runs_nothing() {
    let l = layout(HOOKED);
    let obs = installed(&l, &blank(&["sda"], 4 * GIB));
    let (plan, _) = against(&l, &obs, &Options::default()).unwrap();
    assert!(plan.is_noop(), "{}", show(&plan, &[]));
}

#[test]
fn a_second_mount_runs_the_mount_hook_not_the_create_hooks() {
    let l = layout(HOOKED);
    let mut obs = installed(&l, &blank(&["sda"], 4 * GIB));
    taken_down(&mut obs);
    expect(
        diff_of(&l, &obs),
        "
 1 keep    run preCreateHook of disk a
           because what carries it exists: create hooks run only when it is made
 2 keep    wipe the signatures on disk a (/dev/sda)
 3 keep    write a GPT with 2 partitions on a
 4 keep    clear old signatures on new partition /dev/sda1
 5 keep    clear old signatures on new partition /dev/sda2
 6 keep    make ext4 on /dev/sda1
 7 keep    run postCreateHook of ext4 on /dev/sda1
           because what carries it exists: create hooks run only when it is made
 8 keep    make xfs on /dev/sda2
 9 create  mount /dev/sda1 on /mnt
10 create  run postMountHook of ext4 on /dev/sda1, mounting /mnt
11 create  mount /dev/sda2 on /mnt/data
",
    );
}

#[test]
fn a_filesystem_made_again_runs_its_create_hook_again() {
    let l = layout(HOOKED);
    let mut obs = installed(&l, &blank(&["sda"], 4 * GIB));
    taken_down(&mut obs);
    part_mut(&mut obs, "/dev/sda1").signature = Some(sig("ext4", Some("other"), "1"));
    let (plan, _) = against(&l, &obs, &Options::default()).unwrap();
    let changes: Vec<(String, Change)> = plan
        .steps
        .iter()
        .filter(|s| matches!(s.action, Action::Hook { .. }))
        .map(|s| (s.description.clone(), s.change))
        .collect();
    assert_eq!(
        changes,
        [
            ("run preCreateHook of disk a".to_string(), Change::Keep),
            (
                "run postCreateHook of ext4 on /dev/sda1".to_string(),
                Change::Create
            ),
            (
                "run postMountHook of ext4 on /dev/sda1, mounting /mnt".to_string(),
                Change::Create
            ),
        ]
    );
}

/// Each hook points at the step it runs with (create hooks at the owner's
/// making, mount hooks at the mount), by its id in the diffed plan.
#[test]
fn each_hook_points_at_its_step() {
    let l = layout(HOOKED);
    let (plan, _) = against(&l, &blank(&["sda"], 4 * GIB), &Options::default()).unwrap();
    for st in &plan.steps {
        if let Action::Hook { step, hook, .. } = &st.action {
            let of = &plan.steps[*step as usize - 1];
            match hook {
                HookKind::PreCreate => assert!(matches!(of.action, Action::WriteGpt { .. })),
                HookKind::PostCreate => assert!(matches!(of.action, Action::Mkfs { .. })),
                _ => assert!(matches!(of.action, Action::Mount { .. })),
            }
        }
    }
}
