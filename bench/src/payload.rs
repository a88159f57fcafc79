//! 5–7. The payload store: what the state keeps of each record's last mapping (the listing data
//! and each follow-up's request and answer, compressed), and what it makes cheap.
//!
//! 5. A plugin swap followed by a sync of unchanged datasets: the records are mapped from the
//!    store, so the datasets-server is not asked again, and only the changed bodies are
//!    uploaded. Against the no-change re-sync before it, and against what the swap cost before
//!    the store (every follow-up asked again: here, every dataset's version changed).
//! 6. `remap` (same plugin: nothing to upload; `--dry-run` with the changed plugin) and
//!    `plugin diff OLD NEW --state` over every stored record: records/s and peak memory.
//! 7. The state's size per record, generated and real-sized (the six recorded Hugging Face
//!    datasets, and copies of them), extrapolated to 500,000 real-sized records.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, ensure};
use serde_json::Value;

use crate::host::{self, Host, Run};
use crate::report::{Samples, Table, number};
use crate::servers::{self, Counts, Servers, Setup};
use crate::{Args, Results};

/// How far over the no-change re-sync plus the PUTs alone a swap sync may be and still count as
/// no longer: both times are measured, each with its own spread of about a percent.
const SWAP_TOLERANCE: f64 = 1.02;

/// Records the state-size extrapolation is for.
const EXTRAPOLATED: f64 = 500_000.0;

/// One sync of the swap sequence: its run and what the stand-ins were asked meanwhile.
struct Sync {
    run: Run,
    counts: Counts,
}

impl Sync {
    fn parquet(&self) -> u64 {
        servers::get(&self.counts, servers::PARQUET) + servers::get(&self.counts, servers::DS_OTHER)
    }

    fn puts(&self) -> u64 {
        servers::get(&self.counts, servers::AIOD_PUT)
    }

    fn posts(&self) -> u64 {
        servers::get(&self.counts, servers::AIOD_POST)
    }
}

/// A run of the host with `plugin`'s host, the requests it caused counted.
fn sync(host: &Host, servers: &Servers, state: &Path, name: &str) -> anyhow::Result<Sync> {
    let before = servers.counts();
    let run = host.run(&servers.urls(), state, &host::unlimited_budgets(), name)?;
    Ok(Sync {
        run,
        counts: servers::delta(&before, &servers.counts()),
    })
}

/// The syncs of the swap sequence, in order.
const SYNCS: [&str; 5] = [
    "first sync (fills the state)",
    "no-change re-sync",
    "plugin swapped, datasets unchanged",
    "no-change re-sync",
    "before the store: every version changed, plugin swapped back",
];
/// Which plugin each sync of [`SYNCS`] runs: A (`plugins/huggingface.wasm`) or B (remapped).
const SYNC_PLUGINS: [&str; 5] = ["A", "A", "B", "B", "A"];

/// One command over the stored records.
#[derive(Default)]
struct Command {
    wall: Samples,
    rate: Samples,
    rss: Samples,
    cpu: Samples,
    result: String,
}

impl Command {
    fn push(&mut self, n: usize, m: &host::Measured) {
        let wall = m.wall.as_secs_f64();
        self.wall.push(wall);
        self.rate.push(n as f64 / wall);
        self.rss.push(m.max_rss as f64 / 1e6);
        self.cpu.push(m.cpu.as_secs_f64());
    }
}

/// What the state holds, from `aiod-host status --json` and the file's size.
#[derive(Debug, Clone, Default)]
struct Size {
    records: u64,
    payloads: u64,
    /// zstd-compressed, as stored.
    payload_bytes: u64,
    /// Uncompressed.
    payload_size: u64,
    /// The database file (and its WAL, if the host left one).
    file_bytes: u64,
}

impl Size {
    fn of(host: &Host, state: &Path) -> anyhow::Result<Size> {
        let status = host.status(state)?;
        let count = |key: &str| {
            status[key]
                .as_u64()
                .with_context(|| format!("no {key} in aiod-host status --json: {status}"))
        };
        let records = status["records"]
            .as_array()
            .context("records")?
            .iter()
            .map(|r| r[1].as_u64().unwrap_or(0))
            .sum();
        let file_bytes = ["", "-wal"]
            .iter()
            .map(|suffix| {
                std::fs::metadata(format!("{}{suffix}", state.display())).map_or(0, |m| m.len())
            })
            .sum();
        Ok(Size {
            records,
            payloads: count("payloads")?,
            payload_bytes: count("payload_bytes")?,
            payload_size: count("payload_size")?,
            file_bytes,
        })
    }

    fn per_record(&self, bytes: u64) -> f64 {
        bytes as f64 / self.records.max(1) as f64
    }
}

/// Everything measured at one dataset count.
struct AtSize {
    n: usize,
    runs: usize,
    syncs: [Vec<Sync>; 5],
    remap: Command,
    dry_run: Command,
    diff: Command,
    size: Size,
}

pub fn part(args: &Args, root: &Path, host: &Host, results: &mut Results) -> anyhow::Result<()> {
    let remapped = args
        .remapped_plugin
        .clone()
        .unwrap_or_else(|| root.join("target/test-plugins/huggingface-remapped.wasm"));
    ensure!(
        remapped.exists(),
        "the plugin {} is missing: run `cargo xtask build-plugins` (or `cargo xtask bench`)",
        remapped.display()
    );
    let host_b = Host {
        plugin: remapped.clone(),
        ..host.clone()
    };
    host.warm_plugin_cache()?;
    host_b.warm_plugin_cache()?;

    let mut sizes: Vec<(usize, usize)> = args
        .payload_sizes
        .iter()
        .map(|&n| (n, args.big_runs))
        .collect();
    sizes.extend(
        args.payload_sizes_once
            .iter()
            .filter(|&&n| n > 0)
            .map(|&n| (n, 1)),
    );
    let mut measured = Vec::new();
    for &(n, runs) in &sizes {
        let mut at = AtSize {
            n,
            runs,
            syncs: Default::default(),
            remap: Command::default(),
            dry_run: Command::default(),
            diff: Command::default(),
            size: Size::default(),
        };
        for r in 0..runs {
            swap_and_store(args, host, &host_b, &remapped, &mut at, r)?;
        }
        measured.push(at);
    }
    swap_table(args, &measured, results);
    let timed = timed_swap(args, host, &host_b)?;
    timed_table(args, &timed, results);
    commands_table(&measured, results);
    let real = real_sized(args, root, host)?;
    size_table(&measured, &real, results);
    Ok(())
}

/// One run at `at.n` datasets: the swap sequence, and between its no-change re-sync and the
/// swap, the state's size and the commands over the stored records.
fn swap_and_store(
    args: &Args,
    host: &Host,
    host_b: &Host,
    remapped: &Path,
    at: &mut AtSize,
    r: usize,
) -> anyhow::Result<()> {
    let n = at.n;
    eprintln!("payload store: {n} datasets, run {}", r + 1);
    let servers = Servers::start(&Setup {
        datasets: n,
        page_size: args.page_size,
        failing_parquet_every: args.failing_parquet_every,
        budget: None,
        aiod_times: None,
    })?;
    let state = host.fresh_state(&format!("payload-{n}"))?;
    let name = |what: &str| format!("payload-{n}-{what}-{r}");

    let fill = sync(host, &servers, &state, &name("fill"))?;
    ensure!(
        fill.run.summary_count("created") == n as u64,
        "first sync: {}",
        fill.run.summary
    );
    let again = sync(host, &servers, &state, &name("again-a"))?;
    ensure!(
        again.run.summary_count("unchanged") == n as u64 && again.parquet() == 0,
        "no-change re-sync: {}, {:?}",
        again.run.summary,
        again.counts
    );
    at.size = Size::of(host, &state)?;
    ensure!(
        at.size.records == n as u64 && at.size.payloads == n as u64,
        "{n} records should have {n} stored payloads: {:?}",
        at.size
    );

    // Same plugin: every body unchanged, nothing uploaded, nothing asked of Hugging Face.
    let before = servers.counts();
    let (m, summary) = host.remap(&servers.urls(), &state, false, &name("remap"))?;
    let asked = servers::delta(&before, &servers.counts());
    ensure!(
        summary["seen"] == n as u64
            && summary["unchanged"] == n as u64
            && servers::get(&asked, servers::AIOD_PUT) + servers::get(&asked, servers::AIOD_POST)
                == 0
            && servers::get(&asked, servers::PARQUET) + servers::get(&asked, servers::HUB_LISTING)
                == 0,
        "remap with the same plugin: {summary}, asked {asked:?}"
    );
    at.remap.push(n, &m);
    at.remap.result = format!(
        "seen {}, unchanged {}, updated {}, created {}",
        summary["seen"], summary["unchanged"], summary["updated"], summary["created"]
    );

    // The remapped plugin, dry: every generated body changes, so every one is printed.
    let before = servers.counts();
    let (m, summary) = host_b.remap(&servers.urls(), &state, true, &name("remap-dry"))?;
    let asked = servers::delta(&before, &servers.counts());
    ensure!(
        m.stdout_lines == n as u64 && asked.is_empty(),
        "remap --dry-run with the remapped plugin printed {} lines for {n} records and asked \
         {asked:?}: {summary}",
        m.stdout_lines
    );
    at.dry_run.push(n, &m);
    at.dry_run.result = format!("{} lines", m.stdout_lines);

    let m = host.plugin_diff(remapped, &state, &name("diff"))?;
    let first = m.stdout_head.lines().find(|l| l.contains(" records: "));
    let expected = format!("{n} records: {n} assets would change");
    ensure!(
        m.status.code() == Some(1) && first.is_some_and(|l| l.starts_with(&expected)),
        "plugin diff: exit {:?}, {first:?}, expected {expected:?}",
        m.status.code()
    );
    at.diff.push(n, &m);
    at.diff.result = first.unwrap_or_default().to_owned();

    let swap = sync(host_b, &servers, &state, &name("swap-b"))?;
    ensure!(
        swap.run.summary_count("updated") == n as u64,
        "the swapped plugin changes every generated body: {}",
        swap.run.summary
    );
    let again_b = sync(host_b, &servers, &state, &name("again-b"))?;
    ensure!(
        again_b.run.summary_count("unchanged") == n as u64,
        "{}",
        again_b.run.summary
    );
    // The cost of a swap without the store: every follow-up asked again, every body uploaded.
    ensure!(servers.change(1, 0, false) == n);
    let refetch = sync(host, &servers, &state, &name("refetch-a"))?;
    ensure!(
        refetch.run.summary_count("updated") == n as u64 && refetch.parquet() == n as u64,
        "every version changed, plugin swapped back: {}, {:?}",
        refetch.run.summary,
        refetch.counts
    );
    for (i, s) in [fill, again, swap, again_b, refetch]
        .into_iter()
        .enumerate()
    {
        at.syncs[i].push(s);
    }
    Ok(())
}

fn samples(syncs: &[Sync], f: impl Fn(&Sync) -> f64) -> Samples {
    Samples(syncs.iter().map(f).collect())
}

/// The same in every run (request counts are deterministic); else every value.
fn same(values: impl IntoIterator<Item = u64>) -> String {
    let mut values: Vec<u64> = values.into_iter().collect();
    values.dedup();
    values
        .iter()
        .map(|v| number(*v as f64, 0))
        .collect::<Vec<_>>()
        .join(" / ")
}

fn swap_table(args: &Args, measured: &[AtSize], results: &mut Results) {
    let mut table = Table::new(
        "5. Plugin swap, then a sync of unchanged datasets (loopback, no service times)",
        &[
            "N",
            "sync",
            "plugin",
            "datasets-server requests",
            "AIoD PUTs / POSTs",
            "s",
            "datasets/s",
            "peak RSS MB",
        ],
    );
    for at in measured {
        for (i, syncs) in at.syncs.iter().enumerate() {
            table.row(vec![
                number(at.n as f64, 0),
                SYNCS[i].to_owned(),
                SYNC_PLUGINS[i].to_owned(),
                same(syncs.iter().map(Sync::parquet)),
                format!(
                    "{} / {}",
                    same(syncs.iter().map(Sync::puts)),
                    same(syncs.iter().map(Sync::posts))
                ),
                samples(syncs, |s| s.run.wall.as_secs_f64()).show(2),
                samples(syncs, |s| at.n as f64 / s.run.wall.as_secs_f64()).show(0),
                samples(syncs, |s| s.run.max_rss as f64 / 1e6).show(1),
            ]);
        }
    }
    let runs: Vec<String> = measured
        .iter()
        .map(|at| format!("{} at N = {}", at.runs, number(at.n as f64, 0)))
        .collect();
    table.note(format!(
        "Median (min–max) of the runs ({}). A = plugins/huggingface.wasm, B = \
         target/test-plugins/huggingface-remapped.wasm, which maps like A except that every \
         generated dataset gets another name, so every body changes. Request counts are the \
         stand-ins'. Every {}th dataset's /parquet is a permanent error (as in section 1).",
        runs.join(", "),
        args.failing_parquet_every,
    ));
    table.note(
        "\"before the store\": the same swap as the host made it before it kept payloads: a new \
         plugin (here back to A) and every dataset's /parquet asked again (here because every \
         dataset got a new sha and lastModified, same description), every body uploaded.",
    );
    results.add(table);

    let mut table = Table::new(
        "5a. The swap sync against the no-change re-sync and against the swap before the store",
        &[
            "N",
            "runs",
            "swap / no-change re-sync",
            "swap / swap before the store",
            "(swap − no-change) per changed body µs",
            "first sync per dataset µs",
        ],
    );
    for at in measured {
        let [fill, again, swap, _, refetch] = &at.syncs;
        let per_run = |f: &dyn Fn(usize) -> f64| Samples((0..swap.len()).map(f).collect());
        let wall = |syncs: &[Sync], r: usize| syncs[r].run.wall.as_secs_f64();
        let ratio = per_run(&|r| wall(swap, r) / wall(again, r));
        let versus = per_run(&|r| wall(swap, r) / wall(refetch, r));
        let per_body = per_run(&|r| (wall(swap, r) - wall(again, r)) / at.n as f64 * 1e6);
        let first = per_run(&|r| wall(fill, r) / at.n as f64 * 1e6);
        table.row(vec![
            number(at.n as f64, 0),
            at.runs.to_string(),
            ratio.show(2),
            versus.show(2),
            per_body.show(0),
            first.show(0),
        ]);
        let parquet: u64 = swap.iter().map(Sync::parquet).max().unwrap_or(0);
        let puts: u64 = swap.iter().map(Sync::puts).min().unwrap_or(0);
        results.target(
            &format!("swap sync, N = {}", number(at.n as f64, 0)),
            "0 datasets-server requests",
            format!(
                "{} (before the store: {})",
                number(parquet as f64, 0),
                same(refetch.iter().map(Sync::parquet))
            ),
            parquet == 0,
        );
        results.target(
            &format!("swap sync, N = {}", number(at.n as f64, 0)),
            "a PUT per changed body (N)",
            number(puts as f64, 0),
            puts == at.n as u64,
        );
    }
    table.note(
        "Ratios are taken within each run. (swap − no-change) per changed body: what the host \
         spends per record to map it from the store (decompress, plugin call) and upload it \
         (validation, fingerprint, PUT, state), over a no-change re-sync; the stand-ins answer \
         at once here, so this is the host's own cost. The first sync's time per dataset (a \
         /parquet, a map and a POST each) is shown for scale.",
    );
    results.add(table);
}

/// The swap sync with AIoD's write service time, where the PUTs cost what they cost.
#[derive(Default)]
struct Timed {
    n: usize,
    write: Duration,
    again: Samples,
    swap: Samples,
    nominal: Samples,
    nominal_ratio: Samples,
    puts_alone: Samples,
    ideal: Samples,
    ratio: Samples,
    parquet: Vec<u64>,
    puts: Vec<u64>,
}

fn timed_swap(args: &Args, host: &Host, host_b: &Host) -> anyhow::Result<Timed> {
    let n = args.swap_timed_n;
    let times = args.aiod_times;
    let mut t = Timed {
        n,
        write: times[0],
        ..Timed::default()
    };
    for r in 0..args.big_runs {
        eprintln!(
            "payload store: swap under AIoD's service times, {n} datasets, run {}",
            r + 1
        );
        let servers = Servers::start(&Setup {
            datasets: n,
            page_size: args.page_size,
            failing_parquet_every: args.failing_parquet_every,
            budget: None,
            aiod_times: None,
        })?;
        let state = host.fresh_state("payload-timed")?;
        let fill = sync(host, &servers, &state, &format!("payload-timed-fill-{r}"))?;
        ensure!(fill.run.summary_count("created") == n as u64);
        servers.set_aiod_times(Some(times));
        let again = sync(host, &servers, &state, &format!("payload-timed-again-{r}"))?;
        ensure!(again.run.summary_count("unchanged") == n as u64);
        let swap = sync(host_b, &servers, &state, &format!("payload-timed-swap-{r}"))?;
        ensure!(swap.run.summary_count("updated") == n as u64);
        // The same number of PUTs by a bare client, as many at once as the host uploads.
        let puts_alone = crate::raw::puts(
            &servers.urls(),
            servers.aiod.assets(),
            args.upload_concurrency,
        )?
        .as_secs_f64();
        let again_s = again.run.wall.as_secs_f64();
        let swap_s = swap.run.wall.as_secs_f64();
        let nominal = again_s + swap.puts() as f64 * times[0].as_secs_f64();
        let ideal = again_s + puts_alone;
        t.again.push(again_s);
        t.swap.push(swap_s);
        t.nominal.push(nominal);
        t.nominal_ratio.push(swap_s / nominal);
        t.puts_alone.push(puts_alone);
        t.ideal.push(ideal);
        t.ratio.push(swap_s / ideal);
        t.parquet.push(swap.parquet());
        t.puts.push(swap.puts());
    }
    Ok(t)
}

fn timed_table(args: &Args, t: &Timed, results: &mut Results) {
    let ms = t.write.as_secs_f64() * 1e3;
    let mut table = Table::new(
        format!(
            "5b. Plugin swap with AIoD's write service time ({} ms per write, one worker; N = {})",
            number(ms, 1),
            number(t.n as f64, 0)
        ),
        &[
            "runs",
            "no-change re-sync s",
            "swap sync s",
            "the PUTs alone s",
            "swap / (no-change + PUTs alone)",
            "no-change + PUTs × nominal write time s",
            "swap / (no-change + PUTs × nominal)",
            "datasets-server requests",
            "AIoD PUTs",
        ],
    );
    table.row(vec![
        args.big_runs.to_string(),
        t.again.show(2),
        t.swap.show(2),
        t.puts_alone.show(2),
        t.ratio.show(3),
        t.nominal.show(2),
        t.nominal_ratio.show(3),
        same(t.parquet.iter().copied()),
        same(t.puts.iter().copied()),
    ]);
    table.note(format!(
        "Median (min–max) of {} runs; ratios within each run. The AIoD stand-in serves one \
         request at a time and takes the write time for each PUT (the real catalogue's ≈50 ms, \
         10 times faster, as in section 2); the state was filled without service times. The \
         PUTs alone: the same number of PUTs by a bare client, {} at once (the host's upload \
         concurrency), timed on the same stand-in after the swap: what the catalogue takes for \
         them, its timer's rounding included (a nominal 5 ms sleep takes longer). The \
         requirement: the swap sync takes no longer than the no-change re-sync plus the PUTs \
         of the changed bodies (ratio ≤ 1; the verdict allows 1.02, as both are measured).",
        args.big_runs, args.upload_concurrency
    ));
    results.add(table);
    results.target(
        "swap sync under AIoD's write time",
        "≤ no-change re-sync + the PUTs alone (1.02×: both are measured)",
        format!("{}×", number(t.ratio.median(), 3)),
        t.ratio.median() <= SWAP_TOLERANCE,
    );
}

fn commands_table(measured: &[AtSize], results: &mut Results) {
    let mut table = Table::new(
        "6. remap and plugin diff over every stored record",
        &[
            "N",
            "runs",
            "command",
            "s",
            "records/s",
            "peak RSS MB",
            "CPU s",
            "result",
        ],
    );
    for at in measured {
        for (what, c) in [
            (
                "remap --plugin A (same plugin: nothing to upload)",
                &at.remap,
            ),
            (
                "remap --plugin B --dry-run (every body printed)",
                &at.dry_run,
            ),
            ("plugin diff A B --state", &at.diff),
        ] {
            table.row(vec![
                number(at.n as f64, 0),
                at.runs.to_string(),
                what.to_owned(),
                c.wall.show(2),
                c.rate.show(0),
                c.rss.show(1),
                number(c.cpu.median(), 2),
                c.result.clone(),
            ]);
        }
        let n = number(at.n as f64, 0);
        results.target(
            &format!("remap without uploads, N = {n}"),
            "≥ 10,000 records/s",
            number(at.remap.rate.median(), 0),
            at.remap.rate.median() >= 10_000.0,
        );
        results.target(
            &format!("plugin diff --state, N = {n}"),
            "≥ 10,000 records/s",
            number(at.diff.rate.median(), 0),
            at.diff.rate.median() >= 10_000.0,
        );
    }
    let peak = measured
        .iter()
        .map(|at| at.remap.rss.max())
        .fold(0.0, f64::max);
    let smallest = measured.first().map_or(f64::NAN, |at| at.remap.rss.max());
    crate::rss_target(results, "remap peak RSS, all N", peak, smallest);
    table.note(
        "Median (min–max); wall time of the host process from start to exit, start-up \
         included; records/s = N / that time. Each on the state of section 5's first sync and \
         no-change re-sync (mapped by A). remap uploads to the AIoD stand-in (token and role \
         check only here) and asks Hugging Face nothing; the dry run's standard output is \
         read and its lines counted by the bench; plugin diff's report is read.",
    );
    results.add(table);
}

/// The recorded real datasets: the six, and many copies.
struct Real {
    label: String,
    size: Size,
}

fn real_sized(args: &Args, root: &Path, host: &Host) -> anyhow::Result<Vec<Real>> {
    let recorded: Vec<(Value, u16, String)> = crate::mapping::recorded(root)?
        .into_iter()
        .map(|r| {
            let dataset: Value = serde_json::from_str(&r.found.data)?;
            let body = String::from_utf8(r.parquet_body)?;
            anyhow::Ok((dataset, r.parquet_status, body))
        })
        .collect::<anyhow::Result<_>>()?;
    let mut out = Vec::new();
    // The six alone, then with the copies (none with `--real-copies 0`).
    let sets = std::iter::once(0).chain(Some(args.real_copies).filter(|&c| c > 0));
    for copies in sets {
        let servers =
            Servers::start_with(|| servers::recorded_with_copies(&recorded, copies), None)?;
        let state = host.fresh_state(&format!("payload-real-{copies}"))?;
        let name = format!("payload-real-{copies}");
        let run = host.run(&servers.urls(), &state, &host::unlimited_budgets(), &name)?;
        let n = (recorded.len() + copies) as u64;
        ensure!(
            run.summary_count("seen") == n,
            "recorded and {copies} copies: {}",
            run.summary
        );
        let size = Size::of(host, &state)?;
        out.push(Real {
            label: if copies == 0 {
                "recorded real datasets".to_owned()
            } else {
                format!("recorded + {} real-sized copies", number(copies as f64, 0))
            },
            size,
        });
    }
    Ok(out)
}

fn size_table(measured: &[AtSize], real: &[Real], results: &mut Results) {
    let mut table = Table::new(
        "7. State size per record",
        &[
            "records",
            "N",
            "stored payloads",
            "payload bytes per record, zstd",
            "uncompressed per record",
            "compression",
            "state file bytes per record",
            "state file MB",
        ],
    );
    let mut rows: Vec<(String, &Size)> = measured
        .iter()
        .map(|at| ("generated".to_owned(), &at.size))
        .collect();
    rows.extend(real.iter().map(|r| (r.label.clone(), &r.size)));
    for (label, s) in &rows {
        table.row(vec![
            label.clone(),
            number(s.records as f64, 0),
            number(s.payloads as f64, 0),
            number(s.per_record(s.payload_bytes), 0),
            number(s.per_record(s.payload_size), 0),
            format!(
                "{}×",
                number(s.payload_size as f64 / s.payload_bytes.max(1) as f64, 1)
            ),
            number(s.per_record(s.file_bytes), 0),
            number(s.file_bytes as f64 / 1e6, 1),
        ]);
    }
    // 500,000 real-sized records: the file per record of the many real-sized copies; and, from
    // the six alone, their payload per record plus what else the generated state keeps per
    // record (its file per record less its payload per record).
    let copies = real.iter().find(|r| r.size.records > 6);
    let six = real.iter().find(|r| r.size.records <= 6);
    let largest = measured.iter().max_by_key(|at| at.n);
    let from_copies = copies.map(|c| c.size.per_record(c.size.file_bytes) * EXTRAPOLATED);
    let from_six = six.zip(largest).map(|(six, g)| {
        (six.size.per_record(six.size.payload_bytes) + g.size.per_record(g.size.file_bytes)
            - g.size.per_record(g.size.payload_bytes))
            * EXTRAPOLATED
    });
    let mb = |b: Option<f64>| b.map_or("–".to_owned(), |b| number(b / 1e6, 0));
    table.note(format!(
        "Read after the host exited (the WAL checkpointed into the file; a WAL left behind \
         would be counted): payloads, their bytes compressed and uncompressed from aiod-host \
         status --json, the file's size from the file system. The generated state after the \
         first sync and a no-change re-sync; the real ones after one sync. The copies are the \
         six recorded datasets again and again, each with its own _id, repo id and sha, and \
         every word of its values (and of its /parquet answer) replaced by random letters of \
         the same length: the state's compression dictionary cannot learn them, and random \
         letters compress worse than the English they replace. The generated datasets draw \
         on a small vocabulary, which the dictionary does learn: their compression flatters. \
         500,000 real-sized records: {} MB from the copies' file size per record; {} MB \
         from the six alone (their payload per record, compressed without a dictionary: six are \
         too few to train one, plus what the generated state keeps per record besides its \
         payloads).",
        mb(from_copies),
        mb(from_six)
    ));
    results.add(table);
    let estimate = from_copies.or(from_six).unwrap_or(f64::NAN);
    results.target(
        "state of 500,000 real-sized records",
        "< 1 GB",
        format!("{} MB (extrapolated)", number(estimate / 1e6, 0)),
        estimate < 1e9,
    );
}
