//! The bench's smoke run, so that it cannot rot: `aiod-bench --smoke` (small dataset counts, one
//! run of every part, seconds) against the `aiod-host` the workspace's tests build next to it,
//! with `plugins/huggingface.wasm` (`cargo xtask test` builds it first). Debug builds: the
//! figures mean nothing here, only that every part still runs and its checks hold (a no-change
//! re-sync asks for no follow-up and writes nothing, a changed dataset is updated once, the
//! component maps like the native code, a swapped plugin maps from the payload store without a
//! follow-up). It needs `target/test-plugins/huggingface-remapped.wasm` too. `cargo xtask bench` measures the release builds.

use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

#[test]
fn smoke_run_measures_every_part() {
    let bench = Path::new(env!("CARGO_BIN_EXE_aiod-bench"));
    let host = bench.with_file_name(format!("aiod-host{}", std::env::consts::EXE_SUFFIX));
    assert!(
        host.exists(),
        "{} is missing: the workspace's tests build it (cargo xtask test), or cargo build -p aiod-host",
        host.display()
    );
    let plugin = workspace_root().join("plugins").join("huggingface.wasm");
    assert!(
        plugin.exists(),
        "{} is missing: run `cargo xtask build-plugins` (or `cargo xtask test`)",
        plugin.display()
    );
    let remapped = workspace_root()
        .join("target")
        .join("test-plugins")
        .join("huggingface-remapped.wasm");
    assert!(
        remapped.exists(),
        "{} is missing: run `cargo xtask build-plugins` (or `cargo xtask test`)",
        remapped.display()
    );
    let work = tempfile::Builder::new()
        .prefix("aiod-bench-smoke-")
        .tempdir()
        .unwrap();
    let markdown = work.path().join("results.md");
    let out = Command::new(bench)
        .arg("--smoke")
        .arg("--host")
        .arg(&host)
        .arg("--plugin")
        .arg(&plugin)
        .arg("--remapped-plugin")
        .arg(&remapped)
        .arg("--work-dir")
        .arg(work.path())
        .arg("--markdown")
        .arg(&markdown)
        .output()
        .expect("aiod-bench runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "aiod-bench --smoke failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let markdown = std::fs::read_to_string(&markdown).unwrap();
    for part in [
        "1. Remote requests per dataset",
        "2. Time under limits",
        "3. Unthrottled throughput",
        "3b. The local servers alone",
        "4. Hugging Face mapping per record",
        "4b. Loading plugins/huggingface.wasm",
        "5. Plugin swap, then a sync of unchanged datasets",
        "5a. The swap sync against",
        "5b. Plugin swap with AIoD's write service time",
        "6. remap and plugin diff over every stored record",
        "7. State size per record",
        "8. Each first-party plugin in the host",
        "Targets",
    ] {
        assert!(
            stdout.contains(&format!("== {part}")),
            "{part} missing:\n{stdout}"
        );
        assert!(
            markdown.contains(&format!("### {part}")),
            "{part} missing:\n{markdown}"
        );
    }
    // Each first-party plugin, in its language, beside the others.
    for row in [
        "| huggingface | Rust |",
        "| openml | Python |",
        "| zenodo | JavaScript |",
    ] {
        assert!(markdown.contains(row), "{row} missing:\n{markdown}");
    }
}
