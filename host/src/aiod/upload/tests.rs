//! What each AIoD answer makes of one put, against the local AIoD and Keycloak.

use super::*;
use crate::aiod::settings::{AiodSettings, DEFAULT_REALM, DEFAULT_VERSION};
use crate::fetch::{BodyLimit, Fetcher, Pause};
use crate::retry::RetryPolicy;
use crate::secret::Secret;
use local_servers::{AiodState, Fault, LocalAiod};
use std::collections::HashMap;
use std::time::Duration;

const CLIENT: &str = "platform_huggingface";
const SECRET: &str = "upload-test-secret";

fn catalogue(roles: &[&str]) -> LocalAiod {
    LocalAiod::start(AiodState::new().with_client(CLIENT, SECRET, roles)).unwrap()
}

fn uploader(aiod: &LocalAiod, lookup_unknown: bool) -> Uploader {
    let settings = AiodSettings {
        api_server: aiod.api_url().parse().unwrap(),
        version: DEFAULT_VERSION.into(),
        auth_server: aiod.auth_url().parse().unwrap(),
        realm: DEFAULT_REALM.into(),
        client_id: CLIENT.into(),
        secret: Secret::new(SECRET.into()),
    };
    let policy = RetryPolicy {
        retries: 1,
        base: Duration::from_millis(1),
        max_backoff: Duration::from_millis(5),
        max_wait: Duration::from_secs(60),
    };
    let limit = BodyLimit {
        bytes: 1 << 20,
        flag: "--max-listing-mib",
    };
    let http = Fetcher::new(Duration::from_secs(10), policy, HashMap::new(), limit).unwrap();
    let aiod = Aiod::new(http, &settings).unwrap();
    Uploader::new(aiod, "huggingface".into(), lookup_unknown, 1)
}

/// The first dataset of the recorded Hugging Face fixture, as the plugin maps it.
fn asset() -> Asset {
    let expected = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../plugins/huggingface/fixtures/recorded/expected.jsonl");
    let line = std::fs::read_to_string(expected).unwrap();
    let first: Value = serde_json::from_str(line.lines().next().unwrap()).unwrap();
    Asset {
        asset_type: first["asset_type"].as_str().unwrap().into(),
        platform_resource_identifier: first["platform_resource_identifier"]
            .as_str()
            .unwrap()
            .into(),
        body: first["body"].clone(),
    }
}

fn renamed(mut asset: Asset, name: &str) -> Asset {
    asset.body["name"] = name.into();
    asset
}

fn writes(aiod: &LocalAiod) -> (usize, usize) {
    (
        aiod.count("POST", "/v2/datasets"),
        aiod.count("PUT", "/v2/datasets"),
    )
}

#[tokio::test]
async fn a_new_asset_is_created_then_unchanged_then_updated() {
    let aiod = catalogue(&["platform_huggingface"]);
    let up = uploader(&aiod, false);
    let created = up.put(asset(), None).await.unwrap();
    assert_eq!(created.outcome, Outcome::Created);
    let stored = created.stored.unwrap();
    assert_eq!(writes(&aiod), (1, 0));

    let same = up.put(asset(), Some(stored.clone())).await.unwrap();
    assert_eq!(same.outcome, Outcome::Unchanged);
    assert_eq!(writes(&aiod), (1, 0), "an unchanged body costs no request");

    let changed = up
        .put(renamed(asset(), "renamed"), Some(stored.clone()))
        .await
        .unwrap();
    assert_eq!(changed.outcome, Outcome::Updated);
    assert_eq!(changed.stored.unwrap().identifier, stored.identifier);
    assert_eq!(writes(&aiod), (1, 1));
    let held = aiod.asset_by_platform_id("huggingface", &stored.platform_resource_identifier);
    assert_eq!(held.unwrap()["name"], "renamed");
}

#[tokio::test]
async fn an_asset_aiod_already_has_is_updated_where_it_is() {
    let aiod = catalogue(&["platform_huggingface"]);
    let identifier = aiod.insert(renamed(asset(), "older").body);
    let put = uploader(&aiod, false).put(asset(), None).await.unwrap();
    assert_eq!(put.outcome, Outcome::Updated, "POST answered 409, then PUT");
    assert_eq!(put.stored.unwrap().identifier, identifier);
    assert_eq!(writes(&aiod), (1, 1));
}

#[tokio::test]
async fn an_asset_deleted_in_aiod_since_is_created_again() {
    let aiod = catalogue(&["platform_huggingface"]);
    // The state remembers an asset the (empty) catalogue no longer has.
    let remembered = StoredAsset {
        asset_type: asset().asset_type,
        platform_resource_identifier: asset().platform_resource_identifier,
        identifier: "data_000000000000000000000000".into(),
        body_hash: "of an older body".into(),
    };
    let put = uploader(&aiod, false)
        .put(asset(), Some(remembered))
        .await
        .unwrap();
    assert_eq!(put.outcome, Outcome::Created);
    assert_eq!(
        aiod.count("PUT", "/v2/datasets/data_000000000000000000000000"),
        1
    );
    assert_eq!(aiod.count("POST", "/v2/datasets"), 1);
}

#[tokio::test]
async fn a_body_that_breaks_the_schema_is_not_sent() {
    let aiod = catalogue(&["platform_huggingface"]);
    let mut bad = asset();
    bad.body["name"] = serde_json::json!(42);
    match uploader(&aiod, false).put(bad, None).await {
        Err(PutError::Invalid(message)) => {
            assert!(
                message.starts_with("not sent: the body does not validate"),
                "{message}"
            )
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    assert_eq!(writes(&aiod), (0, 0));
}

#[tokio::test]
async fn a_missing_role_ends_the_run_and_says_which_role() {
    let aiod = catalogue(&[]);
    match uploader(&aiod, false).put(asset(), None).await {
        Err(PutError::Fatal(message)) => assert!(
            message.contains("platform_<name> role")
                && message.contains("PLATFORM_NAME (huggingface)"),
            "{message}"
        ),
        other => panic!("expected Fatal, got {other:?}"),
    }
}

#[tokio::test]
async fn a_rejected_body_or_a_lasting_server_error_costs_only_the_record() {
    let aiod = catalogue(&["platform_huggingface"]);
    let up = uploader(&aiod, false);
    aiod.fail_next("POST", "/v2/datasets", 422, 1);
    assert!(
        matches!(up.put(asset(), None).await, Err(PutError::Rejected(m)) if m.starts_with("AIoD rejected the body as invalid"))
    );
    aiod.fail_next("POST", "/v2/datasets", 500, 2);
    assert!(
        matches!(up.put(asset(), None).await, Err(PutError::Rejected(m)) if m.contains("HTTP 500"))
    );
    assert_eq!(
        aiod.count("POST", "/v2/datasets"),
        3,
        "the 500 was retried once"
    );
}

#[tokio::test]
async fn a_wait_beyond_the_cap_pauses_with_its_figures() {
    let aiod = catalogue(&["platform_huggingface"]);
    let slow_down = Fault::Status {
        status: 429,
        headers: vec![("retry-after".into(), "3600".into())],
        content_type: "application/json".into(),
        body: r#"{"detail":"Too many requests"}"#.into(),
    };
    aiod.inject("POST", "/v2/datasets", slow_down, 1);
    match uploader(&aiod, false).put(asset(), None).await {
        Err(PutError::Paused(Pause { wait, cap, .. })) => {
            assert_eq!(
                (wait, cap),
                (Duration::from_secs(3600), Duration::from_secs(60))
            )
        }
        other => panic!("expected Paused, got {other:?}"),
    }
}

#[tokio::test]
async fn without_a_state_an_unknown_asset_is_looked_up_first() {
    let aiod = catalogue(&["platform_huggingface"]);
    aiod.insert(asset().body);
    let put = uploader(&aiod, true).put(asset(), None).await.unwrap();
    assert_eq!(
        put.outcome,
        Outcome::Unchanged,
        "found by lookup with the same body"
    );
    assert_eq!(writes(&aiod), (0, 0));
}
