//! The layout: the YAML model of what the disks should hold, read with
//! positions so every problem points at its line.
//!
//! `load_str` → tree (`yaml`) → model (`read`, via `decode`; every name and
//! path through `names`, stored normalized) → checks (`validate`). Nothing
//! here touches the system.

pub mod decode;
pub mod diag;
pub mod model;
pub mod names;
pub mod parttype;
mod read;
pub mod schema;
pub mod size;
pub mod validate;
pub mod yaml;

pub use diag::{Diagnostic, Report, Severity};
pub use model::*;

/// Files larger than this are refused before parsing.
pub const MAX_FILE_BYTES: usize = 16 << 20;

/// A layout that decoded, with every problem found on the way. The report may
/// hold errors: planning adds its own (geometry) and refuses if any exist, so
/// the user sees all problems at once.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The model (items with errors may be missing from it).
    pub layout: Layout,
    /// Errors and warnings so far.
    pub report: Report,
}

/// `--disk NAME=DEVICE` remappings, applied before the checks.
pub type DiskMap = [(String, String)];

/// Read a layout file from disk.
pub fn load_file(path: &std::path::Path, map: &DiskMap) -> Result<Loaded, Report> {
    let file = path.display().to_string();
    let fail = |msg: String, hint: &str| Report {
        file: file.clone(),
        source: String::new(),
        diagnostics: vec![Diagnostic::error(None, "", msg).with_hint(hint)],
    };
    let meta = std::fs::metadata(path)
        .map_err(|e| fail(format!("cannot read the layout: {e}"), "check the path"))?;
    if meta.len() as usize > MAX_FILE_BYTES {
        return Err(fail(
            format!(
                "the file is {} bytes; layouts are limited to 16 MiB",
                meta.len()
            ),
            "is this the right file?",
        ));
    }
    let bytes = std::fs::read(path)
        .map_err(|e| fail(format!("cannot read the layout: {e}"), "check the path"))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        // Point at the first bad byte; the snippet shows it as U+FFFD.
        let at = e.utf8_error().valid_up_to();
        let valid = std::str::from_utf8(&e.as_bytes()[..at]).expect("valid up to `at`");
        Report {
            file: file.clone(),
            source: String::from_utf8_lossy(e.as_bytes()).into_owned(),
            diagnostics: vec![
                Diagnostic::error(
                    Some(diag::pos_at(valid, at)),
                    "",
                    format!("the file is not UTF-8 (byte {at})"),
                )
                .with_hint("save it as UTF-8"),
            ],
        }
    })?;
    load_str(&file, &text, map)
}

/// Read a layout from text; `file` is only used in messages. `Err` when there
/// is no model at all (syntax errors, an empty file).
pub fn load_str(file: &str, text: &str, map: &DiskMap) -> Result<Loaded, Report> {
    let mut report = Report {
        file: file.to_string(),
        source: text.to_string(),
        diagnostics: Vec::new(),
    };
    if text.len() > MAX_FILE_BYTES {
        report.diagnostics.push(Diagnostic::error(
            None,
            "",
            "the layout is larger than 16 MiB",
        ));
        return Err(report);
    }
    let tree = match yaml::parse(text) {
        Ok(tree) => tree,
        Err(diags) => {
            report.diagnostics = diags;
            return Err(report);
        }
    };
    let Some(root) = tree.root else {
        report.diagnostics.push(
            Diagnostic::error(None, "", "the layout is empty")
                .with_hint("start from layouts/helios64.yaml"),
        );
        return Err(report);
    };
    // Values refused for unsafe characters are missing from the model; the
    // cross-checks would only report that (a dangling array, no disks).
    let refused = !tree.refused.is_empty();
    let mut cx = decode::Ctx {
        diags: tree.refused,
    };
    let layout = read::layout(&mut cx, &root);
    report.diagnostics = cx.diags;
    let Some(mut layout) = layout else {
        sort(&mut report);
        return Err(report);
    };
    report.diagnostics.extend(validate::remap(&mut layout, map));
    // A refused key or value leaves holes that the cross-checks would only
    // report again, in words that contradict the file.
    if !refused {
        report.diagnostics.extend(validate::validate(&layout));
    }
    sort(&mut report);
    Ok(Loaded { layout, report })
}

/// File order; whole-file problems first.
pub fn sort(report: &mut Report) {
    report
        .diagnostics
        .sort_by_key(|d| d.pos.map(|p| (p.line, p.col)).unwrap_or((0, 0)));
}
