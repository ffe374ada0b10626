//! The disks of a previous NAS: what an installer meets when the box was in use before.
//! bay1 and bay2 each hold one GPT partition (type FD00, label `oldnas`), the two make an
//! md RAID1 (metadata 1.2, name `oldnas`, homehost `oldbox`, so foreign to the rescue
//! system), and the array holds ext4 (label `oldnas`) with one file, [`OLDNAS_FILE`].
//! bay3..bay5 and the eMMC stay blank.
//!
//! On the next boot with udev (the default), Debian's mdadm udev rules assemble the array
//! by themselves, as `/dev/md127` with both members, exactly as a rescue system would.

use super::{BootOpts, Guest, WorkDir};

/// The file the previous NAS left on its array, and its content.
pub const OLDNAS_FILE: (&str, &str) = ("family-photos.txt", "do not lose these\n");

/// Turns the running guest's bay1 and bay2 into the previous NAS's disks; the array is
/// stopped again and everything synced, so a poweroff or a kill keeps it all.
pub fn make_previous_nas(g: &Guest) {
    let (file, text) = OLDNAS_FILE;
    // The disks are blank, so the mirror's halves already agree: --assume-clean skips a
    // resync that would only keep the guest from powering off.
    g.ssh_ok(&format!(
        "set -e
        settle() {{ if [ -S /run/udev/control ]; then udevadm settle; fi; }}
        for d in /dev/sda /dev/sdb; do
          sgdisk -n1:0:0 -t1:FD00 -c1:oldnas $d >/dev/null
          partx -u $d 2>/dev/null || true
        done
        settle
        mdadm --create /dev/md127 --run --level=1 --raid-devices=2 --metadata=1.2 \\
          --name=oldnas --homehost=oldbox --assume-clean /dev/sda1 /dev/sdb1 2>/dev/null
        settle
        mkfs.ext4 -q -L oldnas /dev/md127
        mkdir -p /run/oldnas && mount /dev/md127 /run/oldnas
        printf '{text}' > /run/oldnas/{file}
        umount /run/oldnas
        settle
        mdadm --stop /dev/md127 2>/dev/null
        sync"
    ));
}

/// A fresh work dir holding a previous NAS's disks (see the module documentation), made in
/// a boot without udev, then powered off.
pub fn previous_nas() -> Result<WorkDir, String> {
    let g = Guest::boot(BootOpts {
        udev: false,
        ..BootOpts::default()
    })?;
    make_previous_nas(&g);
    g.poweroff()
}

/// Whether `/proc/mdstat` shows the previous NAS's array assembled: `md127`, active (udev's
/// assembly leaves it `auto-read-only` until written), RAID1 over sda1 and sdb1, both in sync.
pub fn oldnas_assembled(mdstat: &str) -> bool {
    let mut lines = mdstat.lines().skip_while(|l| !l.starts_with("md127 : "));
    let (array, status) = (lines.next().unwrap_or(""), lines.next().unwrap_or(""));
    array.starts_with("md127 : active ")
        && array.contains(" raid1 sd")
        && array.contains(" sda1[")
        && array.contains(" sdb1[")
        && status.trim_end().ends_with("[2/2] [UU]")
}
