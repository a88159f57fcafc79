//! Loading a plugin component and calling it.
//!
//! The plugin runs in wasmtime with no host capabilities: an import-free
//! component gets nothing to call, and one that imports WASI gets a context
//! that grants nothing (no files, network, environment, arguments or stdio)
//! and a clock frozen at the epoch.

mod bindings;
mod contract;

use crate::model::{
    Mapped, Page, PluginInfo, RecordError, Request, Response, SourceRecord, SyncMode,
};
use anyhow::{Context as _, Result};
use bindings::Connector;
use std::path::{Path, PathBuf};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// Why a plugin call produced nothing usable.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The plugin answered with an error for this input.
    #[error("{0}")]
    Refused(String),
    /// The plugin trapped or broke the contract (e.g. returned invalid JSON).
    #[error("plugin {plugin} failed: {message}")]
    Broken { plugin: String, message: String },
}

/// Per-instance state: only what WASI needs, and it grants nothing.
struct Sandbox {
    wasi: WasiCtx,
    table: ResourceTable,
}

impl WasiView for Sandbox {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// A frozen clock: plugins must be deterministic.
struct Epoch;

impl wasmtime_wasi::HostWallClock for Epoch {
    fn resolution(&self) -> std::time::Duration {
        std::time::Duration::from_secs(1)
    }
    fn now(&self) -> std::time::Duration {
        std::time::Duration::ZERO
    }
}

impl wasmtime_wasi::HostMonotonicClock for Epoch {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }
    fn now(&self) -> u64 {
        0
    }
}

fn sandbox() -> Sandbox {
    Sandbox {
        wasi: WasiCtx::builder()
            .wall_clock(Epoch)
            .monotonic_clock(Epoch)
            .build(),
        table: ResourceTable::new(),
    }
}

/// A loaded, instantiated plugin.
pub struct Plugin {
    path: PathBuf,
    /// SHA-256 of the component file.
    digest: String,
    store: Store<Sandbox>,
    bindings: Connector,
    info: PluginInfo,
}

impl Plugin {
    /// Loads the component at `path`, checks its contract version and instantiates it.
    pub fn load(path: &Path) -> Result<Plugin> {
        let bytes = std::fs::read(path)
            .with_context(|| format!("cannot read plugin file {}", path.display()))?;
        contract::check_binary(&bytes)
            .with_context(|| format!("cannot load plugin {}", path.display()))?;

        let mut config = Config::new();
        config.wasm_component_model(true);
        let engine = Engine::new(&config)?;
        let component = Component::from_binary(&engine, &bytes)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("plugin {} is not a valid component", path.display()))?;
        contract::check_exports(&engine, &component)
            .with_context(|| format!("cannot load plugin {}", path.display()))?;

        let mut linker = Linker::<Sandbox>::new(&engine);
        if component.component_type().imports(&engine).len() > 0 {
            wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        }
        let mut store = Store::new(&engine, sandbox());
        let bindings = Connector::instantiate(&mut store, &component, &linker)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("cannot instantiate plugin {}", path.display()))?;
        let info = bindings
            .aiod_connector_plugin()
            .call_info(&mut store)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("plugin {} failed to describe itself", path.display()))?;
        Ok(Plugin {
            path: path.to_path_buf(),
            digest: crate::digest::hex(&bytes),
            store,
            bindings,
            info: info.into(),
        })
    }

    pub fn info(&self) -> &PluginInfo {
        &self.info
    }

    /// `name version`, for messages.
    pub fn describe(&self) -> String {
        format!(
            "{} {} ({})",
            self.info.name,
            self.info.version,
            self.path.display()
        )
    }

    /// `name version sha256:digest`, kept with every uploaded asset and dead letter.
    pub fn provenance(&self) -> String {
        format!(
            "{} {} sha256:{}",
            self.info.name, self.info.version, self.digest
        )
    }

    fn broken(&self, message: impl std::fmt::Display) -> CallError {
        CallError::Broken {
            plugin: format!("{} {}", self.info.name, self.info.version),
            message: message.to_string(),
        }
    }

    pub fn start(&mut self, platform: &str, mode: &SyncMode) -> Result<Vec<Request>, CallError> {
        let out = self
            .bindings
            .aiod_connector_plugin()
            .call_start(&mut self.store, &bindings::context(platform), &mode.into())
            .map_err(|e| self.broken(format!("{e:#}")))?;
        out.map(|rs| rs.into_iter().map(Into::into).collect())
            .map_err(CallError::Refused)
    }

    pub fn handle_page(
        &mut self,
        platform: &str,
        mode: &SyncMode,
        request: &Request,
        response: &Response,
    ) -> Result<Page, CallError> {
        let out = self
            .bindings
            .aiod_connector_plugin()
            .call_handle_page(
                &mut self.store,
                &bindings::context(platform),
                &mode.into(),
                &request.into(),
                &response.into(),
            )
            .map_err(|e| self.broken(format!("{e:#}")))?;
        out.map(Into::into).map_err(CallError::Refused)
    }

    pub fn map_record(
        &mut self,
        platform: &str,
        record: &SourceRecord,
        follow_ups: &[(Request, Response)],
    ) -> Result<Result<Mapped, RecordError>, CallError> {
        let follow_ups: Vec<_> = follow_ups.iter().map(bindings::follow_up).collect();
        let out = self
            .bindings
            .aiod_connector_plugin()
            .call_map_record(
                &mut self.store,
                &bindings::context(platform),
                &record.into(),
                &follow_ups,
            )
            .map_err(|e| self.broken(format!("{e:#}")))?;
        match out {
            Ok(mapped) => bindings::mapped(mapped).map(Ok).map_err(|e| self.broken(e)),
            Err(e) => Ok(Err(e.into())),
        }
    }
}
