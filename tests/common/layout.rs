//! Layout errors as the tests compare them.

use nasstrap::{layout, plan};

/// Load and plan; every diagnostic, as `line:col: path: message` + hint.
pub fn errs(src: &str) -> Vec<String> {
    let report = match layout::load_str("t.yaml", src, &[]) {
        Ok(l) => match plan::build(&l, &plan::Options::default()) {
            Ok(_) => l.report,
            Err(r) => r,
        },
        Err(r) => r,
    };
    report.diagnostics.iter().map(|d| d.to_string()).collect()
}
