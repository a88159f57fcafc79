//! Local HTTP stand-ins for the services `aiod-host` talks to, so tests and offline runs need no
//! internet: the Hugging Face Hub API and the datasets-server `/parquet` endpoint on one axum
//! server, the OpenML REST API v1 (dataset list, descriptions, qualities) on another or beside
//! Hugging Face (their paths do not clash), Zenodo's OAI-PMH interface and record files on
//! another, and the AIoD metadata catalogue with its Keycloak token endpoint on a third (so
//! each keeps its own request log), all on loopback with real HTTP. All can be made to fail on
//! purpose ([`Fault`]) for tests of a client's resilience.
//!
//! The Hugging Face stand-in behaves as harshly as the real services, not as leniently as a
//! recording: a listing in trending order paged by keyset cursors (so datasets whose score changes
//! mid-walk are skipped or listed twice), cursors that expire, pages smaller than asked, private
//! datasets behind tokens, 401/403/307 lookups, datasets-server errors with their real
//! `X-Error-Code`s and the Hub's rate limits; see [`HfState`].

mod aiod;
mod data;
mod faults;
mod huggingface;
mod keycloak;
mod listing;
mod openml;
mod zenodo;

use std::collections::BTreeMap;
use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

use anyhow::Context as _;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use url::form_urlencoded;

pub use aiod::{AiodState, LocalAiod};
pub use data::{generated_dataset, generated_id, generated_parquet};
pub use faults::Fault;
pub use huggingface::{DEFAULT_PAGE_SIZE, HfHandle, HfState};
pub use openml::{GENERATED_FIRST_ID as OPENML_GENERATED_FIRST_ID, OpenmlHandle, OpenmlState};
pub use zenodo::{
    GENERATED_FIRST as ZENODO_GENERATED_FIRST, TOKEN_LIFETIME as ZENODO_TOKEN_LIFETIME,
    ZenodoHandle, ZenodoState,
};

/// A fixed response, e.g. an injected fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Canned {
    pub status: u16,
    pub content_type: String,
    pub body: String,
    /// Extra response headers (e.g. the datasets-server's `X-Error-Code`); ones that are not
    /// valid header text are left out.
    pub headers: Vec<(String, String)>,
}

impl Canned {
    /// This response with one more header.
    pub fn with_header(mut self, name: &str, value: &str) -> Canned {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
}

impl IntoResponse for Canned {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let content_type = HeaderValue::try_from(self.content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream"));
        let mut response =
            (status, [(header::CONTENT_TYPE, content_type)], self.body).into_response();
        faults::add_headers(&mut response, &self.headers);
        response
    }
}

/// One request as the server received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    /// The raw (still percent-encoded) query string, without the `?`.
    pub query: Option<String>,
    /// Lower-case names, in the order received.
    pub headers: Vec<(String, String)>,
}

impl RecordedRequest {
    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of query parameter `name`, decoded.
    pub fn query_param(&self, name: &str) -> Option<String> {
        let query = self.query.as_deref()?;
        form_urlencoded::parse(query.as_bytes())
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.into_owned())
    }
}

/// Every request the server received, in arrival order; or, made with [`RequestLog::counting`],
/// only how many of each kind (for long runs, where keeping millions of requests would cost more
/// memory than the server). Either way it tracks how many requests are in flight at once.
#[derive(Clone, Default)]
pub struct RequestLog(Arc<LogInner>);

/// Names the kind of a request from its method and path, see [`RequestLog::counting`].
type Classifier = Box<dyn Fn(&str, &str) -> String + Send + Sync>;

#[derive(Default)]
struct LogInner {
    requests: Mutex<Vec<RecordedRequest>>,
    /// Set in counting mode: requests are counted by kind, not kept.
    classify: Option<Classifier>,
    counts: Mutex<BTreeMap<String, u64>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

impl std::fmt::Debug for RequestLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestLog")
            .field("counting", &self.0.classify.is_some())
            .field("requests", &self.lock().len())
            .field("counts", &*lock(&self.0.counts))
            .field("max_in_flight", &self.max_in_flight())
            .finish()
    }
}

impl RequestLog {
    /// A log that keeps no requests, only how many of each kind `classify(method, path)` names
    /// (see [`RequestLog::counts`]); [`RequestLog::requests`] stays empty.
    pub fn counting(classify: impl Fn(&str, &str) -> String + Send + Sync + 'static) -> Self {
        RequestLog(Arc::new(LogInner {
            classify: Some(Box::new(classify)),
            ..LogInner::default()
        }))
    }

    /// How many requests of each kind arrived, in counting mode (empty otherwise).
    pub fn counts(&self) -> BTreeMap<String, u64> {
        lock(&self.0.counts).clone()
    }

    /// Requests being handled right now (received, not yet answered).
    pub fn in_flight(&self) -> usize {
        self.0.in_flight.load(Ordering::SeqCst)
    }

    /// The most requests in flight at once since the start or the last
    /// [`RequestLog::reset_max_in_flight`].
    pub fn max_in_flight(&self) -> usize {
        self.0.max_in_flight.load(Ordering::SeqCst)
    }

    /// Starts measuring [`RequestLog::max_in_flight`] again from the requests in flight now.
    pub fn reset_max_in_flight(&self) {
        self.0
            .max_in_flight
            .store(self.in_flight(), Ordering::SeqCst);
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().clone()
    }

    /// The requests whose path is exactly `path` (e.g. `/parquet`).
    pub fn requests_to(&self, path: &str) -> Vec<RecordedRequest> {
        self.lock()
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }

    /// How many requests used `method` (any case) on a path starting with `path_prefix`.
    pub fn count(&self, method: &str, path_prefix: &str) -> usize {
        self.lock()
            .iter()
            .filter(|r| r.method.eq_ignore_ascii_case(method) && r.path.starts_with(path_prefix))
            .count()
    }

    fn lock(&self) -> MutexGuard<'_, Vec<RecordedRequest>> {
        lock(&self.0.requests)
    }
}

/// Counts a request as in flight until dropped (also when the client goes away mid-request).
struct InFlight<'a>(&'a LogInner);

impl<'a> InFlight<'a> {
    fn start(log: &'a LogInner) -> Self {
        let now = log.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        log.max_in_flight.fetch_max(now, Ordering::SeqCst);
        InFlight(log)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Locks `mutex` even if a panic poisoned it: every update of the stand-ins' data is a single
/// step, so a panic elsewhere (e.g. a failed assertion in a test) cannot leave it half-updated.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn record(State(log): State<RequestLog>, request: Request, next: Next) -> Response {
    let _in_flight = InFlight::start(&log.0);
    if let Some(classify) = &log.0.classify {
        let kind = classify(request.method().as_str(), request.uri().path());
        *lock(&log.0.counts).entry(kind).or_default() += 1;
        return next.run(request).await;
    }
    let headers = request.headers().iter();
    let recorded = RecordedRequest {
        method: request.method().to_string(),
        path: request.uri().path().to_owned(),
        query: request.uri().query().map(str::to_owned),
        headers: headers
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect(),
    };
    log.lock().push(recorded);
    next.run(request).await
}

/// Serves the Hugging Face stand-ins on `listener` until `shutdown` completes, then finishes
/// open requests.
pub async fn serve(
    listener: TcpListener,
    hf: HfHandle,
    log: RequestLog,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    serve_app(listener, huggingface::router(hf), log, shutdown).await
}

/// Serves the Hugging Face stand-ins, the OpenML one and the Zenodo one together on `listener`
/// (their paths do not clash) until `shutdown` completes.
pub async fn serve_platforms(
    listener: TcpListener,
    hf: HfHandle,
    openml: OpenmlHandle,
    zenodo: ZenodoHandle,
    log: RequestLog,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let app = huggingface::router(hf)
        .merge(openml::router(openml))
        .merge(zenodo::router(zenodo));
    serve_app(listener, app, log, shutdown).await
}

/// Serves the AIoD catalogue and its token endpoint on `listener` until `shutdown` completes.
pub async fn serve_aiod(
    listener: TcpListener,
    aiod: AiodState,
    log: RequestLog,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let app = aiod::app(aiod::AiodHandle::new(aiod));
    serve_app(listener, app, log, shutdown).await
}

async fn serve_app(
    listener: TcpListener,
    app: Router,
    log: RequestLog,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    // Added last so it also sees requests to unknown paths and injected faults.
    let app = app.layer(middleware::from_fn_with_state(log, record));
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .context("serving")
}

/// An app served on `127.0.0.1` in a background thread with its own tokio runtime, so
/// synchronous tests can use it; dropping it shuts the server down.
struct Background {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<anyhow::Result<()>>>,
}

impl Background {
    /// Starts on a free port; returns once the port accepts connections.
    fn start(name: &str, app: Router, log: RequestLog) -> anyhow::Result<Background> {
        // Binding here, before the thread starts, is what makes the port ready on return.
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("binding")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (shutdown, shutdown_requested) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = TcpListener::from_std(listener)?;
                    // A dropped sender also means shut down.
                    let shutdown = async {
                        shutdown_requested.await.ok();
                    };
                    serve_app(listener, app, log, shutdown).await
                })
            })?;
        Ok(Background {
            addr,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            shutdown.send(()).ok();
        }
        let Some(thread) = self.thread.take() else {
            return;
        };
        let name = thread.thread().name().unwrap_or("local server").to_owned();
        // Drop must not panic (it may run during a panic), so failures are only reported.
        match thread.join() {
            Ok(Ok(())) => {}
            Ok(Err(err)) => eprintln!("{name}: {err:#}"),
            Err(_) => eprintln!("{name}: server thread panicked"),
        }
    }
}

/// A stand-in being served in the background, and what it received: what every `Local*`
/// server offers (they deref to it).
pub struct Served {
    server: Background,
    log: RequestLog,
}

impl Served {
    fn start(name: &str, app: Router, log: RequestLog) -> anyhow::Result<Served> {
        let server = Background::start(name, app, log.clone())?;
        Ok(Served { server, log })
    }

    /// `http://127.0.0.1:PORT`, the base URL of every stand-in.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    /// The request log: counts and the in-flight gauge.
    pub fn log(&self) -> &RequestLog {
        &self.log
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.log.requests()
    }

    /// The requests received so far whose path is exactly `path`.
    pub fn requests_to(&self, path: &str) -> Vec<RecordedRequest> {
        self.log.requests_to(path)
    }

    /// How many requests used `method` on a path starting with `path_prefix`, e.g.
    /// `count("POST", "/v2/datasets")`.
    pub fn count(&self, method: &str, path_prefix: &str) -> usize {
        self.log.count(method, path_prefix)
    }
}

/// The Hugging Face stand-ins running on `127.0.0.1` in a background thread with their own
/// tokio runtime, so synchronous tests can use them; dropping it shuts the server down.
pub struct LocalServer {
    served: Served,
    hf: HfHandle,
}

impl LocalServer {
    /// Starts on a free port; returns once the port accepts connections.
    pub fn start(hf: HfState) -> anyhow::Result<LocalServer> {
        Self::start_with_log(hf, RequestLog::default())
    }

    /// Starts on a free port, logging into `log` (e.g. a [`RequestLog::counting`] one).
    pub fn start_with_log(hf: HfState, log: RequestLog) -> anyhow::Result<LocalServer> {
        let hf = HfHandle::new(hf);
        let served = Served::start("local-servers", huggingface::router(hf.clone()), log)?;
        Ok(LocalServer { served, hf })
    }

    /// The running Hugging Face state, e.g. to inject faults.
    pub fn hf(&self) -> &HfHandle {
        &self.hf
    }
}

impl std::ops::Deref for LocalServer {
    type Target = Served;
    fn deref(&self) -> &Served {
        &self.served
    }
}

/// The OpenML stand-in running alone on `127.0.0.1` in a background thread with its own tokio
/// runtime; dropping it shuts the server down.
pub struct LocalOpenml {
    served: Served,
    openml: OpenmlHandle,
}

impl LocalOpenml {
    /// Starts on a free port; returns once the port accepts connections. Its `base_url` is
    /// `OPENML_ENDPOINT`; the API is under `/api/v1/json`.
    pub fn start(state: OpenmlState) -> anyhow::Result<LocalOpenml> {
        let openml = OpenmlHandle::new(state);
        let app = openml::router(openml.clone())
            .fallback(|| async { (StatusCode::NOT_FOUND, "Not Found") });
        let served = Served::start("local-openml", app, RequestLog::default())?;
        Ok(LocalOpenml { served, openml })
    }

    /// The running OpenML state, e.g. to change datasets or inject faults.
    pub fn openml(&self) -> &OpenmlHandle {
        &self.openml
    }
}

impl std::ops::Deref for LocalOpenml {
    type Target = Served;
    fn deref(&self) -> &Served {
        &self.served
    }
}

/// The Zenodo stand-in (OAI-PMH and REST API) running alone on `127.0.0.1` in a background
/// thread with its own tokio runtime; dropping it shuts the server down.
pub struct LocalZenodo {
    served: Served,
    zenodo: ZenodoHandle,
}

impl LocalZenodo {
    /// Starts on a free port; returns once the port accepts connections. Its `base_url` is
    /// `ZENODO_ENDPOINT`.
    pub fn start(state: ZenodoState) -> anyhow::Result<LocalZenodo> {
        let zenodo = ZenodoHandle::new(state);
        let app = zenodo::router(zenodo.clone())
            .fallback(|| async { (StatusCode::NOT_FOUND, "Not Found") });
        let served = Served::start("local-zenodo", app, RequestLog::default())?;
        Ok(LocalZenodo { served, zenodo })
    }

    /// The running Zenodo state, e.g. to change records or expire tokens.
    pub fn zenodo(&self) -> &ZenodoHandle {
        &self.zenodo
    }
}

impl std::ops::Deref for LocalZenodo {
    type Target = Served;
    fn deref(&self) -> &Served {
        &self.served
    }
}
