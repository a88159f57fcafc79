//! The plugin judges its follow-ups: a permanent datasets-server error costs
//! one request and is final; one that is not ready yet, or a partial answer,
//! is fetched again on the next pass.

use crate::support::*;
use local_servers::{Canned, HfState, LocalAiod, LocalServer, generated_id};
use serde_json::json;

fn parquet_requests_for(hf: &LocalServer, id: &str) -> usize {
    hf.requests_to("/parquet")
        .iter()
        .filter(|r| r.query_param("dataset").as_deref() == Some(id))
        .count()
}

fn distributions(aiod: &LocalAiod, i: usize) -> usize {
    let asset = aiod
        .assets()
        .into_iter()
        .find(|a| a["name"] == generated_id(i).as_str())
        .unwrap_or_else(|| panic!("{} not in AIoD", generated_id(i)));
    asset["distribution"].as_array().map_or(0, Vec::len)
}

#[test]
fn a_permanent_parquet_error_costs_one_request_and_nothing_on_a_re_sync() {
    let hf = LocalServer::start(HfState::generated(5)).unwrap();
    let aiod = LocalAiod::start(catalogue()).unwrap();
    let broken = generated_id(2);
    hf.hf()
        .set_parquet(&broken, Canned::parquet_job_error("ConfigNamesError"));
    let err = ok(&sync(&hf, &aiod, &["--mode", "all"]));
    assert!(err.contains("created 5"), "{err}");
    assert_eq!(
        parquet_requests_for(&hf, &broken),
        1,
        "a permanent error was retried:\n{err}"
    );
    assert_eq!(distributions(&aiod, 2), 0);
    assert!(
        err.contains(&format!(
            "no parquet files for dataset {broken:?}: HTTP 500 (ConfigNamesError)"
        )),
        "{err}"
    );

    let before = hf.requests_to("/parquet").len();
    let err = ok(&sync(&hf, &aiod, &["--mode", "all"]));
    assert!(err.contains("unchanged 5"), "{err}");
    assert_eq!(
        hf.requests_to("/parquet").len(),
        before,
        "a no-change re-sync asked the datasets-server again"
    );
}

#[test]
fn an_answer_not_ready_yet_is_fetched_again_next_pass_and_gains_its_distributions() {
    let hf = LocalServer::start(HfState::generated(5)).unwrap();
    let aiod = LocalAiod::start(catalogue()).unwrap();
    let (busy, partial) = (generated_id(1), generated_id(3));
    hf.hf().set_parquet(&busy, Canned::parquet_not_ready());
    hf.hf()
        .set_parquet(&partial, Canned::parquet_pending(&partial));
    let err = ok(&sync(&hf, &aiod, &["--mode", "all"]));
    assert!(err.contains("created 5"), "{err}");
    // Not retried now: the job takes longer than any backoff.
    assert_eq!(parquet_requests_for(&hf, &busy), 1, "{err}");
    assert_eq!(distributions(&aiod, 1), 0);
    assert_eq!(distributions(&aiod, 3), 0);

    // The conversions finish; the next pass asks again for these two only.
    hf.hf().clear_parquet(&busy);
    hf.hf().clear_parquet(&partial);
    let before = hf.requests_to("/parquet").len();
    let err = ok(&sync(&hf, &aiod, &["--mode", "all"]));
    assert!(err.contains("updated 2, unchanged 3"), "{err}");
    assert_eq!(hf.requests_to("/parquet").len(), before + 2);
    assert_eq!(distributions(&aiod, 1), 1);
    assert_eq!(distributions(&aiod, 3), 1);

    // Now final: nothing more to fetch.
    let before = hf.requests_to("/parquet").len();
    ok(&sync(&hf, &aiod, &["--mode", "all"]));
    assert_eq!(hf.requests_to("/parquet").len(), before);
}

#[test]
fn a_proxy_error_without_a_code_is_retried_and_then_fetched_again_next_pass() {
    let hf = LocalServer::start(HfState::generated(3)).unwrap();
    let aiod = LocalAiod::start(catalogue()).unwrap();
    let flaky = generated_id(0);
    hf.hf().set_parquet(
        &flaky,
        Canned::from_example("parquet-500-internal-server-error.txt"),
    );
    ok(&sync(&hf, &aiod, &["--mode", "all", "--retries", "2"]));
    assert_eq!(
        parquet_requests_for(&hf, &flaky),
        3,
        "a try and two retries"
    );
    hf.hf().clear_parquet(&flaky);
    let err = ok(&sync(&hf, &aiod, &["--mode", "all"]));
    assert!(err.contains("updated 1, unchanged 2"), "{err}");
    assert_eq!(distributions(&aiod, 0), 1);
}

/// Final by the host's defaults alone (401 and 501 are no passing failures).
#[test]
fn gated_and_blocked_answers_are_final() {
    let hf = LocalServer::start(HfState::generated(3)).unwrap();
    let aiod = LocalAiod::start(catalogue()).unwrap();
    hf.hf().set_field(&generated_id(0), "gated", json!("auto"));
    hf.hf()
        .set_parquet(generated_id(1), Canned::parquet_blocked());
    let err = ok(&sync(&hf, &aiod, &["--mode", "all"]));
    assert!(err.contains("created 3"), "{err}");
    assert!(
        err.contains("HTTP 401 (ExternalUnauthenticatedError)"),
        "{err}"
    );
    assert!(err.contains("HTTP 501 (DatasetInBlockListError)"), "{err}");
    let before = hf.requests_to("/parquet").len();
    let err = ok(&sync(&hf, &aiod, &["--mode", "all"]));
    assert!(err.contains("unchanged 3"), "{err}");
    assert_eq!(hf.requests_to("/parquet").len(), before);
}
