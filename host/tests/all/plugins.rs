//! Plugins cannot hurt the host: limits, fresh instances, the compiled cache.

use crate::support::*;
use local_servers::{AiodState, HfState, LocalAiod, LocalServer};
use serde_json::json;

fn hostile_plugin() -> std::path::PathBuf {
    test_plugin("hostile.wasm")
}

fn entry(n: u32, id: &str) -> serde_json::Value {
    json!({"_id": format!("{n:024x}"), "id": id, "sha": "1", "lastModified": "2024-01-01T00:00:00.000Z",
           "createdAt": "2024-01-01T00:00:00.000Z", "tags": ["t"], "private": false})
}

#[test]
fn hostile_plugins_cost_only_their_record() {
    let names = [
        "good/first",
        "hostile/loop",
        "good/after-loop",
        "hostile/balloon",
        "good/after-balloon",
        "hostile/trap",
        "hostile/huge",
        "hostile/garbage",
        "hostile/wrong-platform",
        "good/last",
    ];
    let entries = names
        .iter()
        .enumerate()
        .map(|(i, n)| entry(i as u32 + 1, n))
        .collect();
    let hf = LocalServer::start(HfState::generated(0).with_raw_entries(entries)).unwrap();
    let aiod = LocalAiod::start(AiodState::new().with_client(
        "platform_huggingface",
        "s3cret",
        &["platform_huggingface"],
    ))
    .unwrap();
    let started = std::time::Instant::now();
    let out = uploading(&hf.base_url(), &aiod, "platform_huggingface", "s3cret")
        .arg("run")
        .args(FAST)
        .args([
            "--mode",
            "all",
            "--plugin-cpu-ms",
            "500",
            "--plugin-memory-mib",
            "160",
        ])
        .args(["--plugin-output-mib", "8", "--plugin"])
        .arg(hostile_plugin())
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "the host hung"
    );
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("seen 10, created 4, updated 0, unchanged 0, skipped 0, failed 6"),
        "{err}"
    );
    for expected in [
        "plugin hostile 0.0.1 exceeded its CPU time limit of 500ms per call",
        "plugin hostile 0.0.1 exceeded its memory limit of 160 MiB",
        "plugin hostile 0.0.1 trapped",
        "plugin hostile 0.0.1 returned 20971554 bytes, more than its output limit of 8388608 bytes",
        "plugin hostile 0.0.1 returned a body for \"000000000000000000000008\" that is not JSON",
        "the plugin produced a body whose platform/platform_resource_identifier (\"elsewhere\"",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in:\n{err}");
    }
    let stored: Vec<String> = aiod
        .assets()
        .iter()
        .map(|a| a["name"].as_str().unwrap().to_string())
        .collect();
    for good in [
        "good/first",
        "good/after-loop",
        "good/after-balloon",
        "good/last",
    ] {
        assert!(
            stored.contains(&good.to_string()),
            "{good} missing: {stored:?}"
        );
    }
    assert_eq!(stored.len(), 4);
}

/// A dry run of `plugin` against a one-dataset Hub with the compiled-plugin
/// cache in `cache`: its log.
fn run_with_cache(
    server: &LocalServer,
    cache: &std::path::Path,
    plugin: &std::path::Path,
    extra: &[&str],
) -> String {
    let out = aiod_host()
        .env("AIOD_HOST_CACHE_DIR", cache)
        .env("HF_ENDPOINT", server.base_url())
        .env("HF_DATASETS_SERVER_ENDPOINT", server.base_url())
        .args(["run", "--dry-run", "--mode", "all", "--plugin"])
        .arg(plugin)
        .args(extra)
        .output()
        .unwrap();
    assert_eq!(assets(&out).len(), 1, "{}", stderr(&out));
    stderr(&out)
}

/// The cache's entries, by extension.
fn cache_entries(cache: &std::path::Path, extension: &str) -> Vec<std::path::PathBuf> {
    let mut found: Vec<_> = std::fs::read_dir(cache)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    found.retain(|p| p.extension().is_some_and(|e| e == extension));
    found.sort();
    found
}

#[test]
fn a_compiled_plugin_is_cached_and_a_damaged_entry_is_compiled_again_not_run() {
    let server = LocalServer::start(HfState::generated(1)).unwrap();
    let cache = home().join("plugin-cache");
    let run = || run_with_cache(&server, &cache, &plugin_path(), &[]);
    let first = run();
    assert!(first.contains("plugin compiled"), "{first}");
    let second = run();
    assert!(
        second.contains("plugin loaded from the compiled-plugin cache"),
        "{second}"
    );
    assert!(
        !second.contains("plugin compiled"),
        "compiled again:\n{second}"
    );

    // 64 bytes changed in the middle of the compiled code, the seal left alone.
    let [entry] = cache_entries(&cache, "cwasm").try_into().unwrap();
    let mut bytes = std::fs::read(&entry).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle..middle + 64].fill(0xcc);
    std::fs::write(&entry, bytes).unwrap();
    let third = run();
    assert!(
        third.contains(
            "its seal does not match: damaged, or another plugin's) is compiled again, not run"
        ),
        "{third}"
    );
    assert!(third.contains("plugin compiled"), "{third}");
    // Replaced by a good entry.
    assert!(run().contains("plugin loaded from the compiled-plugin cache"));
}

/// Another plugin's compiled code (and seal) copied over this plugin's entry
/// is found out: its seal names the other plugin. The right plugin runs.
#[test]
fn a_cache_entry_copied_from_another_plugin_is_compiled_again() {
    let server = LocalServer::start(HfState::generated(1)).unwrap();
    let cache = home().join("plugin-cache");
    run_with_cache(&server, &cache, &plugin_path(), &[]);
    let hf_entries = cache_entries(&cache, "cwasm");
    run_with_cache(&server, &cache, &hostile_plugin(), &[]);
    let hostile = cache_entries(&cache, "cwasm")
        .into_iter()
        .find(|p| !hf_entries.contains(p))
        .unwrap();
    let [hf] = hf_entries.try_into().unwrap();
    std::fs::copy(&hostile, &hf).unwrap();
    std::fs::copy(hostile.with_extension("seal"), hf.with_extension("seal")).unwrap();
    let log = run_with_cache(&server, &cache, &plugin_path(), &[]);
    assert!(
        log.contains("another plugin's) is compiled again, not run"),
        "{log}"
    );
    assert!(log.contains("plugin loaded plugin=huggingface"), "{log}");
}

#[cfg(unix)]
#[test]
fn a_cache_directory_others_may_write_is_not_used() {
    use std::os::unix::fs::PermissionsExt as _;
    let server = LocalServer::start(HfState::generated(1)).unwrap();
    let cache = home().join("shared-cache");
    std::fs::create_dir_all(&cache).unwrap();
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o777)).unwrap();
    let log = run_with_cache(&server, &cache, &plugin_path(), &[]);
    assert!(
        log.contains(
            "not using the compiled-plugin cache: group or others may write it (mode 777)"
        ),
        "{log}"
    );
    assert!(log.contains("plugin compiled"), "{log}");
    assert!(
        cache_entries(&cache, "cwasm").is_empty(),
        "nothing was written there"
    );
    // --no-plugin-cache: a private directory is not used either.
    let private = home().join("private-cache");
    let log = run_with_cache(&server, &private, &plugin_path(), &["--no-plugin-cache"]);
    assert!(log.contains("plugin compiled"), "{log}");
    assert!(cache_entries(&private, "cwasm").is_empty());
}

#[test]
fn plugin_inspect_describes_a_plugin() {
    let out = aiod_host()
        .args(["plugin", "inspect"])
        .arg(plugin_path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    for line in [
        "name:        huggingface",
        "platform:    huggingface",
        "contract:    aiod:connector@0.1.2",
        "imports:     none",
        "digest:      sha256:",
        "endpoint:    hub = https://huggingface.co; override HF_ENDPOINT; budget 500/300s (1000 with a token); token from HF_TOKEN or AIOD_HF_API_KEY",
        "answers:     datasets-server: HTTP 500 with x-error-code ResponseNotReady or ResponseNotReadyError → again next pass",
        "answers:     datasets-server: HTTP 500 with x-error-code → final",
        "deletes:     after a lookup confirms a record is gone",
    ] {
        assert!(text.contains(line), "{line:?} missing from:\n{text}");
    }
}

/// The released 0.1.0 and 0.1.1 contracts are kept (`wit/since_v0.1.0/`, `wit/since_v0.1.1/`)
/// with host bindings of their own: the Hugging Face plugin built against each copy (without
/// `probes`, added in 0.1.1; without answer rules, `map-judged` and lookups, added in 0.1.2)
/// is tested, inspected and syncs into AIoD as before, the host filling in what it lacks.
#[test]
fn plugins_built_for_the_older_0_1_x_contracts_keep_working() {
    for version in ["0.1.0", "0.1.1"] {
        let old = test_plugin(&format!("huggingface-v{version}.wasm"));
        let out = aiod_host()
            .args(["plugin", "inspect"])
            .arg(&old)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.contains(&format!("contract:    aiod:connector@{version}")),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "exports:     aiod:connector/types@{version}, aiod:connector/plugin@{version}"
            )),
            "{text}"
        );
        assert!(!text.contains("answers:"), "{text}");
        assert!(
            text.contains("deletes:     of what two complete passes"),
            "{text}"
        );

        passes_the_huggingface_fixtures(&old);

        let hf = LocalServer::start(HfState::recorded()).unwrap();
        let aiod =
            LocalAiod::start(AiodState::new().with_client("c", "s", &["platform_huggingface"]))
                .unwrap();
        let out = uploading(&hf.base_url(), &aiod, "c", "s")
            .arg("run")
            .args(FAST)
            .arg("--plugin")
            .arg(&old)
            .args(["--mode", "all", "--state"])
            .arg(home().join(format!("old-contract-{version}.sqlite")))
            .output()
            .unwrap();
        let err = stderr(&out);
        assert!(out.status.success(), "{version}: {err}");
        assert!(err.contains("seen 6, created 6,"), "{version}: {err}");
        assert_eq!(aiod.count("POST", "/v2/datasets"), 6);
    }
}

fn hf_fixture() -> std::path::PathBuf {
    workspace_root().join("plugins/huggingface/fixtures/recorded")
}

/// `plugin test PLUGIN --fixtures <the recorded Hugging Face fixtures>` passes.
fn passes_the_huggingface_fixtures(plugin: &std::path::Path) {
    assert_passes_fixture(plugin, &hf_fixture(), 6);
}

#[test]
fn plugin_test_passes_the_huggingface_plugin_on_its_fixtures() {
    passes_the_huggingface_fixtures(&plugin_path());
}

#[test]
fn plugin_test_fails_a_changed_plugin_with_a_field_level_diff() {
    // The hostile plugin maps like the Hugging Face one but ignores /parquet.
    let out = aiod_host()
        .args(["plugin", "test"])
        .arg(hostile_plugin())
        .arg("--fixtures")
        .arg(hf_fixture())
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("datasets 621ffdd236468d709f181d58 (acronym_identification): 3 difference(s) (expected → hostile)"),
        "{text}"
    );
    assert!(
        text.contains(
            "    body.distribution[0]: {\"name\":\"acronym_identification-test.parquet\""
        ),
        "{text}"
    );
    assert!(
        text.contains("6 expected assets, 6 produced, 5 differ"),
        "{text}"
    );
}

#[test]
fn plugin_diff_shows_what_a_swap_would_change() {
    let diff = |old: &std::path::Path, new: &std::path::Path| {
        let out = aiod_host()
            .args(["plugin", "diff"])
            .arg(old)
            .arg(new)
            .arg("--fixtures")
            .arg(hf_fixture())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        String::from_utf8(out.stdout).unwrap()
    };
    let same = diff(&plugin_path(), &plugin_path());
    assert!(same.contains("0 of 6 assets would change"), "{same}");
    let changed = diff(&plugin_path(), &hostile_plugin());
    assert!(changed.contains("5 of 6 assets would change"), "{changed}");
    assert!(
        changed.contains(
            "datasets 621ffdd236468d709f181f5f (rotten_tomatoes): 3 difference(s) (OLD → NEW)"
        ),
        "{changed}"
    );
    assert!(changed.contains("→ (absent)"), "{changed}");
}

/// A plugin that imports WASI and prints, lists `/`, reads the clocks and opens
/// a socket on every call (as a third-party plugin with debugging code left in
/// does) syncs its records normally: WASI cannot panic the host, what it prints
/// goes to the debug log tagged with the plugin, never to stdout, and the
/// sandbox grants nothing (the directory listing and the socket fail inside it).
#[test]
fn a_plugin_that_uses_wasi_on_every_call_syncs_normally() {
    let hf = LocalServer::start(HfState::recorded()).unwrap();
    let aiod = LocalAiod::start(catalogue()).unwrap();
    let out = command_with(
        &hf,
        &aiod,
        &test_plugin("hostile-wasi.wasm"),
        &["run", "--mode", "all", "--app-log-level", "debug"],
    )
    .output()
    .unwrap();
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("created 6, updated 0, unchanged 0, skipped 0, failed 0"),
        "{err}"
    );
    assert!(out.stdout.is_empty(), "the plugin's output reached stdout");
    let printed: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("plugin printed: "))
        .collect();
    assert!(
        printed.iter().any(
            |l| l.contains("hostile plugin mapping rotten_tomatoes | listed Err(")
                && l.contains("socket false")
                && l.contains("plugin=hostile")
                && l.contains("stream=\"stdout\"")
        ),
        "{printed:#?}"
    );
    assert!(
        printed
            .iter()
            .any(|l| l.contains("hostile plugin on stderr: rotten_tomatoes")),
        "{printed:#?}"
    );
    // At the default level, nothing of it.
    let quiet = command_with(
        &hf,
        &aiod,
        &test_plugin("hostile-wasi.wasm"),
        &["run", "--mode", "all"],
    )
    .output()
    .unwrap();
    assert!(quiet.status.success(), "{}", stderr(&quiet));
    assert!(
        !stderr(&quiet).contains("plugin printed"),
        "{}",
        stderr(&quiet)
    );
}
