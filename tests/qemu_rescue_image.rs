//! The rescue USB image's own kernel and initramfs boot (QEMU virt, the emulated harness's
//! machine), take their address by DHCP as on the real board, see the image itself as a USB
//! stick, and let in exactly the login key given at build time, behind exactly the host key
//! the build printed. Only the console differs from the image's APPEND: virt has a PL011
//! (ttyAMA0), the Helios64 ttyS2. Skips like the QEMU tests (see `common::skip`).

mod common;

use std::fs::{self, OpenOptions};
use std::io;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use common::qemu::slots::{self, Slots};
use common::rescue::{self, LABEL};
use nasstrap::bootcheck::extlinux;

#[test]
fn the_rescue_image_boots_with_dhcp_and_lets_in_the_build_key() {
    if rescue::skip() {
        return;
    }
    let t = Instant::now();
    let work = tempfile::Builder::new()
        .prefix("nasstrap-rescue-qemu-")
        .tempdir()
        .expect("work dir");
    let w = work.path();
    let built = rescue::build(w);

    // What U-Boot would load: the image's kernel, initrd and command line.
    let offset = rescue::offset(&built.image);
    let (kernel, initrd) = (w.join("Image"), w.join("initrd.img"));
    rescue::dump(&built.image, offset, "/Image", &kernel);
    rescue::dump(&built.image, offset, "/initrd.img", &initrd);
    let conf = rescue::cat(&built.image, offset, "/extlinux/extlinux.conf");
    let cfg = extlinux::parse(&String::from_utf8_lossy(&conf));
    let append = cfg.default_label().and_then(|(l, _)| l.append.clone());
    let append = append.expect("the default label's APPEND");
    assert!(append.contains("console=ttyS2,1500000"), "{append}");
    // panic=-1 with -no-reboot: a guest panic ends QEMU, so a broken boot fails fast.
    let append = append.replace("console=ttyS2,1500000", "console=ttyAMA0") + " panic=-1";

    let machine = Slots::machine().expect("guest slots");
    let _slot = machine.acquire(&slots::whoami()).expect("a guest slot");
    let booted = Instant::now();
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let mut vm = Vm {
        child: spawn(w, &kernel, &initrd, &built.image, &append, port).expect("qemu"),
        serial: w.join("serial.log"),
        dir: w.to_path_buf(),
    };
    vm.wait_for("] rcS done", Duration::from_secs(180));
    eprintln!(
        "rescue-qemu: rcS done {:.1} s after start",
        booted.elapsed().as_secs_f64()
    );

    // Pinned host key: the build's known_hosts line, for the forwarded port.
    let line = built
        .known_hosts
        .split_once(' ')
        .expect("HOST KEYTYPE KEY")
        .1;
    let known_hosts = w.join("known_hosts");
    fs::write(&known_hosts, format!("[127.0.0.1]:{port} {line}\n")).unwrap();
    let ssh = Ssh {
        port,
        key: built.login_key.clone(),
        known_hosts,
    };
    let first = ssh.retry("true", Duration::from_secs(60));
    assert!(first.status.success(), "{}", vm.why(&first));
    eprintln!(
        "rescue-qemu: ssh login {:.1} s after start",
        booted.elapsed().as_secs_f64()
    );

    // DHCP gave eth0 its address (slirp's 10.0.2.15) and udhcpc keeps the lease. With
    // restrict=on slirp's DHCP offers no router and no DNS server, so there is no route here.
    let cmdline = ssh.ok("cat /proc/cmdline", &vm);
    assert!(cmdline.contains("nasstrap.net=dhcp"), "{cmdline}");
    let leased = vm.serial().contains("[udhcpc] eth0: 10.0.2.15/24");
    assert!(leased, "{}", vm.tail());
    let addr = ssh.ok("ip -4 -o addr show dev eth0", &vm);
    assert!(addr.contains("inet 10.0.2.15/24"), "{addr}");
    ssh.ok("kill -0 \"$(cat /run/udhcpc.eth0.pid)\"", &vm);

    // The image's own system: hostname, nasstrap, the host key the build printed.
    assert_eq!(ssh.ok("hostname", &vm).trim(), "helios64-rescue");
    assert!(ssh.ok("nasstrap --version", &vm).starts_with("nasstrap "));
    let lf = ssh.ok("ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub", &vm);
    assert_eq!(lf.split_whitespace().nth(1), Some(built.host_key.as_str()));

    // The stick, through usbcore + xhci + usb-storage: its partition carries the label.
    let stick = ssh.ok(
        "for i in $(seq 100); do [ -b /dev/sda1 ] && break; sleep 0.2; done; \
         blkid -o value -s LABEL /dev/sda1",
        &vm,
    );
    assert_eq!(stick.trim(), LABEL);

    // A host key other than the pinned one is refused.
    let other = w.join("other");
    let keygen = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&other)
        .status();
    assert!(keygen.is_ok_and(|s| s.success()));
    let other_pub = fs::read_to_string(other.with_extension("pub")).unwrap();
    let other_fields: Vec<&str> = other_pub.split_whitespace().take(2).collect();
    let wrong = w.join("known_hosts.wrong");
    let pinned = format!("[127.0.0.1]:{port} {}\n", other_fields.join(" "));
    fs::write(&wrong, pinned).unwrap();
    let refused = Ssh {
        known_hosts: wrong,
        ..ssh.clone()
    }
    .run("true");
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "a wrong pin was accepted");
    assert!(err.contains("Host key verification failed"), "{err}");

    let _ = ssh.run("poweroff");
    let down = Instant::now();
    while down.elapsed() < Duration::from_secs(60) {
        if let Ok(Some(_)) = vm.child.try_wait() {
            break;
        }
        sleep(Duration::from_millis(200));
    }
    let off = vm.child.try_wait().ok().flatten();
    assert!(off.is_some(), "no poweroff within 60 s\n{}", vm.tail());
    eprintln!(
        "rescue-qemu: guest up {:.1} s; test {:.1} s",
        booted.elapsed().as_secs_f64(),
        t.elapsed().as_secs_f64()
    );
}

/// The running guest; killed on drop, its work dir kept after a failure.
struct Vm {
    child: Child,
    serial: PathBuf,
    /// The work dir: after a failure its logs are copied next to it, as the TempDir goes.
    dir: PathBuf,
}

impl Vm {
    fn serial(&self) -> String {
        fs::read_to_string(&self.serial).unwrap_or_default()
    }

    fn tail(&self) -> String {
        let s = self.serial();
        let lines: Vec<&str> = s.lines().collect();
        let tail = lines[lines.len().saturating_sub(40)..].join("\n");
        format!("--- serial console (tail)\n{tail}")
    }

    fn why(&self, out: &Output) -> String {
        let err = String::from_utf8_lossy(&out.stderr);
        format!("ssh {}: {}\n{}", out.status, err.trim(), self.tail())
    }

    fn wait_for(&mut self, line: &str, timeout: Duration) {
        let t = Instant::now();
        while !self.serial().contains(line) {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("qemu exited during boot ({status})\n{}", self.tail());
            }
            assert!(
                t.elapsed() < timeout,
                "no {line:?} after {timeout:?}\n{}",
                self.tail()
            );
            sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Vm {
    fn drop(&mut self) {
        let _ = (self.child.kill(), self.child.wait());
        if std::thread::panicking() {
            let kept = self.dir.with_extension("failed");
            let _ = fs::create_dir_all(&kept);
            for f in ["serial.log", "qemu.log"] {
                let _ = fs::copy(self.dir.join(f), kept.join(f));
            }
            eprintln!("rescue-qemu: logs kept in {}", kept.display());
        }
    }
}

/// ssh to the guest: the build's login key only, the pinned host key only, no prompts.
#[derive(Clone)]
struct Ssh {
    port: u16,
    key: PathBuf,
    known_hosts: PathBuf,
}

impl Ssh {
    fn run(&self, cmd: &str) -> Output {
        let mut c = Command::new("ssh");
        c.args(["-F", "none", "-p", &self.port.to_string(), "-i"])
            .arg(&self.key);
        let opts = "StrictHostKeyChecking=yes GlobalKnownHostsFile=/dev/null IdentitiesOnly=yes \
                    BatchMode=yes LogLevel=ERROR ConnectTimeout=10";
        for o in opts.split_whitespace() {
            c.args(["-o", o]);
        }
        c.arg("-o")
            .arg(format!("UserKnownHostsFile={}", self.known_hosts.display()));
        c.args(["root@127.0.0.1", "--", cmd])
            .env_remove("SSH_AUTH_SOCK")
            .stdin(Stdio::null());
        c.output().expect("running ssh")
    }

    /// Retries until sshd answers (the network may still be settling).
    fn retry(&self, cmd: &str, within: Duration) -> Output {
        let t = Instant::now();
        loop {
            let out = self.run(cmd);
            if out.status.success() || t.elapsed() > within {
                return out;
            }
            sleep(Duration::from_secs(1));
        }
    }

    fn ok(&self, cmd: &str, vm: &Vm) -> String {
        let out = self.run(cmd);
        assert!(out.status.success(), "{cmd}: {}", vm.why(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// The harness's machine (tests/common/qemu/launch.rs) with the image's kernel and initrd,
/// DHCP from slirp instead of fixed addresses, and the image as a USB stick on qemu-xhci.
fn spawn(
    w: &Path,
    kernel: &Path,
    initrd: &Path,
    image: &Path,
    append: &str,
    port: u16,
) -> io::Result<Child> {
    let mut cmd = Command::new("qemu-system-aarch64");
    let machine =
        "-M virt -cpu cortex-a72 -m 2048 -nodefaults -no-reboot -display none -monitor none";
    let smp = slots::cores().min(2).to_string();
    cmd.args(machine.split(' ')).args(["-smp", &smp]);
    cmd.arg("-kernel").arg(kernel).arg("-initrd").arg(initrd);
    cmd.args(["-append", append]);
    let serial = format!("file,id=ser0,path={}", w.join("serial.log").display());
    cmd.args(["-chardev", &serial, "-serial", "chardev:ser0"]);
    // Only ssh, only on loopback; restrict=on keeps the guest from the host and the world,
    // while slirp's DHCP server still answers.
    let net = format!("user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:{port}-:22");
    cmd.args([
        "-netdev",
        &net,
        "-device",
        "virtio-net-pci,netdev=n0,romfile=",
    ]);
    cmd.args(["-device", "virtio-rng-pci", "-device", "qemu-xhci,id=xhci"]);
    let drive = format!(
        "if=none,id=stick,format=raw,readonly=on,file={}",
        image.display()
    );
    cmd.args([
        "-drive",
        &drive,
        "-device",
        "usb-storage,bus=xhci.0,drive=stick",
    ]);
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(w.join("qemu.log"))?;
    cmd.stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    // If the test process dies without dropping the Vm, QEMU goes along.
    common::qemu::die_with_parent(&mut cmd);
    cmd.spawn()
}
