//! `aiod-host run` without `--dry-run`: uploads into the local AIoD catalogue.

use crate::support::*;
use local_servers::{AiodState, HfState, LocalAiod, LocalServer, generated_id};
use serde_json::{Value, json};
use std::process::Output;
use std::time::Duration;

const CLIENT: &str = "platform_huggingface";
const SECRET: &str = "local-secret-4711";

fn catalogue() -> AiodState {
    AiodState::new().with_client(CLIENT, SECRET, &["platform_huggingface"])
}

/// `aiod-host run --plugin … ARGS` uploading from `hf` into `aiod`.
fn sync(hf: &LocalServer, aiod: &LocalAiod, args: &[&str]) -> Output {
    sync_with(hf, aiod, args, &[])
}

fn sync_with(hf: &LocalServer, aiod: &LocalAiod, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = uploading(&hf.base_url(), aiod, CLIENT, SECRET);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.arg("run")
        .args(FAST)
        .arg("--plugin")
        .arg(plugin_path())
        .args(args)
        .output()
        .unwrap()
}

fn writes(aiod: &LocalAiod) -> (usize, usize) {
    (
        aiod.count("POST", "/v2/datasets"),
        aiod.count("PUT", "/v2/datasets"),
    )
}

fn expected_bodies() -> Vec<Value> {
    crate::support::expected_bodies("plugins/huggingface/fixtures/recorded")
}

#[test]
fn a_full_sync_stores_exactly_the_expected_assets() {
    let hf = LocalServer::start(HfState::recorded()).unwrap();
    let aiod = LocalAiod::start(catalogue()).unwrap();
    let err = ok(&sync(&hf, &aiod, &["--mode", "all"]));
    assert!(
        err.contains("summary: seen 6, created 6, updated 0, unchanged 0, skipped 0, failed 0"),
        "{err}"
    );

    assert_eq!(aiod.assets().len(), 6);
    for expected in expected_bodies() {
        assert_stored_as_sent(&aiod, "huggingface", &expected);
    }
}

#[test]
fn an_identical_second_run_writes_nothing_and_one_change_costs_one_put() {
    let hf = LocalServer::start(HfState::recorded()).unwrap();
    let aiod = LocalAiod::start(catalogue()).unwrap();
    ok(&sync(&hf, &aiod, &["--mode", "all"]));
    assert_eq!(writes(&aiod), (6, 0));

    let err = ok(&sync(&hf, &aiod, &["--mode", "all"]));
    assert_eq!(writes(&aiod), (6, 0), "the second run wrote:\n{err}");
    assert!(err.contains("created 0, updated 0, unchanged 6"), "{err}");

    // One dataset changes at the source (a new description, a new lastModified and sha):
    // exactly one PUT.
    hf.hf().set_field(
        "rotten_tomatoes",
        "description",
        json!("A new description."),
    );
    hf.hf().touch("rotten_tomatoes");
    let err = ok(&sync(&hf, &aiod, &["--mode", "all"]));
    assert_eq!(writes(&aiod), (6, 1), "{err}");
    assert!(err.contains("created 0, updated 1, unchanged 5"), "{err}");
    // The unchanged datasets cost no /parquet request either.
    let parquet = hf.requests_to("/parquet").len();
    assert_eq!(
        parquet,
        6 + 1,
        "only the first run and the changed dataset fetch /parquet"
    );
    let stored = aiod
        .asset_by_platform_id("huggingface", "621ffdd236468d709f181f5f")
        .unwrap();
    assert_eq!(stored["name"], "rotten_tomatoes");
    assert_eq!(stored["description"]["plain"], "A new description.");
    assert_eq!(aiod.assets().len(), 6, "no duplicates");
}

#[test]
fn id_and_since_look_assets_up_instead_of_listing_the_platform() {
    let hf = LocalServer::start(HfState::recorded()).unwrap();
    let aiod = LocalAiod::start(catalogue()).unwrap();
    let err = ok(&sync(
        &hf,
        &aiod,
        &["--mode", "id", "--value", "acronym_identification"],
    ));
    assert!(err.contains("created 1"), "{err}");
    let err = ok(&sync(
        &hf,
        &aiod,
        &["--mode", "id", "--value", "acronym_identification"],
    ));
    assert!(err.contains("unchanged 1"), "{err}");
    assert_eq!(writes(&aiod), (1, 0));
    // The first run looked it up; the second knew it from the state.
    let lookups = aiod.count(
        "GET",
        "/v2/platforms/huggingface/datasets/621ffdd236468d709f181d58",
    );
    assert_eq!(lookups, 1);
    let listings = aiod
        .requests()
        .into_iter()
        .filter(|r| r.path == "/v2/platforms/huggingface/datasets")
        .count();
    assert_eq!(listings, 0);
}

#[test]
fn an_asset_someone_else_created_is_updated_not_duplicated() {
    let hf = LocalServer::start(HfState::recorded()).unwrap();
    let aiod = LocalAiod::start(catalogue()).unwrap();
    let mut earlier = expected_bodies()[0].clone();
    earlier["description"] = json!({"plain": "an older description"});
    let identifier = aiod.insert(earlier);

    // Found through the listing: a PUT, no POST for it.
    let err = ok(&sync(&hf, &aiod, &["--mode", "all"]));
    assert!(err.contains("created 5, updated 1"), "{err}");
    let stored = aiod
        .asset_by_platform_id("huggingface", "621ffdd236468d709f181d58")
        .unwrap();
    assert_eq!(stored["identifier"], identifier.as_str());
    assert_eq!(
        stored["description"]["plain"],
        expected_bodies()[0]["description"]["plain"]
    );
    assert_eq!(aiod.assets().len(), 6);
}

#[test]
fn a_post_answered_409_becomes_a_put_of_the_named_identifier() {
    let hf = LocalServer::start(HfState::recorded()).unwrap();
    let aiod = LocalAiod::start(catalogue()).unwrap();
    let mut earlier = expected_bodies()[0].clone();
    earlier["keyword"] = json!(["stale"]);
    let identifier = aiod.insert(earlier);
    // The lookup misses it (as if it was created after we looked): the POST hits 409.
    aiod.fail_next(
        "GET",
        "/v2/platforms/huggingface/datasets/621ffdd236468d709f181d58",
        404,
        1,
    );
    let err = ok(&sync(
        &hf,
        &aiod,
        &["--mode", "id", "--value", "acronym_identification"],
    ));
    assert!(err.contains("created 0, updated 1"), "{err}");
    assert_eq!(writes(&aiod), (1, 1));
    let stored = aiod
        .asset_by_platform_id("huggingface", "621ffdd236468d709f181d58")
        .unwrap();
    assert_eq!(stored["identifier"], identifier.as_str());
    assert_eq!(stored["keyword"].as_array().unwrap().len(), 11);
    assert_eq!(aiod.assets().len(), 1);
}

#[test]
fn token_expiry_in_the_middle_of_a_run_is_invisible() {
    let hf = LocalServer::start(HfState::generated(12)).unwrap();
    let aiod = LocalAiod::start(catalogue().with_token_lifetime(Duration::from_secs(1))).unwrap();
    aiod.set_latency(Duration::from_millis(150), Duration::ZERO, Duration::ZERO);
    let err = ok(&sync(&hf, &aiod, &["--mode", "all"]));
    assert!(
        err.contains("created 12, updated 0, unchanged 0, skipped 0, failed 0"),
        "{err}"
    );
    let grants = aiod.count(
        "POST",
        "/aiod-auth/realms/aiod/protocol/openid-connect/token",
    );
    assert!(
        grants >= 2,
        "the run should have needed a new token, got {grants} grants"
    );
}

#[test]
fn a_401_gets_a_fresh_token_and_one_retry() {
    let hf = LocalServer::start(HfState::generated(3)).unwrap();
    let aiod = LocalAiod::start(catalogue()).unwrap();
    aiod.fail_next("POST", "/v2/datasets", 401, 1);
    let err = ok(&sync(&hf, &aiod, &["--mode", "all"]));
    assert!(err.contains("created 3"), "{err}");
    assert_eq!(
        aiod.count(
            "POST",
            "/aiod-auth/realms/aiod/protocol/openid-connect/token"
        ),
        2
    );
    assert_eq!(aiod.assets().len(), 3);
}

#[test]
fn a_wrong_secret_is_a_clear_error_that_does_not_show_the_secret() {
    let hf = LocalServer::start(HfState::recorded()).unwrap();
    let aiod = LocalAiod::start(catalogue()).unwrap();
    let out = sync_with(
        &hf,
        &aiod,
        &["--mode", "all"],
        &[("CLIENT_SECRET", "wrong-guess-9876")],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("Keycloak rejected the credentials of client \"platform_huggingface\""),
        "{err}"
    );
    assert!(err.contains("check CLIENT_SECRET"), "{err}");
    assert!(
        !err.contains("wrong-guess-9876"),
        "the secret leaked:\n{err}"
    );
    assert!(
        hf.requests().is_empty(),
        "nothing may be fetched before the pre-flight passes"
    );
}

#[test]
fn a_missing_role_says_which_and_what_to_do() {
    let hf = LocalServer::start(HfState::recorded()).unwrap();
    let aiod =
        LocalAiod::start(AiodState::new().with_client(CLIENT, SECRET, &["platform_example"]))
            .unwrap();
    let out = sync(&hf, &aiod, &["--mode", "all"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("lacks the role \"platform_huggingface\""),
        "{err}"
    );
    assert!(err.contains("Set PLATFORM_NAME"), "{err}");
    assert_eq!(writes(&aiod), (0, 0));
}

#[test]
fn an_unregistered_platform_stops_with_a_message_about_registering_it() {
    let hf = LocalServer::start(HfState::recorded()).unwrap();
    let aiod =
        LocalAiod::start(AiodState::new().with_client(CLIENT, SECRET, &["platform_newplat"]))
            .unwrap();
    let out = sync_with(
        &hf,
        &aiod,
        &["--mode", "all"],
        &[("PLATFORM_NAME", "newplat")],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("HTTP 412"), "{err}");
    assert!(
        err.contains("Platform \"newplat\" is not registered"),
        "{err}"
    );
    assert!(err.contains("POST /platforms"), "{err}");
    let error = err.lines().find(|l| l.starts_with("error: ")).unwrap();
    assert!(!error.contains(".."), "a doubled full stop: {error}");
    assert!(
        (1..=2).contains(&aiod.count("POST", "/v2/datasets")),
        "the first 412 stops the run: no upload after those in flight (2 at once)"
    );
}

#[test]
fn a_missing_secret_says_where_it_was_looked_for() {
    let hf = LocalServer::start(HfState::recorded()).unwrap();
    let aiod = LocalAiod::start(catalogue()).unwrap();
    let mut cmd = aiod_host();
    let out = cmd
        .env("HF_ENDPOINT", hf.base_url())
        .env("AIOD_API_SERVER", aiod.api_url())
        .arg("run")
        .args(FAST)
        .args(["--mode", "all", "--plugin"])
        .arg(plugin_path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("no AIoD client secret: set CLIENT_SECRET"),
        "{err}"
    );
    assert!(err.contains(".aiod/huggingface/.env (not found)"), "{err}");
}

#[test]
fn the_secret_can_come_from_an_env_file() {
    let hf = LocalServer::start(HfState::generated(2)).unwrap();
    let aiod = LocalAiod::start(catalogue()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(".env");
    std::fs::write(
        &file,
        format!("CLIENT_SECRET={SECRET}\nPLATFORM_NAME=huggingface\n"),
    )
    .unwrap();
    let out = aiod_host()
        .env("HF_ENDPOINT", hf.base_url())
        .env("HF_DATASETS_SERVER_ENDPOINT", hf.base_url())
        .env("AIOD_API_SERVER", aiod.api_url())
        .env("AIOD_AUTH_SERVER", aiod.auth_url())
        .env("AIOD_CLIENT_ID", CLIENT)
        .arg("run")
        .args(FAST)
        .args(["--mode", "all", "--env-file"])
        .arg(&file)
        .arg("--plugin")
        .arg(plugin_path())
        .output()
        .unwrap();
    let err = ok(&out);
    assert!(err.contains("created 2"), "{err}");
    assert!(!err.contains(SECRET), "the secret leaked:\n{err}");
}

#[test]
fn a_rejected_body_costs_only_its_record() {
    let hf = LocalServer::start(HfState::generated(4)).unwrap();
    let aiod = LocalAiod::start(catalogue()).unwrap();
    aiod.fail_next("POST", "/v2/datasets", 422, 1);
    let out = sync(&hf, &aiod, &["--mode", "all"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a failed record makes the exit code 1"
    );
    let err = stderr(&out);
    assert!(err.contains("AIoD rejected the body as invalid"), "{err}");
    assert!(
        err.contains(&generated_id(0)),
        "the failed record is named:\n{err}"
    );
    assert!(
        err.contains("created 3, updated 0, unchanged 0, skipped 0, failed 1"),
        "{err}"
    );
    assert_eq!(aiod.assets().len(), 3);
}

#[test]
fn a_server_error_costs_only_its_record() {
    let hf = LocalServer::start(HfState::generated(3)).unwrap();
    let aiod = LocalAiod::start(catalogue()).unwrap();
    // One more 500 than the retries allow (one upload at a time, so all hit one record).
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
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("HTTP 500"), "{err}");
    assert!(
        err.contains("created 2, updated 0, unchanged 0, skipped 0, failed 1"),
        "{err}"
    );
}

#[test]
fn the_unversioned_api_is_used_when_version_is_empty() {
    let hf = LocalServer::start(HfState::generated(2)).unwrap();
    let aiod = LocalAiod::start(catalogue()).unwrap();
    let err = ok(&sync(&hf, &aiod, &["--mode", "all", "--api-version="]));
    assert!(err.contains("created 2"), "{err}");
    assert_eq!(aiod.count("POST", "/datasets"), 2);
    assert_eq!(aiod.count("POST", "/v2/datasets"), 0);
}

#[test]
fn the_sdk_config_file_is_read_and_unknown_keys_only_warn() {
    let hf = LocalServer::start(HfState::generated(2)).unwrap();
    let aiod = LocalAiod::start(catalogue()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "api_server = '{}'\nauth_server = '{}'\nclient_id = '{CLIENT}'\nrealm = 'aiod'\n\
             request_timeout_seconds = 5\nfavourite_colour = 'green'\n[endpoints]\nhub = '{}'\n\
             datasets-server = '{}'\n",
            aiod.api_url(),
            aiod.auth_url(),
            hf.base_url(),
            hf.base_url()
        ),
    )
    .unwrap();
    let out = aiod_host()
        .env("CLIENT_SECRET", SECRET)
        .arg("run")
        .args(FAST)
        .args(["--mode", "all", "--config"])
        .arg(&config)
        .arg("--plugin")
        .arg(plugin_path())
        .output()
        .unwrap();
    let err = ok(&out);
    assert!(
        err.contains("unknown key \"favourite_colour\" ignored"),
        "{err}"
    );
    assert!(err.contains("created 2"), "{err}");
    assert!(err.contains("(from the config file"), "{err}");
}

#[test]
fn debug_logs_and_help_show_no_secret_and_no_token() {
    let hf = LocalServer::start(HfState::generated(1)).unwrap();
    let aiod = LocalAiod::start(catalogue()).unwrap();
    let out = sync(
        &hf,
        &aiod,
        &[
            "--mode",
            "all",
            "--app-log-level",
            "debug",
            "--root-log-level",
            "debug",
        ],
    );
    let err = ok(&out);
    assert!(!err.contains(SECRET), "the secret leaked:\n{err}");
    assert!(
        !err.to_lowercase().contains("bearer "),
        "a token leaked:\n{err}"
    );

    let help = aiod_host()
        .env("CLIENT_SECRET", SECRET)
        .env("AIOD_CLIENT_ID", "client-from-env")
        .env("AIOD_API_SERVER", "http://env-server/")
        .args(["run", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    assert!(help.contains("--env-file"), "{help}");
    for value in [SECRET, "client-from-env", "http://env-server/"] {
        assert!(!help.contains(value), "--help shows {value}:\n{help}");
    }
}

#[test]
fn the_summary_can_be_written_as_json() {
    let hf = LocalServer::start(HfState::recorded()).unwrap();
    let aiod = LocalAiod::start(catalogue()).unwrap();
    let path = home().join("summary.json");
    ok(&sync(
        &hf,
        &aiod,
        &["--mode", "all", "--summary-json", path.to_str().unwrap()],
    ));
    let summary: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(
        summary,
        json!({"seen": 6, "created": 6, "updated": 0, "unchanged": 0, "printed": 0, "skipped": 0,
               "failed": 0, "unpublished": 0, "deleted": 0, "pages": 1, "warnings": 1})
    );
}

/// The catalogue keeps a date-time's clock time and drops its offset
/// (`01:29:22+02:00` is stored as `01:29:22`): a body with an offset date must
/// compare equal to what was stored, or a new state would rewrite it.
#[test]
fn an_offset_date_compares_equal_after_upload() {
    let hf = LocalServer::start(HfState::recorded()).unwrap();
    hf.hf().set_field(
        "rotten_tomatoes",
        "createdAt",
        json!("2022-03-03T01:29:22+02:00"),
    );
    let aiod = LocalAiod::start(catalogue()).unwrap();
    ok(&sync(&hf, &aiod, &["--mode", "all"]));
    // rotten_tomatoes, by its Hub `_id`.
    let stored = aiod
        .asset_by_platform_id("huggingface", "621ffdd236468d709f181f5f")
        .unwrap();
    assert_eq!(stored["date_published"], "2022-03-03T01:29:22");
    // A new state compares every body with what the catalogue holds.
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("fresh.sqlite");
    let err = ok(&sync_with(
        &hf,
        &aiod,
        &["--mode", "all"],
        &[("AIOD_HOST_STATE", state.to_str().unwrap())],
    ));
    assert!(err.contains("created 0, updated 0, unchanged 6"), "{err}");
    assert_eq!(writes(&aiod), (6, 0));
}

/// `n` assets of the Hugging Face platform that the local Hugging Face does not list.
fn unlisted_assets(aiod: &LocalAiod, n: usize) {
    for i in 0..n {
        aiod.insert(json!({
            "platform": "huggingface",
            "platform_resource_identifier": format!("unlisted-{i:04}"),
            "name": format!("unlisted {i}"),
        }));
    }
}

/// The real catalogue took 9-13 s for a page of 1,000 real-sized assets: the
/// import of what AIoD holds has its own timeout and smaller pages, so a slow
/// listing does not fail a first run under a short request timeout.
#[test]
fn a_slow_listing_import_completes_under_a_short_request_timeout() {
    let hf = LocalServer::start(HfState::recorded()).unwrap();
    // 4 s per 1,000 listed: a page of 500 takes 2 s.
    let slow = catalogue().with_latency(Duration::ZERO, Duration::ZERO, Duration::from_secs(4));
    let aiod = LocalAiod::start(slow).unwrap();
    unlisted_assets(&aiod, 600);
    let config = home().join("short-timeout.toml");
    std::fs::write(&config, "request_timeout_seconds = 1\n").unwrap();
    let err = ok(&sync(
        &hf,
        &aiod,
        &[
            "--mode",
            "all",
            "--no-delete",
            "--config",
            config.to_str().unwrap(),
        ],
    ));
    assert!(
        err.contains("600 datasets of platform huggingface already in AIoD (from offset 0)"),
        "{err}"
    );
    assert!(err.contains("created 6, updated 0"), "{err}");
    let pages = aiod.requests_to("/v2/platforms/huggingface/datasets");
    assert_eq!(pages.len(), 2, "two pages of 500: {pages:?}");
    assert_eq!(pages[0].query_param("limit").as_deref(), Some("500"));
}

/// An import that stops half-way (here at --max-pages) keeps what it read and
/// where it was: the next run goes on from that offset, not from the start.
#[test]
fn an_interrupted_import_goes_on_from_its_offset() {
    let hf = LocalServer::start(HfState::recorded()).unwrap();
    let aiod = LocalAiod::start(catalogue()).unwrap();
    unlisted_assets(&aiod, 120);
    let out = sync(
        &hf,
        &aiod,
        &[
            "--mode",
            "all",
            "--no-delete",
            "--import-page-size",
            "50",
            "--max-pages",
            "1",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("cannot list the assets AIoD already has"));
    let before = aiod.requests_to("/v2/platforms/huggingface/datasets").len();
    let err = ok(&sync(
        &hf,
        &aiod,
        &["--mode", "all", "--no-delete", "--import-page-size", "50"],
    ));
    assert!(
        err.contains("70 datasets of platform huggingface already in AIoD (from offset 50)"),
        "{err}"
    );
    let resumed = &aiod.requests_to("/v2/platforms/huggingface/datasets")[before..];
    assert_eq!(resumed[0].query_param("offset").as_deref(), Some("50"));
    assert!(err.contains("created 6, updated 0"), "{err}");
}

/// On a catalogue where the connector's account never wrote, two first POSTs
/// at once race while the account is registered, and the loser's dataset is
/// left as an unpublished draft. The first writes go one at a time until one
/// has succeeded, so every asset ends published and visible.
#[test]
fn first_uploads_do_not_race_the_accounts_registration() {
    let hf = LocalServer::start(HfState::recorded()).unwrap();
    let racing = catalogue().with_first_upload_race(Duration::from_millis(300));
    let aiod = LocalAiod::start(racing).unwrap();
    let err = ok(&sync(
        &hf,
        &aiod,
        &["--mode", "all", "--upload-concurrency", "4"],
    ));
    assert!(err.contains("created 6, updated 0"), "{err}");
    let assets = aiod.assets();
    assert_eq!(assets.len(), 6);
    for asset in &assets {
        assert_eq!(asset["aiod_entry"]["status"], "published", "{asset}");
    }
    // Every one is listed: visible to all.
    let listed = http_get(
        &aiod.addr().to_string(),
        "/v2/platforms/huggingface/datasets?limit=100",
    )
    .unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&listed.1)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        6
    );
}

/// The recorded Hugging Face, and a catalogue holding rotten_tomatoes as the
/// loser of the first-upload race leaves it: an unpublished draft of nobody's.
fn with_an_orphan_draft() -> (LocalServer, LocalAiod, String) {
    let hf = LocalServer::start(HfState::recorded()).unwrap();
    let aiod = LocalAiod::start(catalogue()).unwrap();
    let draft = expected_bodies()[1].clone();
    let pid = draft["platform_resource_identifier"]
        .as_str()
        .unwrap()
        .to_owned();
    aiod.insert_orphan_draft(draft);
    (hf, aiod, pid)
}

/// A draft that an earlier failed POST left behind (AIoD answers 409 to a new
/// POST, and 403 to the connector's lookup) is reported as unpublished, with a
/// dead letter saying what the catalogue's maintainers can do; the other
/// records go on.
#[test]
fn a_draft_left_by_a_failed_post_is_reported_and_the_run_goes_on() {
    let (hf, aiod, pid) = with_an_orphan_draft();
    let out = sync(&hf, &aiod, &["--mode", "all"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("created 5, updated 0, unchanged 0, skipped 0, failed 0, unpublished 1"),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "AIoD holds huggingface asset \"{pid}\" as an unpublished draft: AIoD does not show it"
        )),
        "{err}"
    );
    assert!(
        err.contains("the catalogue's maintainers can publish it"),
        "{err}"
    );
    // Not updated in the dark: no PUT of the draft.
    assert_eq!(writes(&aiod).1, 0);
    let failures = aiod_host()
        .args(["failures", "--platform-name", "huggingface"])
        .output()
        .unwrap();
    assert!(
        stdout(&failures).contains("unpublished"),
        "{}",
        stdout(&failures)
    );
}

/// A POST answered 400 (or 500) may still have left a draft: it is looked up
/// before the record is counted failed, and a draft is reported as such.
#[test]
fn a_failed_post_is_looked_up_before_it_counts_as_failed() {
    let (hf, aiod, pid) = with_an_orphan_draft();
    aiod.fail_next("POST", "/v2/datasets", 400, 6);
    let out = sync(&hf, &aiod, &["--mode", "all", "--retries", "0"]);
    let err = stderr(&out);
    assert!(
        err.contains("created 0, updated 0, unchanged 0, skipped 0, failed 5, unpublished 1"),
        "{err}"
    );
    assert!(
        err.contains(&format!("AIoD holds huggingface asset \"{pid}\" as an unpublished draft: its upload failed (POST ")),
        "{err}"
    );
    // Each failed POST was followed by a lookup.
    assert_eq!(aiod.count("GET", "/v2/platforms/huggingface/datasets/"), 6);
}

/// A lookup that meets an unpublished asset (403 to the connector) costs that
/// record only: the run does not end, nor blame the platform role.
#[test]
fn an_unpublished_asset_met_by_a_lookup_costs_only_its_record() {
    let (hf, aiod, _) = with_an_orphan_draft();
    // A new state and --mode id: each record is looked up before it is written.
    let out = sync(&hf, &aiod, &["--mode", "id", "--value", "rotten_tomatoes"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("unpublished 1"), "{err}");
    assert!(
        err.contains("AIoD does not show it (You are not allowed to view this resource)"),
        "{err}"
    );
    assert!(!err.contains("platform_<name> role"), "{err}");
}
