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
use crate::upload_sync::upload_sync;
use crate::{fixtures, metrics, model};
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

pub fn serve(args: ServeArgs) -> super::Result<ExitCode> {
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
    // The bound address, not the one asked for: with port 0 this line is how
    // an operator (or a test) learns the port.
    tracing::info!("status server listening on http://{status} (/metrics, /healthz)");
    tracing::info!(
        "incremental syncs {}, full passes {}",
        incremental.describe(),
        full.describe()
    );
    metrics::dead_letters(state.dead_letter_count()?);
    let (swaps_tx, swaps) = std::sync::mpsc::channel();
    let judge = Judge {
        state: state.path().to_path_buf(),
        platform: session.config.platform.value.clone(),
        max_share: args.swap_max_failure_share,
    };
    watch(
        args.common.plugin.clone(),
        session.plugin.info().clone(),
        args.common.limits.limits(),
        judge,
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
            std::thread::sleep(
                POLL.min(
                    (next_full.min(next_incremental) - now)
                        .to_std()
                        .unwrap_or_default(),
                ),
            );
            continue;
        }
        let started = now;
        let mode = match (started >= next_full, super::auto_since(&state)?) {
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
            Err(super::Error::Sync(SyncError::Stopped)) => {
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
/// How a new plugin is judged on the catalogue before it takes over.
struct Judge {
    /// The service's state, read beside the syncs.
    state: PathBuf,
    platform: String,
    /// `--swap-max-failure-share`.
    max_share: f64,
}

impl Judge {
    /// Maps every stored record the running plugin maps with `new`; refuses
    /// a plugin that fails or skips more than the share of them.
    fn judge(&self, new: &mut Plugin) -> Result<()> {
        let state = crate::state::State::open(&self.state)?;
        let j = crate::catalogue_diff::judge(&state, new, &self.platform)?;
        if j.share() > self.max_share {
            anyhow::bail!(
                "{}: {j}, more than --swap-max-failure-share {}",
                new.describe(),
                self.max_share
            );
        }
        tracing::info!(plugin = %new.describe(), "judged on the catalogue: {j}");
        Ok(())
    }
}

fn watch(
    path: PathBuf,
    running: model::PluginInfo,
    limits: Limits,
    judge: Judge,
    reload: Arc<AtomicBool>,
    swaps: Sender<Plugin>,
) {
    let mut watched = Watched {
        stamp: Stamp::of(&path),
        digest: digest_of(&path),
    };
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(WATCH_EVERY);
            let asked = reload.swap(false, Ordering::Relaxed);
            let changed = watched.changed(Stamp::of(&path), || digest_of(&path));
            if !changed && !asked {
                continue;
            }
            let checked = check(&path, &running, limits)
                .and_then(|mut plugin| judge.judge(&mut plugin).map(|()| plugin));
            metrics::plugin_swap(checked.is_ok());
            match checked {
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

/// What tells versions of the plugin file apart without reading it: a deploy
/// that renames a new file into place changes the inode, one that writes in
/// place the size or the modification time. (A same-size rewrite within the
/// file system's time resolution goes unseen; SIGHUP checks anyway.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    inode: u64,
    len: u64,
    modified: Option<std::time::SystemTime>,
}

impl Stamp {
    fn of(path: &Path) -> Option<Stamp> {
        use std::os::unix::fs::MetadataExt as _;
        let meta = std::fs::metadata(path).ok()?;
        Some(Stamp {
            inode: meta.ino(),
            len: meta.len(),
            modified: meta.modified().ok(),
        })
    }
}

/// The plugin file as the watcher last saw it; `None`: it could not be read.
#[derive(Debug)]
struct Watched {
    stamp: Option<Stamp>,
    digest: Option<String>,
}

impl Watched {
    /// Whether the contents changed since the last look. A plugin can be tens
    /// of megabytes, so `digest` (reading and hashing it) runs only when the
    /// stamp changed; a touched file with the same contents is no change.
    fn changed(&mut self, stamp: Option<Stamp>, digest: impl FnOnce() -> Option<String>) -> bool {
        if stamp == self.stamp {
            return false;
        }
        self.stamp = stamp;
        let digest = digest();
        if digest == self.digest {
            return false;
        }
        self.digest = digest;
        true
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};

    fn stamp(inode: u64, len: u64, secs: u64) -> Option<Stamp> {
        Some(Stamp {
            inode,
            len,
            modified: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(secs)),
        })
    }

    fn digest(text: &str) -> Option<String> {
        Some(text.to_string())
    }

    #[test]
    fn the_file_is_hashed_only_when_its_stamp_changed() {
        let mut watched = Watched {
            stamp: stamp(1, 10, 100),
            digest: digest("a"),
        };
        let not_read = || -> Option<String> { panic!("hashed an unchanged file") };
        assert!(!watched.changed(stamp(1, 10, 100), not_read));

        // Touched, same contents: read once, no change, and not read again.
        assert!(!watched.changed(stamp(1, 10, 200), || digest("a")));
        assert!(!watched.changed(stamp(1, 10, 200), not_read));

        // Written in place, renamed into place, grown: each a change.
        assert!(watched.changed(stamp(1, 10, 300), || digest("b")));
        assert!(watched.changed(stamp(2, 10, 300), || digest("c")));
        assert!(watched.changed(stamp(2, 11, 300), || digest("d")));
        assert!(!watched.changed(stamp(2, 11, 300), not_read));
    }

    #[test]
    fn a_file_that_goes_away_or_comes_back_is_a_change() {
        let mut watched = Watched {
            stamp: stamp(1, 10, 100),
            digest: digest("a"),
        };
        assert!(watched.changed(None, || None));
        assert!(!watched.changed(None, || panic!("no file to hash")));
        assert!(watched.changed(stamp(3, 10, 400), || digest("a")));
    }
}
