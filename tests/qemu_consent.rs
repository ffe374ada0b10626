//! Consent before any change of state, in the emulated Helios64: an installed
//! RAID6 whose array is not running (booted without udev, so nothing
//! auto-assembles it). Looking inside needs the array assembled, which is a
//! change of state; apply may do it only after consent, and a refused apply
//! stops it again. `mount --read-only` assembles it read-only.
//! Skips without QEMU (see `common::qemu::skip`); CI never skips.

mod common;

use common::qemu::{self, BootOpts, Guest};

const MAP: &str = "--disk-map /etc/nasstrap/guest.map --ignore-expect";
const ALL: &str = "--allow-destroy emmc bay1 bay2 bay3 bay4 bay5";

/// `nasstrap ARGS` in the guest: (exit code, stdout, stderr).
fn nasstrap(g: &Guest, args: &str) -> (i32, String, String) {
    let o = g.ssh(&format!(
        "NASSTRAP_NO_PROGRESS=1 nasstrap {args} </dev/null"
    ));
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into(),
        String::from_utf8_lossy(&o.stderr).into(),
    )
}

/// What the guest's md and dm state is, to compare before and after.
fn state(g: &Guest) -> String {
    g.ssh_ok("cat /proc/mdstat; ls /dev/mapper; grep -v '^proc\\|^sys\\|^dev\\|^tmpfs\\|^devpts' /proc/mounts || true")
}

#[test]
fn qemu_apply_looks_inside_arrays_only_after_consent() {
    if qemu::skip() {
        return;
    }
    let l = "/layouts/helios64.yaml";
    let g = Guest::boot(BootOpts::default()).expect("boot");
    let (code, out, err) = nasstrap(&g, &format!("apply {l} {MAP}"));
    assert_eq!(code, 0, "{out}{err}");
    let (code, _, err) = nasstrap(&g, &format!("unmount {l} {MAP}"));
    assert_eq!(code, 0, "{err}");
    let work = g.poweroff().expect("poweroff");

    let g = Guest::boot(BootOpts {
        work: Some(work),
        udev: false,
        ..BootOpts::default()
    })
    .expect("second boot");
    // The same disks, but the array should now hold xfs.
    g.ssh_ok("sed '/^  tank:/,$ s/format: ext4/format: xfs/' /layouts/helios64.yaml > /tmp/xfs.yaml && grep -q 'format: xfs' /tmp/xfs.yaml");
    let x = "/tmp/xfs.yaml";
    let (code, out, err) = nasstrap(&g, &format!("diff {x} {MAP}"));
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("assemble the existing array tank"), "{out}");
    assert!(
        out.contains("not visible until the array is assembled"),
        "{out}"
    );

    let before = state(&g);
    assert!(!before.contains("md127 : active"), "{before}");
    // Looking inside shows xfs would replace ext4: not allowed, so the array
    // that was assembled to look is stopped again.
    let (code, out, err) = nasstrap(&g, &format!("apply {x} {MAP}"));
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains(
            "refusing to destroy data on bay1, bay2, bay3, bay4, bay5 without --allow-destroy"
        ),
        "{err}"
    );
    assert!(err.contains("holds ext4"), "{err}");
    assert_eq!(
        state(&g),
        before,
        "a refused apply changed md/dm/mount state"
    );

    // mount --read-only: assembled read-only, mounted ro; unmount stops it.
    let (code, out, err) = nasstrap(&g, &format!("mount {l} {MAP} --root /mnt --read-only"));
    assert_eq!(code, 0, "{out}{err}");
    let md = g.ssh_ok("cat /proc/mdstat; grep ' /mnt/srv ' /proc/mounts");
    assert!(md.contains("(read-only)"), "{md}");
    assert!(md.contains(" /mnt/srv ext4 ro"), "{md}");
    let (code, _, err) = nasstrap(&g, &format!("unmount {l} {MAP} --root /mnt"));
    assert_eq!(code, 0, "{err}");
    assert_eq!(state(&g), before, "unmount leaves things as they were");

    // With consent it converges.
    let (code, out, err) = nasstrap(&g, &format!("apply {x} {MAP} {ALL}"));
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = nasstrap(&g, &format!("diff {x} {MAP} --detailed-exitcode"));
    assert_eq!(code, 0, "converged\n{out}{err}");
    let (code, _, err) = nasstrap(&g, &format!("unmount {x} {MAP}"));
    assert_eq!(code, 0, "{err}");
    g.poweroff().expect("poweroff");
}

/// A terminal session with the guest (`ssh -tt`): what it printed so far, and
/// a way to type into it.
struct Session {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    seen: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Session {
    fn start(g: &Guest, cmd: &str) -> Session {
        use std::io::Read;
        // A login of its own: through the shared connection (ssh_command)
        // typed input never reaches the remote terminal.
        let mut c = std::process::Command::new("ssh");
        c.args(g.ssh_args())
            .env_remove("SSH_AUTH_SOCK")
            .args(["-tt", "root@127.0.0.1", "--", cmd])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = c.spawn().expect("ssh -tt");
        let stdin = child.stdin.take().unwrap();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        for out in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let seen = seen.clone();
            std::thread::spawn(move || {
                let mut out = out;
                let mut buf = [0u8; 4096];
                while let Ok(n) = out.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    seen.lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            });
        }
        Session { child, stdin, seen }
    }

    /// Wait (up to a minute) until the output holds `text` after byte `from`;
    /// returns where it ends.
    fn expect(&self, text: &str, from: usize) -> usize {
        let t = std::time::Instant::now();
        loop {
            let seen = self.seen.lock().unwrap().clone();
            if let Some(i) = seen.get(from..).and_then(|s| s.find(text)) {
                return from + i + text.len();
            }
            assert!(
                t.elapsed().as_secs() < 60,
                "no `{text}` in the session:\n{seen}"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }

    fn type_line(&mut self, line: &str) {
        use std::io::Write;
        self.stdin
            .write_all(format!("{line}\r").as_bytes())
            .unwrap();
        self.stdin.flush().unwrap();
    }

    fn finish(mut self) -> (i32, String) {
        drop(self.stdin);
        let status = self.child.wait().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(200));
        let seen = self.seen.lock().unwrap().clone();
        (status.code().unwrap_or(-1), seen)
    }
}

/// `askPassword`: asked on a terminal once, without echo, before the first
/// write, twice for a new container; the container opens with it; it is on no
/// command line.
#[test]
fn qemu_ask_password_on_a_terminal() {
    if qemu::skip() {
        return;
    }
    let g = Guest::boot(BootOpts::default()).expect("boot");
    g.ssh_ok("sed 's|passwordFile: /run/nasstrap/tank.key|askPassword: true|' /layouts/helios64-luks.yaml > /tmp/ask.yaml && grep -q 'askPassword: true' /tmp/ask.yaml");
    const SECRET: &str = "Tr0ub4dor&3-horse";
    // Catch the passphrase on any command line while apply runs.
    // (All its output redirected: ssh waits for whatever holds its pipes.)
    g.ssh_ok("(while [ ! -e /tmp/stop ]; do cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' ' '; echo; sleep 0.1; done > /tmp/cmdlines 2>/dev/null </dev/null &) ; true");
    let mut s = Session::start(
        &g,
        &format!("NASSTRAP_NO_PROGRESS=1 nasstrap apply /tmp/ask.yaml {MAP}"),
    );
    let at = s.expect("steps? [y/N] ", 0);
    s.type_line("y");
    let at = s.expect("passphrase for LUKS `tank-crypt`: ", at);
    s.type_line(SECRET);
    let at = s.expect("passphrase for LUKS `tank-crypt` again: ", at);
    s.type_line(SECRET);
    let (code, seen) = s.finish();
    assert_eq!(code, 0, "{seen}");
    assert!(!seen.contains(SECRET), "the passphrase was echoed:\n{seen}");
    // Plain progress lines are `step N: …` (blank disks keep step 1, the wipe).
    let first_step = seen
        .match_indices("step ")
        .find(|(i, _)| seen[i + 5..].starts_with(|c: char| c.is_ascii_digit()))
        .map(|(i, _)| i)
        .expect("steps ran");
    assert!(at < first_step, "asked after a step ran:\n{seen}");
    assert_eq!(seen.matches("passphrase for LUKS").count(), 2, "{seen}");

    let cmdlines = g.ssh_ok("touch /tmp/stop; sleep 1; cat /tmp/cmdlines");
    assert!(
        cmdlines.contains("luksFormat"),
        "the watcher did not see cryptsetup run: {} lines, the last: {:?}",
        cmdlines.lines().count(),
        cmdlines.lines().last()
    );
    assert!(
        !cmdlines.contains(SECRET),
        "the passphrase was on a command line"
    );
    let opened = g.ssh(&format!(
        "printf '%s' '{SECRET}' | cryptsetup open --test-passphrase --key-file - /dev/md/tank"
    ));
    assert!(
        opened.status.success(),
        "the container does not open with it"
    );
    let (code, _, err) = nasstrap(&g, &format!("unmount /tmp/ask.yaml {MAP}"));
    assert_eq!(code, 0, "{err}");
    g.poweroff().expect("poweroff");
}
