//! What the catalogue makes of a body, so that "unchanged" can be decided by
//! comparing what we would send with what it holds (as the real catalogue was
//! observed to store bodies): unknown
//! fields dropped, keywords lower-cased and unordered, licenses lower-cased,
//! dates as their clock time without the offset (the catalogue's `DATETIME`
//! columns drop it), server fields added, nulls and empty lists meaning "not
//! set".

use aiod_schema::Schema;
use chrono::{DateTime, NaiveDateTime};
use serde_json::{Map, Value};

const DATE_FIELDS: &[&str] = &["date_published", "date_created", "date_modified"];

/// The comparable form of `body` under `schema_name`.
pub fn normalize(schema: &Schema, schema_name: &str, body: &Value) -> Value {
    let mut pruned = schema.prune(schema_name, body);
    if let Value::Object(o) = &mut pruned {
        // Managed by the server: what it returns is not what we send.
        o.remove("aiod_entry");
    }
    canonical(pruned, None).unwrap_or_else(|| Value::Object(Map::new()))
}

/// A fingerprint of the normalised body; equal bodies give equal fingerprints.
/// Stable across builds, since the state keeps it.
pub fn fingerprint(schema: &Schema, schema_name: &str, body: &Value) -> String {
    crate::digest::hex(normalize(schema, schema_name, body).to_string().as_bytes())
}

/// `None` stands for "not set".
fn canonical(v: Value, key: Option<&str>) -> Option<Value> {
    match v {
        Value::Null => None,
        Value::Object(o) => {
            let mut entries: Vec<(String, Value)> = o
                .into_iter()
                .filter_map(|(k, v)| canonical(v, Some(&k)).map(|v| (k, v)))
                .collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            (!entries.is_empty()).then(|| Value::Object(entries.into_iter().collect()))
        }
        Value::Array(items) => {
            let mut items: Vec<Value> = items
                .into_iter()
                .filter_map(|i| canonical(i, key))
                .collect();
            if key == Some("keyword") {
                items.sort_by_key(Value::to_string);
                items.dedup();
            }
            (!items.is_empty()).then_some(Value::Array(items))
        }
        Value::String(s) => Some(Value::String(match key {
            Some("keyword" | "license") => s.to_lowercase(),
            Some(k) if DATE_FIELDS.contains(&k) => stored_clock_time(&s).unwrap_or(s),
            _ => s,
        })),
        other => Some(other),
    }
}

/// A date-time as the catalogue stores it: the clock time as written, without
/// its offset (aiod-rest-api keeps date-times in naive `DATETIME` columns, and
/// the real catalogue was observed to store `23:29:22+02:00` as `23:29:22`), so
/// `2022-03-02T23:29:22.000Z`, `2022-03-02T23:29:22+02:00` and
/// `2022-03-02T23:29:22` are the same stored value.
fn stored_clock_time(text: &str) -> Option<String> {
    let naive = match DateTime::parse_from_rfc3339(text) {
        Ok(t) => t.naive_local(),
        Err(_) => NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").ok()?,
    };
    Some(naive.format("%Y-%m-%dT%H:%M:%S%.f").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn same(sent: Value, stored: Value) -> bool {
        let s = Schema::bundled();
        normalize(s, "DatasetCreate", &sent) == normalize(s, "DatasetCreate", &stored)
    }

    #[test]
    fn what_the_catalogue_returns_equals_what_was_sent() {
        let sent = json!({
            "platform": "huggingface", "platform_resource_identifier": "abc", "name": "x",
            "description": {"plain": "d"}, "date_published": "2022-03-02T23:29:22.000Z",
            "license": "MIT", "keyword": ["size_categories:10K<n<100K", "B", "a"],
            "distribution": [{"name": "f", "content_size_kb": 3}], "is_accessible_for_free": true,
            "unknown": 1
        });
        let stored = json!({
            "identifier": "data_1", "ai_asset_identifier": "data_1", "ai_resource_identifier": "data_1",
            "platform": "huggingface", "platform_resource_identifier": "abc", "name": "x",
            "description": {"plain": "d", "html": null}, "date_published": "2022-03-02T23:29:22",
            "license": "mit", "keyword": ["a", "b", "size_categories:10k<n<100k"],
            "distribution": [{"name": "f", "content_size_kb": 3, "checksum": null}],
            "is_accessible_for_free": true, "alternate_name": [], "media": [], "note": [],
            "aiod_entry": {"editor": [], "status": "published", "date_modified": "2026-11-29T10:00:00"}
        });
        assert!(same(sent, stored));
    }

    #[test]
    fn real_changes_are_seen() {
        let base = json!({"name": "x", "keyword": ["a"], "distribution": [{"name": "f"}]});
        for changed in [
            json!({"name": "y", "keyword": ["a"], "distribution": [{"name": "f"}]}),
            json!({"name": "x", "keyword": ["a", "b"], "distribution": [{"name": "f"}]}),
            json!({"name": "x", "keyword": ["a"], "distribution": []}),
            json!({"name": "x", "keyword": ["a"], "distribution": [{"name": "f"}], "license": "mit"}),
        ] {
            assert!(!same(base.clone(), changed.clone()), "{changed}");
        }
        let s = Schema::bundled();
        assert_ne!(
            fingerprint(s, "DatasetCreate", &base),
            fingerprint(s, "DatasetCreate", &json!({"name": "z"}))
        );
    }

    #[test]
    fn dates_compare_as_the_clock_time_the_catalogue_keeps() {
        assert_eq!(
            stored_clock_time("2022-03-02T23:29:22.000Z").as_deref(),
            Some("2022-03-02T23:29:22")
        );
        // The offset is dropped, the clock time kept: not converted to UTC.
        assert_eq!(
            stored_clock_time("2022-03-02T23:29:22+02:00").as_deref(),
            Some("2022-03-02T23:29:22")
        );
        assert_eq!(
            stored_clock_time("2022-03-02T23:29:22.5").as_deref(),
            Some("2022-03-02T23:29:22.500")
        );
        assert!(same(
            json!({"name": "x", "date_published": "2022-03-02T23:29:22-05:00"}),
            json!({"name": "x", "date_published": "2022-03-02T23:29:22"})
        ));
    }
}
