//! The configuration of a command that runs a plugin, resolved once: every
//! setting with where it came from. `load` reads the config file, the plugin
//! and the env file; `resolve` combines them with the flags and the
//! environment, and does nothing else.

pub mod file;

pub use file::FileConfig;

use crate::aiod::settings::{self, DotEnv, Effective, EnvFile};
use crate::cli::CommonArgs;
use crate::endpoints::{self, Endpoints};
use crate::model::PluginInfo;
use crate::plugin::Plugin;
use crate::state;
use anyhow::{Context as _, Result, bail};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The timeout of one request unless the config file sets `request_timeout_seconds`.
pub const DEFAULT_TIMEOUT_SECONDS: f64 = 10.0;

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A flag on the command line, e.g. `--realm`.
    Flag(String),
    /// An environment variable: a flag's, or one the host reads itself (`CLIENT_SECRET`).
    Env(String),
    EnvFile,
    ConfigFile,
    /// What the plugin says about itself, e.g. its `platform`.
    Plugin(&'static str),
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag(flag) => write!(f, "flag {flag}"),
            Source::Env(var) => write!(f, "environment variable {var}"),
            Source::EnvFile => f.write_str("env file"),
            Source::ConfigFile => f.write_str("config file"),
            Source::Plugin(what) => write!(f, "the plugin's {what}"),
            Source::Default => f.write_str("default"),
        }
    }
}

/// A setting and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sourced<T> {
    pub value: T,
    pub source: Source,
}

/// Everything a command that runs a plugin is configured with.
#[derive(Debug)]
pub struct Resolved {
    /// The config file read; `None` when there is none.
    pub config_file: Option<PathBuf>,
    pub env_file: EnvFile,
    /// Where AIoD is and how to log in; checked when the AIoD client is made.
    pub aiod: Effective,
    /// The AIoD platform name put on every asset; it also names the state file.
    pub platform: Sourced<String>,
    /// The plugin's endpoints: base URLs (each with its source), tokens and budgets.
    pub endpoints: Endpoints,
    pub request_timeout: Sourced<Duration>,
    /// `None` when neither given nor defaulted (HOME is not set); an error only for the
    /// commands that need a state.
    state: Option<Sourced<PathBuf>>,
}

impl Resolved {
    /// The state database: given, or the platform's under the user's data directory.
    pub fn state(&self) -> Result<&Sourced<PathBuf>> {
        self.state
            .as_ref()
            .context("HOME is not set: give --state FILE")
    }

    /// `source`, naming the file when it is one.
    pub fn naming_file(&self, source: &Source) -> String {
        match (source, &self.config_file, &self.env_file.path) {
            (Source::ConfigFile, Some(path), _) | (Source::EnvFile, _, Some(path)) => {
                format!("{source} {}", path.display())
            }
            _ => source.to_string(),
        }
    }
}

/// What the configuration is resolved from.
pub struct Inputs<'a> {
    /// The flags and their environment variables, as clap took them.
    pub args: &'a CommonArgs,
    pub file: &'a FileConfig,
    pub env_file: &'a DotEnv,
    pub plugin: &'a PluginInfo,
    /// The variables the host reads itself: `CLIENT_SECRET` and the plugin's endpoint variables.
    pub env: &'a dyn Fn(&str) -> Option<String>,
    /// The default state database of a platform.
    pub default_state: fn(&str) -> Option<PathBuf>,
}

/// Each setting from the first place that has it, in this order: its flag, the flag's
/// environment variable, the env file, the config file, the plugin, the default.
pub fn resolve(inputs: &Inputs<'_>) -> Result<Resolved> {
    let Inputs {
        args,
        file,
        env_file,
        plugin,
        env,
        default_state,
    } = inputs;
    let given = &args.given;
    let overrides = endpoints::Overrides {
        urls: args.endpoint.clone(),
        file_urls: file.endpoints.clone(),
        budgets: args.net.budget.iter().cloned().collect(),
    };
    let endpoints = Endpoints::resolve(&plugin.endpoints, &overrides, env)?;
    let platform = given
        .sourced("platform_name", &args.platform_name)
        .or_else(|| {
            env_file.get("PLATFORM_NAME").map(|p| Sourced {
                value: p.to_string(),
                source: Source::EnvFile,
            })
        })
        .unwrap_or_else(|| Sourced {
            value: plugin.platform.clone(),
            source: Source::Plugin("platform"),
        });
    // It names the state file and goes into every body: a name, not a path.
    crate::names::check(
        &format!("the platform name (from {})", platform.source),
        &platform.value,
    )
    .map_err(anyhow::Error::msg)?;
    let request_timeout = match file.request_timeout_seconds {
        Some(secs) => Sourced {
            value: Duration::from_secs_f64(secs),
            source: Source::ConfigFile,
        },
        None => Sourced {
            value: Duration::from_secs_f64(DEFAULT_TIMEOUT_SECONDS),
            source: Source::Default,
        },
    };
    let state = given.sourced("state", &args.state).or_else(|| {
        default_state(&platform.value).map(|path| Sourced {
            value: path,
            source: Source::Default,
        })
    });
    let aiod_args = &args.aiod;
    let aiod = settings::effective(
        &settings::Overrides {
            api_server: given.sourced("api_server", &aiod_args.api_server),
            version: given.sourced("api_version", &aiod_args.api_version),
            auth_server: given.sourced("auth_server", &aiod_args.auth_server),
            realm: given.sourced("realm", &aiod_args.realm),
            client_id: given.sourced("client_id", &aiod_args.client_id),
        },
        file,
        env_file,
        env,
    );
    Ok(Resolved {
        config_file: file.path.clone(),
        env_file: env_file.file.clone(),
        aiod,
        platform,
        endpoints,
        request_timeout,
        state,
    })
}

/// Reads the config file, loads the plugin (whose info gives defaults), reads the env file,
/// and resolves the configuration from them, the flags and the environment.
pub fn load(args: &CommonArgs) -> Result<(Resolved, Plugin)> {
    let file = file::load(args.config.as_deref())?;
    for warning in &file.warnings {
        let path = file
            .path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        tracing::warn!("config file {path}: {warning}");
    }
    let plugin = Plugin::load(&args.plugin, args.limits.limits())?;
    tracing::info!(plugin = %plugin.describe(), "plugin loaded");
    let env_file = DotEnv::load(
        args.aiod.env_file.as_deref(),
        settings::default_env_file(&plugin.info().name),
    )?;
    // An unreadable variable must not pass for an unset one (the plugin's default
    // endpoint, or no token, would be used instead).
    let declared = plugin.info().endpoints.iter();
    for var in declared.flat_map(|e| e.env_override.iter().chain(&e.token_env)) {
        if let Err(std::env::VarError::NotUnicode(_)) = std::env::var(var) {
            anyhow::bail!("the environment variable {var} is not valid UTF-8: fix or unset it");
        }
    }
    let resolved = resolve(&Inputs {
        args,
        file: &file,
        env_file: &env_file,
        plugin: plugin.info(),
        env: &|var| std::env::var(var).ok(),
        default_state: state::default_path,
    })?;
    for line in resolved.endpoints.describe() {
        tracing::info!("{line}");
    }
    Ok((resolved, plugin))
}

/// The state `failures` reads: `explicit`, else the platform's, else the only one there is.
pub fn state_to_read(explicit: Option<PathBuf>, platform: Option<&str>) -> Result<PathBuf> {
    let path = match (explicit, platform) {
        (Some(path), _) => path,
        (None, Some(platform)) => {
            crate::names::check("the platform name", platform).map_err(anyhow::Error::msg)?;
            state::default_path(platform).context("HOME is not set: give --state")?
        }
        (None, None) => {
            let dir = state::default_dir().context("HOME is not set: give --state")?;
            only_state_in(&dir)?
        }
    };
    if !path.exists() {
        bail!("no state database at {}", path.display());
    }
    Ok(path)
}

/// The one state database in `dir`; none or several are an error that says what to give.
fn only_state_in(dir: &Path) -> Result<PathBuf> {
    let mut states: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(|e| Some(e.ok()?.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "sqlite"))
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot list {}", dir.display())),
    };
    states.sort();
    match states.len() {
        1 => Ok(states.remove(0)),
        0 => bail!("no state database in {}: give --state FILE", dir.display()),
        _ => bail!(
            "several state databases in {} ({}): give --platform-name NAME or --state FILE",
            dir.display(),
            states
                .iter()
                .filter_map(|p| p.file_name())
                .map(|n| n.to_string_lossy())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Budget, EndpointDecl};
    use std::collections::BTreeMap;

    fn plugin() -> PluginInfo {
        PluginInfo {
            name: "example".into(),
            version: "1.0.0".into(),
            platform: "example_platform".into(),
            endpoints: vec![EndpointDecl {
                name: "api".into(),
                default_base_url: "https://api.example".into(),
                env_override: Some("EXAMPLE_ENDPOINT".into()),
                description: String::new(),
                budget: Some(Budget {
                    requests: 10,
                    requests_with_token: 20,
                    window_seconds: 60,
                }),
                token_env: vec!["EXAMPLE_TOKEN".into()],
            }],
            asset_types: vec!["datasets".into()],
        }
    }

    /// The common arguments of `check` with `flags`, as the command line gives them.
    fn args(flags: &[&str]) -> CommonArgs {
        let argv = ["aiod-host", "check", "--plugin", "p.wasm"];
        match crate::cli::try_parse_from(argv.iter().chain(flags)) {
            Ok(crate::cli::Cli {
                command: crate::cli::Command::Check(args),
            }) => args,
            other => panic!("{other:?}"),
        }
    }

    /// A flag's value as clap takes it from its environment variable.
    fn from_env(args: &mut CommonArgs, id: &str, var: &str, value: &str) {
        let slot = match id {
            "api_server" => &mut args.aiod.api_server,
            "platform_name" => &mut args.platform_name,
            other => panic!("{other}"),
        };
        *slot = Some(value.into());
        args.given.insert(id, Source::Env(var.into()));
    }

    fn config_file(text: &str) -> FileConfig {
        FileConfig {
            path: Some("/etc/aiod/config.toml".into()),
            ..file::parse(text).unwrap()
        }
    }

    fn env_file(vars: &[(&str, &str)]) -> DotEnv {
        DotEnv {
            file: EnvFile {
                path: Some("/home/op/.aiod/example/.env".into()),
                found: true,
            },
            vars: vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    fn resolve_with(
        args: &CommonArgs,
        file: &FileConfig,
        env_file: &DotEnv,
        env: &[(&str, &str)],
    ) -> Result<Resolved> {
        let env: BTreeMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        resolve(&Inputs {
            args,
            file,
            env_file,
            plugin: &plugin(),
            env: &|var| env.get(var).cloned(),
            default_state: |platform| Some(format!("/data/{platform}.sqlite").into()),
        })
    }

    fn source_of<T>(s: &Sourced<T>) -> String {
        s.source.to_string()
    }

    #[test]
    fn each_setting_comes_from_the_first_place_that_has_it() {
        let mut args = args(&["--realm", "flag-realm", "--state", "/s.sqlite"]);
        from_env(&mut args, "api_server", "AIOD_API_SERVER", "http://env/");
        let file = config_file(
            "api_server = 'http://file/'\nauth_server = 'http://auth.file/'\nrealm = 'file-realm'\n\
             request_timeout_seconds = 20\n",
        );
        let r = resolve_with(
            &args,
            &file,
            &env_file(&[("CLIENT_SECRET", "from-the-file")]),
            &[],
        )
        .unwrap();
        let aiod = &r.aiod;
        assert_eq!(aiod.realm.value, "flag-realm");
        assert_eq!(aiod.realm.source, Source::Flag("--realm".into()));
        assert_eq!(aiod.api_server.value, "http://env/");
        assert_eq!(
            source_of(&aiod.api_server),
            "environment variable AIOD_API_SERVER"
        );
        assert_eq!(aiod.auth_server.value, "http://auth.file/");
        assert_eq!(aiod.auth_server.source, Source::ConfigFile);
        assert_eq!(
            r.naming_file(&aiod.auth_server.source),
            "config file /etc/aiod/config.toml"
        );
        assert_eq!(aiod.version.value, settings::DEFAULT_VERSION);
        assert_eq!(aiod.version.source, Source::Default);
        let secret = aiod.secret.as_ref().unwrap();
        assert_eq!(secret.value.expose(), "from-the-file");
        assert_eq!(
            r.naming_file(&secret.source),
            "env file /home/op/.aiod/example/.env"
        );
        assert_eq!(r.platform.value, "example_platform");
        assert_eq!(source_of(&r.platform), "the plugin's platform");
        assert_eq!(r.request_timeout.value, Duration::from_secs(20));
        assert_eq!(source_of(&r.request_timeout), "config file");
        let state = r.state().unwrap();
        assert_eq!(state.value, PathBuf::from("/s.sqlite"));
        assert_eq!(state.source, Source::Flag("--state".into()));
        assert_eq!(r.config_file, file.path);
    }

    #[test]
    fn without_flags_or_files_the_defaults_and_the_plugin_decide() {
        let r = resolve_with(&args(&[]), &FileConfig::default(), &DotEnv::default(), &[]).unwrap();
        for s in [
            &r.aiod.api_server,
            &r.aiod.version,
            &r.aiod.auth_server,
            &r.aiod.realm,
            &r.aiod.client_id,
        ] {
            assert_eq!(s.source, Source::Default);
        }
        assert_eq!(r.aiod.api_server.value, settings::DEFAULT_API_SERVER);
        assert!(r.aiod.secret.is_none());
        assert_eq!(r.request_timeout.value, Duration::from_secs(10));
        assert_eq!(r.request_timeout.source, Source::Default);
        let state = r.state().unwrap();
        assert_eq!(state.value, PathBuf::from("/data/example_platform.sqlite"));
        assert_eq!(state.source, Source::Default);
        assert_eq!(
            r.endpoints.describe(),
            [
                "endpoint api = https://api.example/ (from the plugin default, budget 10 requests per 60s)"
            ]
        );
    }

    #[test]
    fn the_platform_comes_from_the_flag_its_variable_the_env_file_or_the_plugin() {
        let with_file = env_file(&[("PLATFORM_NAME", "from_file")]);
        let none = FileConfig::default();
        let r = resolve_with(&args(&[]), &none, &with_file, &[]).unwrap();
        assert_eq!(
            (r.platform.value.as_str(), source_of(&r.platform).as_str()),
            ("from_file", "env file")
        );
        // Its default state is the platform's.
        assert_eq!(
            r.state().unwrap().value,
            PathBuf::from("/data/from_file.sqlite")
        );

        let mut from_variable = args(&[]);
        from_env(
            &mut from_variable,
            "platform_name",
            "PLATFORM_NAME",
            "from_env",
        );
        let r = resolve_with(&from_variable, &none, &with_file, &[]).unwrap();
        assert_eq!(r.platform.value, "from_env");
        assert_eq!(source_of(&r.platform), "environment variable PLATFORM_NAME");

        let r = resolve_with(
            &args(&["--platform-name", "from_flag"]),
            &none,
            &with_file,
            &[],
        )
        .unwrap();
        assert_eq!(r.platform.value, "from_flag");
        assert_eq!(source_of(&r.platform), "flag --platform-name");

        let err = resolve_with(
            &args(&[]),
            &none,
            &env_file(&[("PLATFORM_NAME", "../x")]),
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("the platform name (from env file)"),
            "{err}"
        );
    }

    #[test]
    fn the_secret_comes_from_the_environment_before_the_env_file() {
        let r = resolve_with(
            &args(&[]),
            &FileConfig::default(),
            &env_file(&[("CLIENT_SECRET", "from-the-file")]),
            &[("CLIENT_SECRET", "from-the-environment")],
        )
        .unwrap();
        let secret = r.aiod.secret.as_ref().unwrap();
        assert_eq!(secret.value.expose(), "from-the-environment");
        assert_eq!(
            r.naming_file(&secret.source),
            "environment variable CLIENT_SECRET"
        );
    }

    #[test]
    fn endpoints_come_from_the_flag_their_variable_the_config_file_or_the_plugin() {
        let url = |args: &CommonArgs, file: &FileConfig, env: &[(&str, &str)]| {
            resolve_with(args, file, &DotEnv::default(), env)
                .unwrap()
                .endpoints
                .describe()[0]
                .clone()
        };
        let file = config_file("[endpoints]\napi = 'http://file'\n");
        let env = [
            ("EXAMPLE_ENDPOINT", "http://env"),
            ("EXAMPLE_TOKEN", "t0ken-value"),
        ];
        let flag = args(&["--endpoint", "api=http://flag"]);
        assert!(url(&flag, &file, &env).starts_with(
            "endpoint api = http://flag/ (from --endpoint, budget 20 requests per 60s, with token)"
        ));
        assert!(
            url(&args(&[]), &file, &env).contains("(from environment variable EXAMPLE_ENDPOINT")
        );
        assert!(url(&args(&[]), &file, &[]).contains("= http://file/ (from the config file"));
    }

    #[test]
    fn failures_reads_the_only_state_there_is() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("states");
        let err = only_state_in(&dir).unwrap_err().to_string();
        assert!(err.starts_with("no state database in "), "{err}");
        std::fs::create_dir_all(&dir).unwrap();
        for file in ["one.sqlite", "one.sqlite-wal", "one.sqlite.lock"] {
            std::fs::write(dir.join(file), "").unwrap();
        }
        assert_eq!(only_state_in(&dir).unwrap(), dir.join("one.sqlite"));
        std::fs::write(dir.join("two.sqlite"), "").unwrap();
        let err = only_state_in(&dir).unwrap_err().to_string();
        assert!(
            err.contains("(one.sqlite, two.sqlite): give --platform-name NAME or --state FILE"),
            "{err}"
        );
    }

    #[test]
    fn the_command_line_says_which_values_are_flags() {
        for argv in [
            &[
                "aiod-host",
                "run",
                "--plugin",
                "p",
                "--mode",
                "all",
                "--realm",
                "r",
            ][..],
            &["aiod-host", "serve", "--plugin", "p", "--realm=r"],
            &[
                "aiod-host",
                "config",
                "show",
                "--plugin",
                "p",
                "--realm",
                "r",
            ],
        ] {
            let mut cli = crate::cli::try_parse_from(argv).unwrap();
            let common = cli.command.common_mut().unwrap();
            assert_eq!(
                common.given.sourced("realm", &common.aiod.realm),
                Some(Sourced {
                    value: "r".to_string(),
                    source: Source::Flag("--realm".into())
                }),
                "{argv:?}"
            );
            // Values left at their defaults have no source of their own.
            assert_eq!(common.given.get("plugin_cpu_ms"), None);
        }
    }
}
