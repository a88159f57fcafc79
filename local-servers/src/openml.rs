//! The OpenML REST API v1 as its PHP server answers it: the dataset list
//! (`/api/v1/json/data/list/{filters}`, path-segment filters with real `limit`/`offset` paging),
//! dataset descriptions (`/api/v1/json/data/{id}`) and qualities
//! (`/api/v1/json/data/qualities/{id}`). Errors are OpenML's HTTP 412 answers with an
//! `{"error": {"code": "...", "message": "..."}}` body: 372 "No results" for an empty list
//! (OpenML never sends an empty list), 111 / 361 "Unknown dataset" for unknown ids.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::extract::{Path, State};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use crate::Canned;
use crate::faults::{self, Fault, Faults};

/// Embeds a file of `data/openml/`.
macro_rules! openml_file {
    ($name:literal) => {
        include_str!(concat!("../data/openml/", $name))
    };
}

/// The recorded list pages (limit 2), whose entries together are the recorded listing.
const RECORDED_LIST_PAGES: [&str; 2] = [
    openml_file!("data-list-limit-2-offset-0.json"),
    openml_file!("data-list-limit-2-offset-2.json"),
];

/// Recorded `(id, description, qualities)` of every dataset the recorded listing holds.
const RECORDED: [(u64, &str, &str); 3] = [
    (
        2,
        openml_file!("data-2.json"),
        openml_file!("data-qualities-2.json"),
    ),
    (
        3,
        openml_file!("data-3.json"),
        openml_file!("data-qualities-3.json"),
    ),
    (
        4,
        openml_file!("data-4.json"),
        openml_file!("data-qualities-4.json"),
    ),
];

/// `data/list` when nothing matches (HTTP 412, code 372).
const NO_RESULTS: &str = openml_file!("data-list-limit-2-offset-0-412-no-results.json");
/// `data/{id}` of an unknown id (HTTP 412, code 111).
const UNKNOWN_DATASET: &str = openml_file!("data-1000000-412-unknown-dataset.json");

/// The id of generated dataset 0; generated dataset `i` has id `GENERATED_FIRST_ID + i`, after
/// every recorded one.
pub const GENERATED_FIRST_ID: u64 = 100_000;

/// The filters `data/list` accepts (`Api_data.php`); the stand-in implements those it matches on.
const LEGAL_FILTERS: [&str; 12] = [
    "tag",
    "status",
    "limit",
    "offset",
    "data_id",
    "data_name",
    "data_version",
    "uploader",
    "number_instances",
    "number_features",
    "number_classes",
    "number_missing_values",
];

/// A dataset held as JSON: a recorded one, or a generated one that was changed.
#[derive(Clone, Debug)]
struct Held {
    /// Its `data/list` entry.
    entry: Value,
    /// The whole `data/{id}` body (`{"data_set_description": {...}}`).
    description: Value,
    /// The recorded `data/{id}` body, served byte for byte until the dataset is changed.
    verbatim: Option<&'static str>,
    /// The `data/qualities/{id}` body.
    qualities: String,
}

/// The datasets the stand-in serves: the recorded ones, generated ones and any changes.
#[derive(Clone, Debug)]
pub struct OpenmlState {
    /// By id: recorded datasets and changed generated ones.
    held: BTreeMap<u64, Held>,
    generated: usize,
    removed: BTreeSet<u64>,
    qualities_overrides: HashMap<u64, Canned>,
}

impl OpenmlState {
    /// The 3 recorded datasets (2 `anneal`, 3 `kr-vs-kp`, 4 `labor`) with their descriptions
    /// and qualities, as the AIoD connector's tests recorded them.
    pub fn recorded() -> Self {
        let mut state = Self::generated(0);
        let entries = RECORDED_LIST_PAGES.iter().flat_map(|page| {
            let page: Value = serde_json::from_str(page).expect("embedded OpenML list page");
            page["data"]["dataset"]
                .as_array()
                .expect("a recorded list page lists datasets")
                .clone()
        });
        for entry in entries {
            let id = entry["did"]
                .as_u64()
                .expect("recorded list entries have a did");
            let &(_, description, qualities) = RECORDED
                .iter()
                .find(|(d, ..)| *d == id)
                .expect("every recorded list entry has a recorded description");
            let held = Held {
                entry,
                description: serde_json::from_str(description).expect("embedded description"),
                verbatim: Some(description),
                qualities: qualities.to_owned(),
            };
            state.held.insert(id, held);
        }
        state
    }

    /// `count` generated datasets with ids from [`GENERATED_FIRST_ID`], named
    /// `generated-000000`, ...; every third has a single tag, which OpenML sends as a plain
    /// string.
    pub fn generated(count: usize) -> Self {
        Self {
            held: BTreeMap::new(),
            generated: count,
            removed: BTreeSet::new(),
            qualities_overrides: HashMap::new(),
        }
    }

    /// Appends `count` more generated datasets after the current ones.
    pub fn with_generated(mut self, count: usize) -> Self {
        self.generated += count;
        self
    }

    /// Number of datasets the default (active-only) listing returns in total.
    pub fn listed_count(&self) -> usize {
        self.ids().filter(|&id| self.status(id) == "active").count()
    }

    /// Removes dataset `id`: it is no longer listed, and its description and qualities answer
    /// "Unknown dataset".
    ///
    /// # Panics
    /// If there is no dataset `id`.
    pub fn remove_dataset(&mut self, id: u64) {
        assert!(self.exists(id), "OpenML has no dataset {id}");
        self.held.remove(&id);
        self.removed.insert(id);
        self.qualities_overrides.remove(&id);
    }

    /// Sets the status of dataset `id` (e.g. `deactivated`): the default listing shows only
    /// `active` datasets, the description shows the status.
    ///
    /// # Panics
    /// If there is no dataset `id`.
    pub fn set_status(&mut self, id: u64, status: &str) {
        let held = self.held_mut(id);
        held.entry["status"] = status.into();
        held.description["data_set_description"]["status"] = status.into();
    }

    /// Sets field `key` of the description of dataset `id` (e.g. `tag`); `null` removes it, as
    /// OpenML leaves out unset fields.
    ///
    /// # Panics
    /// If there is no dataset `id`.
    pub fn set_field(&mut self, id: u64, key: &str, value: Value) {
        let held = self.held_mut(id);
        let description = held.description["data_set_description"]
            .as_object_mut()
            .expect("a description object");
        if value.is_null() {
            description.remove(key);
        } else {
            description.insert(key.to_owned(), value);
        }
    }

    /// Serves `canned` for `data/qualities/{id}` instead of the default (also for unknown ids).
    pub fn set_qualities(&mut self, id: u64, canned: Canned) {
        self.qualities_overrides.insert(id, canned);
    }

    /// Restores the default `data/qualities/{id}` answer.
    pub fn clear_qualities(&mut self, id: u64) {
        self.qualities_overrides.remove(&id);
    }

    /// The ids of every dataset, ascending (the order OpenML's list shows).
    fn ids(&self) -> impl Iterator<Item = u64> + '_ {
        let generated = (0..self.generated as u64).map(|i| GENERATED_FIRST_ID + i);
        let mut held = self.held.keys().copied().peekable();
        let mut generated = generated
            .filter(|id| !self.removed.contains(id) && !self.held.contains_key(id))
            .peekable();
        // Both are ascending: merge them.
        std::iter::from_fn(move || match (held.peek(), generated.peek()) {
            (Some(&h), Some(&g)) if h < g => held.next(),
            (_, Some(_)) => generated.next(),
            (Some(_), None) => held.next(),
            (None, None) => None,
        })
    }

    fn generated_index(&self, id: u64) -> Option<u64> {
        let i = id.checked_sub(GENERATED_FIRST_ID)?;
        (i < self.generated as u64 && !self.removed.contains(&id)).then_some(i)
    }

    fn exists(&self, id: u64) -> bool {
        self.held.contains_key(&id) || self.generated_index(id).is_some()
    }

    /// Dataset `id`, rendered if it is generated and unchanged.
    fn dataset(&self, id: u64) -> Option<Held> {
        match self.held.get(&id) {
            Some(held) => Some(held.clone()),
            None => self.generated_index(id).map(generated_dataset),
        }
    }

    fn held_mut(&mut self, id: u64) -> &mut Held {
        if !self.held.contains_key(&id) {
            let i = self
                .generated_index(id)
                .unwrap_or_else(|| panic!("OpenML has no dataset {id}"));
            self.held.insert(id, generated_dataset(i));
        }
        let held = self.held.get_mut(&id).expect("just inserted");
        // Changed: serve what the JSON now says.
        held.verbatim = None;
        held
    }

    fn status(&self, id: u64) -> String {
        match self.held.get(&id) {
            Some(held) => held.entry["status"].as_str().unwrap_or("active").to_owned(),
            None => "active".to_owned(),
        }
    }

    fn entry(&self, id: u64) -> Option<Value> {
        match self.held.get(&id) {
            Some(held) => Some(held.entry.clone()),
            None => self.generated_index(id).map(generated_entry),
        }
    }
}

/// The name of generated dataset `i`.
fn generated_name(i: u64) -> String {
    format!("generated-{i:06}")
}

/// A fake but well-formed MD5 for generated dataset `i`.
fn generated_md5(i: u64) -> String {
    format!("{:016x}{:016x}", i.wrapping_mul(0x9e37_79b9_7f4a_7c15), !i)
}

/// The list entry of generated dataset `i`, shaped like the recorded ones.
fn generated_entry(i: u64) -> Value {
    let id = GENERATED_FIRST_ID + i;
    json!({
        "did": id,
        "name": generated_name(i),
        "version": 1,
        "status": "active",
        "format": "ARFF",
        "md5_checksum": generated_md5(i),
        "file_id": id,
        "quality": [
            {"name": "NumberOfFeatures", "value": "3.0"},
            {"name": "NumberOfInstances", "value": format!("{}.0", i + 1)},
        ],
    })
}

fn generated_dataset(i: u64) -> Held {
    let id = GENERATED_FIRST_ID + i;
    let name = generated_name(i);
    // OpenML's XML-derived JSON sends a single tag as a plain string.
    let tag = if i.is_multiple_of(3) {
        json!("generated")
    } else {
        json!(["generated", format!("study_{}", i % 7)])
    };
    let description = json!({"data_set_description": {
        "id": id.to_string(),
        "name": name,
        "version": "1",
        "description": format!("Generated dataset number {i}."),
        "description_version": "1",
        "format": "ARFF",
        "upload_date": "2024-06-30T12:00:00",
        "licence": "CC0",
        "url": format!("https://api.openml.org/data/v1/download/{id}/{name}.arff"),
        "file_id": id.to_string(),
        "default_target_attribute": "class",
        "version_label": "1",
        "tag": tag,
        "visibility": "public",
        "status": "active",
        "md5_checksum": generated_md5(i),
    }});
    let qualities = json!({"data_qualities": {"quality": [
        {"name": "NumberOfFeatures", "value": "3.0"},
        {"name": "NumberOfInstances", "value": format!("{}.0", i + 1)},
    ]}});
    Held {
        entry: generated_entry(i),
        description,
        verbatim: None,
        qualities: qualities.to_string(),
    }
}

/// A shared, running [`OpenmlState`]: what the routes read and what tests change while serving.
#[derive(Clone, Debug)]
pub struct OpenmlHandle {
    state: Arc<Mutex<OpenmlState>>,
    faults: Faults,
}

impl OpenmlHandle {
    pub fn new(state: OpenmlState) -> Self {
        Self {
            state: Arc::new(Mutex::new(state)),
            faults: Faults::default(),
        }
    }

    /// Answers the next `times` requests whose path starts with `path_prefix` (e.g.
    /// `/api/v1/json/data/qualities/`) with `fault`.
    pub fn inject(&self, path_prefix: &str, fault: Fault, times: usize) {
        self.faults.inject(None, path_prefix, fault, times);
    }

    /// See [`OpenmlState::remove_dataset`].
    pub fn remove_dataset(&self, id: u64) {
        self.lock().remove_dataset(id);
    }

    /// See [`OpenmlState::set_status`].
    pub fn set_status(&self, id: u64, status: &str) {
        self.lock().set_status(id, status);
    }

    /// See [`OpenmlState::set_field`].
    pub fn set_field(&self, id: u64, key: &str, value: Value) {
        self.lock().set_field(id, key, value);
    }

    /// See [`OpenmlState::set_qualities`].
    pub fn set_qualities(&self, id: u64, canned: Canned) {
        self.lock().set_qualities(id, canned);
    }

    /// See [`OpenmlState::clear_qualities`].
    pub fn clear_qualities(&self, id: u64) {
        self.lock().clear_qualities(id);
    }

    fn lock(&self) -> MutexGuard<'_, OpenmlState> {
        crate::lock(&self.state)
    }
}

/// The OpenML routes, without a fallback so that they can be merged into another router.
pub(crate) fn router(openml: OpenmlHandle) -> Router {
    Router::new()
        .route("/api/v1/json/data/list", get(list_unfiltered))
        .route("/api/v1/json/data/list/{*filters}", get(list))
        .route("/api/v1/json/data/qualities/{id}", get(qualities))
        .route("/api/v1/json/data/{id}", get(description))
        .with_state(openml.clone())
        // Outermost, so injected faults replace the whole service.
        .layer(middleware::from_fn_with_state(openml.faults, faults::apply))
}

/// An OpenML error answer: HTTP 412 (OpenML's status for nearly every error) unless given.
fn openml_error(status: u16, code: &str, message: &str, info: Option<&str>) -> Canned {
    let mut error = json!({"code": code, "message": message});
    if let Some(info) = info {
        error["additional_information"] = info.into();
    }
    Canned::json(status, json!({ "error": error }).to_string())
}

/// The filters of one `data/list` request that the stand-in matches on.
#[derive(Debug, Default)]
struct Filters {
    limit: Option<usize>,
    offset: Option<usize>,
    ids: Option<BTreeSet<u64>>,
    name: Option<String>,
    version: Option<String>,
    /// `None` = every status (`status/all`).
    status: Option<String>,
    tag: Option<String>,
}

/// Reads `name/value/name/value/...`, as OpenML does.
fn parse_filters(path: &str) -> Result<Filters, Canned> {
    let illegal = |info: String| openml_error(412, "370", "Illegal filter specified", Some(&info));
    let unsafe_input = |info: String| openml_error(412, "371", "Input not safe", Some(&info));
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let mut filters = Filters {
        status: Some("active".to_owned()),
        ..Filters::default()
    };
    for pair in segments.chunks(2) {
        let [name, value] = pair else {
            return Err(illegal(format!("filter {} has no value", pair[0])));
        };
        if !LEGAL_FILTERS.contains(name) {
            return Err(illegal(format!("unknown filter {name}")));
        }
        let number = |value: &str| {
            value
                .parse::<usize>()
                .ok()
                .filter(|_| value.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| unsafe_input(format!("{name} must be a number, got {value}")))
        };
        match *name {
            "limit" => filters.limit = Some(number(value)?),
            "offset" => filters.offset = Some(number(value)?),
            "data_id" => {
                let ids = value.split(',').map(|id| number(id).map(|id| id as u64));
                filters.ids = Some(ids.collect::<Result<_, _>>()?);
            }
            "data_name" => filters.name = Some((*value).to_owned()),
            "data_version" => filters.version = Some((*value).to_owned()),
            "tag" => filters.tag = Some((*value).to_owned()),
            "status" => match *value {
                "all" => filters.status = None,
                "active" | "deactivated" | "in_preparation" => {
                    filters.status = Some((*value).to_owned());
                }
                _ => return Err(unsafe_input(format!("unknown status {value}"))),
            },
            other => {
                return Err(openml_error(
                    501,
                    "370",
                    "Illegal filter specified",
                    Some(&format!(
                        "the local OpenML stand-in does not implement {other}"
                    )),
                ));
            }
        }
    }
    if filters.offset.is_some() && filters.limit.is_none() {
        return Err(openml_error(
            412,
            "373",
            "Can not specify an offset without a limit",
            None,
        ));
    }
    Ok(filters)
}

/// Whether a listed dataset passes the filters other than paging.
fn matches(state: &OpenmlState, id: u64, filters: &Filters) -> bool {
    if filters.ids.as_ref().is_some_and(|ids| !ids.contains(&id)) {
        return false;
    }
    if filters
        .status
        .as_ref()
        .is_some_and(|s| *s != state.status(id))
    {
        return false;
    }
    if filters.name.is_none() && filters.version.is_none() && filters.tag.is_none() {
        return true;
    }
    // Only these filters need the dataset itself.
    let Some(dataset) = state.dataset(id) else {
        return false;
    };
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if let Some(name) = &filters.name
        && text(&dataset.entry["name"]) != *name
    {
        return false;
    }
    if let Some(version) = &filters.version
        && text(&dataset.entry["version"]) != *version
    {
        return false;
    }
    if let Some(tag) = &filters.tag {
        let tags = &dataset.description["data_set_description"]["tag"];
        let has = match tags {
            Value::String(t) => t == tag,
            Value::Array(ts) => ts.iter().any(|t| t == tag.as_str()),
            _ => false,
        };
        if !has {
            return false;
        }
    }
    true
}

async fn list_unfiltered(State(openml): State<OpenmlHandle>) -> Response {
    answer_list(&openml, "")
}

async fn list(State(openml): State<OpenmlHandle>, Path(filters): Path<String>) -> Response {
    answer_list(&openml, &filters)
}

fn answer_list(openml: &OpenmlHandle, filters: &str) -> Response {
    let filters = match parse_filters(filters) {
        Ok(filters) => filters,
        Err(canned) => return canned.into_response(),
    };
    let state = openml.lock();
    let page: Vec<Value> = state
        .ids()
        .filter(|&id| matches(&state, id, &filters))
        .skip(filters.offset.unwrap_or(0))
        .take(filters.limit.unwrap_or(usize::MAX))
        .filter_map(|id| state.entry(id))
        .collect();
    drop(state);
    if page.is_empty() {
        // OpenML never answers with an empty list.
        return Canned::json(412, NO_RESULTS).into_response();
    }
    Canned::json(200, json!({"data": {"dataset": page}}).to_string()).into_response()
}

/// An id as OpenML reads it from the path; anything else names no dataset.
fn parse_id(id: &str) -> Option<u64> {
    id.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| id.parse().ok())
        .flatten()
}

async fn description(State(openml): State<OpenmlHandle>, Path(id): Path<String>) -> Response {
    let dataset = parse_id(&id).and_then(|id| openml.lock().dataset(id));
    let canned = match dataset {
        Some(Held {
            verbatim: Some(body),
            ..
        }) => Canned::json(200, body),
        Some(held) => Canned::json(200, held.description.to_string()),
        None => Canned::json(412, UNKNOWN_DATASET),
    };
    canned.into_response()
}

async fn qualities(State(openml): State<OpenmlHandle>, Path(id): Path<String>) -> Response {
    let canned = match parse_id(&id) {
        None => openml_error(412, "361", "Unknown dataset", None),
        Some(id) => {
            let state = openml.lock();
            match (state.qualities_overrides.get(&id), state.dataset(id)) {
                (Some(canned), _) => canned.clone(),
                (None, Some(held)) => Canned::json(200, held.qualities),
                (None, None) => openml_error(412, "361", "Unknown dataset", None),
            }
        }
    };
    canned.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(state: &OpenmlState) -> Vec<u64> {
        state.ids().collect()
    }

    #[test]
    fn ids_merge_recorded_generated_changed_and_removed() {
        let mut state = OpenmlState::recorded().with_generated(4);
        assert_eq!(ids(&state), [2, 3, 4, 100_000, 100_001, 100_002, 100_003]);
        state.set_field(100_001, "description", json!("changed"));
        state.remove_dataset(100_002);
        state.remove_dataset(3);
        assert_eq!(ids(&state), [2, 4, 100_000, 100_001, 100_003]);
        state.set_status(100_003, "deactivated");
        assert_eq!(state.listed_count(), 4);
    }

    #[test]
    fn filters_are_read_like_openml() {
        let f = parse_filters("limit/2/offset/4/status/all/").unwrap();
        assert_eq!((f.limit, f.offset, f.status), (Some(2), Some(4), None));
        let f = parse_filters("data_id/3,4").unwrap();
        assert_eq!(f.ids, Some(BTreeSet::from([3, 4])));
        for (path, code) in [
            ("offset/2", "373"),
            ("limit", "370"),
            ("sort/name", "370"),
            ("limit/-1", "371"),
            ("limit/+1", "371"),
            ("status/gone", "371"),
            ("data_id/3,x", "371"),
            ("uploader/1", "370"),
        ] {
            let canned = parse_filters(path).unwrap_err();
            let body: Value = serde_json::from_str(&canned.body).unwrap();
            assert_eq!(body["error"]["code"], code, "{path}");
        }
    }

    #[test]
    fn generated_datasets_look_recorded() {
        let recorded = OpenmlState::recorded();
        let recorded_entry = recorded.entry(2).unwrap();
        let generated = OpenmlState::generated(3);
        let entry = generated.entry(100_002).unwrap();
        let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        assert_eq!(keys(&entry), keys(&recorded_entry));
        let held = generated.dataset(100_000).unwrap();
        assert_eq!(held.description["data_set_description"]["tag"], "generated");
        assert_eq!(held.description["data_set_description"]["id"], "100000");
    }
}
