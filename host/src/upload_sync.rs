//! One sync into AIoD, as `run` and every scheduled sync of `serve` do it:
//! pre-flight, the import of existing assets into a new state, the sync
//! itself, then the deletes it has earned.

use crate::aiod::upload::{self, ExistingStrategy, Uploader};
use crate::cli::{CommonArgs, UploadArgs};
use crate::commands::Result;
use crate::deletes::{DeletePolicy, Deletes};
use crate::model::SyncMode;
use crate::plugin::Plugin;
use crate::progress::Progress;
use crate::session::Session;
use crate::state::State;
use crate::summary::{Event, Summary};
use crate::sync;
use crate::transport::Live;
use anyhow::Context as _;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::Receiver;

/// Syncs `mode` into AIoD with `state`; `swaps` and `stop` come from `serve`.
pub fn upload_sync(
    session: &mut Session,
    common: &CommonArgs,
    args: &UploadArgs,
    state: &mut State,
    mode: SyncMode,
    swaps: Option<&Receiver<Plugin>>,
    stop: Option<&AtomicBool>,
) -> Result<Summary> {
    let aiod = session.aiod()?.with_listing_timeout(args.import_timeout)?;
    state.bind_catalogue(&aiod.catalogue())?;
    let new_state = state.asset_count()? == 0;
    let listing = match args.existing {
        ExistingStrategy::Listing => true,
        ExistingStrategy::Lookup => false,
        ExistingStrategy::Auto => mode == SyncMode::All,
    };
    let platform = session.config.platform.value.clone();
    let asset_types = session.plugin.info().asset_types.clone();
    let runtime = session.runtime.handle().clone();
    runtime
        .block_on(upload::preflight(&aiod, &platform))
        .context("AIoD pre-flight failed")?;
    if new_state && listing {
        // The state is new: learn which assets AIoD already has, in a few large pages.
        state.begin_import(&asset_types)?;
    }
    // A new import, or one a killed run left unfinished.
    let paging = upload::ImportPaging {
        page_size: usize::from(args.import_page_size),
        slow: args.import_timeout / 2,
        max_pages: common.net.max_pages,
    };
    for (asset_type, offset) in state.unfinished_imports()? {
        let known = runtime
            .block_on(upload::import_catalogue(
                &aiod,
                &platform,
                &asset_type,
                offset as usize,
                paging,
                |page, next| state.import_page(&asset_type, page, next),
            ))
            .context("cannot list the assets AIoD already has")?;
        tracing::info!(
            "{known} {asset_type} of platform {platform} already in AIoD (from offset {offset})"
        );
    }
    let sink = Uploader::new(
        aiod,
        platform.clone(),
        new_state && !listing,
        usize::from(args.upload_concurrency),
    );
    let transport = Live {
        fetcher: &session.fetcher,
        endpoints: &session.config.endpoints,
    };
    // A full listing is about as long as the last one: the records the state knows.
    let total = match mode {
        SyncMode::All => Some(state.record_count()?).filter(|n| *n > 0),
        _ => None,
    };
    let job = sync::Job {
        plugin: &mut session.plugin,
        transport: &transport,
        platform,
        mode: mode.clone(),
        concurrency: usize::from(common.net.concurrency),
        max_pages: common.net.max_pages,
        limits: session.limits,
        state: Some(&mut *state),
        swaps,
        stop,
        progress: Progress::new(common.logs.progress(), total),
    };
    let mut finished = runtime.block_on(sync::run(job, &sink))?;
    let mut deletes = Deletes {
        aiod: sink.aiod(),
        state,
        plugin: &mut session.plugin,
        transport: &transport,
        platform: &session.config.platform.value,
        policy: DeletePolicy {
            enabled: !args.no_delete,
            max_share: args.max_delete_share,
            allow_mass: args.allow_mass_delete,
        },
        limit: session.limits.follow_up,
    };
    let mut deleted = 0;
    if let (SyncMode::All, Some(pass)) = (&mode, finished.completed_pass) {
        deleted += runtime.block_on(deletes.confirmed_gone(pass))?;
    }
    deleted += runtime.block_on(deletes.skipped(deleted))?;
    finished.summary.record(Event::Deleted(deleted));
    tracing::info!(
        "waited {:?} for request budgets and retries",
        session.fetcher.waited()
    );
    Ok(finished.summary)
}
