//! One module per command of `aiod-host`; each returns the exit code, or the
//! error that ends it, which knows its own exit code.

pub mod check;
pub mod config_show;
pub mod failures;
pub mod plugin;
pub mod remap;
pub mod reset_pass;
pub mod retry;
pub mod run;
pub mod serve;
pub mod status;

use crate::model::SyncMode;
use crate::state::State;
use crate::summary::Summary;
use crate::sync::SyncError;
use anyhow::Context as _;
use std::process::ExitCode;

/// Why a command ended early.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl Error {
    /// 3 when the run stopped resumably because a server asked for a longer
    /// wait than the cap (run it again later), 2 for every other error.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::Sync(SyncError::Paused(_)) => ExitCode::from(3),
            _ => ExitCode::from(2),
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// Prints the summary line; 1 when a record failed or AIoD hides its asset.
pub fn summary_exit_code(summary: &Summary) -> ExitCode {
    eprintln!("summary: {summary}");
    if summary.failed > 0 || summary.unpublished > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// How far `--mode since --value auto` reaches back before the last completed
/// sync's start, for clocks and listings that are a little off.
const AUTO_SINCE_OVERLAP: chrono::Duration = chrono::Duration::minutes(10);

/// `since` the start of the last completed pass, less the overlap; `None` before any.
pub fn auto_since(state: &State) -> anyhow::Result<Option<SyncMode>> {
    let Some(mark) = state.high_water_mark()? else {
        return Ok(None);
    };
    let mark = chrono::DateTime::parse_from_rfc3339(&mark).context("the stored high-water mark")?;
    let since = (mark.with_timezone(&chrono::Utc) - AUTO_SINCE_OVERLAP)
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    tracing::info!("since {since} (the last completed sync started at {mark})");
    Ok(Some(SyncMode::Since(since)))
}
