//! Faults injected into either server: answers that replace the normal one for a number of
//! requests or for a while, checked before anything else the server does.

use std::convert::Infallible;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::StreamExt as _;
use serde_json::json;

use crate::{Canned, lock};

/// What an injected fault does to a matching request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answers this instead of handling the request.
    Status {
        status: u16,
        headers: Vec<(String, String)>,
        content_type: String,
        body: String,
    },
    /// Handles the request normally, but answers only after this long (e.g. to outlast a
    /// client's timeout).
    Delay(Duration),
    /// Closes the connection without any answer, so the client sees a transport error.
    Drop,
    /// Handles the request normally and sends the head at once, but the body (with its
    /// `Content-Length`) in pieces of `chunk` bytes, each after a pause of `every`: a client
    /// whose total timeout is shorter than the whole transfer fails, one with only an idle
    /// timeout longer than `every` succeeds.
    Trickle { chunk: usize, every: Duration },
    /// Answers 200 with a body that never ends (no `Content-Length`), as fast as the client
    /// reads it: a client that reads whole bodies into memory grows without bound.
    Endless,
    /// Answers 200 with a body of this many bytes, announced in `Content-Length` and streamed
    /// (the server holds none of it).
    Huge(u64),
    /// Answers this status with a JSON error that quotes the request's `Authorization` header,
    /// as some proxies' and Keycloak's error pages do.
    EchoAuthorization(u16),
}

impl Fault {
    /// `status` with a JSON `{"error": "<reason phrase>"}` body and no extra headers.
    pub fn status(status: u16) -> Fault {
        let reason = StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("Injected fault");
        let body = json!({ "error": reason }).to_string();
        Fault::answering(Canned::json(status, body), Vec::new())
    }

    /// The plain-text `500 Internal Server Error.` of a proxy in front of the service.
    pub fn text_500() -> Fault {
        let canned = Canned::from_example("parquet-500-internal-server-error.txt");
        Fault::answering(canned, Vec::new())
    }

    /// 429 with `Retry-After: secs`.
    pub fn retry_after(secs: u64) -> Fault {
        Fault::status(429).with_header("Retry-After", &secs.to_string())
    }

    /// 429 as Hugging Face answers over its budget: its body, `RateLimit: "api";r=0;t=secs`
    /// and the policy of its anonymous API quota (500 requests per 300 s).
    pub fn rate_limited(secs: u64) -> Fault {
        let headers = rate_limit_headers(0, secs, 500, 300);
        Fault::answering(quota_exceeded(500, 300), headers.into())
    }

    /// This fault with one more header, if it is a `Status` one (the others send none).
    pub fn with_header(mut self, name: &str, value: &str) -> Fault {
        if let Fault::Status { headers, .. } = &mut self {
            headers.push((name.to_owned(), value.to_owned()));
        }
        self
    }

    /// A `Status` fault answering `canned` with its headers and then `headers`.
    pub(crate) fn answering(canned: Canned, headers: Vec<(String, String)>) -> Fault {
        let Canned {
            status,
            content_type,
            body,
            headers: mut all,
        } = canned;
        all.extend(headers);
        Fault::Status {
            status,
            headers: all,
            content_type,
            body,
        }
    }
}

/// Hugging Face's 429 over a budget of `quota` requests per `window_secs` (the rate-limit
/// headers go with it), worded as the hub-docs rate-limit page quotes it.
pub(crate) fn quota_exceeded(quota: u32, window_secs: u64) -> Canned {
    // `f64` prints whole numbers without a fraction: 300 s is "5" minutes.
    let minutes = window_secs as f64 / 60.0;
    let message = format!(
        "We had to rate limit you, you hit the quota of {quota} api requests per {minutes} \
         minutes period. Upgrade to a PRO user or Team/Enterprise organization account \
         (https://hf.co/pricing) to get higher limits. See \
         https://huggingface.co/docs/hub/rate-limits"
    );
    Canned::json(429, json!({ "error": message }).to_string())
}

/// Hugging Face's rate-limit headers: `remaining` requests for the next `reset_secs` seconds,
/// out of `quota` per fixed window of `window_secs`.
pub(crate) fn rate_limit_headers(
    remaining: u32,
    reset_secs: u64,
    quota: u32,
    window_secs: u64,
) -> [(String, String); 2] {
    [
        (
            "RateLimit".to_owned(),
            format!("\"api\";r={remaining};t={reset_secs}"),
        ),
        (
            "RateLimit-Policy".to_owned(),
            format!("\"fixed window\";\"api\";q={quota};w={window_secs}"),
        ),
    ]
}

/// Adds `headers` to `response`, skipping any that are not valid header text.
pub(crate) fn add_headers(response: &mut Response, headers: &[(String, String)]) {
    for (name, value) in headers {
        let name = HeaderName::try_from(name.as_str());
        let value = HeaderValue::try_from(value.as_str());
        if let (Ok(name), Ok(value)) = (name, value) {
            response.headers_mut().append(name, value);
        }
    }
}

/// Whole seconds, rounded up so that waiting them is always long enough.
pub(crate) fn ceil_secs(duration: Duration) -> u64 {
    duration.as_secs() + u64::from(duration.subsec_nanos() > 0)
}

/// How long an injection lasts.
#[derive(Clone, Copy, Debug)]
enum Lasting {
    /// For this many more matching requests.
    Times(usize),
    /// For every matching request before then.
    Until(Instant),
}

#[derive(Clone, Debug)]
struct Injection {
    /// `None` matches every method.
    method: Option<String>,
    path_prefix: String,
    fault: Fault,
    lasting: Lasting,
}

impl Injection {
    fn spent(&self, now: Instant) -> bool {
        match self.lasting {
            Lasting::Times(remaining) => remaining == 0,
            Lasting::Until(end) => now >= end,
        }
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && path.starts_with(&self.path_prefix)
    }
}

/// A server's injected faults, first injected first used.
#[derive(Clone, Debug, Default)]
pub(crate) struct Faults(Arc<Mutex<Vec<Injection>>>);

impl Faults {
    /// `fault` for the next `times` requests using `method` (any if `None`) on a path starting
    /// with `path_prefix`.
    pub(crate) fn inject(
        &self,
        method: Option<&str>,
        path_prefix: &str,
        fault: Fault,
        times: usize,
    ) {
        lock(&self.0).push(Injection {
            method: method.map(str::to_owned),
            path_prefix: path_prefix.to_owned(),
            fault,
            lasting: Lasting::Times(times),
        });
    }

    /// `fault` for every request during `duration`, ahead of the other injections (which are
    /// not used up meanwhile).
    pub(crate) fn inject_for(&self, duration: Duration, fault: Fault) {
        let injection = Injection {
            method: None,
            path_prefix: String::new(),
            fault,
            lasting: Lasting::Until(Instant::now() + duration),
        };
        lock(&self.0).insert(0, injection);
    }

    /// The fault for this request, using it up.
    fn take(&self, method: &str, path: &str) -> Option<Fault> {
        let now = Instant::now();
        let mut injections = lock(&self.0);
        // Forgetting spent injections keeps long runs from slowing down.
        injections.retain(|i| !i.spent(now));
        let injection = injections.iter_mut().find(|i| i.matches(method, path))?;
        if let Lasting::Times(remaining) = &mut injection.lasting {
            *remaining -= 1;
        }
        Some(injection.fault.clone())
    }
}

/// Middleware applying the first matching injected fault, if any.
pub(crate) async fn apply(State(faults): State<Faults>, request: Request, next: Next) -> Response {
    match faults.take(request.method().as_str(), request.uri().path()) {
        None => next.run(request).await,
        Some(Fault::Delay(delay)) => {
            tokio::time::sleep(delay).await;
            next.run(request).await
        }
        Some(Fault::Status {
            status,
            headers,
            content_type,
            body,
        }) => Canned {
            status,
            content_type,
            body,
            headers,
        }
        .into_response(),
        Some(Fault::Drop) => {
            // hyper buffers the head until the body's first chunk; a body that fails at once
            // makes it abort the connection before anything is written.
            let failing = futures::stream::iter([Err::<Bytes, _>(io::Error::other("dropped"))]);
            Response::new(Body::from_stream(failing))
        }
        Some(Fault::Trickle { chunk, every }) => {
            trickle(next.run(request).await, chunk, every).await
        }
        Some(Fault::EchoAuthorization(status)) => {
            let authorization = request
                .headers()
                .get(header::AUTHORIZATION)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .unwrap_or_default();
            let body = json!({
                "detail": format!("request rejected; it was sent with authorization: {authorization}")
            });
            Canned::json(status, body.to_string()).into_response()
        }
        Some(Fault::Endless) => {
            let spaces = futures::stream::repeat_with(|| Ok::<_, Infallible>(filler(FILLER)));
            Response::new(Body::from_stream(spaces))
        }
        Some(Fault::Huge(bytes)) => {
            let full = bytes / FILLER as u64;
            let rest = (bytes % FILLER as u64) as usize;
            let pieces = futures::stream::iter((0..full).map(|_| FILLER).chain([rest]))
                .map(|n| Ok::<_, Infallible>(filler(n)));
            let mut response = Response::new(Body::from_stream(pieces));
            response
                .headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from(bytes));
            response
        }
    }
}

/// The size of the pieces of `Endless` and `Huge` bodies.
const FILLER: usize = 64 << 10;

/// `n` bytes of JSON white space.
fn filler(n: usize) -> Bytes {
    static SPACES: [u8; FILLER] = [b' '; FILLER];
    Bytes::from_static(&SPACES[..n])
}

/// `response` with its body sent in pieces of `chunk` bytes, each after a pause of `every`.
async fn trickle(response: Response, chunk: usize, every: Duration) -> Response {
    let (mut parts, body) = response.into_parts();
    // The stand-ins' bodies are in memory already, so collecting one cannot fail.
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    // A streamed body has no known length; stating it keeps the framing the client expects.
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    let chunk = chunk.max(1);
    let pieces: Vec<Bytes> = (0..bytes.len())
        .step_by(chunk)
        .map(|start| bytes.slice(start..bytes.len().min(start + chunk)))
        .collect();
    // The head goes out while the first piece waits: hyper flushes it when the body is pending.
    let slow = futures::stream::iter(pieces).then(move |piece| async move {
        tokio::time::sleep(every).await;
        Ok::<_, Infallible>(piece)
    });
    Response::from_parts(parts, Body::from_stream(slow))
}
