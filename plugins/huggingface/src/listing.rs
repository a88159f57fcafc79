//! Planning Hugging Face Hub requests and reading listing responses.

use crate::{DATASETS_SERVER, HUB, Mode, mapping, version};
use aiod_plugin_sdk::{Page, Request, SourceRecord, encode, link, text::snippet, time};
use serde_json::Value;

/// Datasets per listing page. An explicit size keeps the cost of a pass
/// known (the Hub's default is undocumented); 1,000 is what the dataset
/// viewer's own Hub cache asks for, and the most the Hub accepts.
pub const PAGE_SIZE: usize = 1000;

/// The first request of a sync.
///
/// `all` lists by `createdAt`, newest first: a value that never changes, so a
/// pass that takes hours sees every dataset that existed when it started
/// exactly once (new ones only appear at the head, before the cursor).
/// Without `sort` the Hub orders by `trendingScore`, which moves daily: a
/// dataset whose score rises during a pass jumps ahead of the cursor and is
/// never listed (https://github.com/huggingface/huggingface_hub/issues/2741). `since` lists by
/// `lastModified`, newest first, and stops at the cutoff. The Hub sorts
/// descending only (`direction` is deprecated, https://github.com/huggingface/huggingface_hub/pull/3630).
pub fn start(mode: &Mode) -> Result<Request, String> {
    let listing = |sort: &str| {
        hub("/api/datasets")
            .query("full", "true")
            .query("sort", sort)
            .query("limit", PAGE_SIZE.to_string())
    };
    Ok(match mode {
        Mode::All => listing("createdAt"),
        Mode::Since(cutoff) => {
            time::parse(cutoff)
                .ok_or_else(|| format!("'since' needs an RFC 3339 timestamp, got {cutoff:?}"))?;
            listing("lastModified")
        }
        Mode::Id(id) => {
            if id.is_empty() {
                return Err("'id' needs a Hugging Face dataset id such as 'user/name'".into());
            }
            hub(format!("/api/datasets/{}", encode::path(id)))
        }
    })
}

/// Cheap requests showing that both endpoints answer: a listing of one
/// dataset, and the datasets-server's health route.
pub fn probes() -> Vec<Request> {
    vec![
        hub("/api/datasets").query("limit", "1"),
        Request::get(DATASETS_SERVER, "/healthcheck").json(),
    ]
}

/// A request to the Hub API, which answers JSON.
pub fn hub(target: impl Into<String>) -> Request {
    Request::get(HUB, target).json()
}

/// The datasets-server request for a dataset's parquet files.
pub fn parquet_request(dataset_id: &str) -> Request {
    Request::get(DATASETS_SERVER, "/parquet")
        .query("dataset", dataset_id)
        .json()
}

/// Reads one listing (or, in `id` mode, one dataset) response.
pub fn handle_page(
    mode: &Mode,
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
) -> Result<Page, String> {
    if status != 200 {
        let what = match mode {
            Mode::Id(id) if status == 404 || status == 401 => {
                return Err(format!(
                    "dataset {id:?} not found on Hugging Face (HTTP {status}); \
                     it may not exist, or be private or gated"
                ));
            }
            Mode::Id(id) => format!("lookup of dataset {id:?}"),
            _ => "dataset listing".to_string(),
        };
        return Err(format!("{what} failed: HTTP {status}: {}", snippet(body)));
    }
    let parsed: Value = serde_json::from_slice(body)
        .map_err(|e| format!("Hugging Face answered with invalid JSON: {e}"))?;
    let items = match (mode, parsed) {
        (Mode::Id(_), obj @ Value::Object(_)) => vec![obj],
        (Mode::Id(_), other) => {
            return Err(format!("expected one dataset object, got {}", kind(&other)));
        }
        (_, Value::Array(items)) => items,
        (_, other) => {
            return Err(format!(
                "expected a JSON array of datasets, got {}",
                kind(&other)
            ));
        }
    };

    let cutoff = match mode {
        Mode::Since(c) => time::parse(c),
        _ => None,
    };
    let mut records = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        if let Some(cutoff) = cutoff {
            // Newest first: the first older dataset ends the sync, this page included.
            let modified = item.get("lastModified").and_then(Value::as_str);
            if modified.and_then(time::parse).is_some_and(|m| m < cutoff) {
                return Ok(Page {
                    records,
                    next: None,
                });
            }
        }
        records.push(found(index, item));
    }
    let next = match mode {
        Mode::Id(_) => None,
        _ => link::next(headers).map(hub),
    };
    Ok(Page { records, next })
}

/// A listed dataset as a record: its id is the `_id` (stable across renames),
/// or the repo id when `_id` is missing so that it can still be reported by
/// name; its label the repo id (`namespace/name`); its version a digest of
/// what the mapping reads (`version`); its follow-up the `/parquet` request,
/// none for a dataset that will not be published.
fn found(index: usize, item: Value) -> SourceRecord {
    let text = |key: &str| item.get(key).and_then(Value::as_str).unwrap_or_default();
    let label = text("id").to_string();
    let id = match (text("_id"), label.as_str()) {
        ("", "") => format!("#{index}"),
        ("", name) => name.to_string(),
        (oid, _) => oid.to_string(),
    };
    let flag = |key: &str| item.get(key).and_then(Value::as_bool);
    // A dataset that will not be published costs no datasets-server request.
    let follow_ups = match mapping::unpublishable(flag("private"), flag("disabled")) {
        Some(_) => Vec::new(),
        None => vec![parquet_request(&label)],
    };
    SourceRecord {
        version: version::of(&item),
        id,
        label,
        data: item.to_string(),
        follow_ups,
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(v: &str) -> Vec<(String, String)> {
        vec![("link".to_string(), v.to_string())]
    }

    fn query(p: &Request) -> Vec<(&str, &str)> {
        p.query
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    #[test]
    fn all_lists_by_creation_and_since_by_modification_in_pages_of_1000() {
        let all = start(&Mode::All).unwrap();
        assert_eq!(
            query(&all),
            [("full", "true"), ("sort", "createdAt"), ("limit", "1000")]
        );
        let since = start(&Mode::Since("2024-01-01T00:00:00Z".into())).unwrap();
        assert_eq!(
            query(&since),
            [
                ("full", "true"),
                ("sort", "lastModified"),
                ("limit", "1000")
            ]
        );
        assert!(!since.query.iter().any(|(k, _)| k == "direction"));
    }

    #[test]
    fn private_and_disabled_datasets_get_no_follow_up() {
        let body = br#"[
            {"_id":"a","id":"n/a","private":false,"gated":"manual"},
            {"_id":"b","id":"n/b","private":true},
            {"_id":"c","id":"n/c","disabled":true}
        ]"#;
        let page = handle_page(&Mode::All, 200, &[], body).unwrap();
        let planned: Vec<usize> = page.records.iter().map(|r| r.follow_ups.len()).collect();
        assert_eq!(planned, [1, 0, 0]);
        assert_eq!(page.records[0].follow_ups[0], parquet_request("n/a"));
    }

    #[test]
    fn since_stops_at_first_older_dataset() {
        let body = br#"[
            {"_id":"a","id":"n/a","lastModified":"2024-03-01T00:00:00.000Z","sha":"1"},
            {"_id":"b","id":"n/b","lastModified":"2024-01-01T00:00:00.000Z","sha":"2"},
            {"_id":"c","id":"n/c","lastModified":"2023-12-31T23:59:59.000Z","sha":"3"},
            {"_id":"d","id":"n/d","lastModified":"2024-05-01T00:00:00.000Z","sha":"4"}
        ]"#;
        let h = link("<http://h/api/datasets?cursor=2>; rel=\"next\"");
        let mode = Mode::Since("2024-01-01T00:00:00Z".into());
        let page = handle_page(&mode, 200, &h, body).unwrap();
        let ids: Vec<_> = page.records.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(page.next, None);
    }

    #[test]
    fn all_follows_link_and_keeps_order() {
        let body = br#"[{"_id":"x","id":"x"},{"id":"noid"},{}]"#;
        let h = link("<http://h/api/datasets?cursor=2>; rel=\"next\"");
        let page = handle_page(&Mode::All, 200, &h, body).unwrap();
        let ids: Vec<_> = page.records.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["x", "noid", "#2"]);
        assert_eq!(page.next.unwrap().target, "http://h/api/datasets?cursor=2");
    }

    #[test]
    fn id_mode_reads_one_object_and_explains_404() {
        let mode = Mode::Id("user/ds".into());
        assert_eq!(start(&mode).unwrap().target, "/api/datasets/user/ds");
        let page = handle_page(&mode, 200, &[], br#"{"_id":"1","id":"user/ds"}"#).unwrap();
        assert_eq!(page.records.len(), 1);
        let err = handle_page(&mode, 404, &[], br#"{"error":"Repository not found"}"#).unwrap_err();
        assert!(
            err.contains("\"user/ds\" not found on Hugging Face (HTTP 404)"),
            "{err}"
        );
    }

    #[test]
    fn listing_errors_name_status_and_body() {
        let err = handle_page(&Mode::All, 500, &[], b"Internal Server Error.").unwrap_err();
        assert_eq!(
            err,
            "dataset listing failed: HTTP 500: Internal Server Error."
        );
        let err = handle_page(&Mode::All, 200, &[], b"{\"a\":1}").unwrap_err();
        assert!(err.contains("expected a JSON array"), "{err}");
    }
}
