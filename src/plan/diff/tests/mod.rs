//! The diff's rules, each from an observed state built in code, asserted on
//! the whole annotated step list: change, description and reason, as the
//! diff a person reads, then the refusals.

// Shared with `plan::basis`, whose tests start from the same observed states.
pub(crate) mod kit;

mod busy;
pub(crate) mod degraded;
mod fs;
mod hooks;
mod identity;
mod md;
mod roundtrip;
mod table;
mod teardown;
mod unknown;

/// One disk: ext4 root, swap, xfs data.
pub(crate) const SIMPLE: &str = "
disk:
  a:
    device: /dev/sda
    content:
      type: gpt
      partitions:
        root: { size: 1GiB, content: { type: filesystem, format: ext4, mountpoint: /, extraArgs: [-L, root] } }
        swap: { size: 256MiB, content: { type: swap } }
        data: { size: 100%, content: { type: filesystem, format: xfs, mountpoint: /data } }
";

/// Three disks, one partition each, RAID5 `tank`, LUKS `crypt`, ext4 on /srv.
pub(crate) const NAS: &str = "
disk:
  a: { device: /dev/sda, content: { type: gpt, partitions: { data: { size: 100%, content: { type: mdraid, name: tank } } } } }
  b: { device: /dev/sdb, content: { type: gpt, partitions: { data: { size: 100%, content: { type: mdraid, name: tank } } } } }
  c: { device: /dev/sdc, content: { type: gpt, partitions: { data: { size: 100%, content: { type: mdraid, name: tank } } } } }
mdadm:
  tank:
    level: 5
    content:
      type: luks
      name: crypt
      passwordFile: /run/key
      content: { type: filesystem, format: ext4, mountpoint: /srv, extraArgs: [-L, tank] }
";
