//! `aiod-host config show`: precedence (flag > environment > config file > default), where
//! each value came from, and secrets masked.

use crate::support::*;

const CLIENT_SECRET: &str = "cs-4a9e7f-never-shown";
const HF_TOKEN: &str = "hf_token_never_shown_42";

fn show(extra_env: &[(&str, &str)], args: &[&str]) -> (String, String) {
    let config = home().join("config.toml");
    std::fs::write(
        &config,
        "api_server = 'http://file.example/'\nauth_server = 'http://auth.file.example/'\n\
         realm = 'file-realm'\nclient_id = 'file-client'\nrequest_timeout_seconds = 20\n\
         [endpoints]\nhub = 'http://hub.file.example'\n",
    )
    .unwrap();
    let env_file = home().join(".aiod/huggingface/.env");
    std::fs::create_dir_all(env_file.parent().unwrap()).unwrap();
    std::fs::write(&env_file, format!("CLIENT_SECRET={CLIENT_SECRET}\n")).unwrap();
    let out = aiod_host()
        .envs(extra_env.iter().copied())
        .args(["config", "show", "--config"])
        .arg(&config)
        .arg("--plugin")
        .arg(plugin_path())
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout.clone()).unwrap();
    assert!(out.status.success(), "{stdout}{}", stderr(&out));
    (stdout, stderr(&out))
}

fn line<'a>(text: &'a str, key: &str) -> &'a str {
    text.lines()
        .find(|l| l.starts_with(key))
        .unwrap_or_else(|| panic!("no {key:?} line in:\n{text}"))
}

#[test]
fn config_show_gives_each_value_its_source_and_masks_secrets() {
    let config = home().join("config.toml");
    let env_file = home().join(".aiod/huggingface/.env");
    let (out, err) = show(
        &[
            ("AIOD_API_SERVER", "http://env.example/"),
            ("AIOD_REALM", "env-realm"),
            ("HF_TOKEN", HF_TOKEN),
            ("HF_DATASETS_SERVER_ENDPOINT", "http://ds.env.example"),
        ],
        &["--realm", "flag-realm", "--plugin-cpu-ms", "1500"],
    );
    let rows = [
        ("config file", format!("{}", config.display())),
        ("env file", format!("{}", env_file.display())),
        // The environment beats the file; a flag beats the environment.
        ("api_server", "http://env.example/  (environment variable AIOD_API_SERVER)".into()),
        ("realm", "flag-realm  (flag --realm)".into()),
        ("auth_server", format!("http://auth.file.example/  (config file {})", config.display())),
        ("client_id", format!("file-client  (config file {})", config.display())),
        ("version", "v2  (default)".into()),
        ("CLIENT_SECRET", format!("********  (env file {})", env_file.display())),
        ("platform", "huggingface  (the plugin's platform)".into()),
        ("request timeout", "20s  (config file)".into()),
        ("plugin limits", "cpu 1.5s per call, memory 512 MiB, output 64 MiB".into()),
        ("endpoint datasets-server", "= http://ds.env.example/ (from environment variable HF_DATASETS_SERVER_ENDPOINT".into()),
        ("endpoint hub", "= http://hub.file.example/ (from the config file, budget 1000 requests per 300s, with token)".into()),
    ];
    for (key, expected) in rows {
        let l = line(&out, key);
        assert!(
            l.contains(&expected),
            "{key}: expected {expected:?} in {l:?}"
        );
    }
    for secret in [CLIENT_SECRET, HF_TOKEN] {
        assert!(
            !out.contains(secret) && !err.contains(secret),
            "{secret} leaked:\n{out}\n{err}"
        );
    }

    // The secret from the environment beats the env file's.
    let (out, _) = show(&[("CLIENT_SECRET", "from-the-environment")], &[]);
    assert!(
        line(&out, "CLIENT_SECRET").contains("********  (environment variable CLIENT_SECRET)"),
        "{out}"
    );
    assert!(!out.contains("from-the-environment"));
}
