//! The emulated Helios64 works: our aarch64 binary runs in it, it has the board's disks, md and
//! dm-crypt, and its disks outlive the guest. Skips without QEMU (see `common::qemu::skip`).

mod common;

use std::io::{Read, Seek, SeekFrom};

use common::qemu::{self, BootOpts, DISKS, GIB, Guest};

#[test]
fn guest_runs_nasstrap_and_has_the_boards_disks() {
    if qemu::skip() {
        return;
    }
    let guest = Guest::boot(BootOpts::default()).expect("boot");

    assert!(guest.ssh_ok("nasstrap --version").starts_with("nasstrap "));
    assert_eq!(guest.ssh_ok("uname -m").trim(), "aarch64");

    let lsblk = guest.ssh_ok("lsblk -b -d -n -o PATH,SIZE");
    for d in DISKS {
        let size = if d.name == "emmc" { 16 * GIB } else { 4 * GIB };
        let line = format!("{} {size}", d.device);
        assert!(
            lsblk
                .lines()
                .any(|l| l.split_whitespace().eq(line.split(' '))),
            "{line} in\n{lsblk}"
        );
    }
    // bayN is the Nth AHCI port whatever order the kernel probed them in (see qemu/guest/rcS).
    let ports = guest.ssh_ok(
        "for d in sda sdb sdc sdd sde; do readlink /sys/block/$d | grep -o '/ata[0-9]*/'; done",
    );
    assert_eq!(ports, "/ata1/\n/ata2/\n/ata3/\n/ata4/\n/ata5/\n");
    // What the guest calls each disk is what the layouts' --disk-map says.
    let map = std::fs::read_to_string(qemu::guest_map()).unwrap();
    let mut expected: Vec<String> = DISKS
        .iter()
        .map(|d| format!("{}={}", d.name, d.device))
        .collect();
    let mut listed: Vec<String> = map.lines().map(str::to_string).collect();
    expected.sort();
    listed.sort();
    assert_eq!(listed, expected);
    guest.ssh_ok("test -s /etc/nasstrap/guest.map");
    // udev runs by default, as on a real rescue system (the second test turns it off).
    guest.ssh_ok("test -e /dev/disk/by-id/ata-QEMU_HARDDISK_BAY1");

    guest.ssh_ok("test -e /proc/mdstat");
    guest
        .ssh_ok("modprobe dm_crypt && dmsetup targets | grep -q '^crypt ' && cryptsetup --version");

    let work = guest.poweroff().expect("poweroff");
    for d in DISKS {
        let len = std::fs::metadata(work.image(d.name))
            .expect("image after poweroff")
            .len();
        assert!(len >= 4 * GIB, "{} is {len} bytes", d.image);
    }
}

/// Pulling the plug keeps what the guest synced, and the next boot on the same disks works
/// without udev: devices come from devtmpfs alone, as nasstrap must expect.
#[test]
fn disks_survive_a_kill_and_boot_without_udev() {
    if qemu::skip() {
        return;
    }
    let guest = Guest::boot(BootOpts::default()).expect("boot");
    guest.ssh_ok("echo nasstrap-marker | dd of=/dev/sde bs=512 seek=2048 conv=fsync status=none");
    let work = guest.kill();

    let opts = BootOpts {
        work: Some(work),
        udev: false,
        ..BootOpts::default()
    };
    let guest = Guest::boot(opts).expect("second boot");
    assert_eq!(
        guest.ssh_ok("dd if=/dev/sde bs=512 skip=2048 count=1 status=none | head -n1"),
        "nasstrap-marker\n"
    );
    guest.ssh_ok("test ! -e /dev/disk/by-id && test -b /dev/sda && test -b /dev/mmcblk0");
    let work = guest.poweroff().expect("poweroff");

    // Raw images: the host reads what the guest wrote, no conversion.
    let mut sector = vec![0; 16];
    let mut bay5 = std::fs::File::open(work.image("bay5")).unwrap();
    bay5.seek(SeekFrom::Start(2048 * 512)).unwrap();
    bay5.read_exact(&mut sector).unwrap();
    assert_eq!(&sector, b"nasstrap-marker\n");
}
