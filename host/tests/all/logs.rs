//! What a run writes to standard error: JSON logs, progress lines, never a secret.

use crate::support::*;
use local_servers::{HfState, LocalServer};
use serde_json::Value;

#[test]
fn json_logs_are_one_object_per_line_and_never_hold_a_token() {
    let server =
        LocalServer::start(HfState::generated(3).with_token("hf_json_log_token_77")).unwrap();
    let base = server.base_url();
    let out = dry_run_env(
        &[
            ("HF_ENDPOINT", base.clone()),
            ("HF_DATASETS_SERVER_ENDPOINT", base),
            ("HF_TOKEN", "hf_json_log_token_77".to_string()),
        ],
        &[
            "--mode",
            "all",
            "--log-format",
            "json",
            "--app-log-level",
            "debug",
        ],
    );
    assets(&out);
    let err = stderr(&out);
    assert!(
        !err.contains("hf_json_log_token_77"),
        "the token leaked:\n{err}"
    );
    let lines: Vec<Value> = err
        .lines()
        .filter(|l| !l.starts_with("summary: "))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(lines.len() > 3, "{err}");
    assert!(
        lines
            .iter()
            .all(|l| l["level"].is_string() && l["timestamp"].is_string())
    );
    let loaded = lines
        .iter()
        .find(|l| l["message"] == "plugin loaded")
        .unwrap_or_else(|| panic!("no 'plugin loaded' event in {err}"));
    assert!(
        loaded["plugin"]
            .as_str()
            .unwrap()
            .starts_with("huggingface 0.1.0"),
        "{loaded}"
    );
}

#[test]
fn without_a_terminal_progress_is_logged_as_lines() {
    let server = LocalServer::start(HfState::generated(12).with_page_size(4)).unwrap();
    let out = dry_run(&server, &["--mode", "all", "--progress-every", "0s"]);
    assets(&out);
    let err = stderr(&out);
    let progress: Vec<&str> = err.lines().filter(|l| l.contains("progress: ")).collect();
    assert!(progress.len() >= 3, "{err}");
    assert!(
        progress.last().unwrap().contains("12 records, ")
            && progress.last().unwrap().contains("/s; seen 12,"),
        "{progress:?}"
    );
}

/// `--root-log-level trace` is for the HTTP and database libraries: the plugin
/// compiler would log every instruction it compiles (1.4 GB for the Hugging
/// Face plugin, measured), so it stays at `info` unless `RUST_LOG` names it.
#[test]
fn trace_logging_leaves_the_compiler_out() {
    let server = LocalServer::start(HfState::recorded()).unwrap();
    let out = aiod_host()
        .env("HF_ENDPOINT", server.base_url())
        .env("HF_DATASETS_SERVER_ENDPOINT", server.base_url())
        .args([
            "run",
            "--dry-run",
            "--mode",
            "all",
            "--root-log-level",
            "trace",
        ])
        .arg("--no-plugin-cache")
        .arg("--plugin")
        .arg(plugin_path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        out.stderr.len() < 1 << 20,
        "{} bytes of logs",
        out.stderr.len()
    );
    assert!(stderr(&out).contains("plugin compiled"));
}
