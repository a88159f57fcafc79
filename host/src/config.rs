//! The configuration file: the aiondemand SDK's `config.toml` (as today's
//! operators have it) plus an `[endpoints]` table for plugin base URLs.

use anyhow::{Context as _, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Default, Clone, PartialEq)]
pub struct FileConfig {
    /// Where it was read from; `None` when no file exists.
    pub path: Option<PathBuf>,
    pub endpoints: BTreeMap<String, String>,
    pub request_timeout_seconds: Option<f64>,
    /// The SDK's AIoD settings, as written (defaults are applied by `aiod::settings`).
    pub api_server: Option<String>,
    pub version: Option<String>,
    pub auth_server: Option<String>,
    pub realm: Option<String>,
    pub client_id: Option<String>,
    /// Unknown keys and the like: worth a warning, not a failure.
    pub warnings: Vec<String>,
}

/// The default location, `~/.aiod/config.toml`.
/// The longest silence a request may wait for: a day.
pub const MAX_TIMEOUT_SECONDS: f64 = 86_400.0;

pub fn default_path() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|h| Path::new(&h).join(".aiod").join("config.toml"))
}

/// Reads `explicit` (which must exist) or else the default file if it exists.
pub fn load(explicit: Option<&Path>) -> Result<FileConfig> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None => match default_path() {
            Some(p) if p.exists() => p,
            _ => return Ok(FileConfig::default()),
        },
    };
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    let mut config =
        parse(&text).with_context(|| format!("invalid config file {}", path.display()))?;
    config.path = Some(path);
    Ok(config)
}

pub fn parse(text: &str) -> Result<FileConfig> {
    let table: toml::Table = toml::from_str(text)?;
    let mut config = FileConfig::default();
    for (key, value) in &table {
        match key.as_str() {
            "endpoints" => {
                let t = value
                    .as_table()
                    .context("[endpoints] must be a table of name = \"base URL\"")?;
                for (name, url) in t {
                    let url = url
                        .as_str()
                        .with_context(|| format!("endpoints.{name} must be a string URL"))?;
                    config.endpoints.insert(name.clone(), url.to_string());
                }
            }
            "request_timeout_seconds" => {
                let secs = value
                    .as_float()
                    .or_else(|| value.as_integer().map(|i| i as f64))
                    .filter(|s| (0.001..=MAX_TIMEOUT_SECONDS).contains(s))
                    .context(
                        "request_timeout_seconds must be a number of seconds from 0.001 to 86400",
                    )?;
                config.request_timeout_seconds = Some(secs);
            }
            "api_server" | "version" | "auth_server" | "realm" | "client_id" => {
                let text = value
                    .as_str()
                    .with_context(|| format!("{key} must be a string"))?
                    .to_string();
                let slot = match key.as_str() {
                    "api_server" => &mut config.api_server,
                    "version" => &mut config.version,
                    "auth_server" => &mut config.auth_server,
                    "realm" => &mut config.realm,
                    _ => &mut config.client_id,
                };
                *slot = Some(text);
            }
            other => config
                .warnings
                .push(format!("unknown key {other:?} ignored")),
        }
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_sdk_file_with_endpoints_and_warns_on_unknown_keys() {
        let c = parse(
            "api_server = 'http://localhost/'\nclient_id = 'x'\nrequest_timeout_seconds = 5\n\
             colour = 'blue'\n[endpoints]\nhub = 'http://127.0.0.1:8900'\n",
        )
        .unwrap();
        assert_eq!(c.endpoints["hub"], "http://127.0.0.1:8900");
        assert_eq!(c.api_server.as_deref(), Some("http://localhost/"));
        assert_eq!(c.client_id.as_deref(), Some("x"));
        assert_eq!(c.version, None);
        assert_eq!(c.request_timeout_seconds, Some(5.0));
        assert_eq!(c.warnings, ["unknown key \"colour\" ignored"]);
    }

    #[test]
    fn rejects_wrong_types() {
        assert!(parse("request_timeout_seconds = 'soon'").is_err());
        assert!(parse("endpoints = 'x'").is_err());
        assert!(parse("[endpoints]\nhub = 3").is_err());
        assert!(parse("version = 2").is_err());
    }
}
