//! `aiod-host retry`: maps and uploads every dead letter again, from what was
//! kept of it (no request to the platform).

use super::{Result, summary_exit_code};
use crate::aiod::upload::{self, Uploader};
use crate::cli::CommonArgs;
use crate::progress::Progress;
use crate::session::Session;
use crate::state::Batch;
use crate::summary::{Event, Tally};
use crate::sync;
use std::process::ExitCode;

pub fn retry(args: CommonArgs) -> Result<ExitCode> {
    let mut session = Session::open(&args)?;
    let mut state = session.state()?;
    let letters = state.dead_letters()?;
    if letters.is_empty() {
        eprintln!("no dead letters in {}", state.path().display());
        return Ok(ExitCode::SUCCESS);
    }
    let aiod = session.aiod()?;
    state.bind_catalogue(&aiod.catalogue())?;
    let platform = session.config.platform.value.clone();
    let runtime = session.runtime.handle().clone();
    runtime.block_on(upload::preflight(&aiod, &platform))?;
    let sink = Uploader::new(aiod, platform.clone(), false, 1);
    let provenance = session.plugin.provenance();
    let answers = session.plugin.answers().clone();
    let mut tally = Tally::new(Progress::quiet());
    for letter in letters {
        tracing::info!(
            id = letter.record.id,
            label = letter.record.label,
            "retrying"
        );
        tally.add(Event::Seen(1));
        let mut batch = Batch::default();
        let follow_ups = letter
            .follow_ups
            .iter()
            .map(|f| (f.request.clone(), f.response()))
            .collect();
        let ctx = sync::RecordCtx {
            plugin: &mut session.plugin,
            platform: &platform,
            state: Some(&state),
            provenance: &provenance,
            answers: &answers,
        };
        runtime.block_on(sync::process(
            ctx,
            &sink,
            letter.record,
            follow_ups,
            &mut batch,
            &mut tally,
        ))?;
        state.commit_page(None, &[], batch)?;
    }
    Ok(summary_exit_code(&tally.finish()))
}
