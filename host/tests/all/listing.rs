//! What a pass over the Hub's listing costs and survives: pages of 1,000,
//! a stored cursor the Hub no longer accepts, versions that see tag changes.

use crate::support::*;
use local_servers::{Fault, HfState, LocalAiod, LocalServer, generated_id};
use serde_json::json;

#[test]
fn a_no_change_re_sync_costs_one_listing_request_per_thousand_datasets() {
    let n = 2001;
    let hf = LocalServer::start(HfState::generated(n)).unwrap();
    let aiod = LocalAiod::start(catalogue()).unwrap();
    ok(&sync(&hf, &aiod, &["--mode", "all"]));
    let before = hf.requests().len();
    let err = ok(&sync(&hf, &aiod, &["--mode", "all"]));
    assert!(err.contains(&format!("unchanged {n}")), "{err}");
    let requests = hf.requests()[before..].to_vec();
    assert_eq!(requests.len(), n.div_ceil(1000), "{requests:?}");
    for r in &requests {
        assert_eq!(r.path, "/api/datasets");
        assert_eq!(r.query_param("limit").as_deref(), Some("1000"));
        assert_eq!(r.query_param("sort").as_deref(), Some("createdAt"));
    }
}

#[test]
fn a_stored_cursor_the_hub_refuses_gives_way_to_a_new_pass_in_the_same_run() {
    let hf = LocalServer::start(HfState::generated(30).with_page_size(10)).unwrap();
    let aiod = LocalAiod::start(catalogue()).unwrap();
    // The pass breaks off after its first page, its cursor stored.
    hf.hf()
        .inject("/api/datasets", Fault::Delay(std::time::Duration::ZERO), 1);
    hf.hf().inject("/api/datasets", Fault::status(500), 2);
    let out = sync(&hf, &aiod, &["--mode", "all", "--retries", "1"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(aiod.assets().len(), 10);

    // Meanwhile the Hub stops accepting cursors it issued earlier.
    hf.hf().expire_cursors();
    hf.hf().remove_dataset(&generated_id(0));
    let err = ok(&sync(&hf, &aiod, &["--mode", "all"]));
    assert!(err.contains("resuming an unfinished pass"), "{err}");
    assert!(
        err.contains(
            "the stored cursor of this unfinished pass cannot be used (the source refused it: \
             HTTP 400"
        ),
        "{err}"
    );
    assert!(err.contains("a new one starts"), "{err}");
    // The new pass lists everything from the start and completes.
    assert!(err.contains("seen 29,"), "{err}");
    assert_eq!(aiod.assets().len() + aiod.deleted_count(), 30);
    assert_eq!(
        aiod.deleted_count(),
        1,
        "the new, complete pass deletes (confirmed)"
    );
    let err = ok(&sync(&hf, &aiod, &["--mode", "all"]));
    assert!(!err.contains("resuming"), "{err}");
}

/// A first run that breaks off after one page of ten, its cursor stored.
fn broken_off_after_one_page(hf: &LocalServer, aiod: &LocalAiod) {
    hf.hf()
        .inject("/api/datasets", Fault::Delay(std::time::Duration::ZERO), 1);
    hf.hf().inject("/api/datasets", Fault::status(500), 2);
    let out = sync(hf, aiod, &["--mode", "all", "--retries", "1"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(aiod.assets().len(), 10);
}

/// A cursor stored before the operator moved `HF_ENDPOINT` points outside the
/// endpoint now: the host refuses it, abandons that pass and starts a new one,
/// instead of failing every later run.
#[test]
fn a_stored_cursor_the_host_refuses_gives_way_to_a_new_pass() {
    let hf = LocalServer::start(HfState::generated(30).with_page_size(10)).unwrap();
    let aiod = LocalAiod::start(catalogue()).unwrap();
    broken_off_after_one_page(&hf, &aiod);
    let moved = LocalServer::start(HfState::generated(30).with_page_size(10)).unwrap();
    let old_endpoint = hf.requests().len();
    let err = ok(&sync(&moved, &aiod, &["--mode", "all"]));
    assert!(
        err.contains("cannot be used (the host refuses it: "),
        "{err}"
    );
    assert!(err.contains("seen 30,"), "{err}");
    assert_eq!(
        hf.requests().len(),
        old_endpoint,
        "nothing more went to the old endpoint"
    );
}

/// A stored cursor that is not a list of requests (a damaged state) is
/// abandoned with a warning; the new pass completes.
#[test]
fn an_unreadable_stored_cursor_is_abandoned() {
    let hf = LocalServer::start(HfState::generated(30).with_page_size(10)).unwrap();
    let aiod = LocalAiod::start(catalogue()).unwrap();
    broken_off_after_one_page(&hf, &aiod);
    let state = home().join(".local/share/aiod-host/huggingface.sqlite");
    let db = rusqlite::Connection::open(&state).unwrap();
    let changed = db
        .execute(
            "UPDATE passes SET cursor = '{not json' WHERE cursor IS NOT NULL",
            [],
        )
        .unwrap();
    assert!(changed >= 1);
    drop(db);
    let err = ok(&sync(&hf, &aiod, &["--mode", "all"]));
    assert!(err.contains("(it is not a list of requests: "), "{err}");
    assert!(err.contains("a new one starts"), "{err}");
    assert!(err.contains("seen 30,"), "{err}");
}

/// `reset-pass` abandons an unfinished pass on purpose: the next run starts
/// from the first page.
#[test]
fn reset_pass_abandons_an_unfinished_pass() {
    let hf = LocalServer::start(HfState::generated(30).with_page_size(10)).unwrap();
    let aiod = LocalAiod::start(catalogue()).unwrap();
    broken_off_after_one_page(&hf, &aiod);
    let out = aiod_host().arg("reset-pass").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("abandoned pass 1 (all, started "),
        "{}",
        stdout(&out)
    );
    let again = aiod_host().arg("reset-pass").output().unwrap();
    assert!(
        stdout(&again).starts_with("no unfinished pass in "),
        "{}",
        stdout(&again)
    );
    let err = ok(&sync(&hf, &aiod, &["--mode", "all"]));
    assert!(!err.contains("resuming"), "{err}");
    assert!(err.contains("seen 30,"), "{err}");
}

#[test]
fn a_tag_change_without_a_commit_is_uploaded_and_a_download_count_is_not() {
    let hf = LocalServer::start(HfState::generated(5)).unwrap();
    let aiod = LocalAiod::start(catalogue()).unwrap();
    ok(&sync(&hf, &aiod, &["--mode", "all"]));
    // The dataset viewer adds tags after processing a commit: same sha and lastModified.
    let tags = json!([
        "task_categories:text-classification",
        "language:en",
        "license:cc-by-4.0",
        "region:us",
        "format:parquet",
        "modality:text"
    ]);
    hf.hf().set_field(&generated_id(1), "tags", tags);
    hf.hf()
        .set_field(&generated_id(2), "downloads", json!(987_654));
    hf.hf().set_field(&generated_id(3), "likes", json!(4321));
    hf.hf()
        .set_field(&generated_id(3), "trendingScore", json!(77));
    let before = hf.requests_to("/parquet").len();
    let err = ok(&sync(&hf, &aiod, &["--mode", "all"]));
    assert!(err.contains("updated 1, unchanged 4"), "{err}");
    assert_eq!(hf.requests_to("/parquet").len(), before + 1);
    let asset = aiod
        .assets()
        .into_iter()
        .find(|a| a["name"] == generated_id(1).as_str())
        .unwrap();
    assert!(
        asset["keyword"]
            .as_array()
            .unwrap()
            .contains(&json!("format:parquet")),
        "{asset}"
    );
}
