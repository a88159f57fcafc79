//! A plugin that behaves like the Hugging Face plugin, except for datasets
//! named `hostile/<behaviour>`, where it misbehaves on purpose:
//!
//! - `hostile/loop`: never returns;
//! - `hostile/balloon`: allocates until memory runs out;
//! - `hostile/trap`: panics (a trap);
//! - `hostile/huge`: returns a 20 MB body;
//! - `hostile/garbage`: returns a body that is not JSON;
//! - `hostile/wrong-platform`: returns a body for another platform.

use huggingface_plugin::{Mode, Planned, answers, listing, lookup, mapping};

wit_bindgen::generate!({
    path: "../../wit",
    world: "connector",
});

use exports::aiod::connector::plugin::Guest;
use exports::aiod::connector::types::{
    AnswerRule, AnswerVerdict, Asset, Budget, Context, Endpoint, Existence, FollowUp, Judged,
    Mapped, MissingRecord, Page, PluginInfo, RecordError, Request, Response, SourceRecord,
    SyncMode,
};

fn request(p: Planned) -> Request {
    Request {
        endpoint: p.endpoint.to_string(),
        target: p.target,
        query: p.query,
        headers: vec![],
    }
}

fn mode(m: SyncMode) -> Mode {
    match m {
        SyncMode::All => Mode::All,
        SyncMode::Since(t) => Mode::Since(t),
        SyncMode::Id(id) => Mode::Id(id),
    }
}

fn asset(id: String, body: String) -> Mapped {
    Mapped {
        assets: vec![Asset {
            asset_type: "datasets".into(),
            platform_resource_identifier: id,
            body,
        }],
        warnings: vec![],
    }
}

fn endpoint(e: &huggingface_plugin::EndpointSpec) -> Endpoint {
    Endpoint {
        name: e.name.into(),
        default_base_url: e.default_base_url.into(),
        env_override: Some(e.env_override.into()),
        description: e.description.into(),
        budget: Some(Budget {
            requests: e.budget.0,
            requests_with_token: e.budget.1,
            window_seconds: e.budget.2,
        }),
        token_env: e.token_env.iter().map(|t| t.to_string()).collect(),
    }
}

struct Hostile;

impl Guest for Hostile {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "hostile".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            platform: "huggingface".into(),
            // The same endpoints as the Hugging Face plugin, so it may replace it.
            endpoints: huggingface_plugin::ENDPOINTS.iter().map(endpoint).collect(),
            asset_types: vec!["datasets".into()],
        }
    }

    fn start(_ctx: Context, m: SyncMode) -> Result<Vec<Request>, String> {
        listing::start(&mode(m)).map(|r| vec![request(r)])
    }

    fn handle_page(
        _ctx: Context,
        m: SyncMode,
        _req: Request,
        resp: Response,
    ) -> Result<Page, String> {
        let page = listing::handle_page(&mode(m), resp.status, &resp.headers, &resp.body)?;
        Ok(Page {
            records: page
                .records
                .into_iter()
                .map(|r| SourceRecord {
                    follow_ups: r.follow_ups.into_iter().map(request).collect(),
                    id: r.id,
                    label: r.label,
                    version: r.version,
                    data: r.data,
                })
                .collect(),
            next: page.next.map(request),
        })
    }

    fn map_record(
        ctx: Context,
        record: SourceRecord,
        _f: Vec<FollowUp>,
    ) -> Result<Mapped, RecordError> {
        match record.label.as_str() {
            "hostile/loop" => {
                let mut n = 0u64;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            "hostile/balloon" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(std::hint::black_box(vec![1u8; 1 << 20]));
                }
            }
            "hostile/trap" => panic!("hostile plugin traps on purpose"),
            "hostile/huge" => Ok(asset(record.id, format!("\"{}\"", "x".repeat(20 << 20)))),
            "hostile/garbage" => Ok(asset(record.id, "this is { not JSON".into())),
            "hostile/wrong-platform" => {
                let mut out = map_dataset("elsewhere", &record.data)?;
                out.platform_resource_identifier = record.id;
                Ok(asset(out.platform_resource_identifier, out.body))
            }
            _ => {
                let out = map_dataset(&ctx.platform, &record.data)?;
                Ok(asset(out.platform_resource_identifier, out.body))
            }
        }
    }

    fn probes(_ctx: Context) -> Vec<Request> {
        listing::probes().into_iter().map(request).collect()
    }

    fn answer_rules(_ctx: Context) -> Vec<AnswerRule> {
        answers::rules()
            .into_iter()
            .map(|r| AnswerRule {
                endpoint: r.endpoint.into(),
                status: r.status,
                header: r.header.map(Into::into),
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
        Self::map_record(ctx, record, follow_ups).map(|mapped| Judged {
            mapped,
            again: None,
        })
    }

    fn lookup_request(_ctx: Context, record: MissingRecord) -> Result<Request, String> {
        lookup::request(&record.id, &record.label).map(request)
    }

    fn read_lookup(_ctx: Context, record: MissingRecord, response: Response) -> Existence {
        let (status, headers, body) = (response.status, &response.headers, &response.body);
        match lookup::read(&record.id, &record.label, status, headers, body) {
            lookup::Existence::Exists => Existence::Exists,
            lookup::Existence::Gone(why) => Existence::Gone(why),
            lookup::Existence::Unknown(why) => Existence::Unknown(why),
        }
    }
}

fn map_dataset(platform: &str, data: &str) -> Result<mapping::MappedDataset, RecordError> {
    mapping::map_dataset(platform, data, None).map_err(|e| match e {
        mapping::MapError::Skip(why) => RecordError::Skip(why),
        mapping::MapError::Invalid(why) => RecordError::Invalid(why),
    })
}

// Export symbol names only link for WebAssembly.
#[cfg(target_arch = "wasm32")]
export!(Hostile);
