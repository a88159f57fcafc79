//! The command line.

use crate::aiod::upload::ExistingStrategy;
use crate::mode::ModeArg;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "aiod-host",
    version,
    about = "Keeps the AI-on-Demand (AIoD) catalogue in sync with external platforms.",
    long_about = "Keeps the AI-on-Demand (AIoD) catalogue in sync with external platforms.\n\n\
        All platform knowledge lives in a WebAssembly plugin (e.g. plugins/huggingface.wasm): \
        the plugin plans requests and maps responses; this host performs every request."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run one sync with a plugin.
    Run(RunArgs),
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The plugin component to run, e.g. plugins/huggingface.wasm.
    #[arg(long, value_name = "FILE")]
    pub plugin: PathBuf,

    /// What to sync.
    #[arg(long, value_enum)]
    pub mode: ModeArg,

    /// For --mode since: a date or timestamp (ISO 8601 / RFC 3339; UTC unless it has an
    /// offset), e.g. 2024-01-01. For --mode id: the dataset's platform id, e.g.
    /// acronym_identification. Not allowed with --mode all.
    #[arg(long, value_name = "V")]
    pub value: Option<String>,

    /// Print one JSON line per asset that would be uploaded on standard output (logs go to
    /// standard error) and upload nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// How to learn which assets AIoD already has: page the platform's listing once, or look
    /// each asset up; auto = listing for --mode all, lookups otherwise.
    #[arg(long, value_enum, default_value_t = ExistingStrategy::Auto)]
    pub existing: ExistingStrategy,

    #[command(flatten)]
    pub aiod: AiodArgs,

    /// Config file: the aiondemand SDK's config.toml, optionally with an [endpoints] table
    /// of plugin endpoint base URLs [default: ~/.aiod/config.toml if it exists].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Base URL of a plugin endpoint, e.g. --endpoint hub=http://127.0.0.1:8900. Overrides the
    /// endpoint's environment variable (HF_ENDPOINT, HF_DATASETS_SERVER_ENDPOINT for the Hugging
    /// Face plugin), the config file and the plugin's default. Repeatable.
    #[arg(long, value_name = "NAME=URL", value_parser = parse_endpoint)]
    pub endpoint: Vec<(String, String)>,

    /// AIoD platform name put on every asset [default: PLATFORM_NAME from the env file, else the
    /// plugin's platform, e.g. huggingface].
    #[arg(
        long,
        env = "PLATFORM_NAME",
        hide_env_values = true,
        value_name = "NAME"
    )]
    pub platform_name: Option<String>,

    /// Follow-up requests (e.g. the parquet list of each dataset) in flight at once.
    #[arg(long, default_value_t = 8, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,

    #[command(flatten)]
    pub logs: LogArgs,
}

/// Where AIoD is. Each flag overrides its environment variable, which overrides the config
/// file, which overrides the default. The client secret is never a flag: it comes from
/// CLIENT_SECRET in the environment or in the env file.
#[derive(Debug, Args)]
pub struct AiodArgs {
    /// AIoD REST API base URL [config: api_server; default: https://api.aiodp.eu/].
    #[arg(
        long,
        env = "AIOD_API_SERVER",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub api_server: Option<String>,

    /// AIoD API version path, e.g. v2; an empty value uses the unversioned API [config: version;
    /// default: v2].
    #[arg(
        long,
        env = "AIOD_API_VERSION",
        hide_env_values = true,
        value_name = "V"
    )]
    pub api_version: Option<String>,

    /// Keycloak base URL [config: auth_server; default: https://auth.aiodp.eu/aiod-auth/].
    #[arg(
        long,
        env = "AIOD_AUTH_SERVER",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub auth_server: Option<String>,

    /// Keycloak realm [config: realm; default: aiod].
    #[arg(long, env = "AIOD_REALM", hide_env_values = true, value_name = "REALM")]
    pub realm: Option<String>,

    /// Keycloak client id of this connector [config: client_id; default: aiod-sdk].
    #[arg(
        long,
        env = "AIOD_CLIENT_ID",
        hide_env_values = true,
        value_name = "ID"
    )]
    pub client_id: Option<String>,

    /// Dotenv file with CLIENT_SECRET (and optionally PLATFORM_NAME); variables already in the
    /// environment win [default: ~/.aiod/<plugin name>/.env, e.g. ~/.aiod/huggingface/.env].
    #[arg(long, value_name = "FILE")]
    pub env_file: Option<PathBuf>,
}

/// Log levels, named as in today's Python connector.
#[derive(Debug, Args)]
pub struct LogArgs {
    /// Level of aiod-host's own log messages.
    #[arg(long, default_value = "info", value_parser = LOG_LEVELS)]
    pub app_log_level: String,

    /// Level of the log messages of the libraries aiod-host uses.
    #[arg(long, default_value = "error", value_parser = LOG_LEVELS)]
    pub root_log_level: String,
}

const LOG_LEVELS: [&str; 9] = [
    "critical", "fatal", "error", "warning", "warn", "info", "debug", "trace", "notset",
];

fn parse_endpoint(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((name, url)) if !name.trim().is_empty() && !url.trim().is_empty() => {
            Ok((name.trim().to_string(), url.trim().to_string()))
        }
        _ => Err(format!(
            "expected NAME=URL, e.g. hub=http://127.0.0.1:8900, got {s:?}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn endpoint_flag_parses() {
        assert_eq!(
            parse_endpoint("hub=http://x:1"),
            Ok(("hub".into(), "http://x:1".into()))
        );
        assert!(parse_endpoint("hub").is_err());
    }
}
