//! Prometheus text format 0.0.4 as `prometheus_client` writes it (what LiteLLM serves): labels
//! sorted by name, values escaped, numbers as Python's `repr(float)` with Go's exponent rule.

/// `value` as `prometheus_client`'s `floatToGoString`: `1.0`, `0.25`, `1.234567e+06`, `+Inf`.
pub fn number(value: f64) -> String {
    if value.is_nan() {
        return "NaN".into();
    }
    if value.is_infinite() {
        return if value > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let repr = python_repr(value);
    match repr.find('.') {
        Some(dot) if value > 0.0 && dot > 6 && !repr.contains('e') => {
            let digits: String = repr.chars().filter(char::is_ascii_digit).collect();
            let (first, rest) = digits.split_at_checked(1).unwrap_or((&digits, ""));
            let mantissa = format!("{first}.{rest}");
            let mantissa = mantissa.trim_end_matches('0').trim_end_matches('.');
            format!("{mantissa}e+0{}", dot - 1)
        }
        _ => repr,
    }
}

/// Python's `repr` of a float: the shortest digits that round-trip, `.0` on whole numbers,
/// exponent form below 1e-4 and from 1e16.
fn python_repr(value: f64) -> String {
    let abs = value.abs();
    if abs != 0.0 && !(1e-4..1e16).contains(&abs) {
        // Rust writes `1e-5`; Python `1e-05`.
        let s = format!("{value:e}");
        return match s.split_once('e') {
            Some((m, exp)) => {
                let (sign, digits) = match exp.strip_prefix('-') {
                    Some(d) => ('-', d),
                    None => ('+', exp),
                };
                format!("{m}e{sign}{digits:0>2}")
            }
            None => s,
        };
    }
    let s = format!("{value}");
    if s.contains('.') {
        s
    } else {
        format!("{s}.0")
    }
}

fn escape(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// `{a="1",b="2"}` with the labels sorted by name (empty string for no labels).
pub fn labels(pairs: &mut [(&str, &str)]) -> String {
    if pairs.is_empty() {
        return String::new();
    }
    pairs.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut out = String::with_capacity(pairs.len() * 24);
    out.push('{');
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(k);
        out.push_str("=\"");
        escape(v, &mut out);
        out.push('"');
    }
    out.push('}');
    out
}

/// A family's `# HELP` and `# TYPE` lines.
pub fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    out.push_str("# HELP ");
    out.push_str(name);
    out.push(' ');
    out.push_str(&help.replace('\\', "\\\\").replace('\n', "\\n"));
    out.push_str("\n# TYPE ");
    out.push_str(name);
    out.push(' ');
    out.push_str(kind);
    out.push('\n');
}

/// One sample line; `labels` as `labels()` renders them, `extra` one more label (`le`) to
/// sort in among them.
pub fn sample(out: &mut String, name: &str, labels: &str, extra: Option<(&str, &str)>, value: f64) {
    out.push_str(name);
    match extra {
        None => out.push_str(labels),
        Some((k, v)) => out.push_str(&with_label(labels, k, v)),
    }
    out.push(' ');
    out.push_str(&number(value));
    out.push('\n');
}

/// `labels` with one more `k="v"` in its sorted place.
fn with_label(labels: &str, k: &str, v: &str) -> String {
    let mut item = String::new();
    item.push_str(k);
    item.push_str("=\"");
    escape(v, &mut item);
    item.push('"');
    let inner = labels
        .strip_prefix('{')
        .and_then(|l| l.strip_suffix('}'))
        .unwrap_or("");
    if inner.is_empty() {
        return format!("{{{item}}}");
    }
    // Label values are escaped, so `,` followed by a name and `="` starts the next label only
    // outside quotes: walk the string and split at those commas.
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in inner.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                parts.push(inner.get(start..i).unwrap_or(""));
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(inner.get(start..).unwrap_or(""));
    let at = parts
        .iter()
        .position(|p| p.split('=').next().unwrap_or("") > k)
        .unwrap_or(parts.len());
    let (before, after) = parts.split_at_checked(at).unwrap_or((&parts, &[]));
    let joined: Vec<&str> = before
        .iter()
        .copied()
        .chain(std::iter::once(item.as_str()))
        .chain(after.iter().copied())
        .collect();
    format!("{{{}}}", joined.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_as_prometheus_client_writes_them() {
        assert_eq!(number(1.0), "1.0");
        assert_eq!(number(42.0), "42.0");
        assert_eq!(number(0.25), "0.25");
        assert_eq!(number(0.005), "0.005");
        assert_eq!(number(1234567.0), "1.234567e+06");
        assert_eq!(number(1733140000.5), "1.7331400005e+09");
        assert_eq!(number(0.00001), "1e-05");
        assert_eq!(number(f64::INFINITY), "+Inf");
        assert_eq!(number(0.0), "0.0");
    }

    #[test]
    fn labels_are_sorted_escaped_and_le_goes_in_its_place() {
        let l = labels(&mut [("model", "a\"b"), ("api_base", "x"), ("team", "None")]);
        assert_eq!(l, r#"{api_base="x",model="a\"b",team="None"}"#);
        let mut out = String::new();
        sample(&mut out, "m_bucket", &l, Some(("le", "0.5")), 3.0);
        assert_eq!(
            out,
            "m_bucket{api_base=\"x\",le=\"0.5\",model=\"a\\\"b\",team=\"None\"} 3.0\n"
        );
    }
}
