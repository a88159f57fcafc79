//! The host's own types for what crosses the plugin boundary. The WIT
//! bindings are converted to and from these in `plugin`, so that a new
//! contract version changes only that module.

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

#[derive(Debug, Clone, PartialEq, Eq)]
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
}

/// Why a record produced no asset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("skipped: {0}")]
    Skip(String),
    #[error("invalid record: {0}")]
    Invalid(String),
}
