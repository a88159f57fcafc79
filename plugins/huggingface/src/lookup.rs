//! Does a dataset that a complete pass did not list still exist? The host
//! asks before it deletes anything from AIoD: a listing can miss a live
//! dataset, a lookup by name cannot.

use crate::mapping;
use aiod_plugin_sdk::{Existence, Request, encode, header, text::snippet};
use serde_json::Value;

/// `GET /api/datasets/{repo id}`: `label` is the repo id it was last listed
/// under (or its AIoD `name`, which the mapping sets to the repo id). The
/// `_id` cannot be looked up on the Hub.
pub fn request(id: &str, label: &str) -> Result<Request, String> {
    if label.is_empty() {
        return Err(format!(
            "no repo id is known for dataset {id:?}, so it cannot be looked up"
        ));
    }
    Ok(crate::listing::hub(format!(
        "/api/datasets/{}",
        encode::path(label)
    )))
}

/// Reads the lookup's answer. Only the Hub's own word is "gone": a missing
/// repo (401 or 404 with `X-Error-Code: RepoNotFound` or the Hub's "Repository
/// not found"; anonymously the Hub answers 401 for a repo that does not exist
/// or is private), a disabled one (403 "Access to this resource is
/// disabled."), or a dataset that is now private or disabled, or whose name
/// now belongs to another dataset (another `_id`; a renamed dataset keeps its
/// `_id`, and the Hub redirects its old name to the new one). Anything else
/// (a bare 404 from a proxy or mirror that does not route lookups, a 401 for
/// a rejected token, 429, 5xx, no answer) tells nothing.
pub fn read(
    id: &str,
    label: &str,
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
) -> Existence {
    let said = hub_error(body);
    let not_found = header(headers, "x-error-code") == Some("RepoNotFound")
        || said
            .as_deref()
            .is_some_and(|e| e.starts_with("Repository not found"));
    match status {
        200 => read_dataset(id, label, body),
        401 | 404 if not_found => Existence::Gone(format!(
            "{label:?} is not on Hugging Face, or it is private now (HTTP {status} RepoNotFound)"
        )),
        403 if said.as_deref() == Some("Access to this resource is disabled.") => {
            Existence::Gone(format!("{label:?} is disabled on Hugging Face (HTTP 403)"))
        }
        0 => Existence::Unknown(format!("no answer: {}", snippet(body))),
        _ => Existence::Unknown(format!("HTTP {status}: {}", snippet(body))),
    }
}

/// The `error` of a Hub error body `{"error": "..."}`.
fn hub_error(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    value.get("error")?.as_str().map(str::to_string)
}

fn read_dataset(id: &str, label: &str, body: &[u8]) -> Existence {
    let Ok(dataset) = serde_json::from_slice::<Value>(body) else {
        return Existence::Unknown(format!("the answer is not JSON: {}", snippet(body)));
    };
    let Some(oid) = dataset.get("_id").and_then(Value::as_str) else {
        return Existence::Unknown("the answer has no '_id'".to_string());
    };
    if oid != id {
        return Existence::Gone(format!(
            "{label:?} now names another dataset (_id {oid}, not {id})"
        ));
    }
    let flag = |key: &str| dataset.get(key).and_then(Value::as_bool);
    match mapping::unpublishable(flag("private"), flag("disabled")) {
        Some(reason) => Existence::Gone(format!("{label}: {reason}")),
        None => Existence::Exists,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(c: &str) -> Vec<(String, String)> {
        vec![("x-error-code".to_string(), c.to_string())]
    }

    #[test]
    fn the_lookup_is_by_repo_id() {
        let r = request("621ffdd2", "nyu-mll/glue").unwrap();
        assert_eq!(
            (r.endpoint.as_str(), r.target.as_str()),
            (crate::HUB, "/api/datasets/nyu-mll/glue")
        );
        assert!(
            request("621ffdd2", "")
                .unwrap_err()
                .contains("cannot be looked up")
        );
    }

    #[test]
    fn only_a_clear_answer_is_gone() {
        let gone = |e: Existence| matches!(e, Existence::Gone(_));
        let unknown = |e: Existence| matches!(e, Existence::Unknown(_));
        let body = br#"{"error":"Repository not found"}"#;
        assert!(gone(read("a", "u/d", 401, &code("RepoNotFound"), body)));
        assert!(gone(read("a", "u/d", 404, &code("RepoNotFound"), body)));
        assert!(gone(read("a", "u/d", 404, &[], body)));
        assert!(gone(read("a", "u/d", 401, &code("RepoNotFound"), b"")));
        let disabled = br#"{"error":"Access to this resource is disabled."}"#;
        assert!(gone(read("a", "u/d", 403, &[], disabled)));
        // A mirror or proxy that does not route lookups says nothing of the dataset.
        assert!(unknown(read(
            "a",
            "u/d",
            404,
            &[],
            b"<html>Not Found</html>"
        )));
        assert!(unknown(read("a", "u/d", 410, &[], b"Gone")));
        assert!(unknown(read(
            "a",
            "u/d",
            403,
            &[],
            b"access disabled for your IP"
        )));
        // A rejected token answers 401 for everything: that says nothing.
        let bad_token = br#"{"error":"Invalid credentials in Authorization header"}"#;
        assert!(unknown(read("a", "u/d", 401, &[], bad_token)));
        assert!(unknown(read("a", "u/d", 403, &[], b"{}")));
        for status in [0, 307, 429, 500, 502, 503] {
            assert!(unknown(read("a", "u/d", status, &[], b"x")), "{status}");
        }
    }

    #[test]
    fn a_found_dataset_must_be_the_same_and_public() {
        let ok = br#"{"_id":"a","id":"u/d","private":false,"gated":"manual"}"#;
        assert_eq!(read("a", "u/d", 200, &[], ok), Existence::Exists);
        let other = br#"{"_id":"b","id":"u/d"}"#;
        assert!(
            matches!(read("a", "u/d", 200, &[], other), Existence::Gone(w) if w.contains("another dataset"))
        );
        let private = br#"{"_id":"a","id":"u/d","private":true}"#;
        assert!(
            matches!(read("a", "u/d", 200, &[], private), Existence::Gone(w) if w.contains("private"))
        );
        let disabled = br#"{"_id":"a","id":"u/d","disabled":true}"#;
        assert!(
            matches!(read("a", "u/d", 200, &[], disabled), Existence::Gone(w) if w.contains("disabled"))
        );
        assert!(matches!(
            read("a", "u/d", 200, &[], b"[]"),
            Existence::Unknown(_)
        ));
        assert!(matches!(
            read("a", "u/d", 200, &[], b"<html>"),
            Existence::Unknown(_)
        ));
    }
}
