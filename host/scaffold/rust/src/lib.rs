//! The {{name}} plugin for aiod-host: lists {{name}}'s records and maps each
//! to an AIoD dataset body. It does no I/O: it plans requests and maps the
//! answers, and the host performs every request.

use aiod_plugin_sdk::aiod::{Dataset, Text};
use aiod_plugin_sdk::text::snippet;
use aiod_plugin_sdk::{
    Asset, Connector, Context, Endpoint, FollowUp, Info, Mapped, Mode, Page, RecordError,
    Request, Response, SourceRecord, encode, link,
};
use serde_json::Value;

/// The endpoint's name; the host resolves it to a base URL.
const API: &str = "api";

pub struct Plugin;

impl Connector for Plugin {
    fn info() -> Info {
        Info {
            name: "{{name}}".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            platform: "{{name}}".into(),
            endpoints: vec![
                Endpoint::new(API, "https://example.org", "{{name}} API (records)")
                    .env_override("{{ENV}}"),
            ],
            asset_types: vec!["datasets".into()],
        }
    }

    fn start(_ctx: &Context, mode: &Mode) -> Result<Vec<Request>, String> {
        match mode {
            Mode::All => Ok(vec![Request::get(API, "/api/records").json()]),
            Mode::Id(id) => {
                let target = format!("/api/records/{}", encode::component(id));
                Ok(vec![Request::get(API, target).json()])
            }
            Mode::Since(_) => Err("{{name}} cannot list records modified since a date".into()),
        }
    }

    fn handle_page(
        _ctx: &Context,
        mode: &Mode,
        _request: &Request,
        response: &Response,
    ) -> Result<Page, String> {
        if !response.is_success() {
            let body = snippet(&response.body);
            return Err(format!("the listing failed: HTTP {}: {body}", response.status));
        }
        let json: Value = serde_json::from_slice(&response.body)
            .map_err(|e| format!("the listing is not JSON: {e}"))?;
        let items = match (mode, json) {
            (Mode::Id(_), item @ Value::Object(_)) => vec![item],
            (_, Value::Array(items)) => items,
            (_, other) => {
                let got = snippet(other.to_string().as_bytes());
                return Err(format!("expected a list of records, got {got}"));
            }
        };
        let records = items
            .into_iter()
            .map(|item| SourceRecord {
                id: text(&item, "id").to_owned(),
                label: text(&item, "title").to_owned(),
                // Changes whenever the record does: unchanged records cost nothing.
                version: text(&item, "modified").to_owned(),
                data: item.to_string(),
                follow_ups: vec![],
            })
            .collect();
        let next = link::next(&response.headers).map(|url| Request::get(API, url).json());
        Ok(Page { records, next })
    }

    fn map(
        ctx: &Context,
        record: &SourceRecord,
        _follow_ups: &[FollowUp],
    ) -> Result<Mapped, RecordError> {
        let item: Value = serde_json::from_str(&record.data)
            .map_err(|e| RecordError::Invalid(format!("not a record: {e}")))?;
        let id = text(&item, "id");
        if id.is_empty() {
            return Err(RecordError::Invalid("the record has no id".into()));
        }
        let string = |key: &str| item.get(key).and_then(Value::as_str).map(str::to_owned);
        let dataset = Dataset {
            same_as: Some(format!("https://example.org/records/{id}")),
            description: string("description").map(Text::plain),
            date_published: string("created"),
            license: string("license"),
            keyword: item.get("keywords").and_then(Value::as_array).map(|k| {
                k.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            }),
            ..Dataset::new(&ctx.platform, id, text(&item, "title"))
        };
        Ok(Mapped::one(Asset {
            asset_type: "datasets".into(),
            platform_resource_identifier: id.to_owned(),
            body: dataset.to_json(),
        }))
    }
}

fn text<'a>(item: &'a Value, key: &str) -> &'a str {
    item.get(key).and_then(Value::as_str).unwrap_or_default()
}

aiod_plugin_sdk::export_connector!(Plugin);
