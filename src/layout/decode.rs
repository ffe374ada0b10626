//! Reading typed values out of the position-aware YAML tree while collecting
//! every problem instead of stopping at the first (what serde would do).
//!
//! Values the tree refused ([`Kind::Refused`]: an unsafe character, already
//! reported) are present but read as nothing, without a word: no "expected a
//! string", no "missing `name`" after the name itself was refused. Entries
//! whose key was refused are absent, and a mapping that lost a key does not
//! report any key missing (the lost one may have been it).

use super::diag::{Diagnostic, Pos, char_name, did_you_mean, is_unsafe};
use super::model::{At, Hook, HookKind};
use super::size::{self, Parsed, Size};
use super::yaml::{Key, Kind, Node};

/// Why an object has no step for a kind of hook, and what to do instead.
pub type NoStep = (&'static str, &'static str);

/// Collects diagnostics while the tree is read.
#[derive(Default)]
pub struct Ctx {
    /// Everything found so far.
    pub diags: Vec<Diagnostic>,
}

/// A mapping being read, with the keys it may have.
pub struct Obj<'a> {
    /// The entries.
    pub entries: &'a [(Key, Node)],
    /// Its YAML path.
    pub path: String,
    /// Its position.
    pub pos: Pos,
}

/// `parent.key`, or `key` at the root.
pub fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

impl<'a> Obj<'a> {
    /// The value under `key`, if present and not null. A refused value is
    /// returned (it is there, so nobody reports it missing); the accessors of
    /// [`Ctx`] read it as nothing, silently.
    pub fn get(&self, key: &str) -> Option<&'a Node> {
        self.entries
            .iter()
            .find(|(k, _)| !k.refused && k.name == key)
            .map(|(_, v)| v)
            .filter(|v| v.kind != Kind::Null)
    }

    /// True when a key of this mapping was refused (and reported): any key
    /// that seems missing may be that one.
    pub fn lost_keys(&self) -> bool {
        self.entries.iter().any(|(k, _)| k.refused)
    }

    /// The key itself (for its position).
    pub fn key(&self, key: &str) -> Option<&'a Key> {
        self.entries
            .iter()
            .find(|(k, _)| k.name == key)
            .map(|(k, _)| k)
    }

    /// The path of a child.
    pub fn path_of(&self, key: &str) -> String {
        join(&self.path, key)
    }
}

impl Ctx {
    /// Record an error.
    pub fn error(&mut self, pos: Pos, path: &str, msg: impl Into<String>, hint: Option<String>) {
        let mut d = Diagnostic::error(Some(pos), path, msg);
        d.hint = hint;
        self.diags.push(d);
    }

    /// Read `node` as a mapping whose keys must be in `allowed`; keys starting
    /// with `_` are disko's computed internals and are ignored.
    pub fn obj<'a>(&mut self, node: &'a Node, path: &str, allowed: &[&str]) -> Option<Obj<'a>> {
        if node.kind == Kind::Refused {
            return None;
        }
        let Kind::Map(entries) = &node.kind else {
            self.error(
                node.pos,
                path,
                format!("expected a mapping, found {}", node.describe()),
                None,
            );
            return None;
        };
        for (k, _) in entries {
            if k.refused || k.name.starts_with('_') || allowed.contains(&k.name.as_str()) {
                continue;
            }
            let hint = did_you_mean(&k.name, allowed)
                .map(|s| format!("did you mean `{s}`?"))
                .or_else(|| Some(format!("allowed here: {}", allowed.join(", "))));
            self.error(
                k.pos,
                &join(path, &k.name),
                format!("unknown key `{}`", k.name),
                hint,
            );
        }
        Some(Obj {
            entries,
            path: path.to_string(),
            pos: node.pos,
        })
    }

    /// The entries of a mapping used as a named collection (`disk:`, `partitions:`),
    /// without disko's internal `_`-prefixed entries (e.g. the `__root` dataset).
    pub fn named<'a>(&mut self, node: &'a Node, path: &str) -> Vec<&'a (Key, Node)> {
        match &node.kind {
            Kind::Map(entries) => entries
                .iter()
                .filter(|(k, v)| !k.name.starts_with('_') && v.kind != Kind::Refused)
                .collect(),
            Kind::Null | Kind::Refused => Vec::new(),
            _ => {
                self.error(
                    node.pos,
                    path,
                    format!("expected a mapping of names, found {}", node.describe()),
                    None,
                );
                Vec::new()
            }
        }
    }

    /// A scalar as a string.
    pub fn string(&mut self, node: &Node, path: &str) -> Option<At<String>> {
        match &node.kind {
            Kind::Scalar { value, .. } => Some(At {
                v: value.clone(),
                pos: node.pos,
                path: path.into(),
            }),
            Kind::Refused => None,
            _ => {
                self.error(
                    node.pos,
                    path,
                    format!("expected a string, found {}", node.describe()),
                    None,
                );
                None
            }
        }
    }

    /// An optional string field.
    pub fn opt_string(&mut self, o: &Obj, key: &str) -> Option<At<String>> {
        let n = o.get(key)?;
        self.string(n, &o.path_of(key))
    }

    /// A required string field.
    pub fn req_string(&mut self, o: &Obj, key: &str, hint: &str) -> Option<At<String>> {
        match o.get(key) {
            Some(n) => self.string(n, &o.path_of(key)),
            None if o.lost_keys() => None,
            None => {
                self.error(
                    o.pos,
                    &o.path,
                    format!("missing `{key}`"),
                    Some(hint.into()),
                );
                None
            }
        }
    }

    /// An optional boolean: YAML 1.2's `true`/`True`/`TRUE` and
    /// `false`/`False`/`FALSE`. YAML 1.1's `yes`/`no`/`on`/`off` are refused:
    /// other readers of the same file (PyYAML, Nix's YAML import) would read
    /// them as strings or as booleans, so what they mean depends on the reader.
    pub fn boolean(&mut self, o: &Obj, key: &str) -> Option<bool> {
        let n = o.get(key)?;
        let (found, hint) = match &n.kind {
            Kind::Scalar {
                value,
                quoted: false,
            } => match value.as_str() {
                "true" | "True" | "TRUE" => return Some(true),
                "false" | "False" | "FALSE" => return Some(false),
                v => {
                    let hint = match v.to_ascii_lowercase().as_str() {
                        "yes" | "y" | "on" => Some(format!(
                            "write `true`: `{v}` is a boolean only in YAML 1.1, and layouts are YAML 1.2"
                        )),
                        "no" | "n" | "off" => Some(format!(
                            "write `false`: `{v}` is a boolean only in YAML 1.1, and layouts are YAML 1.2"
                        )),
                        _ => None,
                    };
                    (format!("`{v}`"), hint)
                }
            },
            Kind::Scalar {
                value,
                quoted: true,
            } => {
                let hint = matches!(
                    value.as_str(),
                    "true" | "True" | "TRUE" | "false" | "False" | "FALSE"
                )
                .then(|| format!("remove the quotes: `\"{value}\"` is a string"));
                (format!("the string `{value}`"), hint)
            }
            Kind::Refused => return None,
            _ => (n.describe().to_string(), None),
        };
        self.error(
            n.pos,
            &o.path_of(key),
            format!("expected true or false, found {found}"),
            hint,
        );
        None
    }

    /// An optional integer (quoted digits are accepted: disko writes `"1.2"`-style strings).
    pub fn int(&mut self, o: &Obj, key: &str) -> Option<At<i64>> {
        let n = o.get(key)?;
        let path = o.path_of(key);
        match &n.kind {
            Kind::Scalar { value, .. } => match value.trim().parse::<i64>() {
                Ok(v) => Some(At {
                    v,
                    pos: n.pos,
                    path,
                }),
                Err(_) => {
                    self.error(
                        n.pos,
                        &path,
                        format!("expected a whole number, found `{value}`"),
                        None,
                    );
                    None
                }
            },
            Kind::Refused => None,
            _ => {
                self.error(
                    n.pos,
                    &path,
                    format!("expected a whole number, found {}", n.describe()),
                    None,
                );
                None
            }
        }
    }

    /// An optional list of strings (a single string is accepted as a one-item list).
    pub fn strings(&mut self, o: &Obj, key: &str) -> Vec<String> {
        let Some(n) = o.get(key) else {
            return Vec::new();
        };
        let path = o.path_of(key);
        match &n.kind {
            Kind::Seq(items) => items
                .iter()
                .enumerate()
                .filter_map(|(i, it)| self.string(it, &format!("{path}[{i}]")).map(|s| s.v))
                .collect(),
            Kind::Scalar { value, .. } => vec![value.clone()],
            Kind::Refused => Vec::new(),
            _ => {
                self.error(
                    n.pos,
                    &path,
                    format!("expected a list of strings, found {}", n.describe()),
                    None,
                );
                Vec::new()
            }
        }
    }

    /// Extra arguments for a tool (`extraArgs`, `extraFormatArgs`…): a list of
    /// strings, with an option written with its value in one item (`"-d
    /// raid1"`, `"--iter-time 1"`) split at whitespace into words, as disko's
    /// unquoted `${toString extraArgs}` has the shell do. Other items stay
    /// whole (a label with a space, after its flag). Shell quoting in such an
    /// item is refused: nasstrap runs no shell to remove it.
    pub fn args(&mut self, o: &Obj, key: &str) -> Vec<String> {
        let Some(Kind::Seq(items)) = o.get(key).map(|n| &n.kind) else {
            return self.strings(o, key);
        };
        let path = o.path_of(key);
        let mut out = Vec::new();
        for (i, it) in items.iter().enumerate() {
            let p = format!("{path}[{i}]");
            let Some(s) = self.string(it, &p) else {
                continue;
            };
            if !(s.v.starts_with('-') && s.v.contains(char::is_whitespace)) {
                out.push(s.v);
                continue;
            }
            if s.v.contains(['\'', '"', '\\', '$', '`']) {
                self.error(
                    s.pos,
                    &p,
                    format!(
                        "`{}` needs a shell to unquote; nasstrap splits such an item at whitespace only",
                        super::names::shown(&s.v)
                    ),
                    Some("write each argument as its own list item, unquoted".into()),
                );
                continue;
            }
            out.extend(s.v.split_whitespace().map(str::to_string));
        }
        out
    }

    /// An optional `name: value` mapping of strings (ZFS properties).
    pub fn props(&mut self, o: &Obj, key: &str) -> Vec<(String, String)> {
        let Some(n) = o.get(key) else {
            return Vec::new();
        };
        let path = o.path_of(key);
        let entries = self.named(n, &path);
        let mut out = Vec::new();
        for (k, v) in entries {
            if let Some(s) = self.string(v, &join(&path, &k.name)) {
                out.push((k.name.clone(), s.v));
            }
        }
        out
    }

    /// An optional size field.
    pub fn size(&mut self, o: &Obj, key: &str) -> Option<At<Parsed>> {
        let n = o.get(key)?;
        let s = self.string(n, &o.path_of(key))?;
        match size::parse(&s.v) {
            Ok(p) => Some(At {
                v: p,
                pos: s.pos,
                path: s.path,
            }),
            Err(e) => {
                self.error(s.pos, &s.path, e.message, Some(e.hint));
                None
            }
        }
    }

    /// An optional size field without its precision.
    pub fn plain_size(&mut self, o: &Obj, key: &str) -> Option<At<Size>> {
        self.size(o, key).map(|p| At {
            v: p.v.size,
            pos: p.pos,
            path: p.path,
        })
    }

    /// disko's hooks on `o`: shell text, shown in full by `plan` and run
    /// only with `--allow-hooks`. `create` and `mount` say whether the owner
    /// has a step for its create and mount hooks to run with, or why not (a
    /// hook refused by name). Unmount hooks are refused everywhere. Empty hooks are disko's
    /// default and mean nothing.
    pub fn hooks(
        &mut self,
        o: &Obj,
        create: Result<(), NoStep>,
        mount: Result<(), NoStep>,
    ) -> Vec<Hook> {
        let mut out = Vec::new();
        for key in ["preUnmountHook", "postUnmountHook"] {
            if let Some(n) = o.get(key)
                && !blank(n)
            {
                self.error(
                    n.pos,
                    &o.path_of(key),
                    format!("`{key}` is not supported: nasstrap runs create and mount hooks only"),
                    Some(
                        "remove the hook and do the step in the NixOS configuration or by hand"
                            .into(),
                    ),
                );
            }
        }
        for kind in HookKind::ALL {
            let key = kind.as_str();
            let Some(n) = o.get(key).filter(|n| !blank(n)) else {
                continue;
            };
            let why_not = if kind.is_create() { create } else { mount };
            if let Err((why, fix)) = why_not {
                self.error(
                    n.pos,
                    &o.path_of(key),
                    format!("`{key}` is not supported here: {why}"),
                    Some(fix.into()),
                );
                continue;
            }
            let Some(script) = self.string(n, &o.path_of(key)) else {
                continue;
            };
            // Shown in full before it runs: nothing in it may drive the
            // terminal or hide text. Newlines and tabs are shell.
            if let Some(c) = script
                .v
                .chars()
                .find(|c| is_unsafe(*c) && !matches!(c, '\n' | '\t'))
            {
                self.error(
                    script.pos,
                    &script.path,
                    format!(
                        "`{key}` holds {}: a hook is shown in full before it runs, and this character would change what is shown",
                        char_name(c)
                    ),
                    Some("remove it; a command that needs it can write it with printf".into()),
                );
                continue;
            }
            out.push(Hook { kind, script });
        }
        out
    }
}

/// An empty hook (disko's default), or null.
fn blank(n: &Node) -> bool {
    matches!(&n.kind, Kind::Scalar { value, .. } if value.trim().is_empty())
}
