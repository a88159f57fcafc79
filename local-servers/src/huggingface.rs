//! The Hugging Face Hub listing/lookup API and the datasets-server `/parquet` endpoint.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use url::form_urlencoded;

use crate::Canned;
use crate::data::{self, PARQUET_EXAMPLES, RECORDED_PARQUET};

/// Listing page size when the client sends no `limit`.
pub const DEFAULT_PAGE_SIZE: usize = 50;

const JSON: &str = "application/json";

/// The datasets the fake hub knows, its page size and any injected `/parquet` responses.
#[derive(Clone, Debug)]
pub struct HfState {
    /// Stored order comes first in listings, before every generated dataset.
    recorded: Vec<Value>,
    generated: usize,
    page_size: usize,
    parquet_overrides: HashMap<String, Canned>,
}

impl HfState {
    /// The 6 datasets of the recorded `data_list.json` (in its order) and their `/parquet` responses.
    pub fn recorded() -> Self {
        let recorded = serde_json::from_str(data::DATA_LIST).expect("embedded data_list.json");
        Self {
            recorded,
            ..Self::generated(0)
        }
    }

    /// `count` generated datasets `gen-org/dataset-000000`, ... (see [`crate::generated_id`]),
    /// newest first: dataset `i` was last modified `i` minutes before 2024-06-30T12:00:00Z.
    pub fn generated(count: usize) -> Self {
        Self {
            recorded: Vec::new(),
            generated: count,
            page_size: DEFAULT_PAGE_SIZE,
            parquet_overrides: HashMap::new(),
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

    /// Number of datasets the listing returns in total.
    pub fn dataset_count(&self) -> usize {
        self.recorded.len() + self.generated
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

    fn dataset(&self, id: &str) -> Option<Value> {
        let recorded = self.recorded.iter().find(|d| d["id"] == id);
        match recorded {
            Some(dataset) => Some(dataset.clone()),
            None => data::generated_index(id, self.generated).map(data::generated_dataset),
        }
    }

    fn render(&self, entry: Entry) -> Value {
        match entry {
            Entry::Recorded(i) => self.recorded[i].clone(),
            Entry::Generated(i) => data::generated_dataset(i),
        }
    }

    fn parquet(&self, dataset_id: &str) -> Canned {
        if let Some(canned) = self.parquet_overrides.get(dataset_id) {
            return canned.clone();
        }
        let listed = self.recorded.iter().any(|d| d["id"] == dataset_id);
        let recorded = RECORDED_PARQUET.iter().find(|(id, ..)| *id == dataset_id);
        match (listed, recorded) {
            (true, Some(&(_, status, body))) => Canned::json(status, body),
            _ => match data::generated_index(dataset_id, self.generated) {
                Some(i) => Canned::json(200, data::generated_parquet(i)),
                None => {
                    Canned::from_example("parquet-404-inexistent-dataset-while-authenticated.json")
                }
            },
        }
    }

    fn stored_order(&self) -> Order {
        Order {
            recorded: (0..self.recorded.len()).collect(),
            before: vec![0; self.recorded.len()],
        }
    }

    /// Newest `lastModified` first; ties keep the stored order.
    fn last_modified_order(&self) -> Order {
        let last_modified = |i: usize| {
            self.recorded[i]["lastModified"]
                .as_str()
                .unwrap_or_default()
        };
        let mut recorded: Vec<usize> = (0..self.recorded.len()).collect();
        // `sort_by` is stable, which keeps ties in stored order.
        recorded.sort_by(|&a, &b| last_modified(b).cmp(last_modified(a)));
        // Generated datasets are strictly newest-first by construction, so a binary search finds
        // where each recorded one goes; on a tie the recorded one (stored earlier) goes first.
        // The timestamps share one fixed-width format, so text order is time order.
        let before = recorded
            .iter()
            .map(|&r| {
                partition_point(self.generated, |g| {
                    data::generated_last_modified(g).as_str() > last_modified(r)
                })
            })
            .collect();
        Order { recorded, before }
    }
}

/// A shared, running [`HfState`]: what the routes read and what tests change while serving.
#[derive(Clone, Debug)]
pub struct HfHandle(Arc<Mutex<HfState>>);

impl HfHandle {
    pub fn new(state: HfState) -> Self {
        Self(Arc::new(Mutex::new(state)))
    }

    /// See [`HfState::set_parquet`].
    pub fn set_parquet(&self, dataset_id: impl Into<String>, canned: Canned) {
        self.lock().set_parquet(dataset_id, canned);
    }

    /// See [`HfState::clear_parquet`].
    pub fn clear_parquet(&self, dataset_id: &str) {
        self.lock().clear_parquet(dataset_id);
    }

    fn lock(&self) -> MutexGuard<'_, HfState> {
        crate::lock(&self.0)
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

    fn json(status: u16, body: impl Into<String>) -> Canned {
        Canned {
            status,
            content_type: JSON.to_owned(),
            body: body.into(),
        }
    }
}

/// Hub routes (`/api/datasets...`) and the datasets-server route (`/parquet`); other paths are
/// answered like the Hub's unknown ones.
pub(crate) fn router(hf: HfHandle) -> Router {
    Router::new()
        .route("/api/datasets", get(list_datasets))
        .route("/api/datasets/{*id}", get(get_dataset))
        .route("/parquet", get(parquet))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "Not Found") })
        .with_state(hf)
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
        .page(offset, limit, state.generated)
        .into_iter()
        .map(|e| state.render(e))
        .collect();
    let next = offset + page.len();
    let has_more = next < state.dataset_count();
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
    Recorded(usize),
    Generated(usize),
}

/// A listing order: the generated datasets in index order, with the recorded ones merged in.
/// `recorded[j]` comes right before generated dataset `before[j]` (`before` is non-decreasing),
/// so it sits at position `before[j] + j`.
struct Order {
    recorded: Vec<usize>,
    before: Vec<usize>,
}

impl Order {
    /// Up to `limit` entries from position `offset`, without walking the positions before it.
    fn page(&self, offset: usize, limit: usize, generated: usize) -> Vec<Entry> {
        let mut j = self
            .before
            .iter()
            .enumerate()
            .take_while(|&(j, b)| b + j < offset)
            .count();
        let mut g = offset - j;
        let mut page = Vec::new();
        while page.len() < limit {
            if j < self.recorded.len() && self.before[j] <= g {
                page.push(Entry::Recorded(self.recorded[j]));
                j += 1;
            } else if g < generated {
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
        match entry {
            Entry::Recorded(i) => state.recorded[i]["lastModified"]
                .as_str()
                .unwrap()
                .to_owned(),
            Entry::Generated(i) => data::generated_last_modified(i),
        }
    }

    /// 700,000 generated datasets reach back to 2023-03, past two recorded ones' `lastModified`,
    /// so the recorded datasets land inside the generated sequence.
    #[test]
    fn last_modified_order_interleaves_and_pages_seek_correctly() {
        let state = HfState::recorded().with_generated(700_000);
        let order = state.last_modified_order();
        let all = order.page(0, usize::MAX, state.generated);
        assert_eq!(all.len(), state.dataset_count());
        let times: Vec<String> = all.iter().map(|&e| last_modified(&state, e)).collect();
        assert!(times.windows(2).all(|w| w[0] >= w[1]), "not newest first");
        assert!(matches!(all[0], Entry::Generated(0)));
        let rotten_tomatoes = all.iter().position(|&e| e == Entry::Recorded(1)).unwrap();
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
            let page = order.page(offset, 7, state.generated);
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
        for dataset in &mut state.recorded {
            dataset["lastModified"] = data::generated_last_modified(1).into();
        }
        let order = state.last_modified_order();
        let mut expected = vec![Entry::Generated(0)];
        expected.extend((0..6).map(Entry::Recorded));
        expected.extend([Entry::Generated(1), Entry::Generated(2)]);
        assert_eq!(order.page(0, 100, state.generated), expected);
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
