//! Diagnostics for layout files: every problem at once, each with file:line:col,
//! the YAML path it concerns, what is wrong and a hint.

use std::fmt;

/// A position in the layout source, 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, serde::Serialize)]
pub struct Pos {
    /// 1-based line.
    pub line: u32,
    /// 1-based column (in characters).
    pub col: u32,
}

/// How bad a diagnostic is: errors stop the run (exit code 2), warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The layout cannot be planned.
    Error,
    /// The layout plans, but probably not as the user meant.
    Warning,
}

/// One problem found in a layout.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// Where in the file; `None` for problems of the whole file (e.g. empty).
    pub pos: Option<Pos>,
    /// The YAML path, e.g. `disk.bay3.content.partitions.data.size`; empty for the root.
    pub path: String,
    /// What is wrong, lowercase, one line.
    pub message: String,
    /// How to fix it, if there is something useful to say.
    pub hint: Option<String>,
}

impl Diagnostic {
    /// An error at `pos` concerning `path`.
    pub fn error(pos: Option<Pos>, path: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            pos,
            path: path.into(),
            message: message.into(),
            hint: None,
        }
    }

    /// A warning at `pos` concerning `path`.
    pub fn warning(pos: Option<Pos>, path: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            pos,
            path: path.into(),
            message: message.into(),
            hint: None,
        }
    }

    /// The same diagnostic with a hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// `line:col: path: message` without the file name or hint: what tests compare.
    pub fn short(&self) -> String {
        let mut s = String::new();
        if let Some(p) = self.pos {
            s.push_str(&format!("{}:{}: ", p.line, p.col));
        }
        if !self.path.is_empty() {
            s.push_str(&self.path);
            s.push_str(": ");
        }
        s.push_str(&self.message);
        s
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.short())?;
        if let Some(h) = &self.hint {
            write!(f, "\n  hint: {h}")?;
        }
        Ok(())
    }
}

/// All the problems of one layout file, rendered against its source.
#[derive(Debug, Clone)]
pub struct Report {
    /// The file name as the user gave it.
    pub file: String,
    /// The source text, for the snippet under each diagnostic.
    pub source: String,
    /// Errors and warnings in file order.
    pub diagnostics: Vec<Diagnostic>,
}

impl Report {
    /// True when any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }

    /// Number of errors.
    pub fn error_count(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<&str> = self.source.lines().collect();
        for d in &self.diagnostics {
            let sev = match d.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            let loc = match d.pos {
                Some(p) => format!("{}:{}:{}", self.file, p.line, p.col),
                None => self.file.clone(),
            };
            let path = if d.path.is_empty() {
                String::new()
            } else {
                format!("{}: ", d.path)
            };
            writeln!(f, "{sev}: {loc}: {path}{}", d.message)?;
            if let Some(p) = d.pos
                && let Some(text) = lines.get(p.line as usize - 1)
            {
                let n = p.line.to_string();
                // Show tabs as one space so the caret lines up with the column count.
                let shown: String = text
                    .chars()
                    .map(|c| if c == '\t' { ' ' } else { c })
                    .collect();
                writeln!(f, "  {n} | {shown}")?;
                writeln!(
                    f,
                    "  {} | {}^",
                    " ".repeat(n.len()),
                    " ".repeat(p.col.saturating_sub(1) as usize)
                )?;
            }
            if let Some(h) = &d.hint {
                writeln!(f, "  hint: {h}")?;
            }
        }
        let errors = self.error_count();
        if errors > 0 {
            writeln!(
                f,
                "{}: {errors} error{} in the layout",
                self.file,
                if errors == 1 { "" } else { "s" }
            )?;
        }
        Ok(())
    }
}

/// Closest candidate within a small edit distance, for "did you mean" hints.
pub fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let word_l = word.to_ascii_lowercase();
    candidates
        .iter()
        .map(|c| (edit_distance(&word_l, &c.to_ascii_lowercase()), *c))
        .filter(|(d, c)| *d <= (c.len() / 3).max(1) + usize::from(c.len() > 6))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Edit distance with transpositions (optimal string alignment); inputs are
/// short keys, so O(n·m) is fine.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        let keys = ["mountpoint", "mountOptions", "format", "extraArgs"];
        assert_eq!(did_you_mean("mountpont", &keys), Some("mountpoint"));
        assert_eq!(did_you_mean("mount_options", &keys), Some("mountOptions"));
        assert_eq!(did_you_mean("fromat", &keys), Some("format"));
        assert_eq!(did_you_mean("zzz", &keys), None);
    }
}
