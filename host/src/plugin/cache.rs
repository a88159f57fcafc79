//! The compiled-plugin cache: compiling a component costs ~0.1 s for a small
//! Rust plugin and ~10 s for a componentize-py one, so compiled code is kept
//! on disk, keyed by the plugin's digest and the engine's compatibility hash.
//! An entry that does not match (another engine, a damaged file) is never
//! used: it is compiled again and replaced.

use anyhow::{Context as _, Result};
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::time::Instant;
use wasmtime::Engine;
use wasmtime::component::Component;

/// `$AIOD_HOST_CACHE_DIR`, else `$XDG_CACHE_HOME/aiod-host/plugins`, else `~/.cache/aiod-host/plugins`.
fn dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("AIOD_HOST_CACHE_DIR").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(d));
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("aiod-host").join("plugins"))
}

fn engine_key(engine: &Engine) -> String {
    let mut h = std::hash::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    format!("{:016x}", h.finish())
}

/// The compiled component: from the cache when it holds a matching entry.
pub fn component(engine: &Engine, bytes: &[u8], digest: &str) -> Result<Component> {
    let path = dir().map(|d| d.join(format!("{digest}-{}.cwasm", engine_key(engine))));
    if let Some(path) = path.as_ref().filter(|p| p.exists()) {
        let started = Instant::now();
        // SAFETY: the file is our own compilation output, found under the key of
        // this exact plugin and engine; wasmtime checks its header again.
        match unsafe { Component::deserialize_file(engine, path) } {
            Ok(c) => {
                tracing::info!(cache = %path.display(), elapsed = ?started.elapsed(), "plugin loaded from the compiled-plugin cache");
                return Ok(c);
            }
            Err(e) => {
                tracing::warn!(cache = %path.display(), "ignoring an unusable cache entry: {e:#}")
            }
        }
    }
    let started = Instant::now();
    let component = Component::from_binary(engine, bytes).map_err(anyhow::Error::from)?;
    tracing::info!(elapsed = ?started.elapsed(), "plugin compiled");
    if let Some(path) = path
        && let Err(e) = store(&component, &path)
    {
        tracing::warn!(cache = %path.display(), "cannot cache the compiled plugin: {e:#}");
    }
    Ok(component)
}

/// Writes atomically: a reader never sees half a file.
fn store(component: &Component, path: &PathBuf) -> Result<()> {
    let dir = path.parent().context("cache path has a parent")?;
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.{}",
        std::process::id(),
        path.file_name().unwrap().to_string_lossy()
    ));
    std::fs::write(&tmp, component.serialize().map_err(anyhow::Error::from)?)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}
