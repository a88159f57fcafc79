//! `aiod-host config show`: the configuration a sync would use, each value
//! with where it came from; secrets are shown only as set or not set.

use crate::cli::CommonArgs;
use crate::config::{self, Resolved, Sourced};
use std::process::ExitCode;

const MASK: &str = "********";

fn row(key: &str, value: impl std::fmt::Display, source: &str) {
    println!("{key:<18} {value}  ({source})");
}

/// An AIoD setting, naming the file it came from.
fn aiod_row(key: &str, s: &Sourced<String>, config: &Resolved) {
    row(key, &s.value, &config.naming_file(&s.source));
}

pub fn show(args: &CommonArgs) -> super::Result<ExitCode> {
    let (config, plugin) = config::load(args)?;
    match &config.config_file {
        Some(p) => println!("{:<18} {}", "config file", p.display()),
        None => println!(
            "{:<18} none (no ~/.aiod/config.toml, no --config)",
            "config file"
        ),
    }
    match (&config.env_file.path, config.env_file.found) {
        (Some(p), true) => println!("{:<18} {}", "env file", p.display()),
        (Some(p), false) => println!("{:<18} none ({} does not exist)", "env file", p.display()),
        (None, _) => println!("{:<18} none", "env file"),
    }
    let aiod = &config.aiod;
    aiod_row("api_server", &aiod.api_server, &config);
    aiod_row("version", &aiod.version, &config);
    aiod_row("auth_server", &aiod.auth_server, &config);
    aiod_row("realm", &aiod.realm, &config);
    aiod_row("client_id", &aiod.client_id, &config);
    match &aiod.secret {
        Some(s) => row("CLIENT_SECRET", MASK, &config.naming_file(&s.source)),
        None => row("CLIENT_SECRET", "not set", "needed to upload"),
    }
    row(
        "platform",
        &config.platform.value,
        &config.platform.source.to_string(),
    );
    for line in config.endpoints.describe() {
        println!("{line}");
    }
    row(
        "request timeout",
        format!("{}s", config.request_timeout.value.as_secs_f64()),
        &config.request_timeout.source.to_string(),
    );
    let state = config.state()?;
    row("state", state.value.display(), &state.source.to_string());
    row("plugin", plugin.provenance(), "--plugin");
    let limits = args.limits.limits();
    row(
        "plugin limits",
        format!(
            "cpu {:?} per call, memory {} MiB, output {} MiB",
            limits.cpu,
            limits.memory >> 20,
            limits.output >> 20
        ),
        "flags or defaults",
    );
    Ok(ExitCode::SUCCESS)
}
