//! Zenodo as its OAI-PMH 2.0 interface and REST API answer (invenio-oaiserver and
//! InvenioRDM): `GET /oai2d` with the verbs `Identify`, `ListRecords` and `GetRecord` in the
//! `oai_datacite` format, and `GET /api/records/{id}/files`, plus a search for probes.
//!
//! As harsh as the real service is documented to be (the OAI-PMH 2.0 specification,
//! invenio-oaiserver's defaults):
//! - a listing pages through a snapshot taken when it starts, `page_size` records at a time;
//!   a page's `resumptionToken` is valid for 60 seconds (invenio-oaiserver's
//!   `OAISERVER_RESUMPTION_TOKEN_EXPIRE_TIME`) and then answers `badResumptionToken`;
//! - a `resumptionToken` must come alone (with the verb); any other argument, a repeated one,
//!   an unknown one, a date that is not `YYYY-MM-DD` or `YYYY-MM-DDThh:mm:ssZ`, or granularities
//!   that differ answer `badArgument`;
//! - every OAI-PMH error is an `<error code="...">` answered with HTTP 422, as Zenodo does;
//!   an empty listing is the error `noRecordsMatch`;
//! - a deleted record stays listed as a header with `status="deleted"` and no metadata;
//! - a record's files answer 403 when restricted, 410 when the record is deleted and 404 for
//!   an unknown record, with InvenioRDM's JSON error bodies.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use url::form_urlencoded;

use crate::Canned;
use crate::faults::{self, Fault, Faults};

/// The recorded listing pages; their records together are the recorded records.
const RECORDED_PAGES: [&str; 2] = [
    include_str!("../data/zenodo/list-records-page-1.xml"),
    include_str!("../data/zenodo/list-records-page-2.xml"),
];

/// The recorded `/api/records/{id}/files` answers.
const RECORDED_FILES: [(u64, &str); 6] = [
    (6884943, include_str!("../data/zenodo/files-6884943.json")),
    (7199024, include_str!("../data/zenodo/files-7199024.json")),
    (7555467, include_str!("../data/zenodo/files-7555467.json")),
    (7793917, include_str!("../data/zenodo/files-7793917.json")),
    (7902673, include_str!("../data/zenodo/files-7902673.json")),
    (7947283, include_str!("../data/zenodo/files-7947283.json")),
];

/// The number of generated record 0; generated record `i` is `GENERATED_FIRST + i`.
pub const GENERATED_FIRST: u64 = 90_000_000;

/// invenio-oaiserver's default lifetime of a resumption token.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(60);

const XML: &str = "text/xml; charset=utf-8";

/// One record: its `<metadata>` element (none once deleted) and its files answer.
#[derive(Clone, Debug)]
struct Held {
    datestamp: String,
    metadata: Option<String>,
    files: Files,
}

#[derive(Clone, Debug)]
enum Files {
    Json(String),
    Restricted,
}

/// A listing in progress: the snapshot it pages through and when its token expires.
#[derive(Debug)]
struct Listing {
    numbers: Vec<u64>,
    expires: Instant,
}

/// The records the stand-in serves and its listings in progress.
#[derive(Debug)]
pub struct ZenodoState {
    records: BTreeMap<u64, Held>,
    page_size: usize,
    listings: HashMap<u64, Listing>,
    next_listing: u64,
    /// Seconds after 2024-01-01T00:00:00Z of the latest change: changes get later datestamps.
    clock: u64,
}

impl ZenodoState {
    /// The 51 recorded records (6 of them datasets, with their recorded files).
    pub fn recorded() -> Self {
        let mut state = Self::empty();
        for page in RECORDED_PAGES {
            for record in elements(page, "record") {
                let number: u64 = between(record, "<identifier>oai:zenodo.org:", "</identifier>")
                    .and_then(|n| n.parse().ok())
                    .expect("a recorded record has a Zenodo identifier");
                let datestamp = between(record, "<datestamp>", "</datestamp>")
                    .expect("a recorded record has a datestamp");
                let files = RECORDED_FILES
                    .iter()
                    .find(|(n, _)| *n == number)
                    .map_or_else(|| empty_files(number), |(_, json)| (*json).to_owned());
                let held = Held {
                    datestamp: datestamp.to_owned(),
                    metadata: elements(record, "metadata").next().map(str::to_owned),
                    files: Files::Json(files),
                };
                state.records.insert(number, held);
            }
        }
        state
    }

    /// No records.
    pub fn empty() -> Self {
        Self {
            records: BTreeMap::new(),
            page_size: 25,
            listings: HashMap::new(),
            next_listing: 1,
            clock: 0,
        }
    }

    /// Adds `count` generated datasets, numbered from [`GENERATED_FIRST`] on after the ones
    /// generated before, each with one or two files.
    pub fn with_generated(mut self, count: usize) -> Self {
        let first = self
            .records
            .range(GENERATED_FIRST..)
            .next_back()
            .map_or(GENERATED_FIRST, |(n, _)| n + 1);
        for number in first..first + count as u64 {
            self.clock += 1;
            let held = Held {
                datestamp: datestamp(self.clock),
                metadata: Some(generated_metadata(
                    number,
                    &format!("Generated dataset {number}"),
                )),
                files: Files::Json(generated_files(number)),
            };
            self.records.insert(number, held);
        }
        self
    }

    /// Records per listing page (invenio-oaiserver's `OAISERVER_PAGE_SIZE`).
    pub fn with_page_size(mut self, size: usize) -> Self {
        self.page_size = size.max(1);
        self
    }

    /// Records listed by a full listing (deleted ones included, as headers).
    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    fn tick(&mut self) -> String {
        let latest = self.records.values().map(|h| h.datestamp.clone()).max();
        self.clock += 1;
        let mut next = datestamp(self.clock);
        // Later than every datestamp, recorded ones (from 2023) included.
        while latest.as_ref().is_some_and(|l| *l >= next) {
            self.clock += 3600;
            next = datestamp(self.clock);
        }
        next
    }

    fn held_mut(&mut self, number: u64) -> &mut Held {
        self.records
            .get_mut(&number)
            .unwrap_or_else(|| panic!("Zenodo has no record {number}"))
    }

    /// Gives record `number` a new title (its first `<title>`) and a later datestamp.
    ///
    /// # Panics
    /// If there is no such record, or it is deleted.
    pub fn retitle(&mut self, number: u64, title: &str) {
        let stamp = self.tick();
        let held = self.held_mut(number);
        let metadata = held
            .metadata
            .as_mut()
            .expect("a deleted record has no title");
        // `<title>` or `<title attr=...>`, not `<titles>`.
        let start = metadata
            .match_indices("<title")
            .map(|(i, _)| i)
            .find(|&i| matches!(metadata.as_bytes().get(i + 6), Some(b'>' | b' ')))
            .expect("a title");
        let open_end = start + metadata[start..].find('>').expect("a title tag") + 1;
        let close = open_end
            + metadata[open_end..]
                .find("</title>")
                .expect("a closed title");
        metadata.replace_range(open_end..close, &escape(title));
        held.datestamp = stamp;
    }

    /// Deletes record `number`: it stays listed as a deleted header, its files answer 410.
    pub fn delete(&mut self, number: u64) {
        let stamp = self.tick();
        let held = self.held_mut(number);
        held.metadata = None;
        held.datestamp = stamp;
    }

    /// Removes record `number` entirely, as if it had never been (an unknown identifier).
    pub fn purge(&mut self, number: u64) {
        self.records.remove(&number);
    }

    /// Restricts record `number`'s files: they answer 403.
    pub fn restrict_files(&mut self, number: u64) {
        self.held_mut(number).files = Files::Restricted;
    }

    /// Makes every resumption token issued so far expired.
    pub fn expire_tokens(&mut self) {
        self.listings.clear();
    }
}

/// A shared, running [`ZenodoState`]: what the routes read and what tests change while serving.
#[derive(Clone, Debug)]
pub struct ZenodoHandle {
    state: Arc<Mutex<ZenodoState>>,
    faults: Faults,
}

impl ZenodoHandle {
    pub fn new(state: ZenodoState) -> Self {
        Self {
            state: Arc::new(Mutex::new(state)),
            faults: Faults::default(),
        }
    }

    /// Answers the next `times` requests whose path starts with `path_prefix` with `fault`.
    pub fn inject(&self, path_prefix: &str, fault: Fault, times: usize) {
        self.faults.inject(None, path_prefix, fault, times);
    }

    /// The running state, to change records or expire tokens.
    pub fn lock(&self) -> MutexGuard<'_, ZenodoState> {
        crate::lock(&self.state)
    }
}

pub(crate) fn router(zenodo: ZenodoHandle) -> Router {
    Router::new()
        .route("/oai2d", get(oai))
        .route("/api/records", get(search))
        .route("/api/records/{id}/files", get(files))
        .with_state(zenodo.clone())
        .layer(middleware::from_fn_with_state(zenodo.faults, faults::apply))
}

/// `2024-01-01T00:00:00Z` plus `seconds`.
fn datestamp(seconds: u64) -> String {
    let t = chrono::DateTime::from_timestamp(1_704_067_200 + seconds as i64, 0)
        .expect("a datestamp in range");
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The text between the first `open` and the `close` after it.
fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = text.find(open)? + open.len();
    let end = start + text[start..].find(close)?;
    Some(text[start..end].trim())
}

/// Every `<name>...</name>` element of `text` (not nested in itself).
fn elements<'a>(text: &'a str, name: &str) -> impl Iterator<Item = &'a str> {
    let (open, close) = (format!("<{name}>"), format!("</{name}>"));
    let mut rest = text;
    std::iter::from_fn(move || {
        let start = rest.find(&open)?;
        let end = start + rest[start..].find(&close)? + close.len();
        let found = &rest[start..end];
        rest = &rest[end..];
        Some(found)
    })
}

fn generated_metadata(number: u64, title: &str) -> String {
    let title = escape(title);
    format!(
        r#"<metadata><oai_datacite xmlns="http://schema.datacite.org/oai/oai-1.1/"><schemaVersion>4.3</schemaVersion><payload><resource xmlns="http://datacite.org/schema/kernel-4"><identifier identifierType="DOI">10.5281/zenodo.{number}</identifier><creators><creator><creatorName nameType="Personal">Doe, Jane</creatorName></creator></creators><titles><title>{title}</title></titles><publisher>Zenodo</publisher><publicationYear>2024</publicationYear><subjects><subject>generated; test</subject></subjects><dates><date dateType="Issued">2024-06-30</date></dates><resourceType resourceTypeGeneral="Dataset"/><rightsList><rights rightsURI="https://creativecommons.org/licenses/by/4.0/legalcode" rightsIdentifierScheme="spdx" rightsIdentifier="cc-by-4.0">Creative Commons Attribution 4.0 International</rights><rights rightsURI="info:eu-repo/semantics/openAccess">Open Access</rights></rightsList><descriptions><description descriptionType="Abstract">&lt;p&gt;Generated dataset number {number}.&lt;/p&gt;</description></descriptions></resource></payload></oai_datacite></metadata>"#
    )
}

fn file_entry(number: u64, key: &str, size: u64) -> serde_json::Value {
    let base = format!("https://zenodo.org/api/records/{number}/files/{key}");
    json!({
        "key": key,
        "storage_class": "L",
        "checksum": format!("md5:{:032x}", u128::from(number) * 0x9e37_79b9 + size as u128),
        "size": size,
        "created": "2024-06-30T12:00:00.000000+00:00",
        "updated": "2024-06-30T12:00:00.000000+00:00",
        "status": "completed",
        "metadata": null,
        "mimetype": "text/csv",
        "links": {"self": base, "content": format!("{base}/content")},
    })
}

fn generated_files(number: u64) -> String {
    let mut entries = vec![file_entry(number, "data.csv", 1000 + number % 5000)];
    if number.is_multiple_of(2) {
        entries.push(file_entry(number, "readme.csv", 200));
    }
    files_answer(number, entries)
}

fn empty_files(number: u64) -> String {
    files_answer(number, Vec::new())
}

fn files_answer(number: u64, entries: Vec<serde_json::Value>) -> String {
    let base = format!("https://zenodo.org/api/records/{number}/files");
    json!({
        "enabled": !entries.is_empty(),
        "links": {"self": base, "archive": format!("{base}-archive")},
        "entries": entries,
        "default_preview": null,
        "order": [],
    })
    .to_string()
}

fn envelope(request: &str, inner: &str) -> String {
    format!(
        "<?xml version='1.0' encoding='UTF-8'?>\n<OAI-PMH xmlns=\"http://www.openarchives.org/OAI/2.0/\" \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\
         <responseDate>2026-01-01T00:00:00Z</responseDate>{request}{inner}</OAI-PMH>"
    )
}

fn xml(status: u16, body: String) -> Response {
    let canned = Canned {
        status,
        content_type: XML.to_owned(),
        body,
        headers: Vec::new(),
    };
    canned.into_response()
}

fn oai_error(code: &str, message: &str) -> Response {
    let body = envelope(
        "<request>https://zenodo.org/oai2d</request>",
        &format!("<error code=\"{code}\">{}</error>", escape(message)),
    );
    xml(422, body)
}

fn record_xml(number: u64, held: &Held) -> String {
    let status = if held.metadata.is_none() {
        " status=\"deleted\""
    } else {
        ""
    };
    format!(
        "<record><header{status}><identifier>oai:zenodo.org:{number}</identifier>\
         <datestamp>{}</datestamp></header>{}</record>",
        held.datestamp,
        held.metadata.as_deref().unwrap_or("")
    )
}

/// A `from` or `until` argument: `YYYY-MM-DD` or `YYYY-MM-DDThh:mm:ssZ`, as a full datestamp
/// (`end` picks the day's last second for a date), and whether it was a whole day.
fn oai_date(value: &str, end: bool) -> Option<(String, bool)> {
    if chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d").is_ok() && value.len() == 10 {
        let time = if end { "23:59:59" } else { "00:00:00" };
        return Some((format!("{value}T{time}Z"), true));
    }
    let ok = value.len() == 20
        && chrono::NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%SZ").is_ok();
    ok.then(|| (value.to_owned(), false))
}

async fn oai(State(zenodo): State<ZenodoHandle>, RawQuery(query): RawQuery) -> Response {
    let pairs: Vec<(String, String)> =
        form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let mut args: BTreeMap<&str, &str> = BTreeMap::new();
    for (name, value) in &pairs {
        if args.insert(name, value).is_some() {
            return oai_error("badArgument", &format!("{name} is repeated"));
        }
    }
    let Some(verb) = args.remove("verb") else {
        return oai_error("badVerb", "no verb");
    };
    let allowed: &[&str] = match verb {
        "Identify" => &[],
        "GetRecord" => &["identifier", "metadataPrefix"],
        "ListRecords" if args.contains_key("resumptionToken") => &["resumptionToken"],
        "ListRecords" => &["metadataPrefix", "from", "until", "set"],
        other => {
            return oai_error(
                "badVerb",
                &format!("{other} is not a verb this stand-in serves"),
            );
        }
    };
    if let Some(extra) = args.keys().find(|k| !allowed.contains(k)) {
        return oai_error(
            "badArgument",
            &format!("{extra} is not an argument of {verb}"),
        );
    }
    if let Some(prefix) = args.get("metadataPrefix")
        && *prefix != "oai_datacite"
    {
        return oai_error(
            "cannotDisseminateFormat",
            &format!("{prefix} is not served"),
        );
    }
    let mut state = zenodo.lock();
    match verb {
        "Identify" => identify(&state),
        "GetRecord" => get_record(&state, &args),
        _ => list_records(&mut state, &args),
    }
}

fn identify(state: &ZenodoState) -> Response {
    let earliest = state.records.values().map(|h| h.datestamp.as_str()).min();
    let inner = format!(
        "<Identify><repositoryName>Zenodo (local stand-in)</repositoryName>\
         <baseURL>https://zenodo.org/oai2d</baseURL><protocolVersion>2.0</protocolVersion>\
         <earliestDatestamp>{}</earliestDatestamp><deletedRecord>persistent</deletedRecord>\
         <granularity>YYYY-MM-DDThh:mm:ssZ</granularity></Identify>",
        earliest.unwrap_or("2024-01-01T00:00:00Z")
    );
    let body = envelope(
        "<request verb=\"Identify\">https://zenodo.org/oai2d</request>",
        &inner,
    );
    xml(200, body)
}

fn get_record(state: &ZenodoState, args: &BTreeMap<&str, &str>) -> Response {
    let (Some(identifier), Some(_)) = (args.get("identifier"), args.get("metadataPrefix")) else {
        return oai_error(
            "badArgument",
            "GetRecord needs identifier and metadataPrefix",
        );
    };
    let found = identifier
        .strip_prefix("oai:zenodo.org:")
        .and_then(|n| n.parse::<u64>().ok())
        .and_then(|n| state.records.get(&n).map(|h| record_xml(n, h)));
    match found {
        None => oai_error("idDoesNotExist", &format!("{identifier} is unknown")),
        Some(record) => {
            let body = envelope(
                "<request verb=\"GetRecord\">https://zenodo.org/oai2d</request>",
                &format!("<GetRecord>{record}</GetRecord>"),
            );
            xml(200, body)
        }
    }
}

fn list_records(state: &mut ZenodoState, args: &BTreeMap<&str, &str>) -> Response {
    let now = Instant::now();
    state.listings.retain(|_, l| l.expires > now);
    let (id, offset) = match args.get("resumptionToken") {
        Some(token) => {
            let parsed = token
                .strip_prefix("rt.")
                .and_then(|t| t.split_once('.'))
                .and_then(|(id, offset)| Some((id.parse().ok()?, offset.parse().ok()?)));
            match parsed {
                Some((id, offset)) if state.listings.contains_key(&id) => (id, offset),
                _ => {
                    return oai_error(
                        "badResumptionToken",
                        "The value of the resumptionToken argument is invalid or expired.",
                    );
                }
            }
        }
        None => {
            if !args.contains_key("metadataPrefix") {
                return oai_error("badArgument", "ListRecords needs metadataPrefix");
            }
            let from = args.get("from").map(|v| (v, oai_date(v, false)));
            let until = args.get("until").map(|v| (v, oai_date(v, true)));
            for (value, parsed) in [&from, &until].into_iter().flatten() {
                if parsed.is_none() {
                    return oai_error("badArgument", &format!("{value} is not a date"));
                }
            }
            let from = from.and_then(|(_, p)| p);
            let until = until.and_then(|(_, p)| p);
            if let (Some((_, a)), Some((_, b))) = (&from, &until)
                && a != b
            {
                return oai_error("badArgument", "from and until differ in granularity");
            }
            let numbers: Vec<u64> = state
                .records
                .iter()
                // No set is defined here: a set matches nothing.
                .filter(|_| !args.contains_key("set"))
                .filter(|(_, h)| from.as_ref().is_none_or(|(f, _)| h.datestamp >= *f))
                .filter(|(_, h)| until.as_ref().is_none_or(|(u, _)| h.datestamp <= *u))
                .map(|(n, _)| *n)
                .collect();
            if numbers.is_empty() {
                return oai_error("noRecordsMatch", "No records match the request.");
            }
            let id = state.next_listing;
            state.next_listing += 1;
            let expires = now + TOKEN_LIFETIME;
            state.listings.insert(id, Listing { numbers, expires });
            (id, 0usize)
        }
    };
    let page_size = state.page_size;
    let listing = state.listings.get_mut(&id).expect("checked above");
    // As an Elasticsearch scroll: each page renews the listing's lifetime.
    listing.expires = now + TOKEN_LIFETIME;
    let total = listing.numbers.len();
    let page: Vec<u64> = listing
        .numbers
        .iter()
        .skip(offset)
        .take(page_size)
        .copied()
        .collect();
    let next = offset + page.len();
    let token = if next < total {
        format!(
            "<resumptionToken cursor=\"{offset}\" completeListSize=\"{total}\">rt.{id}.{next}</resumptionToken>"
        )
    } else {
        state.listings.remove(&id);
        format!("<resumptionToken cursor=\"{offset}\" completeListSize=\"{total}\"/>")
    };
    let records: String = page
        .iter()
        .filter_map(|n| state.records.get(n).map(|h| record_xml(*n, h)))
        .collect();
    let body = envelope(
        "<request verb=\"ListRecords\">https://zenodo.org/oai2d</request>",
        &format!("<ListRecords>{records}{token}</ListRecords>"),
    );
    xml(200, body)
}

/// InvenioRDM's JSON error body.
fn api_error(status: u16, message: &str) -> Response {
    Canned::json(
        status,
        json!({"status": status, "message": message}).to_string(),
    )
    .into_response()
}

async fn files(State(zenodo): State<ZenodoHandle>, Path(id): Path<String>) -> Response {
    let state = zenodo.lock();
    let held = id.parse::<u64>().ok().and_then(|n| state.records.get(&n));
    match held {
        None => api_error(404, "The persistent identifier does not exist."),
        Some(Held { metadata: None, .. }) => api_error(410, "The record has been deleted."),
        Some(Held {
            files: Files::Restricted,
            ..
        }) => api_error(
            403,
            "You don't have the permission to access the requested resource. It is either \
             read-protected or not readable by the server.",
        ),
        Some(Held {
            files: Files::Json(json),
            ..
        }) => Canned::json(200, json.clone()).into_response(),
    }
}

/// A search: only its total, for a client's reachability probe.
async fn search(State(zenodo): State<ZenodoHandle>) -> Response {
    let total = zenodo.lock().records.len();
    let body = json!({"hits": {"hits": [], "total": total}, "aggregations": {}, "links": {}});
    Canned::json(200, body.to_string()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_recorded_records_are_read_with_their_metadata_and_files() {
        let state = ZenodoState::recorded();
        assert_eq!(state.len(), 51);
        let held = &state.records[&7947283];
        assert!(
            held.metadata
                .as_deref()
                .unwrap()
                .contains("kogalab21/all-alpha_design")
        );
        assert!(matches!(&held.files, Files::Json(j) if j.contains("\"entries\"")));
    }

    #[test]
    fn dates_are_read_as_oai_pmh_allows_them() {
        assert_eq!(
            oai_date("2024-01-02", true),
            Some(("2024-01-02T23:59:59Z".into(), true))
        );
        assert_eq!(
            oai_date("2024-01-02T03:04:05Z", false),
            Some(("2024-01-02T03:04:05Z".into(), false))
        );
        for bad in [
            "2024-01-02T03:04:05",
            "2024-1-2",
            "2024-01-02T03:04Z",
            "yesterday",
        ] {
            assert_eq!(oai_date(bad, false), None, "{bad}");
        }
    }

    #[test]
    fn changes_get_datestamps_later_than_every_other() {
        let mut state = ZenodoState::recorded().with_generated(2);
        let latest = state
            .records
            .values()
            .map(|h| h.datestamp.clone())
            .max()
            .unwrap();
        state.retitle(7947283, "New & improved");
        state.retitle(GENERATED_FIRST + 1, "Also new");
        let held = &state.records[&7947283];
        assert!(held.datestamp > latest);
        assert!(
            held.metadata
                .as_deref()
                .unwrap()
                .contains("<title>New &amp; improved</title>")
        );
    }
}
