//! `aiod-host check`: every check reported, nothing synced.

use crate::support::*;
use local_servers::{AiodState, HfState, LocalAiod, LocalServer};
use std::path::Path;
use std::process::Output;

const CLIENT: &str = "platform_huggingface";
const SECRET: &str = "check-secret-0815";

fn check(hf: &str, aiod: &LocalAiod, secret: &str, plugin: &Path, extra: &[&str]) -> Output {
    uploading(hf, aiod, CLIENT, secret)
        .arg("check")
        .arg("--plugin")
        .arg(plugin)
        .args(extra)
        .output()
        .unwrap()
}

fn assert_lines(out: &Output, lines: &[&str]) {
    let text = stdout(out);
    for line in lines {
        assert!(
            text.lines().any(|l| l.starts_with(line)),
            "{line:?} missing from:\n{text}{}",
            stderr(out)
        );
    }
}

#[test]
fn check_passes_a_good_configuration_and_syncs_nothing() {
    let hf = LocalServer::start(HfState::recorded()).unwrap();
    let aiod = LocalAiod::start(AiodState::new().with_client(CLIENT, SECRET, &[CLIENT])).unwrap();
    let out = check(&hf.base_url(), &aiod, SECRET, &plugin_path(), &[]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let base = hf.base_url();
    assert_lines(
        &out,
        &[
            "ok    configuration: no config file",
            "ok    plugin: huggingface 0.1.0 for platform huggingface, contract aiod:connector@0.1.2",
            &format!("ok    endpoint hub: GET {base}/api/datasets?limit=1 answered 200"),
            &format!("ok    endpoint datasets-server: GET {base}/healthcheck answered 200"),
            &format!("ok    AIoD settings: {}v2", aiod.api_url()),
            "ok    AIoD token: Keycloak issued a token to client \"platform_huggingface\"",
            "ok    AIoD role: the client may upload for platform \"huggingface\"",
            &format!(
                "ok    AIoD platform: \"huggingface\" is registered in {}v2",
                aiod.api_url()
            ),
            "all 8 checks passed",
        ],
    );
    assert!(hf.requests_to("/parquet").is_empty());
    assert_eq!(aiod.count("POST", "/"), 1, "only the token request");
    assert!(!stdout(&out).contains(SECRET) && !stderr(&out).contains(SECRET));
}

/// `check` reads a versioned route: a retired version fails it, and so does a
/// platform the catalogue has not registered (every upload would meet 412).
#[test]
fn check_fails_a_retired_version_and_an_unregistered_platform() {
    let hf = LocalServer::start(HfState::recorded()).unwrap();
    let aiod = LocalAiod::start(
        AiodState::new()
            .with_client(CLIENT, SECRET, &[CLIENT])
            .with_client("birds", "pw", &["platform_bird_songs"]),
    )
    .unwrap();
    let check_as = |client: &str, secret: &str, var: &str, value: &str| {
        uploading(&hf.base_url(), &aiod, client, secret)
            .env(var, value)
            .args(["check", "--plugin"])
            .arg(plugin_path())
            .output()
            .unwrap()
    };
    let out = check_as(CLIENT, SECRET, "AIOD_API_VERSION", "v1");
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert_lines(
        &out,
        &[&format!(
            "FAIL  AIoD platform: the AIoD API has no route GET {}v1/platforms?offset=0&limit=1000: \
             check api_server and version",
            aiod.api_url()
        )],
    );
    let out = check_as("birds", "pw", "PLATFORM_NAME", "bird_songs");
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert_lines(
        &out,
        &[
            "ok    AIoD role: the client may upload for platform \"bird_songs\"",
            &format!(
                "FAIL  AIoD platform: \"bird_songs\" is not registered in {}v2 (it has ",
                aiod.api_url()
            ),
        ],
    );
    assert!(stdout(&out).contains("until an AIoD administrator registers it (POST /platforms)"));
}

#[test]
fn check_reports_what_is_wrong() {
    let hf = LocalServer::start(HfState::recorded()).unwrap();
    let aiod = LocalAiod::start(
        AiodState::new()
            .with_client(CLIENT, SECRET, &[CLIENT])
            .with_client("ordinary", "pw", &[]),
    )
    .unwrap();

    // A wrong secret: the token check fails, and says how to fix it.
    let out = check(&hf.base_url(), &aiod, "wrong-secret", &plugin_path(), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert_lines(
        &out,
        &[
            "FAIL  AIoD token: Keycloak rejected the credentials of client \"platform_huggingface\"",
            "1 of 6 checks failed",
        ],
    );
    assert!(!stdout(&out).contains("wrong-secret"));

    // A client without the platform's role.
    let out = uploading(&hf.base_url(), &aiod, "ordinary", "pw")
        .args(["check", "--plugin"])
        .arg(plugin_path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert_lines(
        &out,
        &[
            "FAIL  AIoD role: the AIoD client \"service-account-ordinary\" lacks the role \"platform_huggingface\"",
        ],
    );

    // Hugging Face unreachable: each endpoint is reported, AIoD is still checked.
    let down = format!("http://127.0.0.1:{}", closed_port());
    let out = check(&down, &aiod, SECRET, &plugin_path(), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert_lines(
        &out,
        &[
            &format!("FAIL  endpoint hub: GET {down}/api/datasets?limit=1: "),
            &format!("FAIL  endpoint datasets-server: GET {down}/healthcheck: "),
            "ok    AIoD role:",
            "2 of 8 checks failed",
        ],
    );

    // A config file that is not TOML.
    let config = home().join("broken.toml");
    std::fs::write(&config, "api_server = [unclosed").unwrap();
    let out = check(
        &hf.base_url(),
        &aiod,
        SECRET,
        &plugin_path(),
        &["--config", config.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert_lines(
        &out,
        &[
            &format!(
                "FAIL  configuration: invalid config file {}",
                config.display()
            ),
            "1 of 1 checks failed",
        ],
    );
}

/// A plugin built for contract 0.1.0 has no `probes`: the host probes the
/// first request of an `all` sync instead.
#[test]
fn a_plugin_without_probes_is_checked_with_its_first_listing_request() {
    let hf = LocalServer::start(HfState::recorded()).unwrap();
    let aiod = LocalAiod::start(AiodState::new().with_client(CLIENT, SECRET, &[CLIENT])).unwrap();
    let out = check(
        &hf.base_url(),
        &aiod,
        SECRET,
        &test_plugin("huggingface-v0.1.0.wasm"),
        &[],
    );
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let base = hf.base_url();
    assert_lines(
        &out,
        &[
            "ok    plugin: huggingface 0.1.0 for platform huggingface, contract aiod:connector@0.1.0",
            &format!(
                "ok    endpoint hub: GET {base}/api/datasets?full=true&sort=createdAt&limit=1000 answered 200"
            ),
            "all 7 checks passed",
        ],
    );
}
