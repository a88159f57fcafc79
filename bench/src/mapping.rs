//! The Hugging Face mapping per record: natively (the `huggingface-plugin` crate, compiled for
//! this machine) and inside the component (`plugins/huggingface.wasm` in wasmtime, configured as
//! the host configures it, called through the same WIT contract); and what loading the
//! component costs: a cold compile, a warm load of the serialized compiled code (what the host's
//! compiled-plugin cache holds), an instantiation.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use huggingface_plugin::listing;
use huggingface_plugin::mapping::{self, ParquetResponse};
use huggingface_plugin::sdk::SourceRecord;
use huggingface_plugin::{DATASETS_SERVER, Mode};
use serde_json::Value;
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, Store};

mod wit {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "connector",
    });
}

use wit::exports::aiod::connector::types as t;

const PLATFORM: &str = "huggingface";

/// A record as the listing gives it, with its `/parquet` response.
#[derive(Debug, Clone)]
pub struct Record {
    pub found: SourceRecord,
    pub parquet_status: u16,
    pub parquet_body: Vec<u8>,
}

/// The 6 recorded datasets (the recorded listing) with their recorded `/parquet` responses, as
/// the plugin's fixture pairs them.
pub fn recorded(root: &Path) -> anyhow::Result<Vec<Record>> {
    let dir = root.join("plugins/huggingface/fixtures/recorded");
    let fixture: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("fixture.json")).context("reading the fixture")?,
    )?;
    let responses = fixture["responses"].as_array().context("responses")?;
    let mut listing = None;
    let mut parquet = Vec::new();
    for response in responses {
        let body = std::fs::read(dir.join(response["body_file"].as_str().context("body_file")?))?;
        let status = response["status"].as_u64().unwrap_or(200) as u16;
        match response["endpoint"].as_str() {
            Some("hub") => listing = Some(body),
            Some(DATASETS_SERVER) => {
                let dataset = response["query"]["dataset"].as_str().context("dataset")?;
                parquet.push((dataset.to_owned(), status, body));
            }
            _ => {}
        }
    }
    let listing = listing.context("the fixture has no listing")?;
    let page = listing::handle_page(&Mode::All, 200, &[], &listing).map_err(anyhow::Error::msg)?;
    page.records
        .into_iter()
        .map(|found| {
            let (_, status, body) = parquet
                .iter()
                .find(|(d, ..)| *d == found.label)
                .with_context(|| format!("no /parquet response for {}", found.label))?;
            Ok(Record {
                found,
                parquet_status: *status,
                parquet_body: body.clone(),
            })
        })
        .collect()
}

/// `count` generated datasets as the local Hugging Face lists them, with their `/parquet`.
pub fn generated(count: usize) -> anyhow::Result<Vec<Record>> {
    let listing: Vec<Value> = (0..count).map(local_servers::generated_dataset).collect();
    let listing = serde_json::to_vec(&listing)?;
    let page = listing::handle_page(&Mode::All, 200, &[], &listing).map_err(anyhow::Error::msg)?;
    Ok(page
        .records
        .into_iter()
        .enumerate()
        .map(|(i, found)| Record {
            found,
            parquet_status: 200,
            parquet_body: local_servers::generated_parquet(i).into_bytes(),
        })
        .collect())
}

/// The engine as the host configures it (component model, CPU time by epochs).
fn engine() -> anyhow::Result<Engine> {
    let mut config = Config::new();
    config.wasm_component_model(true).epoch_interruption(true);
    Ok(Engine::new(&config)?)
}

/// An instance of the plugin, ready to call.
pub struct Plugin {
    store: Store<()>,
    connector: wit::Connector,
}

impl Plugin {
    pub fn new(engine: &Engine, component: &Component) -> anyhow::Result<Plugin> {
        let linker = Linker::new(engine);
        let mut store = Store::new(engine, ());
        // The host gives each call a CPU deadline in 10 ms ticks; nothing ticks here.
        store.set_epoch_deadline(u64::MAX / 2);
        let connector = wit::Connector::instantiate(&mut store, component, &linker)?;
        Ok(Plugin { store, connector })
    }

    /// Maps one record as the host does: the WIT record and follow-up built from the host's own
    /// values (copied), the call, the result.
    pub fn map(&mut self, record: &Record) -> anyhow::Result<String> {
        let ctx = t::Context {
            platform: PLATFORM.to_owned(),
        };
        let request = t::Request {
            endpoint: DATASETS_SERVER.to_owned(),
            target: "/parquet".to_owned(),
            query: vec![("dataset".to_owned(), record.found.label.clone())],
            headers: vec![("accept".to_owned(), "application/json".to_owned())],
        };
        let source = t::SourceRecord {
            id: record.found.id.clone(),
            label: record.found.label.clone(),
            version: record.found.version.clone(),
            data: record.found.data.clone(),
            follow_ups: vec![request.clone()],
        };
        let follow_ups = [t::FollowUp {
            request,
            response: t::Response {
                status: record.parquet_status,
                headers: vec![("content-type".to_owned(), "application/json".to_owned())],
                body: record.parquet_body.clone(),
            },
        }];
        let mapped = self.connector.aiod_connector_plugin().call_map_record(
            &mut self.store,
            &ctx,
            &source,
            &follow_ups,
        )?;
        match mapped {
            Ok(mut mapped) if mapped.assets.len() == 1 => Ok(mapped.assets.remove(0).body),
            Ok(mapped) => bail!("{} assets for one record", mapped.assets.len()),
            Err(e) => bail!("the plugin refused {}: {e:?}", record.found.label),
        }
    }
}

/// Maps one record natively.
pub fn map_native(record: &Record) -> anyhow::Result<String> {
    let parquet = ParquetResponse {
        status: record.parquet_status,
        headers: &[],
        body: &record.parquet_body,
    };
    let mapped = mapping::map_dataset(PLATFORM, &record.found.data, Some(parquet))
        .map_err(anyhow::Error::msg)?;
    Ok(mapped.body)
}

/// Records per second of `map` over `records`, `reps` times over.
fn rate(
    records: &[Record],
    reps: usize,
    mut map: impl FnMut(&Record) -> anyhow::Result<String>,
) -> anyhow::Result<f64> {
    let started = Instant::now();
    for _ in 0..reps {
        for record in records {
            black_box(map(black_box(record))?);
        }
    }
    Ok((records.len() * reps) as f64 / started.elapsed().as_secs_f64())
}

/// One run's mapping rates, records per second.
#[derive(Debug, Clone, Copy)]
pub struct Rates {
    pub native: f64,
    pub component: f64,
}

/// Native and component rates over `records` (`reps` passes each), after checking that both
/// produce the same bodies.
pub fn compare(plugin: &mut Plugin, records: &[Record], reps: usize) -> anyhow::Result<Rates> {
    for record in records {
        let (native, component) = (map_native(record)?, plugin.map(record)?);
        ensure!(
            native == component,
            "native and component bodies differ for {}",
            record.found.label
        );
    }
    let native = rate(records, reps, map_native)?;
    let component = rate(records, reps, |r| plugin.map(r))?;
    Ok(Rates { native, component })
}

/// One run's load times.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    pub compile: Duration,
    pub deserialize: Duration,
    pub instantiate: Duration,
}

/// Compiles the component in a fresh engine, stores the compiled code in `cache_file` and loads
/// it back as the host's cache does (`deserialize_file`), then instantiates it.
pub fn load_times(wasm: &[u8], cache_file: &Path) -> anyhow::Result<(Load, Plugin)> {
    let engine = engine()?;
    let started = Instant::now();
    let compiled = Component::from_binary(&engine, wasm)?;
    let compile = started.elapsed();
    std::fs::write(cache_file, compiled.serialize()?)?;
    drop(compiled);

    // A new engine of the same configuration, as a new host process has.
    let engine = self::engine()?;
    let started = Instant::now();
    // SAFETY: the file was written just above by `serialize` of this engine's configuration.
    let component = unsafe { Component::deserialize_file(&engine, cache_file)? };
    let deserialize = started.elapsed();
    let started = Instant::now();
    let plugin = Plugin::new(&engine, &component)?;
    let instantiate = started.elapsed();
    Ok((
        Load {
            compile,
            deserialize,
            instantiate,
        },
        plugin,
    ))
}
