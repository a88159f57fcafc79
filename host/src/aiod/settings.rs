//! The AIoD connection settings: flags > environment > files > defaults, the
//! same keys as the aiondemand SDK's `config.toml`, and the client secret from
//! the environment or a dotenv file, as today's connector reads them.

use crate::config::FileConfig;
use crate::secret::Secret;
use anyhow::{Context as _, Result, bail};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use url::Url;

pub const DEFAULT_API_SERVER: &str = "https://api.aiodp.eu/";
pub const DEFAULT_AUTH_SERVER: &str = "https://auth.aiodp.eu/aiod-auth/";
pub const DEFAULT_VERSION: &str = "v2";
pub const DEFAULT_REALM: &str = "aiod";
pub const DEFAULT_CLIENT_ID: &str = "aiod-sdk";

/// Values given as flags or their environment variables (clap merges those two).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub api_server: Option<String>,
    pub version: Option<String>,
    pub auth_server: Option<String>,
    pub realm: Option<String>,
    pub client_id: Option<String>,
    /// Where the given overrides came from, by key (e.g. `api_server` → `flag --api-server`);
    /// `flag or environment` when not told.
    pub origins: BTreeMap<&'static str, String>,
}

/// A setting and where it came from, for `aiod-host config show`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sourced<T> {
    pub value: T,
    pub source: String,
}

/// The settings as chosen, before they are checked: flags > environment > config file >
/// defaults, and the secret from the environment or the env file.
#[derive(Debug, Clone)]
pub struct Effective {
    pub api_server: Sourced<String>,
    pub version: Sourced<String>,
    pub auth_server: Sourced<String>,
    pub realm: Sourced<String>,
    pub client_id: Sourced<String>,
    pub secret: Option<Sourced<Secret>>,
}

pub fn effective(
    overrides: &Overrides,
    file: &FileConfig,
    dotenv: &DotEnv,
    env: impl Fn(&str) -> Option<String>,
) -> Effective {
    let file_source = match &file.path {
        Some(p) => format!("config file {}", p.display()),
        None => "config file".to_string(),
    };
    let pick = |key: &'static str,
                flag: &Option<String>,
                in_file: &Option<String>,
                default: &str| match (flag, in_file) {
        (Some(v), _) => Sourced {
            value: v.clone(),
            source: overrides
                .origins
                .get(key)
                .cloned()
                .unwrap_or_else(|| "flag or environment".to_string()),
        },
        (None, Some(v)) => Sourced {
            value: v.clone(),
            source: file_source.clone(),
        },
        (None, None) => Sourced {
            value: default.to_string(),
            source: "default".to_string(),
        },
    };
    let secret = match env("CLIENT_SECRET").filter(|v| !v.is_empty()) {
        Some(v) => Some(Sourced {
            value: Secret::new(v),
            source: "environment variable CLIENT_SECRET".to_string(),
        }),
        None => dotenv
            .vars
            .get("CLIENT_SECRET")
            .filter(|v| !v.is_empty())
            .map(|v| Sourced {
                value: Secret::new(v.clone()),
                source: format!(
                    "env file {}",
                    dotenv.path.as_deref().unwrap_or(Path::new("")).display()
                ),
            }),
    };
    Effective {
        api_server: pick(
            "api_server",
            &overrides.api_server,
            &file.api_server,
            DEFAULT_API_SERVER,
        ),
        version: pick(
            "version",
            &overrides.version,
            &file.version,
            DEFAULT_VERSION,
        ),
        auth_server: pick(
            "auth_server",
            &overrides.auth_server,
            &file.auth_server,
            DEFAULT_AUTH_SERVER,
        ),
        realm: pick("realm", &overrides.realm, &file.realm, DEFAULT_REALM),
        client_id: pick(
            "client_id",
            &overrides.client_id,
            &file.client_id,
            DEFAULT_CLIENT_ID,
        ),
        secret,
    }
}

#[derive(Debug, Clone)]
pub struct AiodSettings {
    /// Ends with `/`, like the SDK's `api_server`.
    pub api_server: Url,
    /// `v2` by default; empty for the unversioned ("latest") API.
    pub version: String,
    /// Ends with `/`.
    pub auth_server: Url,
    pub realm: String,
    pub client_id: String,
    pub secret: Secret,
}

/// A dotenv file as `KEY → value`, and where it was (or would have been) read.
#[derive(Debug, Clone, Default)]
pub struct DotEnv {
    pub path: Option<PathBuf>,
    pub found: bool,
    pub vars: BTreeMap<String, String>,
}

impl DotEnv {
    /// Reads `explicit` (which must exist), or `default` if it exists.
    pub fn load(explicit: Option<&Path>, default: Option<PathBuf>) -> Result<DotEnv> {
        let (path, required) = match (explicit, default) {
            (Some(p), _) => (p.to_path_buf(), true),
            (None, Some(p)) => (p, false),
            (None, None) => return Ok(DotEnv::default()),
        };
        if !path.exists() {
            if required {
                bail!("env file {} does not exist", path.display());
            }
            return Ok(DotEnv {
                path: Some(path),
                ..DotEnv::default()
            });
        }
        let mut vars = BTreeMap::new();
        for item in dotenvy::from_path_iter(&path)
            .with_context(|| format!("cannot read env file {}", path.display()))?
        {
            // dotenvy's errors quote the offending line, which may hold a secret.
            let (k, v) = item.map_err(|_| {
                anyhow::anyhow!(
                    "env file {} has a line that is not KEY=VALUE",
                    path.display()
                )
            })?;
            vars.insert(k, v);
        }
        Ok(DotEnv {
            path: Some(path),
            found: true,
            vars,
        })
    }

    /// The environment first, then this file (python-dotenv never overrides the environment).
    pub fn var(&self, env: &impl Fn(&str) -> Option<String>, key: &str) -> Option<String> {
        env(key)
            .filter(|v| !v.is_empty())
            .or_else(|| self.vars.get(key).filter(|v| !v.is_empty()).cloned())
    }
}

/// `~/.aiod/<plugin>/.env`, where today's connector keeps its secret.
pub fn default_env_file(plugin_name: &str) -> Option<PathBuf> {
    std::env::var_os("HOME").map(|h| Path::new(&h).join(".aiod").join(plugin_name).join(".env"))
}

pub fn resolve(
    overrides: &Overrides,
    file: &FileConfig,
    dotenv: &DotEnv,
    env: impl Fn(&str) -> Option<String>,
) -> Result<AiodSettings> {
    let e = effective(overrides, file, dotenv, env);
    let secret = e.secret.ok_or_else(|| {
        let file = match (&dotenv.path, dotenv.found) {
            (Some(p), true) => format!("{} (no CLIENT_SECRET in it)", p.display()),
            (Some(p), false) => format!("{} (not found)", p.display()),
            (None, _) => "no env file (HOME is not set; use --env-file)".to_string(),
        };
        anyhow::anyhow!(
            "no AIoD client secret: set CLIENT_SECRET in the environment or in an env file \
             (--env-file). Looked in: the environment variable CLIENT_SECRET; {file}"
        )
    })?;
    Ok(AiodSettings {
        api_server: base_url("api_server", &e.api_server.value)?,
        version: e.version.value.trim_matches('/').to_string(),
        auth_server: base_url("auth_server", &e.auth_server.value)?,
        realm: e.realm.value,
        client_id: e.client_id.value,
        secret: secret.value,
    })
}

/// The SDK joins paths onto these by string concatenation, so they end with `/`.
fn base_url(key: &str, text: &str) -> Result<Url> {
    let with_slash = if text.ends_with('/') {
        text.to_string()
    } else {
        format!("{text}/")
    };
    let url = Url::parse(&with_slash).with_context(|| format!("{key} {text:?} is not a URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        bail!("{key} {text:?} must be an http(s) URL");
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn precedence_flags_then_file_then_defaults() {
        let file =
            crate::config::parse("api_server = 'http://file/'\nrealm = 'r'\nversion = ''").unwrap();
        let flags = Overrides {
            api_server: Some("http://flag".into()),
            ..Overrides::default()
        };
        let s = resolve(
            &flags,
            &file,
            &DotEnv::default(),
            env(&[("CLIENT_SECRET", "s")]),
        )
        .unwrap();
        assert_eq!(s.api_server.as_str(), "http://flag/");
        assert_eq!(s.realm, "r");
        assert_eq!(s.version, "");
        assert_eq!(s.auth_server.as_str(), DEFAULT_AUTH_SERVER);
        assert_eq!(s.client_id, DEFAULT_CLIENT_ID);
    }

    #[test]
    fn secret_from_environment_before_env_file() {
        let mut dotenv = DotEnv::default();
        dotenv
            .vars
            .insert("CLIENT_SECRET".into(), "from-file".into());
        let file = FileConfig::default();
        let o = Overrides::default();
        let s = resolve(&o, &file, &dotenv, env(&[("CLIENT_SECRET", "from-env")])).unwrap();
        assert_eq!(s.secret.expose(), "from-env");
        let s = resolve(&o, &file, &dotenv, env(&[])).unwrap();
        assert_eq!(s.secret.expose(), "from-file");
    }

    #[test]
    fn missing_secret_says_where_it_looked() {
        let dotenv = DotEnv {
            path: Some("/home/op/.aiod/huggingface/.env".into()),
            found: false,
            vars: BTreeMap::new(),
        };
        let err = resolve(
            &Overrides::default(),
            &FileConfig::default(),
            &dotenv,
            env(&[]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("CLIENT_SECRET"), "{err}");
        assert!(
            err.contains("/home/op/.aiod/huggingface/.env (not found)"),
            "{err}"
        );
    }
}
