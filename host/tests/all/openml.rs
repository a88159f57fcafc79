//! The second platform, in a second language: the Python OpenML plugin runs on
//! the same host binary, with no host change.

use crate::support::*;
use local_servers::{AiodState, LocalAiod, LocalOpenml, OpenmlState};

fn openml_plugin() -> std::path::PathBuf {
    let path = workspace_root().join("plugins/openml.wasm");
    assert!(
        path.exists(),
        "{} is missing: run `cargo xtask build-plugins`",
        path.display()
    );
    path
}

/// An 18 MB component compiles in seconds: the tests share one compiled-plugin cache.
fn shared_cache() -> std::path::PathBuf {
    workspace_root().join("target/test-plugin-cache")
}

#[test]
fn the_python_openml_plugin_passes_its_fixtures() {
    let out = aiod_host()
        .env("AIOD_HOST_CACHE_DIR", shared_cache())
        .args(["plugin", "test"])
        .arg(openml_plugin())
        .arg("--fixtures")
        .arg(workspace_root().join("plugins/openml/fixtures/recorded"))
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    assert!(out.status.success(), "{text}{}", stderr(&out));
    assert!(
        text.contains("3 expected assets, 3 produced, 0 differ"),
        "{text}"
    );
}

#[test]
fn the_recorded_openml_data_syncs_into_the_local_aiod() {
    let openml = LocalOpenml::start(OpenmlState::recorded()).unwrap();
    let aiod = LocalAiod::start(AiodState::new().with_client(
        "platform_openml",
        "s3cret",
        &["platform_openml"],
    ))
    .unwrap();
    let run = || {
        let out = aiod_host()
            .env("AIOD_HOST_CACHE_DIR", shared_cache())
            .env("OPENML_ENDPOINT", openml.base_url())
            .env("AIOD_API_SERVER", aiod.api_url())
            .env("AIOD_AUTH_SERVER", aiod.auth_url())
            .env("AIOD_CLIENT_ID", "platform_openml")
            .env("CLIENT_SECRET", "s3cret")
            .args(["run", "--mode", "all", "--backoff-ms", "10", "--plugin"])
            .arg(openml_plugin())
            .output()
            .unwrap();
        let err = stderr(&out);
        assert!(out.status.success(), "{err}");
        err
    };
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
