//! `script/run.sh local|test|prod [ARGS…]`, how operators run the Docker image: what it
//! hands `docker`. A stand-in `docker`, first on PATH, records the arguments of each call
//! (one per line, one file per call); no Docker daemon is needed.

use crate::support::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const CONFIG: &str = "/home/appuser/.aiod/config.toml";
const ENV_FILE: &str = "/home/appuser/.aiod/huggingface/.env";
const STATE: &str = "/home/appuser/.local/share/aiod-host";
const CACHE: &str = "/home/appuser/.cache/aiod-host";
const WHICH: [&str; 3] = ["local", "test", "prod"];

/// Records `"$@"` in `$DOCKER_CALLS/<n>`; `docker image inspect` fails when
/// `$DOCKER_NO_IMAGE` is set (no image built yet); everything else succeeds.
const STAND_IN: &str = r#"#!/bin/sh
n=$(ls "$DOCKER_CALLS" | wc -l)
printf '%s\n' "$@" > "$DOCKER_CALLS/$n"
if [ "$1" = image ] && [ -n "$DOCKER_NO_IMAGE" ]; then exit 1; fi
exit 0
"#;

/// A stand-in `docker` of this test's own.
struct Docker {
    bin: PathBuf,
    calls: PathBuf,
}

impl Docker {
    fn new() -> Docker {
        use std::os::unix::fs::PermissionsExt;
        let bin = home().join("docker-bin");
        let calls = home().join("docker-calls");
        for dir in [&bin, &calls] {
            let _ = std::fs::remove_dir_all(dir);
            std::fs::create_dir_all(dir).unwrap();
        }
        let docker = bin.join("docker");
        std::fs::write(&docker, STAND_IN).unwrap();
        std::fs::set_permissions(&docker, std::fs::Permissions::from_mode(0o755)).unwrap();
        Docker { bin, calls }
    }

    /// `bash SCRIPT ARGS` with the stand-in first on PATH and none of the variables
    /// run.sh reads, except those in `env`.
    fn command(&self, script: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut paths = vec![self.bin.clone()];
        paths.extend(std::env::split_paths(&path));
        let mut cmd = Command::new("bash");
        cmd.arg(script).args(args);
        for var in [
            "AIOD_HOST_IMAGE",
            "AIOD_HOST_BUILD",
            "CLIENT_SECRET",
            "PLATFORM_NAME",
            "HF_TOKEN",
            "AIOD_HF_API_KEY",
            "DOCKER_NO_IMAGE",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("PATH", std::env::join_paths(paths).unwrap())
            .env("DOCKER_CALLS", &self.calls)
            .envs(env.iter().copied())
            .current_dir(home())
            .stdin(std::process::Stdio::null());
        cmd
    }

    fn run(&self, script: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
        self.command(script, args, env)
            .output()
            .expect("bash runs script/run.sh")
    }

    /// The arguments of each call, in order.
    fn calls(&self) -> Vec<Vec<String>> {
        let mut files: Vec<(usize, PathBuf)> = std::fs::read_dir(&self.calls)
            .unwrap()
            .map(|e| {
                let path = e.unwrap().path();
                let n = path.file_name().unwrap().to_str().unwrap().parse().unwrap();
                (n, path)
            })
            .collect();
        files.sort();
        files
            .iter()
            .map(|(_, path)| {
                std::fs::read_to_string(path)
                    .unwrap()
                    .lines()
                    .map(str::to_string)
                    .collect()
            })
            .collect()
    }

    /// The one `docker run` call, after the check that the image exists.
    fn the_run(&self, out: &Output) -> Vec<String> {
        assert!(
            out.status.success(),
            "run.sh failed ({}):\n{}",
            out.status,
            stderr(out)
        );
        let calls = self.calls();
        assert_eq!(calls.len(), 2, "calls: {calls:?}");
        assert_eq!(calls[0], ["image", "inspect", "aiod-host"]);
        assert_eq!(calls[1][0], "run", "calls: {calls:?}");
        calls[1].clone()
    }
}

/// A copy of `script/run.sh` in a tree of this test's own, with a config and an env file for
/// every environment (the real `.test.env` and `.prod.env` are not in the repository).
fn script_copy() -> PathBuf {
    let root = home().join("repo");
    let script = root.join("script");
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&script).unwrap();
    std::fs::copy(
        workspace_root().join("script").join("run.sh"),
        script.join("run.sh"),
    )
    .unwrap();
    for which in WHICH {
        std::fs::write(
            script.join(format!("config.{which}.toml")),
            format!("api_server = \"https://{which}.example/\"\n"),
        )
        .unwrap();
        std::fs::write(
            script.join(format!(".{which}.env")),
            format!("CLIENT_SECRET={which}-secret\n"),
        )
        .unwrap();
    }
    script.join("run.sh")
}

/// The values of every `--mount` option, in order.
fn mounts(run: &[String]) -> Vec<String> {
    run.windows(2)
        .filter(|w| w[0] == "--mount")
        .map(|w| w[1].clone())
        .collect()
}

fn bind(source: &Path, target: &str) -> String {
    format!(
        "type=bind,source={},target={target},readonly",
        source.display()
    )
}

fn volume(name: &str, target: &str) -> String {
    format!("type=volume,source={name},target={target}")
}

/// `run` ends with the image and then exactly `args`.
fn assert_ends_with_image_and(run: &[String], image: &str, args: &[&str]) {
    assert!(run.len() > args.len(), "{run:?}");
    let tail = &run[run.len() - args.len() - 1..];
    assert_eq!(tail[0], image, "the image, then the arguments: {run:?}");
    assert_eq!(&tail[1..], args, "the arguments, unchanged and in order");
}

fn has_pair(run: &[String], flag: &str, value: &str) -> bool {
    run.windows(2).any(|w| w[0] == flag && w[1] == value)
}

#[test]
fn each_environment_mounts_its_config_secret_and_state_and_passes_the_arguments() {
    let script = script_copy();
    let dir = script.parent().unwrap();
    let args = [
        "run",
        "--mode",
        "id",
        "--value",
        "org/a name with spaces",
        "--app-log-level",
        "debug",
        "--dry-run",
    ];
    for which in WHICH {
        let docker = Docker::new();
        let out = docker.run(&script, &[&[which][..], &args[..]].concat(), &[]);
        let run = docker.the_run(&out);
        assert_eq!(
            mounts(&run),
            [
                bind(&dir.join(format!("config.{which}.toml")), CONFIG),
                bind(&dir.join(format!(".{which}.env")), ENV_FILE),
                volume(&format!("aiod-host-{which}-state"), STATE),
                volume(&format!("aiod-host-{which}-plugin-cache"), CACHE),
            ],
            "{which}: {run:?}"
        );
        assert!(run.contains(&"--rm".to_string()), "{run:?}");
        assert!(
            has_pair(&run, "--name", &format!("aiod-host-{which}")),
            "{run:?}"
        );
        // Only the local AIoD is on this machine's network.
        assert_eq!(
            has_pair(&run, "--network", "host"),
            which == "local",
            "{which}: {run:?}"
        );
        assert!(!run.iter().any(|a| a.starts_with("--env")), "{run:?}");
        assert_ends_with_image_and(&run, "aiod-host", &args);
    }
}

#[test]
fn the_committed_local_files_are_mounted_in_place() {
    let script = workspace_root().join("script").join("run.sh");
    let dir = script.parent().unwrap();
    let docker = Docker::new();
    let out = docker.run(&script, &["local", "--help"], &[]);
    let run = docker.the_run(&out);
    assert_eq!(
        mounts(&run),
        [
            bind(&dir.join("config.local.toml"), CONFIG),
            bind(&dir.join(".local.env"), ENV_FILE),
            volume("aiod-host-local-state", STATE),
            volume("aiod-host-local-plugin-cache", CACHE),
        ],
        "{run:?}"
    );
    assert_ends_with_image_and(&run, "aiod-host", &["--help"]);

    // prod: the repository's config; the secret only where an operator put one.
    let docker = Docker::new();
    let out = docker.run(&script, &["prod", "failures"], &[]);
    let run = docker.the_run(&out);
    let mounts = mounts(&run);
    assert_eq!(mounts[0], bind(&dir.join("config.prod.toml"), CONFIG));
    assert_eq!(
        mounts.contains(&bind(&dir.join(".prod.env"), ENV_FILE)),
        dir.join(".prod.env").exists()
    );
    assert!(mounts.contains(&volume("aiod-host-prod-state", STATE)));
    assert_ends_with_image_and(&run, "aiod-host", &["failures"]);
}

#[test]
fn without_arguments_the_image_runs_its_default_command() {
    let script = script_copy();
    let docker = Docker::new();
    let out = docker.run(&script, &["prod"], &[]);
    let run = docker.the_run(&out);
    assert_eq!(run.last().unwrap(), "aiod-host", "{run:?}");
    assert!(mounts(&run).contains(&volume("aiod-host-prod-state", STATE)));
}

#[test]
fn a_wrong_or_missing_environment_prints_the_usage_and_calls_no_docker() {
    let script = workspace_root().join("script").join("run.sh");
    for args in [
        &[][..],
        &["production"][..],
        &["--help"][..],
        &["", "run"][..],
        &["run", "--mode", "all"][..],
    ] {
        let docker = Docker::new();
        let out = docker.run(&script, args, &[]);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains("usage:"), "{args:?}: {err}");
        assert!(err.contains("local|test|prod"), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert_eq!(docker.calls(), Vec::<Vec<String>>::new(), "{args:?}");
    }
}

#[test]
fn a_missing_image_is_built_from_the_repository_first() {
    let script = script_copy();
    let root = script.parent().unwrap().parent().unwrap();
    let docker = Docker::new();
    let out = docker.run(&script, &["test", "--version"], &[("DOCKER_NO_IMAGE", "1")]);
    assert!(out.status.success(), "{}", stderr(&out));
    let calls = docker.calls();
    assert_eq!(calls.len(), 3, "{calls:?}");
    assert_eq!(calls[0], ["image", "inspect", "aiod-host"]);
    assert_eq!(
        calls[1],
        ["build", "--tag", "aiod-host", root.to_str().unwrap()]
    );
    assert_ends_with_image_and(&calls[2], "aiod-host", &["--version"]);

    // Another image, and a forced build although it exists.
    let docker = Docker::new();
    let out = docker.run(
        &script,
        &["test"],
        &[
            ("AIOD_HOST_IMAGE", "registry.example/aiod-host:1.2"),
            ("AIOD_HOST_BUILD", "1"),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let calls = docker.calls();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_eq!(
        calls[0],
        [
            "build",
            "--tag",
            "registry.example/aiod-host:1.2",
            root.to_str().unwrap()
        ]
    );
    assert_eq!(calls[1].last().unwrap(), "registry.example/aiod-host:1.2");
}

#[test]
fn secrets_in_the_environment_are_passed_by_name_only() {
    let script = script_copy();
    let docker = Docker::new();
    let out = docker.run(
        &script,
        &["prod", "run", "--mode", "all"],
        &[
            ("CLIENT_SECRET", "s3cret-from-env"),
            ("HF_TOKEN", "hf_token-from-env"),
        ],
    );
    let run = docker.the_run(&out);
    assert!(has_pair(&run, "--env", "CLIENT_SECRET"), "{run:?}");
    assert!(has_pair(&run, "--env", "HF_TOKEN"), "{run:?}");
    assert!(!has_pair(&run, "--env", "PLATFORM_NAME"), "{run:?}");
    for arg in &run {
        assert!(
            !arg.contains("from-env"),
            "a secret's value on docker's command line: {arg}"
        );
    }
    assert_ends_with_image_and(&run, "aiod-host", &["run", "--mode", "all"]);
}

#[test]
fn a_missing_env_file_is_warned_about_and_not_mounted() {
    let script = script_copy();
    let dir = script.parent().unwrap();
    std::fs::remove_file(dir.join(".test.env")).unwrap();
    let docker = Docker::new();
    let out = docker.run(&script, &["test", "failures"], &[]);
    let run = docker.the_run(&out);
    assert!(
        stderr(&out).contains(".test.env is missing"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        mounts(&run),
        [
            bind(&dir.join("config.test.toml"), CONFIG),
            volume("aiod-host-test-state", STATE),
            volume("aiod-host-test-plugin-cache", CACHE),
        ]
    );

    // A missing config is an error: the run would silently go to the default catalogue.
    std::fs::remove_file(dir.join("config.test.toml")).unwrap();
    let docker = Docker::new();
    let out = docker.run(&script, &["test", "failures"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("config.test.toml is missing"));
    assert_eq!(docker.calls(), Vec::<Vec<String>>::new());
}

/// The committed configs are the SDK's `config.toml`, with the keys the host reads and the
/// catalogues of each environment; the local env file is a template.
#[test]
fn the_committed_configs_name_each_environments_servers() {
    let script = workspace_root().join("script");
    let expected = [
        (
            "local",
            "http://localhost/",
            "http://localhost/aiod-auth/",
            "sdk-service",
        ),
        (
            "test",
            "https://test.openml.org/aiod/",
            "https://ai4europe.test.fedcloud.eu/aiod-auth/",
            "platform_huggingface",
        ),
        (
            "prod",
            "https://api.aiodp.eu/",
            "https://auth.aiodp.eu/aiod-auth/",
            "platform_huggingface",
        ),
    ];
    for (which, api, auth, client) in expected {
        let path = script.join(format!("config.{which}.toml"));
        let text = std::fs::read_to_string(&path).unwrap();
        let table: toml::Table = toml::from_str(&text).unwrap();
        for key in table.keys() {
            assert!(
                [
                    "api_server",
                    "version",
                    "auth_server",
                    "realm",
                    "client_id",
                    "request_timeout_seconds",
                    "endpoints"
                ]
                .contains(&key.as_str()),
                "{}: the host ignores {key:?}",
                path.display()
            );
        }
        let get = |key: &str| table.get(key).and_then(|v| v.as_str());
        assert_eq!(get("api_server"), Some(api), "{which}");
        assert_eq!(get("auth_server"), Some(auth), "{which}");
        assert_eq!(get("client_id"), Some(client), "{which}");
    }

    let template = std::fs::read_to_string(script.join(".local.env")).unwrap();
    let secret = template
        .lines()
        .find_map(|l| l.strip_prefix("CLIENT_SECRET="))
        .expect("the template sets CLIENT_SECRET");
    assert!(secret.starts_with("replace-"), "a placeholder: {secret}");
}

#[test]
fn a_checkout_whose_path_docker_cannot_mount_is_refused() {
    let script = script_copy();
    let root = script.parent().unwrap().parent().unwrap();
    let odd = home().join("odd,repo");
    let _ = std::fs::remove_dir_all(&odd);
    std::fs::rename(root, &odd).unwrap();
    let docker = Docker::new();
    let out = docker.run(&odd.join("script").join("run.sh"), &["prod"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("has a comma"), "{}", stderr(&out));
    assert_eq!(docker.calls(), Vec::<Vec<String>>::new());
}
