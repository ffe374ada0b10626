//! The emulated Helios64 works: our aarch64 binary runs in it, it has the board's disks, md and
//! dm-crypt, a bay can fail its reads, its disks outlive the guest, and a previous NAS's array
//! comes up by itself. Skips without QEMU (see `common::skip`). Also: the machine-wide guest
//! slots and the skip rule, which need no QEMU.

mod common;

use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::qemu::slots::{self, Slots};
use common::qemu::{self, BootOpts, DISKS, GIB, Guest};
use common::skip::{self, Verdict};

#[test]
fn guest_runs_nasstrap_and_has_the_boards_disks() {
    if qemu::skip() {
        return;
    }
    let guest = Guest::boot(BootOpts {
        read_errors: vec!["bay3"],
        ..BootOpts::default()
    })
    .expect("boot");

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

    // bay3 sits behind blkdebug: each read fails with EIO, every other disk reads fine.
    // iflag=direct: past the page cache, which may hold what udev's blkid read at boot.
    for d in DISKS {
        let dd = format!(
            "dd if={} of=/dev/null bs=4096 count=1 iflag=direct",
            d.device
        );
        let out = guest.ssh(&dd);
        let err = String::from_utf8_lossy(&out.stderr);
        if d.name == "bay3" {
            assert!(!out.status.success(), "{dd} read a bad bay");
            assert!(err.contains("Input/output error"), "{dd}: {err}");
        } else {
            assert!(out.status.success(), "{dd}: {err}");
        }
    }
    guest.ssh_ok("dmesg | grep -q 'I/O error, dev sdc'");

    let work = guest.poweroff().expect("poweroff");
    for d in DISKS {
        let len = std::fs::metadata(work.image(d.name))
            .expect("image after poweroff")
            .len();
        assert!(len >= 4 * GIB, "{} is {len} bytes", d.image);
    }
}

/// Pulling the plug keeps what the guest synced, and the next boot on the same disks works
/// without udev: devices come from devtmpfs alone, as nasstrap must expect. A previous NAS's
/// array (`common::qemu::previous_nas`) stays down without udev and comes up with it.
#[test]
fn disks_survive_a_kill_and_a_previous_nas_assembles_with_udev() {
    if qemu::skip() {
        return;
    }
    let guest = Guest::boot(BootOpts::default()).expect("boot");
    qemu::make_previous_nas(&guest);
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
    assert!(!guest.ssh_ok("cat /proc/mdstat").contains("md127"));
    let work = guest.poweroff().expect("poweroff");

    // Raw images: the host reads what the guest wrote, no conversion.
    let mut sector = vec![0; 16];
    let mut bay5 = std::fs::File::open(work.image("bay5")).unwrap();
    bay5.seek(SeekFrom::Start(2048 * 512)).unwrap();
    bay5.read_exact(&mut sector).unwrap();
    assert_eq!(&sector, b"nasstrap-marker\n");

    // With udev, Debian's mdadm rules assemble the old array from both halves.
    let opts = BootOpts {
        work: Some(work),
        ..BootOpts::default()
    };
    let guest = Guest::boot(opts).expect("third boot");
    let mdstat = guest.ssh_ok("cat /proc/mdstat");
    assert!(qemu::oldnas_assembled(&mdstat), "{mdstat}");
    let (file, text) = qemu::OLDNAS_FILE;
    let read = format!(
        "mkdir -p /run/old && mount -o ro /dev/md127 /run/old && cat /run/old/{file} && umount /run/old"
    );
    assert_eq!(guest.ssh_ok(&read), text);
    guest.poweroff().expect("poweroff");
}

/// The guest cap is machine-wide: with one slot, while one process holds it no other can
/// take it, and a second process waits (saying so) until the first lets go.
#[test]
fn one_guest_slot_is_held_by_one_process_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = Holder::start(dir.path());
    first.expect("holding slot 0");
    let slots = Slots::new(dir.path(), 1);
    assert!(
        slots.try_acquire("test").unwrap().is_none(),
        "two holders of one slot"
    );

    let mut second = Holder::start(dir.path());
    let waiting = second.expect("waiting for a guest slot");
    assert!(waiting.contains("held by: [0] pid "), "{waiting}");
    assert!(
        second.quiet_for(Duration::from_secs(2)),
        "the second took a held slot"
    );
    first.release();
    second.expect("holding slot 0");
    assert!(
        slots.try_acquire("test").unwrap().is_none(),
        "two holders of one slot"
    );
    second.release();
    assert_eq!(slots.try_acquire("test").unwrap().unwrap().index(), 0);
}

/// Not a test: the process `one_guest_slot_is_held_by_one_process_at_a_time` runs, holding a
/// slot the way `Guest::boot` takes one until its stdin closes.
#[test]
#[ignore = "a helper process for one_guest_slot_is_held_by_one_process_at_a_time"]
fn slot_holder() {
    if std::env::var_os("NASSTRAP_SLOT_HOLDER").is_none() {
        return;
    }
    let slot = Slots::machine().unwrap().acquire(&slots::whoami()).unwrap();
    println!("holding slot {}", slot.index());
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
}

/// A `slot_holder` process and its output lines (stdout and stderr).
struct Holder {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Holder {
    fn start(dir: &std::path::Path) -> Holder {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["slot_holder", "--exact", "--ignored", "--nocapture"])
            .env("NASSTRAP_SLOT_HOLDER", "1")
            .env("NASSTRAP_QEMU_SLOT_DIR", dir)
            .env("NASSTRAP_QEMU_GUESTS", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, lines) = mpsc::channel();
        let out: Box<dyn Read + Send> = Box::new(child.stdout.take().unwrap());
        let err: Box<dyn Read + Send> = Box::new(child.stderr.take().unwrap());
        for pipe in [out, err] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            });
        }
        Holder { child, lines }
    }

    /// The first line containing `text`, within 20 s.
    fn expect(&mut self, text: &str) -> String {
        loop {
            match self.lines.recv_timeout(Duration::from_secs(20)) {
                Ok(line) if line.contains(text) => return line,
                Ok(_) => {}
                Err(e) => panic!("no {text:?} from the slot holder: {e}"),
            }
        }
    }

    /// Whether it says nothing about holding a slot for `d`.
    fn quiet_for(&mut self, d: Duration) -> bool {
        let start = std::time::Instant::now();
        while let Some(left) = d.checked_sub(start.elapsed()) {
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains("holding slot") => return false,
                Ok(_) => {}
                Err(_) => break,
            }
        }
        true
    }

    fn release(mut self) {
        drop(self.child.stdin.take());
        assert!(self.child.wait().unwrap().success());
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = (self.child.kill(), self.child.wait());
    }
}

#[test]
fn guests_per_machine_follow_the_cores() {
    let table = [(1, 1), (2, 1), (3, 1), (4, 2), (8, 4)];
    for (cores, guests) in table {
        assert_eq!(slots::default_count(cores), guests, "{cores} cores");
    }
}

/// One rule for loop and QEMU tests: what is missing, and whether this machine may skip.
#[test]
fn the_skip_rule_never_skips_where_tests_are_required() {
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |v: &str| {
            let found = pairs.iter().find(|(k, _)| *k == v);
            found.map(|(_, val)| val.to_string())
        }
    };
    type Vars = &'static [(&'static str, &'static str)];
    let table: [(Vars, Option<&str>); 9] = [
        (&[], None),
        (&[("CI", "true")], Some("CI=true")),
        (&[("CI", "1")], Some("CI=1")),
        (&[("CI", "false")], None),
        (&[("CI", "0")], None),
        (&[("CI", "")], None),
        (&[("NASSTRAP_REQUIRE", "1")], Some("NASSTRAP_REQUIRE=1")),
        (&[("NASSTRAP_REQUIRE", "0")], None),
        (
            &[("NASSTRAP_REQUIRE_QEMU", "1")],
            Some("NASSTRAP_REQUIRE_QEMU=1"),
        ),
    ];
    for (vars, want) in table {
        assert_eq!(skip::required_by(env(vars)).as_deref(), want, "{vars:?}");
    }

    let missing = vec!["not root".to_string(), "not in PATH: sgdisk".to_string()];
    assert_eq!(skip::verdict(&[], Some("CI=true")), Verdict::Run);
    assert_eq!(
        skip::verdict(&missing, None),
        Verdict::Skip("SKIP: not root; not in PATH: sgdisk".into())
    );
    assert_eq!(
        skip::verdict(&missing, Some("CI=true")),
        Verdict::Fail(
            "this test may not skip here (CI=true), but it cannot run: not root; not in PATH: sgdisk"
                .into()
        )
    );
    let tools = skip::Need::Tools(&["sh", "nasstrap-no-such-tool", "nasstrap-nor-this"]);
    assert_eq!(
        skip::missing(&[tools]),
        ["not in PATH: nasstrap-no-such-tool nasstrap-nor-this"]
    );
}
