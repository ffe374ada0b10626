//! A YAML (and therefore JSON) document as a tree whose every node knows its
//! position. Serde stops at the first error and forgets positions of values it
//! accepted; the validator needs both, so the layout is read through this tree.
//!
//! Duplicate keys are refused here: YAML maps otherwise silently keep the last
//! value, and a duplicated disk would vanish from the layout.
//!
//! So are control and invisible characters (see [`is_unsafe`]) in any key or
//! value nasstrap reads: they can drive the terminal that shows a plan or make
//! two different names look the same. The error points at the character
//! itself (`flaws`). A refused value becomes [`Kind::Refused`], which readers
//! take for present but empty, silently; a refused key keeps its entry, marked,
//! with its value refused and unread, and its mapping reports nothing missing.
//!
//! TAB is refused like the rest, also in quoted strings and extraArgs: no name,
//! path, option or argument needs one, and a tab shows as spaces, so nobody
//! would tell `a<TAB>b` from `a b` in a plan. Values under disko's internal
//! `_…` keys and its hooks are shell text, where newlines and tabs belong, so
//! they are not checked here, unless an alias carries them somewhere that is
//! read: `_…` values are never used, and a hook is checked by its reader
//! (`Ctx::hooks`: no unsafe character but newline and tab).

mod flaws;
mod syntax;

pub use syntax::SyntaxKind;

use super::diag::{Diagnostic, Pos, char_name, is_unsafe, pos_at};
use super::read::HOOKS;
use flaws::{find_in_source, first_unsafe, unsafe_char_error};
use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use std::collections::HashMap;
use syntax::syntax_error;

/// Deeper nesting than this is refused; real layouts are under 15 levels.
pub const MAX_DEPTH: usize = 100;
/// Alias expansion may not grow the tree beyond this many nodes (billion laughs).
pub const MAX_NODES: usize = 1_000_000;
/// Nor beyond this much scalar text: a long string aliased many times is the
/// same bomb with fewer nodes.
pub const MAX_TEXT_BYTES: usize = 64 << 20;

/// A node of the tree.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// What the node holds.
    pub kind: Kind,
    /// Where it starts.
    pub pos: Pos,
}

/// The three YAML node kinds, with null split out of scalars, and refused values.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// `~`, `null`, or nothing.
    Null,
    /// Any scalar; `quoted` scalars are always strings.
    Scalar { value: String, quoted: bool },
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping with scalar keys, in document order.
    Map(Vec<(Key, Node)>),
    /// A value refused while reading (an unsafe character in it or in one of
    /// its keys). Its error is already reported: readers skip it silently.
    Refused,
}

/// A mapping key.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    /// The key text.
    pub name: String,
    /// Where the key is.
    pub pos: Pos,
    /// The key held an unsafe character (reported; `name` is the key without
    /// it): its value is [`Kind::Refused`] and the mapping may lack any key.
    pub refused: bool,
}

impl Node {
    /// A short noun for the kind of node, for "expected X, found Y" messages.
    pub fn describe(&self) -> &'static str {
        match &self.kind {
            Kind::Null => "nothing",
            Kind::Scalar { .. } => "a scalar",
            Kind::Seq(_) => "a list",
            Kind::Map(_) => "a mapping",
            Kind::Refused => "a refused value",
        }
    }
}

/// A parsed document: the tree and the values refused on the way.
#[derive(Debug)]
pub struct Tree {
    /// The root; `None` when the file holds no document at all.
    pub root: Option<Node>,
    /// One error per refused key or value; the tree holds [`Kind::Refused`] there.
    pub refused: Vec<Diagnostic>,
}

fn pos_of(m: &saphyr_parser::Marker) -> Pos {
    Pos {
        line: m.line() as u32,
        col: m.col() as u32 + 1,
    }
}

/// True for keys whose values nasstrap does not read as data: disko's
/// computed internals and its hooks (shell text, checked by `Ctx::hooks`).
fn unread_key(name: &str) -> bool {
    name.starts_with('_') || HOOKS.contains(&name)
}

enum Frame {
    Seq {
        items: Vec<Node>,
        pos: Pos,
        anchor: usize,
        unread: bool,
    },
    Map {
        entries: Vec<(Key, Node)>,
        pending: Option<Key>,
        pos: Pos,
        anchor: usize,
        seen: HashMap<String, Pos>,
        unread: bool,
    },
}

/// An anchored node and whether it was defined where values are not read
/// (and so not checked).
struct Anchor {
    node: Node,
    unread: bool,
}

/// The state of one parse.
struct Reader<'s> {
    src: &'s str,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Anchor>,
    /// Duplicate keys and fatal errors.
    diags: Vec<Diagnostic>,
    refused: Vec<Diagnostic>,
    nodes: usize,
    text_bytes: usize,
    /// A character index and its byte offset in `src`, moved forward as
    /// flaws are located (events come in source order, so this stays linear).
    cursor: (usize, usize),
}

impl<'s> Reader<'s> {
    /// True when the next node is not read as data (under `_…` or a hook).
    fn unread(&self) -> bool {
        match self.stack.last() {
            None => false,
            Some(Frame::Seq { unread, .. }) => *unread,
            Some(Frame::Map {
                unread, pending, ..
            }) => {
                *unread
                    || pending
                        .as_ref()
                        .is_some_and(|k| k.refused || unread_key(&k.name))
            }
        }
    }

    /// True when the next scalar is a mapping key.
    fn at_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Map { pending: None, .. }))
    }

    /// The YAML path of the next node, as the decoder writes paths.
    fn path(&self) -> String {
        let mut p = String::new();
        for f in &self.stack {
            match f {
                Frame::Seq { items, .. } => p.push_str(&format!("[{}]", items.len())),
                Frame::Map {
                    pending: Some(k), ..
                } => {
                    if !p.is_empty() {
                        p.push('.');
                    }
                    p.push_str(&k.name);
                }
                Frame::Map { pending: None, .. } => {}
            }
        }
        p
    }

    /// Byte offset of character index `idx`.
    fn byte_at(&mut self, idx: usize) -> usize {
        if idx < self.cursor.0 {
            self.cursor = (0, 0);
        }
        let (mut i, mut b) = self.cursor;
        let mut it = self.src[b..].chars();
        while i < idx {
            match it.next() {
                Some(c) => {
                    i += 1;
                    b += c.len_utf8();
                }
                None => break,
            }
        }
        self.cursor = (i, b);
        b
    }

    /// Where in the source the scalar at `span` holds `c` (raw, or written as
    /// an escape in double quotes); the scalar's start if it cannot be found.
    fn locate(&mut self, span: &Span, style: ScalarStyle, c: char) -> Pos {
        let start = self.byte_at(span.start.index());
        let end = self.byte_at(span.end.index()).max(start);
        find_in_source(&self.src[start..end], pos_of(&span.start), style, c)
            .unwrap_or(pos_of(&span.start))
    }

    /// Refuse a key or value holding the unsafe character `c` at `at`. A
    /// key's path is its mapping's: the key is not on the path yet.
    fn refuse(&mut self, at: Pos, c: char, key: bool) {
        let path = self.path();
        let what = if key { "key" } else { "value" };
        self.refused.push(unsafe_char_error(at, path, what, c));
    }

    /// Count `n` against the node and text budgets.
    fn spend(&mut self, n: &Node, pos: Pos) -> Result<(), Diagnostic> {
        let (nodes, bytes) = size(n);
        self.nodes += nodes;
        self.text_bytes += bytes;
        if self.nodes > MAX_NODES {
            return Err(Diagnostic::error(
                Some(pos),
                "",
                "aliases expand to more than a million nodes",
            )
            .with_hint("a layout never needs this; is the file a YAML bomb?"));
        }
        if self.text_bytes > MAX_TEXT_BYTES {
            return Err(Diagnostic::error(
                Some(pos),
                "",
                "aliases expand to more than 64 MiB of text",
            )
            .with_hint("a layout never needs this; is the file a YAML bomb?"));
        }
        Ok(())
    }

    /// All errors so far, in file order.
    fn all(mut self) -> Vec<Diagnostic> {
        self.refused.append(&mut self.diags);
        self.refused
            .sort_by_key(|d| d.pos.map(|p| (p.line, p.col)).unwrap_or((0, 0)));
        self.refused
    }
}

/// Scalar nodes and text bytes in `n`, for the bomb budgets.
fn size(n: &Node) -> (usize, usize) {
    match &n.kind {
        Kind::Seq(items) => items
            .iter()
            .map(size)
            .fold((1, 0), |a, b| (a.0 + b.0, a.1 + b.1)),
        Kind::Map(entries) => entries.iter().fold((1, 0), |a, (k, v)| {
            let b = size(v);
            (a.0 + 1 + b.0, a.1 + k.name.len() + b.1)
        }),
        Kind::Scalar { value, .. } => (1, value.len()),
        _ => (1, 0),
    }
}

/// Parse `src` into a tree. Values with unsafe characters are refused in
/// the tree and reported in [`Tree::refused`]. `Err` for what leaves no
/// usable tree (syntax errors, duplicate keys, bombs), with every
/// diagnostic found before the parser gave up.
pub fn parse(src: &str) -> Result<Tree, Vec<Diagnostic>> {
    let mut r = Reader {
        src,
        stack: Vec::new(),
        anchors: HashMap::new(),
        diags: Vec::new(),
        refused: Vec::new(),
        nodes: 0,
        text_bytes: 0,
        cursor: (0, 0),
    };
    let mut root: Option<Node> = None;
    let mut documents = 0usize;
    // The parser takes a NUL for the end of the input and then reports
    // something else (an unclosed quote); name it instead.
    if let Some(at) = src.find('\0') {
        r.diags.push(
            Diagnostic::error(
                Some(pos_at(src, at)),
                "",
                format!("the file contains a {} character", char_name('\0')),
            )
            .with_hint("a layout is a text file; is this the right file?"),
        );
        return Err(r.all());
    }

    for item in Parser::new_from_str(src) {
        let (event, span) = match item {
            Ok(x) => x,
            Err(e) => {
                r.diags.push(syntax_error(e.marker(), e.info()));
                return Err(r.all());
            }
        };
        let pos = pos_of(&span.start);
        let finished: Option<(Node, usize)> = match event {
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    r.diags.push(
                        Diagnostic::error(Some(pos), "", "more than one YAML document in the file")
                            .with_hint("a layout is one document; remove the extra `---`"),
                    );
                    return Err(r.all());
                }
                None
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if r.stack.len() >= MAX_DEPTH {
                    r.diags.push(Diagnostic::error(
                        Some(pos),
                        "",
                        format!("nesting deeper than {MAX_DEPTH} levels"),
                    ));
                    return Err(r.all());
                }
                let unread = r.unread();
                if matches!(event, Event::SequenceStart(..)) {
                    r.stack.push(Frame::Seq {
                        items: Vec::new(),
                        pos,
                        anchor,
                        unread,
                    });
                } else {
                    r.stack.push(Frame::Map {
                        entries: Vec::new(),
                        pending: None,
                        pos,
                        anchor,
                        seen: HashMap::new(),
                        unread,
                    });
                }
                continue;
            }
            Event::SequenceEnd => match r.stack.pop() {
                Some(Frame::Seq {
                    items, pos, anchor, ..
                }) => Some((
                    Node {
                        kind: Kind::Seq(items),
                        pos,
                    },
                    anchor,
                )),
                _ => unreachable!("the parser balances sequence events"),
            },
            Event::MappingEnd => match r.stack.pop() {
                Some(Frame::Map {
                    entries,
                    pos,
                    anchor,
                    ..
                }) => Some((
                    Node {
                        kind: Kind::Map(entries),
                        pos,
                    },
                    anchor,
                )),
                _ => unreachable!("the parser balances mapping events"),
            },
            Event::Scalar(value, style, anchor, _tag) => {
                // Plain text is bounded by the file size; only aliases grow it.
                r.text_bytes += value.len();
                let flaw = value.chars().find(|c| is_unsafe(*c));
                let kind = match flaw {
                    Some(c) if !r.unread() => {
                        let at = r.locate(&span, style, c);
                        let key = r.at_key();
                        r.refuse(at, c, key);
                        if key && let Some(Frame::Map { pending, .. }) = r.stack.last_mut() {
                            // Without the character, `dev<ZWSP>ice` still
                            // counts as the `device` the mapping has.
                            *pending = Some(Key {
                                name: value.chars().filter(|c| !is_unsafe(*c)).collect(),
                                pos,
                                refused: true,
                            });
                            continue;
                        }
                        Kind::Refused
                    }
                    _ => {
                        let quoted = !matches!(style, ScalarStyle::Plain);
                        if !quoted && matches!(value.as_ref(), "" | "~" | "null" | "Null" | "NULL")
                        {
                            Kind::Null
                        } else {
                            Kind::Scalar {
                                value: value.into_owned(),
                                quoted,
                            }
                        }
                    }
                };
                Some((Node { kind, pos }, anchor))
            }
            Event::Alias(id) => match r.anchors.get(&id) {
                Some(a) => {
                    let mut n = Node {
                        pos,
                        ..a.node.clone()
                    };
                    if a.unread
                        && !r.unread()
                        && let Some(c) = first_unsafe(&n)
                    {
                        let key = r.at_key();
                        r.refuse(pos, c, key);
                        n.kind = Kind::Refused;
                    }
                    if let Err(d) = r.spend(&n, pos) {
                        r.diags.push(d);
                        return Err(r.all());
                    }
                    Some((n, 0))
                }
                None => {
                    r.diags.push(Diagnostic::error(
                        Some(pos),
                        "",
                        "alias to an unknown anchor",
                    ));
                    return Err(r.all());
                }
            },
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => None,
        };
        let Some((node, anchor)) = finished else {
            continue;
        };
        r.nodes += 1;
        if r.nodes > MAX_NODES {
            r.diags.push(Diagnostic::error(
                Some(pos),
                "",
                "the document has more than a million nodes",
            ));
            return Err(r.all());
        }
        if anchor != 0 {
            let unread = r.unread();
            r.anchors.insert(
                anchor,
                Anchor {
                    node: node.clone(),
                    unread,
                },
            );
        }
        attach(&mut r, &mut root, node);
    }
    if r.diags.is_empty() {
        r.refused
            .sort_by_key(|d| d.pos.map(|p| (p.line, p.col)).unwrap_or((0, 0)));
        Ok(Tree {
            root,
            refused: r.refused,
        })
    } else {
        Err(r.all())
    }
}

/// Put a finished node where it belongs: the root, a list, or a mapping
/// (as its next key, or as the value of the pending key).
fn attach(r: &mut Reader, root: &mut Option<Node>, node: Node) {
    match r.stack.last_mut() {
        None => *root = Some(node),
        // A refused list item is dropped: readers of lists would otherwise
        // complain about it once more (e.g. "not a bit number").
        Some(Frame::Seq { .. }) if node.kind == Kind::Refused => {}
        Some(Frame::Seq { items, .. }) => items.push(node),
        Some(Frame::Map {
            entries,
            pending,
            seen,
            ..
        }) => {
            match pending.take() {
                None => {
                    let name = match &node.kind {
                        Kind::Scalar { value, .. } => value.clone(),
                        Kind::Null | Kind::Refused => String::new(),
                        _ => {
                            r.diags.push(Diagnostic::error(
                                Some(node.pos),
                                "",
                                "mapping keys must be plain names",
                            ));
                            "?".to_string()
                        }
                    };
                    *pending = Some(Key {
                        name,
                        pos: node.pos,
                        refused: false,
                    });
                }
                // The value of a refused key is refused with it, unread.
                Some(key) if key.refused => entries.push((
                    key,
                    Node {
                        kind: Kind::Refused,
                        pos: node.pos,
                    },
                )),
                Some(key) => {
                    if let Some(first) = seen.get(&key.name) {
                        r.diags.push(
                        Diagnostic::error(Some(key.pos), "", format!("duplicate key `{}`", key.name))
                            .with_hint(format!(
                                "first defined at line {}; YAML would silently keep only the last one",
                                first.line
                            )),
                    );
                    } else {
                        seen.insert(key.name.clone(), key.pos);
                        entries.push((key, node));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
