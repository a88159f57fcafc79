//! The command line.

use crate::aiod::upload::ExistingStrategy;
use crate::config::{Source, Sourced};
use crate::mode::ModeArg;
use crate::schedule::Schedule;
use clap::parser::ValueSource;
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "aiod-host",
    version,
    about = "Keeps the AI-on-Demand (AIoD) catalogue in sync with external platforms.",
    long_about = "Keeps the AI-on-Demand (AIoD) catalogue in sync with external platforms.\n\n\
        All platform knowledge lives in a WebAssembly plugin (e.g. plugins/huggingface.wasm): \
        the plugin plans requests and maps responses; this host performs every request."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run one sync with a plugin.
    Run(RunArgs),
    /// Keep AIoD in sync: incremental syncs on a schedule, a full pass on its own, and the
    /// plugin swapped without a restart when its file changes or on SIGHUP.
    Serve(ServeArgs),
    /// Process the dead letters again (e.g. after a plugin fix), without fetching them again.
    Retry(CommonArgs),
    /// Check configuration, plugin, endpoints, the AIoD token and role, without syncing
    /// anything; exits 1 if any check fails.
    Check(CommonArgs),
    /// List the dead letters: records that failed in the plugin, validation or upload.
    Failures(StateArgs),
    /// Map every stored record again with a plugin, from what its last mapping was made
    /// from (no request to the platform, not even its listing), and upload what changed.
    Remap(RemapArgs),
    /// What a state holds: records, assets, stored payloads, by plugin, and the last passes.
    Status(StateArgs),
    /// Abandon the unfinished passes of a state on purpose: the next sync starts a new pass
    /// from the first page (an abandoned pass deletes nothing).
    ResetPass(StateArgs),
    /// Tools for plugin authors and operators.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// The configuration in effect.
    #[command(subcommand)]
    Config(ConfigCommand),
}

impl Command {
    /// The common arguments of a command that runs a plugin.
    pub fn common_mut(&mut self) -> Option<&mut CommonArgs> {
        match self {
            Command::Run(args) => Some(&mut args.common),
            Command::Serve(args) => Some(&mut args.common),
            Command::Retry(args)
            | Command::Check(args)
            | Command::Config(ConfigCommand::Show(args)) => Some(args),
            Command::Remap(args) => Some(&mut args.common),
            Command::Failures(_)
            | Command::Status(_)
            | Command::ResetPass(_)
            | Command::Plugin(_) => None,
        }
    }
}

/// Parses the command line, and remembers where each common argument's value came from.
pub fn parse() -> Cli {
    try_parse_from(std::env::args_os()).unwrap_or_else(|e| e.exit())
}

/// As `parse`, from `argv`; a wrong command line is an error, not an exit.
pub fn try_parse_from<I, T>(argv: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let mut command = Cli::command();
    let matches = command.try_get_matches_from_mut(argv)?;
    let mut cli = Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut command))?;
    let (mut leaf, mut leaf_command) = (&matches, &command);
    while let Some((name, sub)) = leaf.subcommand() {
        leaf_command = leaf_command
            .find_subcommand(name)
            .expect("clap matched a subcommand it defines");
        leaf = sub;
    }
    if let Some(common) = cli.command.common_mut() {
        common.given = Given::of(leaf, leaf_command);
    }
    Ok(cli)
}

/// Where each value clap took came from, by argument id: its flag or its environment
/// variable. Values left at their defaults are not listed.
#[derive(Debug, Clone, Default)]
pub struct Given(BTreeMap<String, Source>);

impl Given {
    fn of(matches: &ArgMatches, command: &clap::Command) -> Given {
        let sources = command.get_arguments().filter_map(|arg| {
            let id = arg.get_id().as_str();
            let source = match matches.value_source(id)? {
                ValueSource::CommandLine => Source::Flag(format!("--{}", arg.get_long()?)),
                ValueSource::EnvVariable => {
                    Source::Env(arg.get_env()?.to_string_lossy().into_owned())
                }
                _ => return None,
            };
            Some((id.to_string(), source))
        });
        Given(sources.collect())
    }

    pub fn get(&self, id: &str) -> Option<&Source> {
        self.0.get(id)
    }

    /// `value` of the argument `id`, with where it came from.
    pub fn sourced<T: Clone>(&self, id: &str, value: &Option<T>) -> Option<Sourced<T>> {
        let value = value.clone()?;
        let source = self
            .get(id)
            .expect("`parse` notes the source of every value clap takes")
            .clone();
        Some(Sourced { value, source })
    }

    #[cfg(test)]
    pub fn insert(&mut self, id: &str, source: Source) {
        self.0.insert(id.to_string(), source);
    }
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective configuration, each value with where it came from (flag,
    /// environment, config file, env file, default); secrets are masked.
    Show(CommonArgs),
}

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Write a new plugin project (an example platform, its fixture and expected assets,
    /// the SDK vendored) that builds on its own and passes `plugin test` as written.
    New {
        /// The plugin's name: lower-case letters, digits and '-' (also its platform name).
        name: String,
        /// The language to write it in.
        #[arg(long, value_enum)]
        lang: crate::scaffold::Lang,
        /// Where to create the project's folder, NAME [default: the current directory].
        #[arg(long, value_name = "DIR", default_value = ".")]
        dir: PathBuf,
    },
    /// Show a plugin's name, platform, version, contract version, imports, digest and size.
    Inspect {
        /// The plugin component.
        file: PathBuf,
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run a plugin on recorded responses and compare what it produces with the expected
    /// assets, field by field; exits non-zero on any difference.
    Test {
        /// The plugin component.
        file: PathBuf,
        /// A fixture folder (with fixture.json), e.g. plugins/huggingface/fixtures/recorded.
        #[arg(long, value_name = "DIR")]
        fixtures: PathBuf,
    },
    /// Show what replacing plugin OLD by NEW would change in the uploaded bodies, field by
    /// field: on a fixture, or on every record a state keeps (exit 1 when anything changes).
    Diff {
        old: PathBuf,
        new: PathBuf,
        /// A fixture folder (with fixture.json).
        #[arg(
            long,
            value_name = "DIR",
            required_unless_present = "state",
            conflicts_with = "state"
        )]
        fixtures: Option<PathBuf>,
        /// A state database: compare on what each stored record was last mapped from.
        #[arg(long, value_name = "FILE")]
        state: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct StateArgs {
    /// The state database [default: ~/.local/share/aiod-host/<platform>.sqlite].
    #[arg(long, env = "AIOD_HOST_STATE", value_name = "FILE")]
    pub state: Option<PathBuf>,

    /// The platform whose state to read [default: the only platform with a state database
    /// in ~/.local/share/aiod-host/].
    #[arg(
        long,
        env = "PLATFORM_NAME",
        hide_env_values = true,
        value_name = "NAME"
    )]
    pub platform_name: Option<String>,

    /// One JSON object per line instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub common: CommonArgs,

    #[command(flatten)]
    pub upload: UploadArgs,

    /// Time between the starts of two incremental syncs, e.g. 30s, 15m, 1h.
    #[arg(long, default_value = "1h", value_parser = parse_period, value_name = "DURATION")]
    pub every: std::time::Duration,

    /// Start incremental syncs when this cron expression matches instead (UTC; 5 fields, or 6
    /// with seconds first), e.g. "15 * * * *" for a quarter past every hour.
    #[arg(long, value_name = "EXPR", conflicts_with = "every")]
    pub cron: Option<String>,

    /// Time between two full passes (which also delete what the source no longer lists).
    /// The first sync of a service is a full pass.
    #[arg(long, default_value = "24h", value_parser = parse_period, value_name = "DURATION")]
    pub full_every: std::time::Duration,

    /// Start full passes when this cron expression matches instead, e.g. "0 3 * * *".
    #[arg(long, value_name = "EXPR", conflicts_with = "full_every")]
    pub full_cron: Option<String>,

    /// Refuse a new plugin file that fails or skips more than this share of the stored
    /// records the running plugin mapped (judged on their stored payloads before the swap).
    #[arg(long, default_value_t = 0.01, value_name = "SHARE", value_parser = parse_share)]
    pub swap_max_failure_share: f64,

    /// Address for /metrics (Prometheus) and /healthz; port 0 picks a free one, logged as
    /// "status server listening on http://ADDR".
    #[arg(long, default_value = "127.0.0.1:9464", value_name = "ADDR")]
    pub status_addr: std::net::SocketAddr,
}

impl ServeArgs {
    /// The incremental and the full schedule.
    pub fn schedules(&self) -> Result<(Schedule, Schedule), String> {
        let pick = |cron: &Option<String>, every| match cron {
            Some(expr) => Schedule::cron(expr),
            None => Ok(Schedule::Every(every)),
        };
        Ok((
            pick(&self.cron, self.every)?,
            pick(&self.full_cron, self.full_every)?,
        ))
    }
}

/// How a sync writes to AIoD.
#[derive(Debug, Args)]
pub struct UploadArgs {
    /// How to learn which assets AIoD already has when the state is new: page the platform's
    /// listing once, or look each asset up; auto = listing for --mode all, lookups otherwise.
    #[arg(long, value_enum, default_value_t = ExistingStrategy::Auto)]
    pub existing: ExistingStrategy,

    /// Assets per page of that listing. One page of 1,000 real-sized assets took the real
    /// catalogue 9-13 s; a page slower than half of --import-timeout halves the size of the
    /// next, one that times out is asked again at half the size (down to 50).
    #[arg(long, default_value_t = 500, value_name = "N", value_parser = clap::value_parser!(u16).range(50..=1000))]
    pub import_page_size: u16,

    /// The longest silence while waiting for a page of that listing (its own, longer than the
    /// request timeout: the catalogue assembles a page before it sends any of it).
    #[arg(long, default_value = "60s", value_parser = parse_duration, value_name = "DURATION")]
    pub import_timeout: std::time::Duration,

    /// Delete nothing: neither the assets of records that a complete --mode all pass did not
    /// list and the source confirms gone, nor those of records the plugin no longer publishes.
    #[arg(long)]
    pub no_delete: bool,

    /// The largest share of the platform's assets one run may delete without
    /// --allow-mass-delete (a guard against a truncated listing).
    #[arg(long, default_value_t = 0.05, value_name = "SHARE", value_parser = parse_share)]
    pub max_delete_share: f64,

    /// Delete however many assets a complete pass found gone.
    #[arg(long)]
    pub allow_mass_delete: bool,

    /// Records uploaded to AIoD at once. Two hide the network round trip; more do not make a
    /// single-process catalogue write faster (it managed ~20 writes/s alone, 17/s with four
    /// clients), so this also bounds the load on it.
    #[arg(long, default_value_t = 2, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub upload_concurrency: u16,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub common: CommonArgs,

    /// What to sync.
    #[arg(long, value_enum)]
    pub mode: ModeArg,

    /// For --mode since: a date or timestamp (ISO 8601 / RFC 3339; UTC unless it has an
    /// offset), e.g. 2024-01-01, or `auto`: from the start of the last completed sync, less
    /// a small overlap. For --mode id: the dataset's platform id, e.g.
    /// acronym_identification. Not allowed with --mode all.
    #[arg(long, value_name = "V")]
    pub value: Option<String>,

    /// Print one JSON line per asset that would be uploaded on standard output (logs go to
    /// standard error) and upload nothing.
    #[arg(long)]
    pub dry_run: bool,

    #[command(flatten)]
    pub upload: UploadArgs,

    /// Also write the run's summary as JSON to FILE (seen, created, updated, unchanged,
    /// skipped, failed, deleted, pages, warnings).
    #[arg(long, value_name = "FILE")]
    pub summary_json: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RemapArgs {
    #[command(flatten)]
    pub common: CommonArgs,

    /// Print one JSON line per asset whose body would change on standard output, and upload
    /// and write nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Records uploaded to AIoD at once.
    #[arg(long, default_value_t = 2, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub upload_concurrency: u16,
}

/// What every command that runs a plugin takes.
#[derive(Debug, Args)]
pub struct CommonArgs {
    /// The plugin component to run, e.g. plugins/huggingface.wasm.
    #[arg(long, value_name = "FILE")]
    pub plugin: PathBuf,

    /// The state database: cursor, what was uploaded, dead letters
    /// [default: ~/.local/share/aiod-host/<platform>.sqlite].
    #[arg(long, env = "AIOD_HOST_STATE", value_name = "FILE")]
    pub state: Option<PathBuf>,

    #[command(flatten)]
    pub limits: PluginLimitArgs,

    #[command(flatten)]
    pub aiod: AiodArgs,

    #[command(flatten)]
    pub net: NetArgs,

    /// Config file: the aiondemand SDK's config.toml, optionally with an [endpoints] table
    /// of plugin endpoint base URLs [default: ~/.aiod/config.toml if it exists].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Base URL of a plugin endpoint, e.g. --endpoint hub=http://127.0.0.1:8900. Overrides the
    /// endpoint's environment variable (the plugin's endpoint variables, see `aiod-host plugin
    /// inspect`), the config file and the plugin's default. Repeatable.
    #[arg(long, value_name = "NAME=URL", value_parser = parse_endpoint)]
    pub endpoint: Vec<(String, String)>,

    /// AIoD platform name put on every asset [default: PLATFORM_NAME from the env file, else the
    /// plugin's platform].
    #[arg(
        long,
        env = "PLATFORM_NAME",
        hide_env_values = true,
        value_name = "NAME"
    )]
    pub platform_name: Option<String>,

    #[command(flatten)]
    pub logs: LogArgs,

    #[arg(skip)]
    pub given: Given,
}

/// What a plugin may use; a call that exceeds a limit costs only its record.
#[derive(Debug, Args)]
pub struct PluginLimitArgs {
    /// CPU time of one plugin call, in milliseconds (1 to 3,600,000).
    #[arg(long, default_value_t = 5000, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..=3_600_000))]
    pub plugin_cpu_ms: u64,

    /// Memory of one plugin instance, in MiB (1 to 65,536).
    #[arg(long, default_value_t = 512, value_name = "MIB", value_parser = clap::value_parser!(u32).range(1..=65_536))]
    pub plugin_memory_mib: u32,

    /// Size of what one plugin call returns, in MiB (1 to 4,096).
    #[arg(long, default_value_t = 64, value_name = "MIB", value_parser = clap::value_parser!(u32).range(1..=4_096))]
    pub plugin_output_mib: u32,

    /// Compile the plugin at every start instead of keeping its compiled code in the
    /// compiled-plugin cache (`$AIOD_HOST_CACHE_DIR`, else `~/.cache/aiod-host/plugins`).
    #[arg(long)]
    pub no_plugin_cache: bool,
}

impl PluginLimitArgs {
    pub fn limits(&self) -> crate::plugin::Limits {
        crate::plugin::Limits {
            cpu: std::time::Duration::from_millis(self.plugin_cpu_ms),
            memory: mib(self.plugin_memory_mib),
            output: mib(self.plugin_output_mib),
        }
    }
}

/// Listing pages per pass unless `--max-pages` says otherwise.
pub const DEFAULT_MAX_PAGES: u64 = 100_000;

/// Requests: how many at once, how fast, how persistent.
#[derive(Debug, Args)]
pub struct NetArgs {
    /// The most listing pages one pass may have; a listing that goes on stops there with an
    /// error (the default is far above the pages of a full listing of a large platform).
    #[arg(long, default_value_t = DEFAULT_MAX_PAGES, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_pages: u64,

    /// The largest listing page (and AIoD or Keycloak answer) read, in MiB; a larger one
    /// fails its request.
    #[arg(long, default_value_t = 64, value_name = "MIB", value_parser = clap::value_parser!(u32).range(1..=4_096))]
    pub max_listing_mib: u32,

    /// The largest follow-up (or lookup) answer read, in MiB; a larger one costs its record.
    #[arg(long, default_value_t = 16, value_name = "MIB", value_parser = clap::value_parser!(u32).range(1..=4_096))]
    pub max_follow_up_mib: u32,

    /// Follow-up requests (the plugin's further requests about a record) in flight at once.
    #[arg(long, default_value_t = 8, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,

    /// Request budget of a plugin endpoint, e.g. --budget hub=1000/300 (requests per seconds);
    /// overrides the budget the plugin documents and the quota the server advertises in its
    /// RateLimit-Policy header (which otherwise replaces the plugin's). Repeatable.
    #[arg(long, value_name = "NAME=N/SECS", value_parser = parse_budget)]
    pub budget: Vec<(String, (u32, std::time::Duration))>,

    /// Retries of a request that failed transiently (408, 429, 5xx, timeouts, connection
    /// errors), unless the plugin says the answer is final or one for the next pass.
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub retries: u32,

    /// First backoff between retries, doubled each time (with jitter), in milliseconds.
    #[arg(long, default_value_t = 1000, value_name = "MS")]
    pub backoff_ms: u64,

    /// The longest single wait (Retry-After, rate-limit reset, backoff) in seconds; a server
    /// asking for more stops the sync cleanly with its cursor saved.
    #[arg(long, default_value_t = 360, value_name = "SECS")]
    pub max_wait_secs: u64,
}

impl NetArgs {
    pub fn body_limits(&self) -> crate::fetch::BodyLimits {
        let limit = |mib_count, flag| crate::fetch::BodyLimit {
            bytes: mib(mib_count),
            flag,
        };
        crate::fetch::BodyLimits {
            listing: limit(self.max_listing_mib, "--max-listing-mib"),
            follow_up: limit(self.max_follow_up_mib, "--max-follow-up-mib"),
        }
    }
}

/// Where AIoD is. Each flag overrides its environment variable, which overrides the config
/// file, which overrides the default. The client secret is never a flag: it comes from
/// CLIENT_SECRET in the environment or in the env file.
#[derive(Debug, Args)]
pub struct AiodArgs {
    /// AIoD REST API base URL [config: api_server; default: https://api.aiodp.eu/].
    #[arg(
        long,
        env = "AIOD_API_SERVER",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub api_server: Option<String>,

    /// AIoD API version path, e.g. v2; an empty value uses the unversioned API [config: version;
    /// default: v2].
    #[arg(
        long,
        env = "AIOD_API_VERSION",
        hide_env_values = true,
        value_name = "V"
    )]
    pub api_version: Option<String>,

    /// Keycloak base URL [config: auth_server; default: https://auth.aiodp.eu/aiod-auth/].
    #[arg(
        long,
        env = "AIOD_AUTH_SERVER",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub auth_server: Option<String>,

    /// Keycloak realm [config: realm; default: aiod].
    #[arg(long, env = "AIOD_REALM", hide_env_values = true, value_name = "REALM")]
    pub realm: Option<String>,

    /// Keycloak client id of this connector [config: client_id; default: aiod-sdk].
    #[arg(
        long,
        env = "AIOD_CLIENT_ID",
        hide_env_values = true,
        value_name = "ID"
    )]
    pub client_id: Option<String>,

    /// Dotenv file with CLIENT_SECRET (and optionally PLATFORM_NAME); variables already in the
    /// environment win [default: ~/.aiod/<plugin name>/.env].
    #[arg(long, value_name = "FILE")]
    pub env_file: Option<PathBuf>,
}

/// The environment variables the command line reads, e.g. `AIOD_API_SERVER`.
pub fn variables() -> BTreeSet<String> {
    fn collect(command: &clap::Command, into: &mut BTreeSet<String>) {
        let vars = command.get_arguments().filter_map(|arg| arg.get_env());
        into.extend(vars.map(|var| var.to_string_lossy().into_owned()));
        for sub in command.get_subcommands() {
            collect(sub, into);
        }
    }
    let mut vars = BTreeSet::new();
    collect(&Cli::command(), &mut vars);
    vars
}

/// A share between 0 and 1 (NaN would make every comparison with it false).
pub fn parse_share(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!(
            "expected a share from 0 to 1, e.g. 0.05, got {s:?}"
        )),
    }
}

/// Log levels, named as in today's Python connector.
#[derive(Debug, Args)]
pub struct LogArgs {
    /// Level of aiod-host's own log messages.
    #[arg(long, default_value = "info", value_parser = LOG_LEVELS)]
    pub app_log_level: String,

    /// Level of the log messages of the libraries aiod-host uses.
    #[arg(long, default_value = "error", value_parser = LOG_LEVELS)]
    pub root_log_level: String,

    /// Log lines as text, or as one JSON object per line (for log collectors).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// When standard error is not a terminal (no progress bar), log a progress line this often.
    #[arg(long, default_value = "30s", value_parser = parse_duration, value_name = "DURATION")]
    pub progress_every: std::time::Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

impl LogArgs {
    pub fn progress(&self) -> crate::progress::Display {
        crate::progress::Display::for_stderr(self.progress_every)
    }
}

const LOG_LEVELS: [&str; 9] = [
    "critical", "fatal", "error", "warning", "warn", "info", "debug", "trace", "notset",
];

/// Bytes in `n` MiB (`n` is bounded by its flag's range).
fn mib(n: u32) -> usize {
    usize::try_from(u64::from(n) << 20).unwrap_or(usize::MAX)
}

/// A schedule's period: a duration longer than zero (a zero period would
/// start sync after sync without a pause).
pub fn parse_period(s: &str) -> Result<std::time::Duration, String> {
    match parse_duration(s)? {
        d if d.is_zero() => Err(format!(
            "{s:?} is not a usable period: give one longer than zero, such as 15m or 1h"
        )),
        d => Ok(d),
    }
}

/// A duration in humantime's syntax: `30s`, `15m`, `1h`, `1d`, `500ms`, `1.5h`, `1h 30m`.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(s.trim()).map_err(|e| {
        format!("{s:?} is not a usable duration ({e}): give one such as 30s, 15m or 1h")
    })
}

/// The longest budget window a flag may set: a day.
const LONGEST_WINDOW_SECS: f64 = 86_400.0;

pub fn parse_budget(s: &str) -> Result<(String, (u32, std::time::Duration)), String> {
    let bad = || {
        format!(
            "expected NAME=REQUESTS/SECONDS with more than 0 requests per 0 to 86400 seconds, \
             e.g. hub=1000/300, got {s:?}"
        )
    };
    let (name, rest) = s.split_once('=').ok_or_else(bad)?;
    let (n, secs) = rest.split_once('/').ok_or_else(bad)?;
    let n: u32 = n.trim().parse().map_err(|_| bad())?;
    let secs: f64 = secs.trim().parse().map_err(|_| bad())?;
    if n == 0 || !(secs > 0.0 && secs <= LONGEST_WINDOW_SECS) {
        return Err(bad());
    }
    let window = std::time::Duration::try_from_secs_f64(secs).map_err(|_| bad())?;
    Ok((name.trim().to_string(), (n, window)))
}

fn parse_endpoint(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((name, url)) if !name.trim().is_empty() && !url.trim().is_empty() => {
            Ok((name.trim().to_string(), url.trim().to_string()))
        }
        _ => Err(format!(
            "expected NAME=URL, e.g. hub=http://127.0.0.1:8900, got {s:?}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn endpoint_flag_parses() {
        assert_eq!(
            parse_endpoint("hub=http://x:1"),
            Ok(("hub".into(), "http://x:1".into()))
        );
        assert!(parse_endpoint("hub").is_err());
        assert_eq!(
            parse_budget("hub=1000/300"),
            Ok(("hub".into(), (1000, std::time::Duration::from_secs(300))))
        );
        assert!(parse_budget("hub=0/300").is_err());
        assert!(parse_budget("hub=10").is_err());
        assert_eq!(parse_share("0.05"), Ok(0.05));
        for bad in ["NaN", "-0.1", "1.5", "inf", "a"] {
            assert!(parse_share(bad).is_err(), "{bad}");
        }
        for (text, seconds) in [
            ("90s", 90.0),
            ("1h", 3600.0),
            ("250ms", 0.25),
            ("1.5h", 5400.0),
            ("1d", 86_400.0),
        ] {
            assert_eq!(
                parse_duration(text),
                Ok(std::time::Duration::from_secs_f64(seconds)),
                "{text}"
            );
        }
        assert!(parse_duration("soon").is_err());
        assert!(
            parse_duration("1000000000000000000000000000d")
                .unwrap_err()
                .contains("not a usable duration")
        );
    }
}
