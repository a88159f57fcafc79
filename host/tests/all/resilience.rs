//! Nothing lost, nothing duplicated: faults, kills, malformed records, deletes.
//!
//! Each scenario ends by comparing the local AIoD with the one a clean run
//! produces from the same source.

use crate::support::*;
use local_servers::{Fault, HfState, LocalAiod, LocalServer, generated_id};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The recorded datasets and 20 generated ones, on pages of 7.
fn source() -> HfState {
    HfState::recorded().with_generated(20).with_page_size(7)
}

/// The live assets by platform id, without what the server assigns.
fn snapshot(aiod: &LocalAiod) -> BTreeMap<String, Value> {
    let assets = aiod.assets();
    let mut out = BTreeMap::new();
    for mut a in assets {
        let o = a.as_object_mut().unwrap();
        for k in [
            "identifier",
            "ai_asset_identifier",
            "ai_resource_identifier",
            "aiod_entry",
        ] {
            o.remove(k);
        }
        let pid = o["platform_resource_identifier"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            out.insert(pid.clone(), a).is_none(),
            "{pid} is in AIoD twice"
        );
    }
    out
}

/// What a clean run of `source()` leaves in AIoD.
fn clean_snapshot() -> BTreeMap<String, Value> {
    let hf = LocalServer::start(source()).unwrap();
    let aiod = LocalAiod::start(catalogue()).unwrap();
    let state = home().join("clean-run.sqlite");
    ok(&sync(
        &hf,
        &aiod,
        &["--mode", "all", "--state", state.to_str().unwrap()],
    ));
    let snap = snapshot(&aiod);
    assert_eq!(snap.len(), 26);
    snap
}

fn assert_same_catalogue(expected: &BTreeMap<String, Value>, aiod: &LocalAiod, what: &str) {
    let actual = snapshot(aiod);
    let missing: Vec<_> = expected
        .keys()
        .filter(|k| !actual.contains_key(*k))
        .collect();
    let extra: Vec<_> = actual
        .keys()
        .filter(|k| !expected.contains_key(*k))
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{what}: missing {missing:?}, extra {extra:?}"
    );
    for (pid, e) in expected {
        assert_json_eq(&format!("{what}: {pid}"), e, &actual[pid]);
    }
}

#[test]
fn transient_faults_lose_nothing_and_duplicate_nothing() {
    let expected = clean_snapshot();
    type Setup = fn(&LocalServer, &LocalAiod);
    let scenarios: Vec<(&str, Setup)> = vec![
        ("429 storm with Retry-After", |hf, _| {
            hf.hf().inject("/api/datasets", Fault::retry_after(1), 2);
            hf.hf().inject("/parquet", Fault::retry_after(0), 5);
        }),
        ("429 with RateLimit headers", |hf, _| {
            hf.hf().inject("/api/datasets", Fault::rate_limited(0), 1);
        }),
        ("500 with a text/plain body", |hf, aiod| {
            hf.hf().inject("/api/datasets", Fault::text_500(), 2);
            hf.hf().inject("/parquet", Fault::text_500(), 3);
            aiod.inject("POST", "/v2/datasets", Fault::text_500(), 2);
        }),
        ("responses slower than the timeout", |hf, _| {
            hf.hf()
                .inject("/parquet", Fault::Delay(Duration::from_millis(2500)), 2);
            hf.hf().inject(
                "/api/datasets",
                Fault::Delay(Duration::from_millis(2500)),
                1,
            );
        }),
        ("dropped connections", |hf, aiod| {
            hf.hf().inject("/api/datasets", Fault::Drop, 2);
            hf.hf().inject("/parquet", Fault::Drop, 3);
            aiod.inject("PUT", "/v2/datasets", Fault::Drop, 1);
            aiod.inject("POST", "/v2/datasets", Fault::Drop, 2);
        }),
        ("AIoD down for a while", |_, aiod| {
            aiod.down_for(Duration::from_millis(1500), 503);
        }),
    ];
    let config = home_config("request_timeout_seconds = 1\n");
    for (i, (name, setup)) in scenarios.into_iter().enumerate() {
        let hf = LocalServer::start(source()).unwrap();
        let aiod = LocalAiod::start(catalogue()).unwrap();
        setup(&hf, &aiod);
        let state = home().join(format!("scenario-{i}.sqlite"));
        let out = sync(
            &hf,
            &aiod,
            &[
                "--mode",
                "all",
                "--config",
                config.to_str().unwrap(),
                "--state",
                state.to_str().unwrap(),
            ],
        );
        let err = stderr(&out);
        assert!(
            out.status.success(),
            "{name}: failed ({}):\n{err}",
            out.status
        );
        assert!(err.contains("failed 0"), "{name}:\n{err}");
        assert_same_catalogue(&expected, &aiod, name);
    }
}

/// A config file in this test's HOME.
fn home_config(text: &str) -> std::path::PathBuf {
    let path = home().join("test-config.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// The local Keycloak's token endpoint: one request per token the host gets.
const TOKEN_PATH: &str = "/aiod-auth/realms/aiod/protocol/openid-connect/token";

/// The writes the local AIoD received (it stores each before it answers).
fn writes(aiod: &LocalAiod) -> usize {
    aiod.count("POST", "/v2/datasets")
}

/// A local AIoD whose every write takes 40 ms, so a run of `source()` lasts
/// long enough to be interrupted at a chosen write.
fn slow_catalogue() -> LocalAiod {
    LocalAiod::start(catalogue().with_latency(
        Duration::from_millis(40),
        Duration::ZERO,
        Duration::ZERO,
    ))
    .unwrap()
}

#[test]
fn tokens_revoked_in_the_middle_of_a_run_are_replaced() {
    let expected = clean_snapshot();
    let hf = LocalServer::start(source()).unwrap();
    let aiod = slow_catalogue();
    let tokens = || aiod.count("POST", TOKEN_PATH);
    let host = Running::start(command(&hf, &aiod, &["run", "--mode", "all"]));
    // Each revocation comes with at least 15 of the 26 writes still to do, and
    // the next waits until the host has replaced the revoked token.
    for (revoked, after_writes) in [1, 6, 11].into_iter().enumerate() {
        wait_for(
            &format!("{after_writes} writes"),
            Duration::from_secs(60),
            || writes(&aiod) >= after_writes,
        );
        aiod.revoke_tokens();
        wait_for(
            &format!("a token to replace revoked token {}", revoked + 1),
            Duration::from_secs(30),
            || tokens() > revoked + 1,
        );
    }
    let (exit, err) = host.wait();
    assert!(exit.success(), "{err}");
    assert_eq!(tokens(), 4, "one new token per revocation:\n{err}");
    assert_same_catalogue(&expected, &aiod, "revoked tokens");
}

#[test]
fn a_sync_killed_at_any_point_resumes_without_losses_or_duplicates() {
    let expected = clean_snapshot();
    // Within the first page of 7, at the start of the second, within the third.
    for kill_at in [1, 8, 17] {
        let what = format!("killed at write {kill_at}");
        let hf = LocalServer::start(source()).unwrap();
        let aiod = slow_catalogue();
        let state = home().join(format!("killed-{kill_at}.sqlite"));
        let state_arg = ["--state", state.to_str().unwrap()];
        let host = Running::start(command(
            &hf,
            &aiod,
            &["run", "--mode", "all", state_arg[0], state_arg[1]],
        ));
        wait_for(&what, Duration::from_secs(60), || writes(&aiod) >= kill_at);
        // Writes from now on are stored but not answered in time: the host,
        // stuck on its uploads in flight, cannot get further before the kill.
        aiod.set_latency(Duration::from_secs(60), Duration::ZERO, Duration::ZERO);
        host.kill();
        aiod.set_latency(Duration::ZERO, Duration::ZERO, Duration::ZERO);

        // The crash left a partial catalogue: what AIoD received, whether the
        // host heard the answer or not, and nothing twice.
        let received = writes(&aiod);
        assert!(
            (kill_at..26).contains(&received),
            "{what}: {received} writes received"
        );
        wait_for(
            "every write received to be stored",
            Duration::from_secs(10),
            || aiod.assets().len() == received,
        );
        assert_eq!(snapshot(&aiod).len(), received, "{what}");

        let err = ok(&sync(
            &hf,
            &aiod,
            &["--mode", "all", state_arg[0], state_arg[1]],
        ));
        assert!(
            err.contains("resuming an unfinished pass"),
            "{what}:\n{err}"
        );
        assert_same_catalogue(&expected, &aiod, &what);
        let posts = writes(&aiod);
        assert!(posts <= 26 + 7, "{what}: {posts} POSTs");
    }
}

#[test]
fn malformed_records_become_dead_letters_or_correct_truncations() {
    let long = "é".repeat(50_000); // 100,000 bytes
    let raw = vec![
        json!(42),
        json!("{not json"),
        json!({"id": "no/oid", "lastModified": "2023-01-01T00:00:00.000Z"}),
        json!({"_id": "0123456789abcdef01234567", "id": "wrong/types", "tags": "not-a-list"}),
        json!({"_id": "0123456789abcdef01234568", "id": "long/description", "description": long,
               "cardData": {"license": 42}, "tags": ["a"], "createdAt": "2023-01-01T00:00:00.000Z"}),
    ];
    let hf = LocalServer::start(HfState::generated(3).with_raw_entries(raw)).unwrap();
    let aiod = LocalAiod::start(catalogue()).unwrap();
    let out = sync(&hf, &aiod, &["--mode", "all"]);
    let err = stderr(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "failed records give exit code 1:\n{err}"
    );
    assert!(
        err.contains("created 4, updated 0, unchanged 0, skipped 0, failed 4"),
        "{err}"
    );

    let long = aiod
        .asset_by_platform_id("huggingface", "0123456789abcdef01234568")
        .unwrap();
    let plain = long["description"]["plain"].as_str().unwrap();
    assert!(
        plain.len() <= 65_535 && plain.ends_with("é [...]"),
        "{}",
        plain.len()
    );
    assert_eq!(long.get("license"), None, "a numeric license is dropped");
    assert!(
        err.contains("cannot read license of \"long/description\": 42"),
        "{err}"
    );

    let listed = failures_output();
    for needle in [
        "not a Hugging Face dataset",
        "dataset \"no/oid\" has no '_id'",
        "wrong/types",
    ] {
        assert!(
            listed.contains(needle),
            "{needle:?} missing from:\n{listed}"
        );
    }
    assert!(listed.contains("4 dead letter(s)"), "{listed}");

    // A second run retries the dead letters (their versions were never marked
    // done) and still loses nothing else.
    let out = sync(&hf, &aiod, &["--mode", "all"]);
    assert!(stderr(&out).contains("unchanged 4"), "{}", stderr(&out));
    assert_eq!(aiod.assets().len(), 4);
}

fn failures_output() -> String {
    let out = aiod_host().arg("failures").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn retry_reprocesses_dead_letters_without_fetching_again() {
    let hf = LocalServer::start(HfState::generated(3)).unwrap();
    let aiod = LocalAiod::start(catalogue()).unwrap();
    // One upload at a time, so the three 500s hit one record.
    aiod.fail_next("POST", "/v2/datasets", 500, 3);
    let out = sync(
        &hf,
        &aiod,
        &[
            "--mode",
            "all",
            "--retries",
            "2",
            "--upload-concurrency",
            "1",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(aiod.assets().len(), 2);
    assert!(failures_output().contains("1 dead letter(s)"));

    let fetched = hf.requests().len();
    let out = command(&hf, &aiod, &["retry"]).output().unwrap();
    let err = ok(&out);
    assert!(err.contains("seen 1, created 1"), "{err}");
    assert_eq!(
        hf.requests().len(),
        fetched,
        "retry must not fetch from Hugging Face"
    );
    assert_eq!(aiod.assets().len(), 3);
    assert!(failures_output().contains("0 dead letter(s)"));
}

#[test]
fn a_dataset_gone_from_the_listing_is_deleted_after_a_complete_pass_only() {
    let hf = LocalServer::start(HfState::generated(40).with_page_size(10)).unwrap();
    let aiod = LocalAiod::start(catalogue()).unwrap();
    ok(&sync(&hf, &aiod, &["--mode", "all"]));
    assert_eq!(aiod.assets().len(), 40);

    // Gone at the source, but the next pass breaks off on page 3: nothing is deleted.
    hf.hf().remove_dataset(&generated_id(5));
    hf.hf()
        .inject("/api/datasets", Fault::Delay(Duration::ZERO), 2);
    hf.hf().inject("/api/datasets", Fault::status(500), 2);
    let out = sync(&hf, &aiod, &["--mode", "all", "--retries", "1"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(aiod.deleted_count(), 0, "deleted after an interrupted pass");

    // The pass resumes and completes: now it is deleted, and logged with its platform id.
    let err = ok(&sync(&hf, &aiod, &["--mode", "all"]));
    assert!(err.contains("resuming an unfinished pass"), "{err}");
    assert_eq!(aiod.deleted_count(), 1);
    assert!(err.contains("deleted from AIoD"), "{err}");
    assert!(err.contains("deleted 1"), "{err}");
    assert_eq!(aiod.assets().len(), 39);
    assert!(
        aiod.assets()
            .iter()
            .all(|a| a["name"] != generated_id(5).as_str()),
        "the removed dataset is still live"
    );
}

#[test]
fn a_mass_delete_needs_consent() {
    let hf = LocalServer::start(HfState::generated(10)).unwrap();
    let aiod = LocalAiod::start(catalogue()).unwrap();
    ok(&sync(&hf, &aiod, &["--mode", "all"]));
    for i in 0..5 {
        hf.hf().remove_dataset(&generated_id(i));
    }
    let err = ok(&sync(&hf, &aiod, &["--mode", "all"]));
    assert!(err.contains("refusing to delete 5 of 10 assets"), "{err}");
    assert_eq!(aiod.deleted_count(), 0);
    let err = ok(&sync(&hf, &aiod, &["--mode", "all", "--no-delete"]));
    assert!(!err.contains("refusing"), "{err}");
    assert_eq!(aiod.deleted_count(), 0);
    ok(&sync(&hf, &aiod, &["--mode", "all", "--allow-mass-delete"]));
    assert_eq!(aiod.deleted_count(), 5);
}

#[test]
fn since_auto_picks_up_only_what_changed_after_the_last_sync() {
    let hf = LocalServer::start(HfState::generated(30).with_page_size(10)).unwrap();
    let aiod = LocalAiod::start(catalogue()).unwrap();
    let out = sync(&hf, &aiod, &["--mode", "since", "--value", "auto"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--value auto needs a completed earlier sync"),
        "{}",
        stderr(&out)
    );

    ok(&sync(&hf, &aiod, &["--mode", "all"]));
    hf.hf()
        .set_field(&generated_id(17), "description", json!("changed"));
    hf.hf().touch(&generated_id(17));
    let listings_before = hf.requests_to("/api/datasets").len();
    let err = ok(&sync(&hf, &aiod, &["--mode", "since", "--value", "auto"]));
    assert!(err.contains("seen 1, created 0, updated 1"), "{err}");
    assert_eq!(hf.requests_to("/api/datasets").len(), listings_before + 1);
}

#[test]
fn a_wait_beyond_the_cap_stops_cleanly_and_the_next_run_continues() {
    let hf = LocalServer::start(HfState::generated(30).with_page_size(10)).unwrap();
    let aiod = LocalAiod::start(catalogue()).unwrap();
    hf.hf()
        .inject("/api/datasets", Fault::Delay(Duration::ZERO), 1);
    hf.hf().inject("/api/datasets", Fault::retry_after(3600), 1);
    let started = Instant::now();
    let out = sync(&hf, &aiod, &["--mode", "all", "--max-wait-secs", "60"]);
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the cursor is saved"),
        "{}",
        stderr(&out)
    );
    assert_eq!(aiod.assets().len(), 10);
    let err = ok(&sync(&hf, &aiod, &["--mode", "all"]));
    assert!(err.contains("resuming an unfinished pass"), "{err}");
    assert_eq!(aiod.assets().len(), 30);
}

#[test]
fn requests_stay_within_the_endpoint_budget() {
    // 12 requests in windows of 6 per second: at least one full window of waiting.
    let hf =
        LocalServer::start(HfState::generated(10).with_budget(6, Duration::from_secs(1))).unwrap();
    let aiod = LocalAiod::start(catalogue()).unwrap();
    let started = Instant::now();
    let out = uploading(&hf.base_url(), &aiod, CLIENT, SECRET)
        .args([
            "run",
            "--mode",
            "all",
            "--budget",
            "hub=3/1",
            "--budget",
            "datasets-server=3/1",
        ])
        .args(["--backoff-ms", "10", "--plugin"])
        .arg(plugin_path())
        .output()
        .unwrap();
    let err = ok(&out);
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert!(err.contains("created 10"), "{err}");
    let throttled = hf.requests().len() - 11;
    assert_eq!(
        throttled, 0,
        "the server answered 429 {throttled} times:\n{err}"
    );
}

/// Uploads in flight together all meet the revoked token; one refresh serves them all.
#[test]
fn concurrent_uploads_share_one_token_refresh() {
    let hf = LocalServer::start(HfState::generated(24)).unwrap();
    let aiod = LocalAiod::start(catalogue().with_latency(
        Duration::from_millis(30),
        Duration::ZERO,
        Duration::ZERO,
    ))
    .unwrap();
    let tokens = || aiod.count("POST", TOKEN_PATH);
    let host = Running::start(command(
        &hf,
        &aiod,
        &["run", "--mode", "all", "--upload-concurrency", "4"],
    ));
    wait_for("two uploads", Duration::from_secs(30), || {
        writes(&aiod) >= 2
    });
    aiod.revoke_tokens();
    let (exit, err) = host.wait();
    assert!(exit.success(), "{err}");
    assert!(err.contains("created 24"), "{err}");
    assert_eq!(
        tokens(),
        2,
        "one refresh for all the uploads that met the revoked token"
    );
}

/// Two syncs on one state (a cron overlap, a second container on the same
/// volume) used to run together: the second "resumed" the first one's pass.
#[test]
fn a_second_sync_on_a_busy_state_is_refused_at_once_and_the_first_is_unharmed() {
    let expected = clean_snapshot();
    let hf = LocalServer::start(source()).unwrap();
    let aiod = LocalAiod::start(catalogue()).unwrap();
    // The first sync's first upload is held for 8 s: long enough for two short commands.
    aiod.inject(
        "POST",
        "/v2/datasets",
        Fault::Delay(Duration::from_secs(8)),
        1,
    );
    let mut first = Running::start(command(&hf, &aiod, &["run", "--mode", "all"]));
    wait_for(
        "the first sync's first upload",
        Duration::from_secs(30),
        || writes(&aiod) >= 1,
    );
    let second = sync(&hf, &aiod, &["--mode", "all"]);
    // Refused while the first still runs: it did not wait for it.
    assert!(first.is_running(), "the second waited for the first");
    assert_eq!(second.status.code(), Some(2), "{}", stderr(&second));
    let err = stderr(&second);
    assert!(
        err.contains(&format!(
            "is in use by another aiod-host (pid {}, since ",
            first.id()
        )),
        "{err}"
    );
    // Read-only commands do not take the lock.
    let out = aiod_host().arg("failures").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(first.is_running(), "the first sync ended too soon to tell");
    let (exit, err) = first.wait();
    assert!(exit.success(), "{err}");
    assert!(err.contains("created 26,"), "{err}");
    assert_same_catalogue(&expected, &aiod, "a second sync refused meanwhile");
}
