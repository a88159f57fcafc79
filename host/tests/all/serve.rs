//! `aiod-host serve`: scheduled syncs and hot plugin swaps.

use crate::support::*;
use local_servers::{AiodState, HfState, LocalAiod, LocalServer, generated_id};
use serde_json::json;
use std::path::Path;
use std::time::Duration;

/// Replaces a file the way a deploy does: write beside it, then rename.
fn deploy(bytes: &[u8], to: &Path) {
    let tmp = to.with_extension("tmp");
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, to).unwrap();
}

#[test]
fn a_new_plugin_takes_over_while_serving_and_a_broken_one_is_rejected() {
    let hf = LocalServer::start(HfState::generated(30).with_page_size(5)).unwrap();
    let aiod = LocalAiod::start(
        AiodState::new()
            .with_client("platform_huggingface", "s3cret", &["platform_huggingface"])
            .with_latency(Duration::from_millis(100), Duration::ZERO, Duration::ZERO),
    )
    .unwrap();
    let live = home().join("live");
    std::fs::create_dir_all(&live).unwrap();
    let plugin = live.join("plugin.wasm");
    std::fs::copy(plugin_path(), &plugin).unwrap();
    let service = Service::start(
        uploading(&hf.base_url(), &aiod, "platform_huggingface", "s3cret"),
        &plugin,
        &["--every", "1s"],
    );
    let logged = |text: &str| service.log().contains(text);

    // Swap in a changed plugin (it maps without distributions) during the first sync.
    wait_for("the first uploads", Duration::from_secs(30), || {
        aiod.assets().len() >= 5
    });
    deploy(
        &std::fs::read(test_plugin("hostile.wasm")).unwrap(),
        &plugin,
    );
    wait_for("the swap", Duration::from_secs(30), || {
        logged("plugin swapped")
    });
    wait_for("all 30 datasets", Duration::from_secs(60), || {
        aiod.assets().len() >= 30
    });
    let assets = aiod.assets();
    let with = assets
        .iter()
        .filter(|a| a["distribution"] != json!([]))
        .count();
    assert!(
        with >= 5,
        "the first records were mapped by the old plugin: {with}"
    );
    assert!(with < 30, "later records must show the new plugin's change");
    assert_eq!(
        assets.len(),
        30,
        "the cursor survived the swap: nothing lost or repeated"
    );

    // A broken plugin is rejected; the running one goes on serving.
    deploy(b"not a plugin", &plugin);
    wait_for("the rejection", Duration::from_secs(30), || {
        logged("new plugin rejected")
    });
    hf.hf().set_field(
        &generated_id(3),
        "description",
        json!("changed after the broken deploy"),
    );
    hf.hf().touch(&generated_id(3));
    wait_for("the next incremental sync", Duration::from_secs(30), || {
        aiod.assets()
            .iter()
            .any(|a| a["description"]["plain"] == "changed after the broken deploy")
    });

    // SIGHUP re-checks the file even though it did not change.
    let rejections = || service.log().matches("new plugin rejected").count();
    let before = rejections();
    service.signal("-HUP");
    wait_for("the reload on SIGHUP", Duration::from_secs(30), || {
        rejections() > before
    });

    // SIGTERM: a clean stop.
    let (exit, text) = service.terminate();
    assert!(exit.success(), "serve exited with {exit}:\n{text}");
    assert!(text.contains("not a WebAssembly file"), "{text}");
    assert_eq!(aiod.assets().len(), 30);
}

#[test]
fn a_swap_to_a_plugin_that_fails_most_stored_records_is_refused_and_the_old_one_keeps_syncing() {
    let hf = LocalServer::start(HfState::recorded()).unwrap();
    let aiod = LocalAiod::start(AiodState::new().with_client(CLIENT, "pw", &[CLIENT])).unwrap();
    let live = home().join("live");
    std::fs::create_dir_all(&live).unwrap();
    let plugin = live.join("plugin.wasm");
    std::fs::copy(plugin_path(), &plugin).unwrap();
    let service = Service::start(
        uploading(&hf.base_url(), &aiod, CLIENT, "pw"),
        &plugin,
        &["--every", "1s"],
    );
    wait_for("the first full pass", Duration::from_secs(60), || {
        service.log().contains("summary: seen 6, created 6")
    });

    // It fails 4 of the 6 records the running plugin maps: judged on the stored payloads.
    deploy(
        &std::fs::read(test_plugin("huggingface-failing.wasm")).unwrap(),
        &plugin,
    );
    wait_for("the refusal", Duration::from_secs(30), || {
        service.log().contains("new plugin rejected")
    });
    let log = service.log();
    assert!(
        log.contains(
            "of the 6 stored records the running plugin maps, the new one fails 4 and skips 0 \
             (66.7%), more than --swap-max-failure-share 0.01"
        ),
        "{log}"
    );
    assert_eq!(
        service.metric("aiod_host_last_plugin_swap_accepted"),
        Some(0.0)
    );
    assert_eq!(
        service.metric("aiod_host_plugin_swaps_total{outcome=\"refused\"}"),
        Some(1.0)
    );

    // The running plugin goes on: a change is synced with its mapping.
    hf.hf().set_field(
        "rotten_tomatoes",
        "description",
        json!("changed after the refused swap"),
    );
    hf.hf().touch("rotten_tomatoes");
    wait_for("the next incremental sync", Duration::from_secs(30), || {
        aiod.assets()
            .iter()
            .any(|a| a["description"]["plain"] == "changed after the refused swap")
    });
    let (exit, text) = service.terminate();
    assert!(exit.success(), "serve exited with {exit}:\n{text}");
    assert!(!text.contains("plugin swapped"), "{text}");
}

/// A running `serve` as a test drives it: its log, its status address, signals.
struct Service {
    host: Running,
    status: String,
}

impl Service {
    /// Starts it with the status server on a port of its choosing, and waits
    /// until it logs which.
    fn start(mut cmd: std::process::Command, plugin: &Path, args: &[&str]) -> Service {
        cmd.arg("serve")
            .args(FAST)
            .args(["--status-addr", "127.0.0.1:0", "--plugin"])
            .arg(plugin)
            .args(args);
        let mut host = Running::start(cmd);
        let listening = "status server listening on http://";
        let line = host.wait_for_line(listening, Duration::from_secs(60));
        let status = line
            .split(listening)
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap()
            .to_string();
        Service { host, status }
    }

    fn log(&self) -> String {
        self.host.log()
    }

    fn get(&self, path: &str) -> (u16, String) {
        http_get(&self.status, path).unwrap_or((0, String::new()))
    }

    /// The value of one sample line of /metrics, e.g. `aiod_host_syncs_total{mode="all",result="ok"}`.
    fn metric(&self, sample: &str) -> Option<f64> {
        let (_, text) = self.get("/metrics");
        text.lines()
            .find_map(|l| l.strip_prefix(sample)?.strip_prefix(' ')?.parse().ok())
    }

    fn signal(&self, which: &str) {
        self.host.signal(which);
    }

    /// SIGTERM, then the exit status.
    fn terminate(self) -> (std::process::ExitStatus, String) {
        self.signal("-TERM");
        self.host.wait()
    }
}

const CLIENT: &str = "platform_huggingface";

#[test]
fn serve_runs_a_full_pass_then_incremental_syncs_on_its_cron_and_exposes_metrics() {
    let hf = LocalServer::start(HfState::recorded()).unwrap();
    let aiod = LocalAiod::start(AiodState::new().with_client(CLIENT, "pw", &[CLIENT])).unwrap();
    let service = Service::start(
        uploading(&hf.base_url(), &aiod, CLIENT, "pw"),
        &plugin_path(),
        // Every second (the 6-field form has seconds first).
        &["--cron", "* * * * * *", "--full-every", "1h"],
    );
    wait_for("two incremental syncs", Duration::from_secs(60), || {
        service.metric(r#"aiod_host_syncs_total{mode="since",result="ok"}"#) >= Some(2.0)
    });
    let (status, body) = service.get("/healthz");
    assert_eq!((status, body.as_str()), (200, "ok\n"));
    let (status, text) = service.get("/metrics");
    assert_eq!(status, 200);
    let hf_host = hf.base_url().trim_start_matches("http://").to_string();
    let aiod_host = aiod
        .api_url()
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    for sample in [
        r#"aiod_host_syncs_total{mode="all",result="ok"} 1"#.to_string(),
        r#"aiod_host_records_total{outcome="created"} 6"#.to_string(),
        r#"aiod_host_records_total{outcome="failed"}"#.to_string(),
        "aiod_host_dead_letters 0".to_string(),
        format!(r#"aiod_host_requests_total{{host="{hf_host}",status="200"}}"#),
        format!(r#"aiod_host_requests_total{{host="{aiod_host}",status="200"}}"#),
        "aiod_host_rate_limit_wait_seconds_total ".to_string(),
        r#"aiod_host_plugin_call_seconds_count{call="map-record"} 6"#.to_string(),
        "aiod_host_last_success_timestamp_seconds ".to_string(),
    ] {
        let present = text.lines().any(|l| l.starts_with(&sample));
        let absent_ok = sample.contains(r#"outcome="failed""#);
        assert!(
            present || absent_ok,
            "{sample} missing from /metrics:\n{text}"
        );
        if absent_ok {
            assert!(!present || text.contains(r#"aiod_host_records_total{outcome="failed"} 0"#));
        }
    }
    let since_runs = service.log().matches("sync starts mode=Since").count();
    assert!(
        service
            .log()
            .contains("incremental syncs cron \"* * * * * *\" (UTC), full passes every 3600s"),
        "{}",
        service.log()
    );
    let (exit, log) = service.terminate();
    assert!(exit.success(), "{log}");
    assert_eq!(log.matches("sync starts mode=All").count(), 1, "{log}");
    assert!(since_runs >= 2, "{log}");
    assert_eq!(aiod.assets().len(), 6);
}

/// `--every 100000000000d` and a Keycloak saying its tokens live for ever
/// used to crash `serve` (exit 101, "overflowed").
#[test]
fn extreme_schedules_and_token_lifetimes_do_not_crash_serve() {
    let hf = LocalServer::start(HfState::generated(3)).unwrap();
    let aiod = LocalAiod::start(
        AiodState::new()
            .with_client(CLIENT, "pw", &[CLIENT])
            .with_token_lifetime(Duration::from_secs(u64::MAX)),
    )
    .unwrap();
    let service = Service::start(
        uploading(&hf.base_url(), &aiod, CLIENT, "pw"),
        &plugin_path(),
        &["--every", "100000000000d", "--full-every", "100000000000d"],
    );
    wait_for("the first sync", Duration::from_secs(60), || {
        service.metric(r#"aiod_host_syncs_total{mode="all",result="ok"}"#) >= Some(1.0)
    });
    let (exit, log) = service.terminate();
    assert!(exit.success(), "{log}");
    assert!(!log.contains("panicked"), "{log}");
    assert_eq!(aiod.assets().len(), 3);
}

#[test]
fn healthz_says_why_the_service_is_unhealthy() {
    let hf = LocalServer::start(HfState::recorded()).unwrap();
    let aiod = LocalAiod::start(AiodState::new().with_client(CLIENT, "pw", &[CLIENT])).unwrap();
    let service = Service::start(
        uploading(&hf.base_url(), &aiod, CLIENT, "not-the-secret"),
        &plugin_path(),
        &["--every", "1s"],
    );
    wait_for("a failed sync", Duration::from_secs(30), || {
        service.get("/healthz").0 == 503
    });
    let (_, body) = service.get("/healthz");
    assert!(
        body.starts_with("the last sync (all) failed: AIoD pre-flight failed: Keycloak rejected"),
        "{body}"
    );
    assert!(!body.contains("not-the-secret"), "{body}");
    assert!(service.metric(r#"aiod_host_syncs_total{mode="all",result="failed"}"#) >= Some(1.0));
    let (exit, log) = service.terminate();
    assert!(exit.success(), "{log}");
    assert!(!log.contains("not-the-secret"), "{log}");
}

/// SIGTERM in the middle of a sync: the current record finishes, the cursor is
/// saved, the exit is clean; the next start carries on where it stopped.
#[test]
fn sigterm_during_a_sync_then_restart_loses_nothing() {
    let hf = LocalServer::start(HfState::generated(60).with_page_size(10)).unwrap();
    let aiod = LocalAiod::start(
        AiodState::new()
            .with_client(CLIENT, "pw", &[CLIENT])
            .with_latency(Duration::from_millis(40), Duration::ZERO, Duration::ZERO),
    )
    .unwrap();
    let state = home().join("state.sqlite");
    let state_arg = ["--state", state.to_str().unwrap()];
    let service = Service::start(
        uploading(&hf.base_url(), &aiod, CLIENT, "pw"),
        &plugin_path(),
        &state_arg,
    );
    wait_for("some uploads", Duration::from_secs(30), || {
        aiod.count("POST", "/v2/datasets") >= 15
    });
    let (exit, log) = service.terminate();
    assert!(exit.success(), "{log}");
    assert!(log.contains("stopped; the cursor is saved"), "{log}");
    let before = aiod.count("POST", "/v2/datasets");
    assert!(before < 60, "the sync was interrupted: {before}");
    assert_eq!(
        aiod.assets().len(),
        before,
        "every upload before the stop is in AIoD"
    );

    let service = Service::start(
        uploading(&hf.base_url(), &aiod, CLIENT, "pw"),
        &plugin_path(),
        &state_arg,
    );
    wait_for("the rest", Duration::from_secs(60), || {
        service.metric(r#"aiod_host_syncs_total{mode="all",result="ok"}"#) >= Some(1.0)
    });
    let (exit, log) = service.terminate();
    assert!(exit.success(), "{log}");
    assert!(
        log.contains("resuming an unfinished pass from its stored cursor"),
        "{log}"
    );
    assert_eq!(aiod.assets().len(), 60, "nothing lost");
    assert_eq!(aiod.count("POST", "/v2/datasets"), 60, "nothing sent twice");
}
