//! `aiod-host run`: one sync, into AIoD or (`--dry-run`) to standard output.

use super::{Result, auto_since, summary_exit_code};
use crate::cli::RunArgs;
use crate::dry_run::DryRun;
use crate::mode::{self, ModeArg};
use crate::progress::Progress;
use crate::session::Session;
use crate::state::State;
use crate::summary::Summary;
use crate::sync;
use crate::transport::Live;
use crate::upload_sync::upload_sync;
use anyhow::Context as _;
use std::path::Path;
use std::process::ExitCode;

pub fn run(args: RunArgs) -> Result<ExitCode> {
    let wants_auto = args.mode == ModeArg::Since && args.value.as_deref() == Some("auto");
    let early_mode = if wants_auto {
        None
    } else {
        Some(mode::sync_mode(args.mode, args.value.as_deref()).map_err(anyhow::Error::from)?)
    };
    let mut session = Session::open(&args.common)?;
    let mode = match early_mode {
        Some(m) => m,
        // Only read: a dry run must not be refused while a sync holds the state.
        None => auto_since(&State::open(&session.config.state()?.value)?)?
        .context(
            "--value auto needs a completed earlier sync in the state; run --mode all (or since a date) first",
        )?,
    };

    let summary = if args.dry_run {
        // A dry run keeps no state: it shows every asset, as uploading from scratch would.
        let transport = Live {
            fetcher: &session.fetcher,
            endpoints: &session.config.endpoints,
        };
        let sink = DryRun::new(std::io::BufWriter::new(std::io::stdout().lock()));
        let job = sync::Job {
            plugin: &mut session.plugin,
            transport: &transport,
            platform: session.config.platform.value.clone(),
            mode,
            concurrency: usize::from(args.common.net.concurrency),
            max_pages: args.common.net.max_pages,
            limits: session.limits,
            state: None,
            swaps: None,
            stop: None,
            progress: Progress::new(args.common.logs.progress(), None),
        };
        let finished = session.runtime.block_on(sync::run(job, &sink))?;
        sink.finish().context("cannot write to standard output")?;
        finished.summary
    } else {
        let mut state = session.state()?;
        upload_sync(
            &mut session,
            &args.common,
            &args.upload,
            &mut state,
            mode,
            None,
            None,
        )?
    };
    write_summary(args.summary_json.as_deref(), &summary)?;
    Ok(summary_exit_code(&summary))
}

/// `--summary-json FILE`: the summary for scripts and dashboards.
fn write_summary(path: Option<&Path>, summary: &Summary) -> anyhow::Result<()> {
    if let Some(path) = path {
        let json = serde_json::to_string_pretty(summary)?;
        std::fs::write(path, json + "\n")
            .with_context(|| format!("cannot write the summary to {}", path.display()))?;
    }
    Ok(())
}
