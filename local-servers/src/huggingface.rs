//! The Hugging Face Hub listing/lookup API and the datasets-server `/parquet` endpoint.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::extract::{Path, Query, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, TimeDelta, Utc};
use rand::RngExt as _;
use serde::Deserialize;
use serde_json::{Value, json};
use url::form_urlencoded;

use crate::Canned;
use crate::data::{self, PARQUET_EXAMPLES, RECORDED_PARQUET};
use crate::faults::{self, Fault, Faults};

/// Listing page size when the client sends no `limit`.
pub const DEFAULT_PAGE_SIZE: usize = 50;

const JSON: &str = "application/json";

/// The datasets the fake hub knows, its page size, request budget and any injected `/parquet`
/// responses.
#[derive(Clone, Debug)]
pub struct HfState {
    /// Datasets held as JSON: recorded, raw and changed generated ones.
    held: Vec<Held>,
    generated: usize,
    /// Generated datasets not rendered from their index: removed, or changed and in `held`.
    replaced: BTreeSet<usize>,
    page_size: usize,
    parquet_overrides: HashMap<String, Canned>,
    budget: Option<Budget>,
}

/// A dataset held as JSON.
#[derive(Clone, Debug)]
struct Held {
    dataset: Value,
    origin: Origin,
}

/// Where a held dataset comes from, which decides its place in the stored order and its
/// `/parquet` response.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Origin {
    /// Listed before every generated dataset.
    Recorded,
    /// Generated dataset `i`, changed: listed where it was.
    Generated(usize),
    /// Listed after every generated dataset, verbatim.
    Raw,
}

impl HfState {
    /// The 6 datasets of the recorded `data_list.json` (in its order) and their `/parquet` responses.
    pub fn recorded() -> Self {
        let recorded: Vec<Value> =
            serde_json::from_str(data::DATA_LIST).expect("embedded data_list.json");
        let held = recorded.into_iter().map(|dataset| Held {
            dataset,
            origin: Origin::Recorded,
        });
        Self {
            held: held.collect(),
            ..Self::generated(0)
        }
    }

    /// `count` generated datasets `gen-org/dataset-000000`, ... (see [`crate::generated_id`]),
    /// newest first: dataset `i` was last modified `i` minutes before 2024-06-30T12:00:00Z.
    pub fn generated(count: usize) -> Self {
        Self {
            held: Vec::new(),
            generated: count,
            replaced: BTreeSet::new(),
            page_size: DEFAULT_PAGE_SIZE,
            parquet_overrides: HashMap::new(),
            budget: None,
        }
    }

    /// Appends `count` more generated datasets after the current ones.
    pub fn with_generated(mut self, count: usize) -> Self {
        self.generated += count;
        self
    }

    /// Sets the listing page size used when the client sends no `limit`.
    ///
    /// # Panics
    /// If `page_size` is 0.
    pub fn with_page_size(mut self, page_size: usize) -> Self {
        assert!(page_size > 0, "page size must be positive");
        self.page_size = page_size;
        self
    }

    /// Appends `entries` to the listing, see [`HfState::push_raw`].
    pub fn with_raw_entries(mut self, entries: Vec<Value>) -> Self {
        for entry in entries {
            self.push_raw(entry);
        }
        self
    }

    /// Enforces a budget like Hugging Face's: `requests` per fixed `window` (opened by the first
    /// request after the previous one closed), over every route. Each answer carries
    /// `RateLimit: "api";r=<remaining>;t=<seconds to reset>` and
    /// `RateLimit-Policy: "fixed window";"api";q=<requests>;w=<window seconds>` (seconds rounded
    /// up); requests over budget are answered 429. Injected faults do not count.
    ///
    /// # Panics
    /// If `window` is zero.
    pub fn with_budget(mut self, requests: u32, window: Duration) -> Self {
        assert!(!window.is_zero(), "a budget window must be positive");
        self.budget = Some(Budget {
            quota: requests,
            window,
            closes: None,
            used: 0,
        });
        self
    }

    /// Number of datasets the listing returns in total.
    pub fn dataset_count(&self) -> usize {
        self.held.len() + self.generated - self.replaced.len()
    }

    /// Serves `canned` for `/parquet?dataset={dataset_id}` instead of the default response
    /// (also for ids the hub does not list).
    pub fn set_parquet(&mut self, dataset_id: impl Into<String>, canned: Canned) {
        self.parquet_overrides.insert(dataset_id.into(), canned);
    }

    /// Restores the default `/parquet` response of `dataset_id`.
    pub fn clear_parquet(&mut self, dataset_id: &str) {
        self.parquet_overrides.remove(dataset_id);
    }

    /// Appends `entry` to the listing, served verbatim even if it is no dataset at all (a
    /// number, an object without `_id`, ...); one with an `id` can be looked up and changed.
    pub fn push_raw(&mut self, entry: Value) {
        self.held.push(Held {
            dataset: entry,
            origin: Origin::Raw,
        });
    }

    /// Removes dataset `id`: from then on it is not listed, and its lookup and `/parquet` answer
    /// 404 (an injected `/parquet` response is cleared too).
    ///
    /// # Panics
    /// If there is no dataset `id`.
    pub fn remove_dataset(&mut self, id: &str) {
        if let Some(j) = self.held_index(id) {
            // A changed generated dataset stays in `replaced`, so it is gone for good.
            self.held.remove(j);
        } else {
            let i = self.served_generated(id).unwrap_or_else(|| no_dataset(id));
            self.replaced.insert(i);
        }
        self.parquet_overrides.remove(id);
    }

    /// Makes dataset `id` look changed: a new `sha`, and a `lastModified` of now but newer than
    /// every other dataset's, so it comes first under `sort=lastModified`.
    ///
    /// # Panics
    /// If there is no dataset `id`.
    pub fn touch(&mut self, id: &str) {
        let modified = format_modified(self.next_modified());
        let dataset = self.held_mut(id);
        dataset["lastModified"] = modified.into();
        dataset["sha"] = new_sha().into();
    }

    /// Now, but later than every dataset's `lastModified`: a change always sorts first.
    fn next_modified(&self) -> DateTime<Utc> {
        let newest_generated = data::generated_last_modified(0);
        let timestamps = self.held.iter().map(|h| h.dataset["lastModified"].as_str());
        let newest = timestamps
            .chain([Some(newest_generated.as_str())])
            .filter_map(|t| DateTime::parse_from_rfc3339(t?).ok())
            .max();
        let now = Utc::now();
        newest.map_or(now, |n| now.max(n.to_utc() + TimeDelta::milliseconds(1)))
    }

    /// Makes the generated datasets `indices` look changed in one go, as [`HfState::touch`] does
    /// to each (a new `sha`; a `lastModified` of now but newer than every other dataset's, later
    /// for later indices in `indices`), without a search per dataset. With `new_description`
    /// their `description` changes too, so what a connector makes of them changes as well.
    /// Returns how many datasets were changed.
    ///
    /// # Panics
    /// If an index names no generated dataset (beyond the count, or removed).
    pub fn touch_generated(
        &mut self,
        indices: impl IntoIterator<Item = usize>,
        new_description: bool,
    ) -> usize {
        let first = self.next_modified();
        // Where each already held generated dataset is, found once.
        let mut held_at: HashMap<usize, usize> = self
            .held
            .iter()
            .enumerate()
            .filter_map(|(j, h)| match h.origin {
                Origin::Generated(i) => Some((i, j)),
                _ => None,
            })
            .collect();
        let mut changed = 0;
        for i in indices {
            let j = match held_at.get(&i) {
                Some(&j) => j,
                None => {
                    let id = crate::generated_id(i);
                    let i = self
                        .served_generated(&id)
                        .unwrap_or_else(|| no_dataset(&id));
                    self.replaced.insert(i);
                    self.held.push(Held {
                        dataset: data::generated_dataset(i),
                        origin: Origin::Generated(i),
                    });
                    held_at.insert(i, self.held.len() - 1);
                    self.held.len() - 1
                }
            };
            let modified = format_modified(first + TimeDelta::milliseconds(changed as i64));
            let dataset = &mut self.held[j].dataset;
            if new_description {
                dataset["description"] =
                    format!("Generated dataset number {i}, changed at {modified}.").into();
            }
            dataset["lastModified"] = modified.into();
            dataset["sha"] = new_sha().into();
            changed += 1;
        }
        changed
    }

    /// Sets field `key` of dataset `id` to `value` (e.g. a new `description`).
    ///
    /// # Panics
    /// If there is no dataset `id`.
    pub fn set_field(&mut self, id: &str, key: &str, value: Value) {
        self.held_mut(id)[key] = value;
    }

    fn held_index(&self, id: &str) -> Option<usize> {
        self.held.iter().position(|h| h.dataset["id"] == id)
    }

    /// The index of generated dataset `id`, if it is rendered from its index.
    fn served_generated(&self, id: &str) -> Option<usize> {
        data::generated_index(id, self.generated).filter(|i| !self.replaced.contains(i))
    }

    /// Dataset `id` as JSON to change, holding it first if it is generated.
    fn held_mut(&mut self, id: &str) -> &mut Value {
        let j = match self.held_index(id) {
            Some(j) => j,
            None => {
                let i = self.served_generated(id).unwrap_or_else(|| no_dataset(id));
                self.replaced.insert(i);
                self.held.push(Held {
                    dataset: data::generated_dataset(i),
                    origin: Origin::Generated(i),
                });
                self.held.len() - 1
            }
        };
        &mut self.held[j].dataset
    }

    fn dataset(&self, id: &str) -> Option<Value> {
        match self.held_index(id) {
            Some(j) => Some(self.held[j].dataset.clone()),
            None => self.served_generated(id).map(data::generated_dataset),
        }
    }

    fn render(&self, entry: Entry) -> Value {
        match entry {
            Entry::Held(j) => self.held[j].dataset.clone(),
            Entry::Generated(i) => data::generated_dataset(i),
        }
    }

    fn parquet(&self, dataset_id: &str) -> Canned {
        if let Some(canned) = self.parquet_overrides.get(dataset_id) {
            return canned.clone();
        }
        let origin = match self.held_index(dataset_id) {
            Some(j) => Some(self.held[j].origin),
            None => self.served_generated(dataset_id).map(Origin::Generated),
        };
        let recorded = RECORDED_PARQUET.iter().find(|(id, ..)| *id == dataset_id);
        match (origin, recorded) {
            (Some(Origin::Recorded), Some(&(_, status, body))) => Canned::json(status, body),
            (Some(Origin::Generated(i)), _) => Canned::json(200, data::generated_parquet(i)),
            _ => Canned::from_example("parquet-404-inexistent-dataset-while-authenticated.json"),
        }
    }

    /// The generated dataset a held one is listed right before in the stored order.
    fn stored_before(&self, held: &Held) -> usize {
        match held.origin {
            Origin::Recorded => 0,
            Origin::Generated(i) => i,
            Origin::Raw => self.generated,
        }
    }

    fn stored_order(&self) -> Order<'_> {
        let mut held: Vec<usize> = (0..self.held.len()).collect();
        // `sort_by_key` is stable, so held datasets in the same place keep their order.
        held.sort_by_key(|&j| self.stored_before(&self.held[j]));
        let before = held
            .iter()
            .map(|&j| self.stored_before(&self.held[j]))
            .collect();
        self.order(held, before)
    }

    /// Newest `lastModified` first; ties keep the stored order.
    fn last_modified_order(&self) -> Order<'_> {
        let last_modified = |j: usize| {
            self.held[j].dataset["lastModified"]
                .as_str()
                .unwrap_or_default()
        };
        let mut held = self.stored_order().held;
        // `sort_by` is stable, which keeps ties in stored order.
        held.sort_by(|&a, &b| last_modified(b).cmp(last_modified(a)));
        // Generated datasets are strictly newest-first by construction, so a binary search finds
        // where each held one goes; on a tie the held one (stored earlier) goes first. The
        // timestamps share one fixed-width format, so text order is time order.
        let before = held
            .iter()
            .map(|&j| {
                partition_point(self.generated, |g| {
                    data::generated_last_modified(g).as_str() > last_modified(j)
                })
            })
            .collect();
        self.order(held, before)
    }

    fn order(&self, held: Vec<usize>, before: Vec<usize>) -> Order<'_> {
        Order {
            held,
            before,
            generated: self.generated,
            replaced: &self.replaced,
        }
    }
}

fn no_dataset(id: &str) -> ! {
    panic!("the hub has no dataset {id:?}")
}

/// A request budget in fixed windows.
#[derive(Clone, Debug)]
struct Budget {
    quota: u32,
    window: Duration,
    /// When the current window closes; `None` before the first request.
    closes: Option<Instant>,
    used: u32,
}

impl Budget {
    /// Counts a request at `now`: whether it is within budget, and the rate-limit headers of its
    /// answer.
    fn spend(&mut self, now: Instant) -> (bool, [(String, String); 2]) {
        let closes = match self.closes {
            Some(closes) if now < closes => closes,
            _ => {
                self.used = 0;
                *self.closes.insert(now + self.window)
            }
        };
        let within = self.used < self.quota;
        if within {
            self.used += 1;
        }
        let headers = faults::rate_limit_headers(
            self.quota - self.used,
            faults::ceil_secs(closes - now),
            self.quota,
            faults::ceil_secs(self.window),
        );
        (within, headers)
    }
}

/// A shared, running [`HfState`]: what the routes read and what tests change while serving.
#[derive(Clone, Debug)]
pub struct HfHandle {
    state: Arc<Mutex<HfState>>,
    faults: Faults,
}

impl HfHandle {
    pub fn new(state: HfState) -> Self {
        Self {
            state: Arc::new(Mutex::new(state)),
            faults: Faults::default(),
        }
    }

    /// See [`HfState::set_parquet`].
    pub fn set_parquet(&self, dataset_id: impl Into<String>, canned: Canned) {
        self.lock().set_parquet(dataset_id, canned);
    }

    /// See [`HfState::clear_parquet`].
    pub fn clear_parquet(&self, dataset_id: &str) {
        self.lock().clear_parquet(dataset_id);
    }

    /// Answers the next `times` requests (any method) whose path starts with `path_prefix` with
    /// `fault`; of several matching injections, the earliest is used up first.
    pub fn inject(&self, path_prefix: &str, fault: Fault, times: usize) {
        self.faults.inject(None, path_prefix, fault, times);
    }

    /// See [`HfState::remove_dataset`].
    pub fn remove_dataset(&self, id: &str) {
        self.lock().remove_dataset(id);
    }

    /// See [`HfState::touch`].
    pub fn touch(&self, id: &str) {
        self.lock().touch(id);
    }

    /// See [`HfState::touch_generated`].
    pub fn touch_generated(
        &self,
        indices: impl IntoIterator<Item = usize>,
        new_description: bool,
    ) -> usize {
        self.lock().touch_generated(indices, new_description)
    }

    /// Replaces the request budget (see [`HfState::with_budget`]; `None` removes it); the new
    /// one's first window opens with the next request.
    ///
    /// # Panics
    /// If the window is zero.
    pub fn set_budget(&self, budget: Option<(u32, Duration)>) {
        let budget = budget.map(|(quota, window)| {
            assert!(!window.is_zero(), "a budget window must be positive");
            Budget {
                quota,
                window,
                closes: None,
                used: 0,
            }
        });
        self.lock().budget = budget;
    }

    /// Number of datasets the listing returns in total.
    pub fn dataset_count(&self) -> usize {
        self.lock().dataset_count()
    }

    /// See [`HfState::set_field`].
    pub fn set_field(&self, id: &str, key: &str, value: Value) {
        self.lock().set_field(id, key, value);
    }

    /// See [`HfState::push_raw`].
    pub fn push_raw(&self, entry: Value) {
        self.lock().push_raw(entry);
    }

    fn lock(&self) -> MutexGuard<'_, HfState> {
        crate::lock(&self.state)
    }
}

impl Canned {
    /// One of the datasets-server `/parquet` example responses, by file name (e.g.
    /// `parquet-500-response-not-ready.json`): the status comes from the name, `.txt` files are
    /// served as `text/plain`.
    ///
    /// # Panics
    /// If there is no such example.
    pub fn from_example(name: &str) -> Canned {
        let Some(&(_, body)) = PARQUET_EXAMPLES.iter().find(|(n, _)| *n == name) else {
            let known: Vec<&str> = PARQUET_EXAMPLES.iter().map(|(n, _)| *n).collect();
            panic!("no datasets-server example {name:?}; known: {known:?}");
        };
        let status = name.split('-').nth(1).and_then(|s| s.parse().ok());
        let status = status.expect("example names are parquet-<status>-<name>");
        let content_type = if name.ends_with(".txt") {
            "text/plain; charset=utf-8"
        } else {
            JSON
        };
        Canned {
            status,
            content_type: content_type.to_owned(),
            body: body.to_owned(),
        }
    }

    pub(crate) fn json(status: u16, body: impl Into<String>) -> Canned {
        Canned {
            status,
            content_type: JSON.to_owned(),
            body: body.into(),
        }
    }
}

/// `lastModified` as the Hub writes it: milliseconds and `Z`.
fn format_modified(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// A random 40-hex-digit commit sha.
fn new_sha() -> String {
    let mut rng = rand::rng();
    format!("{:08x}{:032x}", rng.random::<u32>(), rng.random::<u128>())
}

/// Hub routes (`/api/datasets...`) and the datasets-server routes (`/parquet`, and
/// `/healthcheck`, which answers `ok` as the real one does); other paths are answered like the
/// Hub's unknown ones.
pub(crate) fn router(hf: HfHandle) -> Router {
    Router::new()
        .route("/api/datasets", get(list_datasets))
        .route("/api/datasets/{*id}", get(get_dataset))
        .route("/parquet", get(parquet))
        .route("/healthcheck", get(|| async { "ok" }))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "Not Found") })
        .with_state(hf.clone())
        .layer(middleware::from_fn_with_state(hf.clone(), enforce_budget))
        // Outermost, so injected faults replace the whole service and use no budget.
        .layer(middleware::from_fn_with_state(hf.faults, faults::apply))
}

async fn enforce_budget(State(hf): State<HfHandle>, request: Request, next: Next) -> Response {
    let spent = hf.lock().budget.as_mut().map(|b| b.spend(Instant::now()));
    match spent {
        None => next.run(request).await,
        Some((true, headers)) => {
            let mut response = next.run(request).await;
            faults::add_headers(&mut response, &headers);
            response
        }
        Some((false, headers)) => faults::respond(faults::quota_exceeded(), &headers),
    }
}

#[derive(Deserialize)]
struct ListParams {
    sort: Option<String>,
    limit: Option<usize>,
    cursor: Option<usize>,
    direction: Option<String>,
}

async fn list_datasets(
    State(hf): State<HfHandle>,
    Query(params): Query<ListParams>,
    RawQuery(raw_query): RawQuery,
    headers: HeaderMap,
) -> Response {
    if params.direction.is_some() {
        return error(
            StatusCode::BAD_REQUEST,
            "direction is not supported: sorting is always descending",
        );
    }
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return error(StatusCode::BAD_REQUEST, "Missing Host header");
    };
    let state = hf.lock();
    let order = match params.sort.as_deref() {
        None => state.stored_order(),
        Some("lastModified") => state.last_modified_order(),
        Some(_) => return error(StatusCode::BAD_REQUEST, "Invalid sort parameter"),
    };
    let limit = params.limit.unwrap_or(state.page_size);
    if limit == 0 {
        // A zero page size would make the client follow `next` links forever.
        return error(StatusCode::BAD_REQUEST, "Invalid limit parameter");
    }
    let offset = params.cursor.unwrap_or(0);
    let page: Vec<Value> = order
        .page(offset, limit)
        .into_iter()
        .map(|e| state.render(e))
        .collect();
    let next = offset + page.len();
    let has_more = next < state.dataset_count();
    // The order borrows the state, whose lock the answer does not need.
    drop(order);
    drop(state);

    let mut response = Json(page).into_response();
    if has_more {
        let link = format!(
            "<http://{host}/api/datasets?{}>; rel=\"next\"",
            with_cursor(raw_query.as_deref().unwrap_or_default(), next)
        );
        let link =
            HeaderValue::try_from(link).expect("host and encoded query are valid header text");
        response.headers_mut().insert(header::LINK, link);
    }
    response
}

/// `query` with its `cursor` replaced by `cursor`.
fn with_cursor(query: &str, cursor: usize) -> String {
    let mut next = form_urlencoded::Serializer::new(String::new());
    next.extend_pairs(
        form_urlencoded::parse(query.as_bytes()).filter(|(name, _)| name != "cursor"),
    );
    next.append_pair("cursor", &cursor.to_string());
    next.finish()
}

async fn get_dataset(State(hf): State<HfHandle>, Path(id): Path<String>) -> Response {
    match hf.lock().dataset(&id) {
        Some(dataset) => Json(dataset).into_response(),
        None => error(StatusCode::NOT_FOUND, "Repository not found"),
    }
}

#[derive(Deserialize)]
struct ParquetParams {
    dataset: Option<String>,
}

async fn parquet(State(hf): State<HfHandle>, Query(params): Query<ParquetParams>) -> Response {
    let canned = match params.dataset.as_deref() {
        None => Canned::from_example("parquet-422-missing-dataset-parameter.json"),
        Some("") => Canned::from_example("parquet-422-empty-dataset-parameter.json"),
        Some(id) => hf.lock().parquet(id),
    };
    let code = error_code(&canned);
    let mut response = canned.into_response();
    if let Some(code) = code {
        response
            .headers_mut()
            .insert("x-error-code", HeaderValue::from_static(code));
    }
    response
}

/// The datasets-server `X-Error-Code` for a JSON error response. The real codes are finer
/// grained; these are the schema constants matching each status of the OpenAPI examples.
fn error_code(canned: &Canned) -> Option<&'static str> {
    if canned.content_type != JSON {
        // The plain-text 500 comes from a proxy in front of the service, without a code.
        return None;
    }
    match canned.status {
        401 => Some("ExternalUnauthenticatedError"),
        404 => Some("ResponseNotFound"),
        422 => Some("MissingRequiredParameter"),
        501 => Some("DatasetInBlockListError"),
        status if status >= 400 => Some("UnexpectedError"),
        _ => None,
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

/// A dataset of the listing, by its place in storage.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Entry {
    Held(usize),
    Generated(usize),
}

/// A listing order: the generated datasets in index order (less the replaced ones), with the
/// held ones merged in. `held[j]` comes right before generated dataset `before[j]` (`before` is
/// non-decreasing; a replaced one's place still counts), so it sits at position `j` plus the
/// generated datasets listed before `before[j]`.
struct Order<'a> {
    held: Vec<usize>,
    before: Vec<usize>,
    generated: usize,
    replaced: &'a BTreeSet<usize>,
}

impl Order<'_> {
    /// Up to `limit` entries from position `offset`, without walking the positions before it.
    fn page(&self, offset: usize, limit: usize) -> Vec<Entry> {
        let listed_before = |g: usize| g - self.replaced.range(..g).count();
        let mut j = self
            .before
            .iter()
            .enumerate()
            .take_while(|&(j, &b)| listed_before(b) + j < offset)
            .count();
        // The generated dataset listed `offset - j`-th: replaced ones below it push it further.
        let mut g = offset - j;
        for &replaced in self.replaced {
            if replaced > g {
                break;
            }
            g += 1;
        }
        let mut page = Vec::new();
        while page.len() < limit {
            if self.replaced.contains(&g) {
                g += 1;
            } else if j < self.held.len() && self.before[j] <= g {
                page.push(Entry::Held(self.held[j]));
                j += 1;
            } else if g < self.generated {
                page.push(Entry::Generated(g));
                g += 1;
            } else {
                break;
            }
        }
        page
    }
}

/// The first index in `0..len` where `pred` is false, for `pred` true on a prefix only.
fn partition_point(len: usize, pred: impl Fn(usize) -> bool) -> usize {
    let (mut low, mut high) = (0, len);
    while low < high {
        let mid = low + (high - low) / 2;
        if pred(mid) { low = mid + 1 } else { high = mid }
    }
    low
}

#[cfg(test)]
mod tests {
    use super::*;

    fn last_modified(state: &HfState, entry: Entry) -> String {
        state.render(entry)["lastModified"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// 700,000 generated datasets reach back to 2023-03, past two recorded ones' `lastModified`,
    /// so the recorded datasets land inside the generated sequence.
    #[test]
    fn last_modified_order_interleaves_and_pages_seek_correctly() {
        let state = HfState::recorded().with_generated(700_000);
        let order = state.last_modified_order();
        let all = order.page(0, usize::MAX);
        assert_eq!(all.len(), state.dataset_count());
        let times: Vec<String> = all.iter().map(|&e| last_modified(&state, e)).collect();
        assert!(times.windows(2).all(|w| w[0] >= w[1]), "not newest first");
        assert!(matches!(all[0], Entry::Generated(0)));
        let rotten_tomatoes = all.iter().position(|&e| e == Entry::Held(1)).unwrap();
        assert!(
            (1..state.generated).contains(&rotten_tomatoes),
            "{rotten_tomatoes}"
        );
        for offset in [
            0,
            1,
            rotten_tomatoes - 1,
            rotten_tomatoes,
            rotten_tomatoes + 1,
            699_999,
            700_006,
        ] {
            let page = order.page(offset, 7);
            assert_eq!(
                page,
                all[offset.min(all.len())..(offset + 7).min(all.len())],
                "offset {offset}"
            );
        }
    }

    #[test]
    fn ties_keep_stored_order() {
        let mut state = HfState::recorded().with_generated(3);
        for held in &mut state.held {
            held.dataset["lastModified"] = data::generated_last_modified(1).into();
        }
        let order = state.last_modified_order();
        let mut expected = vec![Entry::Generated(0)];
        expected.extend((0..6).map(Entry::Held));
        expected.extend([Entry::Generated(1), Entry::Generated(2)]);
        assert_eq!(order.page(0, 100), expected);
    }

    /// Removed generated datasets leave gaps and changed ones move into `held`; both orders
    /// still list every other dataset once and seek to every offset.
    #[test]
    fn pages_seek_past_removed_and_changed_datasets() {
        let mut state = HfState::recorded()
            .with_generated(20)
            .with_raw_entries(vec![json!(42)]);
        for i in [0, 5, 6, 19] {
            state.remove_dataset(&crate::generated_id(i));
        }
        state.remove_dataset("rotten_tomatoes");
        state.touch(&crate::generated_id(12));
        state.set_field(&crate::generated_id(3), "likes", json!(-1));
        state.remove_dataset(&crate::generated_id(3));
        state.set_field(&crate::generated_id(7), "description", json!("changed"));

        let id = |state: &HfState, entry: Entry| state.render(entry)["id"].clone();
        let stored: Vec<Value> = state
            .stored_order()
            .page(0, usize::MAX)
            .into_iter()
            .map(|e| id(&state, e))
            .collect();
        let mut expected: Vec<Value> = state.held[..5]
            .iter()
            .map(|h| h.dataset["id"].clone())
            .collect();
        let generated = (1..19).filter(|i| ![3, 5, 6].contains(i));
        expected.extend(generated.map(|i| json!(crate::generated_id(i))));
        expected.push(Value::Null);
        assert_eq!(stored, expected);
        assert_eq!(state.dataset_count(), expected.len());

        let newest = state.last_modified_order().page(0, 1);
        assert_eq!(id(&state, newest[0]), json!(crate::generated_id(12)));
        for order in [state.stored_order(), state.last_modified_order()] {
            let all = order.page(0, usize::MAX);
            assert_eq!(all.len(), expected.len());
            for offset in 0..=all.len() {
                let end = (offset + 3).min(all.len());
                assert_eq!(order.page(offset, 3), all[offset..end], "offset {offset}");
            }
        }
    }

    #[test]
    fn every_example_loads_with_the_status_of_its_name() {
        for (name, body) in PARQUET_EXAMPLES {
            let canned = Canned::from_example(name);
            assert_eq!(canned.body, *body);
            assert!(
                name.starts_with(&format!("parquet-{}-", canned.status)),
                "{name}"
            );
            assert_eq!(
                canned.content_type == JSON,
                name.ends_with(".json"),
                "{name}"
            );
        }
    }
}
