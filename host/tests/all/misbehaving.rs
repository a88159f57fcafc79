//! Servers that misbehave on purpose: bodies that never end or are huge.
//! Each costs one request (or one record) with a clear message, and the
//! host's memory stays bounded whatever they send.

use crate::support::*;
use local_servers::{Fault, HfState, LocalAiod, LocalServer, generated_id};

/// Peak memory a run may reach against a server sending too much: the
/// 64 MiB listing limit read, and the host's own ~35 MB.
const PEAK_RSS_KB: u64 = 200 * 1024;

fn dry_run_command(server: &LocalServer, args: &[&str]) -> std::process::Command {
    let base = server.base_url();
    let mut cmd = aiod_host();
    cmd.env("HF_ENDPOINT", &base)
        .env("HF_DATASETS_SERVER_ENDPOINT", &base)
        .arg("run")
        .args(FAST)
        .arg("--plugin")
        .arg(plugin_path())
        .arg("--dry-run")
        .args(args);
    cmd
}

/// A listing page that never ends used to be read into memory until the
/// timeout ended it (past 8 GB).
#[test]
fn a_listing_page_that_never_ends_fails_with_bounded_memory() {
    let server = LocalServer::start(HfState::generated(3)).unwrap();
    server.hf().inject("/api/datasets", Fault::Endless, 10);
    let (out, peak_kb) = output_with_peak_rss(dry_run_command(&server, &["--mode", "all"]));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("the answer is larger than the limit of 64 MiB (more than 67108864 bytes sent; --max-listing-mib sets the limit)"),
        "{err}"
    );
    assert!(
        peak_kb > 0 && peak_kb < PEAK_RSS_KB,
        "peak RSS {peak_kb} kB"
    );
    // Not retried: the same answer would come again.
    assert_eq!(server.requests_to("/api/datasets").len(), 1);
}

/// A 200 MB listing page took 1 GB of memory.
#[test]
fn a_200_mb_listing_page_fails_before_it_is_read() {
    let server = LocalServer::start(HfState::generated(3)).unwrap();
    server
        .hf()
        .inject("/api/datasets", Fault::Huge(200 << 20), 10);
    let (out, peak_kb) = output_with_peak_rss(dry_run_command(&server, &["--mode", "all"]));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("(209715200 bytes announced;"), "{err}");
    assert!(
        peak_kb > 0 && peak_kb < PEAK_RSS_KB,
        "peak RSS {peak_kb} kB"
    );
}

/// A follow-up larger than its limit costs its record only: a dead letter
/// saying why, the other records uploaded.
#[test]
fn an_oversized_follow_up_costs_only_its_record() {
    let hf = LocalServer::start(HfState::generated(4)).unwrap();
    let aiod = LocalAiod::start(catalogue()).unwrap();
    hf.hf().inject(&"/parquet".to_string(), Fault::Endless, 1);
    let (out, peak_kb) = output_with_peak_rss(command(
        &hf,
        &aiod,
        &["run", "--mode", "all", "--concurrency", "1"],
    ));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("created 3,"), "{err}");
    assert!(err.contains("failed 1"), "{err}");
    assert!(
        peak_kb > 0 && peak_kb < PEAK_RSS_KB,
        "peak RSS {peak_kb} kB"
    );
    let failures = aiod_host().args(["failures", "--json"]).output().unwrap();
    let text = String::from_utf8(failures.stdout).unwrap();
    assert!(text.contains("\"stage\":\"fetch\""), "{text}");
    assert!(text.contains("larger than the limit of 16 MiB"), "{text}");
    assert!(text.contains(&generated_id(0)), "{text}");
}
