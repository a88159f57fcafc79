//! Servers that misbehave on purpose: bodies that never end or are huge.
//! Each costs one request (or one record) with a clear message, and the
//! host's memory stays bounded whatever they send.

use crate::support::*;
use local_servers::{Fault, HfState, LocalAiod, LocalServer, generated_id};
use serde_json::Value;

/// Peak memory a run may reach against a server sending too much: the
/// 64 MiB listing limit read, and the host's own ~35 MB.
const PEAK_RSS_KB: u64 = 200 * 1024;

fn dry_run_command(server: &LocalServer, args: &[&str]) -> std::process::Command {
    let base = server.base_url();
    let mut cmd = aiod_host();
    cmd.env("HF_ENDPOINT", &base)
        .env("HF_DATASETS_SERVER_ENDPOINT", &base)
        .arg("run")
        .args(FAST)
        .arg("--plugin")
        .arg(plugin_path())
        .arg("--dry-run")
        .args(args);
    cmd
}

/// A listing page that never ends used to be read into memory until the
/// timeout ended it (past 8 GB).
#[test]
fn a_listing_page_that_never_ends_fails_with_bounded_memory() {
    let server = LocalServer::start(HfState::generated(3)).unwrap();
    server.hf().inject("/api/datasets", Fault::Endless, 10);
    let (out, peak_kb) = output_with_peak_rss(dry_run_command(&server, &["--mode", "all"]));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("the answer is larger than the limit of 64 MiB (more than 67108864 bytes sent; --max-listing-mib sets the limit)"),
        "{err}"
    );
    assert!(
        peak_kb > 0 && peak_kb < PEAK_RSS_KB,
        "peak RSS {peak_kb} kB"
    );
    // Not retried: the same answer would come again.
    assert_eq!(server.requests_to("/api/datasets").len(), 1);
}

/// A 200 MB listing page took 1 GB of memory.
#[test]
fn a_200_mb_listing_page_fails_before_it_is_read() {
    let server = LocalServer::start(HfState::generated(3)).unwrap();
    server
        .hf()
        .inject("/api/datasets", Fault::Huge(200 << 20), 10);
    let (out, peak_kb) = output_with_peak_rss(dry_run_command(&server, &["--mode", "all"]));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("(209715200 bytes announced;"), "{err}");
    assert!(
        peak_kb > 0 && peak_kb < PEAK_RSS_KB,
        "peak RSS {peak_kb} kB"
    );
}

/// A follow-up larger than its limit costs its record only: a dead letter
/// saying why, the other records uploaded.
#[test]
fn an_oversized_follow_up_costs_only_its_record() {
    let hf = LocalServer::start(HfState::generated(4)).unwrap();
    let aiod = LocalAiod::start(catalogue()).unwrap();
    hf.hf().inject("/parquet", Fault::Endless, 1);
    let (out, peak_kb) = output_with_peak_rss(command(
        &hf,
        &aiod,
        &["run", "--mode", "all", "--concurrency", "1"],
    ));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("created 3,"), "{err}");
    assert!(err.contains("failed 1"), "{err}");
    assert!(
        peak_kb > 0 && peak_kb < PEAK_RSS_KB,
        "peak RSS {peak_kb} kB"
    );
    let failures = aiod_host().args(["failures", "--json"]).output().unwrap();
    let text = String::from_utf8(failures.stdout).unwrap();
    assert!(text.contains("\"stage\":\"fetch\""), "{text}");
    assert!(text.contains("larger than the limit of 16 MiB"), "{text}");
    assert!(text.contains(&generated_id(0)), "{text}");
}

/// Every file of the state (the database and SQLite's journal beside it).
fn state_files_text() -> String {
    let dir = home().join(".local/share/aiod-host");
    let mut text = String::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        text.push_str(&String::from_utf8_lossy(&bytes));
    }
    text
}

/// A server error body that quotes the request's bearer token used to put
/// the AIoD access token (and the Hugging Face token) into the logs and the
/// state file.
#[test]
fn a_token_a_server_echoes_appears_in_no_log_state_or_listing() {
    const HF_TOKEN: &str = "hf_echoed_token_0123456789";
    let hf = LocalServer::start(HfState::generated(3).with_token(HF_TOKEN)).unwrap();
    let aiod = LocalAiod::start(catalogue()).unwrap();
    aiod.inject("POST", "/v2/datasets", Fault::EchoAuthorization(500), 1);
    let run = |args: &[&str]| {
        let mut all = vec!["run"];
        all.extend_from_slice(args);
        command(&hf, &aiod, &all)
            .env("HF_TOKEN", HF_TOKEN)
            .args(["--upload-concurrency", "1", "--retries", "0"])
            .args(["--app-log-level", "debug"])
            .output()
            .unwrap()
    };
    let out = run(&["--mode", "all"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("it was sent with authorization: Bearer ***"),
        "{err}"
    );
    // And the Hub's listing, quoting the Hugging Face token in its error.
    hf.hf()
        .inject("/api/datasets", Fault::EchoAuthorization(400), 1);
    let listing = run(&["--mode", "since", "--value", "2020-01-01"]);
    assert!(
        stderr(&listing).contains("it was sent with authorization: Bearer ***"),
        "{}",
        stderr(&listing)
    );
    let failures = aiod_host().args(["failures", "--json"]).output().unwrap();
    let listed = String::from_utf8(failures.stdout).unwrap();
    assert!(listed.contains("Bearer ***"), "{listed}");

    let tokens = aiod.issued_tokens();
    assert!(!tokens.is_empty());
    let stored = state_files_text();
    let logs = [err, stderr(&listing)].concat();
    for secret in tokens.iter().map(String::as_str).chain([HF_TOKEN, SECRET]) {
        assert!(!logs.contains(secret), "{secret} in the logs:\n{logs}");
        assert!(!stored.contains(secret), "{secret} in the state");
        assert!(!listed.contains(secret), "{secret} in failures --json");
    }
}

/// An AIoD (or a cache before it) that ignores the listing's offset used to
/// make the first sync of a new state page for ever, keeping every page.
#[test]
fn an_aiod_listing_that_repeats_itself_ends_the_import() {
    let hf = LocalServer::start(HfState::generated(1)).unwrap();
    let aiod = LocalAiod::start(catalogue()).unwrap();
    for i in 0..1000 {
        aiod.insert(serde_json::json!({
            "platform": "huggingface",
            "platform_resource_identifier": format!("{i:024x}"),
            "name": format!("someone/dataset-{i}"),
        }));
    }
    let addr = aiod
        .api_url()
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let path = "/v2/platforms/huggingface/datasets";
    let (status, first_page) = http_get(&addr, &format!("{path}?offset=0&limit=1000")).unwrap();
    assert_eq!(status, 200);
    aiod.inject(
        "GET",
        path,
        Fault::Status {
            status: 200,
            headers: Vec::new(),
            content_type: "application/json".into(),
            body: first_page,
        },
        100,
    );
    let before = aiod.count("GET", path);
    let out = sync(&hf, &aiod, &["--mode", "all"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(
            "AIoD's listing of huggingface datasets repeats itself: the page at offset 1000"
        ),
        "{err}"
    );
    assert_eq!(aiod.count("GET", path) - before, 2);
}

/// A dead letter keeps at most 1 MiB of each follow-up body: a 20 MB
/// `/parquet` answer (allowed by a raised limit) of a record whose upload
/// failed costs the state about a mebibyte, not twenty.
#[test]
fn a_huge_follow_up_costs_a_dead_letter_at_most_the_cap() {
    let hf = LocalServer::start(HfState::generated(1)).unwrap();
    hf.hf().inject("/parquet", Fault::Huge(20 << 20), 1);
    let aiod = LocalAiod::start(catalogue()).unwrap();
    aiod.fail_next("POST", "/v2/datasets", 422, 1);
    let out = sync(&hf, &aiod, &["--mode", "all", "--max-follow-up-mib", "32"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let status = aiod_host().args(["status", "--json"]).output().unwrap();
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["dead_letters"], 1, "{status}");
    let kept = status["payload_size"].as_u64().unwrap();
    assert!(
        kept < (1 << 20) + (64 << 10),
        "{kept} bytes of payload kept"
    );
}
