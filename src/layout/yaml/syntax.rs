//! YAML syntax errors: saphyr-parser's message, told apart by kind so each
//! gets the right hint.

use super::pos_of;
use crate::layout::diag::Diagnostic;

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

pub(super) fn syntax_error(m: &saphyr_parser::Marker, info: &str) -> Diagnostic {
    let d = Diagnostic::error(Some(pos_of(m)), "", format!("yaml syntax: {info}"));
    match SyntaxKind::of(info).hint() {
        Some(h) => d.with_hint(h),
        None => d,
    }
}
