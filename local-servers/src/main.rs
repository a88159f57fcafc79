//! Runs the local stand-ins until SIGINT or SIGTERM, e.g. for trying `aiod-host` offline.

use std::io::Write as _;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use local_servers::{
    AiodState, HfHandle, HfState, OpenmlHandle, OpenmlState, RequestLog, ZenodoHandle, ZenodoState,
    serve_aiod, serve_platforms,
};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Local HTTP stand-ins for Hugging Face, OpenML, Zenodo and the AIoD metadata catalogue.
///
/// Hugging Face: the Hub API (`/api/datasets`, `/api/datasets/{id}`) and the datasets-server
/// `/parquet` endpoint, on `--addr`, as harsh as the real ones: the listing is ordered by
/// trending score unless `sort` says otherwise and paged by keyset cursors, private datasets
/// need a token, errors carry the real status codes and `X-Error-Code`s. OpenML: the REST API
/// v1 (`/api/v1/json/data/list/...`, `/api/v1/json/data/{id}`,
/// `/api/v1/json/data/qualities/{id}`) with the 3 recorded datasets
/// (2, 3, 4), on the same address. Zenodo: OAI-PMH (`/oai2d`, resumption tokens that expire
/// after 60 s, errors with HTTP 422) and `/api/records/{id}/files`, with the 51 recorded
/// records (6 datasets), on the same address. AIoD: the catalogue's dataset endpoints (unversioned, `/v2`,
/// `/v3`) and its Keycloak token endpoint (realm `aiod`, client-credentials grant), on
/// `--aiod-addr`; the catalogue starts empty.
///
/// Once listening, prints `huggingface: http://ADDR` (the Hub and datasets-server base URL),
/// `aiod: http://ADDR/` (the catalogue's `api_server`) and `keycloak: http://ADDR/aiod-auth/`
/// (its `auth_server`), `openml: http://ADDR` (the OpenML base URL, `OPENML_ENDPOINT`) and
/// `zenodo: http://ADDR` (the Zenodo base URL, `ZENODO_ENDPOINT`), one per line.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Address of the Hugging Face stand-in; port 0 picks a free port (the printed line shows
    /// which).
    #[arg(long, default_value = "127.0.0.1:8900")]
    addr: SocketAddr,
    /// Leave out the 6 recorded datasets (acronym_identification, rotten_tomatoes, ...).
    #[arg(long)]
    no_recorded: bool,
    /// Number of generated datasets (gen-org/dataset-000000, ...) besides the recorded ones.
    #[arg(long, value_name = "N", default_value_t = 0)]
    generated: usize,
    /// At most P datasets per listing page, whatever `limit` asks (and P without `limit`), as a
    /// server may answer fewer than asked. Without it, `limit` is honoured up to 1000 and a
    /// request without `limit` gets 50.
    #[arg(long, value_name = "P")]
    page_size: Option<NonZeroUsize>,
    /// A bearer token the Hub accepts (like an `HF_TOKEN`): requests with it see private
    /// datasets, requests with any other token get a 401. Repeat for more tokens.
    #[arg(long = "hf-token", value_name = "TOKEN")]
    hf_tokens: Vec<String>,
    /// Every Nth generated dataset (those with index % N == N - 1) answers `/parquet` with a
    /// permanent job error (500, `X-Error-Code: ConfigNamesError`).
    #[arg(long, value_name = "N")]
    failing_parquet_every: Option<NonZeroUsize>,
    /// Enforce a Hugging Face request budget of REQUESTS per fixed window of SECONDS (e.g.
    /// `1000/300`) on every Hugging Face route: answers carry `RateLimit` and `RateLimit-Policy`
    /// headers, and requests over budget get a 429. No budget by default.
    #[arg(long, value_name = "REQUESTS/SECONDS", value_parser = parse_budget)]
    hf_budget: Option<(u32, Duration)>,
    /// Number of generated OpenML datasets (ids 100000, 100001, ...) listed after the recorded
    /// ones.
    #[arg(long, value_name = "N", default_value_t = 0)]
    openml_generated: usize,
    /// Number of generated Zenodo datasets (records 90000000, 90000001, ...) listed after the
    /// recorded ones.
    #[arg(long, value_name = "N", default_value_t = 0)]
    zenodo_generated: usize,
    /// Address of the AIoD catalogue and its Keycloak; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8901")]
    aiod_addr: SocketAddr,
    /// A Keycloak client that may log in, with the realm roles of its service account (roles
    /// `platform_NAME` make it the connector of platform NAME); repeat for more clients. An
    /// empty role list (`ID:SECRET:`) makes an ordinary user.
    #[arg(
        long = "client",
        value_name = "ID:SECRET:ROLE[,ROLE...]",
        value_parser = parse_client,
        default_value = "platform_huggingface:local-secret:platform_huggingface"
    )]
    clients: Vec<ClientArg>,
    /// Seconds an issued token stays active.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    token_lifetime: u64,
    /// AIoD service times in milliseconds: per POST, PUT or DELETE; per GET of one dataset; per
    /// 1000 datasets of a listing page. Timed requests are served one at a time, like the real
    /// single-process catalogue. All zero by default.
    #[arg(
        long,
        value_name = "WRITE_MS,LOOKUP_MS,LIST_MS_PER_1000",
        value_parser = parse_latency
    )]
    aiod_latency: Option<[Duration; 3]>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let state = if args.no_recorded {
        HfState::generated(0)
    } else {
        HfState::recorded()
    };
    let mut state = state.with_generated(args.generated);
    if let Some(page_size) = args.page_size {
        state = state.with_page_size(page_size.get());
    }
    if let Some((requests, window)) = args.hf_budget {
        state = state.with_budget(requests, window);
    }
    if let Some(every) = args.failing_parquet_every {
        state = state.with_failing_parquet(every.get());
    }
    let state = args.hf_tokens.into_iter().fold(state, HfState::with_token);

    let aiod = args.clients.iter().fold(AiodState::new(), |aiod, client| {
        let roles: Vec<&str> = client.roles.iter().map(String::as_str).collect();
        aiod.with_client(&client.id, &client.secret, &roles)
    });
    let aiod = aiod.with_token_lifetime(Duration::from_secs(args.token_lifetime));
    let aiod = match args.aiod_latency {
        Some([write, lookup, list_page_per_1000]) => {
            aiod.with_latency(write, lookup, list_page_per_1000)
        }
        None => aiod,
    };

    let hf_listener = bind(args.addr).await?;
    let aiod_listener = bind(args.aiod_addr).await?;
    let signal = shutdown_signal()?;
    let (hf_addr, aiod_addr) = (hf_listener.local_addr()?, aiod_listener.local_addr()?);
    // OpenML and Zenodo share the Hugging Face server: their paths (`/api/v1/json/`, `/oai2d`,
    // `/api/records`) do not clash.
    let addresses = format!(
        "huggingface: http://{hf_addr}\n\
         aiod: http://{aiod_addr}/\n\
         keycloak: http://{aiod_addr}/aiod-auth/\n\
         openml: http://{hf_addr}\n\
         zenodo: http://{hf_addr}\n"
    );
    // One write (atomic on a pipe), so a reader that stops after the first line cannot make the
    // later ones fail.
    let mut stdout = std::io::stdout();
    stdout.write_all(addresses.as_bytes())?;
    stdout.flush()?;

    // One signal stops both servers.
    let (stop, stopped) = watch::channel(());
    let until_stopped = |mut stopped: watch::Receiver<()>| async move {
        stopped.changed().await.ok();
    };
    let hf = HfHandle::new(state);
    let openml = OpenmlHandle::new(OpenmlState::recorded().with_generated(args.openml_generated));
    let zenodo = ZenodoHandle::new(ZenodoState::recorded().with_generated(args.zenodo_generated));
    tokio::try_join!(
        serve_platforms(
            hf_listener,
            hf,
            openml,
            zenodo,
            RequestLog::default(),
            until_stopped(stopped.clone())
        ),
        serve_aiod(
            aiod_listener,
            aiod,
            RequestLog::default(),
            until_stopped(stopped)
        ),
        async {
            signal.await;
            stop.send(()).ok();
            Ok(())
        },
    )?;
    Ok(())
}

async fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    let listener = TcpListener::bind(addr).await;
    listener.with_context(|| format!("binding {addr}"))
}

/// A `--client` value.
#[derive(Clone, Debug)]
struct ClientArg {
    id: String,
    secret: String,
    roles: Vec<String>,
}

/// `ID:SECRET:ROLE[,ROLE...]`; the secret may contain `:` (roles never do).
fn parse_client(text: &str) -> Result<ClientArg, String> {
    let malformed = || format!("expected ID:SECRET:ROLE[,ROLE...], got {text:?}");
    let (id, rest) = text.split_once(':').ok_or_else(malformed)?;
    let (secret, roles) = rest.rsplit_once(':').ok_or_else(malformed)?;
    if id.is_empty() || secret.is_empty() {
        return Err(malformed());
    }
    Ok(ClientArg {
        id: id.to_owned(),
        secret: secret.to_owned(),
        roles: roles
            .split(',')
            .filter(|r| !r.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

/// `REQUESTS/SECONDS`, with a positive window.
fn parse_budget(text: &str) -> Result<(u32, Duration), String> {
    let malformed = || format!("expected REQUESTS/SECONDS, e.g. 1000/300, got {text:?}");
    let (requests, secs) = text.split_once('/').ok_or_else(malformed)?;
    let requests = requests.parse().map_err(|_| malformed())?;
    let secs: u64 = secs.parse().map_err(|_| malformed())?;
    if secs == 0 {
        return Err("the budget window must be at least 1 second".to_owned());
    }
    Ok((requests, Duration::from_secs(secs)))
}

/// `WRITE_MS,LOOKUP_MS,LIST_MS_PER_1000`.
fn parse_latency(text: &str) -> Result<[Duration; 3], String> {
    let malformed = || format!("expected WRITE_MS,LOOKUP_MS,LIST_MS_PER_1000, got {text:?}");
    let millis: Vec<u64> = text
        .split(',')
        .map(|ms| ms.trim().parse().map_err(|_| malformed()))
        .collect::<Result<_, _>>()?;
    let millis: [u64; 3] = millis.try_into().map_err(|_| malformed())?;
    Ok(millis.map(Duration::from_millis))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_budgets_and_latencies() {
        assert_eq!(
            parse_budget("1000/300"),
            Ok((1000, Duration::from_secs(300)))
        );
        for bad in ["1000", "1000/0", "x/300", "1000/-1"] {
            assert!(parse_budget(bad).is_err(), "{bad}");
        }
        let ms = Duration::from_millis;
        assert_eq!(parse_latency("120, 30,5"), Ok([ms(120), ms(30), ms(5)]));
        for bad in ["1,2", "1,2,3,4", "1,,3"] {
            assert!(parse_latency(bad).is_err(), "{bad}");
        }
    }
}
