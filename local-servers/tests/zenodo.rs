//! The Zenodo stand-in over real HTTP on loopback: OAI-PMH as the protocol and
//! invenio-oaiserver answer it, and the REST API's files and errors.

mod support;

use local_servers::{Fault, LocalZenodo, ZENODO_GENERATED_FIRST, ZenodoState};
use support::{Response, assert_dropped, get};

fn oai(server: &LocalZenodo, query: &str) -> Response {
    get(&format!("{}/oai2d?{query}", server.base_url()))
}

/// The OAI-PMH error code of an answer (which must be HTTP 422, as Zenodo sends them).
fn error_code(response: &Response) -> String {
    assert_eq!(response.status, 422, "{}", response.body);
    let start = response.body.find("<error code=\"").expect(&response.body) + 13;
    let end = start + response.body[start..].find('"').unwrap();
    response.body[start..end].to_owned()
}

fn token(response: &Response) -> Option<String> {
    let start = response.body.find("<resumptionToken")?;
    let open = start + response.body[start..].find('>')?;
    if response.body.as_bytes()[open - 1] == b'/' {
        return None;
    }
    let end = open + response.body[open..].find("</resumptionToken>")?;
    Some(response.body[open + 1..end].to_owned())
}

fn identifiers(response: &Response) -> Vec<String> {
    assert_eq!(response.status, 200, "{}", response.body);
    response
        .body
        .match_indices("<identifier>oai:zenodo.org:")
        .map(|(i, m)| {
            let rest = &response.body[i + m.len()..];
            rest[..rest.find('<').unwrap()].to_owned()
        })
        .collect()
}

const LIST: &str = "verb=ListRecords&metadataPrefix=oai_datacite";

#[test]
fn a_listing_pages_by_resumption_token_through_every_record() {
    let server = LocalZenodo::start(ZenodoState::recorded().with_page_size(20)).unwrap();
    let mut page = oai(&server, LIST);
    let mut seen = identifiers(&page);
    assert!(page.body.contains("completeListSize=\"51\""));
    while let Some(t) = token(&page) {
        page = oai(&server, &format!("verb=ListRecords&resumptionToken={t}"));
        seen.extend(identifiers(&page));
    }
    assert_eq!(seen.len(), 51);
    assert!(seen.contains(&"7947283".to_owned()));
}

#[test]
fn a_token_expires_and_must_come_alone() {
    let server = LocalZenodo::start(ZenodoState::recorded().with_page_size(20)).unwrap();
    let t = token(&oai(&server, LIST)).unwrap();
    let mixed = oai(&server, &format!("{LIST}&resumptionToken={t}"));
    assert_eq!(error_code(&mixed), "badArgument");
    server.zenodo().lock().expire_tokens();
    let expired = oai(&server, &format!("verb=ListRecords&resumptionToken={t}"));
    assert_eq!(error_code(&expired), "badResumptionToken");
    assert_eq!(
        error_code(&oai(&server, "verb=ListRecords&resumptionToken=made-up")),
        "badResumptionToken"
    );
}

#[test]
fn arguments_are_checked_as_oai_pmh_says() {
    let server = LocalZenodo::start(ZenodoState::recorded()).unwrap();
    for (query, code) in [
        ("verb=ListRecords", "badArgument"),
        (
            "verb=ListRecords&metadataPrefix=marc21",
            "cannotDisseminateFormat",
        ),
        (&format!("{LIST}&from=2023-05-23T08:00:00"), "badArgument"),
        (
            &format!("{LIST}&from=2023-05-23&until=2023-05-24T00:00:00Z"),
            "badArgument",
        ),
        (
            &format!("{LIST}&from=2023-05-23&from=2023-05-24"),
            "badArgument",
        ),
        (&format!("{LIST}&sort=new"), "badArgument"),
        ("verb=Fly", "badVerb"),
        ("", "badVerb"),
        (&format!("{LIST}&from=2030-01-01"), "noRecordsMatch"),
        (&format!("{LIST}&set=user-none"), "noRecordsMatch"),
        (
            "verb=GetRecord&metadataPrefix=oai_datacite&identifier=oai:zenodo.org:1",
            "idDoesNotExist",
        ),
    ] {
        assert_eq!(error_code(&oai(&server, query)), code, "{query}");
    }
    assert_eq!(oai(&server, "verb=Identify").status, 200);
}

#[test]
fn from_and_until_select_by_datestamp() {
    let server = LocalZenodo::start(ZenodoState::recorded().with_page_size(100)).unwrap();
    let all = identifiers(&oai(&server, LIST)).len();
    let late = identifiers(&oai(&server, &format!("{LIST}&from=2023-05-23T08:40:00Z"))).len();
    let early = identifiers(&oai(&server, &format!("{LIST}&until=2023-05-23T08:39:59Z"))).len();
    assert!(late > 0 && early > 0, "{late} {early}");
    assert_eq!(late + early, all);
}

#[test]
fn deleted_records_stay_listed_as_headers_and_their_files_are_gone() {
    let server = LocalZenodo::start(ZenodoState::empty().with_generated(3)).unwrap();
    let (deleted, restricted) = (ZENODO_GENERATED_FIRST, ZENODO_GENERATED_FIRST + 1);
    server.zenodo().lock().delete(deleted);
    server.zenodo().lock().restrict_files(restricted);
    let page = oai(&server, LIST);
    assert!(page.body.contains(&format!(
        "<header status=\"deleted\"><identifier>oai:zenodo.org:{deleted}</identifier>"
    )));
    let get_record = oai(
        &server,
        &format!("verb=GetRecord&metadataPrefix=oai_datacite&identifier=oai:zenodo.org:{deleted}"),
    );
    assert!(
        get_record.body.contains("status=\"deleted\""),
        "{}",
        get_record.body
    );
    let files = |n: u64| get(&format!("{}/api/records/{n}/files", server.base_url()));
    assert_eq!(files(deleted).status, 410);
    assert_eq!(files(restricted).status, 403);
    assert_eq!(files(1).status, 404);
    let ok = files(ZENODO_GENERATED_FIRST + 2);
    assert_eq!(ok.status, 200);
    assert!(!ok.json()["entries"].as_array().unwrap().is_empty());
}

#[test]
fn injected_faults_replace_the_answer() {
    let server = LocalZenodo::start(ZenodoState::recorded()).unwrap();
    server.zenodo().inject("/oai2d", Fault::Drop, 1);
    assert_dropped(&format!("{}/oai2d?{LIST}", server.base_url()));
    server
        .zenodo()
        .inject("/api/records/", Fault::status(429), 1);
    let files = format!("{}/api/records/7947283/files", server.base_url());
    assert_eq!(get(&files).status, 429);
    assert_eq!(get(&files).status, 200);
}
