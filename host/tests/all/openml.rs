//! The second platform, in a second language: the Python OpenML plugin runs on
//! the same host binary, with no host change.

use crate::support::*;
use local_servers::{AiodState, LocalAiod, LocalOpenml, OPENML_GENERATED_FIRST_ID, OpenmlState};

#[test]
fn the_python_openml_plugin_passes_its_fixtures() {
    let fixtures = workspace_root().join("plugins/openml/fixtures/recorded");
    assert_passes_fixture(&first_party_plugin("openml"), &fixtures, 3);
}

/// `aiod-host run --mode all` with the OpenML plugin, from `openml` into `aiod`.
fn sync_openml(openml: &LocalOpenml, aiod: &LocalAiod) -> String {
    let out = aiod_host()
        .env("AIOD_HOST_CACHE_DIR", shared_plugin_cache())
        .env("OPENML_ENDPOINT", openml.base_url())
        .env("AIOD_API_SERVER", aiod.api_url())
        .env("AIOD_AUTH_SERVER", aiod.auth_url())
        .env("AIOD_CLIENT_ID", "platform_openml")
        .env("CLIENT_SECRET", "s3cret")
        .args(["run", "--mode", "all", "--backoff-ms", "10", "--plugin"])
        .arg(first_party_plugin("openml"))
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    err
}

fn openml_catalogue() -> LocalAiod {
    LocalAiod::start(AiodState::new().with_client(
        "platform_openml",
        "s3cret",
        &["platform_openml"],
    ))
    .unwrap()
}

#[test]
fn the_recorded_openml_data_syncs_into_the_local_aiod() {
    let openml = LocalOpenml::start(OpenmlState::recorded()).unwrap();
    let aiod = openml_catalogue();
    let run = || sync_openml(&openml, &aiod);
    let err = run();
    assert!(
        err.contains("seen 3, created 3, updated 0, unchanged 0, skipped 0, failed 0"),
        "{err}"
    );
    let names: Vec<String> = aiod
        .assets()
        .iter()
        .map(|a| {
            format!(
                "{}:{}",
                a["platform_resource_identifier"].as_str().unwrap(),
                a["name"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
    for expected in ["2:anneal", "3:kr-vs-kp", "4:labor"] {
        assert!(
            names.contains(&expected.to_string()),
            "{expected} missing from {names:?}"
        );
    }
    assert!(aiod.assets().iter().all(|a| a["platform"] == "openml"));
    let err = run();
    assert!(err.contains("created 0, updated 0, unchanged 3"), "{err}");
}

/// The Python plugin answers the host's lookups too: a deactivated and an
/// unknown dataset are confirmed gone, and only they are deleted.
#[test]
fn openml_datasets_gone_from_the_list_are_looked_up_before_they_are_deleted() {
    let openml = LocalOpenml::start(OpenmlState::recorded().with_generated(40)).unwrap();
    let aiod = openml_catalogue();
    sync_openml(&openml, &aiod);
    assert_eq!(aiod.assets().len(), 43);
    let (deactivated, removed) = (OPENML_GENERATED_FIRST_ID + 3, OPENML_GENERATED_FIRST_ID + 7);
    openml.openml().set_status(deactivated, "deactivated");
    openml.openml().remove_dataset(removed);
    let err = sync_openml(&openml, &aiod);
    assert_eq!(aiod.deleted_count(), 2, "{err}");
    assert!(
        err.contains(&format!("dataset {deactivated} is deactivated on OpenML")),
        "{err}"
    );
    assert!(
        err.contains(&format!("dataset {removed} is unknown to OpenML")),
        "{err}"
    );
    for id in [deactivated, removed] {
        let path = format!("/api/v1/json/data/{id}");
        assert_eq!(
            openml.requests_to(&path).len(),
            2,
            "one follow-up, one lookup: {id}"
        );
    }
}
