//! A YAML (and therefore JSON) document as a tree whose every node knows its
//! position. Serde stops at the first error and forgets positions of values it
//! accepted; the validator needs both, so the layout is read through this tree.
//!
//! Duplicate keys are refused here: YAML maps otherwise silently keep the last
//! value, and a duplicated disk would vanish from the layout.

use super::diag::{Diagnostic, Pos};
use saphyr_parser::{Event, Parser, ScalarStyle};
use std::collections::HashMap;

/// Deeper nesting than this is refused; real layouts are under 15 levels.
pub const MAX_DEPTH: usize = 100;
/// Alias expansion may not grow the tree beyond this many nodes (billion laughs).
pub const MAX_NODES: usize = 1_000_000;

/// A node of the tree.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// What the node holds.
    pub kind: Kind,
    /// Where it starts.
    pub pos: Pos,
}

/// The three YAML node kinds, with null split out of scalars.
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
}

/// A mapping key.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    /// The key text.
    pub name: String,
    /// Where the key is.
    pub pos: Pos,
}

impl Node {
    /// A short noun for the kind of node, for "expected X, found Y" messages.
    pub fn describe(&self) -> &'static str {
        match &self.kind {
            Kind::Null => "nothing",
            Kind::Scalar { .. } => "a scalar",
            Kind::Seq(_) => "a list",
            Kind::Map(_) => "a mapping",
        }
    }
}

fn pos_of(m: &saphyr_parser::Marker) -> Pos {
    Pos {
        line: m.line() as u32,
        col: m.col() as u32 + 1,
    }
}

enum Frame {
    Seq {
        items: Vec<Node>,
        pos: Pos,
        anchor: usize,
    },
    Map {
        entries: Vec<(Key, Node)>,
        pending: Option<Key>,
        pos: Pos,
        anchor: usize,
        seen: HashMap<String, Pos>,
    },
}

/// Parse `src` into a tree. `Ok(None)` means the file holds no document at all.
/// On error, every diagnostic found before the parser gave up is returned.
pub fn parse(src: &str) -> Result<Option<Node>, Vec<Diagnostic>> {
    let mut diags = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, Node> = HashMap::new();
    let mut root: Option<Node> = None;
    let mut documents = 0usize;
    let mut nodes = 0usize;

    for item in Parser::new_from_str(src) {
        let (event, span) = match item {
            Ok(x) => x,
            Err(e) => {
                diags.push(syntax_error(e.marker(), e.info()));
                return Err(diags);
            }
        };
        let pos = pos_of(&span.start);
        let finished: Option<(Node, usize)> = match event {
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    diags.push(
                        Diagnostic::error(Some(pos), "", "more than one YAML document in the file")
                            .with_hint("a layout is one document; remove the extra `---`"),
                    );
                    return Err(diags);
                }
                None
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if stack.len() >= MAX_DEPTH {
                    diags.push(Diagnostic::error(
                        Some(pos),
                        "",
                        format!("nesting deeper than {MAX_DEPTH} levels"),
                    ));
                    return Err(diags);
                }
                if matches!(event, Event::SequenceStart(..)) {
                    stack.push(Frame::Seq {
                        items: Vec::new(),
                        pos,
                        anchor,
                    });
                } else {
                    stack.push(Frame::Map {
                        entries: Vec::new(),
                        pending: None,
                        pos,
                        anchor,
                        seen: HashMap::new(),
                    });
                }
                continue;
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq { items, pos, anchor }) => Some((
                    Node {
                        kind: Kind::Seq(items),
                        pos,
                    },
                    anchor,
                )),
                _ => unreachable!("the parser balances sequence events"),
            },
            Event::MappingEnd => match stack.pop() {
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
                let quoted = !matches!(style, ScalarStyle::Plain);
                let kind =
                    if !quoted && matches!(value.as_ref(), "" | "~" | "null" | "Null" | "NULL") {
                        Kind::Null
                    } else {
                        Kind::Scalar {
                            value: value.into_owned(),
                            quoted,
                        }
                    };
                Some((Node { kind, pos }, anchor))
            }
            Event::Alias(id) => match anchors.get(&id) {
                Some(n) => {
                    nodes += count(n);
                    if nodes > MAX_NODES {
                        diags.push(
                            Diagnostic::error(
                                Some(pos),
                                "",
                                "aliases expand to more than a million nodes",
                            )
                            .with_hint("a layout never needs this; is the file a YAML bomb?"),
                        );
                        return Err(diags);
                    }
                    Some((Node { pos, ..n.clone() }, 0))
                }
                None => {
                    diags.push(Diagnostic::error(
                        Some(pos),
                        "",
                        "alias to an unknown anchor",
                    ));
                    return Err(diags);
                }
            },
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => None,
        };
        let Some((node, anchor)) = finished else {
            continue;
        };
        nodes += 1;
        if nodes > MAX_NODES {
            diags.push(Diagnostic::error(
                Some(pos),
                "",
                "the document has more than a million nodes",
            ));
            return Err(diags);
        }
        if anchor != 0 {
            anchors.insert(anchor, node.clone());
        }
        match stack.last_mut() {
            None => root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map {
                entries,
                pending,
                seen,
                ..
            }) => match pending.take() {
                None => {
                    let name = match &node.kind {
                        Kind::Scalar { value, .. } => value.clone(),
                        Kind::Null => String::new(),
                        _ => {
                            diags.push(Diagnostic::error(
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
                    });
                }
                Some(key) => {
                    if let Some(first) = seen.get(&key.name) {
                        diags.push(
                            Diagnostic::error(Some(key.pos), "", format!("duplicate key `{}`", key.name)).with_hint(
                                format!(
                                    "first defined at line {}; YAML would silently keep only the last one",
                                    first.line
                                ),
                            ),
                        );
                    } else {
                        seen.insert(key.name.clone(), key.pos);
                        entries.push((key, node));
                    }
                }
            },
        }
    }
    if diags.is_empty() {
        Ok(root)
    } else {
        Err(diags)
    }
}

fn count(n: &Node) -> usize {
    match &n.kind {
        Kind::Seq(items) => 1 + items.iter().map(count).sum::<usize>(),
        Kind::Map(entries) => 1 + entries.iter().map(|(_, v)| 1 + count(v)).sum::<usize>(),
        _ => 1,
    }
}

fn syntax_error(m: &saphyr_parser::Marker, info: &str) -> Diagnostic {
    let pos = Some(pos_of(m));
    let d = Diagnostic::error(pos, "", format!("yaml syntax: {info}"));
    if info.contains("tab") {
        d.with_hint("indent with spaces; YAML does not allow tabs for indentation")
    } else if info.contains("flow") || info.contains("']'") || info.contains("'}'") {
        d.with_hint("a `[` or `{` is not closed")
    } else if info.contains("anchor") {
        d.with_hint("define the anchor (`&name`) before the alias (`*name`) uses it")
    } else {
        d
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

    #[test]
    fn positions_and_kinds() {
        let n = parse("a:\n  b: [1, \"x\"]\n  c: ~\n").unwrap().unwrap();
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
        assert_eq!(parse("").unwrap(), None);
        assert_eq!(parse("# only a comment\n").unwrap(), None);
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

    #[test]
    fn syntax_errors_have_positions() {
        assert_eq!(
            err("a:\n\tb: 1\n"),
            [
                "2:2: yaml syntax: tabs disallowed within this context (block indentation)\n  hint: indent with spaces; YAML does not allow tabs for indentation"
            ]
        );
        assert_eq!(
            err("a: [1, 2\n"),
            [
                "2:1: yaml syntax: while parsing a flow sequence, expected ',' or ']'\n  hint: a `[` or `{` is not closed"
            ]
        );
        assert_eq!(
            err("a: *nope\n"),
            [
                "1:4: yaml syntax: while parsing node, found unknown anchor\n  hint: define the anchor (`&name`) before the alias (`*name`) uses it"
            ]
        );
    }

    #[test]
    fn bombs_and_depth_are_refused() {
        let deep = "[".repeat(10_000) + &"]".repeat(10_000);
        assert_eq!(err(&deep), ["1:256: yaml syntax: recursion limit exceeded"]);
        let deep = "[".repeat(120) + &"]".repeat(120);
        assert_eq!(err(&deep), ["1:101: nesting deeper than 100 levels"]);
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        let mut prev = 'a';
        for c in 'b'..='k' {
            bomb.push_str(&format!("{c}: &{c} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
            prev = c;
        }
        assert!(err(&bomb)[0].contains("more than a million nodes"));
    }
}
