//! The Hugging Face plugin for aiod-host.
//!
//! It plans the Hub listing requests and the datasets-server `/parquet`
//! follow-ups, and maps each dataset to an AIoD `Dataset` body exactly as the
//! upstream Python connector (`aiondemand/huggingface-connector`) does. It does
//! no I/O: the host performs every request.
//!
//! `listing` and `mapping` are plain Rust over JSON; this file declares the
//! plugin to the SDK (`aiod-plugin-sdk`), which adapts it to the contract, so
//! the same logic can be tested and benchmarked natively.

pub mod answers;
pub mod listing;
pub mod lookup;
pub mod mapping;
#[cfg(any(feature = "test-remapped", feature = "test-failing"))]
pub mod test_builds;
pub mod version;

pub use aiod_plugin_sdk::{self as sdk, Mode};
use aiod_plugin_sdk::{
    AnswerRule, Asset, Budget, Connector, Context, Endpoint, Existence, FollowUp, Info, Mapped,
    MissingRecord, Page, RecordError, Request, Response, SourceRecord,
};

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

/// The endpoints the plugin sends requests to (the hostile test plugin
/// declares exactly these, so that it may replace this one).
pub fn endpoints() -> Vec<Endpoint> {
    vec![
        Endpoint::new(
            HUB,
            "https://huggingface.co",
            "Hugging Face Hub API (dataset listing and lookup)",
        )
        .env_override("HF_ENDPOINT")
        .budget(HUB_BUDGET)
        // `HF_TOKEN` as huggingface_hub reads it; `AIOD_HF_API_KEY` as today's connector.
        .token_env(&["HF_TOKEN", "AIOD_HF_API_KEY"]),
        // Not documented separately; assume the Hub's anonymous budget.
        // Anonymous, as the upstream connector calls it.
        Endpoint::new(
            DATASETS_SERVER,
            "https://datasets-server.huggingface.co",
            "Hugging Face datasets-server (parquet files of a dataset)",
        )
        .env_override("HF_DATASETS_SERVER_ENDPOINT")
        .budget(HUB_BUDGET),
    ]
}

/// The plugin: Hugging Face datasets to AIoD dataset bodies.
pub struct HuggingFace;

impl Connector for HuggingFace {
    fn info() -> Info {
        Info {
            name: "huggingface".to_string(),
            version: VERSION.to_string(),
            platform: "huggingface".to_string(),
            endpoints: endpoints(),
            asset_types: vec!["datasets".to_string()],
        }
    }

    fn start(_ctx: &Context, mode: &Mode) -> Result<Vec<Request>, String> {
        listing::start(mode).map(|r| vec![r])
    }

    fn handle_page(
        _ctx: &Context,
        mode: &Mode,
        _request: &Request,
        response: &Response,
    ) -> Result<Page, String> {
        listing::handle_page(mode, response.status, &response.headers, &response.body)
    }

    fn map(
        ctx: &Context,
        record: &SourceRecord,
        follow_ups: &[FollowUp],
    ) -> Result<Mapped, RecordError> {
        map(ctx, record, follow_ups)
    }

    fn probes(_ctx: &Context) -> Vec<Request> {
        listing::probes()
    }

    fn answer_rules(_ctx: &Context) -> Vec<AnswerRule> {
        answers::rules()
    }

    fn lookup_request(_ctx: &Context, record: &MissingRecord) -> Result<Request, String> {
        lookup::request(&record.id, &record.label)
    }

    fn read_lookup(_ctx: &Context, record: &MissingRecord, response: &Response) -> Existence {
        let (id, label) = (&record.id, &record.label);
        lookup::read(
            id,
            label,
            response.status,
            &response.headers,
            &response.body,
        )
    }
}

/// Maps a record with its `/parquet` answer; `again` says why it must be
/// mapped again on the next pass, if it must.
fn map(
    ctx: &Context,
    record: &SourceRecord,
    follow_ups: &[FollowUp],
) -> Result<Mapped, RecordError> {
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
    Ok(Mapped {
        assets: vec![Asset {
            asset_type: "datasets".to_string(),
            platform_resource_identifier: out.platform_resource_identifier,
            body: out.body,
        }],
        warnings: out.warnings,
        again: out.again,
    })
}

// The component's exports; off when another plugin reuses this logic (the
// hostile test plugin), and natively the crate is a library of the same logic.
#[cfg(feature = "component")]
aiod_plugin_sdk::export_connector!(HuggingFace);
