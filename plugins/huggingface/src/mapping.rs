//! Hugging Face dataset → AIoD `Dataset` body, as the upstream connector maps it
//! (`aiondemand/huggingface-connector`, `_convert_dataset_to_aiod`).
//!
//! One deliberate difference: fields upstream would send as `null` are left out,
//! because the AIoD OpenAPI schema declares no nullable fields and a strict
//! validator rejects `null`; for AIoD the two mean the same (PUT resets omitted
//! fields to their defaults).

use aiod_plugin_sdk::aiod::{Dataset, Distribution, Text};
use aiod_plugin_sdk::{header, text::snippet};
use serde::Deserialize;
use serde_json::Value;

/// The datasets-server `/parquet` response of a dataset.
#[derive(Debug, Clone, Copy)]
pub struct ParquetResponse<'a> {
    /// 0 when the host could not get any response (the body says why).
    pub status: u16,
    /// Lower-case names; `x-error-code` names a datasets-server error.
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappedDataset {
    pub platform_resource_identifier: String,
    pub body: String,
    pub warnings: Vec<String>,
    /// Why the dataset must be mapped again on the next pass (its parquet
    /// conversion was still running); `None` when the body stands.
    pub again: Option<String>,
}

/// Why a dataset gives no body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MapError {
    /// Deliberately not published (private or disabled).
    Skip(String),
    /// Not a dataset we can read.
    Invalid(String),
}

impl std::fmt::Display for MapError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MapError::Skip(why) => write!(f, "skipped: {why}"),
            MapError::Invalid(why) => write!(f, "invalid: {why}"),
        }
    }
}

impl std::error::Error for MapError {}

/// The fields of a Hugging Face dataset the mapping reads.
#[derive(Deserialize)]
struct HfDataset {
    #[serde(rename = "_id")]
    oid: Option<String>,
    id: Option<String>,
    description: Option<String>,
    #[serde(rename = "createdAt")]
    created_at: Option<String>,
    #[serde(rename = "cardData")]
    card_data: Option<Value>,
    #[serde(default)]
    private: Option<bool>,
    #[serde(default)]
    disabled: Option<bool>,
    #[serde(default)]
    tags: Vec<String>,
}

#[derive(Deserialize)]
struct ParquetList {
    parquet_files: Vec<Value>,
    /// Configs whose conversion is still running: the files are incomplete.
    #[serde(default)]
    pending: Vec<Value>,
}

/// Whether a listed dataset may be published: private and disabled ones may
/// not (the Hub lists private datasets to a token that can read them, and
/// disabled ones with `"disabled": true`). Gated datasets may: their metadata
/// is public.
pub fn unpublishable(private: Option<bool>, disabled: Option<bool>) -> Option<&'static str> {
    if private == Some(true) {
        Some("a private dataset is not published to the public catalogue")
    } else if disabled == Some(true) {
        Some("the dataset is disabled on Hugging Face")
    } else {
        None
    }
}

/// Maps one dataset (the listing's JSON object) and its `/parquet` response.
pub fn map_dataset(
    platform: &str,
    data: &str,
    parquet: Option<ParquetResponse<'_>>,
) -> Result<MappedDataset, MapError> {
    let invalid = MapError::Invalid;
    let ds: HfDataset = serde_json::from_str(data)
        .map_err(|e| invalid(format!("not a Hugging Face dataset: {e}")))?;
    let name = ds
        .id
        .as_deref()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| invalid("dataset has no 'id'".into()))?;
    let oid = ds
        .oid
        .as_deref()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| invalid(format!("dataset {name:?} has no '_id'")))?;
    if let Some(reason) = unpublishable(ds.private, ds.disabled) {
        return Err(MapError::Skip(format!("{name}: {reason}")));
    }

    let mut warnings = Vec::new();
    let license = license(name, ds.card_data.as_ref(), &mut warnings);
    let (distribution, again) = match parquet {
        Some(p) => distributions(name, p, &mut warnings),
        None => (Vec::new(), None),
    };
    // The test build `test-remapped` renames namespaced datasets (`test_builds`).
    #[cfg(feature = "test-remapped")]
    let remapped = crate::test_builds::remapped_name(name);
    #[cfg(feature = "test-remapped")]
    let body_name = remapped.as_deref().unwrap_or(name);
    #[cfg(not(feature = "test-remapped"))]
    let body_name = name;
    let body = Dataset {
        same_as: Some(format!("https://huggingface.co/datasets/{name}")),
        description: ds.description.filter(|d| !d.is_empty()).map(Text::plain),
        date_published: ds.created_at,
        license,
        distribution: Some(distribution),
        is_accessible_for_free: Some(ds.private != Some(true)),
        keyword: Some(ds.tags),
        ..Dataset::new(platform, oid, body_name)
    };
    Ok(MappedDataset {
        platform_resource_identifier: oid.to_string(),
        body: body.to_json(),
        warnings,
        again,
    })
}

/// `cardData.license`: a string, or the first of a list.
fn license(name: &str, card: Option<&Value>, warnings: &mut Vec<String>) -> Option<String> {
    match card?.get("license")? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Array(list) => {
            if list.len() > 1 {
                warnings.push(format!(
                    "multiple licenses for dataset {name:?}: {}; using the first",
                    snippet(Value::Array(list.clone()).to_string().as_bytes())
                ));
            }
            match list.first() {
                Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
                Some(other) => {
                    let other = snippet(other.to_string().as_bytes());
                    warnings.push(format!("cannot read license of {name:?}: {other}"));
                    None
                }
                None => None,
            }
        }
        Value::Null | Value::String(_) => None,
        other => {
            let other = snippet(other.to_string().as_bytes());
            warnings.push(format!("cannot read license of {name:?}: {other}"));
            None
        }
    }
}

/// One distribution per parquet file; a failed `/parquet` leaves none. While
/// configs are still `pending`, the files are incomplete: the dataset is
/// mapped again on the next pass (the second value says why).
fn distributions(
    name: &str,
    parquet: ParquetResponse<'_>,
    warnings: &mut Vec<String>,
) -> (Vec<Distribution>, Option<String>) {
    if parquet.status != 200 {
        warnings.push(format!(
            "no parquet files for dataset {name:?}: {}",
            parquet_error(parquet)
        ));
        return (Vec::new(), None);
    }
    let list: ParquetList = match serde_json::from_slice(parquet.body) {
        Ok(list) => list,
        Err(e) => {
            warnings.push(format!(
                "no parquet files for dataset {name:?}: unreadable /parquet response: {e}"
            ));
            return (Vec::new(), None);
        }
    };
    let again = (!list.pending.is_empty()).then(|| {
        let configs: Vec<&str> = list
            .pending
            .iter()
            .map(|p| p.get("config").and_then(Value::as_str).unwrap_or("?"))
            .collect();
        format!(
            "the datasets-server is still converting {} config(s) of {name:?} ({}); \
             its distributions are incomplete",
            configs.len(),
            snippet(configs.join(", ").as_bytes())
        )
    });
    let mut out = Vec::with_capacity(list.parquet_files.len());
    for file in &list.parquet_files {
        let text = |key| file.get(key).and_then(Value::as_str);
        let fields = (
            text("filename"),
            text("dataset"),
            text("config"),
            text("split"),
            text("url"),
            file.get("size").and_then(Value::as_u64),
        );
        match fields {
            (Some(filename), Some(dataset), Some(config), Some(split), Some(url), Some(size)) => {
                out.push(Distribution {
                    name: Some(filename.to_string()),
                    description: Some(format!("{dataset}. Config: {config}. Split: {split}")),
                    content_url: url.to_string(),
                    content_size_kb: Some(size.div_ceil(1000)),
                    ..Distribution::default()
                })
            }
            _ => warnings.push(format!(
                "skipped an incomplete parquet file entry of dataset {name:?}: {}",
                snippet(file.to_string().as_bytes())
            )),
        }
    }
    (out, again)
}

/// `HTTP <status> (<X-Error-Code>): <message>`, where the message is the JSON
/// `error` field or the text body.
fn parquet_error(parquet: ParquetResponse<'_>) -> String {
    if parquet.status == 0 {
        return format!("request failed: {}", snippet(parquet.body));
    }
    let message = serde_json::from_slice::<Value>(parquet.body)
        .ok()
        .and_then(|v| {
            v.get("error")
                .and_then(Value::as_str)
                .map(|e| snippet(e.as_bytes()))
        })
        .unwrap_or_else(|| snippet(parquet.body));
    match header(parquet.headers, "x-error-code").map(|c| snippet(c.as_bytes())) {
        Some(code) => format!("HTTP {} ({code}): {message}", parquet.status),
        None => format!("HTTP {}: {message}", parquet.status),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(m: &MappedDataset) -> Value {
        serde_json::from_str(&m.body).unwrap()
    }

    const PARQUET: &str = r#"{"parquet_files":[
        {"dataset":"u/d","config":"default","split":"train","url":"https://h/u/d/train.parquet","filename":"train.parquet","size":1001},
        {"dataset":"u/d","config":"default","split":"test","url":"https://h/u/d/test.parquet","filename":"test.parquet","size":1000}
    ],"pending":[],"failed":[],"partial":false}"#;

    fn ok(body: &str) -> Option<ParquetResponse<'_>> {
        Some(ParquetResponse {
            status: 200,
            headers: &[],
            body: body.as_bytes(),
        })
    }

    #[test]
    fn maps_every_field() {
        let data = json!({
            "_id": "621ffdd236468d709f181d58", "id": "u/d", "description": "A set.",
            "createdAt": "2022-03-02T23:29:22.000Z", "cardData": {"license": ["mit", "apache-2.0"]},
            "private": false, "tags": ["license:mit", "region:us"]
        });
        let m = map_dataset("huggingface", &data.to_string(), ok(PARQUET)).unwrap();
        assert_eq!(m.platform_resource_identifier, "621ffdd236468d709f181d58");
        assert_eq!(
            body(&m),
            json!({
                "platform": "huggingface",
                "platform_resource_identifier": "621ffdd236468d709f181d58",
                // The test build `test-remapped` renames namespaced datasets.
                "name": if cfg!(feature = "test-remapped") { "u/d [remapped]" } else { "u/d" },
                "same_as": "https://huggingface.co/datasets/u/d",
                "description": {"plain": "A set."},
                "date_published": "2022-03-02T23:29:22.000Z",
                "license": "mit",
                "distribution": [
                    {"name": "train.parquet", "description": "u/d. Config: default. Split: train",
                     "content_url": "https://h/u/d/train.parquet", "content_size_kb": 2},
                    {"name": "test.parquet", "description": "u/d. Config: default. Split: test",
                     "content_url": "https://h/u/d/test.parquet", "content_size_kb": 1}
                ],
                "is_accessible_for_free": true,
                "keyword": ["license:mit", "region:us"]
            })
        );
        assert_eq!(m.warnings.len(), 1, "{:?}", m.warnings);
        assert!(m.warnings[0].contains("multiple licenses"));
        assert_eq!(m.again, None);
    }

    #[test]
    fn absent_values_are_omitted_not_null() {
        let data = json!({"_id": "abc", "id": "x", "gated": "manual"});
        let m = map_dataset("example", &data.to_string(), None).unwrap();
        let b = body(&m);
        for key in ["description", "license", "date_published"] {
            assert!(b.get(key).is_none(), "{key} in {b}");
        }
        assert_eq!(b["platform"], "example");
        assert_eq!(b["is_accessible_for_free"], true);
        assert_eq!(b["keyword"], json!([]));
        assert_eq!(b["distribution"], json!([]));
    }

    #[test]
    fn private_and_disabled_datasets_are_skipped_gated_ones_kept() {
        for (field, value, reason) in [
            ("private", json!(true), "private"),
            ("disabled", json!(true), "disabled"),
        ] {
            let mut data = json!({"_id": "abc", "id": "org/ds"});
            data[field] = value;
            match map_dataset("huggingface", &data.to_string(), None) {
                Err(MapError::Skip(why)) => {
                    assert!(why.starts_with("org/ds: ") && why.contains(reason), "{why}")
                }
                other => panic!("{field}: {other:?}"),
            }
        }
        let gated = json!({"_id": "abc", "id": "org/ds", "gated": "auto", "private": false});
        assert!(map_dataset("huggingface", &gated.to_string(), None).is_ok());
    }

    #[test]
    fn failing_parquet_keeps_dataset_and_warns_with_its_id_and_error_code() {
        let data = json!({"_id": "abc", "id": "org/ds"}).to_string();
        let coded = [("x-error-code".to_string(), "ConfigNamesError".to_string())];
        for (status, headers, text, expect) in [
            (
                404,
                &[][..],
                r#"{"error": "Not found."}"#,
                "HTTP 404: Not found.",
            ),
            (
                500,
                &[][..],
                "Internal Server Error.",
                "HTTP 500: Internal Server Error.",
            ),
            (
                500,
                &coded[..],
                r#"{"error": "Cannot get the config names."}"#,
                "HTTP 500 (ConfigNamesError): Cannot get the config names.",
            ),
            (
                0,
                &[][..],
                "connection refused",
                "request failed: connection refused",
            ),
        ] {
            let p = Some(ParquetResponse {
                status,
                headers,
                body: text.as_bytes(),
            });
            let m = map_dataset("huggingface", &data, p).unwrap();
            assert_eq!(body(&m)["distribution"], json!([]));
            assert_eq!(
                m.warnings,
                [format!("no parquet files for dataset \"org/ds\": {expect}")]
            );
            assert_eq!(m.again, None);
        }
    }

    #[test]
    fn pending_configs_map_what_is_there_and_ask_for_another_pass() {
        let data = json!({"_id": "abc", "id": "u/d"}).to_string();
        let partial = r#"{"parquet_files":[
            {"dataset":"u/d","config":"default","split":"train","url":"https://h/t.parquet","filename":"t.parquet","size":10}
        ],"pending":[{"kind":"config-parquet","dataset":"u/d","config":"extra","split":null}],
        "failed":[],"partial":false}"#;
        let m = map_dataset("huggingface", &data, ok(partial)).unwrap();
        assert_eq!(body(&m)["distribution"].as_array().unwrap().len(), 1);
        let again = m.again.expect("pending configs are not final");
        assert!(again.contains("1 config(s) of \"u/d\" (extra)"), "{again}");
    }

    #[test]
    fn a_huge_error_text_is_cut_in_the_warning() {
        let data = json!({"_id": "abc", "id": "org/ds"}).to_string();
        let text = json!({"error": "x".repeat(1_000_000)}).to_string();
        let p = Some(ParquetResponse {
            status: 500,
            headers: &[],
            body: text.as_bytes(),
        });
        let m = map_dataset("huggingface", &data, p).unwrap();
        assert!(m.warnings[0].len() < 400, "{}", m.warnings[0].len());
    }

    #[test]
    fn malformed_records_are_invalid_with_a_reason() {
        let invalid = |data: &str| match map_dataset("h", data, None) {
            Err(MapError::Invalid(why)) => why,
            other => panic!("{other:?}"),
        };
        assert!(invalid("[]").contains("not a Hugging Face dataset"));
        assert_eq!(invalid(r#"{"_id":"a"}"#), "dataset has no 'id'");
        assert_eq!(invalid(r#"{"id":"a/b"}"#), "dataset \"a/b\" has no '_id'");
    }
}
