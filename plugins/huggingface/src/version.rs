//! A dataset's version: a digest of the listing fields the mapping reads.
//!
//! `lastModified` and `sha` alone miss changes: the Hub adds tags such as
//! `format:*`, `modality:*` and `library:*` after the dataset viewer has
//! processed a commit, without a new commit. Counters that move every day
//! (`downloads`, `likes`, `trendingScore`) are left out, so that they cost
//! no upload.

use serde_json::Value;

/// The fields whose change must reach AIoD: the ones `mapping` reads, and
/// `lastModified`/`sha` (a new commit can change the parquet files).
const FIELDS: [&str; 9] = [
    "_id",
    "id",
    "lastModified",
    "sha",
    "description",
    "createdAt",
    "private",
    "disabled",
    "tags",
];

/// 16 hex digits of FNV-1a (64 bit) over the canonical JSON of the fields,
/// `cardData.license` included; a missing field and `null` are the same.
pub fn of(dataset: &Value) -> String {
    let mut text = String::new();
    for field in FIELDS {
        canonical(dataset.get(field).unwrap_or(&Value::Null), &mut text);
        text.push('\n');
    }
    let license = dataset.get("cardData").and_then(|c| c.get("license"));
    canonical(license.unwrap_or(&Value::Null), &mut text);
    format!("{:016x}", fnv1a(text.as_bytes()))
}

/// JSON with object keys sorted, so that the digest does not depend on the
/// order in which the Hub (or a JSON library) writes them.
fn canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                canonical(&map[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dataset() -> Value {
        json!({
            "_id": "a", "id": "u/d", "lastModified": "2024-01-01T00:00:00.000Z", "sha": "1",
            "description": "D", "createdAt": "2023-01-01T00:00:00.000Z", "private": false,
            "tags": ["license:mit"], "cardData": {"license": "mit", "pretty_name": "D"},
            "downloads": 5, "likes": 1, "trendingScore": 3
        })
    }

    #[test]
    fn a_tag_change_without_a_commit_is_a_new_version() {
        let mut changed = dataset();
        changed["tags"] = json!(["license:mit", "format:parquet"]);
        assert_ne!(of(&dataset()), of(&changed));
        let mut relicensed = dataset();
        relicensed["cardData"]["license"] = json!(["apache-2.0"]);
        assert_ne!(of(&dataset()), of(&relicensed));
        let mut hidden = dataset();
        hidden["private"] = json!(true);
        assert_ne!(of(&dataset()), of(&hidden));
    }

    #[test]
    fn counters_and_unread_fields_are_not_part_of_it() {
        let mut moved = dataset();
        moved["downloads"] = json!(50_000);
        moved["likes"] = json!(7);
        moved["trendingScore"] = json!(99);
        moved["cardData"]["pretty_name"] = json!("Other");
        assert_eq!(of(&dataset()), of(&moved));
        assert_eq!(of(&dataset()).len(), 16);
    }

    #[test]
    fn key_order_and_missing_versus_null_do_not_matter() {
        let reordered: Value = serde_json::from_str(
            r#"{"cardData":{"pretty_name":"D","license":"mit"},"trendingScore":3,"likes":1,
                "downloads":5,"tags":["license:mit"],"private":false,
                "createdAt":"2023-01-01T00:00:00.000Z","description":"D","sha":"1",
                "lastModified":"2024-01-01T00:00:00.000Z","id":"u/d","_id":"a"}"#,
        )
        .unwrap();
        assert_eq!(of(&dataset()), of(&reordered));
        let mut with_null = dataset();
        with_null["disabled"] = Value::Null;
        assert_eq!(of(&dataset()), of(&with_null));
    }
}
