//! `since` and `id` modes, and datasets whose `/parquet` fails.

use crate::support::*;
use local_servers::{Canned, HfState, LocalServer, generated_id};

#[test]
fn since_stops_at_the_cutoff_and_requests_no_further_page() {
    // Generated datasets are modified one minute apart, newest first from
    // 2024-06-30T12:00Z; pages of 10. The cutoff falls inside the second page.
    let server = LocalServer::start(HfState::generated(100).with_page_size(10)).unwrap();
    let out = dry_run(
        &server,
        &["--mode", "since", "--value", "2024-06-30T11:45:00Z"],
    );
    let names: Vec<String> = assets(&out)
        .iter()
        .map(|a| a["body"]["name"].as_str().unwrap().to_string())
        .collect();
    let expected: Vec<String> = (0..=15).map(generated_id).collect();
    assert_eq!(names, expected);

    let listings = server.requests_to("/api/datasets");
    assert_eq!(
        listings.len(),
        2,
        "a third page was requested: {listings:?}"
    );
    for r in &listings {
        assert_eq!(r.query_param("sort").as_deref(), Some("lastModified"));
        assert_eq!(r.query_param("direction"), None);
    }
    // No follow-up for datasets past the cutoff either.
    assert_eq!(server.requests_to("/parquet").len(), 16);
}

#[test]
fn since_accepts_a_plain_date_as_utc_midnight() {
    let server = LocalServer::start(HfState::recorded()).unwrap();
    // The recorded data was last modified in 2023: nothing is newer than 2024-01-01.
    let out = dry_run(&server, &["--mode", "since", "--value", "2024-01-01"]);
    assert!(assets(&out).is_empty());
    assert_eq!(server.requests_to("/api/datasets").len(), 1);
    assert!(server.requests_to("/parquet").is_empty());
}

#[test]
fn id_maps_one_dataset() {
    let server = LocalServer::start(HfState::recorded()).unwrap();
    let out = dry_run(&server, &["--mode", "id", "--value", "0n1xus/codexglue"]);
    let assets = assets(&out);
    assert_eq!(assets.len(), 1);
    assert_eq!(assets[0]["body"]["name"], "0n1xus/codexglue");
    assert_eq!(
        assets[0]["body"]["distribution"].as_array().unwrap().len(),
        6
    );
    let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/api/datasets/0n1xus/codexglue", "/parquet"]);
}

#[test]
fn id_of_an_unknown_dataset_says_so() {
    let server = LocalServer::start(HfState::recorded()).unwrap();
    let out = dry_run(&server, &["--mode", "id", "--value", "nobody/nothing"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("dataset \"nobody/nothing\" not found on Hugging Face (HTTP 401)"),
        "{err}"
    );
}

#[test]
fn a_failing_parquet_keeps_the_dataset_without_distributions() {
    let examples = [
        "parquet-401-inexistent-dataset-and-not-authenticated.json",
        "parquet-404-gated-dataset-and-not-authenticated-or-authorized.json",
        "parquet-422-missing-dataset-parameter.json",
        "parquet-500-error-in-the-dataset-itself.json",
        "parquet-500-internal-server-error.txt",
        "parquet-501-blocked-dataset.json",
    ];
    let server = LocalServer::start(HfState::generated(examples.len())).unwrap();
    for (i, example) in examples.iter().enumerate() {
        server
            .hf()
            .set_parquet(generated_id(i), Canned::from_example(example));
    }
    let out = dry_run(&server, &["--mode", "all"]);
    let assets = assets(&out);
    assert_eq!(assets.len(), examples.len());
    let err = stderr(&out);
    for (i, (asset, example)) in assets.iter().zip(examples).enumerate() {
        assert_eq!(asset["body"]["name"], generated_id(i));
        assert_eq!(
            asset["body"]["distribution"],
            serde_json::json!([]),
            "{example}"
        );
        let status = &example[8..11];
        let warning = format!(
            "no parquet files for dataset \"{}\": HTTP {status}",
            generated_id(i)
        );
        assert!(err.contains(&warning), "missing {warning:?} in:\n{err}");
    }
    assert!(err.contains("HTTP 500: Internal Server Error."), "{err}");
}

#[test]
fn an_unreachable_datasets_server_costs_only_the_distributions() {
    let server = LocalServer::start(HfState::generated(2)).unwrap();
    let env = [
        ("HF_ENDPOINT", server.base_url()),
        (
            "HF_DATASETS_SERVER_ENDPOINT",
            format!("http://127.0.0.1:{}", closed_port()),
        ),
    ];
    let out = dry_run_env(&env, &["--mode", "all"]);
    let assets = assets(&out);
    assert_eq!(assets.len(), 2);
    assert!(
        stderr(&out).contains("request failed: could not connect"),
        "{}",
        stderr(&out)
    );
}
