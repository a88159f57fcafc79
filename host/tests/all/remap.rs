//! A new mapping costs no remote request: a sync with a swapped plugin, `remap`
//! and `plugin diff --state` map from the payloads the state stored.
//!
//! Plugin B (`huggingface-remapped.wasm`) maps as the Hugging Face plugin A
//! does, except that a namespaced dataset (`org/name`) is named
//! `org/name [remapped]`; the recorded listing has three of those among six.

use crate::support::*;
use local_servers::{HfState, LocalAiod, LocalServer};
use std::path::{Path, PathBuf};
use std::process::Output;

const NAMESPACED: [&str; 3] = [
    "0n1xus/codexglue",
    "04-07-22/wep-probes",
    "bobbydylan/top2k",
];

fn remapped() -> PathBuf {
    test_plugin("huggingface-remapped.wasm")
}

/// `aiod-host SUBCOMMAND ... --state STATE` with `plugin`.
fn with_state(
    hf: &LocalServer,
    aiod: &LocalAiod,
    plugin: &Path,
    state: &Path,
    args: &[&str],
) -> Output {
    let mut cmd = command_with(hf, aiod, plugin, args);
    cmd.arg("--state").arg(state);
    cmd.output().unwrap()
}

fn puts(aiod: &LocalAiod) -> Vec<String> {
    aiod.requests()
        .into_iter()
        .filter(|r| r.method == "PUT")
        .map(|r| r.path)
        .collect()
}

/// The names AIoD holds, sorted.
fn names(aiod: &LocalAiod) -> Vec<String> {
    let mut names: Vec<String> = aiod
        .assets()
        .iter()
        .map(|a| a["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

fn expected_names(remapped: bool) -> Vec<String> {
    let mut names: Vec<String> = ["acronym_identification", "rotten_tomatoes", "air_dialogue"]
        .iter()
        .map(|n| n.to_string())
        .chain(NAMESPACED.iter().map(|n| match remapped {
            true => format!("{n} [remapped]"),
            false => n.to_string(),
        }))
        .collect();
    names.sort();
    names
}

struct Setup {
    hf: LocalServer,
    aiod: LocalAiod,
    _dir: tempfile::TempDir,
    state: PathBuf,
}

impl Setup {
    /// `aiod-host run --mode all` with `plugin`; what it logged.
    fn sync_with(&self, plugin: &Path) -> String {
        let args = ["run", "--mode", "all"];
        ok(&with_state(
            &self.hf,
            &self.aiod,
            plugin,
            &self.state,
            &args,
        ))
    }

    /// A sync with `plugin` finds everything done: no follow-up, no write.
    fn nothing_left_for(&self, plugin: &Path) {
        let parquet = self.hf.requests_to("/parquet").len();
        let puts_before = puts(&self.aiod).len();
        let err = self.sync_with(plugin);
        assert!(err.contains("unchanged 6"), "{err}");
        assert_eq!(self.hf.requests_to("/parquet").len(), parquet);
        assert_eq!(puts(&self.aiod).len(), puts_before);
    }
}

/// The recorded Hugging Face synced into a local AIoD with plugin A.
fn synced_with_a() -> Setup {
    let hf = LocalServer::start(HfState::recorded()).unwrap();
    let aiod = LocalAiod::start(catalogue()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.sqlite");
    let setup = Setup {
        hf,
        aiod,
        _dir: dir,
        state,
    };
    let err = setup.sync_with(&plugin_path());
    assert!(err.contains("created 6"), "{err}");
    assert_eq!(names(&setup.aiod), expected_names(false));
    setup
}

#[test]
fn a_swapped_plugin_syncs_from_the_stored_answers_and_puts_only_changed_bodies() {
    let setup = synced_with_a();
    let (hf, aiod) = (&setup.hf, &setup.aiod);
    let parquet = hf.requests_to("/parquet").len();
    let puts_before = puts(aiod).len();

    let err = setup.sync_with(&remapped());
    assert!(err.contains("updated 3, unchanged 3"), "{err}");
    assert_eq!(
        hf.requests_to("/parquet").len(),
        parquet,
        "the new plugin's sync asked the datasets-server again"
    );
    assert_eq!(puts(aiod).len() - puts_before, 3, "{:?}", puts(aiod));
    assert_eq!(names(aiod), expected_names(true));

    // Its own mapping is now done.
    setup.nothing_left_for(&remapped());
}

#[test]
fn remap_makes_no_request_to_the_platform_and_a_dry_run_none_at_all() {
    let setup = synced_with_a();
    let (hf, aiod, state) = (&setup.hf, &setup.aiod, &setup.state);
    let (hf_before, aiod_before) = (hf.requests().len(), aiod.requests().len());

    let out = with_state(hf, aiod, &remapped(), state, &["remap", "--dry-run"]);
    let err = ok(&out);
    assert!(
        err.contains("seen 6, created 0, updated 0, unchanged 3"),
        "{err}"
    );
    let printed: Vec<String> = assets(&out)
        .iter()
        .map(|a| a["body"]["name"].as_str().unwrap().to_string())
        .collect();
    let mut expected: Vec<String> = NAMESPACED
        .iter()
        .map(|n| format!("{n} [remapped]"))
        .collect();
    expected.sort();
    let mut sorted = printed.clone();
    sorted.sort();
    assert_eq!(sorted, expected, "only the bodies that would change");
    assert_eq!(
        hf.requests().len(),
        hf_before,
        "a dry run asked Hugging Face"
    );
    assert_eq!(
        aiod.requests().len(),
        aiod_before,
        "a dry run asked AIoD or Keycloak"
    );

    let err = ok(&with_state(hf, aiod, &remapped(), state, &["remap"]));
    assert!(err.contains("updated 3, unchanged 3"), "{err}");
    assert_eq!(hf.requests().len(), hf_before, "remap asked Hugging Face");
    assert_eq!(names(aiod), expected_names(true));

    // The state now holds B's mapping.
    setup.nothing_left_for(&remapped());
}

fn plugin_diff(old: &Path, new: &Path, state: &Path) -> Output {
    aiod_host()
        .args(["plugin", "diff"])
        .arg(old)
        .arg(new)
        .arg("--state")
        .arg(state)
        .output()
        .unwrap()
}

#[test]
fn plugin_diff_over_the_state_counts_what_would_change_and_where() {
    let Setup { hf, state, .. } = &synced_with_a();
    let requests = hf.requests().len();

    let out = plugin_diff(&plugin_path(), &remapped(), state);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(
            "6 records: 3 assets would change, 0 be created, 0 vanish; 0 records newly fail, 0 newly skip"
        ),
        "{text}"
    );
    assert!(text.contains("\n         3  body.name\n"), "{text}");
    assert!(
        text.contains("body.name: \"bobbydylan/top2k\" → \"bobbydylan/top2k [remapped]\""),
        "{text}"
    );

    let out = plugin_diff(
        &plugin_path(),
        &test_plugin("huggingface-failing.wasm"),
        state,
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("; 4 records newly fail, 0 newly skip"),
        "{text}"
    );
    assert!(
        text.contains(
            "NEW fails: invalid record: test-failing build: refuses to map rotten_tomatoes"
        ),
        "{text}"
    );

    let out = plugin_diff(&plugin_path(), &plugin_path(), state);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("6 records: 0 assets would change"), "{text}");
    assert_eq!(hf.requests().len(), requests, "a diff makes no request");
}

#[test]
fn status_shows_records_assets_payloads_and_provenance() {
    let Setup { state, .. } = &synced_with_a();
    let out = aiod_host()
        .args(["status", "--state"])
        .arg(state)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("records:      6 (6 done)"), "{text}");
    assert!(text.contains("assets:       6 (0 found in AIoD"), "{text}");
    assert!(text.contains("payloads:     6 ("), "{text}");
    assert!(
        text.contains("plugin:       huggingface 0.1.0 sha256:"),
        "{text}"
    );
    assert!(text.contains(": 6 records, 6 assets"), "{text}");
    assert!(text.contains("all complete, started "), "{text}");
}
