//! The contract's types in plain Rust: what a `Connector` takes and returns.
//! They mirror the WIT records one to one; the SDK converts them at the
//! component's edge (`bindings`), so a plugin never touches generated code.

/// What a plugin says about itself (`info`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Info {
    /// Plugin name, e.g. `huggingface`.
    pub name: String,
    /// Plugin version (semver), recorded as provenance of every asset.
    pub version: String,
    /// The platform this plugin reads, and the default AIoD platform name.
    pub platform: String,
    /// Every endpoint the plugin may send requests to.
    pub endpoints: Vec<Endpoint>,
    /// AIoD asset types the plugin produces, e.g. `datasets`.
    pub asset_types: Vec<String>,
}

/// A remote service the plugin talks to; the host resolves its name to a
/// base URL and sends the plugin's requests only to declared endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Short name used in `Request::endpoint`, e.g. `hub`.
    pub name: String,
    /// Base URL used when the operator configures none.
    pub default_base_url: String,
    /// An environment variable operators already use to override the base URL.
    pub env_override: Option<String>,
    /// One line for `plugin inspect` and logs.
    pub description: String,
    /// The request budget the platform documents, if any.
    pub budget: Option<Budget>,
    /// Environment variables that may hold a bearer token (the host reads
    /// them and adds the header; the plugin never sees a token).
    pub token_env: Vec<String>,
}

impl Endpoint {
    /// An endpoint with no override, budget or token.
    pub fn new(name: &str, default_base_url: &str, description: &str) -> Endpoint {
        Endpoint {
            name: name.to_owned(),
            default_base_url: default_base_url.to_owned(),
            env_override: None,
            description: description.to_owned(),
            budget: None,
            token_env: Vec::new(),
        }
    }

    pub fn env_override(mut self, variable: &str) -> Endpoint {
        self.env_override = Some(variable.to_owned());
        self
    }

    pub fn budget(mut self, budget: Budget) -> Endpoint {
        self.budget = Some(budget);
        self
    }

    pub fn token_env(mut self, variables: &[&str]) -> Endpoint {
        self.token_env = variables.iter().map(|v| (*v).to_owned()).collect();
        self
    }
}

/// Requests allowed per fixed window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub requests: u32,
    /// The larger budget when a token is used.
    pub requests_with_token: u32,
    pub window_seconds: u32,
}

/// Settings the host passes to every call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    /// The AIoD platform name to put on assets.
    pub platform: String,
}

/// What to synchronise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Every record the platform lists.
    All,
    /// Records modified at or after this instant (RFC 3339, UTC).
    Since(String),
    /// One record, by its platform identifier.
    Id(String),
}

/// A GET request for the host to perform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The name of a declared endpoint.
    pub endpoint: String,
    /// A path (with optional query) relative to the endpoint's base URL, or
    /// an absolute URL under it (such as a `Link: rel="next"` target).
    pub target: String,
    /// Query parameters the host appends, URL-encoded.
    pub query: Vec<(String, String)>,
    /// Extra request headers (never credentials: the host adds those).
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// A GET of `target` on `endpoint`.
    pub fn get(endpoint: &str, target: impl Into<String>) -> Request {
        Request {
            endpoint: endpoint.to_owned(),
            target: target.into(),
            query: Vec::new(),
            headers: Vec::new(),
        }
    }

    pub fn query(mut self, name: &str, value: impl Into<String>) -> Request {
        self.query.push((name.to_owned(), value.into()));
        self
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Request {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// Asks for JSON (`accept: application/json`).
    pub fn json(self) -> Request {
        self.header("accept", "application/json")
    }
}

/// An answer to a `Request`, as the host received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// 0 when there was no answer (the body says why).
    pub status: u16,
    /// Header names are lower-case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of header `name` (any case), trimmed.
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// The first value of header `name` (any case) in a header list, trimmed.
pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
}

/// One record found in a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRecord {
    /// The record's stable platform identifier.
    pub id: String,
    /// A human-readable name for logs.
    pub label: String,
    /// Changes whenever the record changes.
    pub version: String,
    /// The record itself (JSON is customary); handed back to `map`.
    pub data: String,
    /// Requests whose answers `map` needs for this record.
    pub follow_ups: Vec<Request>,
}

/// The result of reading one listing answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub records: Vec<SourceRecord>,
    /// The next listing request; `None` when the listing is complete.
    pub next: Option<Request>,
}

/// A follow-up request and the answer the host got for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowUp {
    pub request: Request,
    pub response: Response,
}

/// One asset to upload to AIoD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asset {
    /// AIoD asset type (the REST collection), e.g. `datasets`.
    pub asset_type: String,
    pub platform_resource_identifier: String,
    /// The JSON body to send.
    pub body: String,
}

/// What mapping one record gave.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Mapped {
    pub assets: Vec<Asset>,
    /// Non-fatal problems for the host to log with the record.
    pub warnings: Vec<String>,
    /// Why the record must be mapped again on the next pass although its
    /// version does not change; `None` when what was mapped stands (the
    /// contract's `judged`; hosts before 0.1.2 never ask).
    pub again: Option<String>,
}

impl Mapped {
    /// One asset, no warnings.
    pub fn one(asset: Asset) -> Mapped {
        Mapped {
            assets: vec![asset],
            ..Mapped::default()
        }
    }
}

/// Why a record gave no asset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordError {
    /// Deliberately not uploaded (the reason is logged); AIoD's assets of it
    /// from before are deleted.
    Skip(String),
    /// Malformed; the host reports it and goes on.
    Invalid(String),
}

/// Whether asking again can change an answer (a follow-up verdict).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// A passing failure: the host retries now.
    Retry,
    /// The same answer now, maybe another on a later pass: fetched again then.
    AgainNextPass,
    /// The same answer until the record changes: what it maps stands.
    Final,
}

/// Answers of `endpoint` with `status` (and, if set, `header` with one of
/// `values`, or any value when `values` is empty) get `verdict`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerRule {
    pub endpoint: String,
    pub status: u16,
    pub header: Option<String>,
    pub values: Vec<String>,
    pub verdict: Verdict,
}

impl AnswerRule {
    /// Every answer of `endpoint` with `status`.
    pub fn status(endpoint: &str, status: u16, verdict: Verdict) -> AnswerRule {
        AnswerRule {
            endpoint: endpoint.to_owned(),
            status,
            header: None,
            values: Vec::new(),
            verdict,
        }
    }

    /// Only answers carrying `header` (with one of `values`, if any).
    pub fn with_header(mut self, header: &str, values: &[&str]) -> AnswerRule {
        self.header = Some(header.to_owned());
        self.values = values.iter().map(|v| (*v).to_owned()).collect();
        self
    }
}

/// A record a complete pass did not list, although AIoD holds assets of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingRecord {
    /// Its `SourceRecord::id` when last listed (or the asset's platform id).
    pub id: String,
    /// Its label when last listed (or the asset's name in AIoD; may be empty).
    pub label: String,
    /// Whether this host ever listed it.
    pub listed: bool,
}

/// What the platform's answer says of a missing record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Existence {
    /// It exists and may be published: its assets stay.
    Exists,
    /// Gone or no longer public: its assets are deleted (the reason is logged).
    Gone(String),
    /// The answer does not tell: the assets stay, asked again later.
    Unknown(String),
}
