//! Running `aiod-host` against local servers and reading what it printed.

use local_servers::{AiodState, LocalAiod, LocalServer};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output};
use std::time::{Duration, Instant};

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The plugin built from source by `cargo xtask build-plugins` (the test command runs it).
pub fn plugin_path() -> PathBuf {
    first_party_plugin("huggingface")
}

/// `plugins/NAME.wasm`, built from source by `cargo xtask build-plugins`.
pub fn first_party_plugin(name: &str) -> PathBuf {
    let path = workspace_root()
        .join("plugins")
        .join(format!("{name}.wasm"));
    assert!(
        path.exists(),
        "{} is missing: run `cargo xtask build-plugins` (or `cargo xtask test`)",
        path.display()
    );
    path
}

/// Python and JavaScript components (12–18 MB) compile in seconds: the tests
/// that load them share one compiled-plugin cache.
pub fn shared_plugin_cache() -> PathBuf {
    workspace_root().join("target/test-plugin-cache")
}

/// `plugin test PLUGIN --fixtures DIR` passes with `n` expected assets, all produced, none differing.
pub fn assert_passes_fixture(plugin: &Path, fixtures: &Path, n: usize) {
    let out = aiod_host()
        .env("AIOD_HOST_CACHE_DIR", shared_plugin_cache())
        .args(["plugin", "test"])
        .arg(plugin)
        .arg("--fixtures")
        .arg(fixtures)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    assert!(out.status.success(), "{text}{}", stderr(&out));
    assert!(
        text.contains(&format!("{n} expected assets, {n} produced, 0 differ")),
        "{text}"
    );
}

/// The bodies of a fixture's `expected.jsonl` (`dir` relative to the workspace).
pub fn expected_bodies(dir: &str) -> Vec<Value> {
    let path = workspace_root().join(dir).join("expected.jsonl");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["body"].clone())
        .collect()
}

/// A plugin the tests need but the project does not ship, built into
/// `target/test-plugins/` by `cargo xtask build-plugins`.
pub fn test_plugin(file: &str) -> PathBuf {
    let path = workspace_root().join("target/test-plugins").join(file);
    assert!(
        path.exists(),
        "{} is missing: run `cargo xtask build-plugins`",
        path.display()
    );
    path
}

thread_local! {
    /// A HOME of this test's own (tests run on their own threads, or processes
    /// under nextest): its state database and config files are not shared, and
    /// it is removed when the test's thread ends.
    static HOME: tempfile::TempDir = tempfile::Builder::new()
        .prefix("aiod-host-test-home-")
        .tempdir()
        .unwrap();
}

/// Run flags for tests against local servers: no budget to wait for, quick retries.
pub const FAST: [&str; 6] = [
    "--budget",
    "hub=100000/1",
    "--budget",
    "datasets-server=100000/1",
    "--backoff-ms",
    "10",
];

/// This test's HOME (empty unless the test puts something there).
pub fn home() -> PathBuf {
    HOME.with(|home| home.path().to_path_buf())
}

/// `aiod-host` with a clean environment: no inherited endpoint, token or AIoD
/// variables, and this test's own HOME.
pub fn aiod_host() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_aiod-host"));
    for var in [
        "HF_ENDPOINT",
        "HF_DATASETS_SERVER_ENDPOINT",
        "HF_TOKEN",
        "AIOD_HF_API_KEY",
        "PLATFORM_NAME",
        "CLIENT_SECRET",
        "AIOD_API_SERVER",
        "AIOD_AUTH_SERVER",
        "AIOD_API_VERSION",
        "AIOD_CLIENT_ID",
        "AIOD_REALM",
        "AIOD_HOST_STATE",
        "XDG_DATA_HOME",
        "RUST_LOG",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("HOME", home());
    cmd.current_dir(workspace_root());
    cmd
}

/// `aiod-host` syncing from the local Hugging Face `hf` (both endpoints) into the
/// local AIoD `aiod` as `client` with `secret`.
pub fn uploading(hf: &str, aiod: &LocalAiod, client: &str, secret: &str) -> Command {
    let mut cmd = aiod_host();
    cmd.env("HF_ENDPOINT", hf)
        .env("HF_DATASETS_SERVER_ENDPOINT", hf)
        .env("AIOD_API_SERVER", aiod.api_url())
        .env("AIOD_AUTH_SERVER", aiod.auth_url())
        .env("AIOD_CLIENT_ID", client)
        .env("CLIENT_SECRET", secret);
    cmd
}

/// The local Keycloak client the syncs upload as, and its (local) secret.
pub const CLIENT: &str = "platform_huggingface";
pub const SECRET: &str = "local-secret";

/// A local AIoD where `CLIENT` may upload for the Hugging Face platform.
pub fn catalogue() -> AiodState {
    AiodState::new().with_client(CLIENT, SECRET, &["platform_huggingface"])
}

/// `aiod-host SUBCOMMAND` (`args[0]`, default `run`) with `FAST`, the Hugging Face
/// plugin and the rest of `args`, uploading from `hf` into `aiod`.
pub fn command(hf: &LocalServer, aiod: &LocalAiod, args: &[&str]) -> Command {
    command_with(hf, aiod, &plugin_path(), args)
}

/// `command` with another plugin.
pub fn command_with(hf: &LocalServer, aiod: &LocalAiod, plugin: &Path, args: &[&str]) -> Command {
    let mut cmd = uploading(&hf.base_url(), aiod, CLIENT, SECRET);
    cmd.arg(args.first().copied().unwrap_or("run"))
        .args(FAST)
        .arg("--plugin")
        .arg(plugin)
        .args(args.get(1..).unwrap_or_default());
    cmd
}

/// `aiod-host run ARGS` from `hf` into `aiod`, to its end.
pub fn sync(hf: &LocalServer, aiod: &LocalAiod, args: &[&str]) -> Output {
    let mut all = vec!["run"];
    all.extend_from_slice(args);
    command(hf, aiod, &all).output().unwrap()
}

/// Asserts that the run succeeded; returns what it logged.
pub fn ok(out: &Output) -> String {
    let err = stderr(out);
    assert!(
        out.status.success(),
        "aiod-host failed ({}):\n{err}",
        out.status
    );
    err
}

/// `aiod-host run --plugin … --dry-run ARGS` with both Hugging Face endpoints on `server`.
pub fn dry_run(server: &LocalServer, args: &[&str]) -> Output {
    let base = server.base_url();
    let env = [
        ("HF_ENDPOINT", base.clone()),
        ("HF_DATASETS_SERVER_ENDPOINT", base),
    ];
    dry_run_env(&env, args)
}

/// `aiod-host run --plugin … --dry-run ARGS` with exactly these variables set.
pub fn dry_run_env(env: &[(&str, String)], args: &[&str]) -> Output {
    aiod_host()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .arg("run")
        .args(FAST)
        .arg("--plugin")
        .arg(plugin_path())
        .arg("--dry-run")
        .args(args)
        .output()
        .expect("aiod-host runs")
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts success and returns the JSON lines printed on standard output.
pub fn assets(out: &Output) -> Vec<Value> {
    assert!(
        out.status.success(),
        "aiod-host failed ({}):\n{}",
        out.status,
        stderr(out)
    );
    String::from_utf8(out.stdout.clone())
        .expect("stdout is UTF-8")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// Compares two JSON values field by field and lists every difference with its path.
pub fn json_differences(path: &str, expected: &Value, actual: &Value, out: &mut Vec<String>) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                match a.get(k) {
                    Some(av) => json_differences(&format!("{path}.{k}"), ev, av, out),
                    None => out.push(format!("{path}.{k}: missing (expected {ev})")),
                }
            }
            for k in a.keys().filter(|k| !e.contains_key(*k)) {
                out.push(format!("{path}.{k}: unexpected ({})", a[k]));
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                out.push(format!("{path}: {} items, expected {}", a.len(), e.len()));
            }
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                json_differences(&format!("{path}[{i}]"), ev, av, out);
            }
        }
        (e, a) if e != a => out.push(format!("{path}: {a}, expected {e}")),
        _ => {}
    }
}

pub fn assert_json_eq(what: &str, expected: &Value, actual: &Value) {
    let mut diffs = Vec::new();
    json_differences(what, expected, actual, &mut diffs);
    assert!(
        diffs.is_empty(),
        "{} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

/// Polls `done` until it holds; fails the test if it does not within `timeout`.
pub fn wait_for(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// An `aiod-host` running in the background, its standard error going to a
/// file the test reads while it runs (a pipe nobody reads would block it).
/// Dropped while it runs, it is killed: a failing test leaves nothing behind.
pub struct Running {
    child: Child,
    stderr: tempfile::NamedTempFile,
}

impl Running {
    pub fn start(mut cmd: Command) -> Running {
        let stderr = tempfile::NamedTempFile::new_in(home()).unwrap();
        let child = cmd
            .stderr(stderr.reopen().unwrap())
            .spawn()
            .expect("aiod-host runs");
        Running { child, stderr }
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// What it logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.stderr.path()).unwrap()
    }

    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Waits for a complete log line containing `text` and returns it; fails
    /// the test if the process ends first or the line does not come in `timeout`.
    pub fn wait_for_line(&mut self, text: &str, timeout: Duration) -> String {
        let mut found = None;
        wait_for(&format!("{text:?} in the log"), timeout, || {
            let log = self.log();
            found = log
                .split_inclusive('\n')
                .find(|l| l.ends_with('\n') && l.contains(text))
                .map(|l| l.trim_end().to_string());
            if found.is_none()
                && let Some(exit) = self.child.try_wait().unwrap()
            {
                panic!("aiod-host ended ({exit}) without logging {text:?}:\n{log}");
            }
            found.is_some()
        });
        found.unwrap()
    }

    /// Sends a signal, e.g. `-HUP`.
    pub fn signal(&self, which: &str) {
        let sent = Command::new("kill")
            .args([which, &self.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success(), "kill {which} {}", self.id());
    }

    /// Waits for it to end: its exit status and its whole log.
    pub fn wait(mut self) -> (ExitStatus, String) {
        let exit = self.child.wait().unwrap();
        (exit, self.log())
    }

    /// SIGKILL: no chance to save anything.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A loopback port with nothing listening on it.
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// `GET http://ADDR/PATH` over a plain socket: (status, body).
pub fn http_get(addr: &str, path: &str) -> std::io::Result<(u16, String)> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr)?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n")?;
    let mut text = String::new();
    stream.read_to_string(&mut text)?;
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    Ok((status, body.to_string()))
}

/// Runs `cmd` to its end with its output in files, reading its peak resident
/// memory (`VmHWM`, in kB) from `/proc` while it runs.
pub fn output_with_peak_rss(mut cmd: Command) -> (Output, u64) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let (out, err) = (
        home().join(format!("out-{n}")),
        home().join(format!("err-{n}")),
    );
    let mut child = cmd
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .expect("aiod-host runs");
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        let hwm = std::fs::read_to_string(&status_file)
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("VmHWM:"))
                    .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
            })
            .unwrap_or(0);
        peak = peak.max(hwm);
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    let output = Output {
        status,
        stdout: std::fs::read(out).unwrap(),
        stderr: std::fs::read(err).unwrap(),
    };
    (output, peak)
}

/// What the catalogue keeps of a body we sent (as the real one was observed to): keywords
/// lower-cased and sorted, the license lower-cased, dates without their timezone.
fn as_stored(mut body: Value) -> Value {
    if let Some(license) = body["license"].as_str() {
        body["license"] = serde_json::json!(license.to_lowercase());
    }
    if let Some(keywords) = body["keyword"].as_array() {
        let mut keywords: Vec<String> = keywords
            .iter()
            .map(|k| k.as_str().unwrap().to_lowercase())
            .collect();
        keywords.sort();
        keywords.dedup();
        body["keyword"] = serde_json::json!(keywords);
    }
    if let Some(date) = body["date_published"].as_str() {
        body["date_published"] =
            serde_json::json!(date.trim_end_matches('Z').trim_end_matches(".000"));
    }
    body
}

/// The asset `aiod` holds for `sent` (by its platform id) stores every field
/// sent, as the catalogue keeps it, and nothing else but its own fields.
pub fn assert_stored_as_sent(aiod: &LocalAiod, platform: &str, sent: &Value) {
    let pid = sent["platform_resource_identifier"].as_str().unwrap();
    let stored = aiod
        .asset_by_platform_id(platform, pid)
        .unwrap_or_else(|| panic!("{pid} not stored"));
    let sent = as_stored(sent.clone());
    let sent = sent.as_object().unwrap();
    let stored_subset: serde_json::Map<String, Value> = sent
        .keys()
        .map(|k| (k.clone(), stored.get(k).cloned().unwrap_or(Value::Null)))
        .collect();
    assert_json_eq(
        pid,
        &Value::Object(sent.clone()),
        &Value::Object(stored_subset),
    );
    for (k, v) in stored.as_object().unwrap() {
        let server_field = [
            "identifier",
            "ai_asset_identifier",
            "ai_resource_identifier",
            "aiod_entry",
        ]
        .contains(&k.as_str());
        let empty = v.is_null() || v == &serde_json::json!([]) || v == &serde_json::json!({});
        assert!(
            sent.contains_key(k) || server_field || empty,
            "{pid}: unexpected {k} = {v}"
        );
    }
}
