//! The local servers alone: a bare client doing the remote part of a first sync at full speed
//! (every listing page, every `/parquet`, every `POST`), with none of the host's work in between
//! (no plugin, no state, no validation; the bodies are mapped beforehand, untimed). If these
//! rates are far above the host's, the servers are not what limits the host.

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use futures::{StreamExt as _, TryStreamExt as _};
use huggingface_plugin::mapping::{self, ParquetResponse};
use serde_json::Value;

use crate::servers::{CLIENT, Urls};

/// What the servers did for a bare client.
#[derive(Debug, Clone)]
pub struct Rates {
    pub datasets: usize,
    pub pages: usize,
    pub listing: Duration,
    pub parquet: Duration,
    pub posts: Duration,
}

impl Rates {
    /// Datasets per second if a client did nothing but these requests, one phase after the other.
    pub fn first_sync_per_sec(&self) -> f64 {
        self.datasets as f64 / (self.listing + self.parquet + self.posts).as_secs_f64()
    }

    /// Datasets per second of the listing alone (all a no-change re-sync asks Hugging Face).
    pub fn listing_per_sec(&self) -> f64 {
        self.datasets as f64 / self.listing.as_secs_f64()
    }
}

/// The `rel="next"` target of a `Link` header.
fn next_link(response: &reqwest::Response) -> Option<String> {
    let link = response.headers().get("link")?.to_str().ok()?;
    let (url, rel) = link.trim().strip_prefix('<')?.split_once('>')?;
    rel.contains("rel=\"next\"").then(|| url.to_owned())
}

/// Lists, fetches every `/parquet` and POSTs every body, `concurrency` requests at a time for the
/// last two (as the host's follow-ups; the host sends its writes one at a time).
pub fn measure(urls: &Urls, concurrency: usize) -> anyhow::Result<Rates> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(measure_async(urls, concurrency))
}

async fn measure_async(urls: &Urls, concurrency: usize) -> anyhow::Result<Rates> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?;

    // 1. The listing, page after page (each page needs the previous one's link).
    let started = Instant::now();
    let mut pages = Vec::new();
    let mut next = Some(format!("{}/api/datasets?full=true", urls.hub));
    while let Some(url) = next {
        let response = client.get(&url).send().await?;
        ensure!(
            response.status() == 200,
            "{url}: HTTP {}",
            response.status()
        );
        next = next_link(&response);
        pages.push(response.bytes().await?);
    }
    let listing = started.elapsed();
    let mut datasets = Vec::new();
    for page in &pages {
        let items: Vec<Value> = serde_json::from_slice(page)?;
        datasets.extend(items);
    }

    // 2. One `/parquet` per dataset.
    let started = Instant::now();
    let parquet: Vec<(u16, Vec<u8>)> = futures::stream::iter(&datasets)
        .map(|dataset| {
            let client = &client;
            async move {
                let id = dataset["id"].as_str().unwrap_or_default();
                let response = client
                    .get(format!("{}/parquet", urls.datasets_server))
                    .query(&[("dataset", id)])
                    .send()
                    .await?;
                let status = response.status().as_u16();
                Ok::<_, reqwest::Error>((status, response.bytes().await?.to_vec()))
            }
        })
        .buffered(concurrency.max(1))
        .try_collect()
        .await?;
    let parquet_time = started.elapsed();

    // Untimed: the bodies, mapped natively.
    let bodies: Vec<String> = datasets
        .iter()
        .zip(&parquet)
        .map(|(dataset, (status, body))| {
            let response = ParquetResponse {
                status: *status,
                headers: &[],
                body,
            };
            mapping::map_dataset("huggingface", &dataset.to_string(), Some(response))
                .map(|m| m.body)
                .map_err(anyhow::Error::msg)
        })
        .collect::<anyhow::Result<_>>()?;

    // 3. A token, then one POST per dataset.
    let token = token(&client, urls).await?;
    let token = token.as_str();
    let started = Instant::now();
    let url = format!("{}v2/datasets", urls.aiod_api);
    futures::stream::iter(bodies)
        .map(|body| send_json(client.post(&url), token, body))
        .buffer_unordered(concurrency.max(1))
        .try_collect::<Vec<()>>()
        .await?;
    let posts = started.elapsed();

    Ok(Rates {
        datasets: datasets.len(),
        pages: pages.len(),
        listing,
        parquet: parquet_time,
        posts,
    })
}

/// A Keycloak client-credentials token of the connector's client.
async fn token(client: &reqwest::Client, urls: &Urls) -> anyhow::Result<String> {
    let token = client
        .post(format!(
            "{}realms/aiod/protocol/openid-connect/token",
            urls.aiod_auth
        ))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT.0),
            ("client_secret", CLIENT.1),
        ])
        .send()
        .await?
        .bytes()
        .await?;
    let token: Value = serde_json::from_slice(&token).context("token")?;
    match token["access_token"].as_str() {
        Some(token) => Ok(token.to_owned()),
        None => bail!("no access token: {token}"),
    }
}

/// How long the AIoD stand-in takes for a bare client's `PUT`s of `assets` (each as `GET`
/// returns it less the server's fields, its `name` changed), `concurrency` at a time: what uploading that many changed
/// bodies costs at the catalogue, with none of the host's work.
pub fn puts(urls: &Urls, assets: Vec<Value>, concurrency: usize) -> anyhow::Result<Duration> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()?;
        let token = token(&client, urls).await?;
        let token = token.as_str();
        let requests: Vec<(String, String)> = assets
            .into_iter()
            .map(|mut asset| {
                let identifier = asset["identifier"].to_string();
                let identifier = identifier.trim_matches('"').to_owned();
                let name = format!("{} [put]", asset["name"].as_str().unwrap_or_default());
                asset["name"] = name.into();
                // The server's fields, which a PUT may not carry.
                if let Some(fields) = asset.as_object_mut() {
                    fields.remove("aiod_entry");
                    fields.remove("identifier");
                }
                (
                    format!("{}v2/datasets/{identifier}", urls.aiod_api),
                    asset.to_string(),
                )
            })
            .collect();
        let started = Instant::now();
        futures::stream::iter(requests)
            .map(|(url, body)| send_json(client.put(url), token, body))
            .buffer_unordered(concurrency.max(1))
            .try_collect::<Vec<()>>()
            .await?;
        Ok(started.elapsed())
    })
}

/// Sends `body` as JSON with the bearer `token`; anything but 200 is an error.
async fn send_json(
    request: reqwest::RequestBuilder,
    token: &str,
    body: String,
) -> anyhow::Result<()> {
    let response = request
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await?;
    let (url, status) = (response.url().clone(), response.status());
    let text = response.text().await?;
    ensure!(status == 200, "{url}: HTTP {status}: {text}");
    Ok(())
}
