//! `aiod-host serve`: scheduled syncs and hot plugin swaps.

use crate::support::*;
use local_servers::{AiodState, HfState, LocalAiod, LocalServer, generated_id};
use serde_json::json;
use std::path::Path;
use std::time::{Duration, Instant};

fn wait_for(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

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
    let log = home().join("serve.log");
    let mut child = uploading(&hf.base_url(), &aiod, "platform_huggingface", "s3cret")
        .arg("serve")
        .args(FAST)
        .args(["--every", "1s", "--plugin"])
        .arg(&plugin)
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let logged = |text: &str| {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains(text)
    };

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
    let rejections = || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .matches("new plugin rejected")
            .count()
    };
    let before = rejections();
    let hup = std::process::Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(hup.success());
    wait_for("the reload on SIGHUP", Duration::from_secs(30), || {
        rejections() > before
    });

    // SIGTERM: a clean stop.
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(exit.success(), "serve exited with {exit}:\n{text}");
    assert!(text.contains("not a WebAssembly file"), "{text}");
    assert_eq!(aiod.assets().len(), 30);
}
