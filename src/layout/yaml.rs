//! A YAML (and therefore JSON) document as a tree whose every node knows its
//! position. Serde stops at the first error and forgets positions of values it
//! accepted; the validator needs both, so the layout is read through this tree.
//!
//! Duplicate keys are refused here: YAML maps otherwise silently keep the last
//! value, and a duplicated disk would vanish from the layout.
//!
//! So are control and invisible characters (see [`is_unsafe`]) in any
//! key or value nasstrap reads: they can drive the terminal that shows a plan
//! or make two different names look the same. The error points at the
//! character itself; the value becomes [`Kind::Refused`], which readers skip
//! without further errors (a refused key keeps its entry, with the value
//! refused and the key marked, so its mapping does not report it missing). TAB is refused like the rest, also in
//! quoted strings and extraArgs: no name, path, option or argument needs one,
//! and a tab shows as spaces, so `a<TAB>b` would be told apart from `a b` by
//! nobody. Values under disko's internal `_…` keys and its hooks are shell
//! text that nasstrap never uses (hooks are refused by name), so they are not
//! checked unless an alias carries them somewhere that is read.

use super::diag::{Diagnostic, Pos, char_name, is_unsafe, pos_at};
use super::read::HOOKS;
use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use std::collections::HashMap;

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
/// computed internals and its hooks (shell text; hooks are refused by name).
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

/// The error for an unsafe character in a key or value.
fn unsafe_char_error(at: Pos, path: String, what: &str, c: char) -> Diagnostic {
    let hint = match c {
        '\t' => "write spaces instead; no name, path or argument needs a tab",
        '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}' => {
            "write the value on one line; no name, path or argument spans lines"
        }
        '\u{feff}' => "delete the byte order mark; editors leave one where files were joined",
        _ => {
            "delete it: it can hide or reorder text or drive the terminal; retype the text if it was pasted"
        }
    };
    Diagnostic::error(
        Some(at),
        path,
        format!(
            "the {what} contains an invisible or control character ({})",
            char_name(c)
        ),
    )
    .with_hint(hint)
}

/// Search `text` (the source of one scalar, starting at `start`) for the
/// character `c` of its value. Line breaks are matched only in block
/// scalars, whose span starts at their content (elsewhere YAML folds
/// breaks); in double quotes, escapes are decoded.
fn find_in_source(text: &str, start: Pos, style: ScalarStyle, c: char) -> Option<Pos> {
    let block = matches!(style, ScalarStyle::Literal | ScalarStyle::Folded);
    let double = matches!(style, ScalarStyle::DoubleQuoted);
    let (mut line, mut col) = (start.line, start.col);
    let mut it = text.chars().peekable();
    while let Some(ch) = it.next() {
        let here = Pos { line, col };
        if ch == '\n' || ch == '\r' {
            if ch == '\r' && it.peek() == Some(&'\n') {
                it.next();
            }
            if block && c == '\n' {
                return Some(here);
            }
            line += 1;
            col = 1;
            continue;
        }
        col += 1;
        if ch == '\\' && double {
            if unescape(&mut it, &mut col) == Some(c) {
                return Some(here);
            }
        } else if ch == c {
            return Some(here);
        }
    }
    None
}

/// The character a double-quoted escape stands for, consuming it after the
/// backslash (`col` follows); `None` for line continuations and bad escapes.
fn unescape(it: &mut std::iter::Peekable<std::str::Chars<'_>>, col: &mut u32) -> Option<char> {
    let e = *it.peek()?;
    if e == '\n' || e == '\r' {
        return None;
    }
    it.next();
    *col += 1;
    let hex = |n: usize, it: &mut std::iter::Peekable<std::str::Chars<'_>>, col: &mut u32| {
        let mut v = 0u32;
        for _ in 0..n {
            let d = it.peek()?.to_digit(16)?;
            it.next();
            *col += 1;
            v = v * 16 + d;
        }
        char::from_u32(v)
    };
    Some(match e {
        '0' => '\0',
        'a' => '\u{7}',
        'b' => '\u{8}',
        't' | '\t' => '\t',
        'n' => '\n',
        'v' => '\u{b}',
        'f' => '\u{c}',
        'r' => '\r',
        'e' => '\u{1b}',
        'N' => '\u{85}',
        '_' => '\u{a0}',
        'L' => '\u{2028}',
        'P' => '\u{2029}',
        'x' => hex(2, it, col)?,
        'u' => hex(4, it, col)?,
        'U' => hex(8, it, col)?,
        other => other,
    })
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

/// The first unsafe character in the parts of `n` that are read, for an
/// alias whose anchor was defined where nothing was checked.
fn first_unsafe(n: &Node) -> Option<char> {
    match &n.kind {
        Kind::Scalar { value, .. } => value.chars().find(|c| is_unsafe(*c)),
        Kind::Seq(items) => items.iter().find_map(first_unsafe),
        Kind::Map(entries) => entries.iter().find_map(|(k, v)| {
            k.name
                .chars()
                .find(|c| is_unsafe(*c))
                .or_else(|| (!unread_key(&k.name)).then(|| first_unsafe(v)).flatten())
        }),
        _ => None,
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

/// What went wrong in the YAML syntax, told apart by the parser's exact
/// message (saphyr-parser has no error codes), so each kind gets its hint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyntaxKind {
    /// A tab where YAML wants spaces.
    Tab,
    /// A `[` or `{` not closed, or a bracket out of place.
    UnclosedFlow,
    /// A quoted string without its closing quote.
    UnclosedQuote,
    /// An alias (`*name`) before or without its anchor (`&name`).
    UnknownAnchor,
    /// An anchor or alias without a proper name.
    BadAnchor,
    /// A character YAML does not allow in a file (NUL).
    Unprintable,
    /// A byte order mark inside the document.
    ByteOrderMark,
    /// A backslash escape that does not exist, in double quotes.
    BadEscape,
    /// Lines that do not line up.
    Indentation,
    /// A `: ` where no mapping value can start (`a: b: c`).
    MappingValue,
    /// Text right after a closing double quote.
    AfterQuote,
    /// A key without its `:`.
    MissingColon,
    /// More nesting than the parser follows.
    TooDeep,
    /// A reserved indicator (`@`, `` ` ``) starting a plain value.
    Reserved,
    /// YAML tags (`!`) and directives (`%`), which layouts never need.
    TagOrDirective,
    /// Misplaced document markers (`---`, `...`).
    Document,
    /// Anything else.
    Other,
}

/// saphyr-parser's messages (0.3), each with its kind.
const SYNTAX_MESSAGES: &[(&str, SyntaxKind)] = {
    use SyntaxKind::*;
    &[
        (
            "tabs disallowed within this context (block indentation)",
            Tab,
        ),
        ("tabs disallowed in this context", Tab),
        ("tab cannot be used as indentation", Tab),
        ("while scanning a plain scalar, found a tab", Tab),
        ("a block scalar content cannot start with a tab", Tab),
        (
            "while parsing a flow sequence, expected ',' or ']'",
            UnclosedFlow,
        ),
        (
            "while parsing a flow mapping, did not find expected ',' or '}'",
            UnclosedFlow,
        ),
        ("misplaced bracket", UnclosedFlow),
        (
            "while scanning a quoted scalar, found unexpected end of stream",
            UnclosedQuote,
        ),
        (
            "while scanning a quoted scalar, found unexpected document indicator",
            UnclosedQuote,
        ),
        ("while parsing node, found unknown anchor", UnknownAnchor),
        ("while parsing anchor, found duplicated anchor", BadAnchor),
        (
            "while scanning an anchor or alias, did not find expected alphabetic or numeric character",
            BadAnchor,
        ),
        ("invalid indentation for anchor", BadAnchor),
        ("found unprintable character", Unprintable),
        (
            "a byte order mark must not appear inside a document",
            ByteOrderMark,
        ),
        (
            "while parsing a quoted scalar, found unknown escape character",
            BadEscape,
        ),
        (
            "while parsing a quoted scalar, found invalid Unicode character escape code",
            BadEscape,
        ),
        (
            "while parsing a quoted scalar, did not find expected hexadecimal number",
            BadEscape,
        ),
        ("invalid indentation", Indentation),
        ("invalid indentation in quoted scalar", Indentation),
        ("invalid indentation in flow construct", Indentation),
        ("wrongly indented line in block scalar", Indentation),
        (
            "while parsing a block mapping, did not find expected key",
            Indentation,
        ),
        (
            "while parsing a block collection, did not find expected '-' indicator",
            Indentation,
        ),
        (
            "mapping values are not allowed in this context",
            MappingValue,
        ),
        (
            "invalid trailing content after double-quoted scalar",
            AfterQuote,
        ),
        ("simple key expect ':'", MissingColon),
        ("simple key expected", MissingColon),
        ("recursion limit exceeded", TooDeep),
        ("unexpected character: `@'", Reserved),
        ("unexpected character: ``'", Reserved),
        ("unexpected character: `%'", TagOrDirective),
        (
            "while scanning a tag, did not find expected whitespace or line break",
            TagOrDirective,
        ),
        (
            "while scanning a tag, did not find expected '!'",
            TagOrDirective,
        ),
        (
            "while scanning a verbatim tag, did not find the expected '>'",
            TagOrDirective,
        ),
        (
            "while scanning TAG, did not find expected whitespace or line break",
            TagOrDirective,
        ),
        (
            "while parsing a tag, found an invalid escape sequence",
            TagOrDirective,
        ),
        (
            "while parsing a tag, found an invalid UTF-8 codepoint",
            TagOrDirective,
        ),
        (
            "while parsing a tag, found an incorrect trailing UTF-8 byte",
            TagOrDirective,
        ),
        (
            "while parsing a tag, found an incorrect leading UTF-8 byte",
            TagOrDirective,
        ),
        (
            "while parsing a tag, did not find expected tag URI",
            TagOrDirective,
        ),
        (
            "while parsing a tag directive, did not find expected '!'",
            TagOrDirective,
        ),
        (
            "while scanning a directive, found unexpected non-alphabetical character",
            TagOrDirective,
        ),
        (
            "while scanning a directive, did not find expected comment or line break",
            TagOrDirective,
        ),
        (
            "while scanning a directive, could not find expected directive name",
            TagOrDirective,
        ),
        (
            "while scanning a YAML directive, found extremely long version number",
            TagOrDirective,
        ),
        (
            "while scanning a YAML directive, did not find expected version number",
            TagOrDirective,
        ),
        (
            "while scanning a YAML directive, did not find expected digit or '.' character",
            TagOrDirective,
        ),
        ("the handle wasn't declared", TagOrDirective),
        ("invalid global tag character", TagOrDirective),
        ("duplicate version directive", TagOrDirective),
        (
            "the TAG directive must only be given at most once per handle in the same document",
            TagOrDirective,
        ),
        ("found incompatible YAML document", TagOrDirective),
        ("did not find expected <document start>", Document),
        ("did not find expected <document-start>", Document),
        ("invalid content after document end marker", Document),
        (
            "missing explicit document end marker before directive",
            Document,
        ),
    ]
};

impl SyntaxKind {
    /// The kind of a saphyr-parser message.
    pub fn of(info: &str) -> SyntaxKind {
        SYNTAX_MESSAGES
            .iter()
            .find(|(m, _)| *m == info)
            .map(|(_, k)| *k)
            .unwrap_or(SyntaxKind::Other)
    }

    /// What to do about it.
    pub fn hint(self) -> Option<&'static str> {
        use SyntaxKind::*;
        Some(match self {
            Tab => "indent with spaces; YAML does not allow tabs for indentation",
            UnclosedFlow => "a `[` or `{` is not closed",
            UnclosedQuote => "a quoted string is not closed; add the closing quote",
            UnknownAnchor => "define the anchor (`&name`) before the alias (`*name`) uses it",
            BadAnchor => "an anchor or alias is `&` or `*` followed by a name, e.g. `&common`",
            Unprintable => {
                "the file holds a NUL or another character YAML does not allow; is it a text file?"
            }
            ByteOrderMark => {
                "delete the byte order mark (U+FEFF); only the start of a file may hold one"
            }
            BadEscape => {
                "in double quotes a backslash starts an escape; write `\\\\` for a backslash, or use single quotes"
            }
            Indentation => {
                "indent each level with the same number of spaces, deeper than its parent"
            }
            MappingValue => "quote a value that contains `: `, e.g. `name: \"a: b\"`",
            AfterQuote => "end the value at its closing quote, or quote all of it",
            MissingColon => {
                "a line of a mapping lacks its `key: ` (usually the line before this position)"
            }
            TooDeep => "real layouts nest fewer than 15 levels; is this the right file?",
            Reserved => "`@` and `` ` `` cannot start a plain value; quote it",
            TagOrDirective => {
                "layouts need no YAML tags (`!`) or directives (`%`); remove them or quote the value"
            }
            Document => "a layout is one YAML document; check the `---` and `...` lines",
            Other => return None,
        })
    }
}

fn syntax_error(m: &saphyr_parser::Marker, info: &str) -> Diagnostic {
    let d = Diagnostic::error(Some(pos_of(m)), "", format!("yaml syntax: {info}"));
    match SyntaxKind::of(info).hint() {
        Some(h) => d.with_hint(h),
        None => d,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(src: &str) -> Vec<String> {
        parse(src)
            .unwrap_err()
            .iter()
            .map(|d| d.to_string())
            .collect()
    }

    /// The refusals of a document that parses.
    fn refused(src: &str) -> Vec<String> {
        parse(src)
            .unwrap()
            .refused
            .iter()
            .map(|d| d.to_string())
            .collect()
    }

    fn root(src: &str) -> Node {
        parse(src).unwrap().root.unwrap()
    }

    #[test]
    fn positions_and_kinds() {
        let n = root("a:\n  b: [1, \"x\"]\n  c: ~\n");
        let Kind::Map(e) = &n.kind else { panic!() };
        assert_eq!(e[0].0.name, "a");
        let Kind::Map(inner) = &e[0].1.kind else {
            panic!()
        };
        assert_eq!(inner[0].0.pos, Pos { line: 2, col: 3 });
        assert_eq!(inner[1].1.kind, Kind::Null);
        let Kind::Seq(items) = &inner[0].1.kind else {
            panic!()
        };
        assert_eq!(
            items[1].kind,
            Kind::Scalar {
                value: "x".into(),
                quoted: true
            }
        );
        assert_eq!(items[1].pos, Pos { line: 2, col: 10 });
    }

    #[test]
    fn empty_document() {
        assert_eq!(parse("").unwrap().root, None);
        assert_eq!(parse("# only a comment\n").unwrap().root, None);
    }

    #[test]
    fn duplicate_keys_are_errors() {
        assert_eq!(
            err("disk:\n  sda: {}\n  sda: {}\n"),
            [
                "3:3: duplicate key `sda`\n  hint: first defined at line 2; YAML would silently keep only the last one"
            ]
        );
    }

    /// Every kind of syntax error, from a real input, with its hint.
    #[test]
    fn syntax_errors_have_positions_and_a_hint_per_kind() {
        use SyntaxKind::*;
        let cases: &[(&str, SyntaxKind, &str)] = &[
            (
                "a:\n\tb: 1\n",
                Tab,
                "2:2: yaml syntax: tabs disallowed within this context (block indentation)\n  hint: indent with spaces; YAML does not allow tabs for indentation",
            ),
            (
                "a:\n  - x\n\t- y\n",
                Tab,
                "2:5: yaml syntax: while scanning a plain scalar, found a tab\n  hint: indent with spaces; YAML does not allow tabs for indentation",
            ),
            (
                "a: |\n\tb\n",
                Tab,
                "1:4: yaml syntax: a block scalar content cannot start with a tab\n  hint: indent with spaces; YAML does not allow tabs for indentation",
            ),
            (
                "a: [1, 2\n",
                UnclosedFlow,
                "2:1: yaml syntax: while parsing a flow sequence, expected ',' or ']'\n  hint: a `[` or `{` is not closed",
            ),
            (
                "a: {b: 1\n",
                UnclosedFlow,
                "2:1: yaml syntax: while parsing a flow mapping, did not find expected ',' or '}'\n  hint: a `[` or `{` is not closed",
            ),
            (
                "a: ]\n",
                UnclosedFlow,
                "1:4: yaml syntax: misplaced bracket\n  hint: a `[` or `{` is not closed",
            ),
            (
                "a: \"abc\n",
                UnclosedQuote,
                "1:4: yaml syntax: while scanning a quoted scalar, found unexpected end of stream\n  hint: a quoted string is not closed; add the closing quote",
            ),
            (
                "a: 'x\n---\n'\n",
                UnclosedQuote,
                "1:4: yaml syntax: while scanning a quoted scalar, found unexpected document indicator\n  hint: a quoted string is not closed; add the closing quote",
            ),
            (
                "a: *nope\n",
                UnknownAnchor,
                "1:4: yaml syntax: while parsing node, found unknown anchor\n  hint: define the anchor (`&name`) before the alias (`*name`) uses it",
            ),
            (
                "a: & x\n",
                BadAnchor,
                "1:4: yaml syntax: while scanning an anchor or alias, did not find expected alphabetic or numeric character\n  hint: an anchor or alias is `&` or `*` followed by a name, e.g. `&common`",
            ),
            (
                "a: b\u{feff}c\n",
                ByteOrderMark,
                "1:5: yaml syntax: a byte order mark must not appear inside a document\n  hint: delete the byte order mark (U+FEFF); only the start of a file may hold one",
            ),
            (
                "a: \"\\q\"\n",
                BadEscape,
                "1:4: yaml syntax: while parsing a quoted scalar, found unknown escape character\n  hint: in double quotes a backslash starts an escape; write `\\\\` for a backslash, or use single quotes",
            ),
            (
                "a: \"\\uD800\"\n",
                BadEscape,
                "1:4: yaml syntax: while parsing a quoted scalar, found invalid Unicode character escape code\n  hint: in double quotes a backslash starts an escape; write `\\\\` for a backslash, or use single quotes",
            ),
            (
                "a:\n    b: 1\n  c: 2\n",
                Indentation,
                "3:3: yaml syntax: while parsing a block mapping, did not find expected key\n  hint: indent each level with the same number of spaces, deeper than its parent",
            ),
            (
                "- a\nb: c\n",
                Indentation,
                "2:1: yaml syntax: while parsing a block collection, did not find expected '-' indicator\n  hint: indent each level with the same number of spaces, deeper than its parent",
            ),
            (
                "a: b: c\n",
                MappingValue,
                "1:5: yaml syntax: mapping values are not allowed in this context\n  hint: quote a value that contains `: `, e.g. `name: \"a: b\"`",
            ),
            (
                "a: \"x\"y\n",
                AfterQuote,
                "1:7: yaml syntax: invalid trailing content after double-quoted scalar\n  hint: end the value at its closing quote, or quote all of it",
            ),
            (
                "a: 1\nb\nc: 2\n",
                MissingColon,
                "3:1: yaml syntax: simple key expect ':'\n  hint: a line of a mapping lacks its `key: ` (usually the line before this position)",
            ),
            (
                "a: 1\nbbb",
                MissingColon,
                "3:1: yaml syntax: simple key expected\n  hint: a line of a mapping lacks its `key: ` (usually the line before this position)",
            ),
            (
                &"[".repeat(10_000),
                TooDeep,
                "1:256: yaml syntax: recursion limit exceeded\n  hint: real layouts nest fewer than 15 levels; is this the right file?",
            ),
            (
                "a: @x\n",
                Reserved,
                "1:4: yaml syntax: unexpected character: `@'\n  hint: `@` and `` ` `` cannot start a plain value; quote it",
            ),
            (
                "a: !<x\n",
                TagOrDirective,
                "1:4: yaml syntax: while scanning a verbatim tag, did not find the expected '>'\n  hint: layouts need no YAML tags (`!`) or directives (`%`); remove them or quote the value",
            ),
            (
                "a: !x!y z\n",
                TagOrDirective,
                "1:4: yaml syntax: the handle wasn't declared\n  hint: layouts need no YAML tags (`!`) or directives (`%`); remove them or quote the value",
            ),
            (
                "a: 1\n... x\n",
                Document,
                "2:5: yaml syntax: invalid content after document end marker\n  hint: a layout is one YAML document; check the `---` and `...` lines",
            ),
            (
                "a: |0\n  x\n",
                Other,
                "1:4: yaml syntax: while scanning a block scalar, found an indentation indicator equal to 0",
            ),
        ];
        for (src, kind, want) in cases {
            let got = parse(src).unwrap_err();
            assert_eq!(got.len(), 1, "{src:?}");
            let info = got[0].message.trim_start_matches("yaml syntax: ");
            assert_eq!(
                (SyntaxKind::of(info), got[0].to_string().as_str()),
                (*kind, *want),
                "{src:?}"
            );
        }
    }

    /// The review's case: the message mentions neither tabs nor flows, and
    /// the hint comes from the kind, not from words in the message.
    #[test]
    fn unprintable_characters_get_their_own_hint() {
        assert_eq!(
            SyntaxKind::of("found unprintable character"),
            SyntaxKind::Unprintable
        );
        assert_eq!(
            SyntaxKind::Unprintable.hint(),
            Some(
                "the file holds a NUL or another character YAML does not allow; is it a text file?"
            )
        );
        // A message that merely mentions a tab is not the tab kind.
        assert_eq!(
            SyntaxKind::of("found a tab somewhere new"),
            SyntaxKind::Other
        );
        // NUL is found before the parser, which would call it an unclosed quote.
        assert_eq!(
            err("a: 1\nb: \"x\0y\"\n"),
            [
                "2:6: the file contains a U+0000 NULL character\n  hint: a layout is a text file; is this the right file?"
            ]
        );
        assert_eq!(
            err("a: b\0c\n"),
            [
                "1:5: the file contains a U+0000 NULL character\n  hint: a layout is a text file; is this the right file?"
            ]
        );
    }

    #[test]
    fn bombs_and_depth_are_refused() {
        let deep = "[".repeat(120) + &"]".repeat(120);
        assert_eq!(err(&deep), ["1:101: nesting deeper than 100 levels"]);
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        let mut prev = 'a';
        for c in 'b'..='k' {
            bomb.push_str(&format!("{c}: &{c} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
            prev = c;
        }
        assert!(err(&bomb)[0].contains("more than a million nodes"));
        // Few nodes, much text: a 1 MiB string aliased 100 times.
        let mut wide = format!("a: &a {}\nb: [", "x".repeat(1 << 20));
        wide.push_str(&vec!["*a"; 100].join(", "));
        wide.push_str("]\n");
        assert_eq!(
            err(&wide),
            [
                "2:253: aliases expand to more than 64 MiB of text\n  hint: a layout never needs this; is the file a YAML bomb?"
            ]
        );
    }

    /// Unsafe characters in keys and values, raw or escaped, located at the
    /// character itself.
    #[test]
    fn unsafe_characters_are_refused_where_they_are() {
        let cases: &[(&str, &str)] = &[
            (
                "disk:\n  d1:\n    device: /dev/sda\u{1b}[2J\n",
                "3:21: disk.d1.device: the value contains an invisible or control character (U+001B ESCAPE)\n  hint: delete it: it can hide or reorder text or drive the terminal; retype the text if it was pasted",
            ),
            (
                "a: \"x\\e]0;title\\a\"\n",
                "1:6: a: the value contains an invisible or control character (U+001B ESCAPE)\n  hint: delete it: it can hide or reorder text or drive the terminal; retype the text if it was pasted",
            ),
            (
                "a: \"\\x9b\"\n",
                "1:5: a: the value contains an invisible or control character (U+009B CONTROL SEQUENCE INTRODUCER)\n  hint: delete it: it can hide or reorder text or drive the terminal; retype the text if it was pasted",
            ),
            (
                "a: x\u{9b}2J\n",
                "1:5: a: the value contains an invisible or control character (U+009B CONTROL SEQUENCE INTRODUCER)\n  hint: delete it: it can hide or reorder text or drive the terminal; retype the text if it was pasted",
            ),
            (
                "disk:\n  \"d\u{202e}1\": {}\n",
                "2:5: disk: the key contains an invisible or control character (U+202E RIGHT-TO-LEFT OVERRIDE)\n  hint: delete it: it can hide or reorder text or drive the terminal; retype the text if it was pasted",
            ),
            (
                "a: 'données\u{200b}'\n",
                "1:12: a: the value contains an invisible or control character (U+200B ZERO WIDTH SPACE)\n  hint: delete it: it can hide or reorder text or drive the terminal; retype the text if it was pasted",
            ),
            (
                "a: [ok, \"\\u2066x\"]\n",
                "1:10: a[1]: the value contains an invisible or control character (U+2066 LEFT-TO-RIGHT ISOLATE)\n  hint: delete it: it can hide or reorder text or drive the terminal; retype the text if it was pasted",
            ),
            (
                "a: \"x\ty\"\n",
                "1:6: a: the value contains an invisible or control character (U+0009 CHARACTER TABULATION)\n  hint: write spaces instead; no name, path or argument needs a tab",
            ),
            (
                "a: |\n  /dev/sda\n",
                "2:11: a: the value contains an invisible or control character (U+000A LINE FEED)\n  hint: write the value on one line; no name, path or argument spans lines",
            ),
            (
                "a: \"x\\ny\"\n",
                "1:6: a: the value contains an invisible or control character (U+000A LINE FEED)\n  hint: write the value on one line; no name, path or argument spans lines",
            ),
            (
                "a: x\u{2028}y\n",
                "1:5: a: the value contains an invisible or control character (U+2028 LINE SEPARATOR)\n  hint: write the value on one line; no name, path or argument spans lines",
            ),
            (
                "a: \"x\u{feff}\"\n",
                "1:6: a: the value contains an invisible or control character (U+FEFF ZERO WIDTH NO-BREAK SPACE)\n  hint: delete the byte order mark; editors leave one where files were joined",
            ),
            (
                "a: x\u{7f}\n",
                "1:5: a: the value contains an invisible or control character (U+007F DELETE)\n  hint: delete it: it can hide or reorder text or drive the terminal; retype the text if it was pasted",
            ),
            // Columns count characters, also after multi-byte ones.
            (
                "名前: \"日本語\u{1b}\"\n",
                "1:9: 名前: the value contains an invisible or control character (U+001B ESCAPE)\n  hint: delete it: it can hide or reorder text or drive the terminal; retype the text if it was pasted",
            ),
        ];
        for (src, want) in cases {
            assert_eq!(refused(src), [*want], "{src:?}");
        }
    }

    #[test]
    fn refused_values_and_keys_leave_a_marked_hole() {
        // A refused value stays in its mapping as `Refused`; a refused list
        // item is dropped; a refused key keeps its entry under its name
        // without the character, marked, with the value refused.
        let n = root("a: \"\\e\"\nb: [x, \"\\e\", y]\n\"c\u{200b}d\": 1\n");
        let Kind::Map(e) = &n.kind else { panic!() };
        assert_eq!(e[0].1.kind, Kind::Refused);
        let Kind::Seq(items) = &e[1].1.kind else {
            panic!()
        };
        assert_eq!(items.len(), 2);
        assert_eq!(
            (e[2].0.name.as_str(), e[2].0.refused, &e[2].1.kind),
            ("cd", true, &Kind::Refused)
        );
    }

    #[test]
    fn unread_values_are_not_checked_unless_an_alias_brings_them_in() {
        // disko's computed `_create` and hooks are shell text with newlines.
        assert_eq!(
            refused("_create: \"set -e\\nmkfs\\n\"\ndisk: { postCreateHook: \"a\\nb\" }\n"),
            Vec::<String>::new()
        );
        assert_eq!(
            refused("_x: &e \"/dev/sda\\e[2J\"\ndisk: { d1: { device: *e } }\n"),
            [
                "2:23: disk.d1.device: the value contains an invisible or control character (U+001B ESCAPE)\n  hint: delete it: it can hide or reorder text or drive the terminal; retype the text if it was pasted"
            ]
        );
    }
}
