//! The sync pipeline driven directly: the Hugging Face plugin (built by
//! `cargo xtask build-plugins`) against a scripted Hub that pages the recorded
//! listing two datasets at a time, a sink that records every put, and an
//! in-memory state.

use super::*;
use crate::fetch::BodyLimit;
use crate::fixtures::Fixture;
use crate::plugin::Limits;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use tokio::sync::Notify;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `huggingface.wasm` as the project ships it (`plugins/`), or a test build of
/// it (`target/test-plugins/`).
fn plugin(file: &str) -> Plugin {
    let shipped = workspace().join("plugins").join(file);
    let path = match shipped.exists() {
        true => shipped,
        false => workspace().join("target/test-plugins").join(file),
    };
    Plugin::load(&path, Limits::default())
        .unwrap_or_else(|e| panic!("{e:#} (build it with `cargo xtask build-plugins`)"))
}

/// The six recorded datasets' repo ids, in listing order.
const NAMES: [&str; 6] = [
    "acronym_identification",
    "rotten_tomatoes",
    "0n1xus/codexglue",
    "04-07-22/wep-probes",
    "air_dialogue",
    "bobbydylan/top2k",
];

/// A Hub serving the recorded listing in pages of two (a `Link` to
/// `?cursor=N` for the next) and the recorded datasets-server answers.
struct Hub {
    recorded: Fixture,
    datasets: Vec<serde_json::Value>,
    /// Every request, as `endpoint path?query`.
    asked: RefCell<Vec<String>>,
    /// A failure instead of the `/parquet` answer of a dataset.
    failing: RefCell<HashMap<String, Failure>>,
    /// Answer this many `cursor` requests with 400, as to an expired cursor.
    expired_cursors: Cell<usize>,
}

const PAGE: usize = 2;

impl Hub {
    fn new() -> Hub {
        let dir = workspace().join("plugins/huggingface/fixtures/recorded");
        let list = workspace().join("local-servers/data/huggingface/data_list.json");
        let datasets = serde_json::from_slice(&std::fs::read(list).unwrap()).unwrap();
        Hub {
            recorded: Fixture::load(&dir).unwrap(),
            datasets,
            asked: RefCell::default(),
            failing: RefCell::default(),
            expired_cursors: Cell::new(0),
        }
    }

    /// The records' ids (the datasets' `_id`s) in listing order.
    fn ids(&self) -> Vec<String> {
        self.datasets
            .iter()
            .map(|d| d["_id"].as_str().unwrap().to_string())
            .collect()
    }

    fn fail(&self, dataset: &str, failure: Failure) {
        self.failing
            .borrow_mut()
            .insert(dataset.to_string(), failure);
    }

    /// The listing requests asked, by their cursor ("" for the first page).
    fn listing_cursors(&self) -> Vec<String> {
        self.asked
            .borrow()
            .iter()
            .filter(|a| a.starts_with("hub "))
            .map(|a| {
                let cursor = a.split_once("cursor=").map_or("", |(_, c)| c);
                cursor.split('&').next().unwrap_or("").to_string()
            })
            .collect()
    }

    fn parquet_asked(&self) -> Vec<String> {
        self.asked
            .borrow()
            .iter()
            .filter_map(|a| {
                a.split_once("/parquet?dataset=")
                    .map(|(_, d)| d.to_string())
            })
            .collect()
    }

    fn listing(&self, query: &HashMap<String, String>) -> Response {
        let start: usize = match query.get("cursor") {
            None => 0,
            Some(_) if self.expired_cursors.get() > 0 => {
                self.expired_cursors.set(self.expired_cursors.get() - 1);
                return Response {
                    status: 400,
                    headers: Vec::new(),
                    body: br#"{"error":"Invalid cursor"}"#.to_vec(),
                };
            }
            Some(c) => c.parse().unwrap(),
        };
        let end = (start + PAGE).min(self.datasets.len());
        let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
        if end < self.datasets.len() {
            headers.push((
                "link".to_string(),
                format!("<http://hub.test/api/datasets?full=true&cursor={end}>; rel=\"next\""),
            ));
        }
        Response {
            status: 200,
            headers,
            body: serde_json::to_vec(&self.datasets[start..end]).unwrap(),
        }
    }
}

impl Transport for Hub {
    async fn get(
        &self,
        request: &Request,
        _what: &str,
        _answers: &AnswerRules,
        _limit: BodyLimit,
    ) -> Result<Response, Failure> {
        let url = match request.target.strip_prefix('/') {
            Some(path) => url::Url::parse(&format!("http://any.test/{path}")).unwrap(),
            None => url::Url::parse(&request.target).unwrap(),
        };
        let mut query: HashMap<String, String> = url.query_pairs().into_owned().collect();
        query.extend(request.query.iter().cloned());
        let mut pairs: Vec<_> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        pairs.sort_by_key(|p| !p.starts_with("dataset="));
        self.asked.borrow_mut().push(format!(
            "{} {}?{}",
            request.endpoint,
            url.path(),
            pairs.join("&")
        ));
        match (request.endpoint.as_str(), url.path()) {
            ("hub", "/api/datasets") => Ok(self.listing(&query)),
            (_, "/parquet") => match self.failing.borrow().get(&query["dataset"]) {
                Some(failure) => Err(failure.clone()),
                None => Ok(self.recorded.respond(request)),
            },
            other => panic!("unexpected request {other:?}"),
        }
    }
}

/// Records every put; can end the sync at one, hang at one (a kill), or set
/// the stop flag at one (a signal).
#[derive(Default)]
struct Recording {
    /// The platform id of each put and whether the state knew the asset.
    puts: RefCell<Vec<(String, bool)>>,
    fail_at: Option<(usize, PutError)>,
    hang_at: Option<usize>,
    hung: Notify,
    stop_at: Option<(usize, AtomicBool)>,
}

impl Recording {
    fn ids(&self) -> Vec<String> {
        self.puts
            .borrow()
            .iter()
            .map(|(id, _)| id.clone())
            .collect()
    }
}

impl Sink for Recording {
    async fn put(&self, asset: Asset, previous: Option<StoredAsset>) -> Result<Put, PutError> {
        let n = self.puts.borrow().len();
        if self.hang_at == Some(n) {
            self.hung.notify_one();
            std::future::pending::<()>().await;
        }
        if let Some((at, stop)) = &self.stop_at
            && *at == n
        {
            stop.store(true, Ordering::Relaxed);
        }
        let id = asset.platform_resource_identifier.clone();
        self.puts
            .borrow_mut()
            .push((id.clone(), previous.is_some()));
        if let Some((at, e)) = &self.fail_at
            && *at == n
        {
            return Err(e.clone());
        }
        Ok(Put {
            outcome: if previous.is_some() {
                Outcome::Updated
            } else {
                Outcome::Created
            },
            stored: Some(StoredAsset {
                asset_type: asset.asset_type,
                identifier: format!("data_{n}"),
                platform_resource_identifier: id,
                body_hash: String::new(),
            }),
        })
    }

    fn in_flight(&self) -> usize {
        2
    }
}

const LIMITS: BodyLimits = BodyLimits {
    listing: BodyLimit {
        bytes: 64 << 20,
        flag: "--max-listing-mib",
    },
    follow_up: BodyLimit {
        bytes: 16 << 20,
        flag: "--max-follow-up-mib",
    },
};

fn in_memory() -> State {
    State::open(Path::new(":memory:")).unwrap()
}

/// Syncs `mode` with the Hugging Face plugin, on one thread as the host's
/// callers block on it.
fn sync(
    hub: &Hub,
    sink: &Recording,
    state: Option<&mut State>,
    plugin: &mut Plugin,
    swaps: Option<&Receiver<Plugin>>,
) -> Result<Finished, SyncError> {
    sync_or_kill(hub, sink, state, plugin, swaps).expect("the sink never hangs")
}

/// `sync`, dropped (as a killed process stops) when the sink hangs: `None`.
fn sync_or_kill(
    hub: &Hub,
    sink: &Recording,
    state: Option<&mut State>,
    plugin: &mut Plugin,
    swaps: Option<&Receiver<Plugin>>,
) -> Option<Result<Finished, SyncError>> {
    let job = Job {
        plugin,
        transport: hub,
        platform: "huggingface".to_string(),
        mode: SyncMode::All,
        concurrency: 3,
        max_pages: 100,
        limits: LIMITS,
        state,
        swaps,
        stop: sink.stop_at.as_ref().map(|(_, stop)| stop),
        progress: Progress::quiet(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        tokio::select! {
            finished = run(job, sink) => Some(finished),
            _ = sink.hung.notified() => None,
        }
    })
}

/// The AIoD identifier the state keeps for a record's dataset.
fn identifier(state: &State, record: &str) -> Option<String> {
    let asset = state.asset("datasets", record).unwrap();
    asset.map(|a| a.identifier)
}

/// The next listing page of the unfinished pass.
fn next_page(state: &State) -> String {
    let open = state.open_pass(PassKind::All).unwrap();
    open.expect("an unfinished pass").cursor[0].target.clone()
}

/// What the state says was done with each record: `(id, done by this provenance)`.
fn done_by(state: &State, hub: &Hub, provenance: &str) -> Vec<(String, bool)> {
    hub.ids()
        .iter()
        .filter_map(|id| {
            let done = state.done_version(id).unwrap()?;
            Some((id.to_string(), done.plugin == provenance))
        })
        .collect()
}

#[test]
fn a_sync_puts_every_asset_in_listing_order_and_completes_its_pass() {
    let (hub, sink, mut state, mut hf) = (
        Hub::new(),
        Recording::default(),
        in_memory(),
        plugin("huggingface.wasm"),
    );
    let finished = sync(&hub, &sink, Some(&mut state), &mut hf, None).unwrap();
    assert_eq!(sink.ids(), hub.ids());
    assert_eq!(hub.listing_cursors(), ["", "2", "4"]);
    assert_eq!(hub.parquet_asked(), NAMES);
    assert_eq!(
        finished.summary.to_string(),
        "seen 6, created 6, updated 0, unchanged 0, skipped 0, failed 0 (3 pages, 1 warnings)"
    );
    assert!(finished.completed_pass.is_some());
    assert!(
        state.open_pass(PassKind::All).unwrap().is_none(),
        "no unfinished pass"
    );
    assert!(state.high_water_mark().unwrap().is_some());
    assert_eq!(done_by(&state, &hub, &hf.provenance()).len(), 6);

    // The same versions, mapped by the same plugin: no follow-up, no put.
    let again = Recording::default();
    let finished = sync(&hub, &again, Some(&mut state), &mut hf, None).unwrap();
    assert_eq!(again.ids(), Vec::<String>::new());
    assert_eq!(
        hub.parquet_asked().len(),
        6,
        "no follow-up on the second pass"
    );
    assert_eq!(finished.summary.unchanged, 6);
}

#[test]
fn without_a_state_every_record_is_mapped_and_nothing_is_kept() {
    let (hub, sink, mut hf) = (Hub::new(), Recording::default(), plugin("huggingface.wasm"));
    let finished = sync(&hub, &sink, None, &mut hf, None).unwrap();
    assert_eq!(sink.ids(), hub.ids());
    assert_eq!(finished.completed_pass, None);
}

#[test]
fn a_kill_during_a_page_loses_only_that_page_which_the_next_run_redoes() {
    let (hub, mut state, mut hf) = (Hub::new(), in_memory(), plugin("huggingface.wasm"));
    // The fourth put (the second record of the second page) never ends; the
    // sync is dropped there, as a killed process stops.
    let sink = Recording {
        hang_at: Some(3),
        ..Recording::default()
    };
    let killed = sync_or_kill(&hub, &sink, Some(&mut state), &mut hf, None).is_none();
    assert!(killed);
    assert_eq!(sink.ids(), &hub.ids()[..3]);
    assert_eq!(
        next_page(&state),
        "http://hub.test/api/datasets?full=true&cursor=2"
    );
    assert_eq!(
        done_by(&state, &hub, &hf.provenance()).len(),
        2,
        "only the first page is done"
    );

    let resumed = Recording::default();
    let finished = sync(&hub, &resumed, Some(&mut state), &mut hf, None).unwrap();
    assert_eq!(hub.listing_cursors(), ["", "2", "2", "4"]);
    assert_eq!(resumed.ids(), &hub.ids()[2..]);
    assert!(finished.completed_pass.is_some());
    assert_eq!(done_by(&state, &hub, &hf.provenance()).len(), 6);
}

#[test]
fn an_upload_that_ends_the_sync_keeps_what_was_put_and_the_page_is_redone() {
    let (hub, mut state, mut hf) = (Hub::new(), in_memory(), plugin("huggingface.wasm"));
    let sink = Recording {
        fail_at: Some((3, PutError::Fatal("HTTP 403: no role".into()))),
        ..Recording::default()
    };
    let e = sync(&hub, &sink, Some(&mut state), &mut hf, None).unwrap_err();
    assert_eq!(e.to_string(), "HTTP 403: no role");
    assert_eq!(sink.ids(), &hub.ids()[..4]);
    // The third record's put stands and is kept; its page is redone for the rest.
    assert_eq!(identifier(&state, &hub.ids()[2]).as_deref(), Some("data_2"));
    assert_eq!(done_by(&state, &hub, &hf.provenance()).len(), 3);
    assert_eq!(
        next_page(&state),
        "http://hub.test/api/datasets?full=true&cursor=2"
    );

    let resumed = Recording::default();
    sync(&hub, &resumed, Some(&mut state), &mut hf, None).unwrap();
    assert_eq!(hub.listing_cursors(), ["", "2", "2", "4"]);
    assert_eq!(resumed.puts.borrow()[0], (hub.ids()[3].clone(), false));
    assert_eq!(resumed.ids(), &hub.ids()[3..]);
    assert_eq!(done_by(&state, &hub, &hf.provenance()).len(), 6);
}

#[test]
fn a_pause_stops_the_sync_resumably_at_the_page_it_was_on() {
    let (hub, mut state, mut hf) = (Hub::new(), in_memory(), plugin("huggingface.wasm"));
    let pause = Pause {
        what: "datasets-server".into(),
        wait: std::time::Duration::from_secs(3600),
        cap: std::time::Duration::from_secs(60),
    };
    hub.fail(NAMES[4], Failure::Paused(pause.clone()));
    let sink = Recording::default();
    match sync(&hub, &sink, Some(&mut state), &mut hf, None) {
        Err(SyncError::Paused(p)) => assert_eq!(p, pause),
        other => panic!("expected a pause, got {:?}", other.map(|f| f.summary)),
    }
    assert_eq!(sink.ids(), &hub.ids()[..4]);
    assert_eq!(
        next_page(&state),
        "http://hub.test/api/datasets?full=true&cursor=4"
    );
}

#[test]
fn follow_up_failures_cost_their_record_or_bring_it_back_next_pass() {
    let (hub, mut state, mut hf) = (Hub::new(), in_memory(), plugin("huggingface.wasm"));
    hub.fail(
        NAMES[1],
        Failure::TooLarge("the answer is larger than 16 MiB".into()),
    );
    hub.fail(NAMES[4], Failure::Unreachable("connection refused".into()));
    let sink = Recording::default();
    let finished = sync(&hub, &sink, Some(&mut state), &mut hf, None).unwrap();
    assert_eq!(finished.summary.failed, 1);
    // Too large: a dead letter with what it needs to be retried.
    let letters = state.dead_letters().unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(
        (&letters[0].record.id, letters[0].stage.as_str()),
        (&hub.ids()[1], "fetch")
    );
    assert_eq!(letters[0].error, "the answer is larger than 16 MiB");
    // No answer: mapped without it, uploaded, and fetched again next pass.
    assert!(sink.ids().contains(&hub.ids()[4]));

    hub.failing.borrow_mut().clear();
    sync(&hub, &Recording::default(), Some(&mut state), &mut hf, None).unwrap();
    assert_eq!(hub.parquet_asked()[6..], [NAMES[1], NAMES[4]]);
    assert!(state.dead_letters().unwrap().is_empty());
}

#[test]
fn a_stop_finishes_the_uploads_in_flight_and_keeps_them() {
    let (hub, mut state, mut hf) = (Hub::new(), in_memory(), plugin("huggingface.wasm"));
    let sink = Recording {
        stop_at: Some((2, AtomicBool::new(false))),
        ..Recording::default()
    };
    let e = sync(&hub, &sink, Some(&mut state), &mut hf, None).unwrap_err();
    assert!(matches!(e, SyncError::Stopped), "{e}");
    // The put that saw the signal ended and is kept; no record after it began.
    assert_eq!(sink.ids(), &hub.ids()[..3]);
    assert_eq!(identifier(&state, &hub.ids()[2]).as_deref(), Some("data_2"));
}

#[test]
fn a_swapped_plugin_maps_the_records_after_it_and_is_their_provenance() {
    let (hub, mut state, mut old) = (Hub::new(), in_memory(), plugin("huggingface.wasm"));
    let new = plugin("huggingface-v0.1.1.wasm");
    let new_provenance = new.provenance();
    assert_ne!(new_provenance, old.provenance());
    let (tx, rx) = std::sync::mpsc::channel();
    tx.send(new).unwrap();
    sync(
        &hub,
        &Recording::default(),
        Some(&mut state),
        &mut old,
        Some(&rx),
    )
    .unwrap();
    assert_eq!(
        old.provenance(),
        new_provenance,
        "the job's plugin was replaced"
    );
    assert!(
        done_by(&state, &hub, &new_provenance)
            .iter()
            .all(|(_, by_new)| *by_new)
    );
}

#[test]
fn a_stored_cursor_the_source_refuses_abandons_the_pass_and_a_new_one_runs() {
    let (hub, mut state, mut hf) = (Hub::new(), in_memory(), plugin("huggingface.wasm"));
    let sink = Recording {
        fail_at: Some((2, PutError::Fatal("stop here".into()))),
        ..Recording::default()
    };
    sync(&hub, &sink, Some(&mut state), &mut hf, None).unwrap_err();
    let abandoned = state.open_pass(PassKind::All).unwrap().unwrap().id;
    hub.expired_cursors.set(1);
    let finished = sync(&hub, &Recording::default(), Some(&mut state), &mut hf, None).unwrap();
    // The refused stored cursor, then a new pass from the first page.
    assert_eq!(hub.listing_cursors(), ["", "2", "2", "", "2", "4"]);
    let completed = finished.completed_pass.expect("the new pass completed");
    assert_ne!(completed, abandoned);
    assert_eq!(
        state
            .previous_complete_pass(PassKind::All, completed)
            .unwrap(),
        None,
        "the abandoned pass never completed"
    );
}

#[test]
fn only_client_errors_about_the_request_refuse_a_cursor() {
    for status in [400, 404, 410, 422] {
        assert!(refuses_cursor(status), "{status}");
    }
    for status in [200, 401, 403, 408, 429, 500, 503] {
        assert!(!refuses_cursor(status), "{status}");
    }
}
