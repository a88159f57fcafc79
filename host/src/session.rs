//! What every command that runs a plugin opens: its resolved configuration,
//! the plugin, the HTTP client and the async runtime; and on request the
//! state and the AIoD client.

use crate::aiod;
use crate::cli::CommonArgs;
use crate::config::{self, Resolved};
use crate::fetch::Fetcher;
use crate::plugin::Plugin;
use crate::retry::RetryPolicy;
use crate::state::State;
use anyhow::{Context as _, Result};
use std::time::Duration;

pub struct Session {
    /// Every setting, with where it came from.
    pub config: Resolved,
    pub plugin: Plugin,
    pub fetcher: Fetcher,
    /// How large an answer may be.
    pub limits: crate::fetch::BodyLimits,
    pub runtime: tokio::runtime::Runtime,
}

impl Session {
    pub fn open(args: &CommonArgs) -> Result<Session> {
        let (config, plugin) = config::load(args)?;
        let policy = RetryPolicy {
            retries: args.net.retries,
            base: Duration::from_millis(args.net.backoff_ms),
            max_wait: Duration::from_secs(args.net.max_wait_secs),
            ..RetryPolicy::default()
        };
        let limits = args.net.body_limits();
        let fetcher = Fetcher::new(
            config.request_timeout.value,
            policy,
            config.endpoints.limiters(),
            limits.listing,
        )?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        Ok(Session {
            config,
            plugin,
            fetcher,
            limits,
            runtime,
        })
    }

    /// The state database, held exclusively.
    pub fn state(&self) -> Result<State> {
        let path = &self.config.state()?.value;
        tracing::info!(state = %path.display(), "state database");
        State::open_exclusive(path)
    }

    /// The AIoD client.
    pub fn aiod(&self) -> Result<aiod::client::Aiod> {
        let settings = self.config.aiod.settings(&self.config.env_file)?;
        tracing::info!(
            api_server = %settings.api_server,
            version = %settings.version,
            auth_server = %settings.auth_server,
            client_id = %settings.client_id,
            platform = %self.config.platform.value,
            "uploading to AIoD"
        );
        Ok(aiod::client::Aiod::new(self.fetcher.clone(), &settings)?)
    }
}
