//! What every command that runs a plugin sets up: configuration, the plugin,
//! its endpoints, the HTTP client, the state and the AIoD client.

use crate::aiod;
use crate::cli::CommonArgs;
use crate::config::{self, FileConfig};
use crate::endpoints::{self, Endpoints};
use crate::fetch::Fetcher;
use crate::plugin::Plugin;
use crate::retry::RetryPolicy;
use crate::state::{self, State};
use anyhow::{Context as _, Result};
use std::path::Path;
use std::time::Duration;

/// The timeout of one request unless the config file sets `request_timeout_seconds`.
pub const DEFAULT_TIMEOUT_SECONDS: f64 = 10.0;

pub struct Session {
    pub plugin: Plugin,
    pub endpoints: Endpoints,
    pub fetcher: Fetcher,
    /// How large an answer may be.
    pub limits: crate::fetch::BodyLimits,
    pub platform: String,
    /// Where `platform` came from, for `config show`.
    pub platform_source: String,
    pub config: FileConfig,
    pub dotenv: aiod::settings::DotEnv,
    pub runtime: tokio::runtime::Runtime,
}

fn env(var: &str) -> Option<String> {
    std::env::var(var).ok()
}

impl Session {
    pub fn open(args: &CommonArgs) -> Result<Session> {
        let config = config::load(args.config.as_deref())?;
        for warning in &config.warnings {
            let path = config
                .path
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            tracing::warn!("config file {path}: {warning}");
        }
        let plugin = Plugin::load(&args.plugin, args.limits.limits())?;
        tracing::info!(plugin = %plugin.describe(), "plugin loaded");
        let overrides = endpoints::Overrides {
            urls: args.endpoint.clone(),
            file_urls: config.endpoints.clone(),
            budgets: args.net.budget.iter().cloned().collect(),
        };
        let endpoints = Endpoints::resolve(&plugin.info().endpoints, &overrides, env)?;
        for line in endpoints.describe() {
            tracing::info!("{line}");
        }
        let dotenv = aiod::settings::DotEnv::load(
            args.aiod.env_file.as_deref(),
            aiod::settings::default_env_file(&plugin.info().name),
        )?;
        let (platform, platform_source) =
            match (&args.platform_name, dotenv.var(&env, "PLATFORM_NAME")) {
                (Some(p), _) => (
                    p.clone(),
                    crate::cli::origin("--platform-name", "PLATFORM_NAME"),
                ),
                (None, Some(p)) => (p, "env file".to_string()),
                (None, None) => (
                    plugin.info().platform.clone(),
                    "the plugin's platform".to_string(),
                ),
            };
        // It names the state file and goes into every body: a name, not a path.
        crate::names::check(
            &format!("the platform name (from {platform_source})"),
            &platform,
        )
        .map_err(anyhow::Error::msg)?;
        let timeout = Duration::from_secs_f64(
            config
                .request_timeout_seconds
                .unwrap_or(DEFAULT_TIMEOUT_SECONDS),
        );
        let policy = RetryPolicy {
            retries: args.net.retries,
            base: Duration::from_millis(args.net.backoff_ms),
            max_wait: Duration::from_secs(args.net.max_wait_secs),
            ..RetryPolicy::default()
        };
        let limits = args.net.body_limits();
        let fetcher = Fetcher::new(timeout, policy, endpoints.limiters(), limits.listing)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        Ok(Session {
            plugin,
            endpoints,
            fetcher,
            limits,
            platform,
            platform_source,
            config,
            dotenv,
            runtime,
        })
    }

    /// The state database: `explicit`, or one per platform under the user's data directory.
    pub fn state(&self, explicit: Option<&Path>) -> Result<State> {
        let path = self.state_path(explicit)?;
        tracing::info!(state = %path.display(), "state database");
        State::open_exclusive(&path)
    }

    pub fn state_path(&self, explicit: Option<&Path>) -> Result<std::path::PathBuf> {
        match explicit {
            Some(p) => Ok(p.to_path_buf()),
            None => {
                state::default_path(&self.platform).context("HOME is not set: give --state FILE")
            }
        }
    }

    /// The AIoD client, from flags, environment, config file and env file.
    pub fn aiod(&self, args: &CommonArgs) -> Result<aiod::client::Aiod> {
        let overrides = args.aiod.overrides();
        let settings = aiod::settings::resolve(&overrides, &self.config, &self.dotenv, env)?;
        tracing::info!(
            api_server = %settings.api_server,
            version = %settings.version,
            auth_server = %settings.auth_server,
            client_id = %settings.client_id,
            platform = %self.platform,
            "uploading to AIoD"
        );
        Ok(aiod::client::Aiod::new(self.fetcher.clone(), &settings)?)
    }
}
