//! Plugin fixtures: recorded responses in, expected AIoD assets out. They let
//! an author in any language test a plugin (`plugin test`) and an operator see
//! what swapping one plugin for another would change (`plugin diff`), with no
//! network.
//!
//! A fixture is a folder with `fixture.json`:
//!
//! ```json
//! { "platform": "huggingface", "mode": "all",
//!   "responses": [{"endpoint": "hub", "path": "/api/datasets", "query": {"full": "true"},
//!                  "status": 200, "headers": {"link": "..."}, "body_file": "page1.json"}],
//!   "expected": "expected.jsonl" }
//! ```
//!
//! `mode` is `"all"`, `{"since": "<RFC 3339>"}` or `{"id": "<id>"}`. A request
//! gets the first response whose endpoint and path are equal and whose query
//! pairs it contains; an unmatched request gets a 404. `expected.jsonl` has one
//! `{"asset_type", "platform_resource_identifier", "body"}` per line.
//!
//! `plugins/fixture.schema.json` (JSON Schema 2020-12) is the format's
//! reference; a fixture that departs from it is refused with every place
//! that is wrong, before anything runs.

use crate::model::{Asset, Request, Response, SyncMode};
use crate::plugin::Plugin;
use crate::state::StoredAsset;
use crate::sync::{self, Outcome, Put, PutError, Sink};
use crate::transport::{Failure, Transport};

/// Recorded answers are in memory already.
const UNLIMITED: crate::fetch::BodyLimit = crate::fetch::BodyLimit {
    bytes: usize::MAX,
    flag: "",
};
use anyhow::{Context as _, Result, bail};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum FixtureMode {
    All,
    Since(String),
    Id(String),
}

#[derive(Deserialize)]
struct Recorded {
    endpoint: String,
    path: String,
    #[serde(default)]
    query: BTreeMap<String, String>,
    #[serde(default = "ok")]
    status: u16,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    body: Option<Value>,
    #[serde(default)]
    body_file: Option<PathBuf>,
}

fn ok() -> u16 {
    200
}

#[derive(Deserialize)]
struct FixtureFile {
    platform: Option<String>,
    mode: FixtureMode,
    responses: Vec<Recorded>,
    expected: Option<PathBuf>,
}

pub struct Fixture {
    dir: PathBuf,
    platform: Option<String>,
    mode: SyncMode,
    responses: Vec<(Recorded, Vec<u8>)>,
    expected: Option<PathBuf>,
}

/// The fixture format, documented for plugin authors (and their editors).
const SCHEMA: &str = include_str!("../../plugins/fixture.schema.json");

/// Where a fixture departs from the schema, one line each: the JSON path and
/// what is wrong there (at most ten).
fn schema_problems(fixture: &Value) -> Vec<String> {
    static VALIDATOR: std::sync::OnceLock<jsonschema::Validator> = std::sync::OnceLock::new();
    let validator = VALIDATOR.get_or_init(|| {
        let schema = serde_json::from_str(SCHEMA).expect("the fixture schema is JSON");
        jsonschema::validator_for(&schema).expect("the fixture schema is a valid JSON Schema")
    });
    validator
        .iter_errors(fixture)
        .take(10)
        .map(|e| {
            let at = e.instance_path().to_string();
            format!("{}: {e}", if at.is_empty() { "/" } else { &at })
        })
        .collect()
}

impl Fixture {
    pub fn load(dir: &Path) -> Result<Fixture> {
        let file = dir.join("fixture.json");
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("cannot read the fixture {}", file.display()))?;
        let value: Value = serde_json::from_str(&text)
            .with_context(|| format!("the fixture {} is not JSON", file.display()))?;
        let problems = schema_problems(&value);
        if !problems.is_empty() {
            bail!(
                "the fixture {} does not follow plugins/fixture.schema.json:\n  {}",
                file.display(),
                problems.join("\n  ")
            );
        }
        let f: FixtureFile = serde_json::from_value(value)
            .with_context(|| format!("invalid fixture {}", file.display()))?;
        let mut responses = Vec::new();
        for r in f.responses {
            let body = match (&r.body, &r.body_file) {
                (_, Some(p)) => std::fs::read(dir.join(p)).with_context(|| {
                    format!(
                        "cannot read {} (from {})",
                        dir.join(p).display(),
                        file.display()
                    )
                })?,
                (Some(Value::String(s)), None) => s.clone().into_bytes(),
                (Some(v), None) => v.to_string().into_bytes(),
                (None, None) => Vec::new(),
            };
            responses.push((r, body));
        }
        Ok(Fixture {
            dir: dir.to_path_buf(),
            platform: f.platform,
            mode: match f.mode {
                FixtureMode::All => SyncMode::All,
                FixtureMode::Since(t) => SyncMode::Since(t),
                FixtureMode::Id(id) => SyncMode::Id(id),
            },
            responses,
            expected: f.expected,
        })
    }

    /// The expected assets, by (asset type, platform id).
    pub fn expected(&self) -> Result<BTreeMap<(String, String), Value>> {
        let Some(name) = &self.expected else {
            bail!("the fixture {} names no expected file", self.dir.display());
        };
        let path = self.dir.join(name);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read the expected assets {}", path.display()))?;
        let mut out = BTreeMap::new();
        for (n, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let v: Value = serde_json::from_str(line)
                .with_context(|| format!("{} line {}: not JSON", path.display(), n + 1))?;
            let key = (
                v["asset_type"].as_str().unwrap_or_default().to_string(),
                v["platform_resource_identifier"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            );
            out.insert(key, v["body"].clone());
        }
        Ok(out)
    }

    pub fn respond(&self, request: &Request) -> Response {
        let (path, mut query) = split_target(&request.target);
        query.extend(request.query.iter().cloned());
        let found = self.responses.iter().find(|(r, _)| {
            r.endpoint == request.endpoint
                && r.path == path
                && r.query
                    .iter()
                    .all(|(k, v)| query.iter().any(|(qk, qv)| qk == k && qv == v))
        });
        match found {
            Some((r, body)) => Response {
                status: r.status,
                headers: r.headers.iter().map(|(k, v)| (k.to_lowercase(), v.clone())).collect(),
                body: body.clone(),
            },
            None => Response {
                status: 404,
                headers: vec![("content-type".into(), "application/json".into())],
                body: serde_json::json!({"error": format!("no recorded response for {} {path}", request.endpoint)})
                    .to_string()
                    .into_bytes(),
            },
        }
    }
}

/// `/api/datasets?full=true` or `http://host/api/datasets?…` → (path, query pairs).
fn split_target(target: &str) -> (String, Vec<(String, String)>) {
    let without_origin = match target.find("://") {
        Some(i) => target[i + 3..]
            .find('/')
            .map_or("/", |j| &target[i + 3 + j..]),
        None => target,
    };
    let (path, query) = without_origin
        .split_once('?')
        .unwrap_or((without_origin, ""));
    let pairs = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    (path.to_string(), pairs)
}

impl Transport for Fixture {
    async fn get(
        &self,
        request: &Request,
        _what: &str,
        _answers: &crate::answers::AnswerRules,
        _limit: crate::fetch::BodyLimit,
    ) -> Result<Response, Failure> {
        Ok(self.respond(request))
    }
}

/// Keeps the assets instead of uploading them.
#[derive(Default)]
struct Collect(std::cell::RefCell<BTreeMap<(String, String), Value>>);

impl Sink for Collect {
    async fn put(&self, asset: Asset, _previous: Option<StoredAsset>) -> Result<Put, PutError> {
        self.0.borrow_mut().insert(
            (asset.asset_type, asset.platform_resource_identifier),
            asset.body,
        );
        Ok(Put {
            outcome: Outcome::Printed,
            stored: None,
        })
    }
}

/// Runs `plugin` on the fixture and returns the assets it produces.
pub fn produce(
    plugin: &mut Plugin,
    fixture: &Fixture,
) -> Result<BTreeMap<(String, String), Value>> {
    let platform = fixture
        .platform
        .clone()
        .unwrap_or_else(|| plugin.info().platform.clone());
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    let sink = Collect::default();
    let job = sync::Job {
        plugin,
        transport: fixture,
        platform,
        mode: fixture.mode.clone(),
        concurrency: 1,
        max_pages: crate::cli::DEFAULT_MAX_PAGES,
        // Recorded answers are read already; a limit would change nothing.
        limits: crate::fetch::BodyLimits {
            listing: UNLIMITED,
            follow_up: UNLIMITED,
        },
        state: None,
        swaps: None,
        stop: None,
        progress: crate::progress::Progress::quiet(),
    };
    runtime.block_on(sync::run(job, &sink))?;
    Ok(sink.0.into_inner())
}

/// What changes from `old` to `new` assets, as readable lines; empty when equal.
pub fn compare(
    old: &BTreeMap<(String, String), Value>,
    new: &BTreeMap<(String, String), Value>,
    old_name: &str,
    new_name: &str,
) -> Vec<String> {
    let mut out = Vec::new();
    for (key, o) in old {
        let label = format!(
            "{} {} ({})",
            key.0,
            key.1,
            o["name"].as_str().unwrap_or("?")
        );
        match new.get(key) {
            None => out.push(format!("{label}: only in {old_name}")),
            Some(n) => {
                let diffs = crate::jsondiff::differences("body", o, n);
                if !diffs.is_empty() {
                    out.push(format!(
                        "{label}: {} difference(s) ({old_name} → {new_name})",
                        diffs.len()
                    ));
                    out.extend(diffs.into_iter().map(|d| format!("    {d}")));
                }
            }
        }
    }
    for (key, n) in new.iter().filter(|(k, _)| !old.contains_key(*k)) {
        let label = format!(
            "{} {} ({})",
            key.0,
            key.1,
            n["name"].as_str().unwrap_or("?")
        );
        out.push(format!("{label}: only in {new_name}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn targets_split_into_path_and_query() {
        assert_eq!(
            split_target("http://h:1/api/datasets?full=true&cursor=a%2Fb"),
            (
                "/api/datasets".into(),
                vec![
                    ("full".into(), "true".into()),
                    ("cursor".into(), "a/b".into())
                ]
            )
        );
        assert_eq!(split_target("/parquet"), ("/parquet".into(), vec![]));
    }

    fn load(fixture: &Value) -> String {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("fixture.json"), fixture.to_string()).unwrap();
        match Fixture::load(dir.path()) {
            Ok(_) => String::new(),
            Err(e) => format!("{e:#}"),
        }
    }

    #[test]
    fn a_malformed_fixture_is_refused_with_each_place_that_is_wrong() {
        let err = load(&json!({
            "mode": "everything",
            "responses": [
                {"endpoint": "hub", "path": "/api/datasets", "status": 700, "bodyfile": "x.json"},
                {"endpoint": "hub", "path": "api/x", "body": "{}", "body_file": "y.json"}
            ]
        }));
        assert!(
            err.contains("does not follow plugins/fixture.schema.json"),
            "{err}"
        );
        for place in [
            "/mode",
            "/responses/0/status",
            "/responses/0",
            "/responses/1/path",
            "/responses/1",
        ] {
            assert!(err.contains(&format!("\n  {place}: ")), "{place} in {err}");
        }
        assert!(err.contains("700"), "{err}");
        assert!(err.contains("bodyfile"), "{err}");
    }

    #[test]
    fn the_first_party_fixtures_follow_the_schema() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        for plugin in ["huggingface", "openml"] {
            let dir = root.join("plugins").join(plugin).join("fixtures/recorded");
            Fixture::load(&dir).unwrap_or_else(|e| panic!("{e:#}"));
        }
        assert_eq!(
            load(&json!({"mode": {"since": "2024-01-01T00:00:00Z"}, "responses": []})),
            ""
        );
    }
}
