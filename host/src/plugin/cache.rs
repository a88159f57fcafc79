//! The compiled-plugin cache: compiling a component costs ~0.1 s for a small
//! Rust plugin and ~6 s for a componentize-py or componentize-js one, so
//! compiled code is kept on disk, keyed by the plugin's digest and the
//! engine's compatibility hash.
//!
//! Compiled code runs as native code, so an entry is trusted only when it
//! proves itself: beside each `.cwasm` a `.seal` holds the SHA-256 of the
//! plugin's digest, the engine key and the compiled bytes. The bytes are read
//! once, checked against the seal, and deserialized from memory; a damaged
//! entry, or one copied from another plugin (its seal names the other plugin),
//! is compiled again and replaced, never run. A directory that another user
//! owns, or that group or others may write, is not used at all.

use anyhow::{Context as _, Result};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;
use wasmtime::Engine;
use wasmtime::component::Component;

/// Off with `--no-plugin-cache`.
static ENABLED: AtomicBool = AtomicBool::new(true);

/// Whether plugins are compiled through the cache (`--no-plugin-cache`: no).
pub fn set_enabled(enabled: bool) {
    ENABLED.store(enabled, Ordering::Relaxed);
}

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

/// What the seal of an entry must say.
fn seal(digest: &str, engine: &str, compiled: &[u8]) -> String {
    let mut sealed = Vec::with_capacity(compiled.len() + 100);
    sealed.extend_from_slice(format!("aiod-host plugin {digest} engine {engine}\n").as_bytes());
    sealed.extend_from_slice(compiled);
    crate::digest::hex(&sealed)
}

/// Why the cache directory must not be used, if it must not: another user owns
/// it, or group or others may write it (they could put native code in it).
#[cfg(unix)]
fn unsafe_dir(dir: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt as _;
    let meta = std::fs::metadata(dir).ok()?;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me {
        return Some(format!(
            "it belongs to user {}, not to this one ({me})",
            meta.uid()
        ));
    }
    if meta.mode() & 0o022 != 0 {
        return Some(format!(
            "group or others may write it (mode {:o}); `chmod go-w` it",
            meta.mode() & 0o777
        ));
    }
    None
}

#[cfg(not(unix))]
fn unsafe_dir(_dir: &Path) -> Option<String> {
    None
}

/// The compiled component: from the cache when it holds an entry that proves itself.
pub fn component(engine: &Engine, bytes: &[u8], digest: &str) -> Result<Component> {
    let engine_key = engine_key(engine);
    let dir = dir().filter(|_| ENABLED.load(Ordering::Relaxed));
    let dir = dir.filter(|d| match unsafe_dir(d) {
        None => true,
        Some(why) => {
            tracing::warn!(cache = %d.display(), "not using the compiled-plugin cache: {why}");
            false
        }
    });
    let path = dir.map(|d| d.join(format!("{digest}-{engine_key}.cwasm")));
    if let Some(path) = path.as_ref().filter(|p| p.exists()) {
        let started = Instant::now();
        match read_sealed(path, digest, &engine_key) {
            // SAFETY: these bytes are our own compilation output for this exact
            // plugin and engine, as the seal proves; wasmtime checks the header again.
            Ok(compiled) => match unsafe { Component::deserialize(engine, &compiled) } {
                Ok(c) => {
                    tracing::info!(cache = %path.display(), elapsed = ?started.elapsed(), "plugin loaded from the compiled-plugin cache");
                    return Ok(c);
                }
                Err(e) => {
                    tracing::warn!(cache = %path.display(), "ignoring an unusable cache entry: {e:#}")
                }
            },
            Err(why) => tracing::warn!(
                cache = %path.display(),
                "a cache entry that does not prove itself ({why}) is compiled again, not run"
            ),
        }
    }
    let started = Instant::now();
    let component = Component::from_binary(engine, bytes).map_err(anyhow::Error::from)?;
    tracing::info!(elapsed = ?started.elapsed(), "plugin compiled");
    if let Some(path) = path
        && let Err(e) = store(&component, &path, digest, &engine_key)
    {
        tracing::warn!(cache = %path.display(), "cannot cache the compiled plugin: {e:#}");
    }
    Ok(component)
}

fn seal_path(path: &Path) -> PathBuf {
    path.with_extension("seal")
}

/// The entry's bytes, if its seal vouches for them.
fn read_sealed(path: &Path, digest: &str, engine_key: &str) -> Result<Vec<u8>, String> {
    let compiled = std::fs::read(path).map_err(|e| format!("cannot read it: {e}"))?;
    let sealed =
        std::fs::read_to_string(seal_path(path)).map_err(|e| format!("no readable seal: {e}"))?;
    if sealed.trim() != seal(digest, engine_key, &compiled) {
        return Err("its seal does not match: damaged, or another plugin's".into());
    }
    Ok(compiled)
}

/// Writes the entry and then its seal, each atomically: a reader never sees
/// half a file, and an entry without its seal is not used.
fn store(component: &Component, path: &Path, digest: &str, engine_key: &str) -> Result<()> {
    let dir = path.parent().context("cache path has a parent")?;
    create_private_dir(dir)?;
    let compiled = component.serialize().map_err(anyhow::Error::from)?;
    write_atomically(path, &compiled)?;
    write_atomically(
        &seal_path(path),
        seal(digest, engine_key, &compiled).as_bytes(),
    )
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().context("cache path has a parent")?;
    let tmp = dir.join(format!(
        ".{}.{}",
        std::process::id(),
        path.file_name().unwrap_or_default().to_string_lossy()
    ));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

/// Creates the cache directory readable and writable by this user only.
fn create_private_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seal_binds_the_plugin_the_engine_and_every_byte() {
        let s = seal("abc", "e1", b"compiled");
        assert_eq!(s, seal("abc", "e1", b"compiled"));
        assert_ne!(s, seal("abd", "e1", b"compiled"));
        assert_ne!(s, seal("abc", "e2", b"compiled"));
        assert_ne!(s, seal("abc", "e1", b"compiler"));
    }

    #[cfg(unix)]
    #[test]
    fn a_directory_others_may_write_is_refused() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        assert_eq!(unsafe_dir(dir.path()), None);
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o775)).unwrap();
        assert!(
            unsafe_dir(dir.path())
                .unwrap()
                .contains("group or others may write it")
        );
    }
}
