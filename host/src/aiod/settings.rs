//! The AIoD connection settings: flags > environment > files > defaults, the
//! same keys as the aiondemand SDK's `config.toml`, and the client secret from
//! the environment or a dotenv file, as today's connector reads them.

use crate::config::{FileConfig, Source, Sourced};
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

/// Values given as flags or their environment variables, each with where it came from.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub api_server: Option<Sourced<String>>,
    pub version: Option<Sourced<String>>,
    pub auth_server: Option<Sourced<String>>,
    pub realm: Option<Sourced<String>>,
    pub client_id: Option<Sourced<String>>,
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
    let pick = |given: &Option<Sourced<String>>, in_file: &Option<String>, default: &str| {
        given.clone().unwrap_or_else(|| match in_file {
            Some(v) => Sourced {
                value: v.clone(),
                source: Source::ConfigFile,
            },
            None => Sourced {
                value: default.to_string(),
                source: Source::Default,
            },
        })
    };
    let secret = match env("CLIENT_SECRET").filter(|v| !v.is_empty()) {
        Some(v) => Some(Sourced {
            value: Secret::new(v),
            source: Source::Env("CLIENT_SECRET".to_string()),
        }),
        None => dotenv.get("CLIENT_SECRET").map(|v| Sourced {
            value: Secret::new(v.to_string()),
            source: Source::EnvFile,
        }),
    };
    Effective {
        api_server: pick(&overrides.api_server, &file.api_server, DEFAULT_API_SERVER),
        version: pick(&overrides.version, &file.version, DEFAULT_VERSION),
        auth_server: pick(
            &overrides.auth_server,
            &file.auth_server,
            DEFAULT_AUTH_SERVER,
        ),
        realm: pick(&overrides.realm, &file.realm, DEFAULT_REALM),
        client_id: pick(&overrides.client_id, &file.client_id, DEFAULT_CLIENT_ID),
        secret,
    }
}

impl Effective {
    /// The settings, checked: the secret is there and the servers are http(s) URLs.
    pub fn settings(&self, env_file: &EnvFile) -> Result<AiodSettings> {
        let secret = self.secret.as_ref().ok_or_else(|| {
            let file = match (&env_file.path, env_file.found) {
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
            api_server: base_url("api_server", &self.api_server.value)?,
            version: self.version.value.trim_matches('/').to_string(),
            auth_server: base_url("auth_server", &self.auth_server.value)?,
            realm: self.realm.value.clone(),
            client_id: self.client_id.value.clone(),
            secret: secret.value.clone(),
        })
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

/// Where the env file was (or would have been) read, and whether it exists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvFile {
    pub path: Option<PathBuf>,
    pub found: bool,
}

/// A dotenv file as `KEY → value`.
#[derive(Debug, Clone, Default)]
pub struct DotEnv {
    pub file: EnvFile,
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
                file: EnvFile {
                    path: Some(path),
                    found: false,
                },
                vars: BTreeMap::new(),
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
            file: EnvFile {
                path: Some(path),
                found: true,
            },
            vars,
        })
    }

    /// `key`'s value, unless empty. Variables in the environment win over it (as
    /// python-dotenv never overrides the environment); their callers look there first.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.vars
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

/// `~/.aiod/<plugin>/.env`, where today's connector keeps its secret.
pub fn default_env_file(plugin_name: &str) -> Option<PathBuf> {
    std::env::var_os("HOME").map(|h| Path::new(&h).join(".aiod").join(plugin_name).join(".env"))
}

/// The SDK joins paths onto these by string concatenation, so they end with `/`.
fn base_url(key: &str, text: &str) -> Result<Url> {
    let with_slash = if text.ends_with('/') {
        text.to_string()
    } else {
        format!("{text}/")
    };
    let mut url =
        Url::parse(&with_slash).with_context(|| format!("{key} {text:?} is not a URL"))?;
    if !url.username().is_empty() || url.password().is_some() {
        // Shown without them: the message is logged.
        let _ = url.set_username("");
        let _ = url.set_password(None);
        bail!(
            "{key} {url} must not carry a user name or password (they would be logged and \
             stored in the state); the client's credentials are client_id and CLIENT_SECRET"
        );
    }
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

    fn resolve(
        overrides: &Overrides,
        file: &FileConfig,
        dotenv: &DotEnv,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<AiodSettings> {
        effective(overrides, file, dotenv, env).settings(&dotenv.file)
    }

    #[test]
    fn precedence_flags_then_file_then_defaults() {
        let file =
            crate::config::file::parse("api_server = 'http://file/'\nrealm = 'r'\nversion = ''")
                .unwrap();
        let flags = Overrides {
            api_server: Some(Sourced {
                value: "http://flag".into(),
                source: Source::Flag("--api-server".into()),
            }),
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
            file: EnvFile {
                path: Some("/home/op/.aiod/huggingface/.env".into()),
                found: false,
            },
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
