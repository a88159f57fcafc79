//! `aiod-host serve`: incremental syncs on a schedule (never two at once), a
//! full pass on its own schedule, and the plugin swapped without a restart.
//!
//! Hot swap: a watcher thread notices a changed plugin file (or is woken by
//! SIGHUP), loads the new plugin and checks it (it loads and speaks a
//! supported contract, serves the same platform, and passes the fixtures that
//! ship beside it in `<name>.fixtures/`). Only a plugin that passes replaces
//! the live one, between two records; a rejected one is logged with the
//! reason and the old one keeps running. The cursor and state are untouched.

use crate::cli::ServeArgs;
use crate::plugin::{Limits, Plugin};
use crate::session::Session;
use crate::sync::SyncError;
use crate::{fixtures, metrics, model, upload_sync};
use anyhow::Result;
use chrono::Utc;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::time::Duration;

/// How often the watcher looks at the plugin file.
const WATCH_EVERY: Duration = Duration::from_millis(300);
/// How often an idle service looks for a signal, a swap or a due sync.
const POLL: Duration = Duration::from_millis(100);

pub fn serve(args: ServeArgs) -> Result<ExitCode> {
    let (incremental, full) = args.schedules().map_err(anyhow::Error::msg)?;
    let mut session = Session::open(&args.common)?;
    let mut state = session.state()?;
    let stop = Arc::new(AtomicBool::new(false));
    let reload = Arc::new(AtomicBool::new(false));
    let health = metrics::Health::default();
    {
        let _guard = session.runtime.enter();
        listen(stop.clone(), reload.clone())?;
    }
    let status = session
        .runtime
        .block_on(metrics::serve(args.status_addr, health.clone()))?;
    tracing::info!(
        "status on http://{status} (/metrics, /healthz); incremental syncs {}, full passes {}",
        incremental.describe(),
        full.describe()
    );
    metrics::dead_letters(state.dead_letter_count()?);
    let (swaps_tx, swaps) = std::sync::mpsc::channel();
    watch(
        args.common.plugin.clone(),
        session.plugin.info().clone(),
        args.common.limits.limits(),
        reload,
        swaps_tx,
    );

    // The first sync is a full pass; after it, each kind on its own schedule.
    let mut next_full = Utc::now();
    let mut next_incremental = Utc::now();
    while !stop.load(Ordering::Relaxed) {
        let now = Utc::now();
        if now < next_full.min(next_incremental) {
            crate::sync::take_swap(&mut session.plugin, &swaps);
            std::thread::sleep(POLL.min((next_full.min(next_incremental) - now).to_std()?));
            continue;
        }
        let started = now;
        let mode = match (started >= next_full, crate::auto_since(&state)?) {
            (false, Some(since)) => since,
            _ => model::SyncMode::All,
        };
        let kind = if mode == model::SyncMode::All {
            "all"
        } else {
            "since"
        };
        tracing::info!(mode = ?mode, "sync starts");
        metrics::sync_started();
        let outcome = upload_sync(
            &mut session,
            &args.common,
            &args.upload,
            &mut state,
            mode,
            Some(&swaps),
            Some(&stop),
        );
        metrics::dead_letters(state.dead_letter_count()?);
        match outcome {
            Ok(summary) => {
                eprintln!("summary: {summary}");
                metrics::sync_ended(kind, true);
                health.ok();
                if kind == "all" {
                    next_full = full.next(started, Utc::now());
                }
            }
            Err(e) if matches!(e.downcast_ref::<SyncError>(), Some(SyncError::Stopped)) => {
                metrics::sync_ended(kind, false);
                break;
            }
            // The service goes on; the next run resumes from the cursor.
            Err(e) => {
                tracing::error!("sync failed: {e:#}");
                metrics::sync_ended(kind, false);
                health.failing(format!("the last sync ({kind}) failed: {e:#}"));
            }
        }
        next_incremental = incremental.next(started, Utc::now());
    }
    tracing::info!("stopped; the cursor is saved");
    Ok(ExitCode::SUCCESS)
}

/// SIGTERM and SIGINT stop the service after the current record; SIGHUP asks for a reload.
fn listen(stop: Arc<AtomicBool>, reload: Arc<AtomicBool>) -> Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    for (kind, flag) in [
        (SignalKind::terminate(), stop.clone()),
        (SignalKind::interrupt(), stop),
        (SignalKind::hangup(), reload),
    ] {
        let mut signals = signal(kind)?;
        tokio::spawn(async move {
            while signals.recv().await.is_some() {
                flag.store(true, Ordering::Relaxed);
            }
        });
    }
    Ok(())
}

/// Watches the plugin file; sends each new plugin that passes the checks.
fn watch(
    path: PathBuf,
    running: model::PluginInfo,
    limits: Limits,
    reload: Arc<AtomicBool>,
    swaps: Sender<Plugin>,
) {
    let mut seen = digest_of(&path);
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(WATCH_EVERY);
            let asked = reload.swap(false, Ordering::Relaxed);
            let digest = digest_of(&path);
            if digest == seen && !asked {
                continue;
            }
            seen = digest;
            match check(&path, &running, limits) {
                Ok(plugin) => {
                    tracing::info!(plugin = %plugin.describe(), "new plugin accepted; it takes over at the next record");
                    if swaps.send(plugin).is_err() {
                        return;
                    }
                }
                Err(e) => tracing::error!("new plugin rejected, the running one stays: {e:#}"),
            }
        }
    });
}

fn digest_of(path: &Path) -> Option<String> {
    std::fs::read(path).ok().map(|b| crate::digest::hex(&b))
}

/// Loads a candidate and holds it to the checks a swap needs.
fn check(path: &Path, running: &model::PluginInfo, limits: Limits) -> Result<Plugin> {
    let mut plugin = Plugin::load(path, limits)?;
    if plugin.info().platform != running.platform {
        anyhow::bail!(
            "{} is for platform {:?}, the running plugin for {:?}",
            plugin.describe(),
            plugin.info().platform,
            running.platform
        );
    }
    // Endpoints, budgets and tokens were resolved at start; new ones need a restart.
    if plugin.info().endpoints != running.endpoints {
        anyhow::bail!(
            "{} declares other endpoints than the running plugin; restart the service to use it",
            plugin.describe()
        );
    }
    let dir = path.with_extension("fixtures");
    if dir.join("fixture.json").exists() {
        let fixture = fixtures::Fixture::load(&dir)?;
        let expected = fixture.expected()?;
        let actual = fixtures::produce(&mut plugin, &fixture)?;
        let differences = fixtures::compare(&expected, &actual, "expected", "new plugin");
        if !differences.is_empty() {
            anyhow::bail!(
                "{} fails its fixtures in {}:\n{}",
                plugin.describe(),
                dir.display(),
                differences.join("\n")
            );
        }
        tracing::info!(fixtures = %dir.display(), "new plugin passes its fixtures");
    }
    Ok(plugin)
}
