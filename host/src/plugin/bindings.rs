//! The generated WIT bindings, one set per contract version a plugin may be
//! built for, and their conversion to and from `crate::model`.
//!
//! As in Zed's extension host: the latest contract (`wit/`) and each earlier
//! compatible one (`wit/since_v*/`, frozen) get their own bindings; a plugin
//! is bound with the set of the version it exports, and what its version
//! lacks is filled in by the host (see `Connector::probes`). Types that did
//! not change are shared with the latest bindings (`with`), so conversions
//! exist once.

use crate::model;
use wasmtime::Store;
use wasmtime::component::{Component, InstancePre};

mod latest {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "connector",
    });
}

mod since_v0_1_0 {
    wasmtime::component::bindgen!({
        path: "../wit/since_v0.1.0",
        world: "connector",
        with: { "aiod:connector/types": super::latest::exports::aiod::connector::types },
    });
}

mod since_v0_1_1 {
    wasmtime::component::bindgen!({
        path: "../wit/since_v0.1.1",
        world: "connector",
        with: { "aiod:connector/types": super::latest::exports::aiod::connector::types },
    });
}

use latest::exports::aiod::connector::types as wit;

/// The contract versions this host has bindings for besides the latest; a
/// plugin built for anything else in 0.1.x is bound as the latest.
const V0_1_0: &str = "0.1.0";
const V0_1_1: &str = "0.1.1";

/// A plugin's bindings, by the contract version it was built for.
pub enum Connector {
    Latest(latest::Connector),
    V0_1_1(since_v0_1_1::Connector),
    V0_1_0(since_v0_1_0::Connector),
}

#[derive(Clone)]
pub enum ConnectorPre<T: 'static> {
    Latest(latest::ConnectorPre<T>),
    V0_1_1(since_v0_1_1::ConnectorPre<T>),
    V0_1_0(since_v0_1_0::ConnectorPre<T>),
}

/// Runs `$call` on whichever bindings `$c` holds (the calls every 0.1.x has).
macro_rules! each {
    ($c:expr, $b:ident => $call:expr) => {
        match $c {
            Connector::Latest($b) => $call,
            Connector::V0_1_1($b) => $call,
            Connector::V0_1_0($b) => $call,
        }
    };
}

impl<T: 'static> ConnectorPre<T> {
    /// Binds a plugin built for contract `version` (e.g. `0.1.0`).
    pub fn new(pre: InstancePre<T>, version: &str) -> wasmtime::Result<Self> {
        Ok(match version {
            V0_1_0 => ConnectorPre::V0_1_0(since_v0_1_0::ConnectorPre::new(pre)?),
            V0_1_1 => ConnectorPre::V0_1_1(since_v0_1_1::ConnectorPre::new(pre)?),
            _ => ConnectorPre::Latest(latest::ConnectorPre::new(pre)?),
        })
    }

    pub fn instantiate(&self, store: &mut Store<T>) -> wasmtime::Result<Connector> {
        Ok(match self {
            ConnectorPre::Latest(p) => Connector::Latest(p.instantiate(store)?),
            ConnectorPre::V0_1_1(p) => Connector::V0_1_1(p.instantiate(store)?),
            ConnectorPre::V0_1_0(p) => Connector::V0_1_0(p.instantiate(store)?),
        })
    }

    pub fn component(&self) -> &Component {
        match self {
            ConnectorPre::Latest(p) => p.instance_pre().component(),
            ConnectorPre::V0_1_1(p) => p.instance_pre().component(),
            ConnectorPre::V0_1_0(p) => p.instance_pre().component(),
        }
    }
}

/// Calls that every 0.1.x plugin exports, dispatched to its bindings; what
/// an older version lacks is `None`, and the caller falls back.
impl Connector {
    pub fn info<T>(&self, s: &mut Store<T>) -> wasmtime::Result<wit::PluginInfo> {
        each!(self, b => b.aiod_connector_plugin().call_info(s))
    }

    pub fn start<T>(
        &self,
        s: &mut Store<T>,
        ctx: &wit::Context,
        mode: &wit::SyncMode,
    ) -> wasmtime::Result<Result<Vec<wit::Request>, String>> {
        each!(self, b => b.aiod_connector_plugin().call_start(s, ctx, mode))
    }

    pub fn handle_page<T>(
        &self,
        s: &mut Store<T>,
        ctx: &wit::Context,
        mode: &wit::SyncMode,
        request: &wit::Request,
        response: &wit::Response,
    ) -> wasmtime::Result<Result<wit::Page, String>> {
        each!(self, b => b
            .aiod_connector_plugin()
            .call_handle_page(s, ctx, mode, request, response))
    }

    /// `map-judged` (0.1.2), or for an older plugin `map-record` with no word
    /// on whether the result is final.
    pub fn map_record<T>(
        &self,
        s: &mut Store<T>,
        ctx: &wit::Context,
        record: &wit::SourceRecord,
        follow_ups: &[wit::FollowUp],
    ) -> wasmtime::Result<Result<wit::Judged, wit::RecordError>> {
        let unjudged = |r: Result<wit::Mapped, wit::RecordError>| {
            r.map(|mapped| wit::Judged {
                mapped,
                again: None,
            })
        };
        match self {
            Connector::Latest(b) => b
                .aiod_connector_plugin()
                .call_map_judged(s, ctx, record, follow_ups),
            Connector::V0_1_1(b) => b
                .aiod_connector_plugin()
                .call_map_record(s, ctx, record, follow_ups)
                .map(unjudged),
            Connector::V0_1_0(b) => b
                .aiod_connector_plugin()
                .call_map_record(s, ctx, record, follow_ups)
                .map(unjudged),
        }
    }

    /// The plugin's probes (added in 0.1.1), or `None` for a plugin built
    /// before they existed.
    pub fn probes<T>(
        &self,
        s: &mut Store<T>,
        ctx: &wit::Context,
    ) -> wasmtime::Result<Option<Vec<wit::Request>>> {
        match self {
            Connector::Latest(b) => b.aiod_connector_plugin().call_probes(s, ctx).map(Some),
            Connector::V0_1_1(b) => b.aiod_connector_plugin().call_probes(s, ctx).map(Some),
            Connector::V0_1_0(_) => Ok(None),
        }
    }

    /// The bindings of a plugin built for the latest contract; `None` for an
    /// older one, which lacks the latest additions (the caller falls back).
    pub fn latest(&self) -> Option<&latest::exports::aiod::connector::plugin::Guest> {
        match self {
            Connector::Latest(b) => Some(b.aiod_connector_plugin()),
            Connector::V0_1_1(_) | Connector::V0_1_0(_) => None,
        }
    }

    /// The plugin's answer rules (added in 0.1.2), or `None` before them.
    pub fn answer_rules<T>(
        &self,
        s: &mut Store<T>,
        ctx: &wit::Context,
    ) -> wasmtime::Result<Option<Vec<wit::AnswerRule>>> {
        self.latest()
            .map(|p| p.call_answer_rules(s, ctx))
            .transpose()
    }

    /// The lookup of a missing record (added in 0.1.2), or `None` before it.
    pub fn lookup<T>(
        &self,
        s: &mut Store<T>,
        ctx: &wit::Context,
        record: &wit::MissingRecord,
    ) -> wasmtime::Result<Option<Result<wit::Request, String>>> {
        self.latest()
            .map(|p| p.call_lookup_request(s, ctx, record))
            .transpose()
    }

    /// Reads a lookup's answer (added in 0.1.2), or `None` before it.
    pub fn read_lookup<T>(
        &self,
        s: &mut Store<T>,
        ctx: &wit::Context,
        record: &wit::MissingRecord,
        response: &wit::Response,
    ) -> wasmtime::Result<Option<wit::Existence>> {
        self.latest()
            .map(|p| p.call_read_lookup(s, ctx, record, response))
            .transpose()
    }
}

pub use wit::RecordError as RecordErrorRef;

/// Sizes of what a plugin returns, to hold it to its output limit.
pub fn request_size(r: &wit::Request) -> usize {
    r.endpoint.len()
        + r.target.len()
        + r.query
            .iter()
            .chain(&r.headers)
            .map(|(k, v)| k.len() + v.len())
            .sum::<usize>()
}

pub fn page_size(p: &wit::Page) -> usize {
    p.records
        .iter()
        .map(|r| {
            r.id.len()
                + r.label.len()
                + r.version.len()
                + r.data.len()
                + r.follow_ups.iter().map(request_size).sum::<usize>()
        })
        .sum::<usize>()
        + p.next.as_ref().map_or(0, request_size)
}

pub fn judged_size(j: &wit::Judged) -> usize {
    j.mapped
        .assets
        .iter()
        .map(|a| a.asset_type.len() + a.platform_resource_identifier.len() + a.body.len())
        .chain(j.mapped.warnings.iter().map(String::len))
        .sum::<usize>()
        + j.again.as_ref().map_or(0, String::len)
}

pub fn rules_size(rules: &[wit::AnswerRule]) -> usize {
    rules
        .iter()
        .map(|r| {
            r.endpoint.len()
                + r.header.as_ref().map_or(0, String::len)
                + r.values.iter().map(String::len).sum::<usize>()
        })
        .sum()
}

pub fn existence_size(e: &wit::Existence) -> usize {
    match e {
        wit::Existence::Exists => 0,
        wit::Existence::Gone(why) | wit::Existence::Unknown(why) => why.len(),
    }
}

pub fn context(platform: &str) -> wit::Context {
    wit::Context {
        platform: platform.to_string(),
    }
}

pub fn follow_up((request, response): &(model::Request, model::Response)) -> wit::FollowUp {
    wit::FollowUp {
        request: request.into(),
        response: response.into(),
    }
}

/// Bodies must be JSON; anything else breaks the contract.
pub fn mapped(j: wit::Judged) -> Result<model::Mapped, String> {
    let wit::Judged { mapped: m, again } = j;
    let assets = m
        .assets
        .into_iter()
        .map(|a| {
            let body = serde_json::from_str(&a.body).map_err(|e| {
                format!(
                    "returned a body for {:?} that is not JSON: {e}",
                    a.platform_resource_identifier
                )
            })?;
            Ok(model::Asset {
                asset_type: a.asset_type,
                platform_resource_identifier: a.platform_resource_identifier,
                body,
            })
        })
        .collect::<Result<_, String>>()?;
    Ok(model::Mapped {
        assets,
        warnings: m.warnings,
        again,
    })
}

impl From<wit::AnswerRule> for model::AnswerRule {
    fn from(r: wit::AnswerRule) -> Self {
        model::AnswerRule {
            endpoint: r.endpoint,
            status: r.status,
            header: r.header,
            values: r.values,
            verdict: match r.verdict {
                wit::AnswerVerdict::Retry => model::Verdict::Retry,
                wit::AnswerVerdict::AgainNextPass => model::Verdict::AgainNextPass,
                wit::AnswerVerdict::Final => model::Verdict::Final,
            },
        }
    }
}

impl From<&model::MissingRecord> for wit::MissingRecord {
    fn from(r: &model::MissingRecord) -> Self {
        wit::MissingRecord {
            id: r.id.clone(),
            label: r.label.clone(),
            listed: r.listed,
        }
    }
}

impl From<wit::Existence> for model::Existence {
    fn from(e: wit::Existence) -> Self {
        match e {
            wit::Existence::Exists => model::Existence::Exists,
            wit::Existence::Gone(why) => model::Existence::Gone(why),
            wit::Existence::Unknown(why) => model::Existence::Unknown(why),
        }
    }
}

impl From<wit::PluginInfo> for model::PluginInfo {
    fn from(i: wit::PluginInfo) -> Self {
        model::PluginInfo {
            name: i.name,
            version: i.version,
            platform: i.platform,
            endpoints: i
                .endpoints
                .into_iter()
                .map(|e| model::EndpointDecl {
                    name: e.name,
                    default_base_url: e.default_base_url,
                    env_override: e.env_override,
                    description: e.description,
                    budget: e.budget.map(|b| model::Budget {
                        requests: b.requests,
                        requests_with_token: b.requests_with_token,
                        window_seconds: b.window_seconds,
                    }),
                    token_env: e.token_env,
                })
                .collect(),
            asset_types: i.asset_types,
        }
    }
}

impl From<&model::SyncMode> for wit::SyncMode {
    fn from(m: &model::SyncMode) -> Self {
        match m {
            model::SyncMode::All => wit::SyncMode::All,
            model::SyncMode::Since(t) => wit::SyncMode::Since(t.clone()),
            model::SyncMode::Id(id) => wit::SyncMode::Id(id.clone()),
        }
    }
}

impl From<&model::Request> for wit::Request {
    fn from(r: &model::Request) -> Self {
        wit::Request {
            endpoint: r.endpoint.clone(),
            target: r.target.clone(),
            query: r.query.clone(),
            headers: r.headers.clone(),
        }
    }
}

impl From<wit::Request> for model::Request {
    fn from(r: wit::Request) -> Self {
        model::Request {
            endpoint: r.endpoint,
            target: r.target,
            query: r.query,
            headers: r.headers,
        }
    }
}

impl From<&model::Response> for wit::Response {
    fn from(r: &model::Response) -> Self {
        wit::Response {
            status: r.status,
            headers: r.headers.clone(),
            body: r.body.clone(),
        }
    }
}

impl From<&model::SourceRecord> for wit::SourceRecord {
    fn from(r: &model::SourceRecord) -> Self {
        wit::SourceRecord {
            id: r.id.clone(),
            label: r.label.clone(),
            version: r.version.clone(),
            data: r.data.clone(),
            follow_ups: r.follow_ups.iter().map(Into::into).collect(),
        }
    }
}

impl From<wit::Page> for model::Page {
    fn from(p: wit::Page) -> Self {
        model::Page {
            records: p
                .records
                .into_iter()
                .map(|r| model::SourceRecord {
                    id: r.id,
                    label: r.label,
                    version: r.version,
                    data: r.data,
                    follow_ups: r.follow_ups.into_iter().map(Into::into).collect(),
                })
                .collect(),
            next: p.next.map(Into::into),
        }
    }
}

impl From<wit::RecordError> for model::RecordError {
    fn from(e: wit::RecordError) -> Self {
        match e {
            wit::RecordError::Skip(s) => model::RecordError::Skip(s),
            wit::RecordError::Invalid(s) => model::RecordError::Invalid(s),
        }
    }
}
