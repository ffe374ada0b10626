//! `KEY=VALUE` lines, as `blkid --output export` and `mdadm --detail --export` print them.

use super::ProbeError;

/// One `KEY=VALUE` pair with the 1-based line it came from.
pub(crate) type Pair = (usize, String, String);

/// Splits the text into records at blank lines (blkid separates devices that way; mdadm
/// prints one record). Values are taken verbatim: blkid runs with `--no-encoding` and
/// mdadm does not quote.
pub(crate) fn parse_records(text: &str, tool: &'static str) -> Result<Vec<Vec<Pair>>, ProbeError> {
    let mut records = Vec::new();
    let mut current = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        if line.trim().is_empty() {
            if !current.is_empty() {
                records.push(std::mem::take(&mut current));
            }
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(ProbeError::malformed(
                tool,
                line_no,
                format!("expected KEY=VALUE, got {line:?}"),
            ));
        };
        let key_ok = !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !key_ok {
            return Err(ProbeError::malformed(
                tool,
                line_no,
                format!("bad key {key:?}"),
            ));
        }
        current.push((line_no, key.to_string(), value.to_string()));
    }
    if !current.is_empty() {
        records.push(current);
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_split_at_blank_lines() {
        type Records<'a> = Vec<Vec<(usize, &'a str, &'a str)>>;
        let cases: &[(&str, Records)] = &[
            ("", vec![]),
            ("A=1\nB=x=y\n", vec![vec![(1, "A", "1"), (2, "B", "x=y")]]),
            (
                "A=1\n\n\nB=\n",
                vec![vec![(1, "A", "1")], vec![(4, "B", "")]],
            ),
            ("LABEL=root fs\n", vec![vec![(1, "LABEL", "root fs")]]),
        ];
        for (text, want) in cases {
            let got = parse_records(text, "t").unwrap();
            let got: Records = got
                .iter()
                .map(|r| {
                    r.iter()
                        .map(|(l, k, v)| (*l, k.as_str(), v.as_str()))
                        .collect()
                })
                .collect();
            assert_eq!(&got, want, "{text:?}");
        }
    }

    #[test]
    fn bad_lines_name_the_line() {
        let cases = [
            (
                "A=1\nnonsense\n",
                "malformed t output at line 2: expected KEY=VALUE, got \"nonsense\"",
            ),
            ("=1\n", "malformed t output at line 1: bad key \"\""),
            ("A B=1\n", "malformed t output at line 1: bad key \"A B\""),
        ];
        for (text, want) in cases {
            assert_eq!(parse_records(text, "t").unwrap_err().to_string(), want);
        }
    }
}
