//! `aiod-host remap`: maps every stored record again with the given plugin,
//! from what its last mapping was made from, and uploads only the bodies that
//! change; no request reaches the platform. `--dry-run` prints those bodies
//! and makes no request at all.

use super::{Result, summary_exit_code};
use crate::aiod::upload::{self, Uploader};
use crate::cli::RemapArgs;
use crate::dry_run::DryRun;
use crate::model::SyncMode;
use crate::progress::Progress;
use crate::session::Session;
use crate::state::State;
use crate::sync::{self, Sink};
use crate::transport::Offline;
use anyhow::Context as _;
use std::process::ExitCode;

pub fn remap(args: RemapArgs) -> Result<ExitCode> {
    let mut session = Session::open(&args.common)?;
    let summary = if args.dry_run {
        // Only read: a dry run must not be refused while a sync holds the state.
        let path = session.config.state()?.value.clone();
        if !path.exists() {
            return Err(anyhow::anyhow!("no state database at {}", path.display()).into());
        }
        let mut state = State::open(&path)?;
        let sink = DryRun::new(std::io::BufWriter::new(std::io::stdout().lock()));
        let summary = remap_into(&mut session, &args, &mut state, &sink, false)?;
        sink.finish().context("cannot write to standard output")?;
        summary
    } else {
        let mut state = session.state()?;
        let aiod = session.aiod()?;
        state.bind_catalogue(&aiod.catalogue())?;
        let platform = session.config.platform.value.clone();
        session
            .runtime
            .block_on(upload::preflight(&aiod, &platform))
            .context("AIoD pre-flight failed")?;
        let sink = Uploader::new(aiod, platform, false, usize::from(args.upload_concurrency));
        remap_into(&mut session, &args, &mut state, &sink, true)?
    };
    Ok(summary_exit_code(&summary))
}

fn remap_into<S: Sink>(
    session: &mut Session,
    args: &RemapArgs,
    state: &mut State,
    sink: &S,
    keep: bool,
) -> Result<crate::summary::Summary> {
    let total = state.stored_payload_count()?;
    tracing::info!(
        plugin = %session.plugin.describe(),
        "remapping {total} stored records; no request to the platform"
    );
    let job = sync::Job {
        plugin: &mut session.plugin,
        transport: &Offline,
        platform: session.config.platform.value.clone(),
        mode: SyncMode::All,
        concurrency: 1,
        max_pages: args.common.net.max_pages,
        limits: session.limits,
        state: Some(state),
        swaps: None,
        stop: None,
        progress: Progress::new(args.common.logs.progress(), Some(total)),
    };
    Ok(session
        .runtime
        .block_on(sync::remap(job, sink, keep))?
        .summary)
}
