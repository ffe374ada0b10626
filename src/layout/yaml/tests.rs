//! The tree: positions, syntax errors, bombs and refused characters.

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
        Some("the file holds a NUL or another character YAML does not allow; is it a text file?")
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
