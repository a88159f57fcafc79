//! Performing a planned request over HTTP.

use crate::model::Response;
use std::time::Duration;
use url::Url;

/// The one HTTP client of a run: connections are pooled and reused.
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
}

/// No HTTP response at all: refused connection, timeout, DNS failure, broken body.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TransportError(String);

impl Fetcher {
    pub fn new(timeout: Duration) -> anyhow::Result<Fetcher> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("aiod-host/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Fetcher { client })
    }

    /// The shared client, for the other callers of the same hosts' pools.
    pub fn client(&self) -> reqwest::Client {
        self.client.clone()
    }

    pub async fn get(
        &self,
        url: Url,
        headers: &[(String, String)],
    ) -> Result<Response, TransportError> {
        let mut req = self.client.get(url);
        for (name, value) in headers {
            req = req.header(name, value);
        }
        let resp = req.send().await.map_err(describe)?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = resp.bytes().await.map_err(describe)?.to_vec();
        Ok(Response {
            status,
            headers,
            body,
        })
    }
}

/// reqwest's message plus its causes ("connection refused" lives in the chain).
pub fn describe(e: reqwest::Error) -> TransportError {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let mut causes = Vec::new();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        let text = s.to_string();
        if !causes.contains(&text) {
            causes.push(text);
        }
        source = s.source();
    }
    let url = e.url().map(|u| format!(" ({u})")).unwrap_or_default();
    match causes.last() {
        Some(root) => TransportError(format!("{kind}{url}: {root}")),
        None => TransportError(format!("{kind}{url}")),
    }
}
