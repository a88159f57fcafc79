//! Performing requests over HTTP: one pooled client, a budget per endpoint,
//! and retries of transient failures (policy in `retry`).

use crate::budget::Limiter;
use crate::model::Response;
use crate::retry::{Decision, RetryPolicy, decide, jitter};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The longest one transfer may take, so that a server trickling a byte now
/// and then cannot hold a request for ever: ample for a multi-MB page on a
/// slow link.
const TRANSFER_CEILING: Duration = Duration::from_secs(15 * 60);

/// The largest body one answer may have, and the flag that sets it (for
/// the message). Bodies are read in pieces and given up at the limit, so
/// that no server can make the host hold more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimit {
    pub bytes: usize,
    pub flag: &'static str,
}

/// The limits of listing pages (and AIoD's, Keycloak's answers), and of
/// follow-ups and lookups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimits {
    pub listing: BodyLimit,
    pub follow_up: BodyLimit,
}

/// The one HTTP client of a run: connections are pooled and reused.
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    policy: RetryPolicy,
    /// For requests that name no other limit (AIoD, Keycloak).
    limit: BodyLimit,
    budgets: Arc<HashMap<String, Limiter>>,
    /// Milliseconds spent waiting for budgets and retries.
    waited_ms: Arc<AtomicU64>,
}

/// A server (or a request budget) asked for a longer wait than the cap: the
/// run stops resumably, and says what to wait for and how long.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} asked to wait {wait:?}, longer than the cap of {cap:?}")]
pub struct Pause {
    pub what: String,
    pub wait: Duration,
    pub cap: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// No HTTP response at all, after the retries.
    #[error("{0}")]
    Transport(String),
    /// The server asked for a longer wait than the cap allows.
    #[error("{0}")]
    GaveUp(Pause),
    /// The body is larger than the limit (not retried: it would be again).
    #[error("{0}")]
    TooLarge(String),
}

fn client(timeout: Duration) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .read_timeout(timeout)
        .timeout(TRANSFER_CEILING.max(timeout))
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .user_agent(concat!("aiod-host/", env!("CARGO_PKG_VERSION")))
        // A redirect could lead outside the plugin's declared endpoints and budgets.
        .redirect(reqwest::redirect::Policy::none())
        .build()
}

/// Why reading an answer failed.
enum ReadError {
    Transport(String),
    TooLarge(String),
}

impl Fetcher {
    /// `timeout` is the longest silence: waiting to connect (at most 10 s),
    /// for an answer, or between two reads of its body. A whole transfer may
    /// take much longer (`TRANSFER_CEILING`): a full Hugging Face listing page
    /// is several MB, which a slow link takes longer than any short limit to
    /// carry, while a dead connection still fails within `timeout`.
    pub fn new(
        timeout: Duration,
        policy: RetryPolicy,
        budgets: HashMap<String, Limiter>,
        limit: BodyLimit,
    ) -> anyhow::Result<Fetcher> {
        Ok(Fetcher {
            client: client(timeout)?,
            policy,
            limit,
            budgets: Arc::new(budgets),
            waited_ms: Arc::default(),
        })
    }

    /// This fetcher with another `timeout` (budgets, retries and the time
    /// waited stay shared), for requests that are known to be slow.
    pub fn with_timeout(&self, timeout: Duration) -> anyhow::Result<Fetcher> {
        Ok(Fetcher {
            client: client(timeout)?,
            ..self.clone()
        })
    }

    /// Time spent waiting for budgets and before retries so far.
    pub fn waited(&self) -> Duration {
        Duration::from_millis(self.waited_ms.load(Ordering::Relaxed))
    }

    async fn pause(&self, d: Duration) {
        self.waited_ms
            .fetch_add(d.as_millis() as u64, Ordering::Relaxed);
        crate::metrics::waited(d);
        tokio::time::sleep(d).await;
    }

    /// Sends the request `build` makes, within the budget of `endpoint` (if it
    /// has one), retrying transient failures (the host's default verdicts,
    /// `answers`). A retryable status that persists is returned as the response.
    pub async fn send(
        &self,
        endpoint: Option<&str>,
        what: &str,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<Response, FetchError> {
        let defaults = crate::answers::AnswerRules::default();
        let retryable = |status: Option<u16>, headers: &[(String, String)]| {
            defaults.verdict("", status, headers) == crate::model::Verdict::Retry
        };
        self.send_judged(endpoint, what, retryable, self.limit, build)
            .await
    }

    /// `send`, with `retryable(status, headers)` deciding which answers are
    /// worth another try (`None`: no answer at all).
    pub async fn send_judged(
        &self,
        endpoint: Option<&str>,
        what: &str,
        retryable: impl Fn(Option<u16>, &[(String, String)]) -> bool,
        limit: BodyLimit,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<Response, FetchError> {
        let limiter = endpoint.and_then(|e| self.budgets.get(e));
        let mut retries = 0;
        loop {
            if let Some(l) = limiter {
                let waited = l.acquire(self.policy.max_wait).await.map_err(|wait| {
                    FetchError::GaveUp(Pause {
                        what: format!("the request budget of {}", endpoint.unwrap_or("")),
                        wait,
                        cap: self.policy.max_wait,
                    })
                })?;
                if !waited.is_zero() {
                    self.waited_ms
                        .fetch_add(waited.as_millis() as u64, Ordering::Relaxed);
                    crate::metrics::waited(waited);
                    tracing::debug!(
                        ?waited,
                        "waited for the request budget of {}",
                        endpoint.unwrap_or("")
                    );
                }
            }
            let (host, outcome) = match build(&self.client).build() {
                Ok(request) => {
                    let url = request.url();
                    let host = format!(
                        "{}:{}",
                        url.host_str().unwrap_or(""),
                        url.port_or_known_default().unwrap_or(0)
                    );
                    let outcome = match self.client.execute(request).await {
                        Ok(resp) => match read(resp, limit).await {
                            Ok(r) => Ok(r),
                            Err(ReadError::Transport(e)) => Err(e),
                            Err(ReadError::TooLarge(e)) => {
                                crate::metrics::request(&host, None);
                                return Err(FetchError::TooLarge(format!("{what}: {e}")));
                            }
                        },
                        Err(e) => Err(describe(e)),
                    };
                    (host, outcome)
                }
                Err(e) => (String::new(), Err(describe(e))),
            };
            let (status, headers) = match &outcome {
                Ok(r) => (Some(r.status), r.headers.as_slice()),
                Err(_) => (None, &[][..]),
            };
            crate::metrics::request(&host, status);
            if let (Some(l), Ok(r)) = (limiter, &outcome) {
                l.observe(&r.headers).await;
            }
            let retry = retryable(status, headers);
            match decide(&self.policy, retries, retry, headers, jitter()) {
                Decision::Accept => return outcome.map_err(FetchError::Transport),
                Decision::Retry(wait) => {
                    let why = match &outcome {
                        Ok(r) => format!("HTTP {}", r.status),
                        Err(e) => e.clone(),
                    };
                    tracing::warn!("{what}: {why}; retry {} in {wait:?}", retries + 1);
                    self.pause(wait).await;
                    retries += 1;
                }
                Decision::GiveUp(wait) => {
                    return Err(FetchError::GaveUp(Pause {
                        what: what.to_string(),
                        wait,
                        cap: self.policy.max_wait,
                    }));
                }
            }
        }
    }
}

/// Reads an answer, its body in pieces up to `limit`.
async fn read(mut resp: reqwest::Response, limit: BodyLimit) -> Result<Response, ReadError> {
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
    let too_large = |seen: String| {
        ReadError::TooLarge(format!(
            "the answer is larger than the limit of {} MiB ({seen}; {} sets the limit)",
            limit.bytes >> 20,
            limit.flag
        ))
    };
    let announced = resp.content_length();
    if let Some(length) = announced.filter(|l| *l > limit.bytes as u64) {
        return Err(too_large(format!("{length} bytes announced")));
    }
    // Known lengths are within the limit here; what is reserved up front is
    // still bounded, since a length is only what the server claims.
    let mut body = Vec::with_capacity(announced.unwrap_or(0).min(1 << 20) as usize);
    while let Some(piece) = resp
        .chunk()
        .await
        .map_err(|e| ReadError::Transport(describe(e)))?
    {
        if body.len() + piece.len() > limit.bytes {
            return Err(too_large(format!("more than {} bytes sent", limit.bytes)));
        }
        body.extend_from_slice(&piece);
    }
    Ok(Response {
        status,
        headers,
        body,
    })
}

/// reqwest's message plus its causes ("connection refused" lives in the chain).
pub fn describe(e: reqwest::Error) -> String {
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
        Some(root) => format!("{kind}{url}: {root}"),
        None => format!("{kind}{url}"),
    }
}

#[cfg(test)]
mod tests;
