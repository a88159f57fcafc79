//! The AIoD metadata catalogue's dataset endpoints (unversioned, `/v2` and `/v3`) and
//! `/authorization_test`, with the Keycloak token endpoint on the same address.
//!
//! It is meant to be as strict as the real catalogue (FastAPI + pydantic v1 on MySQL): bodies
//! are checked against the catalogue's own OpenAPI schema, then by the rules its code applies
//! (connector permissions, platform registry, one live asset per platform id) and the column
//! limits of its database, in the order the real one checks them. What a client reads back is
//! normalised the way the real one stores it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use aiod_schema::{Loc, Schema, Violation};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, NaiveDateTime, Timelike as _, Utc};
use rand::RngExt as _;
use rand::distr::Alphanumeric;
use serde_json::{Map, Value, json};
use url::form_urlencoded;

use crate::faults::{self, Fault, Faults};
use crate::keycloak::{self, Client, Keycloak, Principal};
use crate::{Canned, RequestLog, Served, lock};

/// The catalogue's `PlatformName` enum: what `GET /platforms/{platform}/...` accepts, and the
/// platforms registered by default.
const PLATFORM_NAMES: [&str; 8] = [
    "aiod",
    "ai4europe_cms",
    "example",
    "openml",
    "huggingface",
    "zenodo",
    "ai4experiments",
    "aibuilder",
];

const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(300);
const DEFAULT_LIMIT: i64 = 10;
const MAX_LIMIT: i64 = 1000;

const UNEXPECTED: &str =
    "Unexpected exception while processing your request. Please contact the maintainers.";

/// Relations a dataset is read back with, as an empty list when not sent.
const LIST_FIELDS: [&str; 20] = [
    "alternate_name",
    "application_area",
    "citation",
    "contact",
    "contacts",
    "creator",
    "distribution",
    "falls_under_paradigm",
    "funder",
    "has_part",
    "industrial_sector",
    "is_part_of",
    "keyword",
    "media",
    "note",
    "relevant_link",
    "relevant_resource",
    "relevant_to",
    "research_area",
    "scientific_domain",
];

/// Identifier lists the catalogue resolves in its database, in the order it resolves them:
/// AI resources (which datasets are) and other kinds of asset, of which this stand-in has none.
const REFERENCES: [(&str, bool); 8] = [
    ("citation", false),
    ("contact", false),
    ("creator", false),
    ("funder", false),
    ("has_part", true),
    ("is_part_of", true),
    ("relevant_resource", true),
    ("relevant_to", true),
];

/// Name lists stored in `VARCHAR` columns longer than the schema admits, with their length;
/// MySQL refuses longer values, which the catalogue reports as an unexpected exception.
const COLUMN_LIMITS: [(&str, usize); 3] = [
    ("keyword", 256),
    ("alternate_name", 256),
    ("relevant_link", 2000),
];

/// Bytes of a MySQL `TEXT` column, where descriptions go.
const TEXT_COLUMN_BYTES: usize = 65_535;

/// The catalogue to start: registered platforms, Keycloak clients, token lifetime, listing
/// shape and service times.
#[derive(Clone, Debug)]
pub struct AiodState {
    platforms: BTreeSet<String>,
    clients: BTreeMap<String, Client>,
    token_lifetime: Duration,
    wrapped_listing: bool,
    latency: Latency,
    first_upload_race: Option<Duration>,
}

impl Default for AiodState {
    fn default() -> Self {
        Self::new()
    }
}

impl AiodState {
    /// An empty catalogue with the built-in platforms (aiod, ai4europe_cms, example, openml,
    /// huggingface, zenodo, ai4experiments, aibuilder), no clients and 300 s tokens.
    pub fn new() -> Self {
        Self {
            platforms: PLATFORM_NAMES.iter().map(|p| p.to_string()).collect(),
            clients: BTreeMap::new(),
            token_lifetime: DEFAULT_TOKEN_LIFETIME,
            wrapped_listing: false,
            latency: Latency::default(),
            first_upload_race: None,
        }
    }

    /// The race of a connector's first uploads, as the real catalogue has it: the first write
    /// of an account that never wrote registers the account, which takes `registration`; a
    /// `POST` by the same account meanwhile loses the race on the `user` table: its dataset is
    /// committed anyway, as an unpublished draft that nobody may see or publish (missing from
    /// listings, 401 anonymously, 403 to the connector, 409 to a new `POST`), and it answers
    /// 400 `UNIQUE constraint failed: user.subject_identifier` (on MySQL, by its code, a 500).
    pub fn with_first_upload_race(mut self, registration: Duration) -> Self {
        self.first_upload_race = Some(registration);
        self
    }

    /// Adds (or replaces) a confidential client whose service account holds `roles`, e.g.
    /// `("platform_huggingface", "local-secret", &["platform_huggingface"])` for the connector.
    pub fn with_client(mut self, client_id: &str, secret: &str, roles: &[&str]) -> Self {
        let client = Client {
            secret: secret.to_owned(),
            roles: roles.iter().map(|r| r.to_string()).collect(),
        };
        self.clients.insert(client_id.to_owned(), client);
        self
    }

    /// How long issued tokens stay active.
    pub fn with_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.token_lifetime = lifetime;
        self
    }

    /// Whether listings answer `{"offset", "limit", "total_count", "data": [...]}` (open
    /// upstream PR #705) instead of a bare array.
    pub fn with_wrapped_listing(mut self, wrapped: bool) -> Self {
        self.wrapped_listing = wrapped;
        self
    }

    /// Registers another platform, so assets may name it.
    pub fn with_platform(mut self, name: &str) -> Self {
        self.platforms.insert(name.to_owned());
        self
    }

    /// Service times from the start, see [`LocalAiod::set_latency`].
    pub fn with_latency(
        mut self,
        write: Duration,
        lookup: Duration,
        list_page_per_1000: Duration,
    ) -> Self {
        self.latency = Latency {
            write,
            lookup,
            list_page_per_1000,
        };
        self
    }
}

/// The AIoD stand-in running on `127.0.0.1` in a background thread; dropping it shuts it down.
pub struct LocalAiod {
    served: Served,
    aiod: AiodHandle,
}

impl std::ops::Deref for LocalAiod {
    type Target = Served;
    fn deref(&self) -> &Served {
        &self.served
    }
}

impl LocalAiod {
    /// Starts on a free port; returns once the port accepts connections.
    pub fn start(state: AiodState) -> anyhow::Result<LocalAiod> {
        Self::start_with_log(state, RequestLog::default())
    }

    /// Starts on a free port, logging into `log` (e.g. a [`RequestLog::counting`] one).
    pub fn start_with_log(state: AiodState, log: RequestLog) -> anyhow::Result<LocalAiod> {
        let aiod = AiodHandle::new(state);
        let served = Served::start("local-aiod", app(aiod.clone()), log)?;
        Ok(LocalAiod { served, aiod })
    }

    /// How many datasets are stored and not deleted.
    pub fn live_count(&self) -> usize {
        let catalogue = self.aiod.catalogue();
        catalogue.datasets.iter().filter(|d| !d.deleted).count()
    }

    /// `http://127.0.0.1:PORT/`, with the trailing slash the SDK's `api_server` has. The
    /// Keycloak requests are in the same log as the catalogue's.
    pub fn api_url(&self) -> String {
        format!("{}/", self.base_url())
    }

    /// `http://127.0.0.1:PORT/aiod-auth/`, with the trailing slash the SDK's `auth_server` has.
    pub fn auth_url(&self) -> String {
        format!("{}/aiod-auth/", self.base_url())
    }

    /// How many datasets were deleted (deletes are soft, so they are still stored).
    pub fn deleted_count(&self) -> usize {
        let catalogue = self.aiod.catalogue();
        catalogue.datasets.iter().filter(|d| d.deleted).count()
    }

    /// The datasets not deleted, in creation order, as `GET` returns them.
    pub fn assets(&self) -> Vec<Value> {
        let catalogue = self.aiod.catalogue();
        let live = catalogue.datasets.iter().filter(|d| !d.deleted);
        live.map(|d| d.asset.clone()).collect()
    }

    /// The live dataset `platform` knows as `platform_resource_identifier`, as `GET` returns it.
    pub fn asset_by_platform_id(
        &self,
        platform: &str,
        platform_resource_identifier: &str,
    ) -> Option<Value> {
        let catalogue = self.aiod.catalogue();
        let index = catalogue.live(platform, platform_resource_identifier)?;
        Some(catalogue.datasets[index].asset.clone())
    }

    /// Stores `body` as if its platform's connector had POSTed it (an ordinary user if it names
    /// no platform), validated and normalised the same way; returns its identifier.
    ///
    /// # Panics
    /// If the catalogue would refuse the body.
    pub fn insert(&self, body: Value) -> String {
        let roles = body["platform"]
            .as_str()
            .map(|platform| format!("platform_{platform}"));
        let who = Principal {
            client_id: "local-servers".to_owned(),
            roles: roles.into_iter().collect(),
        };
        match self.aiod.catalogue().create(&who, &body) {
            Ok(identifier) => identifier,
            Err(e) => panic!("the catalogue refuses the body: {} {}", e.status, e.detail),
        }
    }

    /// Stores `body` as the loser of the first-upload race leaves it (see
    /// [`AiodState::with_first_upload_race`]): an unpublished draft that belongs to nobody.
    ///
    /// # Panics
    /// If the catalogue refuses the body.
    pub fn insert_orphan_draft(&self, body: Value) -> String {
        let who = Principal {
            client_id: "local-servers".to_owned(),
            roles: body["platform"]
                .as_str()
                .map(|platform| format!("platform_{platform}"))
                .into_iter()
                .collect(),
        };
        match self.aiod.catalogue().store_new(&who, &body, true) {
            Ok(identifier) => identifier,
            Err(e) => panic!("the catalogue refuses the body: {} {}", e.status, e.detail),
        }
    }

    /// Answers the next `times` requests using `method` (any case) on a path starting with
    /// `path_prefix` (Keycloak's paths included) with `fault`; of several matching injections,
    /// the earliest is used up first.
    pub fn inject(&self, method: &str, path_prefix: &str, fault: Fault, times: usize) {
        self.aiod
            .0
            .faults
            .inject(Some(method), path_prefix, fault, times);
    }

    /// Answers the next `times` requests using `method` on a path starting with `path_prefix`
    /// with `status` and an AIoD-style error body (one `reference` for them all), without
    /// handling them.
    ///
    /// # Panics
    /// If `status` is not an HTTP status code.
    pub fn fail_next(&self, method: &str, path_prefix: &str, status: u16, times: usize) {
        let status = StatusCode::from_u16(status).expect("an HTTP status code");
        self.inject(method, path_prefix, injected_error(status).fault(), times);
    }

    /// Answers every request, Keycloak's included, with `status` and `Retry-After: 1` (a proxy's
    /// plain-text answer) until `duration` has passed, as if the service were down; meanwhile
    /// injected faults wait.
    ///
    /// # Panics
    /// If `status` is not an HTTP status code.
    pub fn down_for(&self, duration: Duration, status: u16) {
        let status = StatusCode::from_u16(status).expect("an HTTP status code");
        let canned = Canned {
            status: status.as_u16(),
            content_type: "text/plain; charset=utf-8".to_owned(),
            body: status
                .canonical_reason()
                .unwrap_or("Unavailable")
                .to_owned(),
            headers: Vec::new(),
        };
        let fault = Fault::answering(canned, Vec::new()).with_header("Retry-After", "1");
        self.aiod.0.faults.inject_for(duration, fault);
    }

    /// Makes every token issued so far inactive, as if they had expired early; new logins work.
    pub fn revoke_tokens(&self) {
        self.aiod.0.keycloak.revoke_all();
    }

    /// The access tokens its Keycloak issued and still holds (not revoked).
    pub fn issued_tokens(&self) -> Vec<String> {
        self.aiod.0.keycloak.issued_tokens()
    }

    /// Service times: `write` for each POST, PUT and DELETE, `lookup` for each GET of one
    /// dataset, `list_page_per_1000` per 1000 datasets of a listing page. Requests with a service
    /// time are served one at a time, like the real single-process catalogue, whose throughput
    /// does not grow with more clients. All zero by default.
    pub fn set_latency(&self, write: Duration, lookup: Duration, list_page_per_1000: Duration) {
        *lock(&self.aiod.0.latency) = Latency {
            write,
            lookup,
            list_page_per_1000,
        };
    }
}

/// The running catalogue, shared by the routes and [`LocalAiod`].
#[derive(Clone)]
pub(crate) struct AiodHandle(Arc<Shared>);

struct Shared {
    catalogue: Mutex<Catalogue>,
    keycloak: Arc<Keycloak>,
    faults: Faults,
    latency: Mutex<Latency>,
    /// Held while a service time passes, so timed requests queue like on the real server.
    worker: tokio::sync::Mutex<()>,
}

#[derive(Clone, Copy, Debug, Default)]
struct Latency {
    write: Duration,
    lookup: Duration,
    list_page_per_1000: Duration,
}

impl AiodHandle {
    pub(crate) fn new(state: AiodState) -> Self {
        let catalogue = Catalogue {
            platforms: state.platforms,
            wrapped_listing: state.wrapped_listing,
            datasets: Vec::new(),
            by_identifier: HashMap::new(),
            by_platform_id: HashMap::new(),
            first_upload_race: state.first_upload_race,
            registered: BTreeSet::new(),
            registering: BTreeSet::new(),
        };
        Self(Arc::new(Shared {
            catalogue: Mutex::new(catalogue),
            keycloak: Arc::new(Keycloak::new(state.clients, state.token_lifetime)),
            faults: Faults::default(),
            latency: Mutex::new(state.latency),
            worker: tokio::sync::Mutex::new(()),
        }))
    }

    fn catalogue(&self) -> MutexGuard<'_, Catalogue> {
        lock(&self.0.catalogue)
    }

    fn latency(&self) -> Latency {
        *lock(&self.0.latency)
    }

    /// Takes `service` time on the single worker.
    async fn serve_for(&self, service: Duration) {
        if !service.is_zero() {
            let _busy = self.0.worker.lock().await;
            tokio::time::sleep(service).await;
        }
    }

    /// Registers `who` on its first write when the first-upload race is on (see
    /// [`AiodState::with_first_upload_race`]); a `POST` that loses the race leaves an orphan
    /// draft and gets the error to answer.
    async fn register(
        &self,
        who: &Principal,
        headers: &HeaderMap,
        body: &Bytes,
    ) -> Option<ApiError> {
        let registration = {
            let mut catalogue = self.catalogue();
            let registration = catalogue.first_upload_race?;
            if catalogue.registered.contains(&who.client_id) {
                return None;
            }
            if !catalogue.registering.insert(who.client_id.clone()) {
                // Lost: the dataset is committed before the user insert fails.
                if let Ok(body) = parse_body(headers, body) {
                    catalogue.store_new(who, &body, true).ok();
                }
                return Some(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "UNIQUE constraint failed: user.subject_identifier",
                ));
            }
            registration
        };
        tokio::time::sleep(registration).await;
        let mut catalogue = self.catalogue();
        catalogue.registering.remove(&who.client_id);
        catalogue.registered.insert(who.client_id.clone());
        None
    }

    /// The logged-in caller, for endpoints that require a login.
    fn caller(&self, headers: &HeaderMap) -> Result<Principal, ApiError> {
        let Some(authorization) = headers.get(header::AUTHORIZATION) else {
            return Err(unauthorized("No token found"));
        };
        let token = authorization.to_str().ok();
        let token = token.map(|t| t.strip_prefix("Bearer ").unwrap_or(t));
        token
            .and_then(|token| self.0.keycloak.introspect(token))
            .ok_or_else(|| unauthorized("Invalid userinfo or inactive user"))
    }
}

fn unauthorized(reason: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        format!("{reason} - This endpoint requires authorization. You need to be logged in."),
    )
}

/// An error answer: `{"detail": ..., "reference": "<32 hex>"}`, as every error of the catalogue.
#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    detail: Value,
}

impl ApiError {
    fn new(status: StatusCode, detail: impl Into<Value>) -> Self {
        Self {
            status,
            detail: detail.into(),
        }
    }

    /// A 422 with pydantic-style `detail` items.
    fn invalid(items: Vec<Value>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, items)
    }

    fn unexpected() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, UNEXPECTED)
    }

    /// The body, with a fresh `reference`.
    fn body(&self) -> Value {
        let reference = format!("{:032x}", rand::rng().random::<u128>());
        json!({ "detail": self.detail, "reference": reference })
    }

    /// A fault answering this error.
    fn fault(&self) -> Fault {
        let canned = Canned::json(self.status.as_u16(), self.body().to_string());
        Fault::answering(canned, Vec::new())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body())).into_response()
    }
}

/// The datasets, in creation order, with indexes to find them.
struct Catalogue {
    platforms: BTreeSet<String>,
    wrapped_listing: bool,
    datasets: Vec<Stored>,
    by_identifier: HashMap<String, usize>,
    /// Every dataset ever stored under a (platform, platform id), deleted ones included.
    by_platform_id: HashMap<(String, String), Vec<usize>>,
    /// See [`AiodState::with_first_upload_race`]: how long registering an account takes.
    first_upload_race: Option<Duration>,
    /// Accounts that have written (registered), and those registering now.
    registered: BTreeSet<String>,
    registering: BTreeSet<String>,
}

struct Stored {
    /// What `GET` returns.
    asset: Value,
    /// The client that created it, which may edit and delete it.
    owner: String,
    deleted: bool,
}

impl Stored {
    fn field(&self, name: &str) -> &str {
        self.asset[name].as_str().unwrap_or_default()
    }

    fn published(&self) -> bool {
        self.asset["aiod_entry"]["status"] == "published"
    }

    /// Whether `who` may change or delete it: its creator, a connector of its platform, or an
    /// account with the catalogue-wide `role` (`update_datasets`, `delete_datasets`).
    fn may_be_changed_by(&self, who: &Principal, role: &str) -> bool {
        self.owner == who.client_id
            || who.has_role(&format!("platform_{}", self.field("platform")))
            || who.has_role(role)
    }
}

impl Catalogue {
    /// `POST /datasets`.
    fn create(&mut self, who: &Principal, body: &Value) -> Result<String, ApiError> {
        self.store_new(who, body, false)
    }

    /// A new dataset; `orphan`: the loser of the first-upload race, an unpublished draft that
    /// belongs to nobody.
    fn store_new(
        &mut self,
        who: &Principal,
        body: &Value,
        orphan: bool,
    ) -> Result<String, ApiError> {
        let body = validated(body)?;
        let origin = origin(who, body)?;
        refuse_binary_blob(body)?;
        let identifier = self.new_identifier();
        let now = now();
        // Connector uploads are published at once; other users' are drafts awaiting review.
        let status = if who.is_connector() && !orphan {
            "published"
        } else {
            "draft"
        };
        let entry =
            json!({"editor": [], "status": status, "date_modified": now, "date_created": now});
        let asset = self.admit(body, &identifier, origin, entry, None)?;
        let index = self.datasets.len();
        self.by_identifier.insert(identifier.clone(), index);
        self.by_platform_id
            .entry(platform_key(&asset))
            .or_default()
            .push(index);
        self.datasets.push(Stored {
            asset,
            owner: if orphan {
                String::new()
            } else {
                who.client_id.clone()
            },
            deleted: false,
        });
        Ok(identifier)
    }

    /// `PUT /datasets/{identifier}`: replaces every field; `aiod_entry.date_modified` is now.
    fn replace(&mut self, who: &Principal, identifier: &str, body: &Value) -> Result<(), ApiError> {
        let body = validated(body)?;
        let index = self.find(identifier)?;
        refuse_binary_blob(body)?;
        let stored = &self.datasets[index];
        if !stored.may_be_changed_by(who, "update_datasets") {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "You do not have permission to edit datasets.",
            ));
        }
        let origin = origin(who, body)?;
        let mut entry = stored.asset["aiod_entry"].clone();
        entry["date_modified"] = now().into();
        let asset = self.admit(body, identifier, origin, entry, Some(index))?;
        let (old_key, new_key) = (
            platform_key(&self.datasets[index].asset),
            platform_key(&asset),
        );
        if old_key != new_key {
            if let Some(indices) = self.by_platform_id.get_mut(&old_key) {
                indices.retain(|&i| i != index);
            }
            self.by_platform_id.entry(new_key).or_default().push(index);
        }
        self.datasets[index].asset = asset;
        Ok(())
    }

    /// `DELETE /datasets/{identifier}`: a soft delete, as the real catalogue's.
    fn delete(&mut self, who: &Principal, identifier: &str) -> Result<(), ApiError> {
        let index = self.find(identifier)?;
        let stored = &mut self.datasets[index];
        if !stored.may_be_changed_by(who, "delete_datasets") {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "You do not have permission to delete datasets.",
            ));
        }
        stored.deleted = true;
        Ok(())
    }

    /// The checks that need the database, in the order the catalogue meets them (resolving
    /// references, writing rows, then the foreign key and unique index of the dataset row), and
    /// the dataset as it is read back.
    fn admit(
        &self,
        body: &Map<String, Value>,
        identifier: &str,
        origin: Option<(String, String)>,
        entry: Value,
        replacing: Option<usize>,
    ) -> Result<Value, ApiError> {
        self.resolve_references(body)?;
        // Ordinary users' assets are the catalogue's own: platform `aiod`, known by identifier.
        let (platform, platform_id) =
            origin.unwrap_or_else(|| ("aiod".to_owned(), identifier.to_owned()));
        let asset = read_back(body, identifier, &platform, &platform_id, entry);
        check_columns(&asset)?;
        if !self.platforms.contains(&platform) {
            return Err(ApiError::new(
                StatusCode::PRECONDITION_FAILED,
                format!(
                    "Platform {platform} does not exist. You can register it using the POST \
                     platforms endpoint."
                ),
            ));
        }
        match self.live(&platform, &platform_id) {
            Some(existing) if Some(existing) != replacing => Err(ApiError::new(
                StatusCode::CONFLICT,
                format!(
                    "There already exists a dataset with the same platform and \
                     platform_resource_identifier, with identifier={}.",
                    self.datasets[existing].field("identifier")
                ),
            )),
            _ => Ok(asset),
        }
    }

    /// Refuses identifiers of assets the catalogue does not have (404, as its deserialiser).
    fn resolve_references(&self, body: &Map<String, Value>) -> Result<(), ApiError> {
        let editors = body.get("aiod_entry").and_then(|e| e.get("editor"));
        let lists = REFERENCES
            .iter()
            .map(|&(field, is_resource)| (body.get(field), is_resource))
            // Editors are persons, of which there are none.
            .chain([(editors, false)]);
        for (list, is_resource) in lists {
            let ids = list.and_then(Value::as_array).into_iter().flatten();
            let missing: BTreeSet<&str> = ids
                .filter_map(Value::as_str)
                .filter(|id| !(is_resource && self.by_identifier.contains_key(*id)))
                .collect();
            if !missing.is_empty() {
                let missing: Vec<&str> = missing.into_iter().collect();
                return Err(ApiError::new(
                    StatusCode::NOT_FOUND,
                    format!(
                        "Nested object with identifiers {} not found",
                        missing.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }

    fn new_identifier(&self) -> String {
        loop {
            let suffix: String = rand::rng()
                .sample_iter(Alphanumeric)
                .take(24)
                .map(char::from)
                .collect();
            let identifier = format!("data_{suffix}");
            if !self.by_identifier.contains_key(&identifier) {
                return identifier;
            }
        }
    }

    /// The dataset `identifier` names, if not deleted.
    fn find(&self, identifier: &str) -> Result<usize, ApiError> {
        if !identifier.starts_with("data_") {
            let msg = format!(
                "'{identifier}' is not a dataset identifier: dataset identifiers start with \
                 'data_'."
            );
            return Err(ApiError::invalid(vec![
                json!({"loc": ["path", "identifier"], "msg": msg, "type": "value_error"}),
            ]));
        }
        let index = self.by_identifier.get(identifier).copied();
        self.found(index, &format!("Dataset '{identifier}'"))
    }

    /// The dataset `platform` knows as `platform_id`, if not deleted.
    fn find_by_platform_id(&self, platform: &str, platform_id: &str) -> Result<usize, ApiError> {
        if !PLATFORM_NAMES.contains(&platform) {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("platform '{platform}' not recognized."),
            ));
        }
        let key = (platform.to_owned(), platform_id.to_owned());
        let ever = self
            .by_platform_id
            .get(&key)
            .and_then(|i| i.last().copied());
        let index = self.live(platform, platform_id).or(ever);
        self.found(index, &format!("Dataset '{platform_id}' of '{platform}'"))
    }

    fn found(&self, index: Option<usize>, name: &str) -> Result<usize, ApiError> {
        match index {
            Some(i) if !self.datasets[i].deleted => Ok(i),
            Some(_) => Err(ApiError::new(
                StatusCode::NOT_FOUND,
                format!("{name} not found in the database, because it was deleted."),
            )),
            None => Err(ApiError::new(
                StatusCode::NOT_FOUND,
                format!("{name} not found in the database."),
            )),
        }
    }

    /// The live dataset under (platform, platform id); there is at most one.
    fn live(&self, platform: &str, platform_id: &str) -> Option<usize> {
        let key = (platform.to_owned(), platform_id.to_owned());
        let indices = self.by_platform_id.get(&key)?;
        indices.iter().copied().find(|&i| !self.datasets[i].deleted)
    }

    /// Dataset `index` as `who` may read it: drafts only by their creator.
    fn readable(&self, index: usize, who: Option<&Principal>) -> Result<Value, ApiError> {
        let stored = &self.datasets[index];
        match who {
            _ if stored.published() => Ok(stored.asset.clone()),
            None => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "This asset is not published. It requires authentication to access.",
            )),
            Some(who) if who.client_id == stored.owner => Ok(stored.asset.clone()),
            Some(_) => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "You are not allowed to view this resource.",
            )),
        }
    }

    /// A listing page of the published live datasets (of `platform`, if given), in creation
    /// order.
    fn list(&self, platform: Option<&str>, query: Option<&str>) -> Result<Value, ApiError> {
        let (offset, limit) = page_params(query)?;
        let listed = self.datasets.iter().filter(|d| {
            !d.deleted && d.published() && platform.is_none_or(|p| d.field("platform") == p)
        });
        let page: Vec<Value> = listed
            .clone()
            .skip(offset)
            .take(limit)
            .map(|d| d.asset.clone())
            .collect();
        Ok(if self.wrapped_listing {
            json!({"offset": offset, "limit": limit, "total_count": listed.count(), "data": page})
        } else {
            Value::Array(page)
        })
    }
}

fn platform_key(asset: &Value) -> (String, String) {
    let field = |name: &str| asset[name].as_str().unwrap_or_default().to_owned();
    (field("platform"), field("platform_resource_identifier"))
}

/// The schema of `POST /datasets` bodies.
fn dataset_create() -> &'static str {
    let schema = Schema::bundled().request_schema("datasets");
    schema.expect("the bundled schema has POST /datasets")
}

/// `body` if it is a valid `DatasetCreate` (422 with pydantic's items otherwise).
fn validated(body: &Value) -> Result<&Map<String, Value>, ApiError> {
    let violations = Schema::bundled().validate(dataset_create(), body);
    let failed = |field: &str| {
        let field = Loc::Field(field.to_owned());
        violations.iter().any(|v| v.loc.first() == Some(&field))
    };
    // The catalogue's validator of `platform_resource_identifier` runs only when both fields
    // passed their own checks; as it checks the model's second field, its error comes first.
    let hf = (!failed("platform") && !failed("platform_resource_identifier"))
        .then(|| hf_violation(body))
        .flatten();
    let items: Vec<Value> = hf
        .into_iter()
        .chain(violations.iter().map(Violation::to_pydantic))
        .collect();
    match body {
        Value::Object(body) if items.is_empty() => Ok(body),
        _ => Err(ApiError::invalid(items)),
    }
}

/// The catalogue's check of a `huggingface` asset's `platform_resource_identifier`.
fn hf_violation(body: &Value) -> Option<Value> {
    let platform_id = body.get("platform_resource_identifier")?;
    if body["platform"] != "huggingface" {
        return None;
    }
    let msg = match platform_id.as_str() {
        Some(repo_id) => invalid_repo_id(repo_id)?,
        None => "Repo id must be a string, not <class 'NoneType'>: 'None'.".to_owned(),
    };
    Some(json!({
        "loc": ["body", "platform_resource_identifier"],
        "msg": msg,
        "type": "value_error.hfvalidation",
    }))
}

/// Why `huggingface_hub.utils.validate_repo_id` (the version the catalogue's tests expect)
/// refuses `repo_id`.
fn invalid_repo_id(repo_id: &str) -> Option<String> {
    if repo_id.matches('/').count() > 1 {
        return Some(format!(
            "Repo id must be in the form 'repo_name' or 'namespace/repo_name': '{repo_id}'. \
             Use `repo_type` argument if needed."
        ));
    }
    // Its regex: `^(\b[\w\-.]+\b/)?\b[\w\-.]{1,96}\b$`, with Python's Unicode `\w`.
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let part = |p: &str, max: usize| {
        let count = p.chars().count();
        (1..=max).contains(&count)
            && p.chars().all(|c| word(c) || c == '-' || c == '.')
            && p.starts_with(word)
            && p.ends_with(word)
    };
    let matches = match repo_id.split_once('/') {
        Some((namespace, name)) => part(namespace, usize::MAX) && part(name, 96),
        None => part(repo_id, 96),
    };
    if !matches {
        return Some(format!(
            "Repo id must use alphanumeric chars or '-', '_', '.', '--' and '..' are forbidden, \
             '-' and '.' cannot start or end the name, max length is 96: '{repo_id}'."
        ));
    }
    if repo_id.contains("--") || repo_id.contains("..") {
        return Some(format!("Cannot have -- or .. in repo_id: '{repo_id}'."));
    }
    repo_id
        .ends_with(".git")
        .then(|| format!("Repo_id cannot end by '.git': '{repo_id}'."))
}

/// Who the asset says it comes from, if `who` may say so: connectors must name one of their
/// platforms and an identifier there; others must name neither (403 otherwise).
fn origin(
    who: &Principal,
    body: &Map<String, Value>,
) -> Result<Option<(String, String)>, ApiError> {
    let text = |field: &str| body.get(field).and_then(Value::as_str);
    let (platform, platform_id) = (text("platform"), text("platform_resource_identifier"));
    let forbidden = |detail: String| Err(ApiError::new(StatusCode::FORBIDDEN, detail));
    if !who.is_connector() {
        return match (platform, platform_id) {
            (None, None) => Ok(None),
            _ => forbidden("No permission to set platform or platform resource identifier.".into()),
        };
    }
    match (platform, platform_id) {
        (Some(platform), _) if !who.has_role(&format!("platform_{platform}")) => forbidden(
            format!("No permission to upload assets for {platform} platform."),
        ),
        // Python renders the missing platform as `None`.
        (None, _) => forbidden("No permission to upload assets for None platform.".into()),
        (Some(_), None) => forbidden("Platform resource identifier may not be none.".into()),
        (Some(platform), Some(platform_id)) => {
            Ok(Some((platform.to_owned(), platform_id.to_owned())))
        }
    }
}

/// Media data must go through the dedicated endpoints (400 otherwise).
fn refuse_binary_blob(body: &Map<String, Value>) -> Result<(), ApiError> {
    let files = ["distribution", "media"]
        .iter()
        .filter_map(|field| body.get(*field)?.as_array())
        .flatten();
    // Python's truthiness: an empty blob is no blob.
    let blob_set = files
        .map(|file| &file["binary_blob"])
        .any(|blob| match blob {
            Value::Null => false,
            Value::String(s) => !s.is_empty(),
            _ => true,
        });
    if blob_set {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "Setting `binary_blob` is forbidden. Consider using `content_url` instead.",
        ));
    }
    Ok(())
}

/// Refuses what MySQL would: descriptions over a `TEXT` column's bytes, names over their
/// `VARCHAR` column's characters (500, as the catalogue reports database errors).
fn check_columns(asset: &Value) -> Result<(), ApiError> {
    let description = &asset["description"];
    let long_text = ["plain", "html"]
        .iter()
        .filter_map(|format| description[*format].as_str())
        .any(|text| text.len() > TEXT_COLUMN_BYTES);
    let long_name = COLUMN_LIMITS.iter().any(|&(field, max)| {
        let names = asset[field].as_array().into_iter().flatten();
        names
            .filter_map(Value::as_str)
            .any(|n| n.chars().count() > max)
    });
    if long_text || long_name {
        return Err(ApiError::unexpected());
    }
    Ok(())
}

/// The dataset as the catalogue reads it back: unknown fields and nulls gone, keywords
/// lower-cased, de-duplicated and sorted, the license lower-cased, date-times as their clock
/// time without the offset, referenced identifiers sorted, the server's fields added, every relation present.
fn read_back(
    body: &Map<String, Value>,
    identifier: &str,
    platform: &str,
    platform_id: &str,
    entry: Value,
) -> Value {
    let pruned = Schema::bundled().prune(dataset_create(), &Value::Object(body.clone()));
    let Value::Object(mut asset) = without_nulls(pruned) else {
        unreachable!("pruning keeps an object an object")
    };
    asset.insert("platform".into(), platform.into());
    asset.insert("platform_resource_identifier".into(), platform_id.into());
    if let Some(Value::Array(keywords)) = asset.get_mut("keyword") {
        let lower: BTreeSet<String> = keywords
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_lowercase)
            .collect();
        *keywords = lower.into_iter().map(Value::from).collect();
    }
    if let Some(Value::String(license)) = asset.get_mut("license") {
        *license = license.to_lowercase();
    }
    normalise_date(asset.get_mut("date_published"));
    for files in ["distribution", "media"] {
        if let Some(Value::Array(files)) = asset.get_mut(files) {
            for file in files.iter_mut().filter_map(Value::as_object_mut) {
                // Never stored: refused when set, and not returned.
                file.remove("binary_blob");
                normalise_date(file.get_mut("date_published"));
            }
        }
    }
    for (field, _) in REFERENCES {
        if let Some(Value::Array(ids)) = asset.get_mut(field) {
            let sorted: BTreeSet<String> = ids
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect();
            *ids = sorted.into_iter().map(Value::from).collect();
        }
    }
    for field in LIST_FIELDS {
        asset.entry(field).or_insert_with(|| json!([]));
    }
    for field in [
        "identifier",
        "ai_asset_identifier",
        "ai_resource_identifier",
    ] {
        asset.insert(field.into(), identifier.into());
    }
    asset.insert("aiod_entry".into(), entry);
    Value::Object(asset)
}

/// `value` without null object members, at any depth (FastAPI's `response_model_exclude_none`).
fn without_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(without_nulls).collect()),
        other => other,
    }
}

fn normalise_date(value: Option<&mut Value>) {
    if let Some(Value::String(text)) = value
        && let Some(stored) = parse_datetime(text)
    {
        *text = render_datetime(stored);
    }
}

/// A date-time as pydantic v1 parses it (the schema has accepted it), as the naive `DATETIME`
/// column keeps it: the clock time as written, its offset dropped (not converted to UTC; the
/// real catalogue stores `23:29:22+02:00` as `23:29:22`).
fn parse_datetime(text: &str) -> Option<NaiveDateTime> {
    if let Ok(zoned) = DateTime::parse_from_rfc3339(text) {
        return Some(zoned.naive_local());
    }
    let zoned = ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z"]
        .iter()
        .find_map(|f| DateTime::parse_from_str(text, f).ok());
    if let Some(zoned) = zoned {
        return Some(zoned.naive_local());
    }
    let naive = text.strip_suffix('Z').unwrap_or(text);
    [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(naive, f).ok())
}

/// Python's `datetime.isoformat()`: microseconds only when there are any.
fn render_datetime(t: NaiveDateTime) -> String {
    let seconds = t.format("%Y-%m-%dT%H:%M:%S");
    match t.nanosecond() / 1000 {
        0 => seconds.to_string(),
        micros => format!("{seconds}.{micros:06}"),
    }
}

fn now() -> String {
    render_datetime(Utc::now().naive_utc())
}

/// `offset` and `limit` as FastAPI validates them (the last of repeated parameters counts).
fn page_params(query: Option<&str>) -> Result<(usize, usize), ApiError> {
    let pairs = form_urlencoded::parse(query.unwrap_or_default().as_bytes());
    let params: HashMap<String, String> = pairs.into_owned().collect();
    let mut violations = Vec::new();
    let mut param = |name: &str, default: i64, min: Option<i64>, max: Option<i64>| {
        let Some(text) = params.get(name) else {
            return default;
        };
        let mut fail = |msg: String, kind: &str, ctx: Option<i64>| {
            let mut item = json!({"loc": ["query", name], "msg": msg, "type": kind});
            if let Some(limit) = ctx {
                item["ctx"] = json!({ "limit_value": limit });
            }
            violations.push(item);
        };
        let Ok(value) = text.trim().parse::<i64>() else {
            fail(
                "value is not a valid integer".into(),
                "type_error.integer",
                None,
            );
            return default;
        };
        if let Some(min) = min.filter(|&min| value < min) {
            let msg = format!("ensure this value is greater than or equal to {min}");
            fail(msg, "value_error.number.not_ge", Some(min));
        }
        if let Some(max) = max.filter(|&max| value > max) {
            let msg = format!("ensure this value is less than or equal to {max}");
            fail(msg, "value_error.number.not_le", Some(max));
        }
        value
    };
    let offset = param("offset", 0, Some(0), None);
    let limit = param("limit", DEFAULT_LIMIT, None, Some(MAX_LIMIT));
    if !violations.is_empty() {
        return Err(ApiError::invalid(violations));
    }
    // Nothing stops a negative limit before the database, where MySQL refuses `LIMIT -1`.
    let limit = usize::try_from(limit).map_err(|_| ApiError::unexpected())?;
    Ok((offset as usize, limit))
}

/// The request body as FastAPI gives it to pydantic: parsed JSON, or the raw text when the
/// client declared a content type other than JSON.
fn parse_body(headers: &HeaderMap, body: &Bytes) -> Result<Value, ApiError> {
    if body.is_empty() {
        return Err(ApiError::invalid(vec![
            json!({"loc": ["body"], "msg": "field required", "type": "value_error.missing"}),
        ]));
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let declared_json = content_type.is_none_or(|t| {
        let essence = t
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        essence
            .strip_prefix("application/")
            .is_some_and(|subtype| subtype == "json" || subtype.ends_with("+json"))
    });
    if !declared_json {
        return Ok(String::from_utf8_lossy(body).into_owned().into());
    }
    serde_json::from_slice(body).map_err(|e| {
        // Python reports where in the document, in characters; serde in lines and columns.
        let text = String::from_utf8_lossy(body);
        let before: usize = text
            .split_inclusive('\n')
            .take(e.line().saturating_sub(1))
            .map(|l| l.chars().count())
            .sum();
        let message = e.to_string();
        let message = message.split(" at line ").next().unwrap_or_default();
        ApiError::invalid(vec![json!({
            "type": "json_invalid",
            "loc": ["body", before + e.column().saturating_sub(1)],
            "msg": "JSON decode error",
            "input": {},
            "ctx": {"error": message},
        })])
    })
}

/// The catalogue's routes, its token endpoint, and FastAPI's answers to unknown paths and
/// methods, behind fault injection.
pub(crate) fn app(aiod: AiodHandle) -> Router {
    let versioned = Router::new()
        .route("/datasets", get(list_datasets).post(create_dataset))
        .route(
            "/datasets/{identifier}",
            get(get_dataset).put(replace_dataset).delete(delete_dataset),
        )
        .route("/platforms", get(list_platforms))
        .route(
            "/platforms/{platform}/datasets",
            get(list_platform_datasets),
        )
        .route(
            "/platforms/{platform}/datasets/{*platform_resource_identifier}",
            get(get_platform_dataset),
        );
    let catalogue = Router::new()
        .merge(versioned.clone())
        .nest("/v2", versioned.clone())
        .nest("/v3", versioned)
        .route("/authorization_test", get(authorization_test))
        .with_state(aiod.clone());
    catalogue
        .merge(keycloak::router(aiod.0.keycloak.clone()))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "Not Found") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")
        })
        .layer(middleware::from_fn_with_state(
            aiod.0.faults.clone(),
            faults::apply,
        ))
}

/// The error the catalogue would answer with `status`.
fn injected_error(status: StatusCode) -> ApiError {
    match status {
        StatusCode::INTERNAL_SERVER_ERROR => ApiError::unexpected(),
        // The catalogue's 422s are validation errors, with pydantic's items.
        StatusCode::UNPROCESSABLE_ENTITY => ApiError::invalid(vec![
            json!({"loc": ["body"], "msg": "injected fault", "type": "value_error"}),
        ]),
        // As for an absent asset: FastAPI's bare `Not Found` means a route that does not exist.
        StatusCode::NOT_FOUND => ApiError::new(status, "Dataset not found in the database."),
        _ => ApiError::new(
            status,
            status.canonical_reason().unwrap_or("Injected fault"),
        ),
    }
}

type Answer = Result<Json<Value>, ApiError>;

async fn authorization_test(State(aiod): State<AiodHandle>, headers: HeaderMap) -> Answer {
    let who = aiod.caller(&headers)?;
    let name = format!("service-account-{}", who.client_id);
    Ok(Json(json!({ "name": name, "roles": who.roles })))
}

async fn create_dataset(State(aiod): State<AiodHandle>, headers: HeaderMap, body: Bytes) -> Answer {
    if let Ok(who) = aiod.caller(&headers)
        && let Some(lost) = aiod.register(&who, &headers, &body).await
    {
        return Err(lost);
    }
    let answer = aiod.caller(&headers).and_then(|who| {
        let body = parse_body(&headers, &body)?;
        let identifier = aiod.catalogue().create(&who, &body)?;
        Ok(json!({ "identifier": identifier }))
    });
    aiod.serve_for(aiod.latency().write).await;
    answer.map(Json)
}

async fn replace_dataset(
    State(aiod): State<AiodHandle>,
    Path(identifier): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let answer = aiod.caller(&headers).and_then(|who| {
        let body = parse_body(&headers, &body)?;
        aiod.catalogue().replace(&who, &identifier, &body)
    });
    aiod.serve_for(aiod.latency().write).await;
    answer.map(|()| Json(Value::Null))
}

async fn delete_dataset(
    State(aiod): State<AiodHandle>,
    Path(identifier): Path<String>,
    headers: HeaderMap,
) -> Answer {
    let answer = aiod
        .caller(&headers)
        .and_then(|who| aiod.catalogue().delete(&who, &identifier));
    aiod.serve_for(aiod.latency().write).await;
    answer.map(|()| Json(Value::Null))
}

async fn get_dataset(
    State(aiod): State<AiodHandle>,
    Path(identifier): Path<String>,
    headers: HeaderMap,
) -> Answer {
    let who = aiod.caller(&headers).ok();
    let answer = {
        let catalogue = aiod.catalogue();
        catalogue
            .find(&identifier)
            .and_then(|i| catalogue.readable(i, who.as_ref()))
    };
    aiod.serve_for(aiod.latency().lookup).await;
    answer.map(Json)
}

async fn get_platform_dataset(
    State(aiod): State<AiodHandle>,
    Path((platform, platform_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Answer {
    let who = aiod.caller(&headers).ok();
    let answer = {
        let catalogue = aiod.catalogue();
        catalogue
            .find_by_platform_id(&platform, &platform_id)
            .and_then(|i| catalogue.readable(i, who.as_ref()))
    };
    aiod.serve_for(aiod.latency().lookup).await;
    answer.map(Json)
}

async fn list_datasets(State(aiod): State<AiodHandle>, RawQuery(query): RawQuery) -> Answer {
    list(aiod, None, query).await
}

/// `GET /platforms`: the registered platforms (`PlatformRead`: name and identifier), paged.
async fn list_platforms(State(aiod): State<AiodHandle>, RawQuery(query): RawQuery) -> Answer {
    let (offset, limit) = page_params(query.as_deref())?;
    let catalogue = aiod.catalogue();
    let page: Vec<Value> = catalogue
        .platforms
        .iter()
        .enumerate()
        .skip(offset)
        .take(limit)
        .map(|(i, name)| json!({"name": name, "identifier": format!("platform_{}", i + 1)}))
        .collect();
    Ok(Json(Value::Array(page)))
}

async fn list_platform_datasets(
    State(aiod): State<AiodHandle>,
    Path(platform): Path<String>,
    RawQuery(query): RawQuery,
) -> Answer {
    list(aiod, Some(platform), query).await
}

async fn list(aiod: AiodHandle, platform: Option<String>, query: Option<String>) -> Answer {
    let answer = aiod.catalogue().list(platform.as_deref(), query.as_deref());
    let listed = match &answer {
        Ok(Value::Array(page)) => page.len(),
        Ok(wrapped) => wrapped["data"].as_array().map_or(0, Vec::len),
        Err(_) => 0,
    };
    let per_1000 = aiod.latency().list_page_per_1000;
    aiod.serve_for(per_1000 * listed as u32 / 1000).await;
    answer.map(Json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_ids_as_huggingface_hub_checks_them() {
        for valid in [
            "acronym_identification",
            "0-hero/OIG-small-chip2",
            "user/Foo-BAR_foo.bar123",
            "621ffdd236468d709f181d58",
            "a",
            "a/b",
        ] {
            assert_eq!(invalid_repo_id(valid), None, "{valid}");
        }
        let refused = |id: &str| invalid_repo_id(id).unwrap();
        assert!(refused("a/b/c").starts_with("Repo id must be in the form"));
        assert_eq!(
            refused("bad--id..x"),
            "Cannot have -- or .. in repo_id: 'bad--id..x'."
        );
        assert_eq!(refused("x.git"), "Repo_id cannot end by '.git': 'x.git'.");
        for regex_refused in ["", "-a", "a.", "a b", "/a", "a/", "x".repeat(97).as_str()] {
            assert!(
                refused(regex_refused).starts_with("Repo id must use alphanumeric chars"),
                "{regex_refused:?}"
            );
        }
        assert_eq!(
            invalid_repo_id(&format!("{}/{}", "n".repeat(200), "x".repeat(96))),
            None
        );
    }

    #[test]
    fn date_times_are_stored_as_their_clock_time_without_the_offset() {
        let stored = |text: &str| render_datetime(parse_datetime(text).unwrap());
        assert_eq!(stored("2022-03-02T23:29:22.000Z"), "2022-03-02T23:29:22");
        assert_eq!(stored("2022-03-02T23:29:22+00:00"), "2022-03-02T23:29:22");
        assert_eq!(
            stored("2022-03-03T01:29:22.5+02:00"),
            "2022-03-03T01:29:22.500000"
        );
        assert_eq!(stored("2022-01-01T15:15:00.000"), "2022-01-01T15:15:00");
        assert_eq!(stored("2022-01-01 15:15"), "2022-01-01T15:15:00");
        assert_eq!(
            stored("2022-01-01T15:15:00.1234567"),
            "2022-01-01T15:15:00.123456"
        );
    }

    #[test]
    fn page_params_validate_like_fastapi() {
        assert_eq!(page_params(None).unwrap(), (0, 10));
        assert_eq!(page_params(Some("offset=5&limit=1000")).unwrap(), (5, 1000));
        assert_eq!(page_params(Some("limit=3&limit=4")).unwrap(), (0, 4));
        let error = page_params(Some("offset=-1&limit=x")).unwrap_err();
        assert_eq!(error.status, StatusCode::UNPROCESSABLE_ENTITY);
        let types: Vec<&str> = error
            .detail
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["type"].as_str().unwrap())
            .collect();
        assert_eq!(types, ["value_error.number.not_ge", "type_error.integer"]);
        assert_eq!(
            page_params(Some("limit=-1")).unwrap_err().status,
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}
