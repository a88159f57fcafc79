//! The Hugging Face plugin for aiod-host.
//!
//! It plans the Hub listing requests and the datasets-server `/parquet`
//! follow-ups, and maps each dataset to an AIoD `Dataset` body exactly as the
//! upstream Python connector (`aiondemand/huggingface-connector`) does. It does
//! no I/O: the host performs every request.
//!
//! `listing` and `mapping` are plain Rust over JSON; this file only adapts
//! them to the WIT contract, so the same logic can be tested and benchmarked
//! natively.

pub mod answers;
pub mod listing;
pub mod lookup;
pub mod mapping;
#[cfg(any(feature = "test-remapped", feature = "test-failing"))]
pub mod test_builds;
pub mod timestamp;
pub mod version;

#[cfg(not(any(feature = "contract-v0_1_0", feature = "contract-v0_1_1")))]
wit_bindgen::generate!({
    path: "../../wit",
    world: "connector",
});

// The same plugin built for a frozen earlier contract: the host's tests run
// them to prove that plugins built before the latest additions keep working.
// 0.1.0 has no `probes`; 0.1.1 has no answer rules, `map-judged` or lookups.
#[cfg(feature = "contract-v0_1_0")]
wit_bindgen::generate!({
    path: "../../wit/since_v0.1.0",
    world: "connector",
});
#[cfg(feature = "contract-v0_1_1")]
wit_bindgen::generate!({
    path: "../../wit/since_v0.1.1",
    world: "connector",
});

/// Whether this build has the 0.1.2 additions.
macro_rules! latest {
    ($($item:item)*) => {
        $(#[cfg(not(any(feature = "contract-v0_1_0", feature = "contract-v0_1_1")))] $item)*
    };
}

use exports::aiod::connector::plugin::Guest;
use exports::aiod::connector::types::{
    Asset, Budget, Context, Endpoint, FollowUp, Mapped, Page, PluginInfo, RecordError, Request,
    Response, SourceRecord, SyncMode,
};
latest! {
    use exports::aiod::connector::types::{
        AnswerRule, AnswerVerdict, Existence, Judged, MissingRecord,
    };
}

/// The plugin's version in `info`. The test builds (`test_builds`) add build
/// metadata, so that the host sees another plugin (its provenance is name,
/// version and digest).
#[cfg(not(any(feature = "test-remapped", feature = "test-failing")))]
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
#[cfg(all(feature = "test-remapped", not(feature = "test-failing")))]
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "+remapped");
#[cfg(all(feature = "test-failing", not(feature = "test-remapped")))]
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "+failing");
#[cfg(all(feature = "test-remapped", feature = "test-failing"))]
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "+remapped.failing");

/// Endpoint names the host resolves to base URLs.
pub const HUB: &str = "hub";
pub const DATASETS_SERVER: &str = "datasets-server";

/// Hugging Face's documented Hub API budget: 500 requests per 5 minutes
/// anonymously, 1,000 with a free account's token (hub-docs `rate-limits.md`;
/// larger accounts get more, which the host learns from `RateLimit-Policy`).
const HUB_BUDGET: Budget = Budget {
    requests: 500,
    requests_with_token: 1000,
    window_seconds: 300,
};

/// An endpoint declaration as plain data, so other plugins built on this
/// crate (the host's hostile test plugin) declare exactly the same.
pub struct EndpointSpec {
    pub name: &'static str,
    pub default_base_url: &'static str,
    pub env_override: &'static str,
    pub description: &'static str,
    /// (requests, requests with a token, window in seconds)
    pub budget: (u32, u32, u32),
    pub token_env: &'static [&'static str],
}

pub const ENDPOINTS: [EndpointSpec; 2] = [
    EndpointSpec {
        name: HUB,
        default_base_url: "https://huggingface.co",
        env_override: "HF_ENDPOINT",
        description: "Hugging Face Hub API (dataset listing and lookup)",
        budget: (
            HUB_BUDGET.requests,
            HUB_BUDGET.requests_with_token,
            HUB_BUDGET.window_seconds,
        ),
        // `HF_TOKEN` as huggingface_hub reads it; `AIOD_HF_API_KEY` as today's connector.
        token_env: &["HF_TOKEN", "AIOD_HF_API_KEY"],
    },
    EndpointSpec {
        name: DATASETS_SERVER,
        default_base_url: "https://datasets-server.huggingface.co",
        env_override: "HF_DATASETS_SERVER_ENDPOINT",
        description: "Hugging Face datasets-server (parquet files of a dataset)",
        // Not documented separately; assume the Hub's anonymous budget.
        budget: (
            HUB_BUDGET.requests,
            HUB_BUDGET.requests_with_token,
            HUB_BUDGET.window_seconds,
        ),
        // Anonymous, as the upstream connector calls it.
        token_env: &[],
    },
];

impl From<&EndpointSpec> for Endpoint {
    fn from(e: &EndpointSpec) -> Self {
        Endpoint {
            name: e.name.to_string(),
            default_base_url: e.default_base_url.to_string(),
            env_override: Some(e.env_override.to_string()),
            description: e.description.to_string(),
            budget: Some(Budget {
                requests: e.budget.0,
                requests_with_token: e.budget.1,
                window_seconds: e.budget.2,
            }),
            token_env: e.token_env.iter().map(|t| t.to_string()).collect(),
        }
    }
}

/// A request in the plugin's own terms, converted to the WIT record at the edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub endpoint: &'static str,
    pub target: String,
    pub query: Vec<(String, String)>,
}

impl From<Planned> for Request {
    fn from(p: Planned) -> Self {
        Request {
            endpoint: p.endpoint.to_string(),
            target: p.target,
            query: p.query,
            headers: vec![("accept".to_string(), "application/json".to_string())],
        }
    }
}

/// The sync mode in the plugin's own terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    All,
    Since(String),
    Id(String),
}

impl From<SyncMode> for Mode {
    fn from(m: SyncMode) -> Self {
        match m {
            SyncMode::All => Mode::All,
            SyncMode::Since(t) => Mode::Since(t),
            SyncMode::Id(id) => Mode::Id(id),
        }
    }
}

struct Plugin;

impl Guest for Plugin {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "huggingface".to_string(),
            version: VERSION.to_string(),
            platform: "huggingface".to_string(),
            endpoints: ENDPOINTS.iter().map(Endpoint::from).collect(),
            asset_types: vec!["datasets".to_string()],
        }
    }

    fn start(_ctx: Context, mode: SyncMode) -> Result<Vec<Request>, String> {
        listing::start(&Mode::from(mode)).map(|r| vec![r.into()])
    }

    fn handle_page(
        _ctx: Context,
        mode: SyncMode,
        _request: Request,
        response: Response,
    ) -> Result<Page, String> {
        let page = listing::handle_page(
            &Mode::from(mode),
            response.status,
            &response.headers,
            &response.body,
        )?;
        Ok(Page {
            records: page
                .records
                .into_iter()
                .map(|r| SourceRecord {
                    follow_ups: r.follow_ups.into_iter().map(Into::into).collect(),
                    id: r.id,
                    label: r.label,
                    version: r.version,
                    data: r.data,
                })
                .collect(),
            next: page.next.map(Into::into),
        })
    }

    fn map_record(
        ctx: Context,
        record: SourceRecord,
        follow_ups: Vec<FollowUp>,
    ) -> Result<Mapped, RecordError> {
        map(&ctx, &record, &follow_ups).map(|(mapped, _)| mapped)
    }

    #[cfg(not(feature = "contract-v0_1_0"))]
    fn probes(_ctx: Context) -> Vec<Request> {
        listing::probes().into_iter().map(Into::into).collect()
    }

    latest! {
        fn answer_rules(_ctx: Context) -> Vec<AnswerRule> {
            answers::rules()
                .into_iter()
                .map(|r| AnswerRule {
                    endpoint: r.endpoint.to_string(),
                    status: r.status,
                    header: r.header.map(str::to_string),
                    values: r.values.iter().map(|v| v.to_string()).collect(),
                    verdict: match r.verdict {
                        answers::Verdict::Retry => AnswerVerdict::Retry,
                        answers::Verdict::AgainNextPass => AnswerVerdict::AgainNextPass,
                        answers::Verdict::Final => AnswerVerdict::Final,
                    },
                })
                .collect()
        }

        fn map_judged(
            ctx: Context,
            record: SourceRecord,
            follow_ups: Vec<FollowUp>,
        ) -> Result<Judged, RecordError> {
            map(&ctx, &record, &follow_ups).map(|(mapped, again)| Judged { mapped, again })
        }

        fn lookup_request(_ctx: Context, record: MissingRecord) -> Result<Request, String> {
            lookup::request(&record.id, &record.label).map(Into::into)
        }

        fn read_lookup(_ctx: Context, record: MissingRecord, response: Response) -> Existence {
            let (id, label) = (&record.id, &record.label);
            match lookup::read(id, label, response.status, &response.headers, &response.body) {
                lookup::Existence::Exists => Existence::Exists,
                lookup::Existence::Gone(why) => Existence::Gone(why),
                lookup::Existence::Unknown(why) => Existence::Unknown(why),
            }
        }
    }
}

/// Maps a record with its `/parquet` answer; the second value says why it
/// must be mapped again on the next pass, if it must.
fn map(
    ctx: &Context,
    record: &SourceRecord,
    follow_ups: &[FollowUp],
) -> Result<(Mapped, Option<String>), RecordError> {
    // The test build `test-failing` refuses most records (`test_builds`).
    #[cfg(feature = "test-failing")]
    if let Some(why) = test_builds::refusal(&record.label) {
        return Err(RecordError::Invalid(why));
    }
    let parquet = follow_ups
        .iter()
        .find(|f| f.request.endpoint == DATASETS_SERVER)
        .map(|f| mapping::ParquetResponse {
            status: f.response.status,
            headers: &f.response.headers,
            body: &f.response.body,
        });
    let out = mapping::map_dataset(&ctx.platform, &record.data, parquet).map_err(|e| match e {
        mapping::MapError::Skip(why) => RecordError::Skip(why),
        mapping::MapError::Invalid(why) => RecordError::Invalid(why),
    })?;
    let mapped = Mapped {
        assets: vec![Asset {
            asset_type: "datasets".to_string(),
            platform_resource_identifier: out.platform_resource_identifier,
            body: out.body,
        }],
        warnings: out.warnings,
    };
    Ok((mapped, out.again))
}

// The export symbols' names (`aiod:connector/plugin@0.1.1#info`) only link
// for WebAssembly; natively the crate is a library of the same logic.
#[cfg(all(target_arch = "wasm32", feature = "component"))]
export!(Plugin);
