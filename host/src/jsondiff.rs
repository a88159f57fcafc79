//! Field-by-field differences between two JSON values, for people to read.

use serde_json::Value;

/// One line per difference: `path: was → now`, with `(absent)` for a missing field.
pub fn differences(path: &str, old: &Value, new: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk(path, Some(old), Some(new), &mut out);
    out
}

fn show(v: Option<&Value>) -> String {
    match v {
        None => "(absent)".to_string(),
        Some(v) => {
            let text = v.to_string();
            match text.char_indices().nth(120) {
                Some((cut, _)) => format!("{}…", &text[..cut]),
                None => text,
            }
        }
    }
}

fn walk(path: &str, old: Option<&Value>, new: Option<&Value>, out: &mut Vec<String>) {
    match (old, new) {
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            for (k, av) in a {
                walk(&format!("{path}.{k}"), Some(av), b.get(k), out);
            }
            for (k, bv) in b.iter().filter(|(k, _)| !a.contains_key(*k)) {
                walk(&format!("{path}.{k}"), None, Some(bv), out);
            }
        }
        (Some(Value::Array(a)), Some(Value::Array(b))) => {
            for i in 0..a.len().max(b.len()) {
                walk(&format!("{path}[{i}]"), a.get(i), b.get(i), out);
            }
        }
        (a, b) if a != b => out.push(format!("{path}: {} → {}", show(a), show(b))),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lists_changes_additions_and_removals_with_paths() {
        let old = json!({"name": "a", "keyword": ["x", "y"], "license": "mit", "d": [{"n": 1}]});
        let new = json!({"name": "b", "keyword": ["x"], "d": [{"n": 1}, {"n": 2}], "extra": true});
        assert_eq!(
            differences("body", &old, &new),
            [
                "body.name: \"a\" → \"b\"",
                "body.keyword[1]: \"y\" → (absent)",
                "body.license: \"mit\" → (absent)",
                "body.d[1]: (absent) → {\"n\":2}",
                "body.extra: (absent) → true",
            ]
        );
        assert!(differences("body", &old, &old).is_empty());
    }
}
