//! `aiod-host`: the command-line entry point. Everything with side effects is
//! wired together here; the logic lives in the modules.

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

use anyhow::{Context as _, Result, bail};
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
    if !args.dry_run {
        bail!(
            "uploading to AIoD is not available in this version yet; add --dry-run to see the assets"
        );
    }
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
    let endpoints = endpoints::Endpoints::resolve(
        &plugin.info().endpoints,
        &args.endpoint,
        |var| std::env::var(var).ok(),
        &config.endpoints,
    )?;
    for line in endpoints.describe() {
        tracing::info!("{line}");
    }
    let timeout = config
        .request_timeout_seconds
        .unwrap_or(DEFAULT_TIMEOUT_SECONDS);
    let fetcher = fetch::Fetcher::new(Duration::from_secs_f64(timeout))?;
    let platform = args
        .platform_name
        .clone()
        .unwrap_or_else(|| plugin.info().platform.clone());

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let mut sink = dry_run::DryRun::new(std::io::BufWriter::new(std::io::stdout().lock()));
    let job = sync::Job {
        plugin: &mut plugin,
        fetcher: &fetcher,
        endpoints: &endpoints,
        platform,
        mode,
        concurrency: usize::from(args.concurrency),
    };
    let summary = runtime.block_on(sync::run(job, &mut sink))?;
    sink.finish().context("cannot write to standard output")?;
    eprintln!("summary: {summary}");
    Ok(if summary.failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
