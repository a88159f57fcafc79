//! The Hub's HTTP as it is: redirects for renamed repos, quotas it
//! advertises, multi-megabyte pages on slow links.

use crate::support::*;
use local_servers::{Fault, HfState, LocalServer};
use serde_json::json;
use std::time::{Duration, Instant};

#[test]
fn a_renamed_repo_is_followed_within_the_endpoint() {
    let hf = LocalServer::start(HfState::recorded()).unwrap();
    hf.hf().rename(
        "acronym_identification",
        "amirveyseh/acronym_identification",
    );
    let out = dry_run(&hf, &["--mode", "id", "--value", "acronym_identification"]);
    let assets = assets(&out);
    assert_eq!(assets.len(), 1);
    let body = &assets[0]["body"];
    assert_eq!(body["name"], "amirveyseh/acronym_identification");
    assert_eq!(
        body["platform_resource_identifier"],
        "621ffdd236468d709f181d58"
    );
    assert_eq!(body["distribution"].as_array().unwrap().len(), 3);
    let paths: Vec<String> = hf.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        [
            "/api/datasets/acronym_identification",
            "/api/datasets/amirveyseh/acronym_identification",
            "/parquet"
        ]
    );
    assert!(stderr(&out).contains("HTTP 307 moved"), "{}", stderr(&out));
}

#[test]
fn a_redirect_out_of_the_endpoint_or_in_circles_is_refused() {
    let hf = LocalServer::start(HfState::recorded()).unwrap();
    let elsewhere = format!(
        "http://127.0.0.1:{}/api/datasets/nyu-mll/glue",
        closed_port()
    );
    hf.hf().inject(
        "/api/datasets/glue",
        Fault::status(307).with_header("Location", &elsewhere),
        1,
    );
    let out = dry_run(&hf, &["--mode", "id", "--value", "glue"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    let from = format!("{}/api/datasets/glue", hf.base_url());
    assert!(
        err.contains(&format!(
            "refused a redirect from {from} to {elsewhere}: it leaves endpoint \"hub\""
        )),
        "{err}"
    );

    // A redirect to itself, over and over: at most 5 are followed.
    hf.hf().inject(
        "/api/datasets/glue",
        Fault::status(307).with_header("Location", "/api/datasets/glue"),
        10,
    );
    let before = hf.requests().len();
    let out = dry_run(&hf, &["--mode", "id", "--value", "glue"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("more than 5 redirects"),
        "{}",
        stderr(&out)
    );
    assert_eq!(hf.requests().len() - before, 6);
}

/// The plugin documents the free quota (500, or 1,000 with a token, per 5
/// minutes); an account with more says so in `RateLimit-Policy`.
#[test]
fn the_quota_the_hub_advertises_replaces_the_documented_one() {
    let n = 600;
    let hf = LocalServer::start(HfState::generated(n).with_budget(2500, Duration::from_secs(300)))
        .unwrap();
    let base = hf.base_url();
    // No --budget: the plugin's 500 per 300 s would stop this sync (a wait
    // of minutes is beyond --max-wait-secs) unless the server's word counts.
    let out = aiod_host()
        .env("HF_ENDPOINT", &base)
        .env("HF_DATASETS_SERVER_ENDPOINT", &base)
        .args(["run", "--mode", "all", "--dry-run", "--max-wait-secs", "5"])
        .arg("--plugin")
        .arg(plugin_path())
        .output()
        .unwrap();
    assert_eq!(assets(&out).len(), n);
    let err = stderr(&out);
    assert!(
        err.contains("endpoint datasets-server: the server's RateLimit-Policy sets the budget to 2500 requests per 300s (was 500 per 300s)"),
        "{err}"
    );
    assert!(!hf.requests().is_empty());
    // An operator's budget wins over the server's.
    let out = aiod_host()
        .env("HF_ENDPOINT", &base)
        .env("HF_DATASETS_SERVER_ENDPOINT", &base)
        .args(["run", "--mode", "all", "--dry-run", "--max-wait-secs", "5"])
        .args(["--budget", "datasets-server=100/300"])
        .arg("--plugin")
        .arg(plugin_path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(!stderr(&out).contains("sets the budget to 2500 requests per 300s (was 100"));
}

fn timeout_config() -> std::path::PathBuf {
    let path = home().join("two-seconds.toml");
    std::fs::write(&path, "request_timeout_seconds = 2\n").unwrap();
    path
}

/// A multi-megabyte page that takes longer than the timeout to arrive, but
/// never pauses that long, succeeds; a server that says nothing fails fast.
#[test]
fn a_slow_big_page_arrives_and_a_silent_server_fails_within_the_timeout() {
    let big = "x".repeat(1 << 20);
    let raw = (0..5)
        .map(|i| json!({"_id": format!("{i:024x}"), "id": format!("big/{i}"), "description": big}))
        .collect();
    let hf = LocalServer::start(HfState::generated(0).with_raw_entries(raw)).unwrap();
    let config = timeout_config();
    let config = config.to_str().unwrap();
    // ~5 MB in 20 pieces 150 ms apart: 3 s in all, never 2 s of silence.
    hf.hf().inject(
        "/api/datasets",
        Fault::Trickle {
            chunk: 256 << 10,
            every: Duration::from_millis(150),
        },
        1,
    );
    // No retry: the first, slow answer must do.
    let out = dry_run(
        &hf,
        &["--mode", "all", "--config", config, "--retries", "0"],
    );
    assert_eq!(assets(&out).len(), 5);

    hf.hf()
        .inject("/api/datasets", Fault::Delay(Duration::from_secs(60)), 2);
    let started = Instant::now();
    let out = dry_run(
        &hf,
        &["--mode", "all", "--config", config, "--retries", "1"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("timed out"), "{}", stderr(&out));
    // Two silent tries of 2 s each, far from the server's 60 s.
    assert!(started.elapsed() < Duration::from_secs(30));
}
