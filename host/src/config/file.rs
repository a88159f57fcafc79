//! The configuration file: the aiondemand SDK's `config.toml` (as today's
//! operators have it) plus an `[endpoints]` table for plugin base URLs.

use anyhow::{Context as _, Result, bail};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Default, Clone, PartialEq, serde::Deserialize)]
#[serde(default)]
pub struct FileConfig {
    /// Where it was read from; `None` when no file exists.
    #[serde(skip)]
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
    #[serde(skip)]
    pub warnings: Vec<String>,
}

/// The longest silence a request may wait for: a day.
pub const MAX_TIMEOUT_SECONDS: f64 = 86_400.0;

/// The default location, `~/.aiod/config.toml`.
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
    let mut warnings = Vec::new();
    let deserializer = toml::Deserializer::parse(text).map_err(|e| unquoted(text, &e))?;
    let mut config: FileConfig = serde_ignored::deserialize(deserializer, |key| {
        warnings.push(format!("unknown key {:?} ignored", key.to_string()));
    })
    .map_err(|e| unquoted(text, &e))?;
    if let Some(secs) = config.request_timeout_seconds
        && !(0.001..=MAX_TIMEOUT_SECONDS).contains(&secs)
    {
        bail!("request_timeout_seconds must be a number of seconds from 0.001 to 86400");
    }
    config.warnings = warnings;
    Ok(config)
}

/// A TOML error by line and column, without the offending line: it may hold a secret.
fn unquoted(text: &str, e: &toml::de::Error) -> anyhow::Error {
    let message = e.message().trim_end_matches('.');
    match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            anyhow::anyhow!("not valid TOML at line {line}, column {column}: {message}")
        }
        None => anyhow::anyhow!("not valid TOML: {message}"),
    }
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
        assert!(parse("request_timeout_seconds = 1e300").is_err());
        assert!(parse("request_timeout_seconds = 0").is_err());
    }

    #[test]
    fn a_parse_error_names_the_place_but_never_quotes_the_line() {
        let text = "api_server = 'http://x/'\nclient_secret = \"s3cr3t-value";
        let err = parse(text).unwrap_err().to_string();
        assert!(
            err.starts_with("not valid TOML at line 2, column "),
            "{err}"
        );
        assert!(!err.contains("s3cr3t"), "{err}");
        let err = parse("client_id = 'a'\nversion = 2")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("not valid TOML at line 2, column "),
            "{err}"
        );
        assert!(!err.contains("version = 2"), "{err}");
    }
}
