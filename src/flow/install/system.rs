//! `install`, part 2: once the disks match, the system. Stage the flake with
//! the disks module, fetch every input on the target (a private `git+ssh`
//! one through the forwarded agent: the key never lands there), run
//! `nixos-install`, check the box will boot, then take everything down and
//! leave nothing behind on the rescue system.

use super::{Install, Phase, converse, phase, probe_target, spec};
use crate::flow::Stop;
use crate::plan::Plan;
use crate::remote::protocol::{self, GIT_KNOWN_HOSTS, Request};
use crate::remote::ssh::{Connection, quote};
use crate::report::{Event, Reporter};
use anyhow::{Context, anyhow};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::AtomicBool;

/// The NixOS system to install (`--flake PATH#HOST` and friends).
#[derive(Debug, Clone)]
pub struct System {
    /// The flake's directory on the laptop.
    pub flake: PathBuf,
    /// `nixosConfigurations.<host>`.
    pub host: String,
    /// A tree mirroring the new root, copied with modes and owners.
    pub extra_files: Option<PathBuf>,
    /// The machine's identity: a key on the laptop and where it goes on the
    /// new root (the only secret that lands there, and only when asked).
    pub identity: Option<(PathBuf, String)>,
    /// The host's agenix secrets, which `identity` must decrypt.
    pub secrets: Option<PathBuf>,
    /// The laptop's known_hosts, read for the git hosts' keys.
    pub git_known_hosts: PathBuf,
    /// Reboot when every phase succeeded.
    pub reboot: bool,
    /// Where on the new root the flake goes (`/etc/nixos`).
    pub stage_dir: String,
    /// Also stage the flake's `.git`.
    pub with_git: bool,
}

/// Where the flake is staged on the target.
fn dest(i: &Install, s: &System) -> String {
    format!(
        "{}/{}",
        i.target.mount_root.trim_end_matches('/'),
        s.stage_dir.trim_start_matches('/')
    )
}

/// Before any disk is touched: the flake's host imports the disks module, and
/// the identity decrypts every secret meant for it.
pub(super) fn check_system(s: &System) -> Result<(), Stop> {
    module_path(s)?;
    let (Some((identity, _)), Some(secrets)) = (&s.identity, &s.secrets) else {
        return Ok(());
    };
    let checked = crate::keys::check(identity, secrets).map_err(|e| Stop::Failed(e.into()))?;
    if checked.passed() {
        return Ok(());
    }
    let mut bad: Vec<String> = checked.failures().map(|v| v.to_string()).collect();
    if checked.decrypts_nothing() {
        bad.push(format!(
            "{} decrypts none of the files in {}: was its recipient added to secrets.nix and \
             the files rekeyed (agenix -r)?",
            identity.display(),
            secrets.display()
        ));
    }
    Err(Stop::Keys(bad))
}

/// The phases after the disks, up to `i.until`.
pub(super) fn install(
    i: &Install,
    s: &System,
    conn: &Connection,
    loaded: &crate::layout::Loaded,
    plan: &Plan,
    reporter: &dyn Reporter,
    interrupt: &AtomicBool,
) -> Result<(), Stop> {
    phase(reporter, Phase::Stage, || {
        stage(i, s, conn, loaded, reporter, interrupt)
    })?;
    if i.until < Phase::Fetch {
        return Ok(());
    }
    let mut ok = true;
    let result = (|| {
        phase(reporter, Phase::Fetch, || {
            fetch(i, s, conn, reporter, interrupt)
        })?;
        if i.until >= Phase::Install {
            phase(reporter, Phase::Install, || {
                nixos_install(i, s, conn, reporter, interrupt)
            })?;
        }
        if i.until >= Phase::BootCheck {
            ok = phase(reporter, Phase::BootCheck, || {
                boot_check(conn, plan, reporter, interrupt)
            })?;
        }
        Ok(())
    })();
    // Finish also after a failure: nothing of the install may stay behind.
    if i.until < Phase::Finish && result.is_ok() {
        return result;
    }
    let finished = phase(reporter, Phase::Finish, || {
        finish(i, conn, reporter, interrupt)
    });
    result?;
    finished?;
    if s.reboot && ok && i.until >= Phase::Finish {
        reporter.event(&Event::Note {
            message: "rebooting the target".into(),
        });
        let _ = conn.run("(sleep 2; reboot) >/dev/null 2>&1 &", b"");
    }
    Ok(())
}

/// The flake's tracked files, the disks module beside them, extra files.
fn stage(
    i: &Install,
    s: &System,
    conn: &Connection,
    loaded: &crate::layout::Loaded,
    reporter: &dyn Reporter,
    interrupt: &AtomicBool,
) -> Result<(), Stop> {
    // The real identifiers, as the disks hold them now.
    let (observed, _) = probe_target(i, conn, loaded, reporter, interrupt)?;
    let opts = i.target.options();
    let (plan, _) = crate::plan::diff::against(loaded, &observed, &opts).map_err(Stop::Layout)?;
    let command = format!(
        "nasstrap nixos-config {} (written by nasstrap install)",
        quote(&i.target.layout.display().to_string())
    );
    let module = crate::nixos::disks_module(&plan, &observed, &loaded.layout, &command)
        .map_err(|e| Stop::Failed(anyhow!("the disks module: {e}")))?;
    let module_at = module_path(s)?;
    let dest = dest(i, s);
    let req = crate::remote::stage::Request {
        flake: &s.flake,
        with_git: s.with_git,
        dest: &dest,
        extra: s.extra_files.as_deref(),
        root: &i.target.mount_root,
    };
    let staged = crate::remote::stage::stage(conn, &req, reporter).context("staging the flake")?;
    reporter.event(&Event::Note {
        message: format!(
            "staged {} files ({} KiB) in {dest} in {:.1}s",
            staged.files,
            staged.bytes / 1024,
            staged.seconds
        ),
    });
    let file = format!("{dest}/{}", module_at.display());
    upload(conn, &file, module.as_bytes(), "644")?;
    if s.with_git {
        // A git flake shows Nix only what git knows: make the module known.
        let add = format!(
            "git -C {} add --intent-to-add -- {}",
            quote(&dest),
            quote(&module_at.display().to_string())
        );
        let out = conn.run(&add, b"").context("git add of the disks module")?;
        if !out.status.success() {
            return Err(Stop::Failed(anyhow!(
                "the flake was staged with its .git, and git on the target could not add \
                 the disks module to it (Nix would not see it): {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
    }
    if let Some((local, remote)) = &s.identity {
        let bytes = std::fs::read(local)
            .with_context(|| format!("reading the identity {}", local.display()))?;
        let path = format!(
            "{}/{}",
            i.target.mount_root.trim_end_matches('/'),
            remote.trim_start_matches('/')
        );
        upload(conn, &path, &bytes, "600")?;
        reporter.event(&Event::Note {
            message: format!("placed the identity at {remote} on the new root (mode 0600)"),
        });
    }
    Ok(())
}

/// Where the host expects the disks module, relative to the flake; else what
/// to add to the flake, exactly.
fn module_path(s: &System) -> Result<PathBuf, Stop> {
    use crate::nixos::Verdict;
    match crate::nixos::imports(&s.flake, &s.host) {
        Verdict::Imported { module, .. } => Ok(module
            .strip_prefix(&s.flake)
            .map(Path::to_path_buf)
            .unwrap_or_else(|_| PathBuf::from(crate::nixos::MODULE_FILE))),
        Verdict::NotImported { file, add, place } => Err(Stop::Flake(format!(
            "the host `{}` does not import the disks module nasstrap writes; without it the \
             installed system finds none of its arrays. Add {add} to {place} in {}",
            s.host,
            file.display()
        ))),
        Verdict::NoFlake => Err(Stop::Flake(format!(
            "{} has no flake.nix",
            s.flake.display()
        ))),
        Verdict::NoHost => Err(Stop::Flake(format!(
            "the flake in {} has no nixosConfigurations.{}",
            s.flake.display(),
            s.host
        ))),
    }
}

/// Writes `bytes` to `path` on the target with `mode`, creating its directory.
fn upload(conn: &Connection, path: &str, bytes: &[u8], mode: &str) -> Result<(), Stop> {
    let dir = Path::new(path)
        .parent()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "/".into());
    let cmd = format!(
        "umask 077 && mkdir -p {d} && cat > {p}.new && chmod {mode} {p}.new && mv -f {p}.new {p}",
        d = quote(&dir),
        p = quote(path),
    );
    let out = conn
        .run(&cmd, bytes)
        .with_context(|| format!("writing {path}"))?;
    if !out.status.success() {
        return Err(Stop::Failed(anyhow!(
            "writing {path} on the target failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

/// The `git+ssh://…` URLs a flake's inputs name, as written in flake.nix.
pub fn ssh_inputs(flake: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(flake.join("flake.nix")).unwrap_or_default();
    let mut urls: Vec<String> = Vec::new();
    for (at, _) in text.match_indices("git+ssh://") {
        let rest = &text[at..];
        let end = rest.find(['"', '\'', ';']).unwrap_or(rest.len());
        let url = rest[..end].trim().to_string();
        if !urls.contains(&url) {
            urls.push(url);
        }
    }
    urls
}

/// The `git+ssh` hosts a flake names (flake.nix and flake.lock), as
/// known_hosts names: `host`, or `[host]:port`.
pub fn git_hosts(flake: &Path) -> Vec<String> {
    let mut hosts = Vec::new();
    for f in ["flake.nix", "flake.lock"] {
        let Ok(text) = std::fs::read_to_string(flake.join(f)) else {
            continue;
        };
        for (at, _) in text.match_indices("ssh://") {
            let rest = &text[at + "ssh://".len()..];
            let end = rest
                .find(|c: char| c == '/' || c == '"' || c == '?' || c.is_whitespace())
                .unwrap_or(rest.len());
            let authority = &rest[..end];
            let hostport = authority.rsplit('@').next().unwrap_or(authority);
            let name = match hostport.rsplit_once(':') {
                Some((h, p)) if p != "22" && p.chars().all(|c| c.is_ascii_digit()) => {
                    format!("[{h}]:{p}")
                }
                Some((h, _)) => h.to_string(),
                None => hostport.to_string(),
            };
            if !name.is_empty() && !hosts.contains(&name) {
                hosts.push(name);
            }
        }
    }
    hosts
}

/// The known_hosts lines for `host` in `file` (hashed entries included), via
/// `ssh-keygen -F`, which matches them as ssh does.
fn known_lines(file: &Path, host: &str) -> Result<Vec<String>, Stop> {
    let out = std::process::Command::new("ssh-keygen")
        .arg("-F")
        .arg(host)
        .arg("-f")
        .arg(file)
        .output()
        .context("running ssh-keygen -F")?;
    let text = String::from_utf8_lossy(&out.stdout);
    // Hashed entries come back hashed; ssh on the target matches them too.
    Ok(text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(str::to_string)
        .collect())
}

/// The environment of the fetch and the install: git's ssh checks the git
/// hosts against the lines copied from the laptop, never accepting new ones.
fn git_env() -> String {
    let ssh = format!(
        "ssh -o StrictHostKeyChecking=yes -o UserKnownHostsFile={GIT_KNOWN_HOSTS} \
         -o GlobalKnownHostsFile=/dev/null -o BatchMode=yes"
    );
    format!("GIT_SSH_COMMAND={}", quote(&ssh))
}

/// Every input of the staged flake into the target's store, as root in this
/// SSH session (not sudo, not the daemon), the agent forwarded for it alone.
fn fetch(
    i: &Install,
    s: &System,
    conn: &Connection,
    reporter: &dyn Reporter,
    interrupt: &AtomicBool,
) -> Result<(), Stop> {
    let mut lines = Vec::new();
    for host in git_hosts(&s.flake) {
        let found = known_lines(&s.git_known_hosts, &host)?;
        if found.is_empty() {
            return Err(Stop::Flake(format!(
                "{} has no key for the git host {host}; connect to it once from this machine \
                 (ssh {host}) to check and record its key: nasstrap never accepts a new one",
                s.git_known_hosts.display()
            )));
        }
        lines.extend(found);
    }
    upload(
        conn,
        GIT_KNOWN_HOSTS,
        (lines.join("\n") + "\n").as_bytes(),
        "600",
    )?;
    let cmd = format!(
        "{} nix --extra-experimental-features 'nix-command flakes' flake archive {}",
        git_env(),
        quote(&dest(i, s))
    );
    stream(conn, &cmd, reporter, interrupt).map_err(|e| {
        Stop::Failed(anyhow!(
            "fetching the flake's inputs on the target failed (inputs over ssh: {}):\n{e}",
            ssh_inputs(&s.flake).join(", ")
        ))
    })
}

/// `nixos-install` of the staged flake, the agent still forwarded.
fn nixos_install(
    i: &Install,
    s: &System,
    conn: &Connection,
    reporter: &dyn Reporter,
    interrupt: &AtomicBool,
) -> Result<(), Stop> {
    let cmd = format!(
        "{} nixos-install --root {} --flake {} --no-root-passwd --no-channel-copy",
        git_env(),
        quote(&i.target.mount_root),
        quote(&format!("{}#{}", dest(i, s), s.host)),
    );
    stream(conn, &cmd, reporter, interrupt)
        .map_err(|e| Stop::Failed(anyhow!("nixos-install failed on the target:\n{e}")))
}

/// Runs `cmd` on the target with the agent forwarded, each output line an
/// event; on failure, the last lines (git's, ssh's, nix's own words).
fn stream(
    conn: &Connection,
    cmd: &str,
    reporter: &dyn Reporter,
    _interrupt: &AtomicBool,
) -> Result<(), String> {
    // stderr into stdout: nix and git say everything on stderr, in order.
    let mut child = conn
        .command_with_agent(&format!("exec 2>&1; {cmd}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("starting ssh: {e}"))?;
    let mut tail: Vec<String> = Vec::new();
    for line in BufReader::new(child.stdout.take().expect("piped")).lines() {
        let Ok(line) = line else { break };
        reporter.event(&Event::Log { line: line.clone() });
        tail.push(line);
        if tail.len() > 20 {
            tail.remove(0);
        }
    }
    let status = child.wait().map_err(|e| format!("waiting for ssh: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("({status})\n{}", tail.join("\n")))
    }
}

/// The boot check runs on the target (it reads the boot medium); returns
/// whether every rule holds.
fn boot_check(
    conn: &Connection,
    plan: &Plan,
    reporter: &dyn Reporter,
    interrupt: &AtomicBool,
) -> Result<bool, Stop> {
    let request = Request::BootCheck {
        version: protocol::version(),
        plan: Box::new(plan.clone()),
    };
    let events = converse(conn, &request, false, reporter, interrupt)?;
    let ok = events
        .iter()
        .all(|e| !matches!(e, Event::Check { verdict, .. } if verdict == "problem"));
    if !ok {
        reporter.event(&Event::Note {
            message: "warning: the box will not boot from what was installed (see above); \
                      not rebooting"
                .into(),
        });
    }
    Ok(ok)
}

/// Unmount, close, stop; remove the git hosts' lines and the staged layout.
fn finish(
    i: &Install,
    conn: &Connection,
    reporter: &dyn Reporter,
    interrupt: &AtomicBool,
) -> Result<(), Stop> {
    let request = Request::Finish {
        version: protocol::version(),
        spec: spec(i)?,
    };
    converse(conn, &request, false, reporter, interrupt).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_hosts_are_read_from_the_flake_as_known_hosts_names() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("flake.nix"),
            r#"{ inputs.secrets.url = "git+ssh://git@github.com/me/nix-secrets.git";
                 inputs.other = { url = "git+ssh://root@10.0.2.100:2222/srv/x.git?ref=main"; flake = false; };
                 inputs.nixpkgs.url = "github:NixOS/nixpkgs"; }"#,
        )
        .unwrap();
        std::fs::write(
            dir.path().join("flake.lock"),
            r#"{"nodes":{"secrets":{"locked":{"url":"ssh://git@github.com/me/nix-secrets.git"}}}}"#,
        )
        .unwrap();
        assert_eq!(git_hosts(dir.path()), ["github.com", "[10.0.2.100]:2222"]);
        assert_eq!(
            ssh_inputs(dir.path()),
            [
                "git+ssh://git@github.com/me/nix-secrets.git",
                "git+ssh://root@10.0.2.100:2222/srv/x.git?ref=main"
            ]
        );
    }
}
