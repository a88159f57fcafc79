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
        err.contains("the source refused the stored cursor of this unfinished pass (HTTP 400"),
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
