//! The Hugging Face stand-in over real HTTP on loopback, through a minimal HTTP/1.1 client.

mod support;

use std::collections::HashSet;
use std::io::{self, BufRead, BufReader};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use local_servers::{Canned, Fault, HfState, LocalServer, generated_id};
use serde_json::{Value, json};
use support::{Response, assert_dropped, exchange, get, request};

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
fn status_faults_answer_matching_requests_then_stop() {
    let server = LocalServer::start(HfState::recorded()).unwrap();
    let base = server.base_url();
    let lookup = format!("{base}/api/datasets/rotten_tomatoes");
    server.hf().inject("/api/datasets/", Fault::status(503), 2);
    for _ in 0..2 {
        let response = get(&lookup);
        assert_eq!(response.status, 503);
        assert_eq!(response.header("content-type"), Some("application/json"));
        assert_eq!(response.json(), json!({"error": "Service Unavailable"}));
    }
    // The listing's path does not start with the prefix.
    assert_eq!(get(&format!("{base}/api/datasets")).status, 200);
    assert_eq!(get(&lookup).status, 200);

    server.hf().inject("/api/", Fault::retry_after(7), 1);
    server.hf().inject("/api/", Fault::rate_limited(30), 1);
    let response = get(&lookup);
    assert_eq!(response.status, 429);
    assert_eq!(response.header("retry-after"), Some("7"));
    let response = get(&lookup);
    assert_eq!(response.status, 429);
    assert_eq!(response.header("ratelimit"), Some("\"api\";r=0;t=30"));
    assert_eq!(
        response.header("ratelimit-policy"),
        Some("\"fixed window\";\"api\";q=500;w=300")
    );
    assert!(response.json()["error"].as_str().unwrap().contains("quota"));

    let parquet = format!("{base}/parquet?dataset=rotten_tomatoes");
    server.hf().inject("/parquet", Fault::text_500(), 1);
    let response = get(&parquet);
    assert_eq!(response.status, 500);
    assert!(
        response
            .header("content-type")
            .unwrap()
            .starts_with("text/plain")
    );
    assert_eq!(response.body.trim_end(), "Internal Server Error.");
    assert_eq!(get(&parquet).status, 200);

    // Faulted requests are logged like the others.
    assert_eq!(server.requests().len(), 8);
    assert_eq!(server.requests_to("/parquet").len(), 2);
}

#[test]
fn delay_fault_outlasts_a_client_timeout() {
    let server = LocalServer::start(HfState::generated(3)).unwrap();
    let url = format!("{}/api/datasets/gen-org/dataset-000001", server.base_url());
    let delay = Duration::from_millis(300);
    server.hf().inject("/api/datasets", Fault::Delay(delay), 2);

    let timed_out = exchange("GET", &url, &[], None, Some(Duration::from_millis(50)));
    let kind = timed_out.unwrap_err().kind();
    assert!(
        matches!(kind, io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut),
        "{kind:?}"
    );
    let started = Instant::now();
    let response = get(&url);
    assert!(started.elapsed() >= delay);
    assert_eq!(response.status, 200);
    assert_eq!(response.json()["id"], "gen-org/dataset-000001");
    let started = Instant::now();
    get(&url);
    assert!(started.elapsed() < delay);
}

#[test]
fn drop_fault_closes_the_connection_without_an_answer() {
    let server = LocalServer::start(HfState::recorded()).unwrap();
    let url = format!("{}/parquet?dataset=rotten_tomatoes", server.base_url());
    server.hf().inject("/parquet", Fault::Drop, 2);
    assert_dropped(&url);
    assert_dropped(&url);
    assert_eq!(get(&url).status, 200);
    assert_eq!(server.requests_to("/parquet").len(), 3);
}

/// The `r` and `t` of a `RateLimit` header.
fn rate_limit(response: &Response) -> (u32, u64) {
    let header = response.header("ratelimit").expect("a RateLimit header");
    let fields = header.strip_prefix("\"api\";r=").expect(header);
    let (remaining, reset) = fields.split_once(";t=").expect(header);
    (remaining.parse().unwrap(), reset.parse().unwrap())
}

#[test]
fn budget_limits_every_route_in_fixed_windows() {
    let window = Duration::from_secs(2);
    let server = LocalServer::start(HfState::recorded().with_budget(3, window)).unwrap();
    let base = server.base_url();
    let policy = Some("\"fixed window\";\"api\";q=3;w=2");

    // An injected fault replaces the service, budget included.
    server.hf().inject("/nowhere", Fault::status(500), 1);
    let response = get(&format!("{base}/nowhere"));
    assert_eq!((response.status, response.header("ratelimit")), (500, None));

    let urls = [
        format!("{base}/api/datasets"),
        format!("{base}/parquet?dataset=rotten_tomatoes"),
        format!("{base}/nowhere"),
    ];
    for (url, remaining) in urls.iter().zip([2, 1, 0]) {
        let response = get(url);
        assert_ne!(response.status, 429, "{url}");
        assert_eq!(response.header("ratelimit-policy"), policy);
        let (r, t) = rate_limit(&response);
        assert_eq!(r, remaining, "{url}");
        assert!((1..=2).contains(&t), "{t}");
    }
    let over = get(&urls[0]);
    assert_eq!(over.status, 429);
    assert_eq!(rate_limit(&over).0, 0);
    assert_eq!(over.header("ratelimit-policy"), policy);
    assert_eq!(
        over.json()["error"],
        "You have exceeded our hourly quotas for action 'api'. We invite you to retry later."
    );
    assert_eq!(get(&urls[1]).status, 429);

    thread::sleep(window + Duration::from_millis(100));
    let response = get(&urls[0]);
    assert_eq!(response.status, 200);
    assert_eq!(rate_limit(&response), (2, 2));
}

/// Every id of the listing, walked in pages of 4.
fn listed_ids(server: &LocalServer, query: &str) -> Vec<String> {
    ids(&walk(&format!(
        "{}/api/datasets?limit=4{query}",
        server.base_url()
    )))
}

#[test]
fn removed_datasets_are_gone_everywhere() {
    let server = LocalServer::start(HfState::recorded().with_generated(5)).unwrap();
    let base = server.base_url();
    server.hf().remove_dataset("rotten_tomatoes");
    server.hf().remove_dataset(&generated_id(2));

    let mut expected = vec![
        "acronym_identification",
        "0n1xus/codexglue",
        "04-07-22/wep-probes",
        "air_dialogue",
        "bobbydylan/top2k",
    ];
    let generated: Vec<String> = [0, 1, 3, 4].map(generated_id).into();
    expected.extend(generated.iter().map(String::as_str));
    assert_eq!(listed_ids(&server, ""), expected);
    let by_date = listed_ids(&server, "&sort=lastModified");
    assert_eq!(by_date.len(), 9);
    for id in ["rotten_tomatoes", &generated_id(2)] {
        assert!(!by_date.iter().any(|d| d == id), "{id}");
        let response = get(&format!("{base}/api/datasets/{id}"));
        assert_eq!(response.status, 404, "{id}");
        let response = get(&format!("{base}/parquet?dataset={id}"));
        assert_eq!(response.status, 404, "{id}");
    }
}

#[test]
fn touched_dataset_looks_changed_and_sorts_first() {
    let server = LocalServer::start(HfState::recorded().with_generated(5)).unwrap();
    let base = server.base_url();
    let lookup = |id: &str| get(&format!("{base}/api/datasets/{id}")).json();
    let before = lookup(&generated_id(3));
    let stored = listed_ids(&server, "");

    server.hf().touch(&generated_id(3));
    let after = lookup(&generated_id(3));
    assert_ne!(after["sha"], before["sha"]);
    assert_eq!(after["sha"].as_str().unwrap().len(), 40);
    let modified = after["lastModified"].as_str().unwrap();
    assert!(modified > before["lastModified"].as_str().unwrap());
    assert_eq!(modified.len(), "2024-06-30T12:00:00.000Z".len());
    assert_eq!(after["description"], before["description"]);
    // The stored order keeps its place.
    assert_eq!(listed_ids(&server, ""), stored);
    let by_date = listed_ids(&server, "&sort=lastModified");
    assert_eq!(by_date[0], generated_id(3));

    // Touching another right away still makes it the newest.
    server.hf().touch("bobbydylan/top2k");
    let by_date = listed_ids(&server, "&sort=lastModified");
    assert_eq!(
        by_date[..2],
        ["bobbydylan/top2k".to_owned(), generated_id(3)]
    );
    assert_eq!(by_date.len(), 11);
    let parquet = get(&format!("{base}/parquet?dataset=bobbydylan/top2k"));
    assert_eq!(parquet.status, 200);
}

#[test]
fn touch_generated_changes_many_in_one_go() {
    let server = LocalServer::start(HfState::generated(20)).unwrap();
    let base = server.base_url();
    let lookup = |i: usize| get(&format!("{base}/api/datasets/{}", generated_id(i))).json();
    let before: Vec<Value> = (0..20).map(lookup).collect();
    let stored = listed_ids(&server, "");

    assert_eq!(server.hf().touch_generated([5, 15], false), 2);
    assert_eq!(server.hf().touch_generated([15, 10], true), 2);
    for i in 0..20 {
        let after = lookup(i);
        if [5, 10, 15].contains(&i) {
            assert_ne!(after["sha"], before[i]["sha"], "{i}");
            assert!(after["lastModified"].as_str() > before[0]["lastModified"].as_str());
        } else {
            assert_eq!(after, before[i], "{i}");
        }
        let described = [10, 15].contains(&i);
        assert_eq!(
            after["description"] != before[i]["description"],
            described,
            "{i}"
        );
    }
    // The stored order keeps their places; by date, the last touched come first.
    assert_eq!(listed_ids(&server, ""), stored);
    let by_date = listed_ids(&server, "&sort=lastModified");
    assert_eq!(
        by_date[..3],
        [generated_id(10), generated_id(15), generated_id(5)]
    );
    assert_eq!(by_date.len(), 20);
    let parquet = get(&format!("{base}/parquet?dataset={}", generated_id(15)));
    assert_eq!(parquet.status, 200);
}

#[test]
fn counting_log_counts_kinds_and_in_flight_requests() {
    let log = local_servers::RequestLog::counting(|method, path| {
        let kind = if path.starts_with("/parquet") {
            "parquet"
        } else {
            "other"
        };
        format!("{method} {kind}")
    });
    let server = LocalServer::start_with_log(HfState::generated(3), log).unwrap();
    let base = server.base_url();
    server
        .hf()
        .inject("/parquet", Fault::Delay(Duration::from_millis(300)), 3);
    let slow: Vec<_> = (0..3)
        .map(|_| {
            let url = format!("{base}/parquet?dataset={}", generated_id(0));
            thread::spawn(move || get(&url).status)
        })
        .collect();
    get(&format!("{base}/api/datasets"));
    for request in slow {
        assert_eq!(request.join().unwrap(), 200);
    }
    let counts = server.log().counts();
    assert_eq!(counts.get("GET parquet"), Some(&3));
    assert_eq!(counts.get("GET other"), Some(&1));
    assert!(
        server.requests().is_empty(),
        "a counting log keeps no requests"
    );
    assert_eq!(server.log().in_flight(), 0);
    assert!(server.log().max_in_flight() >= 3, "{:?}", server.log());
    server.log().reset_max_in_flight();
    get(&format!("{base}/api/datasets"));
    assert_eq!(server.log().max_in_flight(), 1);
}

#[test]
fn budget_can_be_set_and_removed_while_serving() {
    let server = LocalServer::start(HfState::generated(3)).unwrap();
    let url = format!("{}/api/datasets", server.base_url());
    assert_eq!(get(&url).header("ratelimit"), None);
    server.hf().set_budget(Some((1, Duration::from_secs(60))));
    assert_eq!(get(&url).status, 200);
    assert_eq!(get(&url).status, 429);
    server.hf().set_budget(None);
    assert_eq!(get(&url).status, 200);
    assert_eq!(server.hf().dataset_count(), 3);
}

#[test]
fn set_field_changes_listing_and_lookup() {
    let server = LocalServer::start(HfState::recorded().with_generated(3)).unwrap();
    let base = server.base_url();
    server
        .hf()
        .set_field(&generated_id(1), "description", json!("A new description."));
    server
        .hf()
        .set_field("air_dialogue", "cardData", json!({"license": 42}));

    let listing = get(&format!("{base}/api/datasets")).json();
    assert_eq!(listing[7]["id"], generated_id(1));
    assert_eq!(listing[7]["description"], "A new description.");
    assert_eq!(listing[4]["cardData"], json!({"license": 42}));
    let lookup = get(&format!("{base}/api/datasets/{}", generated_id(1))).json();
    assert_eq!(lookup, listing[7]);
    let parquet = get(&format!("{base}/parquet?dataset={}", generated_id(1)));
    assert_eq!(parquet.json()["parquet_files"][0]["size"], 1001);
}

#[test]
fn raw_entries_are_listed_verbatim() {
    let raw = vec![
        json!(42),
        json!("not a dataset"),
        json!({"id": "no/internal-id", "lastModified": "2020-01-01T00:00:00.000Z"}),
        json!({"_id": "65ffffffffffffffffffffff", "id": "odd/license", "license": 42}),
    ];
    let state = HfState::generated(2).with_raw_entries(raw.clone());
    let server = LocalServer::start(state).unwrap();
    let base = server.base_url();
    let long = json!({"id": "long/description", "description": "é".repeat(50_000)});
    server.hf().push_raw(long.clone());

    let listing = get(&format!("{base}/api/datasets")).json();
    let listing = listing.as_array().unwrap();
    assert_eq!(listing.len(), 7);
    assert_eq!(listing[2..6], raw);
    assert_eq!(listing[6], long);
    let lookup = get(&format!("{base}/api/datasets/odd/license"));
    assert_eq!(lookup.json(), raw[3]);
    assert_eq!(lookup.body, raw[3].to_string());
    let by_date = get(&format!("{base}/api/datasets?sort=lastModified")).json();
    assert_eq!(by_date.as_array().unwrap().len(), 7);
    assert_eq!(by_date[2], raw[2]);
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
            "--hf-budget",
            "1000/300",
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

    let first = get(&format!("{base}/api/datasets"));
    assert_eq!(first.header("ratelimit"), Some("\"api\";r=999;t=300"));
    assert_eq!(
        first.header("ratelimit-policy"),
        Some("\"fixed window\";\"api\";q=1000;w=300")
    );
    let pages = walk(&format!("{base}/api/datasets"));
    assert_eq!(ids(&pages), (0..5).map(generated_id).collect::<Vec<_>>());

    let terminated = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert!(terminated.unwrap().success());
    assert!(child.wait().unwrap().success());
}
