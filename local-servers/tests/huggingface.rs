//! The Hugging Face stand-in over real HTTP on loopback, through a minimal HTTP/1.1 client.

mod support;

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use local_servers::{Canned, HfState, LocalServer, generated_id};
use serde_json::Value;
use support::{Response, get, request};

/// The URL of a `Link: <URL>; rel="next"` header.
fn next_link(response: &Response) -> Option<String> {
    let link = response.header("link")?;
    let (url, rel) = link.strip_prefix('<')?.split_once('>')?;
    assert_eq!(rel, "; rel=\"next\"");
    Some(url.to_owned())
}

/// `GET url`, sending `host` as the `Host` header instead of the URL's authority.
fn get_with_host(url: &str, host: &str) -> Response {
    request("GET", url, &[("Host", host)], None)
}

/// Follows `next` links from `url`; returns the pages.
fn walk(url: &str) -> Vec<Vec<Value>> {
    let mut pages = Vec::new();
    let mut next = Some(url.to_owned());
    while let Some(url) = next {
        let response = get(&url);
        assert_eq!(response.status, 200, "{url}: {}", response.body);
        assert_eq!(response.header("content-type"), Some("application/json"));
        pages.push(response.json().as_array().unwrap().clone());
        next = next_link(&response);
    }
    pages
}

fn ids(pages: &[Vec<Value>]) -> Vec<String> {
    pages
        .iter()
        .flatten()
        .map(|d| d["id"].as_str().unwrap().to_owned())
        .collect()
}

fn recorded_list() -> Vec<Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/huggingface/data_list.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn pagination_walks_every_dataset_exactly_once() {
    let server = LocalServer::start(HfState::generated(203).with_page_size(10)).unwrap();
    let pages = walk(&format!("{}/api/datasets?full=True", server.base_url()));

    assert_eq!(pages.len(), 21);
    assert!(pages[..20].iter().all(|p| p.len() == 10));
    assert_eq!(pages[20].len(), 3);
    assert_eq!(ids(&pages), (0..203).map(generated_id).collect::<Vec<_>>());
    // Every next link keeps the client's parameters.
    let listings = server.requests_to("/api/datasets");
    assert_eq!(listings.len(), 21);
    assert!(
        listings
            .iter()
            .all(|r| r.query_param("full").as_deref() == Some("True"))
    );
}

#[test]
fn limit_sets_the_page_size() {
    let server = LocalServer::start(HfState::recorded().with_generated(20)).unwrap();
    let pages = walk(&format!("{}/api/datasets?limit=7", server.base_url()));
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [7, 7, 7, 5]);
    assert_eq!(ids(&pages).into_iter().collect::<HashSet<_>>().len(), 26);
}

#[test]
fn recorded_listing_is_the_recording() {
    let server = LocalServer::start(HfState::recorded()).unwrap();
    let response = get(&format!("{}/api/datasets?full=True", server.base_url()));
    assert_eq!(response.status, 200);
    assert_eq!(next_link(&response), None);
    assert_eq!(response.json(), Value::Array(recorded_list()));
}

#[test]
fn sort_by_last_modified_is_descending_and_complete() {
    let server =
        LocalServer::start(HfState::recorded().with_generated(30).with_page_size(7)).unwrap();
    let url = format!(
        "{}/api/datasets?full=true&sort=lastModified",
        server.base_url()
    );
    let pages = walk(&url);
    let datasets: Vec<&Value> = pages.iter().flatten().collect();
    let times: Vec<&str> = datasets
        .iter()
        .map(|d| d["lastModified"].as_str().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
    assert_eq!(ids(&pages).into_iter().collect::<HashSet<_>>().len(), 36);
    // The recorded datasets are older than the generated ones, newest of them first.
    let recorded: Vec<&str> = datasets[30..]
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    let expected = [
        "rotten_tomatoes",
        "acronym_identification",
        "air_dialogue",
        "04-07-22/wep-probes",
        "bobbydylan/top2k",
        "0n1xus/codexglue",
    ];
    assert_eq!(recorded, expected);
}

#[test]
fn direction_and_unknown_sorts_are_rejected() {
    let server = LocalServer::start(HfState::recorded()).unwrap();
    let base = server.base_url();
    let response = get(&format!(
        "{base}/api/datasets?full=True&sort=lastModified&direction=-1"
    ));
    assert_eq!(response.status, 400);
    assert_eq!(
        response.json()["error"],
        "direction is not supported: sorting is always descending"
    );
    let response = get(&format!("{base}/api/datasets?sort=last_modified"));
    assert_eq!(response.status, 400);
    assert_eq!(response.json()["error"], "Invalid sort parameter");
}

#[test]
fn link_uses_the_host_header() {
    let server = LocalServer::start(HfState::generated(3).with_page_size(2)).unwrap();
    let url = format!("{}/api/datasets?full=True&cursor=0", server.base_url());
    let response = get_with_host(&url, "hub.example:1234");
    assert_eq!(
        next_link(&response).as_deref(),
        Some("http://hub.example:1234/api/datasets?full=True&cursor=2")
    );
}

#[test]
fn single_dataset_lookup() {
    let server = LocalServer::start(HfState::recorded().with_generated(5)).unwrap();
    let base = server.base_url();

    let response = get(&format!("{base}/api/datasets/0n1xus/codexglue"));
    assert_eq!(response.status, 200);
    assert_eq!(response.json(), recorded_list()[2]);

    let response = get(&format!("{base}/api/datasets/acronym_identification"));
    assert_eq!(response.json()["_id"], "621ffdd236468d709f181d58");

    let generated = get(&format!("{base}/api/datasets/gen-org/dataset-000004")).json();
    let listed = get(&format!("{base}/api/datasets")).json();
    assert_eq!(generated, listed[10]);

    for missing in ["gen-org/dataset-000005", "nobody/nothing", "a/b/c"] {
        let response = get(&format!("{base}/api/datasets/{missing}"));
        assert_eq!(response.status, 404, "{missing}");
        assert_eq!(response.json()["error"], "Repository not found");
    }
}

#[test]
fn parquet_defaults() {
    let server = LocalServer::start(HfState::recorded().with_generated(3)).unwrap();
    let parquet = |query: &str| get(&format!("{}/parquet{query}", server.base_url()));

    let response = parquet("?dataset=acronym_identification");
    assert_eq!(response.status, 200);
    assert_eq!(response.header("x-error-code"), None);
    let files = response.json()["parquet_files"].as_array().unwrap().clone();
    assert_eq!(files.len(), 3);
    assert!(
        files
            .iter()
            .all(|f| f["dataset"] == "acronym_identification")
    );

    let response = parquet("?dataset=0n1xus%2Fcodexglue");
    assert_eq!(response.status, 200);
    assert_eq!(
        response.json()["parquet_files"][0]["dataset"],
        "0n1xus/codexglue"
    );

    let response = parquet("?dataset=04-07-22/wep-probes");
    assert_eq!(response.status, 404);
    assert_eq!(response.header("x-error-code"), Some("ResponseNotFound"));
    assert_eq!(response.json()["error"], "Not found.");

    let response = parquet("?dataset=gen-org/dataset-000002");
    assert_eq!(response.status, 200);
    let file = &response.json()["parquet_files"][0];
    assert_eq!(file["size"], 2001);
    assert_eq!(
        file["url"],
        "https://huggingface.co/datasets/gen-org/dataset-000002/resolve/refs%2Fconvert%2Fparquet/default/train/0000.parquet"
    );

    let response = parquet("?dataset=nobody/nothing");
    assert_eq!(response.status, 404);
    assert_eq!(response.header("x-error-code"), Some("ResponseNotFound"));
    assert!(
        response.json()["error"]
            .as_str()
            .unwrap()
            .starts_with("The dataset does not exist")
    );

    for query in ["", "?dataset="] {
        let response = parquet(query);
        assert_eq!(response.status, 422, "{query:?}");
        assert_eq!(
            response.header("x-error-code"),
            Some("MissingRequiredParameter")
        );
        assert_eq!(response.json()["error"], "Parameter 'dataset' is required");
    }
}

#[test]
fn parquet_of_recorded_dataset_needs_it_listed() {
    let server = LocalServer::start(HfState::generated(1)).unwrap();
    let response = get(&format!(
        "{}/parquet?dataset=acronym_identification",
        server.base_url()
    ));
    assert_eq!(response.status, 404);
}

#[test]
fn parquet_fault_injection() {
    let server = LocalServer::start(HfState::recorded()).unwrap();
    let url = format!(
        "{}/parquet?dataset=acronym_identification",
        server.base_url()
    );

    server.hf().set_parquet(
        "acronym_identification",
        Canned::from_example("parquet-500-internal-server-error.txt"),
    );
    let response = get(&url);
    assert_eq!(response.status, 500);
    assert!(
        response
            .header("content-type")
            .unwrap()
            .starts_with("text/plain")
    );
    assert_eq!(response.header("x-error-code"), None);
    assert_eq!(response.body.trim_end(), "Internal Server Error.");

    server.hf().set_parquet(
        "acronym_identification",
        Canned::from_example("parquet-500-response-not-ready.json"),
    );
    let response = get(&url);
    assert_eq!(response.status, 500);
    assert_eq!(response.header("x-error-code"), Some("UnexpectedError"));
    assert!(
        response.json()["error"]
            .as_str()
            .unwrap()
            .contains("not ready")
    );

    let body = r#"{"error": "Rate limited"}"#;
    let canned = Canned {
        status: 429,
        content_type: "application/json".into(),
        body: body.into(),
    };
    server.hf().set_parquet("acronym_identification", canned);
    let response = get(&url);
    assert_eq!((response.status, response.body.as_str()), (429, body));

    server.hf().clear_parquet("acronym_identification");
    assert_eq!(
        get(&url).json()["parquet_files"].as_array().unwrap().len(),
        3
    );
}

#[test]
fn requests_are_logged_in_order() {
    let server = LocalServer::start(HfState::recorded()).unwrap();
    let base = server.base_url();
    get(&format!("{base}/api/datasets?full=True&sort=lastModified"));
    get(&format!("{base}/parquet?dataset=0n1xus%2Fcodexglue"));
    get(&format!("{base}/nowhere"));

    let requests = server.requests();
    let seen: Vec<(&str, &str, Option<&str>)> = requests
        .iter()
        .map(|r| (r.method.as_str(), r.path.as_str(), r.query.as_deref()))
        .collect();
    assert_eq!(
        seen,
        [
            ("GET", "/api/datasets", Some("full=True&sort=lastModified")),
            ("GET", "/parquet", Some("dataset=0n1xus%2Fcodexglue")),
            ("GET", "/nowhere", None),
        ]
    );
    let parquet = server.requests_to("/parquet");
    assert_eq!(parquet, requests[1..2]);
    assert_eq!(
        parquet[0].query_param("dataset").as_deref(),
        Some("0n1xus/codexglue")
    );
    assert_eq!(parquet[0].header("User-Agent"), Some("local-servers-test"));
    assert!(
        parquet[0]
            .headers
            .contains(&("user-agent".into(), "local-servers-test".into()))
    );
    assert_eq!(
        parquet[0].header("host"),
        Some(base.strip_prefix("http://").unwrap())
    );
}

#[test]
fn binary_serves_until_terminated() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_local-servers"))
        .args([
            "--addr",
            "127.0.0.1:0",
            "--aiod-addr",
            "127.0.0.1:0",
            "--no-recorded",
            "--generated",
            "5",
            "--page-size",
            "2",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim_end()
        .strip_prefix("huggingface: ")
        .expect(&line)
        .to_owned();

    let pages = walk(&format!("{base}/api/datasets"));
    assert_eq!(ids(&pages), (0..5).map(generated_id).collect::<Vec<_>>());

    let terminated = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert!(terminated.unwrap().success());
    assert!(child.wait().unwrap().success());
}
