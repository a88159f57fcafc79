//! How a planned request becomes a response: over HTTP (`Live`), or from
//! recorded responses (`plugin test`, see `fixtures`). The sync loop does not
//! know which.

use crate::answers::AnswerRules;
use crate::endpoints::Endpoints;
use crate::fetch::{BodyLimit, FetchError, Fetcher, Pause};
use crate::model::{Headers as _, Request, Response, Verdict};
use http::header::LOCATION;

/// Redirects followed for one request, as browsers and HTTP clients cap them.
const MAX_REDIRECTS: usize = 5;

/// Why there is no response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// The request is outside the plugin's declared endpoints.
    #[error("{0}")]
    Refused(String),
    /// No response after the retries.
    #[error("{0}")]
    Unreachable(String),
    /// A server asked for a wait longer than the cap.
    #[error("{0}")]
    Paused(Pause),
    /// The answer's body is larger than the request's limit.
    #[error("{0}")]
    TooLarge(String),
}

pub trait Transport {
    /// `what` names the request in logs; `answers` says which answers of the
    /// request's endpoint are worth retrying; `limit` caps the body.
    fn get(
        &self,
        request: &Request,
        what: &str,
        answers: &AnswerRules,
        limit: BodyLimit,
    ) -> impl Future<Output = Result<Response, Failure>>;
}

/// No remote request at all (`remap`, which maps from stored answers): any
/// request is refused.
pub struct Offline;

impl Transport for Offline {
    async fn get(
        &self,
        request: &Request,
        what: &str,
        _answers: &AnswerRules,
        _limit: BodyLimit,
    ) -> Result<Response, Failure> {
        Err(Failure::Refused(format!(
            "{what} ({} {}) refused: this command makes no remote request",
            request.endpoint, request.target
        )))
    }
}

/// Real HTTP within the endpoints' base URLs, budgets and retries.
pub struct Live<'a> {
    pub fetcher: &'a Fetcher,
    pub endpoints: &'a Endpoints,
}

impl Transport for Live<'_> {
    /// Follows up to `MAX_REDIRECTS` redirects that stay within the request's
    /// endpoint (the Hub answers 307 for a renamed repo); each one costs a
    /// request of the endpoint's budget. A redirect anywhere else is refused.
    async fn get(
        &self,
        request: &Request,
        what: &str,
        answers: &AnswerRules,
        limit: BodyLimit,
    ) -> Result<Response, Failure> {
        let refused = |message: String| Failure::Refused(message);
        let prepared = self
            .endpoints
            .prepare(request)
            .map_err(|e| refused(e.to_string()))?;
        let retryable = |status: Option<u16>, headers: &[(String, String)]| {
            answers.verdict(&request.endpoint, status, headers) == Verdict::Retry
        };
        let mut url = prepared.url.clone();
        for redirects in 0.. {
            tracing::debug!(url = %url, "{what}");
            let label = format!("{what} {url}");
            let response = self
                .fetcher
                .send_judged(Some(&request.endpoint), &label, retryable, limit, |c| {
                    let mut req = c.get(url.clone());
                    for (name, value) in &prepared.headers {
                        req = req.header(name, value);
                    }
                    req
                })
                .await
                .map_err(|e| match e {
                    FetchError::Transport(message) => Failure::Unreachable(message),
                    FetchError::GaveUp(pause) => Failure::Paused(pause),
                    FetchError::TooLarge(message) => Failure::TooLarge(message),
                })?;
            let Some(location) = redirect_location(&response) else {
                return Ok(response);
            };
            let next = url.join(location).map_err(|e| {
                refused(format!(
                    "refused a redirect from {url} to {location:?}: not a usable URL ({e})"
                ))
            })?;
            self.endpoints
                .within(&request.endpoint, &next)
                .map_err(|e| refused(format!("refused a redirect from {url} to {next}: {e}")))?;
            if redirects == MAX_REDIRECTS {
                return Err(refused(format!(
                    "refused a redirect from {url} to {next}: more than {MAX_REDIRECTS} redirects \
                     from {}",
                    prepared.url
                )));
            }
            tracing::info!("{what}: HTTP {} moved {url} to {next}", response.status);
            url = next;
        }
        unreachable!("the loop returns")
    }
}

/// The `Location` of a redirect (301, 302, 303, 307, 308), if it is one.
fn redirect_location(response: &Response) -> Option<&str> {
    if !matches!(response.status, 301 | 302 | 303 | 307 | 308) {
        return None;
    }
    response.headers.header(&LOCATION).filter(|v| !v.is_empty())
}
