//! The third platform, in a third language: the JavaScript Zenodo plugin runs on
//! the same host binary, with no host change, against the local Zenodo.

use crate::support::*;
use local_servers::{AiodState, LocalAiod, LocalZenodo, ZENODO_GENERATED_FIRST, ZenodoState};

const FIXTURES: &str = "plugins/zenodo/fixtures/recorded";

#[test]
fn the_javascript_zenodo_plugin_passes_its_fixtures() {
    let fixtures = workspace_root().join(FIXTURES);
    assert_passes_fixture(&first_party_plugin("zenodo"), &fixtures, 6);
}

/// `aiod-host run --mode all` with the Zenodo plugin, from `zenodo` into `aiod`.
fn sync_zenodo(zenodo: &LocalZenodo, aiod: &LocalAiod) -> String {
    let out = aiod_host()
        .env("AIOD_HOST_CACHE_DIR", shared_plugin_cache())
        .env("ZENODO_ENDPOINT", zenodo.base_url())
        .env("AIOD_API_SERVER", aiod.api_url())
        .env("AIOD_AUTH_SERVER", aiod.auth_url())
        .env("AIOD_CLIENT_ID", "platform_zenodo")
        .env("CLIENT_SECRET", "s3cret")
        .args(["run", "--mode", "all", "--backoff-ms", "10"])
        // The documented budgets (33 file requests a minute) would make a test wait.
        .args([
            "--budget",
            "oai=1000/1",
            "--budget",
            "api=1000/1",
            "--plugin",
        ])
        .arg(first_party_plugin("zenodo"))
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    err
}

fn zenodo_catalogue() -> LocalAiod {
    LocalAiod::start(AiodState::new().with_client(
        "platform_zenodo",
        "s3cret",
        &["platform_zenodo"],
    ))
    .unwrap()
}

#[test]
fn the_recorded_zenodo_records_sync_into_the_local_aiod_as_the_fixture_expects() {
    // Pages of 10: the listing goes through five resumption tokens.
    let zenodo = LocalZenodo::start(ZenodoState::recorded().with_page_size(10)).unwrap();
    let aiod = zenodo_catalogue();
    let err = sync_zenodo(&zenodo, &aiod);
    assert!(
        err.contains("seen 51, created 6, updated 0, unchanged 0, skipped 45, failed 0"),
        "{err}"
    );
    assert_eq!(zenodo.requests_to("/oai2d").len(), 6, "{err}");
    // Only the datasets' files are asked for.
    assert_eq!(zenodo.count("GET", "/api/records/"), 6);
    assert_eq!(aiod.assets().len(), 6);
    for expected in expected_bodies(FIXTURES) {
        assert_stored_as_sent(&aiod, "zenodo", &expected);
    }
    let err = sync_zenodo(&zenodo, &aiod);
    assert!(err.contains("created 0, updated 0"), "{err}");
    assert_eq!(zenodo.count("GET", "/api/records/"), 6, "nothing changed");
}

/// A record deleted on Zenodo stays listed as a deleted header: the plugin
/// skips it, which withdraws its asset. One that vanished from the listing is
/// looked up (`GetRecord` answers `idDoesNotExist`) before it is deleted. A
/// changed record costs one files request and one PUT.
#[test]
fn deleted_vanished_and_changed_zenodo_records_reach_the_catalogue() {
    let state = ZenodoState::empty().with_generated(60).with_page_size(7);
    let zenodo = LocalZenodo::start(state).unwrap();
    let aiod = zenodo_catalogue();
    let err = sync_zenodo(&zenodo, &aiod);
    assert!(err.contains("seen 60, created 60"), "{err}");
    let (deleted, vanished, changed) = (
        ZENODO_GENERATED_FIRST + 3,
        ZENODO_GENERATED_FIRST + 11,
        ZENODO_GENERATED_FIRST + 20,
    );
    {
        let mut z = zenodo.zenodo().lock();
        z.delete(deleted);
        z.purge(vanished);
        z.retitle(changed, "A better title");
    }
    let files_before = zenodo.count("GET", "/api/records/");
    let err = sync_zenodo(&zenodo, &aiod);
    assert_eq!(aiod.deleted_count(), 2, "{err}");
    assert!(err.contains("deleted on Zenodo"), "{err}");
    assert!(err.contains("idDoesNotExist"), "{err}");
    let pid = |n: u64| format!("zenodo.org:{n}");
    assert!(aiod.asset_by_platform_id("zenodo", &pid(deleted)).is_none());
    assert!(
        aiod.asset_by_platform_id("zenodo", &pid(vanished))
            .is_none()
    );
    let renamed = aiod.asset_by_platform_id("zenodo", &pid(changed)).unwrap();
    assert_eq!(renamed["name"], "A better title");
    assert_eq!(
        zenodo.count("GET", "/api/records/") - files_before,
        1,
        "only the changed dataset's files: {err}"
    );
}
