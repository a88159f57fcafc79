//! One sync: ask the plugin what to fetch, fetch it, hand each record and its
//! follow-up responses to the plugin, and pass the assets to a sink.
//!
//! A bad record costs only that record; only problems that make the listing
//! itself impossible (the plugin refuses the mode, the platform cannot be
//! reached, the plugin cannot read a page) end the sync.

use crate::endpoints::{EndpointError, Endpoints};
use crate::fetch::Fetcher;
use crate::model::{Asset, RecordError, Request, Response, SourceRecord, SyncMode};
use crate::plugin::{CallError, Plugin};
use futures::StreamExt;
use serde::Serialize;

/// Where mapped assets go: standard output for `--dry-run`, AIoD otherwise.
pub trait Sink {
    fn put(
        &mut self,
        record: &SourceRecord,
        asset: Asset,
    ) -> impl Future<Output = Result<Outcome, PutError>>;
}

/// What became of one asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Created,
    Updated,
    Unchanged,
    /// `--dry-run`: printed instead of uploaded.
    Printed,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PutError {
    /// This record failed; the sync goes on.
    #[error("{0}")]
    Record(String),
    /// Every record would fail the same way (e.g. a missing role): stop.
    #[error("{0}")]
    Fatal(String),
}

/// What a sync did, for the summary line.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub seen: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub printed: u64,
    pub skipped: u64,
    pub failed: u64,
    pub pages: u64,
    pub warnings: u64,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "seen {}, created {}, updated {}, unchanged {}, skipped {}, failed {}",
            self.seen, self.created, self.updated, self.unchanged, self.skipped, self.failed
        )?;
        if self.printed > 0 {
            write!(f, ", printed {}", self.printed)?;
        }
        write!(f, " ({} pages, {} warnings)", self.pages, self.warnings)
    }
}

/// Problems that end a sync.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("the plugin cannot sync this mode: {0}")]
    ModeRefused(String),
    #[error("{0}")]
    Plugin(#[from] CallError),
    #[error("{0}")]
    Endpoint(#[from] EndpointError),
    #[error("cannot reach endpoint {endpoint:?}: {message}")]
    Unreachable { endpoint: String, message: String },
    #[error("the listing cannot go on: {0}")]
    Listing(String),
    #[error("{0}")]
    Upload(String),
}

pub struct Job<'a> {
    pub plugin: &'a mut Plugin,
    pub fetcher: &'a Fetcher,
    pub endpoints: &'a Endpoints,
    pub platform: String,
    pub mode: SyncMode,
    /// Follow-up requests in flight at once.
    pub concurrency: usize,
}

pub async fn run<S: Sink>(job: Job<'_>, sink: &mut S) -> Result<Summary, SyncError> {
    let Job {
        plugin,
        fetcher,
        endpoints,
        platform,
        mode,
        concurrency,
    } = job;
    let mut summary = Summary::default();
    let starts = plugin.start(&platform, &mode).map_err(|e| match e {
        CallError::Refused(msg) => SyncError::ModeRefused(msg),
        broken => SyncError::Plugin(broken),
    })?;

    for start in starts {
        let mut next = Some(start);
        while let Some(request) = next.take() {
            let url = endpoints.url_for(&request)?;
            tracing::debug!(%url, "listing page");
            let response =
                fetcher
                    .get(url, &request.headers)
                    .await
                    .map_err(|e| SyncError::Unreachable {
                        endpoint: request.endpoint.clone(),
                        message: e.to_string(),
                    })?;
            let page = plugin
                .handle_page(&platform, &mode, &request, &response)
                .map_err(|e| match e {
                    CallError::Refused(msg) => SyncError::Listing(msg),
                    broken => SyncError::Plugin(broken),
                })?;
            summary.pages += 1;
            summary.seen += page.records.len() as u64;

            // Follow-ups of a page are fetched concurrently; records are
            // mapped and handed on in listing order.
            let mut fetched = futures::stream::iter(page.records)
                .map(|record| async move {
                    let follow_ups = follow_ups(fetcher, endpoints, &record).await;
                    (record, follow_ups)
                })
                .buffered(concurrency.max(1));
            while let Some((record, follow_ups)) = fetched.next().await {
                process(plugin, &platform, sink, &record, follow_ups, &mut summary).await?;
            }
            next = page.next;
        }
    }
    Ok(summary)
}

/// Fetches a record's follow-ups; a failed transfer becomes status 0 so the
/// plugin decides what a missing response means.
async fn follow_ups(
    fetcher: &Fetcher,
    endpoints: &Endpoints,
    record: &SourceRecord,
) -> Result<Vec<(Request, Response)>, EndpointError> {
    let mut out = Vec::with_capacity(record.follow_ups.len());
    for request in &record.follow_ups {
        let url = endpoints.url_for(request)?;
        let response = match fetcher.get(url, &request.headers).await {
            Ok(r) => r,
            Err(e) => Response {
                status: 0,
                headers: Vec::new(),
                body: e.to_string().into_bytes(),
            },
        };
        out.push((request.clone(), response));
    }
    Ok(out)
}

async fn process<S: Sink>(
    plugin: &mut Plugin,
    platform: &str,
    sink: &mut S,
    record: &SourceRecord,
    follow_ups: Result<Vec<(Request, Response)>, EndpointError>,
    summary: &mut Summary,
) -> Result<(), SyncError> {
    let (id, label) = (&record.id, &record.label);
    let follow_ups = match follow_ups {
        Ok(f) => f,
        Err(e) => {
            summary.failed += 1;
            tracing::error!(id, label, "record failed: {e}");
            return Ok(());
        }
    };
    let mapped = match plugin.map_record(platform, record, &follow_ups) {
        Ok(Ok(mapped)) => mapped,
        Ok(Err(RecordError::Skip(reason))) => {
            summary.skipped += 1;
            tracing::info!(id, label, "record skipped: {reason}");
            return Ok(());
        }
        Ok(Err(e @ RecordError::Invalid(_))) => {
            summary.failed += 1;
            tracing::error!(id, label, "record failed: {e}");
            return Ok(());
        }
        Err(e) => {
            summary.failed += 1;
            tracing::error!(id, label, "record failed: {e}");
            return Ok(());
        }
    };
    for warning in &mapped.warnings {
        summary.warnings += 1;
        tracing::warn!(id, label, "{warning}");
    }
    for asset in mapped.assets {
        match sink.put(record, asset).await {
            Ok(Outcome::Created) => summary.created += 1,
            Ok(Outcome::Updated) => summary.updated += 1,
            Ok(Outcome::Unchanged) => summary.unchanged += 1,
            Ok(Outcome::Printed) => summary.printed += 1,
            Err(PutError::Record(e)) => {
                summary.failed += 1;
                tracing::error!(id, label, "record failed: {e}");
            }
            Err(PutError::Fatal(e)) => return Err(SyncError::Upload(e)),
        }
    }
    Ok(())
}
