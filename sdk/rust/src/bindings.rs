//! The generated bindings of the contract version this build targets, and the
//! one place where WIT types and the SDK's plain types are converted.

#[cfg(not(any(feature = "contract-v0_1_0", feature = "contract-v0_1_1")))]
wit_bindgen::generate!({
    path: "wit",
    world: "connector",
    pub_export_macro: true,
    default_bindings_module: "aiod_plugin_sdk::bindings",
});
#[cfg(feature = "contract-v0_1_1")]
wit_bindgen::generate!({
    path: "wit/since_v0.1.1",
    world: "connector",
    pub_export_macro: true,
    default_bindings_module: "aiod_plugin_sdk::bindings",
});
#[cfg(all(feature = "contract-v0_1_0", not(feature = "contract-v0_1_1")))]
wit_bindgen::generate!({
    path: "wit/since_v0.1.0",
    world: "connector",
    pub_export_macro: true,
    default_bindings_module: "aiod_plugin_sdk::bindings",
});

/// Whether this build has the 0.1.2 additions.
macro_rules! latest {
    ($($item:item)*) => {
        $(#[cfg(not(any(feature = "contract-v0_1_0", feature = "contract-v0_1_1")))] $item)*
    };
}

use crate::Connector;
use exports::aiod::connector::types as wit;

/// The contract's exports, each forwarded to `C` with plain types.
pub struct Adapter<C>(std::marker::PhantomData<C>);

impl<C: Connector> exports::aiod::connector::plugin::Guest for Adapter<C> {
    fn info() -> wit::PluginInfo {
        C::info().into()
    }

    fn start(ctx: wit::Context, mode: wit::SyncMode) -> Result<Vec<wit::Request>, String> {
        C::start(&ctx.into(), &mode.into()).map(|r| r.into_iter().map(Into::into).collect())
    }

    fn handle_page(
        ctx: wit::Context,
        mode: wit::SyncMode,
        request: wit::Request,
        response: wit::Response,
    ) -> Result<wit::Page, String> {
        C::handle_page(&ctx.into(), &mode.into(), &request.into(), &response.into()).map(Into::into)
    }

    fn map_record(
        ctx: wit::Context,
        record: wit::SourceRecord,
        follow_ups: Vec<wit::FollowUp>,
    ) -> Result<wit::Mapped, wit::RecordError> {
        map::<C>(ctx, record, follow_ups).map(|m| m.into())
    }

    #[cfg(not(feature = "contract-v0_1_0"))]
    fn probes(ctx: wit::Context) -> Vec<wit::Request> {
        C::probes(&ctx.into()).into_iter().map(Into::into).collect()
    }

    latest! {
        fn answer_rules(ctx: wit::Context) -> Vec<wit::AnswerRule> {
            C::answer_rules(&ctx.into()).into_iter().map(Into::into).collect()
        }

        fn map_judged(
            ctx: wit::Context,
            record: wit::SourceRecord,
            follow_ups: Vec<wit::FollowUp>,
        ) -> Result<wit::Judged, wit::RecordError> {
            map::<C>(ctx, record, follow_ups).map(|mut m| {
                let again = m.again.take();
                wit::Judged { mapped: m.into(), again }
            })
        }

        fn lookup_request(
            ctx: wit::Context,
            record: wit::MissingRecord,
        ) -> Result<wit::Request, String> {
            C::lookup_request(&ctx.into(), &record.into()).map(Into::into)
        }

        fn read_lookup(
            ctx: wit::Context,
            record: wit::MissingRecord,
            response: wit::Response,
        ) -> wit::Existence {
            C::read_lookup(&ctx.into(), &record.into(), &response.into()).into()
        }
    }
}

fn map<C: Connector>(
    ctx: wit::Context,
    record: wit::SourceRecord,
    follow_ups: Vec<wit::FollowUp>,
) -> Result<crate::Mapped, wit::RecordError> {
    let follow_ups: Vec<crate::FollowUp> = follow_ups.into_iter().map(Into::into).collect();
    C::map(&ctx.into(), &record.into(), &follow_ups).map_err(Into::into)
}

impl From<crate::Info> for wit::PluginInfo {
    fn from(i: crate::Info) -> Self {
        wit::PluginInfo {
            name: i.name,
            version: i.version,
            platform: i.platform,
            endpoints: i.endpoints.into_iter().map(Into::into).collect(),
            asset_types: i.asset_types,
        }
    }
}

impl From<crate::Endpoint> for wit::Endpoint {
    fn from(e: crate::Endpoint) -> Self {
        wit::Endpoint {
            name: e.name,
            default_base_url: e.default_base_url,
            env_override: e.env_override,
            description: e.description,
            budget: e.budget.map(|b| wit::Budget {
                requests: b.requests,
                requests_with_token: b.requests_with_token,
                window_seconds: b.window_seconds,
            }),
            token_env: e.token_env,
        }
    }
}

impl From<wit::Context> for crate::Context {
    fn from(c: wit::Context) -> Self {
        crate::Context {
            platform: c.platform,
        }
    }
}

impl From<wit::SyncMode> for crate::Mode {
    fn from(m: wit::SyncMode) -> Self {
        match m {
            wit::SyncMode::All => crate::Mode::All,
            wit::SyncMode::Since(t) => crate::Mode::Since(t),
            wit::SyncMode::Id(id) => crate::Mode::Id(id),
        }
    }
}

impl From<crate::Request> for wit::Request {
    fn from(r: crate::Request) -> Self {
        wit::Request {
            endpoint: r.endpoint,
            target: r.target,
            query: r.query,
            headers: r.headers,
        }
    }
}

impl From<wit::Request> for crate::Request {
    fn from(r: wit::Request) -> Self {
        crate::Request {
            endpoint: r.endpoint,
            target: r.target,
            query: r.query,
            headers: r.headers,
        }
    }
}

impl From<wit::Response> for crate::Response {
    fn from(r: wit::Response) -> Self {
        crate::Response {
            status: r.status,
            headers: r.headers,
            body: r.body,
        }
    }
}

impl From<crate::SourceRecord> for wit::SourceRecord {
    fn from(r: crate::SourceRecord) -> Self {
        wit::SourceRecord {
            id: r.id,
            label: r.label,
            version: r.version,
            data: r.data,
            follow_ups: r.follow_ups.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<wit::SourceRecord> for crate::SourceRecord {
    fn from(r: wit::SourceRecord) -> Self {
        crate::SourceRecord {
            id: r.id,
            label: r.label,
            version: r.version,
            data: r.data,
            follow_ups: r.follow_ups.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<crate::Page> for wit::Page {
    fn from(p: crate::Page) -> Self {
        wit::Page {
            records: p.records.into_iter().map(Into::into).collect(),
            next: p.next.map(Into::into),
        }
    }
}

impl From<wit::FollowUp> for crate::FollowUp {
    fn from(f: wit::FollowUp) -> Self {
        crate::FollowUp {
            request: f.request.into(),
            response: f.response.into(),
        }
    }
}

impl From<crate::Mapped> for wit::Mapped {
    fn from(m: crate::Mapped) -> Self {
        wit::Mapped {
            assets: m
                .assets
                .into_iter()
                .map(|a| wit::Asset {
                    asset_type: a.asset_type,
                    platform_resource_identifier: a.platform_resource_identifier,
                    body: a.body,
                })
                .collect(),
            warnings: m.warnings,
        }
    }
}

impl From<crate::RecordError> for wit::RecordError {
    fn from(e: crate::RecordError) -> Self {
        match e {
            crate::RecordError::Skip(why) => wit::RecordError::Skip(why),
            crate::RecordError::Invalid(why) => wit::RecordError::Invalid(why),
        }
    }
}

latest! {
    impl From<crate::AnswerRule> for wit::AnswerRule {
        fn from(r: crate::AnswerRule) -> Self {
            wit::AnswerRule {
                endpoint: r.endpoint,
                status: r.status,
                header: r.header,
                values: r.values,
                verdict: match r.verdict {
                    crate::Verdict::Retry => wit::AnswerVerdict::Retry,
                    crate::Verdict::AgainNextPass => wit::AnswerVerdict::AgainNextPass,
                    crate::Verdict::Final => wit::AnswerVerdict::Final,
                },
            }
        }
    }

    impl From<wit::MissingRecord> for crate::MissingRecord {
        fn from(r: wit::MissingRecord) -> Self {
            crate::MissingRecord {
                id: r.id,
                label: r.label,
                listed: r.listed,
            }
        }
    }

    impl From<crate::Existence> for wit::Existence {
        fn from(e: crate::Existence) -> Self {
            match e {
                crate::Existence::Exists => wit::Existence::Exists,
                crate::Existence::Gone(why) => wit::Existence::Gone(why),
                crate::Existence::Unknown(why) => wit::Existence::Unknown(why),
            }
        }
    }
}
