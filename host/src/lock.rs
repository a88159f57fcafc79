//! One sync per state: `run`, `serve` and `retry` hold an exclusive lock on
//! a file beside the state database for as long as they run. The operating
//! system releases it when the process ends, however it ends (SIGKILL
//! included), so a crash never leaves a stale lock. A second process on the
//! same state (a cron overlap, a second container on the same volume) is
//! refused at once, with the holder's pid and start time.

use anyhow::{Context as _, Result};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read as _, Seek as _, Write as _};
use std::path::{Path, PathBuf};

/// The lock, held until dropped (or the process ends).
#[derive(Debug)]
pub struct Held {
    _file: File,
}

/// `<state>.lock`, beside the state database.
pub fn path_for(state: &Path) -> PathBuf {
    let mut name = state.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// Takes the state's lock, or fails at once naming who holds it.
pub fn acquire(state: &Path) -> Result<Held> {
    let path = path_for(state);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .with_context(|| format!("cannot open the state's lock file {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            let holder = if holder.is_empty() {
                "another process".to_string()
            } else {
                format!("another aiod-host ({holder})")
            };
            anyhow::bail!(
                "the state {} is in use by {holder}: one sync at a time per state. Let it \
                 finish (or stop it), or give this one a state of its own with --state",
                state.display()
            );
        }
        Err(TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("cannot lock {}", path.display()));
        }
    }
    // Who holds it, for the next one to read.
    let since = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    file.set_len(0)?;
    file.rewind()?;
    write!(file, "pid {}, since {since}", std::process::id())?;
    file.flush()?;
    Ok(Held { _file: file })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_with_the_first_ones_pid_until_it_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("s.sqlite");
        let first = acquire(&state).unwrap();
        let err = acquire(&state).unwrap_err().to_string();
        assert!(
            err.contains(&format!(
                "in use by another aiod-host (pid {}, since ",
                std::process::id()
            )),
            "{err}"
        );
        drop(first);
        let _again = acquire(&state).unwrap();
        assert_eq!(path_for(&state), dir.path().join("s.sqlite.lock"));
    }
}
