//! Deletes from AIoD only of what the source confirms is gone: a full pass
//! over an order that moves, a listing that misses a live dataset, a lookup
//! that cannot tell, plugins that cannot look up, and datasets that stop
//! being public.

use crate::support::*;
use local_servers::{Fault, HfState, LocalAiod, LocalServer, generated_id};
use serde_json::{Value, json};

/// The ids of the datasets on the first page of the Hub's default listing
/// (by trending score).
fn first_trending_page(hf: &LocalServer, size: usize) -> Vec<String> {
    let addr = hf.addr().to_string();
    let (status, body) = http_get(&addr, &format!("/api/datasets?limit={size}")).unwrap();
    assert_eq!(status, 200, "{body}");
    let page: Vec<Value> = serde_json::from_str(&body).unwrap();
    page.iter()
        .map(|d| d["id"].as_str().unwrap().to_string())
        .collect()
}

fn lookups_of(hf: &LocalServer, id: &str) -> usize {
    hf.requests_to(&format!("/api/datasets/{id}")).len()
}

/// The bug: a full pass in the Hub's default order (trending, which moves
/// daily) never listed a dataset whose score rose after the pass had gone by,
/// and the host then deleted that live dataset from AIoD.
#[test]
fn a_dataset_rising_in_trending_during_a_full_pass_is_not_deleted() {
    let hf = LocalServer::start(HfState::generated(40).with_page_size(10)).unwrap();
    let aiod = LocalAiod::start(catalogue()).unwrap();
    ok(&sync(&hf, &aiod, &["--mode", "all"]));
    assert_eq!(aiod.assets().len(), 40);

    // After the pass's first page, one dataset that a trending walk has not
    // reached yet jumps to the top: a trending walk would never list it.
    let early = first_trending_page(&hf, 10);
    let riser = (0..40)
        .map(generated_id)
        .find(|id| !early.contains(id))
        .unwrap();
    let moved = riser.clone();
    hf.hf()
        .after_listing_pages(1, move |hub| hub.set_trending(&moved, 1_000_000));
    let err = ok(&sync(&hf, &aiod, &["--mode", "all"]));
    // The switch did fire: the riser now heads the trending order.
    assert_eq!(first_trending_page(&hf, 1), std::slice::from_ref(&riser));
    assert!(err.contains("seen 40,"), "{err}");
    assert_eq!(aiod.deleted_count(), 0, "deleted a live dataset:\n{err}");
    assert_eq!(aiod.assets().len(), 40);
    // Every listing page of the pass was in creation order, which never moves.
    for r in hf.requests_to("/api/datasets") {
        if r.query_param("cursor").is_some() || r.query_param("full").is_some() {
            assert_eq!(r.query_param("sort").as_deref(), Some("createdAt"), "{r:?}");
        }
    }
}

#[test]
fn a_live_dataset_the_listing_misses_is_looked_up_and_kept() {
    let hf = LocalServer::start(HfState::generated(20)).unwrap();
    let aiod = LocalAiod::start(catalogue()).unwrap();
    ok(&sync(&hf, &aiod, &["--mode", "all"]));
    let missed = generated_id(7);
    hf.hf().hide_from_listing(&missed);
    let err = ok(&sync(&hf, &aiod, &["--mode", "all"]));
    assert_eq!(lookups_of(&hf, &missed), 1, "{err}");
    assert_eq!(aiod.deleted_count(), 0, "{err}");
    assert!(
        err.contains("kept in AIoD: the complete pass did not list it, but it still exists"),
        "{err}"
    );
    assert!(err.contains(&missed), "{err}");
}

#[test]
fn a_dataset_really_gone_is_deleted_once_the_hub_confirms_it() {
    let hf = LocalServer::start(HfState::generated(20)).unwrap();
    let aiod = LocalAiod::start(catalogue()).unwrap();
    ok(&sync(&hf, &aiod, &["--mode", "all"]));
    let gone = generated_id(3);
    hf.hf().remove_dataset(&gone);
    let err = ok(&sync(&hf, &aiod, &["--mode", "all"]));
    // One lookup, answered 401 RepoNotFound (anonymously the Hub answers so).
    assert_eq!(lookups_of(&hf, &gone), 1);
    assert_eq!(aiod.deleted_count(), 1, "{err}");
    assert!(
        err.contains(&format!(
            "deleted from AIoD: {gone:?} is not on Hugging Face, or it is private now"
        )),
        "{err}"
    );
    assert!(err.contains("deleted 1"), "{err}");
    assert!(aiod.assets().iter().all(|a| a["name"] != gone.as_str()));
}

#[test]
fn a_lookup_that_cannot_tell_keeps_the_asset_until_the_next_pass() {
    let hf = LocalServer::start(HfState::generated(20)).unwrap();
    let aiod = LocalAiod::start(catalogue()).unwrap();
    ok(&sync(&hf, &aiod, &["--mode", "all"]));
    let gone = generated_id(3);
    hf.hf().remove_dataset(&gone);
    // The lookup meets a failing Hub: a first try and one retry.
    let lookup = format!("/api/datasets/{gone}");
    hf.hf().inject(&lookup, Fault::status(503), 2);
    let err = ok(&sync(&hf, &aiod, &["--mode", "all", "--retries", "1"]));
    assert_eq!(lookups_of(&hf, &gone), 2);
    assert_eq!(aiod.deleted_count(), 0, "{err}");
    assert!(
        err.contains("kept in AIoD for now: the complete pass did not list it, and the source did not confirm that it is gone (HTTP 503"),
        "{err}"
    );
    // The next complete pass asks again, and the Hub now answers.
    let err = ok(&sync(&hf, &aiod, &["--mode", "all"]));
    assert_eq!(aiod.deleted_count(), 1, "{err}");
}

#[test]
fn a_plugin_that_cannot_look_up_deletes_only_what_two_passes_in_a_row_missed() {
    let old = test_plugin("huggingface-v0.1.1.wasm");
    let hf = LocalServer::start(HfState::generated(20)).unwrap();
    let aiod = LocalAiod::start(catalogue()).unwrap();
    let sync_old = |args: &[&str]| {
        let mut all = vec!["run"];
        all.extend_from_slice(args);
        command_with(&hf, &aiod, &old, &all).output().unwrap()
    };
    ok(&sync_old(&["--mode", "all"]));
    hf.hf().remove_dataset(&generated_id(3));
    let err = ok(&sync_old(&["--mode", "all"]));
    assert_eq!(aiod.deleted_count(), 0, "{err}");
    assert!(
        err.contains("it is deleted if the next complete pass does not list it either"),
        "{err}"
    );
    // An id sync is no complete pass: it changes nothing about that.
    ok(&sync_old(&["--mode", "id", "--value", &generated_id(5)]));
    assert_eq!(aiod.deleted_count(), 0);
    let err = ok(&sync_old(&["--mode", "all"]));
    assert_eq!(aiod.deleted_count(), 1, "{err}");
    assert!(
        err.contains("two complete passes in a row did not list it"),
        "{err}"
    );
    assert_eq!(
        lookups_of(&hf, &generated_id(3)),
        0,
        "an old plugin plans no lookup"
    );
}

/// With `HF_TOKEN` the Hub lists private datasets the token can read; they,
/// and disabled ones, are never published, and withdrawn if they were.
#[test]
fn private_and_disabled_datasets_are_not_published_and_withdrawn_if_they_were() {
    const TOKEN: &str = "hf_private_reader_token";
    // 50 datasets: withdrawing 2 stays under the mass-delete guard's 5%.
    let hf = LocalServer::start(HfState::generated(50).with_token(TOKEN)).unwrap();
    hf.hf().set_field(&generated_id(0), "private", json!(true));
    hf.hf().set_field(&generated_id(1), "disabled", json!(true));
    hf.hf()
        .set_field(&generated_id(2), "gated", json!("manual"));
    let aiod = LocalAiod::start(catalogue()).unwrap();
    let with_token = |args: &[&str]| {
        let mut all = vec!["run"];
        all.extend_from_slice(args);
        command(&hf, &aiod, &all)
            .env("HF_TOKEN", TOKEN)
            .output()
            .unwrap()
    };
    let err = ok(&with_token(&["--mode", "all"]));
    assert!(err.contains("seen 50, created 48,"), "{err}");
    assert!(err.contains("skipped 2"), "{err}");
    let names: Vec<String> = aiod
        .assets()
        .iter()
        .map(|a| a["name"].as_str().unwrap().to_string())
        .collect();
    assert!(!names.contains(&generated_id(0)), "private published");
    assert!(!names.contains(&generated_id(1)), "disabled published");
    assert!(
        names.contains(&generated_id(2)),
        "a gated dataset's metadata is public"
    );
    assert!(err.contains("a private dataset is not published"), "{err}");
    assert!(
        err.contains("the dataset is disabled on Hugging Face"),
        "{err}"
    );
    // Neither costs a datasets-server request.
    for i in [0, 1] {
        let parquet = hf.requests_to("/parquet");
        assert!(
            parquet
                .iter()
                .all(|r| r.query_param("dataset") != Some(generated_id(i))),
            "{i}"
        );
    }

    // Two published datasets become private and disabled: both are withdrawn.
    hf.hf().set_field(&generated_id(3), "private", json!(true));
    hf.hf().set_field(&generated_id(4), "disabled", json!(true));
    let err = ok(&with_token(&["--mode", "all"]));
    assert_eq!(aiod.deleted_count(), 2, "{err}");
    assert!(err.contains("deleted 2"), "{err}");
    assert!(
        err.contains("deleted from AIoD: the plugin no longer publishes"),
        "{err}"
    );
    let live: Vec<String> = aiod
        .assets()
        .iter()
        .map(|a| a["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(live.len(), 46);
    for i in [3, 4] {
        assert!(!live.contains(&generated_id(i)), "{i} still published");
    }
    // Withdrawn once: the next run neither deletes nor re-maps them.
    let err = ok(&with_token(&["--mode", "all"]));
    assert_eq!(aiod.deleted_count(), 2, "{err}");
    assert!(err.contains("unchanged 50"), "{err}");
}

/// Without a token the Hub does not list a dataset that became private; the
/// lookup (401 RepoNotFound, as for a missing repo) confirms it is gone.
#[test]
fn a_dataset_made_private_leaves_the_anonymous_listing_and_is_deleted() {
    let hf = LocalServer::start(HfState::generated(20)).unwrap();
    let aiod = LocalAiod::start(catalogue()).unwrap();
    ok(&sync(&hf, &aiod, &["--mode", "all"]));
    hf.hf().set_field(&generated_id(9), "private", json!(true));
    let err = ok(&sync(&hf, &aiod, &["--mode", "all"]));
    assert!(err.contains("seen 19,"), "{err}");
    assert_eq!(aiod.deleted_count(), 1, "{err}");
}

/// Plugins built before contract 0.1.2 were written for a `skip` that only
/// logs: what AIoD holds of a record they skip stays.
#[test]
fn a_skip_from_a_plugin_built_before_withdrawals_deletes_nothing() {
    const TOKEN: &str = "hf_old_plugin_token";
    let old = test_plugin("huggingface-v0.1.1.wasm");
    let hf = LocalServer::start(HfState::generated(50).with_token(TOKEN)).unwrap();
    let aiod = LocalAiod::start(catalogue()).unwrap();
    let run = || {
        command_with(&hf, &aiod, &old, &["run", "--mode", "all"])
            .env("HF_TOKEN", TOKEN)
            .output()
            .unwrap()
    };
    ok(&run());
    hf.hf().set_field(&generated_id(4), "private", json!(true));
    let err = ok(&run());
    assert!(err.contains("skipped 1"), "{err}");
    assert_eq!(aiod.deleted_count(), 0, "{err}");
    // Nor later, by a complete pass that did list it.
    ok(&run());
    assert_eq!(aiod.deleted_count(), 0);
}

/// An asset found in AIoD that this host never listed is looked up by its
/// name there, which someone may have edited: a "not found" deletes it only
/// once a second complete pass has missed it too.
#[test]
fn an_asset_found_in_aiod_but_never_listed_is_deleted_after_two_passes() {
    let hf = LocalServer::start(HfState::generated(30)).unwrap();
    let aiod = LocalAiod::start(catalogue()).unwrap();
    let body = json!({
        "platform": "huggingface",
        "platform_resource_identifier": "66ffffffffffffffffffffff",
        "name": "somebody/deleted-long-ago",
        "same_as": "https://huggingface.co/datasets/somebody/deleted-long-ago",
    });
    aiod.insert(body);
    let err = ok(&sync(&hf, &aiod, &["--mode", "all"]));
    assert_eq!(lookups_of(&hf, "somebody/deleted-long-ago"), 1);
    assert_eq!(aiod.deleted_count(), 0, "{err}");
    assert!(err.contains("this host never listed it"), "{err}");
    let err = ok(&sync(&hf, &aiod, &["--mode", "all"]));
    assert_eq!(aiod.deleted_count(), 1, "{err}");
    assert!(
        err.contains("two complete passes in a row did not list it"),
        "{err}"
    );
}

/// A 404 that is not the Hub's own "not found" (e.g. a mirror in
/// `HF_ENDPOINT` that does not route lookups) deletes nothing.
#[test]
fn a_lookup_answered_by_something_else_than_the_hub_deletes_nothing() {
    let hf = LocalServer::start(HfState::generated(20)).unwrap();
    let aiod = LocalAiod::start(catalogue()).unwrap();
    ok(&sync(&hf, &aiod, &["--mode", "all"]));
    let gone = generated_id(3);
    hf.hf().remove_dataset(&gone);
    let not_routed = Fault::Status {
        status: 404,
        headers: Vec::new(),
        content_type: "text/html".into(),
        body: "<html><body>404 Not Found</body></html>".into(),
    };
    hf.hf()
        .inject(&format!("/api/datasets/{gone}"), not_routed, 1);
    let err = ok(&sync(&hf, &aiod, &["--mode", "all"]));
    assert_eq!(aiod.deleted_count(), 0, "{err}");
    assert!(
        err.contains("did not confirm that it is gone (HTTP 404"),
        "{err}"
    );
}
