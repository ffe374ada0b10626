//! extlinux.conf as U-Boot's `sysboot` reads it (boot/pxe_utils.c): one
//! keyword a line, case-insensitive; the value is the rest of the line; `#`
//! starts a comment only where a keyword could start. A label runs until a
//! line whose keyword a label does not take (that line is then read at the
//! top level, as U-Boot puts the token back). Inside a label the first
//! `INITRD`, `FDT` and `FDTDIR` win and the last `LINUX`/`KERNEL` and `APPEND`
//! win, as in U-Boot.

/// One `LABEL` block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Label {
    /// The label's name (the rest of the `LABEL` line).
    pub name: String,
    /// 1-based line of the `LABEL` keyword.
    pub line: usize,
    /// `MENU LABEL`.
    pub menu_label: Option<String>,
    /// `LINUX` or `KERNEL`, without a FIT `#config` suffix.
    pub kernel: Option<String>,
    /// `INITRD`, or `initrd=` from `APPEND` when no `INITRD` came first.
    pub initrd: Option<String>,
    /// `APPEND`: the kernel command line.
    pub append: Option<String>,
    /// `FDT` or `DEVICETREE`.
    pub fdt: Option<String>,
    /// `FDTDIR` or `DEVICETREEDIR`.
    pub fdtdir: Option<String>,
}

/// A parsed extlinux.conf.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    /// `DEFAULT` / `ONTIMEOUT` (the last one), or the first `MENU DEFAULT`.
    pub default: Option<String>,
    /// `MENU TITLE`.
    pub title: Option<String>,
    /// Labels in file order.
    pub labels: Vec<Label>,
    /// `INCLUDE` / `MENU INCLUDE` paths (not followed).
    pub includes: Vec<String>,
}

/// How the entry U-Boot boots first was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    /// `DEFAULT` (or `MENU DEFAULT`) names it.
    Named,
    /// There is no default: U-Boot tries the labels in order.
    FirstNoDefault,
    /// The default names no label: U-Boot tries the labels in order.
    FirstUnknownDefault,
}

impl Config {
    /// The entry U-Boot boots when nobody presses a key. Without a usable
    /// default, `handle_pxe_menu` falls back to trying every label in order,
    /// so the first one is what boots.
    pub fn default_label(&self) -> Option<(&Label, Choice)> {
        match &self.default {
            Some(d) => match self.labels.iter().find(|l| &l.name == d) {
                Some(l) => Some((l, Choice::Named)),
                None => self
                    .labels
                    .first()
                    .map(|l| (l, Choice::FirstUnknownDefault)),
            },
            None => self.labels.first().map(|l| (l, Choice::FirstNoDefault)),
        }
    }
}

/// Split a line into its lowercased keyword and the value after it.
fn keyword(line: &str) -> Option<(String, &str)> {
    let line = line.trim_start_matches([' ', '\t']);
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let end = line.find(char::is_whitespace).unwrap_or(line.len());
    let (kw, rest) = line.split_at(end);
    // U-Boot keeps trailing blanks and `\r`; a path ending in them would not
    // be found either way, and trimming keeps messages readable.
    Some((kw.to_ascii_lowercase(), rest.trim()))
}

/// Apply a keyword to the open label; false when the label does not take it.
fn label_line(cfg: &mut Config, label: &mut Label, kw: &str, value: &str) -> bool {
    match kw {
        "menu" => match keyword(value) {
            Some((sub, _)) if sub == "default" => {
                cfg.default.get_or_insert_with(|| label.name.clone());
            }
            Some((sub, rest)) if sub == "label" => label.menu_label = Some(rest.to_string()),
            _ => {}
        },
        "kernel" | "linux" => {
            // `file#config` selects a FIT configuration.
            let file = value.split('#').next().unwrap_or(value);
            label.kernel = Some(file.to_string());
        }
        "append" => {
            label.append = Some(value.to_string());
            if label.initrd.is_none()
                && let Some(at) = value.find("initrd=")
            {
                let v = &value[at + 7..];
                let v = v.split(char::is_whitespace).next().unwrap_or(v);
                label.initrd = Some(v.to_string());
            }
        }
        "initrd" => {
            label.initrd.get_or_insert_with(|| value.to_string());
        }
        "fdt" | "devicetree" => {
            label.fdt.get_or_insert_with(|| value.to_string());
        }
        "fdtdir" | "devicetreedir" => {
            label.fdtdir.get_or_insert_with(|| value.to_string());
        }
        // Taken by a label but irrelevant here.
        "localboot" | "ipappend" | "fdtoverlays" | "devicetree-overlay" | "kaslrseed" => {}
        _ => return false,
    }
    true
}

/// Parse extlinux.conf text. Never fails: what U-Boot would ignore is ignored.
pub fn parse(text: &str) -> Config {
    let mut cfg = Config::default();
    let mut open: Option<Label> = None;
    for (i, line) in text.lines().enumerate() {
        let Some((kw, value)) = keyword(line) else {
            continue;
        };
        if let Some(label) = open.as_mut() {
            if label_line(&mut cfg, label, &kw, value) {
                continue;
            }
            cfg.labels.extend(open.take());
        }
        match kw.as_str() {
            "label" => {
                open = Some(Label {
                    name: value.to_string(),
                    line: i + 1,
                    ..Label::default()
                })
            }
            "default" | "ontimeout" => cfg.default = Some(value.to_string()),
            "include" => cfg.includes.push(value.to_string()),
            "menu" => match keyword(value) {
                Some((sub, rest)) if sub == "title" => cfg.title = Some(rest.to_string()),
                Some((sub, rest)) if sub == "include" => cfg.includes.push(rest.to_string()),
                _ => {}
            },
            // timeout, prompt and unknown commands change nothing that boots.
            _ => {}
        }
    }
    cfg.labels.extend(open);
    cfg
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What nixpkgs' extlinux-conf-builder.sh writes (one generation, with
    /// `hardware.deviceTree.name` set, so `FDT` rather than `FDTDIR`).
    const NIXOS: &str = "\
# Generated file, all changes will be lost on nixos-rebuild!

# Change this to e.g. nixos-42 to temporarily boot to an older configuration.
DEFAULT nixos-default

MENU TITLE ------------------------------------------------------------
TIMEOUT 50

LABEL nixos-default
  MENU LABEL NixOS - Default
  LINUX ../nixos/abc-linux-6.6.60-Image
  INITRD ../nixos/def-initrd-linux-6.6.60-initrd
  APPEND init=/nix/store/xyz-nixos-system-nas-24.11/init console=ttyS2,1500000 loglevel=4
  FDT ../nixos/abc-linux-6.6.60-dtbs/rockchip/rk3399-kobol-helios64.dtb

LABEL nixos-41
  MENU LABEL NixOS - Configuration 41 (2024-11-29 - 24.11)
  LINUX ../nixos/old-Image
  INITRD ../nixos/old-initrd
  APPEND init=/nix/store/old/init
  FDTDIR ../nixos/old-dtbs
";

    #[test]
    fn nixos_generation_is_the_default() {
        let cfg = parse(NIXOS);
        assert_eq!(cfg.labels.len(), 2);
        let (l, how) = cfg.default_label().unwrap();
        assert_eq!(how, Choice::Named);
        assert_eq!(l.name, "nixos-default");
        assert_eq!(l.line, 9);
        assert_eq!(l.menu_label.as_deref(), Some("NixOS - Default"));
        assert_eq!(l.kernel.as_deref(), Some("../nixos/abc-linux-6.6.60-Image"));
        assert_eq!(
            l.initrd.as_deref(),
            Some("../nixos/def-initrd-linux-6.6.60-initrd")
        );
        assert!(
            l.append
                .as_deref()
                .unwrap()
                .contains("console=ttyS2,1500000")
        );
        assert_eq!(
            l.fdt.as_deref(),
            Some("../nixos/abc-linux-6.6.60-dtbs/rockchip/rk3399-kobol-helios64.dtb")
        );
        assert_eq!(cfg.labels[1].fdtdir.as_deref(), Some("../nixos/old-dtbs"));
        assert_eq!(
            cfg.title.as_deref(),
            Some("------------------------------------------------------------")
        );
    }

    #[test]
    fn keywords_are_case_insensitive_and_aliases_count() {
        let cfg = parse(
            "default a\nlabel a\n kernel /Image#conf-1\n devicetree /x.dtb\n Append quiet initrd=/i.img root=x\n",
        );
        let l = &cfg.labels[0];
        assert_eq!(l.kernel.as_deref(), Some("/Image"));
        assert_eq!(l.fdt.as_deref(), Some("/x.dtb"));
        assert_eq!(l.initrd.as_deref(), Some("/i.img"));
        let cfg = parse("LABEL a\nDEVICETREEDIR /dtbs\n");
        assert_eq!(cfg.labels[0].fdtdir.as_deref(), Some("/dtbs"));
    }

    #[test]
    fn first_fdt_and_initrd_win_last_kernel_wins() {
        let cfg = parse(
            "LABEL a\nFDT /one.dtb\nFDT /two.dtb\nINITRD /i1\nINITRD /i2\nLINUX /k1\nLINUX /k2\n",
        );
        let l = &cfg.labels[0];
        assert_eq!(l.fdt.as_deref(), Some("/one.dtb"));
        assert_eq!(l.initrd.as_deref(), Some("/i1"));
        assert_eq!(l.kernel.as_deref(), Some("/k2"));
    }

    #[test]
    fn comments_and_hash_inside_values() {
        let cfg = parse("  # LABEL hidden\nLABEL a\n\t# FDT /no.dtb\n  APPEND x=#y\n");
        assert_eq!(cfg.labels.len(), 1);
        assert_eq!(cfg.labels[0].fdt, None);
        assert_eq!(cfg.labels[0].append.as_deref(), Some("x=#y"));
    }

    #[test]
    fn an_unknown_keyword_ends_the_label() {
        // U-Boot puts the token back and the top level ignores it; the APPEND
        // after it is then a top-level line and lost.
        let cfg = parse("LABEL a\nLINUX /k\nBOGUS 1\nAPPEND console=ttyS2,1500000\n");
        assert_eq!(cfg.labels[0].kernel.as_deref(), Some("/k"));
        assert_eq!(cfg.labels[0].append, None);
    }

    #[test]
    fn defaults() {
        // The last DEFAULT wins; MENU DEFAULT only when none is set yet.
        let cfg = parse("DEFAULT b\nLABEL a\nMENU DEFAULT\nLABEL b\nDEFAULT a\n");
        assert_eq!(cfg.default.as_deref(), Some("a"));
        let cfg = parse("LABEL a\nLABEL b\nMENU DEFAULT\n");
        assert_eq!(cfg.default_label().unwrap().0.name, "b");
        let cfg = parse("DEFAULT gone\nLABEL a\n");
        assert_eq!(
            cfg.default_label().map(|(l, c)| (l.name.as_str(), c)),
            Some(("a", Choice::FirstUnknownDefault))
        );
        let cfg = parse("LABEL a\nLABEL b\n");
        assert_eq!(cfg.default_label().unwrap().1, Choice::FirstNoDefault);
        assert_eq!(parse("DEFAULT a\n").default_label(), None);
    }

    #[test]
    fn includes_are_recorded() {
        let cfg = parse("INCLUDE other.conf\nMENU INCLUDE more.conf\n");
        assert_eq!(cfg.includes, ["other.conf", "more.conf"]);
    }
}
