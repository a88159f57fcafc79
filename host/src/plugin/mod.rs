//! Loading a plugin component and calling it, within limits.
//!
//! The plugin runs in wasmtime with no host capabilities: an import-free
//! component gets nothing to call, and one that imports WASI gets a context
//! that grants nothing (no files, network, environment, arguments or stdio)
//! and a clock frozen at the epoch. Each call has a CPU time budget (epoch
//! interruption), each instance a memory cap, and each result a size cap; a
//! call that breaks any of them, or traps, costs only that call: the instance
//! is replaced by a fresh one. What a plugin prints goes to the host's log at
//! debug level (`printed.rs`).

mod bindings;
mod cache;
mod contract;
mod printed;

use crate::answers::AnswerRules;
use crate::model::{
    Existence, Mapped, MissingRecord, Page, PluginInfo, RecordError, Request, Response,
    SourceRecord, SyncMode,
};
use anyhow::{Context as _, Result};
use bindings::{Connector, ConnectorPre};
use std::path::{Path, PathBuf};
use std::time::Duration;
use wasmtime::component::{Linker, ResourceTable};
use wasmtime::{Config, Engine, ResourceLimiter, Store, Trap};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// Whether plugins are compiled through the compiled-plugin cache (`--no-plugin-cache`: no).
pub fn use_compiled_cache(enabled: bool) {
    cache::set_enabled(enabled);
}

/// How often the CPU-time clock ticks; a call's budget is counted in ticks.
const TICK: Duration = Duration::from_millis(10);

/// A CPU-time budget in clock ticks (at least one).
fn ticks(cpu: Duration) -> u64 {
    (cpu.as_millis() / TICK.as_millis()).max(1) as u64
}

/// What one plugin may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// CPU time of one call.
    pub cpu: Duration,
    /// Linear memory of one instance, in bytes.
    pub memory: usize,
    /// Size of what one call returns, in bytes.
    pub output: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            cpu: Duration::from_secs(5),
            memory: 512 << 20,
            output: 64 << 20,
        }
    }
}

/// Why a plugin call produced nothing usable.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The plugin answered with an error for this input.
    #[error("{0}")]
    Refused(String),
    /// The plugin trapped, hit a limit or broke the contract (e.g. returned invalid JSON).
    #[error("plugin {plugin} {message}")]
    Broken { plugin: String, message: String },
}

/// Per-instance state: what WASI needs (it grants nothing) and the memory cap.
struct Sandbox {
    wasi: WasiCtx,
    /// What the plugin printed during the current call: (stdout, stderr).
    printed: (printed::Printed, printed::Printed),
    table: ResourceTable,
    max_memory: usize,
    /// Set when the memory cap refused a growth, to name the limit in the error.
    memory_refused: bool,
}

impl WasiView for Sandbox {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl ResourceLimiter for Sandbox {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_memory {
            self.memory_refused = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 1 << 20)
    }
}

/// A frozen clock: plugins must be deterministic.
struct Epoch;

impl wasmtime_wasi::HostWallClock for Epoch {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn now(&self) -> Duration {
        Duration::ZERO
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

fn new_store(engine: &Engine, limits: &Limits) -> Store<Sandbox> {
    let printed = (printed::Printed::default(), printed::Printed::default());
    let sandbox = Sandbox {
        wasi: WasiCtx::builder()
            .wall_clock(Epoch)
            .monotonic_clock(Epoch)
            .stdout(printed.0.clone())
            .stderr(printed.1.clone())
            .build(),
        printed,
        table: ResourceTable::new(),
        max_memory: limits.memory,
        memory_refused: false,
    };
    let mut store = Store::new(engine, sandbox);
    store.limiter(|s| s);
    store
}

/// One engine per process (every plugin loaded, swapped or checked shares it),
/// with its CPU-time clock ticking in the background.
fn engine() -> Result<Engine> {
    static ENGINE: std::sync::OnceLock<Engine> = std::sync::OnceLock::new();
    if let Some(e) = ENGINE.get() {
        return Ok(e.clone());
    }
    let mut config = Config::new();
    config.wasm_component_model(true).epoch_interruption(true);
    let engine = Engine::new(&config)?;
    if ENGINE.set(engine.clone()).is_ok() {
        let ticking = engine.clone();
        std::thread::Builder::new()
            .name("plugin-clock".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(TICK);
                    ticking.increment_epoch();
                }
            })
            .context("cannot start the plugin clock")?;
    }
    Ok(ENGINE.get().expect("set above").clone())
}

/// A plugin's description for authors and operators.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Inspection {
    pub name: String,
    pub platform: String,
    pub version: String,
    pub contract: String,
    pub imports: Vec<String>,
    pub exports: Vec<String>,
    pub digest: String,
    pub size: u64,
    pub endpoints: Vec<crate::model::EndpointDecl>,
    pub asset_types: Vec<String>,
    /// The plugin's answer rules, one line each (contract 0.1.2).
    pub answer_rules: Vec<String>,
    /// Whether it looks up a record before the host deletes its assets (0.1.2).
    pub looks_up: bool,
}

/// Runs `f` where WASI's synchronous bindings may block: they drive a Tokio
/// runtime of their own, which panics inside the host's ("Cannot start a
/// runtime from within a runtime"), so a plugin that imports WASI is called on
/// a thread outside it. An import-free plugin has no WASI to call: it runs here.
fn outside_runtime<R: Send>(
    wasi: bool,
    f: impl FnOnce() -> wasmtime::Result<R> + Send,
) -> wasmtime::Result<R> {
    if !wasi || tokio::runtime::Handle::try_current().is_err() {
        return f();
    }
    std::thread::scope(|s| {
        s.spawn(f)
            .join()
            .unwrap_or_else(|_| Err(wasmtime::Error::msg("the plugin's call thread panicked")))
    })
}

/// A loaded, instantiated plugin.
pub struct Plugin {
    path: PathBuf,
    /// Whether the component imports WASI (see `outside_runtime`).
    wasi: bool,
    /// SHA-256 of the component file.
    digest: String,
    limits: Limits,
    engine: Engine,
    pre: ConnectorPre<Sandbox>,
    store: Store<Sandbox>,
    bindings: Connector,
    info: PluginInfo,
    answers: AnswerRules,
}

impl Plugin {
    /// Loads the component at `path` (compiled, or from the compiled-plugin
    /// cache), checks its contract version and instantiates it.
    pub fn load(path: &Path, limits: Limits) -> Result<Plugin> {
        // Reading a FIFO or a device would block or never end.
        let meta = std::fs::metadata(path)
            .with_context(|| format!("cannot read plugin file {}", path.display()))?;
        anyhow::ensure!(
            meta.is_file(),
            "plugin {} is not a regular file (a component file is)",
            path.display()
        );
        let bytes = std::fs::read(path)
            .with_context(|| format!("cannot read plugin file {}", path.display()))?;
        contract::check_binary(&bytes)
            .with_context(|| format!("cannot load plugin {}", path.display()))?;
        let digest = crate::digest::hex(&bytes);
        let engine = engine()?;
        let component = cache::component(&engine, &bytes, &digest)
            .with_context(|| format!("plugin {} is not a valid component", path.display()))?;
        let contract = contract::check_exports(&engine, &component)
            .with_context(|| format!("cannot load plugin {}", path.display()))?;

        let mut linker = Linker::<Sandbox>::new(&engine);
        let wasi = component.component_type().imports(&engine).len() > 0;
        if wasi {
            wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        }
        let pre = linker
            .instantiate_pre(&component)
            .and_then(|pre| ConnectorPre::new(pre, &contract))
            .map_err(anyhow::Error::from)
            .with_context(|| format!("cannot instantiate plugin {}", path.display()))?;
        let mut store = new_store(&engine, &limits);
        store.set_epoch_deadline(ticks(limits.cpu));
        let bindings = outside_runtime(wasi, || pre.instantiate(&mut store))
            .map_err(anyhow::Error::from)
            .with_context(|| format!("cannot instantiate plugin {}", path.display()))?;
        let info: PluginInfo = outside_runtime(wasi, || bindings.info(&mut store))
            .map_err(anyhow::Error::from)
            .with_context(|| format!("plugin {} failed to describe itself", path.display()))?
            .into();
        // The plugin's name names its env file's folder, its platform the state file.
        crate::names::check("the plugin's name", &info.name)
            .and_then(|()| crate::names::check("the plugin's platform", &info.platform))
            .map_err(anyhow::Error::msg)
            .with_context(|| format!("cannot load plugin {}", path.display()))?;
        let mut plugin = Plugin {
            path: path.to_path_buf(),
            wasi,
            digest,
            limits,
            engine,
            pre,
            store,
            bindings,
            answers: AnswerRules::default(),
            info,
        };
        plugin.answers = plugin
            .load_answer_rules()
            .with_context(|| format!("plugin {} gave no usable answer rules", path.display()))?;
        Ok(plugin)
    }

    /// The plugin's answer rules (contract 0.1.2), checked against its
    /// endpoints; none for an older plugin (the host's defaults apply).
    fn load_answer_rules(&mut self) -> Result<AnswerRules> {
        let ctx = bindings::context(&self.info.platform);
        let rules = self.call(
            "answer-rules",
            |b, s| b.answer_rules(s, &ctx),
            |r| r.as_deref().map_or(0, bindings::rules_size),
        )?;
        let rules: Vec<crate::model::AnswerRule> = rules
            .unwrap_or_default()
            .into_iter()
            .map(Into::into)
            .collect();
        for rule in &rules {
            if !self.info.endpoints.iter().any(|e| e.name == rule.endpoint) {
                anyhow::bail!(
                    "a rule names endpoint {:?}, which the plugin does not declare",
                    rule.endpoint
                );
            }
        }
        Ok(AnswerRules::new(rules))
    }

    /// How final each answer of the plugin's endpoints is.
    pub fn answers(&self) -> &AnswerRules {
        &self.answers
    }

    /// Whether the plugin can look up a missing record (contract 0.1.2).
    pub fn can_look_up(&self) -> bool {
        self.bindings.latest().is_some()
    }

    /// Whether its `skip` withdraws what AIoD holds of the record, as the
    /// contract says since 0.1.2; for an older plugin a skip only logs.
    pub fn skip_withdraws(&self) -> bool {
        self.bindings.latest().is_some()
    }

    /// Runs one call within the limits; a trap or a limit replaces the instance.
    fn call<T: Send>(
        &mut self,
        name: &'static str,
        f: impl FnOnce(&Connector, &mut Store<Sandbox>) -> wasmtime::Result<T> + Send,
        size: impl FnOnce(&T) -> usize,
    ) -> Result<T, CallError> {
        self.store.set_epoch_deadline(ticks(self.limits.cpu));
        let started = std::time::Instant::now();
        let (bindings, store) = (&self.bindings, &mut self.store);
        let result = outside_runtime(self.wasi, || f(bindings, store));
        crate::metrics::plugin_call(name, started.elapsed());
        self.log_printed(name);
        let returned = result.as_ref().map(size).unwrap_or(0);
        let failure = match &result {
            Ok(_) if returned > self.limits.output => Some(format!(
                "returned {returned} bytes, more than its output limit of {} bytes",
                self.limits.output
            )),
            Ok(_) => None,
            Err(e) if e.downcast_ref::<Trap>() == Some(&Trap::Interrupt) => Some(format!(
                "exceeded its CPU time limit of {:?} per call",
                self.limits.cpu
            )),
            Err(_) if self.store.data().memory_refused => Some(format!(
                "exceeded its memory limit of {} MiB",
                self.limits.memory >> 20
            )),
            Err(e) => Some(format!("trapped: {e:#}")),
        };
        match failure {
            None => result.map_err(|e| self.broken(e)),
            Some(message) => {
                let error = self.broken(message);
                self.renew();
                Err(error)
            }
        }
    }

    /// What the plugin printed during the call `name`, to the log at debug level.
    fn log_printed(&self, name: &str) {
        let (stdout, stderr) = &self.store.data().printed;
        for (stream, printed) in [("stdout", stdout), ("stderr", stderr)] {
            if let Some(text) = printed.take() {
                tracing::debug!(plugin = %self.info.name, call = name, stream, "plugin printed: {text}");
            }
        }
    }

    /// A fresh instance after a trap: nothing of the failed call survives.
    fn renew(&mut self) {
        let mut store = new_store(&self.engine, &self.limits);
        store.set_epoch_deadline(ticks(self.limits.cpu));
        let pre = &self.pre;
        match outside_runtime(self.wasi, || pre.instantiate(&mut store)) {
            Ok(bindings) => {
                self.store = store;
                self.bindings = bindings;
                tracing::debug!(plugin = %self.describe(), "replaced the plugin instance");
            }
            // The old instance stays; its next call reports its own error.
            Err(e) => {
                tracing::error!(plugin = %self.describe(), "cannot renew the plugin instance: {e:#}")
            }
        }
    }

    /// What `plugin inspect` shows.
    pub fn inspect(&self) -> Inspection {
        let facts = contract::describe_component(&self.engine, self.pre.component());
        Inspection {
            name: self.info.name.clone(),
            platform: self.info.platform.clone(),
            version: self.info.version.clone(),
            contract: facts.contract.unwrap_or_default(),
            imports: facts.imports,
            exports: facts.exports,
            digest: format!("sha256:{}", self.digest),
            size: std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0),
            endpoints: self.info.endpoints.clone(),
            asset_types: self.info.asset_types.clone(),
            answer_rules: self.answers.describe(),
            looks_up: self.can_look_up(),
        }
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
        let (ctx, mode) = (bindings::context(platform), mode.into());
        let out = self.call(
            "start",
            |b, s| b.start(s, &ctx, &mode),
            |r| match r {
                Ok(rs) => rs.iter().map(bindings::request_size).sum(),
                Err(e) => e.len(),
            },
        )?;
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
        let (ctx, mode, request, response) = (
            bindings::context(platform),
            mode.into(),
            request.into(),
            response.into(),
        );
        let out = self.call(
            "handle-page",
            |b, s| b.handle_page(s, &ctx, &mode, &request, &response),
            |r| match r {
                Ok(page) => bindings::page_size(page),
                Err(e) => e.len(),
            },
        )?;
        out.map(Into::into).map_err(CallError::Refused)
    }

    pub fn map_record(
        &mut self,
        platform: &str,
        record: &SourceRecord,
        follow_ups: &[(Request, Response)],
    ) -> Result<Result<Mapped, RecordError>, CallError> {
        let follow_ups: Vec<_> = follow_ups.iter().map(bindings::follow_up).collect();
        let (ctx, record) = (bindings::context(platform), record.into());
        let out = self.call(
            "map-record",
            |b, s| b.map_record(s, &ctx, &record, &follow_ups),
            |r| match r {
                Ok(j) => bindings::judged_size(j),
                Err(bindings::RecordErrorRef::Skip(e) | bindings::RecordErrorRef::Invalid(e)) => {
                    e.len()
                }
            },
        )?;
        match out {
            Ok(mapped) => bindings::mapped(mapped).map(Ok).map_err(|e| self.broken(e)),
            Err(e) => Ok(Err(e.into())),
        }
    }

    /// Requests that show the platform answers (`aiod-host check`). A plugin
    /// built before probes existed (contract 0.1.0) is probed with the first
    /// request of an `all` sync.
    pub fn probes(&mut self, platform: &str) -> Result<Vec<Request>, CallError> {
        let ctx = bindings::context(platform);
        let probes = self.call(
            "probes",
            |b, s| b.probes(s, &ctx),
            |r| r.iter().flatten().map(bindings::request_size).sum(),
        )?;
        match probes {
            Some(probes) => Ok(probes.into_iter().map(Into::into).collect()),
            None => Ok(self
                .start(platform, &SyncMode::All)?
                .into_iter()
                .take(1)
                .collect()),
        }
    }

    /// The request that asks whether `record` still exists; `None` for a
    /// plugin built before lookups (0.1.2); `Err(Refused)` when the plugin
    /// says it cannot be looked up.
    pub fn lookup(
        &mut self,
        platform: &str,
        record: &MissingRecord,
    ) -> Result<Option<Request>, CallError> {
        let (ctx, wit_record) = (bindings::context(platform), record.into());
        let out = self.call(
            "lookup",
            |b, s| b.lookup(s, &ctx, &wit_record),
            |r| match r {
                Some(Ok(req)) => bindings::request_size(req),
                Some(Err(e)) => e.len(),
                None => 0,
            },
        )?;
        match out {
            None => Ok(None),
            Some(Ok(req)) => Ok(Some(req.into())),
            Some(Err(why)) => Err(CallError::Refused(why)),
        }
    }

    /// What the answer to `lookup`'s request says.
    pub fn read_lookup(
        &mut self,
        platform: &str,
        record: &MissingRecord,
        response: &Response,
    ) -> Result<Existence, CallError> {
        let (ctx, wit_record, response) =
            (bindings::context(platform), record.into(), response.into());
        let out = self.call(
            "read-lookup",
            |b, s| b.read_lookup(s, &ctx, &wit_record, &response),
            |r| r.as_ref().map_or(0, bindings::existence_size),
        )?;
        out.map(Into::into)
            .ok_or_else(|| self.broken("cannot read lookups (built before contract 0.1.2)"))
    }
}
