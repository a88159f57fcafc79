//! Local HTTP stand-ins for the services `aiod-host` talks to, so tests and offline runs need no
//! internet: the Hugging Face Hub API and the datasets-server `/parquet` endpoint, served by one
//! axum server on loopback with real HTTP and real pagination.

mod data;
mod huggingface;

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

use anyhow::Context as _;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use url::form_urlencoded;

pub use data::generated_id;
pub use huggingface::{DEFAULT_PAGE_SIZE, HfHandle, HfState};

/// A fixed response, e.g. an injected fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Canned {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

impl IntoResponse for Canned {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let content_type = HeaderValue::try_from(self.content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream"));
        (status, [(header::CONTENT_TYPE, content_type)], self.body).into_response()
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

/// Every request the server received, in arrival order.
#[derive(Clone, Debug, Default)]
pub struct RequestLog(Arc<Mutex<Vec<RecordedRequest>>>);

impl RequestLog {
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

    fn lock(&self) -> MutexGuard<'_, Vec<RecordedRequest>> {
        // Pushing a request cannot leave the log half-updated, so a poisoned lock is still usable.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

async fn record(State(log): State<RequestLog>, request: Request, next: Next) -> Response {
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

async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, Json(json!({ "error": "Not Found" }))).into_response()
}

/// Serves all stand-ins on `listener` until `shutdown` completes, then finishes open requests.
pub async fn serve(
    listener: TcpListener,
    hf: HfHandle,
    log: RequestLog,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let app = Router::new()
        .merge(huggingface::router(hf))
        .fallback(not_found)
        // Added last so it also sees requests to unknown paths.
        .layer(middleware::from_fn_with_state(log, record));
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .context("serving")
}

/// The stand-ins running on `127.0.0.1` in a background thread with their own tokio runtime,
/// so synchronous tests can use them; dropping it shuts the server down.
pub struct LocalServer {
    addr: SocketAddr,
    hf: HfHandle,
    log: RequestLog,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<anyhow::Result<()>>>,
}

impl LocalServer {
    /// Starts on a free port; returns once the port accepts connections.
    pub fn start(hf: HfState) -> anyhow::Result<LocalServer> {
        // Binding here, before the thread starts, is what makes the port ready on return.
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("binding")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (hf, log) = (HfHandle::new(hf), RequestLog::default());
        let (shutdown, shutdown_requested) = oneshot::channel();
        let (served_hf, served_log) = (hf.clone(), log.clone());
        let thread = std::thread::Builder::new()
            .name("local-servers".to_owned())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = TcpListener::from_std(listener)?;
                    // A dropped sender also means shut down.
                    let shutdown = async {
                        shutdown_requested.await.ok();
                    };
                    serve(listener, served_hf, served_log, shutdown).await
                })
            })?;
        Ok(LocalServer {
            addr,
            hf,
            log,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT`, the base URL of every stand-in.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.log.requests()
    }

    /// The requests received so far whose path is exactly `path`.
    pub fn requests_to(&self, path: &str) -> Vec<RecordedRequest> {
        self.log.requests_to(path)
    }

    /// The running Hugging Face state, e.g. to inject faults.
    pub fn hf(&self) -> &HfHandle {
        &self.hf
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            shutdown.send(()).ok();
        }
        let Some(thread) = self.thread.take() else {
            return;
        };
        // Drop must not panic (it may run during a panic), so failures are only reported.
        match thread.join() {
            Ok(Ok(())) => {}
            Ok(Err(err)) => eprintln!("local-servers: {err:#}"),
            Err(_) => eprintln!("local-servers: server thread panicked"),
        }
    }
}
