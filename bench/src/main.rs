//! `aiod-bench`: measures the release `aiod-host` as a black box against the local stand-ins.
//!
//! 1. Requests per dataset, counted by the servers: first full sync, no-change re-sync, re-sync
//!    with 1% changed.
//! 2. Time under rate limits: a fixed-window budget on each Hugging Face endpoint and the AIoD
//!    catalogue's service times, both scaled down; actual time against the ideal.
//! 3. Unthrottled throughput and peak memory at several dataset counts, and the servers alone.
//! 4. The Hugging Face mapping natively and inside the component; plugin compile and load times.
//! 5. The payload store (`payload.rs`): a plugin swap followed by a sync of unchanged datasets;
//! 6. `remap` and `plugin diff --state` over every stored record; 7. the state's size.
//!
//! `cargo xtask bench [ARGS]` builds everything and runs it; `--smoke` is the seconds-long CI run.

mod host;
mod mapping;
mod payload;
mod plugins;
mod raw;
mod report;
mod servers;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use clap::{Parser, ValueEnum};

use host::Host;
use report::{Samples, Table, number, verdict};
use servers::{Counts, Servers, Setup};

/// Benchmarks of aiod-host against the local Hugging Face, AIoD and Keycloak stand-ins.
#[derive(Parser, Debug, Clone)]
#[command(version)]
struct Args {
    /// Small dataset counts and one run of everything: a few seconds, for CI.
    #[arg(long)]
    smoke: bool,
    /// Runs of the cheap comparisons (mapping, load times).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Runs of the expensive ones (time under limits, throughput, servers alone).
    #[arg(long, default_value_t = 3)]
    big_runs: usize,
    /// Generated dataset counts of the unthrottled throughput runs, `--big-runs` runs each.
    #[arg(long, value_delimiter = ',', default_values_t = [10_000, 100_000])]
    sizes: Vec<usize>,
    /// More dataset counts of the throughput runs, one run each (500,000 takes about 3 minutes
    /// and 4 GB of memory for the local AIoD's catalogue); `--sizes-once 0` for none.
    #[arg(long, value_delimiter = ',', default_values_t = [500_000])]
    sizes_once: Vec<usize>,
    /// Generated datasets of the request-count runs.
    #[arg(long, default_value_t = 10_000)]
    counts_n: usize,
    /// Hugging Face listing page sizes of the request-count runs: the stand-in answers at most
    /// this many per page (the plugin asks for 1,000, the most the Hub gives).
    #[arg(long, value_delimiter = ',', default_values_t = [1000])]
    count_page_sizes: Vec<usize>,
    /// Listing page size of the time and throughput runs (at most 1,000, what the plugin asks).
    #[arg(long, default_value_t = 1000)]
    page_size: usize,
    /// Every N-th generated dataset's `/parquet` is a permanent datasets-server error (HTTP 500
    /// `X-Error-Code: ConfigNamesError`); 20 = 5%, 0 = none.
    #[arg(long, default_value_t = 20)]
    failing_parquet_every: usize,
    /// Datasets of the first sync under limits.
    #[arg(long, default_value_t = 1_000)]
    limits_first_n: usize,
    /// Datasets of the re-syncs under limits (the state is filled by an unthrottled sync first).
    #[arg(long, default_value_t = 20_000)]
    limits_resync_n: usize,
    /// The Hugging Face budget under limits, per endpoint: REQUESTS/SECONDS. The default is
    /// Hugging Face's 1,000 per 300 s with a token, 10 times faster (the same rate as 1,000
    /// per 30 s, in smaller windows).
    #[arg(long, default_value = "100/3", value_parser = parse_budget)]
    hf_budget: (u32, Duration),
    /// AIoD service times under limits, in ms: per write, per lookup, per 1,000 datasets of a
    /// listing page. The default is the real catalogue's, as measured (50, 35, 12,400), 10
    /// times faster, like the budget.
    #[arg(long, default_value = "5,3.5,1240", value_parser = parse_times)]
    aiod_times: [Duration; 3],
    /// Generated dataset counts of the payload-store runs (swap, remap, plugin diff, state
    /// size), `--big-runs` runs each.
    #[arg(long, value_delimiter = ',', default_values_t = [10_000])]
    payload_sizes: Vec<usize>,
    /// More dataset counts of the payload-store runs, one run each; `0` for none.
    #[arg(long, value_delimiter = ',', default_values_t = [100_000])]
    payload_sizes_once: Vec<usize>,
    /// Generated datasets of the plugin swap under AIoD's write service time (`--aiod-times`).
    #[arg(long, default_value_t = 2_000)]
    swap_timed_n: usize,
    /// PUTs in flight of the bare client that times the PUTs alone (the host's default
    /// `--upload-concurrency`).
    #[arg(long, default_value_t = 2)]
    upload_concurrency: usize,
    /// Real-sized copies of the six recorded datasets, for the state size per record.
    #[arg(long, default_value_t = 10_000)]
    real_copies: usize,
    /// The plugin swapped in (default: target/test-plugins/huggingface-remapped.wasm, which
    /// renames every generated dataset).
    #[arg(long)]
    remapped_plugin: Option<PathBuf>,
    /// Generated records of the mapping comparison.
    #[arg(long, default_value_t = 2_000)]
    mapping_records: usize,
    /// Only these parts.
    #[arg(long, value_delimiter = ',')]
    only: Vec<Part>,
    /// Also write the tables as markdown to FILE.
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,
    /// The host binary (default: target/release/aiod-host).
    #[arg(long)]
    host: Option<PathBuf>,
    /// The plugin (default: plugins/huggingface.wasm).
    #[arg(long)]
    plugin: Option<PathBuf>,
    /// Where states, logs and the host's HOME go (default: target/bench).
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// An extra flag for every host run, e.g. `--host-arg=--concurrency=16`. Repeatable.
    #[arg(long, allow_hyphen_values = true)]
    host_arg: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Part {
    Counts,
    Limits,
    Throughput,
    Servers,
    Mapping,
    Payload,
    Plugins,
}

/// The memory target: at most 100 MB, and flat in N (within a quarter and
/// 5 MB of the smallest N's).
fn rss_target(results: &mut Results, what: &str, peak: f64, smallest: f64) {
    results.target(
        what,
        "≤ 100 MB, flat in N",
        format!(
            "{} MB at most ({} MB at the smallest N)",
            number(peak, 1),
            number(smallest, 1)
        ),
        peak <= 100.0 && peak <= smallest * 1.25 + 5.0,
    );
}

fn parse_budget(text: &str) -> Result<(u32, Duration), String> {
    let malformed = || format!("expected REQUESTS/SECONDS, got {text:?}");
    let (requests, secs) = text.split_once('/').ok_or_else(malformed)?;
    let requests = requests.parse().map_err(|_| malformed())?;
    let secs: u64 = secs.parse().map_err(|_| malformed())?;
    if secs == 0 || requests == 0 {
        return Err(malformed());
    }
    Ok((requests, Duration::from_secs(secs)))
}

fn parse_times(text: &str) -> Result<[Duration; 3], String> {
    let malformed = || format!("expected WRITE_MS,LOOKUP_MS,LIST_MS_PER_1000, got {text:?}");
    let ms: Vec<f64> = text
        .split(',')
        .map(|t| t.trim().parse::<f64>().map_err(|_| malformed()))
        .collect::<Result<_, _>>()?;
    let ms: [f64; 3] = ms.try_into().map_err(|_| malformed())?;
    if ms.iter().any(|m| !m.is_finite() || *m < 0.0) {
        return Err(malformed());
    }
    Ok(ms.map(|m| Duration::from_secs_f64(m / 1000.0)))
}

impl Args {
    fn smoke(mut self) -> Args {
        self.runs = 1;
        self.big_runs = 1;
        self.sizes = vec![300];
        self.sizes_once = Vec::new();
        self.counts_n = 200;
        self.count_page_sizes = vec![self.page_size];
        self.limits_first_n = 100;
        self.limits_resync_n = 300;
        self.mapping_records = 200;
        self.payload_sizes = vec![200];
        self.payload_sizes_once = Vec::new();
        self.swap_timed_n = 30;
        self.real_copies = 30;
        self
    }

    fn wants(&self, part: Part) -> bool {
        self.only.is_empty() || self.only.contains(&part)
    }
}

/// Everything measured, in print order, and the targets.
struct Results {
    tables: Vec<Table>,
    targets: Table,
}

impl Results {
    fn add(&mut self, table: Table) {
        print!("\n{}", table.text());
        self.tables.push(table);
    }

    /// A target and whether it is met (`None`: not measurable in this run).
    fn target(&mut self, what: &str, target: &str, measured: String, met: impl Into<Option<bool>>) {
        self.targets.row(vec![
            what.to_owned(),
            target.to_owned(),
            measured,
            met.into().map_or("n/a", verdict).to_owned(),
        ]);
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the bench crate lives one level below the workspace root")
        .to_path_buf()
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let args = if args.smoke { args.smoke() } else { args };
    let root = workspace_root();
    let host = Host {
        exe: args
            .host
            .clone()
            .unwrap_or_else(|| root.join("target/release/aiod-host")),
        plugin: args
            .plugin
            .clone()
            .unwrap_or_else(|| root.join("plugins/huggingface.wasm")),
        root: root.clone(),
        work: args
            .work_dir
            .clone()
            .unwrap_or_else(|| root.join("target/bench")),
        extra: args.host_arg.clone(),
    };
    for (what, path) in [("host", &host.exe), ("plugin", &host.plugin)] {
        ensure!(
            path.exists(),
            "the {what} {} is missing: run `cargo xtask bench`, which builds it",
            path.display()
        );
    }
    std::fs::create_dir_all(&host.work)?;

    let started = Instant::now();
    let machine = machine();
    println!("{machine}");
    let mut results = Results {
        tables: Vec::new(),
        targets: Table::new("Targets", &["what", "target", "measured", "verdict"]),
    };
    // First: it sets the host's cache directory for this process, before any thread starts.
    if args.wants(Part::Plugins) {
        plugins::part(&args, &root, &host.work, &mut results)?;
    }
    if args.wants(Part::Mapping) {
        mapping_part(&args, &root, &host, &mut results)?;
    }
    if args.wants(Part::Counts) || args.wants(Part::Limits) || args.wants(Part::Throughput) {
        host.warm_plugin_cache()?;
    }
    if args.wants(Part::Counts) {
        counts_part(&args, &host, &mut results)?;
    }
    if args.wants(Part::Limits) {
        limits_part(&args, &host, &mut results)?;
    }
    if args.wants(Part::Throughput) || args.wants(Part::Servers) {
        throughput_part(&args, &host, &mut results)?;
    }
    if args.wants(Part::Payload) {
        payload::part(&args, &root, &host, &mut results)?;
    }
    let targets = results.targets.clone();
    results.add(targets);
    let elapsed = started.elapsed();
    let end = format!(
        "measured in {:.0} s; load average at the end: {}",
        elapsed.as_secs_f64(),
        load_average()
    );
    println!("\n{end}");

    if let Some(path) = &args.markdown {
        let command: Vec<String> = std::env::args().collect();
        let mut md = format!(
            "<!-- written by aiod-bench; command: {} -->\n\n{}\n\n",
            command.join(" "),
            machine.replace('\n', "  \n")
        );
        for table in &results.tables {
            md += &table.markdown();
            md.push('\n');
        }
        md += &format!("{end}\n");
        std::fs::write(path, md).with_context(|| format!("writing {}", path.display()))?;
        println!("markdown written to {}", path.display());
    }
    Ok(())
}

/// The machine and its load, for the record.
fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            let kb: u64 = info
                .lines()
                .find(|l| l.starts_with("MemTotal:"))?
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            Some(format!("{:.1} GB", kb as f64 / 1e6))
        })
        .unwrap_or_default();
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(workspace_root())
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default()
    };
    let mut commit = git(&["rev-parse", "--short", "HEAD"]);
    // The binaries are built from the working tree, which may hold uncommitted changes.
    let changed = git(&[
        "status",
        "--porcelain",
        "--",
        "host",
        "plugins",
        "wit",
        "local-servers",
    ]);
    if !changed.is_empty() {
        commit += &format!(
            " with {} uncommitted changes under host/, plugins/, wit/, local-servers/",
            changed.lines().count()
        );
    }
    format!(
        "machine: {cores} cores ({cpu}), {memory} RAM; load average at the start: {}; commit {commit}",
        load_average()
    )
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// 1. Requests per dataset

/// What one counted run asked, by kind.
struct Asked {
    run: &'static str,
    counts: Counts,
}

fn counts_part(args: &Args, host: &Host, results: &mut Results) -> anyhow::Result<()> {
    let n = args.counts_n;
    for &page_size in &args.count_page_sizes {
        let servers = Servers::start(&Setup {
            datasets: n,
            page_size,
            failing_parquet_every: args.failing_parquet_every,
            budget: None,
            aiod_times: None,
        })?;
        let urls = servers.urls();
        let state = host.fresh_state(&format!("counts-{page_size}"))?;
        let budgets = host::unlimited_budgets();
        let mut asked = Vec::new();
        let mut run = |name: &'static str| -> anyhow::Result<host::Run> {
            let before = servers.counts();
            let run = host.run(
                &urls,
                &state,
                &budgets,
                &format!("counts-{page_size}-{name}"),
            )?;
            asked.push(Asked {
                run: name,
                counts: servers::delta(&before, &servers.counts()),
            });
            Ok(run)
        };
        let first = run("first sync")?;
        ensure!(
            first.summary_count("created") == n as u64,
            "first sync: {}",
            first.summary
        );
        run("no-change re-sync")?;
        let changed = servers.change(100, 0, true);
        let changed_run = run("1% changed")?;
        ensure!(
            changed_run.summary_count("updated") == changed as u64,
            "1% changed: {}",
            changed_run.summary
        );
        servers.change(100, 50, false);
        let touched = run("1% new version, same body")?;
        ensure!(
            touched.summary_count("updated") == 0,
            "1% new version: {}",
            touched.summary
        );

        let mut table = Table::new(
            format!(
                "1. Remote requests per dataset (N = {}, Hugging Face page size {page_size})",
                number(n as f64, 0)
            ),
            &[
                "run",
                "HF listing",
                "datasets-server",
                "AIoD list pages",
                "AIoD lookups",
                "AIoD writes",
                "AIoD token + auth test",
                "total per dataset",
                "total requests",
            ],
        );
        for a in &asked {
            let c = |kind: &str| servers::get(&a.counts, kind);
            let writes = c(servers::AIOD_POST) + c(servers::AIOD_PUT) + c(servers::AIOD_DELETE);
            let total: u64 = a.counts.values().sum();
            let per = |count: u64| number(count as f64 / n as f64, 4);
            table.row(vec![
                a.run.to_owned(),
                per(c(servers::HUB_LISTING) + c(servers::HUB_OTHER)),
                per(c(servers::PARQUET) + c(servers::DS_OTHER)),
                per(c(servers::AIOD_LIST)),
                per(c(servers::AIOD_LOOKUP)),
                per(writes),
                per(c(servers::TOKEN) + c(servers::AUTH_TEST)),
                per(total),
                number(total as f64, 0),
            ]);
            // Sanity: a permanent datasets-server error is asked for once, never retried.
            if a.run == "first sync" {
                ensure!(
                    c(servers::PARQUET) == n as u64,
                    "the first sync asked /parquet {} times for {n} datasets",
                    c(servers::PARQUET)
                );
            }
            // Sanity: what a re-sync of unchanged datasets must never ask.
            if a.run == "no-change re-sync" {
                ensure!(
                    c(servers::PARQUET) == 0 && writes == 0 && c(servers::AIOD_LOOKUP) == 0,
                    "a no-change re-sync asked for follow-ups or wrote: {:?}",
                    a.counts
                );
            }
            let target = match a.run {
                "no-change re-sync" => Some(0.01),
                "1% changed" => Some(0.05),
                _ => None,
            };
            if let Some(target) = target {
                let per_dataset = total as f64 / n as f64;
                results.target(
                    &format!("{}, page size {page_size}", a.run),
                    &format!("≤ {target} requests/dataset"),
                    number(per_dataset, 4),
                    per_dataset <= target,
                );
            }
        }
        table.note(format!(
            "Counted by the stand-ins. \"1% changed\": every 100th dataset got a new \
             lastModified, sha and description ({changed} datasets; a PUT each). \"1% new \
             version, same body\": another 1% got a new lastModified and sha only (the \
             mapped body is the same, so nothing is written)."
        ));
        if args.failing_parquet_every > 0 {
            table.note(format!(
                "Every {}th dataset's /parquet is a permanent datasets-server error (HTTP 500, \
                 X-Error-Code: ConfigNamesError): the plugin's answer rules make it final, so \
                 it costs one request and is not asked for again until the dataset changes.",
                args.failing_parquet_every
            ));
        }
        table.note(
            "Counts are deterministic (one run). The state is new before the first sync, \
             so the host pages AIoD's platform listing once (1 request per 1,000 assets; \
             here the catalogue is empty).",
        );
        results.add(table);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// 2. Time under limits

/// The shortest time a client could take for `requests` within `quota` per fixed `window`
/// (the first window's quota is available at once).
fn fixed_window_time(requests: u64, (quota, window): (u32, Duration)) -> f64 {
    if requests == 0 {
        return 0.0;
    }
    ((requests - 1) / u64::from(quota)) as f64 * window.as_secs_f64()
}

/// What a sync needs at least, and how long that takes at best.
struct Need {
    hub: u64,
    parquet: u64,
    writes: u64,
    /// Datasets on AIoD listing pages.
    listed: u64,
}

impl Need {
    /// How many times the slowest budget makes a client wait for a new window.
    fn windows(&self, (quota, _): (u32, Duration)) -> u64 {
        [self.hub, self.parquet]
            .iter()
            .map(|&r| r.saturating_sub(1) / u64::from(quota))
            .max()
            .unwrap_or(0)
    }

    fn ideal(&self, budget: (u32, Duration), [write, _, list]: [Duration; 3]) -> f64 {
        let hub = fixed_window_time(self.hub, budget);
        let parquet = fixed_window_time(self.parquet, budget);
        // One AIoD worker serves every timed request in turn.
        let aiod = self.writes as f64 * write.as_secs_f64()
            + self.listed as f64 / 1000.0 * list.as_secs_f64();
        hub.max(parquet).max(aiod)
    }
}

#[derive(Default)]
struct Timed {
    wall: Samples,
    ratio: Samples,
    ratio_net: Samples,
    in_flight_aiod: Samples,
    counts: Option<Counts>,
}

fn limits_part(args: &Args, host: &Host, results: &mut Results) -> anyhow::Result<()> {
    let (budget, times) = (args.hf_budget, args.aiod_times);
    let throttled = host::budgets(budget.0, budget.1);
    let pages = |n: usize| n.div_ceil(args.page_size).max(1) as u64;
    let (first_n, resync_n) = (args.limits_first_n, args.limits_resync_n);
    let changed_n = resync_n.div_ceil(100) as u64;
    let needs = [
        Need {
            hub: pages(first_n),
            parquet: first_n as u64,
            writes: first_n as u64,
            listed: 0,
        },
        Need {
            hub: pages(resync_n),
            parquet: 0,
            writes: 0,
            listed: 0,
        },
        Need {
            hub: pages(resync_n),
            parquet: changed_n,
            writes: changed_n,
            listed: 0,
        },
    ];
    let ideals = needs.each_ref().map(|need| need.ideal(budget, times));
    let mut startup = Samples::default();
    let mut timed: [Timed; 3] = Default::default();

    for r in 0..args.big_runs {
        // The fixed cost of any run: start, plugin (cached), token, role check, empty listings.
        let servers = Servers::start(&Setup {
            datasets: 0,
            page_size: args.page_size,
            failing_parquet_every: args.failing_parquet_every,
            budget: Some(budget),
            aiod_times: Some(times),
        })?;
        let state = host.fresh_state("limits-empty")?;
        let run = host.run(&servers.urls(), &state, &throttled, "limits-empty")?;
        startup.push(run.wall.as_secs_f64());
        drop(servers);

        let mut measure = |i: usize, servers: &Servers, state: &Path, name: &str| {
            servers.set_budget(Some(budget));
            servers.reset_in_flight();
            let before = servers.counts();
            let run = host.run(&servers.urls(), state, &throttled, &format!("{name}-{r}"))?;
            let wall = run.wall.as_secs_f64();
            let t = &mut timed[i];
            t.wall.push(wall);
            t.ratio.push(wall / ideals[i]);
            t.ratio_net
                .push((wall - startup.median()).max(0.0) / ideals[i]);
            t.in_flight_aiod.push(servers.max_aiod_in_flight() as f64);
            t.counts = Some(servers::delta(&before, &servers.counts()));
            anyhow::Ok(run)
        };

        // First sync of `first_n` under limits.
        let servers = Servers::start(&Setup {
            datasets: first_n,
            page_size: args.page_size,
            failing_parquet_every: args.failing_parquet_every,
            budget: Some(budget),
            aiod_times: Some(times),
        })?;
        let state = host.fresh_state("limits-first")?;
        let run = measure(0, &servers, &state, "limits-first")?;
        ensure!(run.summary_count("created") == first_n as u64);
        drop(servers);

        // Re-syncs of `resync_n`: filled without limits, then measured under them.
        let servers = Servers::start(&Setup {
            datasets: resync_n,
            page_size: args.page_size,
            failing_parquet_every: args.failing_parquet_every,
            budget: None,
            aiod_times: None,
        })?;
        let state = host.fresh_state("limits-resync")?;
        let unlimited = host::unlimited_budgets();
        host.run(&servers.urls(), &state, &unlimited, "limits-fill")?;
        servers.set_aiod_times(Some(times));
        measure(1, &servers, &state, "limits-no-change")?;
        let changed = servers.change(100, 0, true) as u64;
        ensure!(
            changed == changed_n,
            "{changed} changed, {changed_n} expected"
        );
        let run = measure(2, &servers, &state, "limits-changed")?;
        ensure!(run.summary_count("updated") == changed_n);
    }

    let mut table = Table::new(
        format!(
            "2. Time under limits (Hugging Face {} requests per {} s per endpoint; AIoD {} / {} / \
             {} ms per write / lookup / 1,000 listed; page size {})",
            budget.0,
            budget.1.as_secs(),
            number(times[0].as_secs_f64() * 1e3, 1),
            number(times[1].as_secs_f64() * 1e3, 1),
            number(times[2].as_secs_f64() * 1e3, 0),
            args.page_size
        ),
        &[
            "run",
            "N",
            "needed: HF listing / parquet / AIoD writes",
            "asked",
            "ideal s",
            "actual s",
            "actual / ideal",
            "(actual − start-up) / ideal",
            "(actual − ideal) per budget window s",
            "max AIoD requests in flight",
        ],
    );
    let names = ["first sync", "no-change re-sync", "1% changed re-sync"];
    let ns = [first_n, resync_n, resync_n];
    for i in 0..3 {
        let t = &timed[i];
        let asked = t.counts.as_ref().map_or(String::new(), |c| {
            let writes = servers::get(c, servers::AIOD_POST) + servers::get(c, servers::AIOD_PUT);
            format!(
                "{} / {} / {}",
                servers::get(c, servers::HUB_LISTING),
                servers::get(c, servers::PARQUET),
                writes
            )
        });
        table.row(vec![
            names[i].to_owned(),
            number(ns[i] as f64, 0),
            format!(
                "{} / {} / {}",
                needs[i].hub, needs[i].parquet, needs[i].writes
            ),
            asked,
            number(ideals[i], 2),
            t.wall.show(2),
            t.ratio.show(2),
            t.ratio_net.show(2),
            match needs[i].windows(budget) {
                0 => String::new(),
                windows => Samples(
                    t.wall
                        .0
                        .iter()
                        .map(|wall| (wall - ideals[i]) / windows as f64)
                        .collect(),
                )
                .show(2),
            },
            t.in_flight_aiod.show(0),
        ]);
        let measurable = ideals[i] > 0.0;
        results.target(
            &format!("time under limits, {}", names[i]),
            "≤ 1.2 × ideal",
            if measurable {
                format!(
                    "{}× ({}× without start-up)",
                    number(t.ratio.median(), 2),
                    number(t.ratio_net.median(), 2)
                )
            } else {
                format!(
                    "ideal 0 s (all within the first window); {} s",
                    t.wall.show(2)
                )
            },
            measurable.then(|| t.ratio.median() <= 1.2),
        );
    }
    table.row(vec![
        "start-up (empty listing)".to_owned(),
        "0".to_owned(),
        "1 / 0 / 0".to_owned(),
        String::new(),
        "0".to_owned(),
        startup.show(2),
    ]);
    table.note(format!(
        "Median (min–max) of {} runs. Ideal = the slowest of: each Hugging Face endpoint's \
         requests in fixed windows (⌊(R−1)/q⌋·w: the first window's quota at once), and \
         AIoD's single worker doing every write at its service time. The re-syncs' state was \
         filled by an unthrottled first sync.",
        args.big_runs
    ));
    table.note(
        "Start-up: a run against an empty listing (process start, plugin from the \
         compiled-plugin cache, token, role check, the state, the empty listings).",
    );
    table.note(format!(
        "Per budget window: the time over the ideal divided by the number of times the \
         slowest budget makes a client wait for a new window. The servers' RateLimit header \
         gives the reset in whole seconds, rounded up, and the host waits for it: up to 1 s \
         per window, {}% of these {}-s windows but 0.3% of Hugging Face's real 300-s windows.",
        number(100.0 / budget.1.as_secs_f64(), 0),
        budget.1.as_secs()
    ));
    table.note(
        "Max AIoD requests in flight: the most requests the AIoD stand-in (with Keycloak) was \
         handling at once, those queued for its single worker included: the host's upload \
         concurrency, never more.",
    );
    results.add(table);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// 3. Unthrottled throughput, and the servers alone

#[derive(Default)]
struct Throughput {
    first_rate: Samples,
    first_wall: Samples,
    first_rss: Samples,
    first_cpu: Samples,
    first_servers_cpu: Samples,
    again_rate: Samples,
    again_wall: Samples,
    again_rss: Samples,
    again_cpu: Samples,
    again_servers_cpu: Samples,
}

fn throughput_part(args: &Args, host: &Host, results: &mut Results) -> anyhow::Result<()> {
    let mut sizes: Vec<(usize, usize)> = args.sizes.iter().map(|&n| (n, args.big_runs)).collect();
    sizes.extend(args.sizes_once.iter().filter(|&&n| n > 0).map(|&n| (n, 1)));
    let unlimited = host::unlimited_budgets();
    let mut measured: Vec<Throughput> = sizes.iter().map(|_| Throughput::default()).collect();
    let mut raw_rates: Vec<raw::Rates> = Vec::new();
    let raw_n = sizes.first().map_or(0, |s| s.0);
    let max_runs = sizes.iter().map(|s| s.1).max().unwrap_or(0);

    for r in 0..max_runs {
        if args.wants(Part::Servers) && r < args.big_runs {
            eprintln!("servers alone: {raw_n} datasets, run {}", r + 1);
            let servers = Servers::start(&Setup {
                datasets: raw_n,
                page_size: args.page_size,
                failing_parquet_every: args.failing_parquet_every,
                budget: None,
                aiod_times: None,
            })?;
            let rates = raw::measure(&servers.urls(), 8)?;
            eprintln!(
                "  listing {:.3} s ({} pages), /parquet {:.3} s, POST {:.3} s",
                rates.listing.as_secs_f64(),
                rates.pages,
                rates.parquet.as_secs_f64(),
                rates.posts.as_secs_f64()
            );
            raw_rates.push(rates);
        }
        if args.wants(Part::Throughput) {
            for (i, &(n, runs)) in sizes.iter().enumerate() {
                if r >= runs {
                    continue;
                }
                eprintln!("throughput: {n} datasets, run {}", r + 1);
                let servers = Servers::start(&Setup {
                    datasets: n,
                    page_size: args.page_size,
                    failing_parquet_every: args.failing_parquet_every,
                    budget: None,
                    aiod_times: None,
                })?;
                let state = host.fresh_state(&format!("throughput-{n}"))?;
                let first = host.run(
                    &servers.urls(),
                    &state,
                    &unlimited,
                    &format!("tp-{n}-first-{r}"),
                )?;
                ensure!(
                    first.summary_count("created") == n as u64,
                    "{}",
                    first.summary
                );
                let again = host.run(
                    &servers.urls(),
                    &state,
                    &unlimited,
                    &format!("tp-{n}-again-{r}"),
                )?;
                ensure!(
                    again.summary_count("unchanged") == n as u64,
                    "{}",
                    again.summary
                );
                let m = &mut measured[i];
                m.first_wall.push(first.wall.as_secs_f64());
                m.first_rate.push(n as f64 / first.wall.as_secs_f64());
                m.first_rss.push(first.max_rss as f64 / 1e6);
                m.first_cpu.push(first.cpu.as_secs_f64());
                m.first_servers_cpu.push(first.servers_cpu.as_secs_f64());
                m.again_wall.push(again.wall.as_secs_f64());
                m.again_rate.push(n as f64 / again.wall.as_secs_f64());
                m.again_rss.push(again.max_rss as f64 / 1e6);
                m.again_cpu.push(again.cpu.as_secs_f64());
                m.again_servers_cpu.push(again.servers_cpu.as_secs_f64());
            }
        }
    }

    if args.wants(Part::Throughput) {
        let mut table = Table::new(
            format!(
                "3. Unthrottled throughput on loopback (page size {}, concurrency: the host's default)",
                args.page_size
            ),
            &[
                "N",
                "runs",
                "first sync s",
                "first sync datasets/s",
                "no-change re-sync s",
                "re-sync datasets/s",
                "peak RSS first / re-sync MB",
                "CPU s host / servers, first sync",
                "CPU s host / servers, re-sync",
            ],
        );
        for ((n, runs), m) in sizes.iter().zip(&measured) {
            table.row(vec![
                number(*n as f64, 0),
                runs.to_string(),
                m.first_wall.show(1),
                m.first_rate.show(0),
                m.again_wall.show(2),
                m.again_rate.show(0),
                format!("{} / {}", m.first_rss.show(1), m.again_rss.show(1)),
                format!(
                    "{} / {}",
                    number(m.first_cpu.median(), 1),
                    number(m.first_servers_cpu.median(), 1)
                ),
                format!(
                    "{} / {}",
                    number(m.again_cpu.median(), 2),
                    number(m.again_servers_cpu.median(), 2)
                ),
            ]);
            let n = number(*n as f64, 0);
            results.target(
                &format!("first sync with uploads, N = {n}"),
                "≥ 2,000 datasets/s",
                number(m.first_rate.median(), 0),
                m.first_rate.median() >= 2000.0,
            );
            results.target(
                &format!("no-change re-sync, N = {n}"),
                "≥ 20,000 datasets/s",
                number(m.again_rate.median(), 0),
                m.again_rate.median() >= 20_000.0,
            );
        }
        let peak = measured
            .iter()
            .map(|m| m.first_rss.max().max(m.again_rss.max()))
            .fold(0.0, f64::max);
        let smallest = measured
            .first()
            .map_or(f64::NAN, |m| m.first_rss.max().max(m.again_rss.max()));
        rss_target(results, "peak RSS of the host, all N", peak, smallest);
        table.note(
            "Median (min–max). Wall time of the host process, from start to exit (start-up \
             included). Peak RSS: the host process's VmHWM, read every 10 ms until it exits (not wait4's ru_maxrss, which on Linux includes the spawning process's memory). CPU: \
             user + system seconds of the host process / of the bench process meanwhile, which is \
             only the three stand-ins (medians). Both share the machine's cores.",
        );
        results.add(table);
    }

    if args.wants(Part::Servers) && !raw_rates.is_empty() {
        let mut table = Table::new(
            format!(
                "3b. The local servers alone (a bare client, N = {}, 8 requests in flight)",
                number(raw_n as f64, 0)
            ),
            &["phase", "requests/s", "datasets/s"],
        );
        let samples = |f: &dyn Fn(&raw::Rates) -> f64| Samples(raw_rates.iter().map(f).collect());
        table.row(vec![
            "listing pages (one after the other)".to_owned(),
            samples(&|r| r.pages as f64 / r.listing.as_secs_f64()).show(0),
            samples(&|r| r.listing_per_sec()).show(0),
        ]);
        table.row(vec![
            "/parquet".to_owned(),
            samples(&|r| r.datasets as f64 / r.parquet.as_secs_f64()).show(0),
            String::new(),
        ]);
        table.row(vec![
            "AIoD POST".to_owned(),
            samples(&|r| r.datasets as f64 / r.posts.as_secs_f64()).show(0),
            String::new(),
        ]);
        table.row(vec![
            "all of a first sync, phase after phase".to_owned(),
            String::new(),
            samples(&|r| r.first_sync_per_sec()).show(0),
        ]);
        table.note(
            "What the stand-ins serve to a client that does nothing else: the first sync's \
             requests without the host's work. The bodies were mapped beforehand, untimed.",
        );
        results.add(table);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// 4. Mapping cost

fn mapping_part(
    args: &Args,
    root: &Path,
    host: &Host,
    results: &mut Results,
) -> anyhow::Result<()> {
    let wasm = std::fs::read(&host.plugin)
        .with_context(|| format!("reading {}", host.plugin.display()))?;
    let cache_file = host.work.join("huggingface.cwasm");
    let recorded = mapping::recorded(root)?;
    let generated = mapping::generated(args.mapping_records)?;
    // About 10,000 maps per set and run (fewer for --smoke).
    let maps: usize = if args.smoke { 1_000 } else { 10_000 };
    let reps = |records: &[mapping::Record]| maps.div_ceil(records.len()).max(1);

    let mut loads = [Samples::default(), Samples::default(), Samples::default()];
    let sets: [(&str, &[mapping::Record]); 2] =
        [("recorded", &recorded), ("generated", &generated)];
    let mut rates: Vec<[Samples; 3]> = sets.iter().map(|_| Default::default()).collect();
    for _ in 0..args.runs {
        let (load, mut plugin) = mapping::load_times(&wasm, &cache_file)?;
        loads[0].push(load.compile.as_secs_f64() * 1e3);
        loads[1].push(load.deserialize.as_secs_f64() * 1e3);
        loads[2].push(load.instantiate.as_secs_f64() * 1e3);
        for ((_, records), samples) in sets.iter().zip(&mut rates) {
            let r = mapping::compare(&mut plugin, records, reps(records))?;
            samples[0].push(r.native);
            samples[1].push(r.component);
            // Time per record in the component over time per record natively.
            samples[2].push(r.native / r.component);
        }
    }

    let mut table = Table::new(
        "4. Hugging Face mapping per record, one thread",
        &[
            "records",
            "native records/s",
            "component records/s",
            "component time / native time",
        ],
    );
    for ((name, records), samples) in sets.iter().zip(&rates) {
        let ratio = &samples[2];
        table.row(vec![
            format!("{name} ({})", records.len()),
            samples[0].show(0),
            samples[1].show(0),
            ratio.show(2),
        ]);
        results.target(
            &format!("mapping in the component, {name}"),
            "≤ 1.5 × native",
            format!("{}×", number(ratio.median(), 2)),
            ratio.median() <= 1.5,
        );
        results.target(
            &format!("mapping in the component, {name}"),
            "≥ 20,000 records/s per core",
            number(samples[1].median(), 0),
            samples[1].median() >= 20_000.0,
        );
    }
    table.note(format!(
        "Median (min–max) of {} runs; the ratio is measured within each run. Native: \
         huggingface_plugin::mapping::map_dataset. Component: plugins/huggingface.wasm's \
         map-record through wasmtime (the host's engine configuration), with the WIT \
         arguments built per call as the host builds them. Both produce the same bodies \
         (checked).",
        args.runs
    ));
    results.add(table);

    let mut table = Table::new(
        format!(
            "4b. Loading plugins/huggingface.wasm ({} KB)",
            number(wasm.len() as f64 / 1e3, 0)
        ),
        &["step", "ms"],
    );
    table.row(vec![
        "cold: compile (Cranelift)".to_owned(),
        loads[0].show(1),
    ]);
    table.row(vec![
        "warm: load the serialized compiled code (deserialize_file)".to_owned(),
        loads[1].show(2),
    ]);
    table.row(vec!["instantiate".to_owned(), loads[2].show(2)]);
    table.note(format!(
        "Median (min–max) of {} runs, each in a fresh engine. The host keeps the compiled \
         code in its compiled-plugin cache, so every run but the first loads it warm.",
        args.runs
    ));
    results.add(table);
    let warm = loads[1].median() + loads[2].median();
    results.target(
        "plugin warm load (load + instantiate)",
        "≤ 10 ms",
        format!("{} ms", number(warm, 2)),
        warm <= 10.0,
    );
    if warm.is_nan() {
        bail!("no load time measured");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ideal_times() {
        let budget = (100, Duration::from_secs(3));
        assert_eq!(fixed_window_time(0, budget), 0.0);
        assert_eq!(fixed_window_time(100, budget), 0.0);
        assert_eq!(fixed_window_time(101, budget), 3.0);
        assert_eq!(fixed_window_time(1000, budget), 27.0);
        let times = [
            Duration::from_millis(5),
            Duration::ZERO,
            Duration::from_millis(1240),
        ];
        let need = Need {
            hub: 20,
            parquet: 1000,
            writes: 1000,
            listed: 0,
        };
        assert_eq!(need.ideal(budget, times), 27.0);
        assert_eq!(need.windows(budget), 9);
        let need = Need {
            hub: 1,
            parquet: 10,
            writes: 10_000,
            listed: 1000,
        };
        assert!((need.ideal(budget, times) - 51.24).abs() < 1e-9);
    }

    #[test]
    fn parses_flags() {
        assert_eq!(parse_budget("100/3"), Ok((100, Duration::from_secs(3))));
        assert!(parse_budget("100/0").is_err());
        assert_eq!(
            parse_times("5,3.5,1240"),
            Ok([
                Duration::from_millis(5),
                Duration::from_micros(3500),
                Duration::from_millis(1240)
            ])
        );
        assert!(parse_times("5,3").is_err());
        Args::try_parse_from(["aiod-bench", "--smoke", "--only", "counts,mapping"]).unwrap();
        let args = Args::try_parse_from(["aiod-bench", "--only", "payload"]).unwrap();
        assert!(args.wants(Part::Payload) && !args.wants(Part::Counts));
    }
}
