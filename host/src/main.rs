//! `aiod-host`: the command-line entry point. Everything with side effects is
//! wired together here; the logic lives in the modules.

mod aiod;
mod answers;
mod budget;
mod check;
mod cli;
mod config;
mod config_show;
mod deletes;
mod digest;
mod dry_run;
mod endpoints;
#[cfg(test)]
mod extremes;
mod fetch;
mod fixtures;
mod jsondiff;
mod lock;
mod logging;
mod metrics;
mod mode;
mod model;
mod names;
mod pages;
mod plugin;
mod progress;
mod retry;
mod schedule;
mod secret;
mod serve;
mod session;
mod state;
mod sync;
mod transport;

use aiod::upload::ExistingStrategy;
use anyhow::{Context as _, Result};
use session::Session;
use std::process::ExitCode;
use sync::SyncError;

/// How far `--mode since --value auto` reaches back before the last completed
/// sync's start, for clocks and listings that are a little off.
const AUTO_SINCE_OVERLAP: chrono::Duration = chrono::Duration::minutes(10);

fn main() -> ExitCode {
    let cli = cli::parse();
    let result = match cli.command {
        cli::Command::Run(args) => {
            logging::init(&args.common.logs);
            run(args)
        }
        cli::Command::Serve(args) => {
            logging::init(&args.common.logs);
            serve::serve(args)
        }
        cli::Command::Retry(args) => {
            logging::init(&args.logs);
            retry(args)
        }
        cli::Command::Check(args) => {
            logging::init(&args.logs);
            Ok(check::check(args))
        }
        cli::Command::Failures(args) => failures(args),
        cli::Command::Config(cli::ConfigCommand::Show(args)) => {
            logging::init(&args.logs);
            config_show::show(&args)
        }
        cli::Command::Plugin(cli::PluginCommand::Inspect { file, json }) => inspect(&file, json),
        cli::Command::Plugin(cli::PluginCommand::Test { file, fixtures }) => {
            plugin_test(&file, &fixtures)
        }
        cli::Command::Plugin(cli::PluginCommand::Diff { old, new, fixtures }) => {
            plugin_diff(&old, &new, &fixtures)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", secret::redact(&format!("{e:#}")));
            match e.downcast_ref::<SyncError>() {
                Some(SyncError::Paused(_)) => ExitCode::from(3),
                _ => ExitCode::from(2),
            }
        }
    }
}

fn exit_code(summary: &sync::Summary) -> ExitCode {
    eprintln!("summary: {summary}");
    if summary.failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn run(args: cli::RunArgs) -> Result<ExitCode> {
    let wants_auto = args.mode == mode::ModeArg::Since && args.value.as_deref() == Some("auto");
    let early_mode = if wants_auto {
        None
    } else {
        Some(mode::sync_mode(args.mode, args.value.as_deref())?)
    };
    let mut session = Session::open(&args.common)?;
    let mode = match early_mode {
        Some(m) => m,
        // Only read: a dry run must not be refused while a sync holds the state.
        None => auto_since(&state::State::open(&session.config.state()?.value)?)?
        .context(
            "--value auto needs a completed earlier sync in the state; run --mode all (or since a date) first",
        )?,
    };

    if args.dry_run {
        // A dry run keeps no state: it shows every asset, as uploading from scratch would.
        let transport = transport::Live {
            fetcher: &session.fetcher,
            endpoints: &session.config.endpoints,
        };
        let sink = dry_run::DryRun::new(std::io::BufWriter::new(std::io::stdout().lock()));
        let job = sync::Job {
            plugin: &mut session.plugin,
            transport: &transport,
            platform: session.config.platform.value.clone(),
            mode,
            concurrency: usize::from(args.common.net.concurrency),
            max_pages: args.common.net.max_pages,
            limits: session.limits,
            state: None,
            swaps: None,
            stop: None,
            progress: progress::Progress::new(args.common.logs.progress(), None),
        };
        let finished = session.runtime.block_on(sync::run(job, &sink))?;
        sink.finish().context("cannot write to standard output")?;
        write_summary(args.summary_json.as_deref(), &finished.summary)?;
        return Ok(exit_code(&finished.summary));
    }

    let mut state = session.state()?;
    let summary = upload_sync(
        &mut session,
        &args.common,
        &args.upload,
        &mut state,
        mode,
        None,
        None,
    )?;
    write_summary(args.summary_json.as_deref(), &summary)?;
    Ok(exit_code(&summary))
}

/// `--summary-json FILE`: the summary for scripts and dashboards.
fn write_summary(path: Option<&std::path::Path>, summary: &sync::Summary) -> Result<()> {
    if let Some(path) = path {
        let json = serde_json::to_string_pretty(summary)?;
        std::fs::write(path, json + "\n")
            .with_context(|| format!("cannot write the summary to {}", path.display()))?;
    }
    Ok(())
}

/// One sync into AIoD: pre-flight, import of existing assets into a new
/// state, the sync itself, and deletes after a complete `all` pass.
fn upload_sync(
    session: &mut Session,
    common: &cli::CommonArgs,
    upload: &cli::UploadArgs,
    state: &mut state::State,
    mode: model::SyncMode,
    swaps: Option<&std::sync::mpsc::Receiver<plugin::Plugin>>,
    stop: Option<&std::sync::atomic::AtomicBool>,
) -> Result<sync::Summary> {
    let aiod = session.aiod()?;
    state.bind_catalogue(&aiod.catalogue())?;
    let new_state = state.asset_count()? == 0;
    let listing = match upload.existing {
        ExistingStrategy::Listing => true,
        ExistingStrategy::Lookup => false,
        ExistingStrategy::Auto => mode == model::SyncMode::All,
    };
    let platform = session.config.platform.value.clone();
    let asset_types = session.plugin.info().asset_types.clone();
    let runtime = session.runtime.handle().clone();
    runtime
        .block_on(aiod::upload::preflight(&aiod, &platform))
        .context("AIoD authentication is broken")?;
    if new_state && listing {
        // The state is new: learn which assets AIoD already has, in a few large pages.
        let known = runtime
            .block_on(aiod::upload::import_catalogue(
                &aiod,
                &platform,
                &asset_types,
                common.net.max_pages,
                |page| state.import_assets(page),
            ))
            .context("cannot list the assets AIoD already has")?;
        tracing::info!("{known} assets of platform {platform} already in AIoD");
    }
    let sink = aiod::upload::Uploader::new(
        aiod,
        platform.clone(),
        new_state && !listing,
        usize::from(upload.upload_concurrency),
    );
    let transport = transport::Live {
        fetcher: &session.fetcher,
        endpoints: &session.config.endpoints,
    };
    // A full listing is about as long as the last one: the records the state knows.
    let total = match mode {
        model::SyncMode::All => Some(state.record_count()?).filter(|n| *n > 0),
        _ => None,
    };
    let job = sync::Job {
        plugin: &mut session.plugin,
        transport: &transport,
        platform,
        mode: mode.clone(),
        concurrency: usize::from(common.net.concurrency),
        max_pages: common.net.max_pages,
        limits: session.limits,
        state: Some(&mut *state),
        swaps,
        stop,
        progress: progress::Progress::new(common.logs.progress(), total),
    };
    let mut finished = runtime.block_on(sync::run(job, &sink))?;
    let mut deletes = deletes::Deletes {
        aiod: sink.aiod(),
        state,
        plugin: &mut session.plugin,
        transport: &transport,
        platform: &session.config.platform.value,
        policy: deletes::DeletePolicy {
            enabled: !upload.no_delete,
            max_share: upload.max_delete_share,
            allow_mass: upload.allow_mass_delete,
        },
        limit: session.limits.follow_up,
    };
    if let (model::SyncMode::All, Some(pass)) = (&mode, finished.completed_pass) {
        finished.summary.deleted += runtime.block_on(deletes.confirmed_gone(pass))?;
    }
    finished.summary.deleted += runtime.block_on(deletes.skipped(finished.summary.deleted))?;
    metrics::record_outcome("deleted", finished.summary.deleted);
    tracing::info!(
        "waited {:?} for request budgets and retries",
        session.fetcher.waited()
    );
    Ok(finished.summary)
}

/// `since` the start of the last completed pass, less the overlap; `None` before any.
pub fn auto_since(state: &state::State) -> Result<Option<model::SyncMode>> {
    let Some(mark) = state.high_water_mark()? else {
        return Ok(None);
    };
    let mark = chrono::DateTime::parse_from_rfc3339(&mark).context("the stored high-water mark")?;
    let since = (mark.with_timezone(&chrono::Utc) - AUTO_SINCE_OVERLAP)
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    tracing::info!("since {since} (the last completed sync started at {mark})");
    Ok(Some(model::SyncMode::Since(since)))
}

fn retry(args: cli::CommonArgs) -> Result<ExitCode> {
    let mut session = Session::open(&args)?;
    let mut state = session.state()?;
    let letters = state.dead_letters()?;
    if letters.is_empty() {
        eprintln!("no dead letters in {}", state.path().display());
        return Ok(ExitCode::SUCCESS);
    }
    let aiod = session.aiod()?;
    state.bind_catalogue(&aiod.catalogue())?;
    let platform = session.config.platform.value.clone();
    let runtime = session.runtime.handle().clone();
    runtime.block_on(aiod::upload::preflight(&aiod, &platform))?;
    let sink = aiod::upload::Uploader::new(aiod, platform.clone(), false, 1);
    let provenance = session.plugin.provenance();
    let mut summary = sync::Summary::default();
    for letter in letters {
        tracing::info!(
            id = letter.record.id,
            label = letter.record.label,
            "retrying"
        );
        summary.seen += 1;
        let mut batch = state::Batch::default();
        let record = model::SourceRecord {
            id: letter.record.id,
            label: letter.record.label,
            version: letter.record.version,
            data: letter.record.data,
            follow_ups: letter.record.follow_ups,
        };
        let follow_ups = letter
            .follow_ups
            .iter()
            .map(|f| (f.request.clone(), f.response()))
            .collect();
        let answers = session.plugin.answers().clone();
        let ctx = sync::RecordCtx {
            plugin: &mut session.plugin,
            platform: &platform,
            state: Some(&state),
            provenance: &provenance,
            answers: &answers,
        };
        runtime.block_on(sync::process(
            ctx,
            &sink,
            record,
            follow_ups,
            &mut batch,
            &mut summary,
        ))?;
        state.commit_page(None, &[], batch)?;
    }
    Ok(exit_code(&summary))
}

fn inspect(file: &std::path::Path, json: bool) -> Result<ExitCode> {
    let plugin = plugin::Plugin::load(file, plugin::Limits::default())?;
    let i = plugin.inspect();
    if json {
        println!("{}", serde_json::to_string_pretty(&i)?);
        return Ok(ExitCode::SUCCESS);
    }
    let none = |v: &[String]| {
        if v.is_empty() {
            "none".to_string()
        } else {
            v.join(", ")
        }
    };
    println!("name:        {}", i.name);
    println!("platform:    {}", i.platform);
    println!("version:     {}", i.version);
    println!("contract:    {}", i.contract);
    println!("asset types: {}", none(&i.asset_types));
    println!("imports:     {}", none(&i.imports));
    println!("exports:     {}", none(&i.exports));
    println!("digest:      {}", i.digest);
    println!("size:        {} bytes", i.size);
    for e in &i.endpoints {
        let budget = e.budget.map_or(String::new(), |b| {
            format!(
                "; budget {}/{}s ({} with a token)",
                b.requests, b.window_seconds, b.requests_with_token
            )
        });
        let env = e
            .env_override
            .as_deref()
            .map_or(String::new(), |v| format!("; override {v}"));
        let tokens = if e.token_env.is_empty() {
            String::new()
        } else {
            format!("; token from {}", e.token_env.join(" or "))
        };
        println!(
            "endpoint:    {} = {}{env}{budget}{tokens} ({})",
            e.name, e.default_base_url, e.description
        );
    }
    for rule in &i.answer_rules {
        println!("answers:     {rule}");
    }
    println!(
        "deletes:     {}",
        if i.looks_up {
            "after a lookup confirms a record is gone"
        } else {
            "of what two complete passes in a row did not list (the plugin has no lookups)"
        }
    );
    Ok(ExitCode::SUCCESS)
}

fn plugin_test(file: &std::path::Path, dir: &std::path::Path) -> Result<ExitCode> {
    let fixture = fixtures::Fixture::load(dir)?;
    let expected = fixture.expected()?;
    let mut plugin = plugin::Plugin::load(file, plugin::Limits::default())?;
    let actual = fixtures::produce(&mut plugin, &fixture)?;
    let lines = fixtures::compare(&expected, &actual, "expected", &plugin.info().name);
    for line in &lines {
        println!("{line}");
    }
    let differing = lines.iter().filter(|l| !l.starts_with("    ")).count();
    println!(
        "plugin test {}: {} expected assets, {} produced, {differing} differ",
        plugin.describe(),
        expected.len(),
        actual.len()
    );
    Ok(if differing == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn plugin_diff(
    old: &std::path::Path,
    new: &std::path::Path,
    dir: &std::path::Path,
) -> Result<ExitCode> {
    let fixture = fixtures::Fixture::load(dir)?;
    let mut old_plugin = plugin::Plugin::load(old, plugin::Limits::default())?;
    let mut new_plugin = plugin::Plugin::load(new, plugin::Limits::default())?;
    let before = fixtures::produce(&mut old_plugin, &fixture)?;
    let after = fixtures::produce(&mut new_plugin, &fixture)?;
    let (old_name, new_name) = (old_plugin.describe(), new_plugin.describe());
    let lines = fixtures::compare(&before, &after, "OLD", "NEW");
    println!("OLD = {old_name}\nNEW = {new_name}");
    for line in &lines {
        println!("{line}");
    }
    let changed = lines.iter().filter(|l| !l.starts_with("    ")).count();
    println!(
        "{changed} of {} assets would change",
        before.len().max(after.len())
    );
    Ok(ExitCode::SUCCESS)
}

fn failures(args: cli::FailuresArgs) -> Result<ExitCode> {
    let path = config::state_to_read(args.state, args.platform_name.as_deref())?;
    let state = state::State::open(&path)?;
    let letters = state.dead_letters()?;
    for d in &letters {
        if args.json {
            println!(
                "{}",
                serde_json::json!({
                    "id": d.record.id, "label": d.record.label, "version": d.record.version,
                    "stage": d.stage, "error": d.error, "attempts": d.attempts,
                    "failed_at": d.failed_at, "plugin": d.plugin, "record_hash": d.record_hash,
                })
            );
        } else {
            println!(
                "{} ({})\n  stage:    {}\n  error:    {}\n  attempts: {}, last {}\n  plugin:   {}\n",
                d.record.label, d.record.id, d.stage, d.error, d.attempts, d.failed_at, d.plugin
            );
        }
    }
    if !args.json {
        println!("{} dead letter(s) in {}", letters.len(), path.display());
    }
    Ok(ExitCode::SUCCESS)
}
