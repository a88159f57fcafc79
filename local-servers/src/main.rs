//! Runs the local stand-ins until SIGINT or SIGTERM, e.g. for trying `aiod-host` offline.

use std::io::Write as _;
use std::net::SocketAddr;
use std::num::NonZeroUsize;

use anyhow::Context as _;
use clap::Parser;
use local_servers::{DEFAULT_PAGE_SIZE, HfHandle, HfState, RequestLog, serve};
use tokio::net::TcpListener;

/// Local HTTP stand-ins for Hugging Face: the Hub API (`/api/datasets`, `/api/datasets/{id}`)
/// and the datasets-server `/parquet` endpoint, on one address.
///
/// Prints `huggingface: http://ADDR` once listening; point both the Hub and the datasets-server
/// base URL at it.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Address to listen on; port 0 picks a free port (the printed line shows which).
    #[arg(long, default_value = "127.0.0.1:8900")]
    addr: SocketAddr,
    /// Leave out the 6 recorded datasets (acronym_identification, rotten_tomatoes, ...).
    #[arg(long)]
    no_recorded: bool,
    /// Number of generated datasets (gen-org/dataset-000000, ...) listed after the recorded ones.
    #[arg(long, value_name = "N", default_value_t = 0)]
    generated: usize,
    /// Datasets per listing page when the client sends no `limit`.
    #[arg(long, value_name = "P", default_value_t = NonZeroUsize::new(DEFAULT_PAGE_SIZE).unwrap())]
    page_size: NonZeroUsize,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let state = if args.no_recorded {
        HfState::generated(0)
    } else {
        HfState::recorded()
    };
    let state = state
        .with_generated(args.generated)
        .with_page_size(args.page_size.get());

    let listener = TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("binding {}", args.addr))?;
    let shutdown = shutdown_signal()?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "huggingface: http://{}", listener.local_addr()?)?;
    stdout.flush()?;
    serve(
        listener,
        HfHandle::new(state),
        RequestLog::default(),
        shutdown,
    )
    .await
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM. The handlers are installed before returning, so a
/// signal that arrives right after start-up is not missed.
#[cfg(unix)]
fn shutdown_signal() -> anyhow::Result<impl Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}

/// Completes on Ctrl-C.
#[cfg(not(unix))]
fn shutdown_signal() -> anyhow::Result<impl Future<Output = ()> + Send + 'static> {
    Ok(async {
        tokio::signal::ctrl_c().await.ok();
    })
}
