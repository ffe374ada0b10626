//! Starting QEMU for [`super::Guest::boot`]: disk images, the per-boot initrd overlay with
//! fresh keys, and the QEMU command line.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use super::{BootOpts, DISKS, Disk, Prepared, WorkDir, guest_map, repo_root, slots};

/// Raw sparse images, not qcow2: after poweroff the host reads the GPT directly, and no
/// qemu-img is needed.
pub(super) fn create_disks(work: &WorkDir, opts: &BootOpts) -> io::Result<()> {
    if !opts.sd_size.is_power_of_two() {
        return Err(io::Error::other("QEMU's sd-card needs a power-of-2 size"));
    }
    for d in DISKS {
        let size = if d.name == "emmc" {
            opts.sd_size
        } else {
            opts.bay_size
        };
        let path = work.image(d.name);
        if !path.exists() {
            File::create_new(&path)?.set_len(size)?;
        }
    }
    for name in &opts.read_errors {
        if !DISKS.iter().any(|d| d.name == *name) {
            return Err(io::Error::other(format!(
                "read_errors: no disk named {name:?}"
            )));
        }
        fs::write(blkdebug_config(work, name), BLKDEBUG_EIO)?;
    }
    Ok(())
}

/// blkdebug's rule for a disk that fails every read with EIO (errno 5), writes untouched.
/// The raw format driver above blkdebug announces each guest read as a `read_aio` event;
/// the rule then fails that read. See QEMU's docs/devel/blkdebug.txt (`iotype`: QEMU >= 5.1).
const BLKDEBUG_EIO: &str =
    "[inject-error]\nevent = \"read_aio\"\nerrno = \"5\"\niotype = \"read\"\n";

fn blkdebug_config(work: &WorkDir, name: &str) -> PathBuf {
    work.path().join(format!("blkdebug-{name}.conf"))
}

/// `-drive` for a disk: its raw image, behind blkdebug when `opts.read_errors` names it.
/// cache=unsafe: QEMU ignores guest flushes. Fine for tests: the host page cache has all the
/// guest wrote even if QEMU is killed, and the host does not crash mid-test.
fn drive(work: &WorkDir, d: &Disk, opts: &BootOpts) -> String {
    let (w, name, image) = (work.path().display(), d.name, d.image);
    let file = if opts.read_errors.contains(&name) {
        let conf = blkdebug_config(work, name);
        format!(
            "file.driver=blkdebug,file.config={},file.image.driver=file,file.image.filename={w}/{image}",
            conf.display()
        )
    } else {
        format!("file={w}/{image}")
    };
    format!("if=none,id={name},format=raw,cache=unsafe,{file}")
}

pub(super) fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Per-boot secrets and payload in `WORK/boot`: fresh login and host keys, a known_hosts
/// pinning the host key, and `initrd.img` = cached base + a small cpio overlay (the kernel
/// unpacks concatenated archives in order). None of it goes near the shared cache.
pub(super) fn make_boot_files(
    work: &WorkDir,
    p: &Prepared,
    port: u16,
    files: &[(PathBuf, String)],
) -> Result<PathBuf, String> {
    let dir = work.path().join("boot");
    let root = dir.join("overlay");
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&root).map_err(|e| format!("{}: {e}", root.display()))?;
    for key in ["login_key", "host_key"] {
        let mut keygen = Command::new("ssh-keygen");
        keygen
            .args(["-q", "-t", "ed25519", "-N", "", "-C", key, "-f"])
            .arg(dir.join(key));
        match keygen.output() {
            Ok(o) if o.status.success() => {}
            out => return Err(format!("ssh-keygen failed: {out:?}")),
        }
    }
    // (host file, guest path, mode; None keeps the host file's)
    let mut copies = vec![
        (
            dir.join("login_key.pub"),
            "/root/.ssh/authorized_keys".to_string(),
            Some(0o600),
        ),
        (
            dir.join("host_key"),
            "/etc/ssh/ssh_host_ed25519_key".into(),
            Some(0o600),
        ),
        (
            p.nasstrap.clone(),
            "/usr/local/bin/nasstrap".into(),
            Some(0o755),
        ),
        (guest_map(), "/etc/nasstrap/guest.map".into(), Some(0o644)),
    ];
    copies.extend(
        files
            .iter()
            .map(|(host, guest)| (host.clone(), guest.clone(), None)),
    );
    let install = |(from, to, mode): &(PathBuf, String, Option<u32>)| -> io::Result<()> {
        let dest = root.join(to.trim_start_matches('/'));
        fs::create_dir_all(dest.parent().expect("absolute guest path"))?;
        fs::copy(from, &dest)?;
        mode.map_or(Ok(()), |m| {
            fs::set_permissions(&dest, fs::Permissions::from_mode(m))
        })
    };
    for c in &copies {
        install(c).map_err(|e| format!("{} -> {}: {e}", c.0.display(), c.1))?;
    }
    let layouts = repo_root().join("layouts");
    if layouts.is_dir() {
        copy_tree(&layouts, &root.join("layouts")).map_err(|e| format!("layouts: {e}"))?;
    }
    for private in ["root", "root/.ssh"] {
        fs::set_permissions(root.join(private), fs::Permissions::from_mode(0o700))
            .map_err(|e| e.to_string())?;
    }
    let host_pub = fs::read_to_string(dir.join("host_key.pub")).map_err(|e| e.to_string())?;
    let host_pub: Vec<&str> = host_pub.split_whitespace().take(2).collect();
    let known_hosts = format!("[127.0.0.1]:{port} {}\n", host_pub.join(" "));
    fs::write(dir.join("known_hosts"), known_hosts).map_err(|e| e.to_string())?;

    let initrd = dir.join("initrd.img");
    fs::copy(&p.initrd_base, &initrd).map_err(|e| format!("{}: {e}", p.initrd_base.display()))?;
    let out = OpenOptions::new()
        .append(true)
        .open(&initrd)
        .map_err(|e| e.to_string())?;
    // `-mindepth 1`: an entry for "." would re-mode the guest's / to the overlay dir's mode.
    let pack = "find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet";
    let packed = Command::new("sh")
        .args(["-ec", pack])
        .current_dir(&root)
        .stdout(out)
        .status();
    if !packed.as_ref().is_ok_and(|s| s.success()) {
        return Err(format!("packing the overlay failed: {packed:?}"));
    }
    // The guest's private host key now lives only inside initrd.img.
    let _ = (
        fs::remove_dir_all(&root),
        fs::remove_file(dir.join("host_key")),
    );
    Ok(dir)
}

fn copy_tree(from: &Path, to: &Path) -> io::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let dest = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &dest)?;
        } else {
            fs::copy(entry.path(), dest)?;
        }
    }
    Ok(())
}

pub(super) fn spawn_qemu(
    work: &WorkDir,
    p: &Prepared,
    boot: &Path,
    port: u16,
    opts: &BootOpts,
) -> Result<Child, String> {
    let w = work.path().display().to_string();
    // The attached bays come up as sda, sdb… in port order, whichever are left out.
    let bays = DISKS
        .iter()
        .filter(|d| d.name != "emmc" && !opts.detached.contains(&d.name))
        .count();
    let mut waits: Vec<&str> = DISKS
        .iter()
        .filter(|d| d.name != "emmc")
        .take(bays)
        .map(|d| d.device.trim_start_matches("/dev/"))
        .collect();
    waits.push(super::disk("emmc").device.trim_start_matches("/dev/"));
    // panic=-1 with -no-reboot: a guest kernel panic ends QEMU, so a broken boot fails fast.
    let mut append = "console=ttyAMA0 loglevel=4 net.ifnames=0 panic=-1".to_string();
    append += &format!(" nasstrap.wait={}", waits.join(","));
    if !opts.udev {
        append += " nasstrap.udev=0";
    }
    let mut cmd = Command::new("qemu-system-aarch64");
    // cortex-a72 like the RK3399's big cores; `-cpu max` is 2.5x slower (pointer-auth emulation).
    // Two vCPUs at most: the slots count one guest per two cores (see slots.rs).
    let smp = slots::cores().min(2).to_string();
    let machine =
        "-M virt -cpu cortex-a72 -m 2048 -nodefaults -no-reboot -display none -monitor none";
    cmd.args(machine.split(' ')).args(["-smp", &smp]);
    cmd.arg("-kernel").arg(&p.kernel);
    cmd.arg("-initrd")
        .arg(boot.join("initrd.img"))
        .args(["-append", &append]);
    // Appended across boots of this work dir; Guest::serial reads from this boot's start.
    let serial = format!("file,id=ser0,path={w}/serial.log,append=on");
    cmd.args(["-chardev", &serial, "-serial", "chardev:ser0"]);
    // Only ssh, only on loopback; restrict=on cuts the guest off from the host and the world.
    // romfile=: no PXE option ROM, as -kernel boots directly (and ipxe-qemu is not needed).
    let mut net = format!("user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:{port}-:22");
    if let Some(dir) = &opts.git_server {
        // No listener on the host: QEMU runs this for each connection the guest opens.
        net += &format!(
            ",guestfwd=tcp:10.0.2.100:22-cmd:/usr/sbin/sshd -i -f {}/sshd_config",
            dir.display()
        );
    }
    cmd.args([
        "-netdev",
        &net,
        "-device",
        "virtio-net-pci,netdev=n0,romfile=",
        "-device",
        "virtio-rng-pci",
    ]);
    cmd.args(["-device", "ahci,id=ahci"]);
    for (i, d) in DISKS.iter().filter(|d| d.name != "emmc").enumerate() {
        if opts.detached.contains(&d.name) {
            continue; // the port stays, empty
        }
        let (name, serial) = (d.name, d.name.to_uppercase());
        let dev = format!("ide-hd,drive={name},bus=ahci.{i},serial={serial}");
        cmd.args(["-drive", &drive(work, d, opts), "-device", &dev]);
    }
    // The drive id must not be "sd0": QEMU 7.2 has one already ("Device with id 'sd0' already exists").
    let sd = drive(work, &super::disk("emmc"), opts);
    cmd.args(["-device", "sdhci-pci", "-drive", &sd]);
    cmd.args(["-device", "sd-card,drive=emmc"]);

    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(work.path().join("qemu.log"));
    let log = log.map_err(|e| format!("qemu.log: {e}"))?;
    let _ = writeln!(&log, "=== boot on port {port}: {cmd:?}");
    cmd.stdin(Stdio::null())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log);
    die_with_parent(&mut cmd);
    cmd.spawn()
        .map_err(|e| format!("starting qemu-system-aarch64: {e}"))
}

/// If the test process dies without dropping the guest (SIGKILL, abort), QEMU goes along
/// rather than burn a core. Note: this fires when the spawning *thread* exits.
pub fn die_with_parent(cmd: &mut Command) {
    // SAFETY: prctl is async-signal-safe, and nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| match prctl(PR_SET_PDEATHSIG, SIGKILL) {
            0 => Ok(()),
            _ => Err(io::Error::last_os_error()),
        });
    }
}

const PR_SET_PDEATHSIG: i32 = 1;
const SIGKILL: i32 = 9;
unsafe extern "C" {
    fn prctl(option: i32, ...) -> i32;
}
