//! `run --mode all --dry-run` prints exactly the expected bodies.

use crate::support::*;
use local_servers::{HfState, LocalServer};
use serde_json::{Value, json};
use std::collections::BTreeMap;

fn expected() -> Vec<Value> {
    include_str!("../../../plugins/huggingface/fixtures/recorded/expected.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn all_mode_prints_the_expected_body_of_every_recorded_dataset() {
    let server = LocalServer::start(HfState::recorded()).unwrap();
    let out = dry_run(&server, &["--mode", "all"]);
    // Keyed by platform id: the listing order is the Hub's (newest created first).
    let by_id = |assets: Vec<Value>| -> BTreeMap<String, Value> {
        assets
            .into_iter()
            .map(|a| (a["platform_resource_identifier"].to_string(), a))
            .collect()
    };
    let actual = by_id(assets(&out));
    let expected = by_id(expected());
    assert_eq!(
        actual.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "{}",
        stderr(&out)
    );
    for (id, e) in &expected {
        assert_json_eq(id, e, &actual[id]);
    }
    assert!(stderr(&out).contains(
        "summary: seen 6, created 0, updated 0, unchanged 0, skipped 0, failed 0, printed 6 (1 pages, 1 warnings)"
    ));
}

#[test]
fn recorded_values_the_old_connector_tests_expected() {
    let server = LocalServer::start(HfState::recorded()).unwrap();
    let actual = assets(&dry_run(&server, &["--mode", "all"]));
    let by_name = |name: &str| -> &Value {
        &actual
            .iter()
            .find(|a| a["body"]["name"] == name)
            .unwrap_or_else(|| panic!("{name} missing"))["body"]
    };

    let acronym = by_name("acronym_identification");
    assert_eq!(acronym["platform"], "huggingface");
    assert_eq!(
        acronym["platform_resource_identifier"],
        "621ffdd236468d709f181d58"
    );
    assert_eq!(
        acronym["same_as"],
        "https://huggingface.co/datasets/acronym_identification"
    );
    assert_eq!(acronym["keyword"].as_array().unwrap().len(), 11);
    let urls: Vec<&str> = acronym["distribution"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["content_url"].as_str().unwrap())
        .collect();
    let base = "https://huggingface.co/datasets/acronym_identification/resolve/refs%2Fconvert%2Fparquet/default/acronym_identification";
    assert_eq!(
        urls,
        [
            format!("{base}-test.parquet"),
            format!("{base}-train.parquet"),
            format!("{base}-validation.parquet")
        ]
    );

    let licenses: BTreeMap<&str, &Value> = actual
        .iter()
        .map(|a| (a["body"]["name"].as_str().unwrap(), &a["body"]["license"]))
        .collect();
    assert_eq!(
        licenses,
        BTreeMap::from([
            ("acronym_identification", &json!("mit")),
            ("rotten_tomatoes", &json!("unknown")),
            ("0n1xus/codexglue", &Value::Null),
            ("04-07-22/wep-probes", &json!("apache-2.0")),
            ("air_dialogue", &json!("cc-by-nc-4.0")),
            ("bobbydylan/top2k", &Value::Null),
        ])
    );
}

#[test]
fn platform_name_comes_from_the_environment() {
    let server = LocalServer::start(HfState::recorded()).unwrap();
    let base = server.base_url();
    let env = [
        ("HF_ENDPOINT", base.clone()),
        ("HF_DATASETS_SERVER_ENDPOINT", base),
        ("PLATFORM_NAME", "example".to_string()),
    ];
    let out = dry_run_env(&env, &["--mode", "all"]);
    let actual = assets(&out);
    assert!(actual.iter().all(|a| a["body"]["platform"] == "example"));
}

#[test]
fn dry_run_sends_requests_only_to_the_local_servers_and_logs_to_stderr() {
    let server = LocalServer::start(HfState::recorded()).unwrap();
    let out = dry_run(&server, &["--mode", "all"]);
    assets(&out);
    // One listing page and one /parquet per dataset; nothing else.
    let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths.iter().filter(|p| *p == "/api/datasets").count(), 1);
    assert_eq!(paths.iter().filter(|p| *p == "/parquet").count(), 6);
    assert_eq!(paths.len(), 7, "{paths:?}");
    assert!(stderr(&out).contains("plugin loaded"));
}

#[test]
fn a_hugging_face_token_goes_to_the_hub_only_and_is_never_printed() {
    let server =
        LocalServer::start(HfState::generated(2).with_token("hf_secret_token_123")).unwrap();
    let base = server.base_url();
    let out = aiod_host()
        .env("HF_ENDPOINT", &base)
        .env("HF_DATASETS_SERVER_ENDPOINT", &base)
        .env("AIOD_HF_API_KEY", "hf_secret_token_123")
        .args([
            "run",
            "--mode",
            "all",
            "--dry-run",
            "--app-log-level",
            "debug",
            "--plugin",
        ])
        .arg(plugin_path())
        .output()
        .unwrap();
    assets(&out);
    let err = stderr(&out);
    assert!(
        !err.contains("hf_secret_token_123"),
        "the token leaked:\n{err}"
    );
    assert!(
        err.contains("budget 1000 requests per 300s, with token"),
        "{err}"
    );
    for r in server.requests_to("/api/datasets") {
        assert_eq!(
            r.header("authorization"),
            Some("Bearer hf_secret_token_123")
        );
    }
    for r in server.requests_to("/parquet") {
        assert_eq!(
            r.header("authorization"),
            None,
            "the datasets-server call is anonymous"
        );
    }
}
