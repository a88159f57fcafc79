//! The OpenML stand-in over real HTTP on loopback, through a minimal HTTP/1.1 client.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use local_servers::{Canned, Fault, LocalOpenml, OPENML_GENERATED_FIRST_ID, OpenmlState};
use serde_json::{Value, json};
use support::{Response, assert_dropped, get};

const API: &str = "/api/v1/json";

fn recorded(name: &str) -> String {
    let path = format!("{}/data/openml/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path).unwrap()
}

fn recorded_json(name: &str) -> Value {
    serde_json::from_str(&recorded(name)).unwrap()
}

/// `GET {base}/api/v1/json/{path}`.
fn api(server: &LocalOpenml, path: &str) -> Response {
    get(&format!("{}{API}/{path}", server.base_url()))
}

/// The dataset ids of a list answer.
fn dids(response: &Response) -> Vec<u64> {
    assert_eq!(response.status, 200, "{}", response.body);
    let listing = response.json();
    let entries = listing["data"]["dataset"].as_array().unwrap();
    entries.iter().map(|e| e["did"].as_u64().unwrap()).collect()
}

/// The OpenML error `(HTTP status, code, message)` of an answer.
fn error(response: &Response) -> (u16, String, String) {
    let body = response.json();
    let code = body["error"]["code"].as_str().expect(&response.body);
    let message = body["error"]["message"].as_str().unwrap();
    (response.status, code.to_owned(), message.to_owned())
}

fn no_results() -> (u16, String, String) {
    (412, "372".into(), "No results".into())
}

/// Pages through the list `limit` at a time from offset 0, as the plugin does, until a short
/// page or "No results"; returns the pages' ids.
fn walk(server: &LocalOpenml, limit: usize) -> Vec<Vec<u64>> {
    let mut pages = Vec::new();
    for offset in (0..).step_by(limit) {
        let response = api(server, &format!("data/list/limit/{limit}/offset/{offset}"));
        if response.status == 412 {
            assert_eq!(error(&response), no_results());
            break;
        }
        let ids = dids(&response);
        let short = ids.len() < limit;
        pages.push(ids);
        if short {
            break;
        }
    }
    pages
}

#[test]
fn recorded_pages_are_the_recording() {
    let server = LocalOpenml::start(OpenmlState::recorded()).unwrap();
    for (path, file) in [
        (
            "data/list/limit/2/offset/0",
            "data-list-limit-2-offset-0.json",
        ),
        (
            "data/list/limit/2/offset/2",
            "data-list-limit-2-offset-2.json",
        ),
    ] {
        let response = api(&server, path);
        assert_eq!(response.status, 200);
        assert_eq!(response.header("content-type"), Some("application/json"));
        assert_eq!(response.json(), recorded_json(file), "{path}");
    }
}

#[test]
fn limit_and_offset_page_and_the_end_is_no_results() {
    let server = LocalOpenml::start(OpenmlState::recorded()).unwrap();
    assert_eq!(walk(&server, 2), [vec![2, 3], vec![4]]);
    // An exactly full last page: the next one answers 412 "No results".
    assert_eq!(walk(&server, 3), [vec![2, 3, 4]]);
    let past = api(&server, "data/list/limit/3/offset/3");
    assert_eq!(error(&past), no_results());
    assert_eq!(
        past.body,
        recorded("data-list-limit-2-offset-0-412-no-results.json")
    );
    assert_eq!(dids(&api(&server, "data/list/limit/1/offset/1")), [3]);
    // No paging at all lists everything; offset 0 is a real offset.
    assert_eq!(dids(&api(&server, "data/list")), [2, 3, 4]);
    assert_eq!(dids(&api(&server, "data/list/limit/5/offset/0")), [2, 3, 4]);
}

#[test]
fn generated_datasets_follow_the_recorded_ones() {
    let server = LocalOpenml::start(OpenmlState::recorded().with_generated(8)).unwrap();
    let first = OPENML_GENERATED_FIRST_ID;
    let pages = walk(&server, 4);
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [4, 4, 3]);
    let all: Vec<u64> = pages.concat();
    let mut expected = vec![2, 3, 4];
    expected.extend(first..first + 8);
    assert_eq!(all, expected);

    let description = api(&server, &format!("data/{}", first + 3)).json();
    let description = &description["data_set_description"];
    assert_eq!(description["id"], (first + 3).to_string());
    assert_eq!(description["name"], "generated-000003");
    // Every third generated dataset has one tag, which OpenML sends as a plain string.
    assert_eq!(description["tag"], "generated");
    let qualities = api(&server, &format!("data/qualities/{}", first + 3)).json();
    assert!(
        qualities["data_qualities"]["quality"]
            .as_array()
            .unwrap()
            .contains(&json!({"name": "NumberOfInstances", "value": "4.0"}))
    );
}

#[test]
fn descriptions_and_qualities_are_the_recordings() {
    let server = LocalOpenml::start(OpenmlState::recorded()).unwrap();
    for id in [2, 3, 4] {
        let response = api(&server, &format!("data/{id}"));
        assert_eq!(response.status, 200);
        assert_eq!(response.body, recorded(&format!("data-{id}.json")));
        let response = api(&server, &format!("data/qualities/{id}"));
        assert_eq!(response.status, 200);
        assert_eq!(
            response.body,
            recorded(&format!("data-qualities-{id}.json"))
        );
    }
}

#[test]
fn unknown_ids_are_unknown_datasets() {
    let server = LocalOpenml::start(OpenmlState::recorded().with_generated(1)).unwrap();
    for id in ["1", "5", "1000000", "100001", "abc", "-2"] {
        let response = api(&server, &format!("data/{id}"));
        let unknown = (412, "111".to_owned(), "Unknown dataset".to_owned());
        assert_eq!(error(&response), unknown, "{id}");
        let response = api(&server, &format!("data/qualities/{id}"));
        let unknown = (412, "361".to_owned(), "Unknown dataset".to_owned());
        assert_eq!(error(&response), unknown, "{id}");
    }
    assert_eq!(
        api(&server, "data/1000000").body,
        recorded("data-1000000-412-unknown-dataset.json")
    );
    // Paths outside the API are not found at all.
    assert_eq!(get(&format!("{}/nowhere", server.base_url())).status, 404);
}

#[test]
fn list_filters() {
    let server = LocalOpenml::start(OpenmlState::recorded().with_generated(3)).unwrap();
    let first = OPENML_GENERATED_FIRST_ID;
    assert_eq!(dids(&api(&server, "data/list/data_id/3")), [3]);
    let both = format!("data/list/data_id/4,{first}/limit/10/offset/0");
    assert_eq!(dids(&api(&server, &both)), [4, first]);
    assert_eq!(error(&api(&server, "data/list/data_id/5")), no_results());
    assert_eq!(dids(&api(&server, "data/list/data_name/labor")), [4]);
    assert_eq!(dids(&api(&server, "data/list/tag/uci/limit/2")), [2, 3]);
    assert_eq!(
        dids(&api(&server, "data/list/tag/generated/data_version/1")),
        [first, first + 1, first + 2]
    );
    assert_eq!(
        dids(&api(&server, "data/list/status/active/")),
        [2, 3, 4, first, first + 1, first + 2]
    );

    let cases = [
        ("data/list/offset/2", 412, "373"),
        ("data/list/limit", 412, "370"),
        ("data/list/sort/name", 412, "370"),
        ("data/list/limit/x", 412, "371"),
        ("data/list/status/gone", 412, "371"),
        ("data/list/uploader/1", 501, "370"),
    ];
    for (path, status, code) in cases {
        let (s, c, _) = error(&api(&server, path));
        assert_eq!((s, c.as_str()), (status, code), "{path}");
    }
}

#[test]
fn changed_removed_and_deactivated_datasets() {
    let server = LocalOpenml::start(OpenmlState::recorded().with_generated(2)).unwrap();
    let first = OPENML_GENERATED_FIRST_ID;
    let openml = server.openml();

    openml.remove_dataset(3);
    openml.set_status(first, "deactivated");
    assert_eq!(dids(&api(&server, "data/list")), [2, 4, first + 1]);
    assert_eq!(error(&api(&server, "data/3")).1, "111");
    assert_eq!(error(&api(&server, "data/qualities/3")).1, "361");
    // Deactivated datasets are only listed on request, and still described.
    assert_eq!(dids(&api(&server, "data/list/status/deactivated")), [first]);
    assert_eq!(
        dids(&api(&server, "data/list/status/all")),
        [2, 4, first, first + 1]
    );
    let description = api(&server, &format!("data/{first}")).json();
    assert_eq!(description["data_set_description"]["status"], "deactivated");

    openml.set_field(2, "tag", json!("only-one"));
    openml.set_field(2, "licence", Value::Null);
    let description = api(&server, "data/2").json();
    let description = &description["data_set_description"];
    assert_eq!(description["tag"], "only-one");
    assert!(description.get("licence").is_none());
    assert_eq!(description["name"], "anneal");
    assert_eq!(dids(&api(&server, "data/list/tag/only-one")), [2]);
}

#[test]
fn qualities_overrides_and_faults() {
    let server = LocalOpenml::start(OpenmlState::recorded()).unwrap();
    let openml = server.openml();
    let processed_with_error = r#"{"error":{"code":"364","message":"Dataset processed with error","additional_information":"Read timed out"}}"#;
    openml.set_qualities(
        2,
        Canned {
            status: 412,
            content_type: "application/json".into(),
            body: processed_with_error.into(),
            headers: Vec::new(),
        },
    );
    let response = api(&server, "data/qualities/2");
    assert_eq!(
        (response.status, response.body.as_str()),
        (412, processed_with_error)
    );
    openml.clear_qualities(2);
    assert_eq!(api(&server, "data/qualities/2").status, 200);

    openml.inject("/api/v1/json/data/list", Fault::status(503), 1);
    assert_eq!(api(&server, "data/list/limit/2/offset/0").status, 503);
    assert_eq!(api(&server, "data/list/limit/2/offset/0").status, 200);
    openml.inject("/api/v1/json/data/4", Fault::Drop, 1);
    assert_dropped(&format!("{}{API}/data/4", server.base_url()));
    let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths.len(), 5);
    assert_eq!(
        server
            .requests_to("/api/v1/json/data/list/limit/2/offset/0")
            .len(),
        2
    );
}

#[test]
fn binary_prints_openml_and_zenodo_and_serves_them_beside_hugging_face() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_local-servers"))
        .args([
            "--addr",
            "127.0.0.1:0",
            "--aiod-addr",
            "127.0.0.1:0",
            "--openml-generated",
            "2",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let lines: Vec<String> = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .take(5)
        .collect::<Result<_, _>>()
        .unwrap();
    let names: Vec<&str> = lines
        .iter()
        .map(|l| l.split_once(": ").expect(l).0)
        .collect();
    assert_eq!(
        names,
        ["huggingface", "aiod", "keycloak", "openml", "zenodo"]
    );
    let base = lines[3].strip_prefix("openml: ").unwrap();
    assert_eq!(base, lines[0].strip_prefix("huggingface: ").unwrap());

    let listing = get(&format!("{base}{API}/data/list/limit/500/offset/0"));
    let first = OPENML_GENERATED_FIRST_ID;
    assert_eq!(dids(&listing), [2, 3, 4, first, first + 1]);
    assert_eq!(get(&format!("{base}{API}/data/4")).status, 200);
    // Hugging Face is still there, and so is Zenodo.
    assert_eq!(get(&format!("{base}/api/datasets")).status, 200);
    assert_eq!(lines[4].strip_prefix("zenodo: ").unwrap(), base);
    let identify = get(&format!("{base}/oai2d?verb=Identify"));
    assert_eq!(identify.status, 200, "{}", identify.body);
    assert_eq!(get(&format!("{base}/nowhere")).status, 404);

    let terminated = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert!(terminated.unwrap().success());
    assert!(child.wait().unwrap().success());
}
