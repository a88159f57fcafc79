//! `aiod-host`: the command-line entry point. Everything with side effects is
//! wired together here; the logic lives in the modules.

mod aiod;
mod cli;
mod config;
mod dry_run;
mod endpoints;
mod fetch;
mod logging;
mod mode;
mod model;
mod plugin;
mod sync;

use aiod::upload::ExistingStrategy;
use anyhow::{Context as _, Result};
use clap::Parser;
use std::process::ExitCode;
use std::time::Duration;

/// The timeout of one request unless the config file sets `request_timeout_seconds`.
const DEFAULT_TIMEOUT_SECONDS: f64 = 10.0;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match cli.command {
        cli::Command::Run(args) => {
            logging::init(&args.logs);
            match run(args) {
                Ok(code) => code,
                Err(e) => {
                    eprintln!("error: {e:#}");
                    ExitCode::from(2)
                }
            }
        }
    }
}

fn run(args: cli::RunArgs) -> Result<ExitCode> {
    let mode = mode::sync_mode(args.mode, args.value.as_deref())?;
    let config = config::load(args.config.as_deref())?;
    for warning in &config.warnings {
        let path = config
            .path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        tracing::warn!("config file {path}: {warning}");
    }

    let mut plugin = plugin::Plugin::load(&args.plugin)?;
    tracing::info!(plugin = %plugin.describe(), "plugin loaded");
    let env = |var: &str| std::env::var(var).ok();
    let endpoints = endpoints::Endpoints::resolve(
        &plugin.info().endpoints,
        &args.endpoint,
        env,
        &config.endpoints,
    )?;
    for line in endpoints.describe() {
        tracing::info!("{line}");
    }
    let dotenv = aiod::settings::DotEnv::load(
        args.aiod.env_file.as_deref(),
        aiod::settings::default_env_file(&plugin.info().name),
    )?;
    let platform = args
        .platform_name
        .clone()
        .or_else(|| dotenv.var(&env, "PLATFORM_NAME"))
        .unwrap_or_else(|| plugin.info().platform.clone());
    let timeout = Duration::from_secs_f64(
        config
            .request_timeout_seconds
            .unwrap_or(DEFAULT_TIMEOUT_SECONDS),
    );
    let fetcher = fetch::Fetcher::new(timeout)?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let listing = match args.existing {
        ExistingStrategy::Listing => true,
        ExistingStrategy::Lookup => false,
        ExistingStrategy::Auto => mode == model::SyncMode::All,
    };
    let job = sync::Job {
        plugin: &mut plugin,
        fetcher: &fetcher,
        endpoints: &endpoints,
        platform: platform.clone(),
        mode,
        concurrency: usize::from(args.concurrency),
    };
    let summary = if args.dry_run {
        let mut sink = dry_run::DryRun::new(std::io::BufWriter::new(std::io::stdout().lock()));
        let summary = runtime.block_on(sync::run(job, &mut sink))?;
        sink.finish().context("cannot write to standard output")?;
        summary
    } else {
        let overrides = aiod::settings::Overrides {
            api_server: args.aiod.api_server.clone(),
            version: args.aiod.api_version.clone(),
            auth_server: args.aiod.auth_server.clone(),
            realm: args.aiod.realm.clone(),
            client_id: args.aiod.client_id.clone(),
        };
        let settings = aiod::settings::resolve(&overrides, &config, &dotenv, env)?;
        tracing::info!(
            api_server = %settings.api_server,
            version = %settings.version,
            auth_server = %settings.auth_server,
            client_id = %settings.client_id,
            platform = %platform,
            "uploading to AIoD"
        );
        let aiod = aiod::client::Aiod::new(fetcher.client(), &settings)?;
        runtime.block_on(async {
            aiod::upload::preflight(&aiod, &platform).await?;
            let mut sink = aiod::upload::Uploader::new(aiod, platform.clone(), listing);
            Ok::<_, anyhow::Error>(sync::run(job, &mut sink).await?)
        })?
    };
    eprintln!("summary: {summary}");
    Ok(if summary.failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
