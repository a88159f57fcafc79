//! Where a plugin's named endpoints live, and the rule that its requests go
//! nowhere else.

use crate::budget::Limiter;
use crate::model::{EndpointDecl, Request};
use crate::secret::Secret;
use http::header::AUTHORIZATION;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;
use url::Url;

/// What operators configured about endpoints (flags merged with the config file).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--endpoint NAME=URL`, in order.
    pub urls: Vec<(String, String)>,
    /// The config file's `[endpoints]`.
    pub file_urls: BTreeMap<String, String>,
    /// `--budget NAME=REQUESTS/SECONDS` and `[budgets]`: requests per window.
    pub budgets: BTreeMap<String, (u32, Duration)>,
}

/// A request ready to send: where, and with which headers (the endpoint's token included).
#[derive(Debug, Clone)]
pub struct Prepared {
    pub url: Url,
    pub headers: Vec<(String, String)>,
}

/// Resolved base URLs of a plugin's declared endpoints.
#[derive(Debug, Clone)]
pub struct Endpoints {
    bases: BTreeMap<String, Url>,
    /// Per endpoint, where its base URL came from (for the log).
    origins: BTreeMap<String, String>,
    tokens: BTreeMap<String, Secret>,
    budgets: BTreeMap<String, (u32, Duration)>,
    /// Endpoints whose budget the operator set: the server's policy does not change it.
    pinned: BTreeSet<String>,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    #[error("endpoint {name:?} has an invalid base URL{url} (from {origin}): {reason}")]
    BadBaseUrl {
        name: String,
        /// Empty when the value came from the environment, which may hold secrets.
        url: String,
        origin: String,
        reason: String,
    },
    #[error(
        "the plugin asks to read the host's own variable {0} for endpoint {1:?}; plugins may not \
         read the host's configuration or secrets"
    )]
    ForbiddenEnv(String, String),
    #[error("--endpoint {0:?} names no endpoint of this plugin (it declares: {1})")]
    Unknown(String, String),
    #[error("refused a request to undeclared endpoint {0:?} (the plugin declares: {1})")]
    Undeclared(String, String),
    #[error("refused a request to {url}: it is outside endpoint {endpoint:?} ({base})")]
    OutsideEndpoint {
        url: String,
        endpoint: String,
        base: String,
    },
    #[error("refused a request with an unusable target {0:?}: {1}")]
    BadTarget(String, String),
    #[error("it leaves endpoint {endpoint:?} ({base})")]
    LeavesEndpoint { endpoint: String, base: String },
}

impl Endpoints {
    /// Resolves each declared endpoint: `--endpoint` flag, then the plugin's
    /// environment variable for it, then the config file's
    /// `[endpoints]` table, then the plugin's default.
    pub fn resolve(
        decls: &[EndpointDecl],
        overrides: &Overrides,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Endpoints, EndpointError> {
        let (flags, file) = (&overrides.urls, &overrides.file_urls);
        let declared = || {
            decls
                .iter()
                .map(|d| d.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        for name in flags.iter().map(|(n, _)| n).chain(overrides.budgets.keys()) {
            if !decls.iter().any(|d| &d.name == name) {
                return Err(EndpointError::Unknown(name.clone(), declared()));
            }
        }
        let host_vars = crate::cli::variables();
        for d in decls {
            for var in d.env_override.iter().chain(&d.token_env) {
                if is_host_owned(var, &host_vars) {
                    return Err(EndpointError::ForbiddenEnv(var.clone(), d.name.clone()));
                }
            }
        }
        let mut bases = BTreeMap::new();
        let mut origins = BTreeMap::new();
        let mut tokens = BTreeMap::new();
        let mut budgets = BTreeMap::new();
        for d in decls {
            let from_env = d.env_override.as_deref().and_then(|var| {
                env(var)
                    .filter(|v| !v.trim().is_empty())
                    .map(|v| (v, format!("environment variable {var}")))
            });
            let (url, source) = flags
                .iter()
                .rev()
                .find(|(n, _)| n == &d.name)
                .map(|(_, u)| (u.clone(), "--endpoint".to_string()))
                .or(from_env)
                .or_else(|| {
                    file.get(&d.name)
                        .map(|u| (u.clone(), "the config file".to_string()))
                })
                .unwrap_or_else(|| (d.default_base_url.clone(), "the plugin default".to_string()));
            let shown = if source.starts_with("environment") {
                String::new()
            } else {
                format!(" {url:?}")
            };
            let base = parse_base(&url).map_err(|reason| EndpointError::BadBaseUrl {
                name: d.name.clone(),
                url: shown,
                origin: source.clone(),
                reason,
            })?;
            let token = d
                .token_env
                .iter()
                .find_map(|var| env(var).filter(|v| !v.trim().is_empty()))
                .map(Secret::new);
            let budget = overrides.budgets.get(&d.name).copied().or_else(|| {
                d.budget.map(|b| {
                    let requests = if token.is_some() {
                        b.requests_with_token
                    } else {
                        b.requests
                    };
                    (requests, Duration::from_secs(u64::from(b.window_seconds)))
                })
            });
            if let Some(token) = token {
                tokens.insert(d.name.clone(), token);
            }
            if let Some(budget) = budget {
                budgets.insert(d.name.clone(), budget);
            }
            bases.insert(d.name.clone(), base);
            origins.insert(d.name.clone(), source);
        }
        Ok(Endpoints {
            bases,
            origins,
            tokens,
            budgets,
            pinned: overrides.budgets.keys().cloned().collect(),
        })
    }

    /// One limiter per endpoint with a budget.
    pub fn limiters(&self) -> HashMap<String, Limiter> {
        self.budgets
            .iter()
            .map(|(name, (requests, window))| {
                let pinned = self.pinned.contains(name);
                (name.clone(), Limiter::new(name, *requests, *window, pinned))
            })
            .collect()
    }

    /// The URL and headers of a planned request, with the endpoint's token.
    pub fn prepare(&self, req: &Request) -> Result<Prepared, EndpointError> {
        let url = self.url_for(req)?;
        let mut headers: Vec<(String, String)> = req
            .headers
            .iter()
            .filter(|(n, _)| AUTHORIZATION != n.as_str())
            .cloned()
            .collect();
        if let Some(token) = self.tokens.get(&req.endpoint) {
            headers.push((
                AUTHORIZATION.to_string(),
                format!("Bearer {}", token.expose()),
            ));
        }
        Ok(Prepared { url, headers })
    }

    /// `name = URL (from SOURCE)` per endpoint.
    pub fn describe(&self) -> Vec<String> {
        self.bases
            .iter()
            .map(|(name, url)| {
                let budget = match self.budgets.get(name) {
                    Some((n, w)) => format!(", budget {n} requests per {}s", w.as_secs()),
                    None => String::new(),
                };
                let token = if self.tokens.contains_key(name) {
                    ", with token"
                } else {
                    ""
                };
                format!(
                    "endpoint {name} = {url} (from {}{budget}{token})",
                    self.origins[name]
                )
            })
            .collect()
    }

    /// Whether `url` (e.g. a redirect's target) lies within endpoint `name`.
    pub fn within(&self, name: &str, url: &Url) -> Result<(), EndpointError> {
        let base = self.bases.get(name).ok_or_else(|| {
            EndpointError::Undeclared(
                name.to_string(),
                self.bases.keys().cloned().collect::<Vec<_>>().join(", "),
            )
        })?;
        if is_under(url, base) {
            Ok(())
        } else {
            Err(EndpointError::LeavesEndpoint {
                endpoint: name.to_string(),
                base: base.to_string(),
            })
        }
    }

    /// The URL a request goes to, if it stays within its declared endpoint.
    pub fn url_for(&self, req: &Request) -> Result<Url, EndpointError> {
        let base = self.bases.get(&req.endpoint).ok_or_else(|| {
            EndpointError::Undeclared(
                req.endpoint.clone(),
                self.bases.keys().cloned().collect::<Vec<_>>().join(", "),
            )
        })?;
        let bad = |e: String| EndpointError::BadTarget(req.target.clone(), e);
        let mut url = if req.target.starts_with("http://") || req.target.starts_with("https://") {
            Url::parse(&req.target).map_err(|e| bad(e.to_string()))?
        } else if req.target.starts_with('/') {
            let joined = format!("{}{}", base.as_str().trim_end_matches('/'), req.target);
            Url::parse(&joined).map_err(|e| bad(e.to_string()))?
        } else {
            return Err(bad(
                "expected a path starting with '/' or an http(s) URL".into()
            ));
        };
        if !is_under(&url, base) {
            return Err(EndpointError::OutsideEndpoint {
                url: url.to_string(),
                endpoint: req.endpoint.clone(),
                base: base.to_string(),
            });
        }
        if !req.query.is_empty() {
            url.query_pairs_mut().extend_pairs(&req.query);
        }
        Ok(url)
    }
}

/// Variables that configure the host or hold secrets: those its command line reads, its
/// own `AIOD_HOST_` ones, and any secret or password. No plugin may read them.
fn is_host_owned(var: &str, host_vars: &BTreeSet<String>) -> bool {
    let v = var.to_ascii_uppercase();
    host_vars.contains(&v)
        || v == "HOME"
        || v.starts_with("AIOD_HOST_")
        || v.contains("SECRET")
        || v.contains("PASSWORD")
}

fn parse_base(text: &str) -> Result<Url, String> {
    let url = Url::parse(text.trim()).map_err(|e| e.to_string())?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err("a base URL takes no user name or password".into());
    }
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err("expected an http(s) URL with a host".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("a base URL takes no query or fragment".into());
    }
    Ok(url)
}

/// Same origin, and the path within the base path (after normalisation, so
/// `..` cannot climb out of it).
fn is_under(url: &Url, base: &Url) -> bool {
    let base_path = base.path().trim_end_matches('/');
    url.scheme() == base.scheme()
        && url.host() == base.host()
        && url.port_or_known_default() == base.port_or_known_default()
        && url.username().is_empty()
        && url.password().is_none()
        && (url.path() == base_path
            || url.path().starts_with(&format!("{base_path}/"))
            || base_path.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decls() -> Vec<EndpointDecl> {
        vec![
            EndpointDecl {
                name: "hub".into(),
                default_base_url: "https://huggingface.co".into(),
                env_override: Some("HF_ENDPOINT".into()),
                description: String::new(),
                budget: None,
                token_env: vec![],
            },
            EndpointDecl {
                name: "ds".into(),
                default_base_url: "https://ds.example".into(),
                env_override: None,
                description: String::new(),
                budget: None,
                token_env: vec![],
            },
        ]
    }

    fn req(endpoint: &str, target: &str) -> Request {
        Request {
            endpoint: endpoint.into(),
            target: target.into(),
            query: vec![("dataset".into(), "a/b c".into())],
            headers: vec![],
        }
    }

    fn resolve(
        flags: &[(&str, &str)],
        env: &[(&str, &str)],
        file: &[(&str, &str)],
    ) -> Result<Endpoints, EndpointError> {
        let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        let overrides = Overrides {
            urls: pairs(flags),
            file_urls: pairs(file).into_iter().collect(),
            budgets: BTreeMap::new(),
        };
        let env: BTreeMap<String, String> = pairs(env).into_iter().collect();
        Endpoints::resolve(&decls(), &overrides, |k| env.get(k).cloned())
    }

    #[test]
    fn precedence_is_flag_env_file_default() {
        let url = |e: &Endpoints| {
            e.url_for(&req("hub", "/x"))
                .unwrap()
                .origin()
                .ascii_serialization()
        };
        let file = [("hub", "http://file")];
        let env = [("HF_ENDPOINT", "http://env")];
        assert_eq!(
            url(&resolve(&[("hub", "http://flag")], &env, &file).unwrap()),
            "http://flag"
        );
        assert_eq!(url(&resolve(&[], &env, &file).unwrap()), "http://env");
        assert_eq!(url(&resolve(&[], &[], &file).unwrap()), "http://file");
        assert_eq!(
            url(&resolve(&[], &[], &[]).unwrap()),
            "https://huggingface.co"
        );
    }

    #[test]
    fn relative_targets_keep_the_base_path_and_encode_the_query() {
        let e = resolve(&[("hub", "http://127.0.0.1:9/mirror/")], &[], &[]).unwrap();
        assert_eq!(
            e.url_for(&req("hub", "/parquet")).unwrap().as_str(),
            "http://127.0.0.1:9/mirror/parquet?dataset=a%2Fb+c"
        );
    }

    #[test]
    fn requests_outside_declared_endpoints_are_refused() {
        let e = resolve(&[("hub", "http://127.0.0.1:9/mirror")], &[], &[]).unwrap();
        let refused = |endpoint: &str, target: &str| e.url_for(&req(endpoint, target)).unwrap_err();
        assert!(matches!(
            refused("other", "/x"),
            EndpointError::Undeclared(..)
        ));
        assert_eq!(
            refused("other", "/x").to_string(),
            "refused a request to undeclared endpoint \"other\" (the plugin declares: ds, hub)"
        );
        for target in [
            "https://evil.example/mirror/x",
            "http://127.0.0.1:10/mirror/x",
            "http://127.0.0.1:9/elsewhere",
            "http://127.0.0.1:9/mirror/../etc",
            "/../secret",
            "http://user@127.0.0.1:9/mirror/x",
        ] {
            assert!(
                matches!(
                    refused("hub", target),
                    EndpointError::OutsideEndpoint { .. }
                ),
                "{target}"
            );
        }
        assert!(matches!(
            refused("hub", "relative"),
            EndpointError::BadTarget(..)
        ));
        assert!(
            e.url_for(&req("hub", "http://127.0.0.1:9/mirror/api?x=1"))
                .is_ok()
        );
    }

    #[test]
    fn tokens_raise_the_budget_and_go_only_to_their_endpoint() {
        let mut d = decls();
        d[0].budget = Some(crate::model::Budget {
            requests: 500,
            requests_with_token: 1000,
            window_seconds: 300,
        });
        d[0].token_env = vec!["HF_TOKEN".into(), "AIOD_HF_API_KEY".into()];
        let env = |k: &str| (k == "AIOD_HF_API_KEY").then(|| "hf_abc".to_string());
        let e = Endpoints::resolve(&d, &Overrides::default(), env).unwrap();
        assert_eq!(e.budgets["hub"], (1000, Duration::from_secs(300)));
        let hub = e.prepare(&req("hub", "/x")).unwrap();
        assert!(
            hub.headers
                .contains(&("authorization".into(), "Bearer hf_abc".into()))
        );
        assert!(e.prepare(&req("ds", "/x")).unwrap().headers.is_empty());
        assert!(e.describe()[1].contains("budget 1000 requests per 300s, with token"));
        assert!(!e.describe().join(" ").contains("hf_abc"));

        let anonymous = Endpoints::resolve(&d, &Overrides::default(), |_| None).unwrap();
        assert_eq!(anonymous.budgets["hub"].0, 500);
        let mut o = Overrides::default();
        o.budgets.insert("hub".into(), (7, Duration::from_secs(1)));
        assert_eq!(Endpoints::resolve(&d, &o, env).unwrap().budgets["hub"].0, 7);
    }

    #[test]
    fn plugins_may_not_read_the_hosts_variables_or_secrets() {
        for var in [
            "AIOD_API_SERVER",
            "aiod_client_id",
            "PLATFORM_NAME",
            "AIOD_HOST_STATE",
            "AIOD_HOST_CACHE_DIR",
            "CLIENT_SECRET",
            "DB_PASSWORD",
            "HOME",
        ] {
            let mut d = decls();
            d[0].token_env = vec![var.into()];
            assert_eq!(
                Endpoints::resolve(&d, &Overrides::default(), |_| None).unwrap_err(),
                EndpointError::ForbiddenEnv(var.into(), "hub".into()),
            );
        }
        // A platform's own variable is the plugin's to name, whatever its prefix.
        let mut d = decls();
        d[0].token_env = vec!["HF_TOKEN".into(), "AIOD_HF_API_KEY".into()];
        assert!(Endpoints::resolve(&d, &Overrides::default(), |_| None).is_ok());
    }

    #[test]
    fn bad_configuration_is_reported() {
        let err = resolve(&[("nope", "http://x")], &[], &[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--endpoint \"nope\" names no endpoint of this plugin (it declares: hub, ds)"
        );
        let err = resolve(&[], &[("HF_ENDPOINT", "ftp://x")], &[]).unwrap_err();
        assert!(
            err.to_string().contains("environment variable HF_ENDPOINT"),
            "{err}"
        );
    }
}
