//! The host's own types for what crosses the plugin boundary. The WIT
//! bindings are converted to and from these in `plugin`, so that a new
//! contract version changes only that module.

use http::HeaderName;
use serde::{Deserialize, Serialize};

/// An endpoint a plugin declares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EndpointDecl {
    pub name: String,
    pub default_base_url: String,
    pub env_override: Option<String>,
    pub description: String,
    pub budget: Option<Budget>,
    pub token_env: Vec<String>,
}

/// Requests allowed per fixed window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Budget {
    pub requests: u32,
    pub requests_with_token: u32,
    pub window_seconds: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PluginInfo {
    pub name: String,
    pub version: String,
    pub platform: String,
    pub endpoints: Vec<EndpointDecl>,
    pub asset_types: Vec<String>,
}

/// What to synchronise; `Since` holds an RFC 3339 UTC instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncMode {
    All,
    Since(String),
    Id(String),
}

/// A request planned by a plugin: plain data, so a cursor can be stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    pub endpoint: String,
    pub target: String,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
}

/// A response as handed to the plugin. Status 0 stands for "no response"
/// (the body then says why).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The start of the body as text, for messages (secrets masked before
    /// it is cut, so that no part of one is left).
    pub fn snippet(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        let text = crate::secret::redact(text.trim());
        let text = text.as_ref();
        match text.char_indices().nth(200) {
            Some((cut, _)) => format!("{}…", &text[..cut]),
            None => text.to_string(),
        }
    }
}

/// Lookups in the header lists that cross the plugin boundary (names as
/// received, order and repeats kept). Names compare as `http::HeaderName`s do,
/// ignoring case; this is the one place a header is looked up by name.
pub trait Headers {
    /// The first value of `name`, trimmed.
    fn header(&self, name: &HeaderName) -> Option<&str>;

    /// Every value of `name`, trimmed, in order.
    fn header_values<'a>(&'a self, name: &HeaderName) -> impl Iterator<Item = &'a str>;
}

impl Headers for [(String, String)] {
    fn header(&self, name: &HeaderName) -> Option<&str> {
        self.header_values(name).next()
    }

    fn header_values<'a>(&'a self, name: &HeaderName) -> impl Iterator<Item = &'a str> {
        self.iter()
            .filter(move |(n, _)| name == n.as_str())
            .map(|(_, v)| v.trim())
    }
}

/// A record as the plugin listed it; stored as JSON with a dead letter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceRecord {
    pub id: String,
    pub label: String,
    pub version: String,
    pub data: String,
    pub follow_ups: Vec<Request>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub records: Vec<SourceRecord>,
    pub next: Option<Request>,
}

/// One AIoD asset to upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Asset {
    pub asset_type: String,
    pub platform_resource_identifier: String,
    pub body: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapped {
    pub assets: Vec<Asset>,
    pub warnings: Vec<String>,
    /// Why the plugin wants the record mapped again on the next pass, if it does.
    pub again: Option<String>,
}

/// Why a record produced no asset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("skipped: {0}")]
    Skip(String),
    #[error("invalid record: {0}")]
    Invalid(String),
}

/// Whether asking again can change an answer (contract 0.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// A passing failure: retry now, with backoff.
    Retry,
    /// Do not retry now; fetch the record's follow-ups again on the next pass.
    AgainNextPass,
    /// The same answer until the record changes.
    Final,
}

/// Answers of `endpoint` with `status` (and `header`, with one of `values`
/// unless that is empty) get `verdict`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerRule {
    pub endpoint: String,
    pub status: u16,
    pub header: Option<String>,
    pub values: Vec<String>,
    pub verdict: Verdict,
}

/// A record a complete pass did not list, as the plugin is asked about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingRecord {
    pub id: String,
    pub label: String,
    /// Whether this host ever listed it (else id and label come from AIoD).
    pub listed: bool,
}

/// What the platform says of a missing record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Existence {
    Exists,
    Gone(String),
    Unknown(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::{LOCATION, RETRY_AFTER};

    fn list(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn header_names_match_in_any_case_and_values_are_trimmed() {
        let headers = list(&[("Retry-After", " 3 "), ("X-Error-Code", "ResponseNotReady")]);
        assert_eq!(headers.header(&RETRY_AFTER), Some("3"));
        let code = HeaderName::from_static("x-error-code");
        assert_eq!(headers.header(&code), Some("ResponseNotReady"));
        assert_eq!(headers.header(&LOCATION), None);
        assert_eq!(list(&[]).header(&LOCATION), None);
    }

    #[test]
    fn repeated_headers_give_the_first_or_all_in_order() {
        let headers = list(&[
            ("x-error-code", "a"),
            ("location", "/x"),
            ("X-ERROR-CODE", "b"),
        ]);
        let code = HeaderName::from_static("x-error-code");
        assert_eq!(headers.header(&code), Some("a"));
        assert_eq!(headers.header_values(&code).collect::<Vec<_>>(), ["a", "b"]);
    }

    #[test]
    fn a_name_that_is_not_a_header_name_matches_nothing() {
        let headers = list(&[("retry after", "3"), ("retry-after ", "4")]);
        assert_eq!(headers.header(&RETRY_AFTER), None);
    }
}
