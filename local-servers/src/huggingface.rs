//! The Hugging Face Hub listing/lookup API and the datasets-server `/parquet` endpoint, as harsh
//! as the real services (see [`HfState`]).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
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
use crate::data::{
    self, JOB_ERROR, NOT_FOUND, PARQUET_EXAMPLES, RECORDED_PARQUET, UNAUTHENTICATED,
};
use crate::faults::{self, Fault, Faults};
use crate::listing::{self, Entry, Key, SortField, SortValue, Walk};

/// Listing page size when the client sends no `limit` (and the stand-in sets no other, see
/// [`HfState::with_page_size`]).
pub const DEFAULT_PAGE_SIZE: usize = 50;

/// The largest `limit` the listing takes.
const MAX_LIMIT: usize = 1000;

/// `seq` of the first held dataset that is not a generated one: above every generated index,
/// so every dataset's `seq` is its own.
const HELD_SEQ_BASE: u64 = 1 << 48;

const JSON: &str = "application/json";

/// The datasets the fake hub knows and how it serves them. It is as harsh as the real Hub and
/// datasets-server (facts from the Hub's own clients and documentation):
///
/// - **Listing** `GET /api/datasets`: ordered by `sort`, one of `trendingScore` (also without a
///   `sort`, as the Hub), `createdAt`, `lastModified`, `downloads`, `likes`, always descending
///   (`direction=-1` is taken, any other `direction` refused), ties by `_id`. Pages are linked by
///   `Link: <URL>; rel="next"`, whose `cursor` is a keyset cursor: the next page is what follows
///   the last item *when it is asked for*, so a dataset whose sort value changes between two pages
///   can jump ahead of the cursor (never listed in that pass) or fall behind it (listed twice),
///   see [`HfHandle::after_listing_pages`]. A cursor can stop being accepted
///   ([`HfState::expire_cursors`]). `limit` must be 1 to 1000, and a page may hold fewer items
///   while more follow ([`HfState::with_page_size`]). Private datasets are listed only to a
///   request with an accepted token ([`HfState::with_token`]), hidden ones never
///   ([`HfState::hide_from_listing`]); disabled ones are.
/// - **Lookup** `GET /api/datasets/{id}`: an unknown id, or a private dataset without a token,
///   answers 401 `RepoNotFound` (404 with a token), a disabled one 403, a renamed one 307 to its
///   new id ([`HfState::rename`]).
/// - **datasets-server** `GET /parquet?dataset=`: answers with dataset-viewer's `X-Error-Code`s
///   and `X-Revision`: 401 for private and gated datasets, 404 for disabled and unknown ones,
///   permanent job errors ([`HfState::with_failing_parquet`]), and whatever is injected
///   ([`HfState::set_parquet`] with e.g. [`Canned::parquet_not_ready`]).
/// - **Budget**: optional, answered as the Hub does ([`HfState::with_budget`]).
///
/// Generated datasets are rendered from their index, so millions cost little memory; the orders
/// of the listing are computed once and kept until a dataset changes.
#[derive(Clone, Debug)]
pub struct HfState {
    /// Datasets held as JSON: recorded, raw and changed generated ones.
    held: Vec<Held>,
    generated: usize,
    /// Generated datasets not rendered from their index: removed, or changed and in `held`.
    replaced: BTreeSet<usize>,
    /// The `seq`s of datasets no listing returns.
    hidden: HashSet<u64>,
    /// The most items a listing page holds, whatever `limit` asks.
    page_cap: Option<usize>,
    parquet_overrides: HashMap<String, Canned>,
    /// Generated datasets `i` with `i % every == every - 1` have a failed parquet job.
    failing_parquet_every: Option<usize>,
    budget: Option<Budget>,
    /// Bearer tokens the Hub accepts.
    tokens: BTreeSet<String>,
    /// Old id → current id of renamed datasets.
    renamed: HashMap<String, String>,
    /// Cursors carry the epoch they were issued in and are refused in a later one.
    cursor_epoch: u64,
    /// The `seq` of the next held dataset that is not a generated one.
    next_seq: u64,
    indexes: Indexes,
}

/// A dataset held as JSON.
#[derive(Clone, Debug)]
struct Held {
    dataset: Value,
    origin: Origin,
    /// Identifies the dataset whatever its id: its generated index, or from `HELD_SEQ_BASE` up
    /// in insertion order.
    seq: u64,
}

/// Where a held dataset comes from, which decides its `/parquet` response.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Origin {
    /// Recorded, with the recorded `/parquet` response `RECORDED_PARQUET[k]`.
    Recorded(usize),
    /// Generated dataset `i`, changed.
    Generated(usize),
    /// Pushed verbatim.
    Raw,
}

/// What is computed from the datasets once and kept until they change.
#[derive(Clone, Default)]
struct Indexes {
    /// Per sort field, the generated datasets in listing order: they depend on the count only.
    generated: [OnceLock<Vec<u32>>; SortField::ALL.len()],
    held: HeldIndexes,
}

/// What is computed from the held datasets once and kept until one changes.
#[derive(Clone, Default)]
struct HeldIndexes {
    /// Per sort field, the held datasets' keys, sorted, with their places in `held`.
    orders: [OnceLock<Vec<(Key, usize)>>; SortField::ALL.len()],
    /// The place in `held` of each id (the first, should raw entries share one).
    ids: OnceLock<HashMap<String, usize>>,
}

impl fmt::Debug for Indexes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Millions of entries would drown everything else.
        f.debug_struct("Indexes").finish_non_exhaustive()
    }
}

/// A dataset found by id.
#[derive(Clone, Copy)]
enum Found<'a> {
    Held(&'a Held),
    Generated(usize),
}

impl Found<'_> {
    fn dataset(self) -> Value {
        match self {
            Found::Held(held) => held.dataset.clone(),
            Found::Generated(i) => data::generated_dataset(i),
        }
    }

    /// Whether field `key` is `true` (generated datasets have none set).
    fn flag(self, key: &str) -> bool {
        matches!(self, Found::Held(held) if held.dataset.get(key) == Some(&Value::Bool(true)))
    }

    fn private(self) -> bool {
        self.flag("private")
    }

    fn disabled(self) -> bool {
        self.flag("disabled")
    }

    /// `gated` is `false` or the kind of approval: `"auto"` or `"manual"`.
    fn gated(self) -> bool {
        match self {
            Found::Held(held) => {
                matches!(
                    held.dataset.get("gated"),
                    Some(Value::String(_) | Value::Bool(true))
                )
            }
            Found::Generated(_) => false,
        }
    }

    fn sha(self) -> Option<String> {
        match self {
            Found::Held(held) => held.dataset.get("sha")?.as_str().map(str::to_owned),
            Found::Generated(i) => Some(data::generated_sha(i)),
        }
    }

    fn origin(self) -> Origin {
        match self {
            Found::Held(held) => held.origin,
            Found::Generated(i) => Origin::Generated(i),
        }
    }

    fn seq(self) -> u64 {
        match self {
            Found::Held(held) => held.seq,
            Found::Generated(i) => i as u64,
        }
    }
}

impl HfState {
    /// The 6 datasets of the recorded `data_list.json` and their `/parquet` responses. The
    /// recording predates `trendingScore`; each gets a score derived from its `_id`.
    pub fn recorded() -> Self {
        let recorded: Vec<Value> =
            serde_json::from_str(data::DATA_LIST).expect("embedded data_list.json");
        let mut state = Self::generated(0);
        for mut dataset in recorded {
            let internal_id = dataset["_id"].as_str().expect("recorded `_id`s");
            dataset["trendingScore"] = data::recorded_trending(internal_id).into();
            let parquet = RECORDED_PARQUET
                .iter()
                .position(|(id, ..)| dataset["id"] == *id);
            let parquet = parquet.expect("a recorded /parquet response per recorded dataset");
            state.push_held(dataset, Origin::Recorded(parquet));
        }
        state
    }

    /// `count` generated datasets `gen-org/dataset-000000`, ... (see [`crate::generated_id`]):
    /// dataset `i` was last modified `i` minutes before 2024-06-30T12:00:00Z and created a week
    /// before that, and has a pseudo-random `trendingScore` below 500 (so many share one).
    pub fn generated(count: usize) -> Self {
        Self {
            held: Vec::new(),
            generated: count,
            replaced: BTreeSet::new(),
            hidden: HashSet::new(),
            page_cap: None,
            parquet_overrides: HashMap::new(),
            failing_parquet_every: None,
            budget: None,
            tokens: BTreeSet::new(),
            renamed: HashMap::new(),
            cursor_epoch: 0,
            next_seq: HELD_SEQ_BASE,
            indexes: Indexes::default(),
        }
    }

    /// Appends `count` more generated datasets after the current ones.
    pub fn with_generated(mut self, count: usize) -> Self {
        self.generated += count;
        self.indexes.generated = Default::default();
        self
    }

    /// Makes every listing page hold at most `page_size` items, whatever `limit` asks, and
    /// `page_size` items without `limit` (instead of [`DEFAULT_PAGE_SIZE`]): a server may
    /// answer fewer items than asked while more follow, so a client must follow the `next` link.
    ///
    /// # Panics
    /// If `page_size` is 0.
    pub fn with_page_size(mut self, page_size: usize) -> Self {
        assert!(page_size > 0, "page size must be positive");
        self.page_cap = Some(page_size);
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
    /// up); requests over budget are answered 429 with the Hub's "We had to rate limit you" body.
    /// Injected faults do not count.
    ///
    /// # Panics
    /// If `window` is zero.
    pub fn with_budget(mut self, requests: u32, window: Duration) -> Self {
        self.budget = Some(Budget::new(requests, window));
        self
    }

    /// Accepts `token` as `Authorization: Bearer <token>` (like an `HF_TOKEN`). A request with
    /// it sees private datasets; one with any other token is refused (401).
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.tokens.insert(token.into());
        self
    }

    /// Makes generated dataset `i` with `i % every == every - 1` (e.g. every 20th: 5%) answer
    /// `/parquet` with a permanent job error, [`Canned::parquet_job_error`]`("ConfigNamesError")`,
    /// unless [`HfState::set_parquet`] says otherwise.
    ///
    /// # Panics
    /// If `every` is 0.
    pub fn with_failing_parquet(mut self, every: usize) -> Self {
        assert!(every > 0, "`every` must be positive");
        self.failing_parquet_every = Some(every);
        self
    }

    /// Number of datasets the hub holds (private and hidden ones included).
    pub fn dataset_count(&self) -> usize {
        self.held.len() + self.generated - self.replaced.len()
    }

    /// Serves `canned` for `/parquet?dataset={dataset_id}` instead of the default response
    /// (also for ids the hub does not have).
    pub fn set_parquet(&mut self, dataset_id: impl Into<String>, canned: Canned) {
        self.parquet_overrides.insert(dataset_id.into(), canned);
    }

    /// Restores the default `/parquet` response of `dataset_id`.
    pub fn clear_parquet(&mut self, dataset_id: &str) {
        self.parquet_overrides.remove(dataset_id);
    }

    /// Appends `entry` to the listing, served verbatim even if it is no dataset at all (a
    /// number, an object without `_id`, ...); one with an `id` can be looked up and changed. In
    /// every order it is listed once: without the sort field it comes last, without `_id` it
    /// sorts by an id of the stand-in's own.
    pub fn push_raw(&mut self, entry: Value) {
        self.push_held(entry, Origin::Raw);
    }

    fn push_held(&mut self, dataset: Value, origin: Origin) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.held.push(Held {
            dataset,
            origin,
            seq,
        });
        self.held_changed();
    }

    /// Removes dataset `id`: from then on it is not listed, and its lookup and `/parquet` answer
    /// as for an unknown dataset (an injected `/parquet` response is cleared too).
    ///
    /// # Panics
    /// If there is no dataset `id`.
    pub fn remove_dataset(&mut self, id: &str) {
        if let Some(j) = self.held_index(id) {
            // A changed generated dataset stays in `replaced`, so it is gone for good.
            self.held.remove(j);
            self.held_changed();
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
                    let j = self.hold_generated(i);
                    held_at.insert(i, j);
                    j
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
        self.held_changed();
        changed
    }

    /// Sets field `key` of dataset `id` to `value` (e.g. a new `description`, or `"private"`,
    /// `"disabled"` to `true`, `"gated"` to `"manual"`).
    ///
    /// # Panics
    /// If there is no dataset `id`.
    pub fn set_field(&mut self, id: &str, key: &str, value: Value) {
        self.held_mut(id)[key] = value;
    }

    /// Sets the `trendingScore` of dataset `id`, which moves it in the default listing order
    /// (the Hub's score follows the last week's likes, so it changes daily).
    ///
    /// # Panics
    /// If there is no dataset `id`.
    pub fn set_trending(&mut self, id: &str, score: u64) {
        self.set_field(id, "trendingScore", score.into());
    }

    /// Keeps dataset `id` out of every listing while it stays in place otherwise (lookup and
    /// `/parquet` answer as usual): a live dataset that a listing pass misses.
    ///
    /// # Panics
    /// If there is no dataset `id`.
    pub fn hide_from_listing(&mut self, id: &str) {
        let seq = self.find(id).unwrap_or_else(|| no_dataset(id)).seq();
        self.hidden.insert(seq);
    }

    /// Renames dataset `old` to `new`, as the Hub moves repositories (e.g. canonical datasets
    /// into namespaces): the same `_id` and content under the id `new` (and its namespace as
    /// `author`, if it has one). The lookup of `old` answers 307 with `Location:
    /// /api/datasets/{new}`; `/parquet` knows the dataset as `new` only.
    ///
    /// # Panics
    /// If there is no dataset `old`, or there is one called `new`.
    pub fn rename(&mut self, old: &str, new: &str) {
        assert!(
            self.find(new).is_none(),
            "the hub already has a dataset {new:?}"
        );
        let dataset = self.held_mut(old);
        dataset["id"] = new.into();
        if let Some((namespace, _)) = new.split_once('/') {
            dataset["author"] = namespace.into();
        }
        for target in self.renamed.values_mut() {
            if target == old {
                new.clone_into(target);
            }
        }
        self.renamed.remove(new);
        self.renamed.insert(old.to_owned(), new.to_owned());
        if let Some(canned) = self.parquet_overrides.remove(old) {
            self.parquet_overrides.insert(new.to_owned(), canned);
        }
    }

    /// From now on, refuses (400 "Invalid cursor") every listing cursor issued so far, as a
    /// stored cursor that the Hub stops accepting; new walks get new cursors.
    pub fn expire_cursors(&mut self) {
        self.cursor_epoch += 1;
    }

    /// The place in `held` of dataset `id`.
    fn held_index(&self, id: &str) -> Option<usize> {
        let ids = self.indexes.held.ids.get_or_init(|| {
            let mut ids = HashMap::new();
            for (j, held) in self.held.iter().enumerate() {
                if let Some(id) = held.dataset.get("id").and_then(Value::as_str) {
                    ids.entry(id.to_owned()).or_insert(j);
                }
            }
            ids
        });
        ids.get(id).copied()
    }

    /// The index of generated dataset `id`, if it is rendered from its index.
    fn served_generated(&self, id: &str) -> Option<usize> {
        data::generated_index(id, self.generated).filter(|i| !self.replaced.contains(i))
    }

    fn find(&self, id: &str) -> Option<Found<'_>> {
        match self.held_index(id) {
            Some(j) => Some(Found::Held(&self.held[j])),
            None => self.served_generated(id).map(Found::Generated),
        }
    }

    /// Holds generated dataset `i` as JSON from now on; returns its place in `held`.
    fn hold_generated(&mut self, i: usize) -> usize {
        self.replaced.insert(i);
        self.held.push(Held {
            dataset: data::generated_dataset(i),
            origin: Origin::Generated(i),
            seq: i as u64,
        });
        self.held.len() - 1
    }

    /// Dataset `id` as JSON to change, holding it first if it is generated.
    fn held_mut(&mut self, id: &str) -> &mut Value {
        let j = match self.held_index(id) {
            Some(j) => j,
            None => {
                let i = self.served_generated(id).unwrap_or_else(|| no_dataset(id));
                self.hold_generated(i)
            }
        };
        self.held_changed();
        &mut self.held[j].dataset
    }

    /// Forgets what was computed from the held datasets.
    fn held_changed(&mut self) {
        self.indexes.held = HeldIndexes::default();
    }

    fn render(&self, entry: Entry) -> Value {
        match entry {
            Entry::Held(j) => self.held[j].dataset.clone(),
            Entry::Generated(i) => data::generated_dataset(i),
        }
    }

    /// Whether a request with `Authorization` header `authorization` is authenticated (`false`
    /// without one); `None` if it has a token the Hub does not accept.
    fn authenticate(&self, authorization: Option<&HeaderValue>) -> Option<bool> {
        let Some(authorization) = authorization else {
            return Some(false);
        };
        let token = authorization.to_str().ok().and_then(|value| {
            let (scheme, token) = value.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
        token
            .is_some_and(|token| self.tokens.contains(token))
            .then_some(true)
    }

    /// The page size for a request asking for `limit` items.
    fn page_size(&self, limit: Option<usize>) -> usize {
        match (limit, self.page_cap) {
            (None, cap) => cap.unwrap_or(DEFAULT_PAGE_SIZE),
            (Some(limit), cap) => cap.map_or(limit, |cap| limit.min(cap)),
        }
    }

    /// Up to `size` datasets in `field` order after `after` (from the first without), and the
    /// key of the last one if more follow.
    fn page(
        &self,
        field: SortField,
        after: Option<&Key>,
        size: usize,
        authenticated: bool,
    ) -> (Vec<Value>, Option<Key>) {
        let generated = self.indexes.generated[field.index()]
            .get_or_init(|| field.generated_order(self.generated));
        let held = self.indexes.held.orders[field.index()].get_or_init(|| self.held_order(field));
        let generated_listed =
            |i: usize| !self.replaced.contains(&i) && !self.hidden.contains(&(i as u64));
        let held_listed = |j: usize| {
            let held = &self.held[j];
            !self.hidden.contains(&held.seq) && (authenticated || !Found::Held(held).private())
        };
        let mut walk = Walk::new(field, generated, held, after, generated_listed, held_listed);
        let mut page = Vec::new();
        let mut last = None;
        for (entry, key) in walk.by_ref().take(size) {
            page.push(self.render(entry));
            last = Some(key);
        }
        let more = walk.next().is_some();
        (page, last.filter(|_| more))
    }

    /// The held datasets' keys in `field` order, with their places in `held`.
    fn held_order(&self, field: SortField) -> Vec<(Key, usize)> {
        let mut order: Vec<(Key, usize)> = (self.held.iter().enumerate())
            .map(|(j, held)| {
                let id = held.dataset.get("_id").and_then(Value::as_str);
                // Sorts after the real ones, which are hex digits.
                let id = id.map_or_else(|| format!("~{:020}", held.seq), str::to_owned);
                let value = SortValue::of(held.dataset.get(field.name()));
                let key = Key {
                    value,
                    id,
                    seq: held.seq,
                };
                (key, j)
            })
            .collect();
        order.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        order
    }

    /// The answer to `GET /api/datasets/{id}`, with `query` (if any) kept in a redirect.
    fn lookup(&self, id: &str, query: Option<&str>, authenticated: bool) -> Response {
        let visible = |found: Found<'_>| authenticated || !found.private();
        match self.find(id) {
            Some(found) if !visible(found) => repo_not_found(false),
            Some(found) if found.disabled() => error(
                StatusCode::FORBIDDEN,
                "Access to this resource is disabled.",
            ),
            Some(found) => Json(found.dataset()).into_response(),
            None => match self.renamed.get(id) {
                Some(new) if self.find(new).is_some_and(visible) => {
                    let location = match query {
                        Some(query) => format!("/api/datasets/{new}?{query}"),
                        None => format!("/api/datasets/{new}"),
                    };
                    let moved = json!({ "error": "Repository moved", "url": location });
                    Canned::json(307, moved.to_string())
                        .with_header("Location", &location)
                        .into_response()
                }
                _ => repo_not_found(authenticated),
            },
        }
    }

    /// The answer to `/parquet?dataset={dataset_id}`.
    fn parquet(&self, dataset_id: &str) -> Canned {
        let found = self.find(dataset_id);
        let canned = match (self.parquet_overrides.get(dataset_id), found) {
            (Some(canned), _) => canned.clone(),
            (None, None) => unknown_parquet(),
            (None, Some(found)) => self.default_parquet(found),
        };
        // dataset-viewer's answers from its cache name the revision they are for; a failed
        // access check (private, disabled, gated) answers before the cache is read.
        let revision = found
            .filter(|f| !f.private() && !f.disabled() && !f.gated())
            .and_then(Found::sha);
        let stated = (canned.headers.iter()).any(|(n, _)| n.eq_ignore_ascii_case("x-revision"));
        match revision {
            Some(sha) if !stated => canned.with_header("X-Revision", &sha),
            _ => canned,
        }
    }

    fn default_parquet(&self, found: Found<'_>) -> Canned {
        if found.disabled() {
            return unknown_parquet();
        }
        if found.private() {
            return Canned::from_example(
                "parquet-401-private-dataset-and-not-authenticated-or-authorized.json",
            );
        }
        if found.gated() {
            return Canned::parquet_gated();
        }
        match found.origin() {
            Origin::Generated(i)
                if self
                    .failing_parquet_every
                    .is_some_and(|every| i % every == every - 1) =>
            {
                Canned::parquet_job_error(JOB_ERROR)
            }
            Origin::Generated(i) => Canned::json(200, data::generated_parquet(i)),
            Origin::Recorded(k) => {
                let (_, status, body) = RECORDED_PARQUET[k];
                let canned = Canned::json(status, body);
                // The one recorded error is a "Not found." the upstream test served as 404.
                if status == 404 {
                    canned.with_header("X-Error-Code", NOT_FOUND)
                } else {
                    canned
                }
            }
            Origin::Raw => unknown_parquet(),
        }
    }
}

/// The Hub's answer to a token it does not accept.
fn invalid_credentials() -> Response {
    error(
        StatusCode::UNAUTHORIZED,
        "Invalid credentials in Authorization header",
    )
}

fn no_dataset(id: &str) -> ! {
    panic!("the hub has no dataset {id:?}")
}

/// The datasets-server's answer for a dataset it does not know.
fn unknown_parquet() -> Canned {
    Canned::from_example("parquet-404-inexistent-dataset-while-authenticated.json")
}

/// The Hub's answer for a repository it does not have or does not show: 401 to an anonymous
/// request, 404 to an authenticated one.
fn repo_not_found(authenticated: bool) -> Response {
    let status = if authenticated {
        StatusCode::NOT_FOUND
    } else {
        StatusCode::UNAUTHORIZED
    };
    let mut response = error(status, "Repository not found");
    (response.headers_mut()).insert("x-error-code", HeaderValue::from_static("RepoNotFound"));
    response
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
    fn new(quota: u32, window: Duration) -> Budget {
        assert!(!window.is_zero(), "a budget window must be positive");
        Budget {
            quota,
            window,
            closes: None,
            used: 0,
        }
    }

    /// Counts a request at `now`: the rate-limit headers of its answer if it is within budget,
    /// or the whole 429 answer.
    fn spend(&mut self, now: Instant) -> Result<[(String, String); 2], Canned> {
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
        let window = faults::ceil_secs(self.window);
        let headers = faults::rate_limit_headers(
            self.quota - self.used,
            faults::ceil_secs(closes - now),
            self.quota,
            window,
        );
        if within {
            Ok(headers)
        } else {
            let mut over = faults::quota_exceeded(self.quota, window);
            over.headers.extend(headers);
            Err(over)
        }
    }
}

/// A change to make after some more listing pages, see [`HfHandle::after_listing_pages`].
struct ListingHook {
    /// Listing pages still to serve before the change.
    pages: usize,
    change: Box<dyn FnOnce(&mut HfState) + Send>,
}

impl fmt::Debug for ListingHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ListingHook")
            .field("pages", &self.pages)
            .finish_non_exhaustive()
    }
}

/// A shared, running [`HfState`]: what the routes read and what tests change while serving.
#[derive(Clone, Debug)]
pub struct HfHandle {
    state: Arc<Mutex<HfState>>,
    faults: Faults,
    hooks: Arc<Mutex<Vec<ListingHook>>>,
}

impl HfHandle {
    pub fn new(state: HfState) -> Self {
        Self {
            state: Arc::new(Mutex::new(state)),
            faults: Faults::default(),
            hooks: Arc::default(),
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
        let budget = budget.map(|(quota, window)| Budget::new(quota, window));
        self.lock().budget = budget;
    }

    /// See [`HfState::dataset_count`].
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

    /// See [`HfState::with_token`].
    pub fn add_token(&self, token: impl Into<String>) {
        self.lock().tokens.insert(token.into());
    }

    /// See [`HfState::set_trending`].
    pub fn set_trending(&self, id: &str, score: u64) {
        self.lock().set_trending(id, score);
    }

    /// See [`HfState::hide_from_listing`].
    pub fn hide_from_listing(&self, id: &str) {
        self.lock().hide_from_listing(id);
    }

    /// See [`HfState::rename`].
    pub fn rename(&self, old: &str, new: &str) {
        self.lock().rename(old, new);
    }

    /// See [`HfState::expire_cursors`].
    pub fn expire_cursors(&self) {
        self.lock().expire_cursors();
    }

    /// Runs `change` once, right after the `pages`-th listing page from now (a 200 answer to
    /// `GET /api/datasets`) has been produced and before any later request reads the datasets:
    /// e.g. a dataset's `trendingScore` changing while a client walks the listing. With
    /// `pages == 0`, runs it now. `change` gets the state itself; calling this handle from it
    /// would deadlock.
    pub fn after_listing_pages(
        &self,
        pages: usize,
        change: impl FnOnce(&mut HfState) + Send + 'static,
    ) {
        if pages == 0 {
            change(&mut self.lock());
        } else {
            crate::lock(&self.hooks).push(ListingHook {
                pages,
                change: Box::new(change),
            });
        }
    }

    /// Counts a listing page served from `state` (still locked), making the changes due.
    fn listing_page_served(&self, state: &mut HfState) {
        let due: Vec<ListingHook> = {
            let mut hooks = crate::lock(&self.hooks);
            for hook in hooks.iter_mut() {
                hook.pages -= 1;
            }
            let (due, waiting) = hooks.drain(..).partition(|hook| hook.pages == 0);
            *hooks = waiting;
            due
        };
        for hook in due {
            (hook.change)(state);
        }
    }

    fn lock(&self) -> MutexGuard<'_, HfState> {
        crate::lock(&self.state)
    }
}

impl Canned {
    /// One of the datasets-server `/parquet` example responses, by file name (e.g.
    /// `parquet-500-response-not-ready.json`): the status comes from the name, `.txt` files are
    /// served as `text/plain`, and the `X-Error-Code` is the one dataset-viewer sends with such
    /// an answer (none on a 200 or on the proxy's plain-text 500).
    ///
    /// # Panics
    /// If there is no such example.
    pub fn from_example(name: &str) -> Canned {
        let Some(&(_, body, code)) = PARQUET_EXAMPLES.iter().find(|(n, ..)| *n == name) else {
            let known: Vec<&str> = PARQUET_EXAMPLES.iter().map(|(n, ..)| *n).collect();
            panic!("no datasets-server example {name:?}; known: {known:?}");
        };
        let status = name.split('-').nth(1).and_then(|s| s.parse().ok());
        let status = status.expect("example names are parquet-<status>-<name>");
        let content_type = if name.ends_with(".txt") {
            "text/plain; charset=utf-8"
        } else {
            JSON
        };
        let canned = Canned {
            status,
            content_type: content_type.to_owned(),
            body: body.to_owned(),
            headers: Vec::new(),
        };
        match code {
            Some(code) => canned.with_header("X-Error-Code", code),
            None => canned,
        }
    }

    /// A permanent, cached job error of the datasets-server: 500 with the body of the
    /// `parquet-500-error-in-the-dataset-itself.json` example and `X-Error-Code: code` (e.g.
    /// `ConfigNamesError`, `DatasetGenerationError`). dataset-viewer answers the same until the
    /// dataset's revision changes, so retrying it is wasted budget.
    pub fn parquet_job_error(code: &str) -> Canned {
        let mut canned = Canned::from_example("parquet-500-error-in-the-dataset-itself.json");
        canned.headers.clear();
        canned.with_header("X-Error-Code", code)
    }

    /// A transient datasets-server error: 500, `X-Error-Code: ResponseNotReady` while the job
    /// runs ("retry later").
    pub fn parquet_not_ready() -> Canned {
        Canned::from_example("parquet-500-response-not-ready.json")
    }

    /// A 200 of a conversion still running: `pending` names config `default` of `dataset_id`
    /// (its only config in this stand-in) and `parquet_files` lists the files of the finished
    /// configs, none here, so fewer than the complete answer; `failed: []`, `partial: false`.
    pub fn parquet_pending(dataset_id: &str) -> Canned {
        let body = json!({
            "parquet_files": [],
            "pending": [{
                "kind": "config-parquet",
                "dataset": dataset_id,
                "config": "default",
                "split": null,
            }],
            "failed": [],
            "partial": false,
        });
        Canned::json(200, body.to_string())
    }

    /// The answer for a gated dataset to an anonymous request: 401 with the body of the
    /// `parquet-404-gated-dataset-and-not-authenticated-or-authorized.json` example and
    /// `X-Error-Code: ExternalUnauthenticatedError`.
    pub fn parquet_gated() -> Canned {
        let mut canned = Canned::from_example(
            "parquet-404-gated-dataset-and-not-authenticated-or-authorized.json",
        );
        canned.status = 401;
        canned.headers.clear();
        canned.with_header("X-Error-Code", UNAUTHENTICATED)
    }

    /// The answer for a dataset whose conversion is disabled: 501 with
    /// `X-Error-Code: DatasetInBlockListError`.
    pub fn parquet_blocked() -> Canned {
        Canned::from_example("parquet-501-blocked-dataset.json")
    }

    pub(crate) fn json(status: u16, body: impl Into<String>) -> Canned {
        Canned {
            status,
            content_type: JSON.to_owned(),
            body: body.into(),
            headers: Vec::new(),
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
        Some(Ok(headers)) => {
            let mut response = next.run(request).await;
            faults::add_headers(&mut response, &headers);
            response
        }
        Some(Err(over)) => over.into_response(),
    }
}

async fn list_datasets(
    State(hf): State<HfHandle>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    // Parsed by hand, so that every refusal is the Hub's JSON error.
    let pairs: Vec<(String, String)> =
        form_urlencoded::parse(query.as_deref().unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let param = |name: &str| {
        let mut values = pairs.iter().filter(|(n, _)| n == name);
        values.next().map(|(_, value)| value.as_str())
    };
    let mut state = hf.lock();
    let Some(authenticated) = state.authenticate(headers.get(header::AUTHORIZATION)) else {
        return invalid_credentials();
    };
    let field = match param("sort").map(SortField::parse) {
        None => SortField::TrendingScore,
        Some(Some(field)) => field,
        Some(None) => return error(StatusCode::BAD_REQUEST, "Invalid sort parameter"),
    };
    // `-1` is accepted though deprecated (huggingface_hub dropped it): sorting is descending.
    if param("direction").is_some_and(|direction| direction != "-1") {
        return error(
            StatusCode::BAD_REQUEST,
            "Invalid direction parameter: sorting is always descending",
        );
    }
    let limit = match param("limit").map(str::parse::<usize>) {
        None => None,
        Some(Ok(limit)) if (1..=MAX_LIMIT).contains(&limit) => Some(limit),
        Some(_) => {
            let message = format!("Invalid limit parameter: an integer from 1 to {MAX_LIMIT}");
            return error(StatusCode::BAD_REQUEST, &message);
        }
    };
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return error(StatusCode::BAD_REQUEST, "Missing Host header");
    };
    let after = match param("cursor") {
        None => None,
        Some(cursor) => match listing::decode_cursor(cursor, field, state.cursor_epoch) {
            Some(after) => Some(after),
            None => return error(StatusCode::BAD_REQUEST, "Invalid cursor"),
        },
    };

    let (page, last) = state.page(field, after.as_ref(), state.page_size(limit), authenticated);
    let next = last.map(|last| listing::encode_cursor(field, &last, state.cursor_epoch));
    hf.listing_page_served(&mut state);
    drop(state);

    let mut response = Json(page).into_response();
    if let Some(cursor) = next {
        // The client's other parameters stay; the order is always named, as the Hub does.
        let mut next = form_urlencoded::Serializer::new(String::new());
        next.extend_pairs((pairs.iter()).filter(|(name, _)| name != "cursor" && name != "sort"));
        next.append_pair("sort", field.name());
        next.append_pair("cursor", &cursor);
        let link = format!(
            "<http://{host}/api/datasets?{}>; rel=\"next\"",
            next.finish()
        );
        let link =
            HeaderValue::try_from(link).expect("host and encoded query are valid header text");
        response.headers_mut().insert(header::LINK, link);
    }
    response
}

async fn get_dataset(
    State(hf): State<HfHandle>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let state = hf.lock();
    match state.authenticate(headers.get(header::AUTHORIZATION)) {
        Some(authenticated) => state.lookup(&id, query.as_deref(), authenticated),
        None => invalid_credentials(),
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
    canned.into_response()
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every dataset (as the listing shows it) in `field` order, by brute force.
    fn sorted(state: &HfState, field: SortField, authenticated: bool) -> Vec<Value> {
        let (all, _) = state.page(field, None, usize::MAX, authenticated);
        let mut keyed: Vec<(Key, Value)> = all
            .into_iter()
            .enumerate()
            .map(|(n, dataset)| {
                let key = Key {
                    value: SortValue::of(dataset.get(field.name())),
                    id: dataset
                        .get("_id")
                        .and_then(Value::as_str)
                        .unwrap_or("~")
                        .to_owned(),
                    seq: n as u64,
                };
                (key, dataset)
            })
            .collect();
        keyed.sort_by(|a, b| a.0.cmp(&b.0));
        keyed.into_iter().map(|(_, dataset)| dataset).collect()
    }

    /// Every dataset in `field` order, in pages of `size` from cursor to cursor.
    fn paged(state: &HfState, field: SortField, size: usize) -> Vec<Value> {
        let mut all = Vec::new();
        let mut after = None;
        loop {
            let (page, last) = state.page(field, after.as_ref(), size, true);
            all.extend(page);
            match last {
                Some(last) => {
                    let cursor = listing::encode_cursor(field, &last, state.cursor_epoch);
                    after = listing::decode_cursor(&cursor, field, state.cursor_epoch);
                    assert_eq!(after.as_ref(), Some(&last));
                }
                None => return all,
            }
        }
    }

    /// Removed, changed, hidden, private and raw datasets among generated and recorded ones: in
    /// every order, pages from cursor to cursor list every listed dataset once, in order.
    #[test]
    fn pages_seek_past_removed_changed_and_raw_entries_in_every_order() {
        let mut state = HfState::recorded()
            .with_generated(300)
            .with_raw_entries(vec![
                json!(42),
                json!({"id": "raw/no-internal-id"}),
                json!(42),
            ]);
        for i in [0, 5, 6, 299] {
            state.remove_dataset(&crate::generated_id(i));
        }
        state.remove_dataset("rotten_tomatoes");
        state.touch(&crate::generated_id(12));
        state.set_trending(&crate::generated_id(13), 1_000);
        state.set_field(&crate::generated_id(14), "likes", json!("many"));
        state.set_field(&crate::generated_id(15), "downloads", Value::Null);
        state.set_field(&crate::generated_id(16), "private", json!(true));
        state.hide_from_listing(&crate::generated_id(17));
        state.hide_from_listing("air_dialogue");
        // Same value and `_id` as generated dataset 20.
        state.push_raw(crate::generated_dataset(20));

        let listed = state.dataset_count() - 2;
        for field in SortField::ALL {
            let expected = sorted(&state, field, true);
            assert_eq!(expected.len(), listed, "{field:?}");
            for size in [1, 7, 1000] {
                assert_eq!(paged(&state, field, size), expected, "{field:?} by {size}");
            }
            let (anonymous, _) = state.page(field, None, usize::MAX, false);
            assert_eq!(anonymous.len(), listed - 1);
        }
        let (first, _) = state.page(SortField::TrendingScore, None, 1, true);
        assert_eq!(first[0]["id"], crate::generated_id(13));
    }

    #[test]
    fn every_example_loads_with_the_status_of_its_name() {
        for (name, body, code) in PARQUET_EXAMPLES {
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
            let sent = canned.headers.iter().find(|(n, _)| n == "X-Error-Code");
            assert_eq!(sent.map(|(_, c)| c.as_str()), *code, "{name}");
            assert_eq!(
                code.is_none(),
                canned.status == 200 || name.ends_with(".txt")
            );
        }
    }
}
