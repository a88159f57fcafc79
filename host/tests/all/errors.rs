//! Bad input gets a clear message and a non-zero exit.

use crate::support::*;
use local_servers::{HfState, LocalServer};
use std::process::Output;

fn run_args(args: &[&str]) -> Output {
    aiod_host()
        .arg("run")
        .args(FAST)
        .args(args)
        .output()
        .unwrap()
}

/// `run --mode all --dry-run` with the plugin file at `path`.
fn run_plugin_file(path: &std::path::Path) -> Output {
    run_args(&[
        "--plugin",
        path.to_str().unwrap(),
        "--mode",
        "all",
        "--dry-run",
    ])
}

fn assert_fails_with(out: &Output, code: i32, message: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(code), "{err}");
    assert!(err.contains(message), "expected {message:?} in:\n{err}");
    assert!(out.stdout.is_empty(), "nothing may be printed on stdout");
}

/// A file in this test's HOME, removed with it.
fn temp_file(name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = home().join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn missing_plugin_file() {
    let out = run_args(&[
        "--plugin",
        "plugins/nope.wasm",
        "--mode",
        "all",
        "--dry-run",
    ]);
    assert_fails_with(&out, 2, "cannot read plugin file plugins/nope.wasm");
}

#[test]
fn a_file_that_is_not_webassembly() {
    let path = temp_file("text.wasm", b"this is not wasm");
    let out = run_plugin_file(&path);
    assert_fails_with(&out, 2, "not a WebAssembly file");
}

#[test]
fn a_core_module_is_not_a_component() {
    let path = temp_file("core.wasm", &wat::parse_str("(module)").unwrap());
    let out = run_plugin_file(&path);
    assert_fails_with(&out, 2, "a core WebAssembly module, not a component");
}

#[test]
fn a_plugin_built_for_another_contract_version() {
    let component = wat::parse_str(
        r#"(component
             (instance $plugin)
             (export "aiod:connector/plugin@2.0.0" (instance $plugin)))"#,
    )
    .unwrap();
    let path = temp_file("future.wasm", &component);
    let out = run_plugin_file(&path);
    assert_fails_with(
        &out,
        2,
        "plugin built for aiod:connector@2.0.0; this host supports 0.1.x",
    );
}

#[test]
fn a_component_that_is_no_plugin() {
    let path = temp_file("empty.wasm", &wat::parse_str("(component)").unwrap());
    let out = run_plugin_file(&path);
    assert_fails_with(&out, 2, "not an aiod-host plugin");
}

#[test]
fn mode_id_without_value() {
    let plugin = plugin_path();
    let out = run_args(&[
        "--plugin",
        plugin.to_str().unwrap(),
        "--mode",
        "id",
        "--dry-run",
    ]);
    assert_fails_with(&out, 2, "--mode id needs --value");
}

#[test]
fn value_with_mode_all() {
    let plugin = plugin_path();
    let args = [
        "--plugin",
        plugin.to_str().unwrap(),
        "--mode",
        "all",
        "--value",
        "x",
        "--dry-run",
    ];
    assert_fails_with(&run_args(&args), 2, "--mode all takes no --value");
}

#[test]
fn unparsable_since_value() {
    let plugin = plugin_path();
    let args = [
        "--plugin",
        plugin.to_str().unwrap(),
        "--mode",
        "since",
        "--value",
        "last tuesday",
        "--dry-run",
    ];
    assert_fails_with(
        &run_args(&args),
        2,
        "--value \"last tuesday\" is not a date or timestamp",
    );
}

#[test]
fn unknown_mode_is_a_usage_error() {
    let out = run_args(&["--plugin", "x.wasm", "--mode", "delete"]);
    assert_fails_with(&out, 2, "invalid value 'delete' for '--mode <MODE>'");
}

#[test]
fn unreachable_hugging_face() {
    let env = [("HF_ENDPOINT", format!("http://127.0.0.1:{}", closed_port()))];
    let out = dry_run_env(&env, &["--mode", "all"]);
    assert_fails_with(&out, 2, "cannot reach endpoint \"hub\": could not connect");
}

#[test]
fn a_listing_error_ends_the_sync_with_the_platforms_message() {
    // The hub answers 404 under a wrong prefix: the plugin reads it, the host reports it.
    let server = LocalServer::start(HfState::recorded()).unwrap();
    let env = [(
        "HF_ENDPOINT",
        format!("{}/no-such-prefix", server.base_url()),
    )];
    let out = dry_run_env(&env, &["--mode", "all"]);
    assert_fails_with(
        &out,
        2,
        "the listing cannot go on: dataset listing failed: HTTP 404",
    );
}

#[test]
fn invalid_endpoint_configuration() {
    let out = dry_run_env(
        &[("HF_ENDPOINT", "not a url".to_string())],
        &["--mode", "all"],
    );
    assert_fails_with(
        &out,
        2,
        "endpoint \"hub\" has an invalid base URL (from environment variable HF_ENDPOINT)",
    );
}

#[test]
fn help_explains_every_run_flag() {
    let out = aiod_host().args(["run", "--help"]).output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--plugin",
        "--mode",
        "--value",
        "--dry-run",
        "--config",
        "--endpoint",
        "--platform-name",
        "--concurrency",
        "--app-log-level",
        "--root-log-level",
    ] {
        assert!(help.contains(flag), "{flag} missing from:\n{help}");
    }
}

/// Huge, zero and nonsensical numbers from flags and the config file are
/// clear errors before anything runs, never a panic or a silent wrap.
#[test]
fn extreme_numbers_are_refused_with_a_message() {
    let plugin = plugin_path();
    let plugin = plugin.to_str().unwrap();
    let dry = |extra: &[&str]| {
        let mut args = vec!["--plugin", plugin, "--mode", "all", "--dry-run"];
        args.extend_from_slice(extra);
        run_args(&args)
    };
    for (flag, value, message) in [
        ("--budget", "hub=10/1e400", "expected NAME=REQUESTS/SECONDS"),
        ("--budget", "hub=10/-3", "expected NAME=REQUESTS/SECONDS"),
        ("--plugin-memory-mib", "99999999999", "--plugin-memory-mib"),
        ("--plugin-output-mib", "0", "--plugin-output-mib"),
        ("--plugin-cpu-ms", "18446744073709551615", "--plugin-cpu-ms"),
        // NaN would make every comparison with the share false: no guard at all.
        ("--max-delete-share", "NaN", "expected a share from 0 to 1"),
        ("--max-delete-share", "inf", "expected a share from 0 to 1"),
        (
            "--progress-every",
            "1000000000000000000000000000d",
            "not a usable duration",
        ),
    ] {
        let out = dry(&[flag, value]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{flag} {value}:\n{err}");
        assert!(err.contains(message), "{flag} {value}:\n{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    let out = aiod_host()
        .args(["serve", "--plugin", plugin, "--every", "0s"])
        .output()
        .unwrap();
    assert_fails_with(&out, 2, "longer than zero");
    let config = temp_file("huge-timeout.toml", b"request_timeout_seconds = 1e300\n");
    let out = dry(&["--config", config.to_str().unwrap()]);
    assert_fails_with(
        &out,
        2,
        "request_timeout_seconds must be a number of seconds",
    );
}

/// `PLATFORM_NAME` names the state file: a path in it must not choose where
/// the host writes.
#[test]
fn a_platform_name_that_is_a_path_is_refused_and_nothing_is_written() {
    let hf = LocalServer::start(HfState::generated(1)).unwrap();
    let aiod = local_servers::LocalAiod::start(catalogue()).unwrap();
    for name in ["../../../evil", "a/b", ".."] {
        let out = command(&hf, &aiod, &["run", "--mode", "all"])
            .env("PLATFORM_NAME", name)
            .output()
            .unwrap();
        assert_fails_with(&out, 2, "is not a usable name");
        assert!(stderr(&out).contains("PLATFORM_NAME"), "{}", stderr(&out));
    }
    assert!(!home().join("evil.sqlite").exists());
    assert!(
        !home().join(".local").exists(),
        "a state directory was created"
    );
    assert_eq!(aiod.count("POST", "/"), 0, "nothing reached AIoD");
    let out = aiod_host()
        .args(["failures"])
        .env("PLATFORM_NAME", "../../../evil")
        .output()
        .unwrap();
    assert_fails_with(&out, 2, "is not a usable name");
}

/// `run` against a local AIoD, with the environment `env` gives for it.
fn upload_with(env: impl Fn(&local_servers::LocalAiod) -> Vec<(&'static str, String)>) -> Output {
    let hf = LocalServer::start(HfState::recorded()).unwrap();
    let aiod = local_servers::LocalAiod::start(catalogue()).unwrap();
    let mut cmd = command(&hf, &aiod, &["run", "--mode", "all"]);
    // Each run talks to a catalogue of its own, so it gets a state of its own.
    let state = tempfile::tempdir().unwrap();
    cmd.env("AIOD_HOST_STATE", state.path().join("state.sqlite"));
    cmd.envs(env(&aiod));
    cmd.output().unwrap()
}

/// Each step of the pre-flight has its own message, and none blames
/// authentication for a server it could not reach.
#[test]
fn a_failed_pre_flight_says_which_step_failed() {
    let down = format!("http://127.0.0.1:{}/", closed_port());
    let aiod_down = upload_with(|_| vec![("AIOD_API_SERVER", down.clone())]);
    assert_fails_with(
        &aiod_down,
        2,
        &format!("AIoD pre-flight failed: cannot reach AIoD at {down}authorization_test: "),
    );
    let keycloak_down = upload_with(|_| vec![("AIOD_AUTH_SERVER", down.clone())]);
    assert_fails_with(
        &keycloak_down,
        2,
        &format!("AIoD pre-flight failed: cannot reach Keycloak at {down}"),
    );
    let no_route = upload_with(|aiod| {
        vec![(
            "AIOD_API_SERVER",
            format!("{}wrong-prefix/", aiod.api_url()),
        )]
    });
    assert_fails_with(
        &no_route,
        2,
        "wrong-prefix/authorization_test: check api_server and version",
    );
    assert!(stderr(&no_route).contains("AIoD pre-flight failed: the AIoD API has no route GET "));
    let refused = upload_with(|_| vec![("CLIENT_SECRET", "wrong".to_string())]);
    assert_fails_with(
        &refused,
        2,
        "AIoD pre-flight failed: Keycloak rejected the credentials",
    );
    for out in [&aiod_down, &keycloak_down, &no_route, &refused] {
        let err = stderr(out);
        assert!(!err.contains("authentication is broken"), "{err}");
        let error = err.lines().find(|l| l.starts_with("error: ")).unwrap();
        assert!(!error.contains(".."), "a doubled full stop: {error}");
    }
}

/// A retired API version (`v1`) has no routes: its 404 `Not Found` is not an
/// absent asset, so the run stops with the route message instead of posting
/// (and dead-lettering) every record.
#[test]
fn a_retired_api_version_stops_with_the_route_message() {
    let out = upload_with(|_| vec![("AIOD_API_VERSION", "v1".to_string())]);
    assert_fails_with(&out, 2, "the AIoD API has no route GET http://");
    assert!(stderr(&out).contains("/v1/platforms/huggingface/datasets?offset=0"));
    assert!(stderr(&out).contains(": check api_server and version"));
    let hf = LocalServer::start(HfState::recorded()).unwrap();
    let aiod = local_servers::LocalAiod::start(catalogue()).unwrap();
    let out = command(
        &hf,
        &aiod,
        &["run", "--mode", "id", "--value", "rotten_tomatoes"],
    )
    .env("AIOD_API_VERSION", "v1")
    .output()
    .unwrap();
    assert_fails_with(&out, 2, "the AIoD API has no route GET http://");
    assert_eq!(aiod.count("POST", "/v1/"), 0, "nothing was posted");
}

/// Credentials in `--api-server` or `--auth-server` are refused, and not repeated.
#[test]
fn credentials_in_an_aiod_url_are_refused_without_repeating_them() {
    for flag in ["--api-server", "--auth-server"] {
        let hf = LocalServer::start(HfState::recorded()).unwrap();
        let aiod = local_servers::LocalAiod::start(catalogue()).unwrap();
        let out = command(
            &hf,
            &aiod,
            &[
                "run",
                "--mode",
                "all",
                flag,
                "http://admin:hunter2@127.0.0.1:9/",
            ],
        )
        .output()
        .unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains("must not carry a user name or password"),
            "{err}"
        );
        assert!(!err.contains("hunter2") && !err.contains("admin"), "{err}");
    }
}

/// A FIFO (or any file that is not a regular one) as the plugin is refused at
/// once instead of blocking for ever on its read.
#[cfg(unix)]
#[test]
fn a_fifo_as_the_plugin_is_refused() {
    let fifo = home().join("plugin.wasm");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let out = run_plugin_file(&fifo);
    assert_fails_with(&out, 2, "is not a regular file");
}

/// An endpoint variable that is not valid UTF-8 is an error, not an unset
/// variable (which would send the requests to the public Hub).
#[cfg(unix)]
#[test]
fn an_unreadable_endpoint_variable_is_an_error() {
    use std::os::unix::ffi::OsStrExt as _;
    let out = aiod_host()
        .env(
            "HF_ENDPOINT",
            std::ffi::OsStr::from_bytes(b"http://\xff\xfe/"),
        )
        .args(["run", "--dry-run", "--mode", "all", "--plugin"])
        .arg(plugin_path())
        .output()
        .unwrap();
    assert_fails_with(
        &out,
        2,
        "the environment variable HF_ENDPOINT is not valid UTF-8",
    );
}
