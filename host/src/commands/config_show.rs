//! `aiod-host config show`: the configuration a sync would use, each value
//! with where it came from; secrets are shown only as set or not set.

use crate::aiod::settings::{self, Sourced};
use crate::cli::CommonArgs;
use crate::session::Session;
use std::process::ExitCode;

const MASK: &str = "********";

fn row(key: &str, value: impl std::fmt::Display, source: &str) {
    println!("{key:<18} {value}  ({source})");
}

fn sourced(key: &str, s: &Sourced<String>) {
    row(key, &s.value, &s.source);
}

pub fn show(args: &CommonArgs) -> super::Result<ExitCode> {
    let session = Session::open(args)?;
    let env = |var: &str| std::env::var(var).ok();
    match &session.config.path {
        Some(p) => println!("{:<18} {}", "config file", p.display()),
        None => println!(
            "{:<18} none (no ~/.aiod/config.toml, no --config)",
            "config file"
        ),
    }
    match (&session.dotenv.path, session.dotenv.found) {
        (Some(p), true) => println!("{:<18} {}", "env file", p.display()),
        (Some(p), false) => println!("{:<18} none ({} does not exist)", "env file", p.display()),
        (None, _) => println!("{:<18} none", "env file"),
    }
    let e = settings::effective(
        &args.aiod.overrides(),
        &session.config,
        &session.dotenv,
        env,
    );
    sourced("api_server", &e.api_server);
    sourced("version", &e.version);
    sourced("auth_server", &e.auth_server);
    sourced("realm", &e.realm);
    sourced("client_id", &e.client_id);
    match &e.secret {
        Some(s) => row("CLIENT_SECRET", MASK, &s.source),
        None => row("CLIENT_SECRET", "not set", "needed to upload"),
    }
    row("platform", &session.platform, &session.platform_source);
    for line in session.endpoints.describe() {
        println!("{line}");
    }
    let timeout = match session.config.request_timeout_seconds {
        Some(s) => (s, "config file"),
        None => (crate::session::DEFAULT_TIMEOUT_SECONDS, "default"),
    };
    row("request timeout", format!("{}s", timeout.0), timeout.1);
    let state = session.state_path(args.state.as_deref())?;
    let state_source = if args.state.is_some() {
        crate::cli::origin("--state", "AIOD_HOST_STATE")
    } else {
        "default".to_string()
    };
    row("state", state.display(), &state_source);
    row("plugin", session.plugin.provenance(), "--plugin");
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
