//! The rescue USB image (`qemu/build-rescue-image.sh`), built for a test with a fresh login
//! key, and read back without mounting: its GPT with nasstrap's own reader, files out of its
//! ext4 partition with e2fsprogs' `debugfs`, which reads a plain image file at an offset.

use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use nasstrap::probe::gpt::read_table;
use nasstrap::probe::model::{GptEntry, Table};

use super::qemu::repo_root;
use super::skip::{self, Need};

/// The GPT partition name and ext4 label the script gives the partition.
pub const LABEL: &str = "NASSTRAP_RESCUE";
/// Where the partition starts: 16 MiB, in 512-byte sectors.
pub const FIRST_LBA: u64 = 32768;

/// The skip rule: what building the image needs (the prepared guest's, plus e2fsprogs and
/// gdisk on the host).
pub fn skip() -> bool {
    let tools = Need::Tools(&[
        "sgdisk",
        "mkfs.ext4",
        "debugfs",
        "ssh-keygen",
        "gzip",
        "cpio",
    ]);
    skip::skip(&[Need::Root, Need::Qemu, tools])
}

/// An image built for this test, and what the build printed.
#[derive(Debug)]
pub struct Built {
    /// The image file.
    pub image: PathBuf,
    /// The login key whose public half went into the image's authorized_keys.
    pub login_key: PathBuf,
    /// The `host_key=` line's value: `SHA256:…`.
    pub host_key: String,
    /// The `known_hosts=` line's value: `HOST ssh-ed25519 AAAA…`.
    pub known_hosts: String,
    /// The script's own temp dir (its `TMPDIR`), to check it left nothing behind.
    pub tmp: PathBuf,
}

/// Builds the image in `dir` (`dir/rescue.img`), with a fresh login key `dir/login_key`.
pub fn build(dir: &Path) -> Built {
    let login_key = dir.join("login_key");
    let keygen = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "rescue-test", "-f"])
        .arg(&login_key)
        .status();
    assert!(keygen.is_ok_and(|s| s.success()), "ssh-keygen failed");
    let (image, tmp) = (dir.join("rescue.img"), dir.join("tmp"));
    fs::create_dir_all(&tmp).expect("script tmp dir");
    let t = Instant::now();
    let out = Command::new(repo_root().join("qemu/build-rescue-image.sh"))
        .arg("--authorized-keys")
        .arg(login_key.with_extension("pub"))
        .arg("--out")
        .arg(&image)
        .env("TMPDIR", &tmp)
        .stderr(Stdio::inherit())
        .output()
        .expect("running build-rescue-image.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "build-rescue-image.sh failed ({})\n{stdout}",
        out.status
    );
    eprintln!("rescue: image built in {:.1} s", t.elapsed().as_secs_f64());
    let value = |key: &str| {
        let found = stdout
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")));
        found
            .unwrap_or_else(|| panic!("no {key}= line in\n{stdout}"))
            .to_string()
    };
    assert_eq!(Path::new(&value("image")), image);
    Built {
        image,
        login_key,
        host_key: value("host_key"),
        known_hosts: value("known_hosts"),
        tmp,
    }
}

/// The image's partition table: GPT, as nasstrap's probe reads it.
pub fn partitions(image: &Path) -> (Vec<GptEntry>, bool) {
    let file = fs::File::open(image).expect("open image");
    match read_table(file, 512).expect("read the partition table") {
        Table::Gpt(gpt) => (gpt.entries, gpt.primary_ok && gpt.backup_ok),
        other => panic!("not a GPT: {other:?}"),
    }
}

/// Byte offset of the (only) partition.
pub fn offset(image: &Path) -> u64 {
    partitions(image).0[0].first_lba * 512
}

/// Runs one `debugfs` request against the partition at `offset` (read-only).
pub fn debugfs(image: &Path, offset: u64, request: &str) -> Vec<u8> {
    let fs_spec = format!("{}?offset={offset}", image.display());
    let out = Command::new("debugfs")
        .args(["-R", request, &fs_spec])
        .output()
        .expect("running debugfs");
    assert!(
        out.status.success(),
        "debugfs -R {request:?} failed: {out:?}"
    );
    out.stdout
}

/// A file's bytes from the partition.
pub fn cat(image: &Path, offset: u64, path: &str) -> Vec<u8> {
    debugfs(image, offset, &format!("cat {path}"))
}

/// Copies a file out of the partition to `to`.
pub fn dump(image: &Path, offset: u64, path: &str, to: &Path) {
    debugfs(image, offset, &format!("dump {path} {}", to.display()));
    assert!(to.is_file(), "debugfs did not dump {path}");
}

/// One file of an initramfs: which archive of the concatenation it came from (0 = first),
/// its mode and its bytes (kept only for files `keep` asked for).
#[derive(Debug)]
pub struct CpioFile {
    pub archive: usize,
    pub name: String,
    pub mode: u32,
    pub data: Option<Vec<u8>>,
}

/// Every entry of a gzip'd initramfs made of concatenated newc archives, as the kernel reads
/// it: after each `TRAILER!!!`, zero padding, then the next archive.
pub fn initramfs_entries(initrd: &Path, keep: impl Fn(&str) -> bool) -> Vec<CpioFile> {
    let mut gunzip = Command::new("gzip")
        .arg("-dc")
        .arg(initrd)
        .stdout(Stdio::piped())
        .spawn()
        .expect("running gzip -dc");
    let mut r = BufReader::with_capacity(1 << 20, gunzip.stdout.take().expect("stdout"));
    let (mut out, mut archive, mut at) = (Vec::new(), 0, 0u64);
    loop {
        // Padding between archives: zeroes up to the next header.
        let buf = r.fill_buf().expect("reading the initramfs");
        if buf.is_empty() {
            break;
        }
        let zeros = buf.iter().take_while(|b| **b == 0).count();
        if zeros > 0 {
            r.consume(zeros);
            at += zeros as u64;
            continue;
        }
        let mut header = [0u8; 110];
        r.read_exact(&mut header).expect("cpio header");
        assert_eq!(&header[..6], b"070701", "newc magic at byte {at}");
        let field = |i: usize| {
            let hex = std::str::from_utf8(&header[6 + 8 * i..14 + 8 * i]).expect("ascii");
            u64::from_str_radix(hex, 16).expect("hex field")
        };
        let (mode, size, namesize) = (field(1) as u32, field(6), field(11));
        let pad = |n: u64| (4 - n % 4) % 4;
        let mut name = vec![0u8; (namesize + pad(110 + namesize)) as usize];
        r.read_exact(&mut name).expect("cpio name");
        let name = String::from_utf8_lossy(&name[..namesize as usize - 1]);
        // `find .` names: ./etc/hostname
        let name = name.trim_start_matches("./").to_string();
        let mut data = vec![0u8; (size + pad(size)) as usize];
        r.read_exact(&mut data).expect("cpio data");
        at += 110 + namesize + pad(110 + namesize) + size + pad(size);
        if name == "TRAILER!!!" {
            archive += 1;
            continue;
        }
        data.truncate(size as usize);
        let data = keep(&name).then_some(data);
        out.push(CpioFile {
            archive,
            name,
            mode,
            data,
        });
    }
    assert!(gunzip.wait().expect("gzip").success(), "gzip -dc failed");
    out
}
