//! How a planned request becomes a response: over HTTP (`Live`), or from
//! recorded responses (`plugin test`, see `fixtures`). The sync loop does not
//! know which.

use crate::endpoints::Endpoints;
use crate::fetch::{FetchError, Fetcher};
use crate::model::{Request, Response};

/// Why there is no response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The request is outside the plugin's declared endpoints.
    Refused(String),
    /// No response after the retries.
    Unreachable(String),
    /// A server asked for a wait longer than the cap.
    Paused(String),
}

impl Failure {
    pub fn message(&self) -> &str {
        match self {
            Failure::Refused(m) | Failure::Unreachable(m) | Failure::Paused(m) => m,
        }
    }
}

pub trait Transport {
    /// `what` names the request in logs.
    fn get(&self, request: &Request, what: &str)
    -> impl Future<Output = Result<Response, Failure>>;
}

/// Real HTTP within the endpoints' base URLs, budgets and retries.
pub struct Live<'a> {
    pub fetcher: &'a Fetcher,
    pub endpoints: &'a Endpoints,
}

impl Transport for Live<'_> {
    async fn get(&self, request: &Request, what: &str) -> Result<Response, Failure> {
        let prepared = self
            .endpoints
            .prepare(request)
            .map_err(|e| Failure::Refused(e.to_string()))?;
        tracing::debug!(url = %prepared.url, "{what}");
        let what = format!("{what} {}", prepared.url);
        self.fetcher
            .send(Some(&request.endpoint), &what, |c| {
                let mut req = c.get(prepared.url.clone());
                for (name, value) in &prepared.headers {
                    req = req.header(name, value);
                }
                req
            })
            .await
            .map_err(|e| match e {
                FetchError::Transport(message) => Failure::Unreachable(message),
                gave_up @ FetchError::GaveUp { .. } => Failure::Paused(gave_up.to_string()),
            })
    }
}
