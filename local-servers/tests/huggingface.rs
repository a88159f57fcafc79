//! The Hugging Face stand-in over real HTTP on loopback, through a minimal HTTP/1.1 client.

mod support;

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
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

/// `GET url` with `Authorization: Bearer <token>`.
fn get_with_token(url: &str, token: &str) -> Response {
    request(
        "GET",
        url,
        &[("Authorization", &format!("Bearer {token}"))],
        None,
    )
}

/// Follows `next` links from `url`; returns the pages.
fn walk(url: &str) -> Vec<Vec<Value>> {
    walk_with(url, &[])
}

/// Follows `next` links from `url`, sending `headers` with every request; returns the pages.
fn walk_with(url: &str, headers: &[(&str, &str)]) -> Vec<Vec<Value>> {
    let mut pages = Vec::new();
    let mut next = Some(url.to_owned());
    while let Some(url) = next {
        let response = request("GET", &url, headers, None);
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

/// How the listing compares two datasets' values of a sort field: numbers and dates (ISO text)
/// descending, missing values last.
fn value_order(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Number(a), Value::Number(b)) => b.as_f64().unwrap().total_cmp(&a.as_f64().unwrap()),
        (Value::String(a), Value::String(b)) => b.cmp(a),
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Greater,
        (_, Value::Null) => Ordering::Less,
        _ => panic!("mixed sort values {a} and {b}"),
    }
}

/// Asserts `datasets` are in the listing order of `field`: descending, ties by `_id`.
fn assert_sorted(datasets: &[Value], field: &str) {
    for pair in datasets.windows(2) {
        let order = value_order(&pair[0][field], &pair[1][field]);
        let ids_ascending = pair[0]["_id"].as_str() < pair[1]["_id"].as_str();
        assert!(
            order == Ordering::Less || (order == Ordering::Equal && ids_ascending),
            "{field}: {} before {}",
            pair[0],
            pair[1]
        );
    }
}

/// The decoded filter of the `cursor` in a next link.
fn cursor_filter(next: &str) -> Value {
    let (_, query) = next.split_once('?').unwrap();
    let cursor = url::form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name == "cursor")
        .map(|(_, value)| value.into_owned())
        .expect("a cursor");
    serde_json::from_slice(&BASE64.decode(cursor).expect("base64")).expect("JSON")
}

#[test]
fn pagination_walks_every_dataset_exactly_once() {
    let server = LocalServer::start(HfState::generated(203).with_page_size(10)).unwrap();
    let pages = walk(&format!("{}/api/datasets?full=True", server.base_url()));

    assert_eq!(pages.len(), 21);
    assert!(pages[..20].iter().all(|p| p.len() == 10));
    assert_eq!(pages[20].len(), 3);
    let mut listed = ids(&pages);
    let datasets: Vec<Value> = pages.concat();
    assert_sorted(&datasets, "trendingScore");
    listed.sort();
    assert_eq!(listed, (0..203).map(generated_id).collect::<Vec<_>>());
    // Every next link keeps the client's parameters.
    let listings = server.requests_to("/api/datasets");
    assert_eq!(listings.len(), 21);
    assert!(
        listings
            .iter()
            .all(|r| r.query_param("full").as_deref() == Some("True"))
    );
}

/// Small pages under every sort, over datasets that tie (recorded `createdAt`s at the Hub's
/// floor; trending scores, likes): every dataset once, in order, ties by `_id`.
#[test]
fn every_sort_walks_every_dataset_once_in_order() {
    let server = LocalServer::start(HfState::recorded().with_generated(200)).unwrap();
    let base = server.base_url();
    for field in [
        "trendingScore",
        "createdAt",
        "lastModified",
        "downloads",
        "likes",
    ] {
        let pages = walk(&format!("{base}/api/datasets?limit=7&sort={field}"));
        let datasets: Vec<Value> = pages.concat();
        assert_eq!(datasets.len(), 206, "{field}");
        assert_eq!(ids(&pages).into_iter().collect::<HashSet<_>>().len(), 206);
        assert!(datasets.iter().all(|d| d["trendingScore"].is_u64()));
        assert_sorted(&datasets, field);
        if ["trendingScore", "createdAt", "likes"].contains(&field) {
            let values: HashSet<String> = datasets.iter().map(|d| d[field].to_string()).collect();
            assert!(values.len() < 206, "{field}: no ties to break");
        }
    }
}

#[test]
fn default_order_is_trending_and_the_cursor_is_a_keyset_filter() {
    let server = LocalServer::start(HfState::generated(30)).unwrap();
    let base = server.base_url();
    let response = get(&format!("{base}/api/datasets?full=true&limit=10"));
    let page = response.json();
    let page = page.as_array().unwrap();
    assert_eq!(page.len(), 10);
    assert_sorted(page, "trendingScore");
    let next = next_link(&response).unwrap();
    let query = next.split_once('?').unwrap().1;
    assert!(
        query.starts_with("full=true&limit=10&sort=trendingScore&cursor="),
        "{next}"
    );
    // The cursor's base64 is percent-encoded in the link.
    let cursor = query.split("cursor=").nth(1).unwrap();
    assert!(!cursor.contains(['+', '/', '=', '{', '"']), "{cursor}");

    let last = &page[9];
    let filter = cursor_filter(&next);
    assert_eq!(
        filter["$or"],
        json!([
            {"trendingScore": last["trendingScore"], "_id": {"$gt": last["_id"]}},
            {"trendingScore": {"$lt": last["trendingScore"]}},
        ])
    );
    // The same order with `sort` named.
    let named = get(&format!(
        "{base}/api/datasets?full=true&limit=10&sort=trendingScore"
    ));
    assert_eq!(named.json(), response.json());
    // The cursor of another order names its field.
    let by_likes = get(&format!("{base}/api/datasets?sort=likes&limit=3"));
    let filter = cursor_filter(&next_link(&by_likes).unwrap());
    assert!(filter["$or"][1]["likes"]["$lt"].is_u64(), "{filter}");
}

#[test]
fn limit_sets_the_page_size() {
    let server = LocalServer::start(HfState::recorded().with_generated(20)).unwrap();
    let pages = walk(&format!("{}/api/datasets?limit=7", server.base_url()));
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [7, 7, 7, 5]);
    assert_eq!(ids(&pages).into_iter().collect::<HashSet<_>>().len(), 26);
}

#[test]
fn recorded_listing_is_the_recording_with_trending_scores() {
    let server = LocalServer::start(HfState::recorded()).unwrap();
    let response = get(&format!("{}/api/datasets?full=True", server.base_url()));
    assert_eq!(response.status, 200);
    assert_eq!(next_link(&response), None);
    let listed = response.json().as_array().unwrap().clone();
    assert_sorted(&listed, "trendingScore");
    let mut recorded = recorded_list();
    let mut without_scores: Vec<Value> = listed
        .iter()
        .map(|d| {
            let mut d = d.clone();
            assert!(
                d.as_object_mut()
                    .unwrap()
                    .remove("trendingScore")
                    .unwrap()
                    .is_u64()
            );
            d
        })
        .collect();
    let by_id = |a: &Value, b: &Value| a["_id"].as_str().cmp(&b["_id"].as_str());
    without_scores.sort_by(by_id);
    recorded.sort_by(by_id);
    assert_eq!(without_scores, recorded);
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
fn descending_direction_is_accepted_other_directions_and_unknown_sorts_are_rejected() {
    let server = LocalServer::start(HfState::recorded()).unwrap();
    let base = server.base_url();
    let descending = get(&format!(
        "{base}/api/datasets?full=True&sort=lastModified&direction=-1"
    ));
    assert_eq!(descending.status, 200);
    let plain = get(&format!("{base}/api/datasets?full=True&sort=lastModified"));
    assert_eq!(descending.json(), plain.json());
    for direction in ["1", "asc", ""] {
        let response = get(&format!(
            "{base}/api/datasets?sort=lastModified&direction={direction}"
        ));
        assert_eq!(response.status, 400, "{direction:?}");
        assert!(response.json()["error"].is_string());
    }
    for sort in ["last_modified", "id", ""] {
        let response = get(&format!("{base}/api/datasets?sort={sort}"));
        assert_eq!(response.status, 400, "{sort:?}");
        assert_eq!(response.json(), json!({"error": "Invalid sort parameter"}));
    }
}

#[test]
fn link_uses_the_host_header() {
    let server = LocalServer::start(HfState::generated(3).with_page_size(2)).unwrap();
    let url = format!("{}/api/datasets?full=True", server.base_url());
    let response = get_with_host(&url, "hub.example:1234");
    let next = next_link(&response).unwrap();
    assert!(
        next.starts_with(
            "http://hub.example:1234/api/datasets?full=True&sort=trendingScore&cursor="
        ),
        "{next}"
    );
    // The last page has no next link.
    let url = next.replace("hub.example:1234", server.addr().to_string().as_str());
    let last = get(&url);
    assert_eq!(last.json().as_array().unwrap().len(), 1);
    assert_eq!(next_link(&last), None);
}

#[test]
fn single_dataset_lookup() {
    let server = LocalServer::start(HfState::recorded().with_generated(5)).unwrap();
    let base = server.base_url();

    let response = get(&format!("{base}/api/datasets/0n1xus/codexglue"));
    assert_eq!(response.status, 200);
    let mut dataset = response.json();
    let score = dataset.as_object_mut().unwrap().remove("trendingScore");
    assert!(score.unwrap().is_u64());
    assert_eq!(dataset, recorded_list()[2]);

    let response = get(&format!("{base}/api/datasets/acronym_identification"));
    assert_eq!(response.json()["_id"], "621ffdd236468d709f181d58");

    let generated = get(&format!("{base}/api/datasets/gen-org/dataset-000004")).json();
    let listed = get(&format!("{base}/api/datasets")).json();
    let mut listed = listed.as_array().unwrap().iter();
    let listed = listed.find(|d| d["id"] == "gen-org/dataset-000004");
    assert_eq!(Some(&generated), listed);

    // Anonymously, a missing repository is a 401, as one that needs a token.
    for missing in ["gen-org/dataset-000005", "nobody/nothing", "a/b/c"] {
        let response = get(&format!("{base}/api/datasets/{missing}"));
        assert_eq!(response.status, 401, "{missing}");
        assert_eq!(response.header("x-error-code"), Some("RepoNotFound"));
        assert_eq!(response.json(), json!({"error": "Repository not found"}));
    }
}

#[test]
fn parquet_defaults() {
    let server = LocalServer::start(HfState::recorded().with_generated(3)).unwrap();
    let parquet = |query: &str| get(&format!("{}/parquet{query}", server.base_url()));

    let sha = |id: &str| {
        let dataset = get(&format!("{}/api/datasets/{id}", server.base_url())).json();
        dataset["sha"].as_str().unwrap().to_owned()
    };
    let response = parquet("?dataset=acronym_identification");
    assert_eq!(response.status, 200);
    assert_eq!(response.header("x-error-code"), None);
    let revision = response.header("x-revision");
    assert_eq!(revision, Some(sha("acronym_identification").as_str()));
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
    let revision = response.header("x-revision");
    assert_eq!(revision, Some(sha("04-07-22/wep-probes").as_str()));

    let response = parquet("?dataset=gen-org/dataset-000002");
    assert_eq!(response.status, 200);
    let revision = response.header("x-revision");
    assert_eq!(revision, Some(sha("gen-org/dataset-000002").as_str()));
    let file = &response.json()["parquet_files"][0];
    assert_eq!(file["size"], 2001);
    assert_eq!(
        file["url"],
        "https://huggingface.co/datasets/gen-org/dataset-000002/resolve/refs%2Fconvert%2Fparquet/default/train/0000.parquet"
    );

    let response = parquet("?dataset=nobody/nothing");
    assert_eq!(response.status, 404);
    assert_eq!(response.header("x-error-code"), Some("ResponseNotFound"));
    assert_eq!(response.header("x-revision"), None);
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
    assert_eq!(response.header("x-error-code"), Some("ResponseNotReady"));
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
        headers: vec![("Retry-After".into(), "3".into())],
    };
    server.hf().set_parquet("acronym_identification", canned);
    let response = get(&url);
    assert_eq!((response.status, response.body.as_str()), (429, body));
    assert_eq!(response.header("retry-after"), Some("3"));
    assert_eq!(response.header("x-error-code"), None);

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
    assert_eq!(
        response.json()["error"],
        "We had to rate limit you, you hit the quota of 500 api requests per 5 minutes period. \
         Upgrade to a PRO user or Team/Enterprise organization account (https://hf.co/pricing) to \
         get higher limits. See https://huggingface.co/docs/hub/rate-limits"
    );

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
    let message = over.json()["error"].as_str().unwrap().to_owned();
    assert!(
        message.starts_with("We had to rate limit you, you hit the quota of 3 api requests per "),
        "{message}"
    );
    assert!(message.ends_with(" See https://huggingface.co/docs/hub/rate-limits"));
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
    expected.sort();
    let mut listed = listed_ids(&server, "");
    listed.sort();
    assert_eq!(listed, expected);
    let by_date = listed_ids(&server, "&sort=lastModified");
    assert_eq!(by_date.len(), 9);
    for id in ["rotten_tomatoes", &generated_id(2)] {
        assert!(!by_date.iter().any(|d| d == id), "{id}");
        let response = get(&format!("{base}/api/datasets/{id}"));
        assert_eq!(response.status, 401, "{id}");
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
    let listed = |id: &str| {
        let mut listing = listing.as_array().unwrap().iter();
        listing.find(|d| d["id"] == id).unwrap().clone()
    };
    let changed = listed(&generated_id(1));
    assert_eq!(changed["description"], "A new description.");
    assert_eq!(listed("air_dialogue")["cardData"], json!({"license": 42}));
    let lookup = get(&format!("{base}/api/datasets/{}", generated_id(1))).json();
    assert_eq!(lookup, changed);
    let parquet = get(&format!("{base}/parquet?dataset={}", generated_id(1)));
    assert_eq!(parquet.json()["parquet_files"][0]["size"], 1001);
}

/// Entries that are no datasets (no `_id`, no sort field, not even objects, the same twice) are
/// listed verbatim, each exactly once per walk under every sort.
#[test]
fn raw_entries_are_listed_verbatim_once_under_every_sort() {
    let raw = vec![
        json!(42),
        json!(42),
        json!("not a dataset"),
        Value::Null,
        json!([1, 2]),
        json!({"id": "no/internal-id", "lastModified": "2020-01-01T00:00:00.000Z"}),
        json!({"_id": "65ffffffffffffffffffffff", "id": "odd/license", "license": 42}),
        json!({"_id": 7, "trendingScore": "high", "likes": -1.5, "createdAt": 12}),
        json!({"_id": "650000000000000000000001", "trendingScore": 1e300, "downloads": -0.0}),
    ];
    let state = HfState::generated(5)
        .with_raw_entries(raw.clone())
        .with_page_size(2);
    let server = LocalServer::start(state).unwrap();
    let base = server.base_url();
    let long = json!({"id": "long/description", "description": "é".repeat(50_000)});
    server.hf().push_raw(long.clone());
    let mut expected = raw.clone();
    expected.push(long);
    expected.extend((0..5).map(local_servers::generated_dataset));

    for sort in [
        "",
        "&sort=trendingScore",
        "&sort=createdAt",
        "&sort=lastModified",
        "&sort=downloads",
        "&sort=likes",
    ] {
        let listed = walk(&format!("{base}/api/datasets?full=true{sort}")).concat();
        let count = |entries: &[Value]| {
            let mut counts: HashMap<String, usize> = HashMap::new();
            for entry in entries {
                *counts.entry(entry.to_string()).or_default() += 1;
            }
            counts
        };
        assert_eq!(count(&listed), count(&expected), "{sort:?}");
    }
    let lookup = get(&format!("{base}/api/datasets/odd/license"));
    assert_eq!(lookup.json(), raw[6]);
    assert_eq!(lookup.body, raw[6].to_string());
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
            "--hf-token",
            "hf_one",
            "--hf-token",
            "hf_two",
            "--failing-parquet-every",
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

    let first = get(&format!("{base}/api/datasets"));
    assert_eq!(first.header("ratelimit"), Some("\"api\";r=999;t=300"));
    assert_eq!(
        first.header("ratelimit-policy"),
        Some("\"fixed window\";\"api\";q=1000;w=300")
    );
    let pages = walk(&format!("{base}/api/datasets?limit=1000"));
    assert!(pages.iter().all(|page| page.len() <= 2));
    let mut listed = ids(&pages);
    listed.sort();
    assert_eq!(listed, (0..5).map(generated_id).collect::<Vec<_>>());
    for token in ["hf_one", "hf_two"] {
        let response = get_with_token(&format!("{base}/api/datasets"), token);
        assert_eq!(response.status, 200);
    }
    let refused = get_with_token(&format!("{base}/api/datasets"), "hf_three");
    assert_eq!(refused.status, 401);
    let parquet = |i: usize| get(&format!("{base}/parquet?dataset={}", generated_id(i))).status;
    assert_eq!((parquet(0), parquet(1)), (200, 500));

    let terminated = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert!(terminated.unwrap().success());
    assert!(child.wait().unwrap().success());
}

/// Walks `GET /api/datasets?limit=10{query}` (30 generated datasets: 3 pages); right after the
/// first page, the dataset at place `raise` of the trending order gets the top trending score and
/// the one at place `lower` gets 0. Returns the ids listed and the trending order before.
fn walk_while_trending_changes(
    query: &str,
    raise: usize,
    lower: usize,
) -> (Vec<String>, Vec<Value>) {
    let server = LocalServer::start(HfState::generated(30)).unwrap();
    let base = server.base_url();
    let before = walk(&format!("{base}/api/datasets?limit=10")).concat();
    let raised = before[raise]["id"].as_str().unwrap().to_owned();
    let lowered = before[lower]["id"].as_str().unwrap().to_owned();
    server.hf().after_listing_pages(1, move |state| {
        state.set_trending(&raised, 1_000);
        state.set_trending(&lowered, 0);
    });
    let listed = ids(&walk(&format!("{base}/api/datasets?limit=10{query}")));
    (listed, before)
}

/// What the Hub does to a pass in trending order: a dataset whose score rises past the cursor
/// is never listed, one whose score falls behind it is listed twice.
#[test]
fn trending_changes_between_pages_skip_and_repeat_datasets() {
    let (listed, before) = walk_while_trending_changes("", 25, 2);
    // The lowered one falls behind the first page's last item.
    assert!(before[9]["trendingScore"].as_u64().unwrap() > 0);
    let (raised, lowered) = (&before[25]["id"], &before[2]["id"]);
    let times = |id: &Value| listed.iter().filter(|l| *id == l.as_str()).count();
    assert_eq!(times(raised), 0, "{listed:?}");
    assert_eq!(times(lowered), 2, "{listed:?}");
    assert_eq!(listed.len(), 30);
    for dataset in &before {
        if dataset["id"] != *raised && dataset["id"] != *lowered {
            assert_eq!(times(&dataset["id"]), 1, "{}", dataset["id"]);
        }
    }
}

/// `createdAt` never changes, so a pass in its order lists every dataset once whatever the
/// trending scores do.
#[test]
fn created_at_order_is_unaffected_by_trending_changes() {
    let (listed, _) = walk_while_trending_changes("&sort=createdAt", 25, 2);
    let expected: Vec<String> = (0..30).map(generated_id).collect();
    assert_eq!(listed, expected);
}

#[test]
fn after_listing_pages_counts_pages_from_the_call() {
    let server = LocalServer::start(HfState::generated(3)).unwrap();
    let listing = format!("{}/api/datasets", server.base_url());
    get(&listing);
    server
        .hf()
        .after_listing_pages(2, |state| state.remove_dataset(&generated_id(0)));
    // Not a page: refused.
    assert_eq!(get(&format!("{listing}?limit=0")).status, 400);
    assert_eq!(get(&listing).json().as_array().unwrap().len(), 3);
    assert_eq!(server.hf().dataset_count(), 3);
    assert_eq!(get(&listing).json().as_array().unwrap().len(), 3);
    // Made right after the second page, before this request.
    assert_eq!(server.hf().dataset_count(), 2);
    assert_eq!(get(&listing).json().as_array().unwrap().len(), 2);
}

#[test]
fn limit_is_a_page_size_up_to_1000() {
    let server = LocalServer::start(HfState::generated(1_500)).unwrap();
    let base = server.base_url();
    let response = get(&format!("{base}/api/datasets?limit=1000"));
    assert_eq!(response.json().as_array().unwrap().len(), 1_000);
    let rest = get(&next_link(&response).unwrap());
    assert_eq!(rest.json().as_array().unwrap().len(), 500);
    assert_eq!(next_link(&rest), None);
    let default = get(&format!("{base}/api/datasets"));
    assert_eq!(
        default.json().as_array().unwrap().len(),
        local_servers::DEFAULT_PAGE_SIZE
    );
    for limit in ["1001", "0", "abc", "-1", "1.5", ""] {
        let response = get(&format!("{base}/api/datasets?limit={limit}"));
        assert_eq!(response.status, 400, "{limit:?}");
        assert_eq!(response.header("content-type"), Some("application/json"));
        assert!(response.json()["error"].is_string(), "{limit:?}");
    }
}

/// A server may answer fewer items than `limit` while more follow.
#[test]
fn page_size_caps_every_page() {
    let server = LocalServer::start(HfState::generated(10).with_page_size(3)).unwrap();
    let base = server.base_url();
    let pages = walk(&format!("{base}/api/datasets?limit=1000"));
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [3, 3, 3, 1]);
    let pages = walk(&format!("{base}/api/datasets?limit=2"));
    assert_eq!(pages.len(), 5);
    let pages = walk(&format!("{base}/api/datasets"));
    assert_eq!(pages.len(), 4);
}

#[test]
fn expired_and_invalid_cursors_are_refused() {
    let server = LocalServer::start(HfState::generated(10).with_page_size(3)).unwrap();
    let base = server.base_url();
    let first = get(&format!("{base}/api/datasets"));
    let stored = next_link(&first).unwrap();
    assert_eq!(get(&stored).status, 200);

    server.hf().expire_cursors();
    let refused = get(&stored);
    assert_eq!(refused.status, 400);
    assert_eq!(refused.json(), json!({"error": "Invalid cursor"}));
    assert_eq!(ids(&walk(&format!("{base}/api/datasets"))).len(), 10);

    let by_likes = next_link(&get(&format!("{base}/api/datasets?sort=likes"))).unwrap();
    let other_sort = by_likes.replace("sort=likes", "sort=downloads");
    let not_a_filter = BASE64.encode(r#"{"trendingScore": 3}"#);
    for url in [
        format!("{base}/api/datasets?cursor=not-base64!"),
        format!("{base}/api/datasets?cursor=0"),
        format!("{base}/api/datasets?cursor={not_a_filter}"),
        other_sort,
    ] {
        let response = get(&url);
        assert_eq!(response.status, 400, "{url}");
        assert_eq!(response.json(), json!({"error": "Invalid cursor"}));
    }
}

#[test]
fn private_datasets_are_listed_only_with_a_token() {
    let state = HfState::generated(5).with_token("hf_reader");
    let server = LocalServer::start(state).unwrap();
    let base = server.base_url();
    let private = generated_id(1);
    server.hf().set_field(&private, "private", json!(true));
    server
        .hf()
        .push_raw(json!({"_id": "66", "id": "org/secret", "private": true}));
    let listing = format!("{base}/api/datasets?limit=2");

    let anonymous = ids(&walk(&listing));
    assert_eq!(anonymous.len(), 4);
    assert!(!anonymous.contains(&private));
    let authorized = [("Authorization", "Bearer hf_reader")];
    let with_token = ids(&walk_with(&listing, &authorized));
    assert_eq!(with_token.len(), 6);
    assert!(with_token.contains(&private) && with_token.contains(&"org/secret".to_owned()));

    for url in [
        listing.clone(),
        format!("{base}/api/datasets/{}", generated_id(0)),
    ] {
        let refused = get_with_token(&url, "hf_wrong");
        assert_eq!(refused.status, 401, "{url}");
        assert_eq!(
            refused.json(),
            json!({"error": "Invalid credentials in Authorization header"})
        );
    }
    // Tokens can be accepted while serving.
    assert_eq!(get_with_token(&listing, "hf_later").status, 401);
    server.hf().add_token("hf_later");
    assert_eq!(
        ids(&walk_with(
            &listing,
            &[("Authorization", "Bearer hf_later")]
        ))
        .len(),
        6
    );

    // The lookup of a private dataset: like an unknown one, anonymously.
    let lookup = format!("{base}/api/datasets/{private}");
    let unknown = get(&format!("{base}/api/datasets/nobody/nothing"));
    let response = get(&lookup);
    assert_eq!(
        (
            response.status,
            response.header("x-error-code"),
            response.body.as_str()
        ),
        (401, Some("RepoNotFound"), unknown.body.as_str())
    );
    let response = get_with_token(&lookup, "hf_reader");
    assert_eq!(response.status, 200);
    assert_eq!(response.json()["private"], true);
    let response = get_with_token(&format!("{base}/api/datasets/nobody/nothing"), "hf_reader");
    assert_eq!(response.status, 404);
    assert_eq!(response.header("x-error-code"), Some("RepoNotFound"));
    assert_eq!(response.json(), json!({"error": "Repository not found"}));
}

#[test]
fn disabled_gated_and_renamed_lookups() {
    let server = LocalServer::start(HfState::recorded().with_generated(3)).unwrap();
    let base = server.base_url();
    let hf = server.hf();
    hf.set_field(&generated_id(0), "disabled", json!(true));
    hf.set_field(&generated_id(1), "gated", json!("manual"));
    hf.set_field("air_dialogue", "gated", json!("auto"));
    let before = get(&format!("{base}/api/datasets/acronym_identification")).json();
    hf.rename(
        "acronym_identification",
        "amirveyseh/acronym_identification",
    );

    let response = get(&format!("{base}/api/datasets/{}", generated_id(0)));
    assert_eq!(response.status, 403);
    assert_eq!(
        response.json(),
        json!({"error": "Access to this resource is disabled."})
    );
    for gated in [generated_id(1).as_str(), "air_dialogue"] {
        let response = get(&format!("{base}/api/datasets/{gated}"));
        assert_eq!(response.status, 200, "{gated}");
    }

    let response = get(&format!(
        "{base}/api/datasets/acronym_identification?full=true"
    ));
    assert_eq!(response.status, 307);
    assert_eq!(
        response.header("location"),
        Some("/api/datasets/amirveyseh/acronym_identification?full=true")
    );
    assert_eq!(response.json()["error"], "Repository moved");
    let moved = get(&format!(
        "{base}/api/datasets/amirveyseh/acronym_identification"
    ))
    .json();
    assert_eq!(moved["_id"], before["_id"]);
    assert_eq!(moved["author"], "amirveyseh");
    assert_eq!(moved["sha"], before["sha"]);

    let listed = walk(&format!("{base}/api/datasets?limit=4")).concat();
    assert_eq!(listed.len(), 9);
    let names: HashSet<&str> = listed.iter().map(|d| d["id"].as_str().unwrap()).collect();
    assert!(names.contains("amirveyseh/acronym_identification"));
    assert!(!names.contains("acronym_identification"));
    // Disabled datasets are still listed, saying so.
    let disabled = listed.iter().find(|d| d["id"] == generated_id(0)).unwrap();
    assert_eq!(disabled["disabled"], true);

    // Renamed again: the first name leads to the last.
    hf.rename("amirveyseh/acronym_identification", "nlp/acronyms");
    let response = get(&format!("{base}/api/datasets/acronym_identification"));
    assert_eq!(
        response.header("location"),
        Some("/api/datasets/nlp/acronyms")
    );

    let parquet = |id: &str| get(&format!("{base}/parquet?dataset={id}"));
    let response = parquet("nlp/acronyms");
    assert_eq!(response.status, 200);
    assert_eq!(
        response.json()["parquet_files"].as_array().unwrap().len(),
        3
    );
    assert_eq!(parquet("acronym_identification").status, 404);
}

#[test]
fn parquet_answers_carry_the_dataset_viewer_error_codes() {
    let server = LocalServer::start(HfState::recorded().with_generated(3)).unwrap();
    let base = server.base_url();
    let hf = server.hf();
    let id = generated_id(2);
    let url = format!("{base}/parquet?dataset={id}");
    let sha = get(&format!("{base}/api/datasets/{id}")).json()["sha"].clone();
    let complete = get(&url);
    assert_eq!(complete.header("x-revision"), sha.as_str());

    let cases = [
        (
            Canned::parquet_job_error("DatasetGenerationError"),
            500,
            Some("DatasetGenerationError"),
        ),
        (Canned::parquet_not_ready(), 500, Some("ResponseNotReady")),
        (
            Canned::parquet_gated(),
            401,
            Some("ExternalUnauthenticatedError"),
        ),
        (
            Canned::parquet_blocked(),
            501,
            Some("DatasetInBlockListError"),
        ),
        (
            Canned::from_example("parquet-500-unexpected-error.json"),
            500,
            Some("UnexpectedError"),
        ),
        (
            Canned::from_example("parquet-500-internal-server-error.txt"),
            500,
            None,
        ),
        (Canned::parquet_pending(&id), 200, None),
    ];
    for (canned, status, code) in cases {
        hf.set_parquet(&id, canned.clone());
        let response = get(&url);
        assert_eq!(response.status, status, "{canned:?}");
        assert_eq!(response.header("x-error-code"), code, "{canned:?}");
        assert_eq!(response.body, canned.body);
        // Injected answers for a dataset the viewer has name its revision too.
        assert_eq!(response.header("x-revision"), sha.as_str(), "{canned:?}");
    }
    // A job error is the example error in the dataset itself, under the code asked for.
    hf.set_parquet(&id, Canned::parquet_job_error("ConfigNamesError"));
    let job_error = get(&url);
    assert_eq!(job_error.header("x-error-code"), Some("ConfigNamesError"));
    assert_eq!(job_error.json()["cause_exception"], "HTTPError");

    hf.set_parquet(&id, Canned::parquet_pending(&id));
    let pending = get(&url).json();
    let files = |body: &Value| body["parquet_files"].as_array().unwrap().len();
    assert!(files(&pending) < files(&complete.json()));
    assert_eq!(pending["pending"][0]["dataset"], id.as_str());
    assert_eq!(pending["pending"][0]["config"], "default");
    assert_eq!(
        (pending["failed"].clone(), pending["partial"].clone()),
        (json!([]), json!(false))
    );
    hf.clear_parquet(&id);
    assert_eq!(get(&url).body, complete.body);

    // Defaults by dataset: private, gated, disabled.
    hf.set_field(&generated_id(0), "private", json!(true));
    hf.set_field(&generated_id(1), "gated", json!("auto"));
    hf.set_field("rotten_tomatoes", "disabled", json!(true));
    let expectations = [
        (
            generated_id(0),
            401,
            "ExternalUnauthenticatedError",
            "Not found.",
        ),
        (
            generated_id(1),
            401,
            "ExternalUnauthenticatedError",
            "The dataset does not exist, or is not accessible without authentication",
        ),
        (
            "rotten_tomatoes".to_owned(),
            404,
            "ResponseNotFound",
            "The dataset does not exist, or is not accessible without authentication",
        ),
        (
            "nobody/nothing".to_owned(),
            404,
            "ResponseNotFound",
            "The dataset does not exist, or is not accessible without authentication",
        ),
    ];
    for (id, status, code, message) in expectations {
        let response = get(&format!("{base}/parquet?dataset={id}"));
        assert_eq!(response.status, status, "{id}");
        assert_eq!(response.header("x-error-code"), Some(code), "{id}");
        let error = response.json()["error"].as_str().unwrap().to_owned();
        assert!(error.starts_with(message), "{id}: {error}");
        // The viewer's access check fails before it looks for a revision.
        assert_eq!(response.header("x-revision"), None, "{id}");
    }
    assert_eq!(
        get(&format!("{base}/parquet?dataset=rotten_tomatoes")).body,
        get(&format!("{base}/parquet?dataset=nobody/nothing")).body
    );
}

#[test]
fn failing_parquet_every_nth_generated_dataset() {
    let state = HfState::generated(60).with_failing_parquet(20);
    let server = LocalServer::start(state).unwrap();
    let base = server.base_url();
    server
        .hf()
        .set_parquet(generated_id(39), Canned::parquet_not_ready());
    let failing: Vec<(usize, u16, Option<String>)> = (0..60)
        .map(|i| get(&format!("{base}/parquet?dataset={}", generated_id(i))))
        .enumerate()
        .filter(|(_, response)| response.status != 200)
        .map(|(i, response)| {
            let code = response.header("x-error-code").map(str::to_owned);
            (i, response.status, code)
        })
        .collect();
    assert_eq!(
        failing,
        [
            (19, 500, Some("ConfigNamesError".to_owned())),
            (39, 500, Some("ResponseNotReady".to_owned())),
            (59, 500, Some("ConfigNamesError".to_owned())),
        ]
    );
    // Permanent: the same answer again.
    let again = get(&format!("{base}/parquet?dataset={}", generated_id(19)));
    assert_eq!(again.header("x-error-code"), Some("ConfigNamesError"));
}

#[test]
fn hidden_datasets_stay_but_are_never_listed() {
    let server = LocalServer::start(HfState::recorded().with_generated(4)).unwrap();
    let base = server.base_url();
    server.hf().hide_from_listing(&generated_id(2));
    server.hf().hide_from_listing("rotten_tomatoes");
    for sort in ["trendingScore", "createdAt", "likes"] {
        let listed = ids(&walk(&format!("{base}/api/datasets?limit=3&sort={sort}")));
        assert_eq!(listed.len(), 8, "{sort}");
        assert!(!listed.contains(&generated_id(2)) && !listed.contains(&"rotten_tomatoes".into()));
    }
    for id in [generated_id(2).as_str(), "rotten_tomatoes"] {
        assert_eq!(
            get(&format!("{base}/api/datasets/{id}")).status,
            200,
            "{id}"
        );
        assert_eq!(
            get(&format!("{base}/parquet?dataset={id}")).status,
            200,
            "{id}"
        );
    }
}

/// `GET url` over a raw connection: the head, then the rest until the server closes, with the
/// time each was complete.
fn timed_exchange(url: &str) -> (String, Instant, String, Instant) {
    let rest = url.strip_prefix("http://").unwrap();
    let (authority, target) = rest.split_at(rest.find('/').unwrap());
    let mut stream = TcpStream::connect(authority).unwrap();
    let head = format!("GET {target} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    let mut received = Vec::new();
    let mut byte = [0];
    while !received.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).unwrap();
        received.push(byte[0]);
    }
    let head_at = Instant::now();
    let mut body = String::new();
    stream.read_to_string(&mut body).unwrap();
    (
        String::from_utf8(received).unwrap(),
        head_at,
        body,
        Instant::now(),
    )
}

#[test]
fn trickle_fault_sends_the_head_at_once_and_the_body_slowly() {
    let server = LocalServer::start(HfState::recorded()).unwrap();
    let url = format!(
        "{}/parquet?dataset=acronym_identification",
        server.base_url()
    );
    let normal = get(&url);
    let every = Duration::from_millis(40);
    server
        .hf()
        .inject("/parquet", Fault::Trickle { chunk: 100, every }, 1);
    let started = Instant::now();
    // An idle timeout longer than the pauses is no problem.
    let raw = exchange("GET", &url, &[], None, Some(every * 10)).unwrap();
    let elapsed = started.elapsed();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    assert_eq!(body, normal.body);
    assert!(
        head.contains(&format!("content-length: {}", normal.body.len())),
        "{head}"
    );
    let pieces = normal.body.len().div_ceil(100) as u32;
    assert!(pieces > 5);
    assert!(elapsed >= every * pieces, "{elapsed:?}");
    println!("{pieces} pieces in {elapsed:?}");

    // The head does not wait for the body's one piece.
    let pause = Duration::from_millis(300);
    let whole = Fault::Trickle {
        chunk: usize::MAX,
        every: pause,
    };
    server.hf().inject("/parquet", whole, 1);
    let (head, head_at, body, done_at) = timed_exchange(&url);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(body, normal.body);
    assert!(done_at - head_at >= pause, "{:?}", done_at - head_at);
    assert_eq!(get(&url).body, normal.body);
}

/// Page requests on 500,000 generated datasets are quick: a walk reaches its 300th page (each
/// request seeks its cursor), and a cursor deep into the listing answers at once; the times are
/// printed.
#[test]
fn deep_pages_of_a_large_listing_answer_quickly() {
    let server = LocalServer::start(HfState::generated(500_000)).unwrap();
    let base = server.base_url();
    let mut next = Some(format!("{base}/api/datasets?limit=100"));
    let mut seen = HashSet::new();
    let started = Instant::now();
    for _ in 0..300 {
        let response = get(&next.unwrap());
        assert_eq!(response.status, 200);
        let page = ids(&[response.json().as_array().unwrap().clone()]);
        assert_eq!(page.len(), 100);
        assert!(page.into_iter().all(|id| seen.insert(id)));
        next = next_link(&response);
    }
    let elapsed = started.elapsed();
    println!(
        "300 pages of 100 in {elapsed:?}, {:?} per page",
        elapsed / 300
    );
    assert!(next.is_some());

    // A cursor of the documented shape right after dataset 498,999 in `createdAt` order (the
    // index order) selects the last 1000.
    let dataset = local_servers::generated_dataset(498_999);
    let filter = json!({"$or": [
        {"createdAt": dataset["createdAt"], "_id": {"$gt": dataset["_id"]}},
        {"createdAt": {"$lt": dataset["createdAt"]}},
    ]});
    let cursor: String =
        url::form_urlencoded::byte_serialize(BASE64.encode(filter.to_string()).as_bytes())
            .collect();
    let started = Instant::now();
    let response = get(&format!(
        "{base}/api/datasets?sort=createdAt&limit=1000&cursor={cursor}"
    ));
    println!("the last page of 1000 in {:?}", started.elapsed());
    let page = ids(&[response.json().as_array().unwrap().clone()]);
    assert_eq!(
        page,
        (499_000..500_000).map(generated_id).collect::<Vec<_>>()
    );
    assert_eq!(next_link(&response), None);
}
