//! Each first-party plugin as the host loads and calls it, whatever its language: the
//! component's size, a cold load (compile with Cranelift, then instantiate), a warm load (the
//! compiled code from the host's cache, then instantiate), and the cost of `map` per record on
//! the records of the plugin's own fixture. Through `aiod_host::plugin::Plugin`, the host's own
//! loader and sandbox, so the figures are the host's.

use crate::report::{Samples, Table, number};
use crate::{Args, Results};
use aiod_host::fixtures::Fixture;
use aiod_host::model::{Request, Response, SourceRecord, SyncMode};
use aiod_host::plugin::{Limits, Plugin};
use anyhow::Context as _;
use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

/// The first-party plugins: name, language, component, fixture.
const PLUGINS: &[(&str, &str, &str, &str)] = &[
    (
        "huggingface",
        "Rust",
        "plugins/huggingface.wasm",
        "plugins/huggingface/fixtures/recorded",
    ),
    (
        "openml",
        "Python",
        "plugins/openml.wasm",
        "plugins/openml/fixtures/recorded",
    ),
    (
        "zenodo",
        "JavaScript",
        "plugins/zenodo.wasm",
        "plugins/zenodo/fixtures/recorded",
    ),
];

/// Maps timed per plugin and run (fewer with --smoke).
fn maps(args: &Args) -> usize {
    if args.smoke { 200 } else { 5_000 }
}

pub fn part(args: &Args, root: &Path, work: &Path, results: &mut Results) -> anyhow::Result<()> {
    let cache = work.join("plugins-part-cache");
    // SAFETY: this part runs first, before the bench starts any thread or server; the
    // host's loader reads the variable to find its compiled-plugin cache.
    unsafe { std::env::set_var("AIOD_HOST_CACHE_DIR", &cache) };
    let mut table = Table::new(
        "8. Each first-party plugin in the host",
        &[
            "plugin",
            "language",
            "component KB",
            "cold load ms",
            "warm load ms",
            "records",
            "map µs per record",
            "records/s",
        ],
    );
    for (name, lang, wasm, fixture) in PLUGINS {
        let wasm = root.join(wasm);
        let size = std::fs::metadata(&wasm)
            .with_context(|| format!("{} (run `cargo xtask build-plugins`)", wasm.display()))?
            .len();
        let fixture = Fixture::load(&root.join(fixture))?;
        let (mut cold, mut warm, mut per_record) =
            (Samples::default(), Samples::default(), Samples::default());
        let mut records = 0;
        for _ in 0..args.runs {
            // Cold: nothing cached.
            let _ = std::fs::remove_dir_all(&cache);
            let started = Instant::now();
            drop(Plugin::load(&wasm, Limits::default())?);
            cold.push(started.elapsed().as_secs_f64() * 1e3);
            let started = Instant::now();
            let mut plugin = Plugin::load(&wasm, Limits::default())?;
            warm.push(started.elapsed().as_secs_f64() * 1e3);

            let listed = list(&mut plugin, &fixture)?;
            let answered: Vec<(SourceRecord, Vec<(Request, Response)>)> = listed
                .into_iter()
                .map(|r| {
                    let answers = r
                        .follow_ups
                        .iter()
                        .map(|q| (q.clone(), fixture.respond(q)))
                        .collect();
                    (r, answers)
                })
                .collect();
            let platform = plugin.info().platform.clone();
            // Only records that map to assets are timed: a skip (e.g. Zenodo's records that
            // are not datasets) costs next to nothing and would flatter the figure.
            let mut answered = answered;
            answered.retain(|(record, answers)| {
                matches!(plugin.map_record(&platform, record, answers), Ok(Ok(_)))
            });
            anyhow::ensure!(!answered.is_empty(), "{name}'s fixture maps no record");
            records = answered.len();
            let reps = maps(args).div_ceil(answered.len());
            let started = Instant::now();
            for _ in 0..reps {
                for (record, answers) in &answered {
                    black_box(plugin.map_record(&platform, record, answers)?)
                        .map_err(|e| anyhow::anyhow!("{name} refused {}: {e:?}", record.label))?;
                }
            }
            let maps = (reps * answered.len()) as f64;
            per_record.push(started.elapsed().as_secs_f64() * 1e6 / maps);
        }
        let rate = Samples(per_record.0.iter().map(|us| 1e6 / us).collect());
        table.row(vec![
            name.to_string(),
            lang.to_string(),
            number(size as f64 / 1e3, 0),
            cold.show(0),
            warm.show(1),
            records.to_string(),
            per_record.show(1),
            rate.show(0),
        ]);
    }
    table.note(format!(
        "Median (min–max) of {} runs. Cold load: Plugin::load with an empty compiled-plugin \
         cache (read, check, compile, store the compiled code, instantiate, info, answer \
         rules); warm load: the same with the compiled code cached. map: map-record (as the \
         host calls it, limits and all) on each record of the plugin's fixture that maps to \
         assets (records: how many), with the fixture's answers to its follow-ups, about {} \
         calls per run.",
        args.runs,
        maps(args)
    ));
    results.add(table);
    Ok(())
}

/// The records the plugin lists from its fixture in `all` mode, following its pages.
fn list(plugin: &mut Plugin, fixture: &Fixture) -> anyhow::Result<Vec<SourceRecord>> {
    let platform = plugin.info().platform.clone();
    let mut todo = plugin.start(&platform, &SyncMode::All)?;
    let mut out = Vec::new();
    while let Some(request) = todo.pop() {
        let page = plugin.handle_page(
            &platform,
            &SyncMode::All,
            &request,
            &fixture.respond(&request),
        )?;
        out.extend(page.records);
        todo.extend(page.next);
        anyhow::ensure!(out.len() < 100_000, "the fixture's listing does not end");
    }
    Ok(out)
}
