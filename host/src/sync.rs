//! One sync: ask the plugin what to fetch, fetch it, hand each record and its
//! follow-up responses to the plugin, and pass the assets to a sink; with a
//! state, resume an unfinished pass, skip records that have not changed, and
//! keep failed records as dead letters.
//!
//! A bad record costs only that record; only problems that make the listing
//! itself impossible (the plugin refuses the mode, the platform cannot be
//! reached, the plugin cannot read a page) or that would fail every record
//! (a missing role) end the sync. The cursor is committed with each page's
//! outcomes, so a killed sync resumes at the page it was working on.

use crate::answers::AnswerRules;
use crate::model::{Asset, RecordError, Request, Response, SourceRecord, SyncMode};
use crate::pages::Pages;
use crate::plugin::{CallError, Plugin};
use crate::progress::Progress;
use crate::state::{
    Batch, DeadLetter, Done, Pass, PassKind, Settled, SettledRecord, State, StoredAsset,
    StoredFollowUp, UploadedAsset,
};
use crate::transport::{Failure, Transport};
use futures::StreamExt;
use serde::Serialize;
use std::sync::Arc;

/// Where mapped assets go: standard output for `--dry-run`, AIoD otherwise.
pub trait Sink {
    /// `previous` is what the state knows of this asset in AIoD. Puts of up to
    /// `in_flight()` records run at once, so `put` takes `&self`.
    fn put(
        &self,
        asset: Asset,
        previous: Option<StoredAsset>,
    ) -> impl Future<Output = Result<Put, PutError>>;

    /// How many records' puts may be in flight at once; 1 keeps the output in
    /// listing order (`--dry-run`).
    fn in_flight(&self) -> usize {
        1
    }
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

/// A successful `put`: the outcome and, when uploaded, what to remember.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Put {
    pub outcome: Outcome,
    pub stored: Option<StoredAsset>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PutError {
    /// The body breaks the AIoD schema: not sent.
    #[error("{0}")]
    Invalid(String),
    /// AIoD did not take it (after retries); the sync goes on.
    #[error("{0}")]
    Rejected(String),
    /// Every record would fail the same way (e.g. a missing role): stop.
    #[error("{0}")]
    Fatal(String),
    /// AIoD asked for a longer wait than the cap: stop, resumable.
    #[error("{0}")]
    Paused(String),
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
    pub deleted: u64,
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
        if self.deleted > 0 {
            write!(f, ", deleted {}", self.deleted)?;
        }
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
    Refused(String),
    #[error("cannot reach endpoint {endpoint:?}: {message}")]
    Unreachable { endpoint: String, message: String },
    #[error("the listing cannot go on: {0}")]
    Listing(String),
    #[error("{0}")]
    Upload(String),
    #[error("stopped: {0}; the cursor is saved, run the same command again to continue")]
    Paused(String),
    #[error("state: {0:#}")]
    State(#[from] anyhow::Error),
    #[error("stopped by a signal; the cursor is saved")]
    Stopped,
}

/// How a sync ended.
pub struct Finished {
    pub summary: Summary,
    /// The pass, when a listing pass ran to its end.
    pub completed_pass: Option<i64>,
}

pub struct Job<'a, T: Transport> {
    pub plugin: &'a mut Plugin,
    /// Performs the plugin's requests: HTTP, or recorded responses for `plugin test`.
    pub transport: &'a T,
    pub platform: String,
    pub mode: SyncMode,
    /// Follow-up requests in flight at once.
    pub concurrency: usize,
    /// The most listing pages of one pass.
    pub max_pages: u64,
    /// How large a listing page and a follow-up answer may be.
    pub limits: crate::fetch::BodyLimits,
    /// Without a state (`--dry-run`) every record is processed and nothing is kept.
    pub state: Option<&'a mut State>,
    /// Checked plugins to switch to (from `serve`'s hot swap).
    pub swaps: Option<&'a std::sync::mpsc::Receiver<Plugin>>,
    /// Set by a signal: finish the current record, save the cursor, stop.
    pub stop: Option<&'a std::sync::atomic::AtomicBool>,
    /// Shows how far the sync is, and feeds the records counters.
    pub progress: Progress,
}

pub async fn run<S: Sink, T: Transport>(job: Job<'_, T>, sink: &S) -> Result<Finished, SyncError> {
    let Job {
        plugin,
        transport,
        platform,
        mode,
        concurrency,
        max_pages,
        limits,
        mut state,
        swaps,
        stop,
        mut progress,
    } = job;
    let mut summary = Summary::default();
    let resumed = resume(state.as_deref(), &mode)?;
    // The first request of a resumed pass is a stored cursor the source may no longer accept.
    let mut stored_cursor = resumed.is_some();
    let (mut pass, mut queue) = match resumed {
        Some(pass) => {
            let cursor = pass.cursor.clone();
            (Some(pass), cursor)
        }
        None => begin(plugin, &platform, &mode, state.as_deref_mut())?,
    };
    let mut provenance = plugin.provenance();
    // Shared with the follow-ups in flight; replaced when a swapped plugin brings its own.
    let mut answers = Arc::new(plugin.answers().clone());

    let stopping = || stop.is_some_and(|s| s.load(std::sync::atomic::Ordering::Relaxed));
    let mut pages = Pages::new(max_pages, pass.as_ref().map_or(0, |p| p.pages));
    while !queue.is_empty() {
        if stopping() {
            return Err(SyncError::Stopped);
        }
        let request = queue[0].clone();
        pages.admit(&request).map_err(SyncError::Listing)?;
        let response = transport
            .get(&request, "listing page", &answers, limits.listing)
            .await
            .map_err(|e| match e {
                Failure::Refused(message) => SyncError::Refused(message),
                Failure::TooLarge(message) => SyncError::Listing(message),
                Failure::Unreachable(message) => SyncError::Unreachable {
                    endpoint: request.endpoint.clone(),
                    message,
                },
                Failure::Paused(message) => SyncError::Paused(message),
            })?;
        if std::mem::take(&mut stored_cursor) && refuses_cursor(response.status) {
            let (Some(s), Some(p)) = (state.as_deref_mut(), &pass) else {
                unreachable!("only a pass in a state is resumed")
            };
            tracing::warn!(
                pass = p.id,
                "the source refused the stored cursor of this unfinished pass (HTTP {}: {}); \
                 the pass is abandoned (an abandoned pass deletes nothing) and a new one starts",
                response.status,
                response.snippet()
            );
            s.abandon_pass(p.id)?;
            (pass, queue) = begin(plugin, &platform, &mode, Some(s))?;
            pages.restart();
            continue;
        }
        let page = plugin
            .handle_page(&platform, &mode, &request, &response)
            .map_err(|e| match e {
                CallError::Refused(msg) => SyncError::Listing(msg),
                broken => SyncError::Plugin(broken),
            })?;
        summary.pages += 1;
        summary.seen += page.records.len() as u64;
        progress.update(&summary);

        let mut batch = Batch::default();
        let mut to_fetch = Vec::with_capacity(page.records.len());
        for record in page.records {
            let unchanged = match &state {
                Some(s) => {
                    s.done_version(&record.id)? == Some(done_version(&record.version, &provenance))
                }
                None => false,
            };
            if unchanged && !record.version.is_empty() {
                // Same source version as last uploaded: no follow-up, no upload.
                summary.unchanged += 1;
                batch.unchanged.push(record.id);
            } else {
                to_fetch.push(record);
            }
        }
        // Follow-ups are fetched concurrently and records mapped in listing
        // order; their uploads run `sink.in_flight()` at once, settled in
        // listing order. A halt takes no new record but lets the uploads in
        // flight finish, so what they wrote is kept.
        let fetching = answers.clone();
        let mut fetched = futures::stream::iter(to_fetch)
            .map(|record| {
                let answers = fetching.clone();
                async move {
                    let follow_ups =
                        follow_ups(transport, &record, &answers, limits.follow_up).await;
                    (record, follow_ups)
                }
            })
            .buffered(concurrency.max(1));
        let mut uploads = futures::stream::FuturesOrdered::new();
        let in_flight = sink.in_flight().max(1);
        let mut listed_all = false;
        let mut halt = None;
        loop {
            let room = halt.is_none() && !listed_all && uploads.len() < in_flight;
            tokio::select! {
                biased;
                Some(uploaded) = uploads.next(), if !uploads.is_empty() => {
                    if let Err(e) = settle(uploaded, &mut batch, &mut summary) {
                        halt.get_or_insert(e);
                    }
                    progress.update(&summary);
                }
                next = fetched.next(), if room => {
                    let Some((record, follow_ups)) = next else {
                        listed_all = true;
                        continue;
                    };
                    if stopping() {
                        halt = Some(SyncError::Stopped);
                        continue;
                    }
                    let follow_ups = match follow_ups {
                        Ok(f) => f,
                        Err(FollowUpError::Paused(msg)) => {
                            halt = Some(SyncError::Paused(msg));
                            continue;
                        }
                        Err(FollowUpError::Refused(msg)) => {
                            fail(&mut batch, &mut summary, &record, &[], "plugin", msg, &provenance);
                            continue;
                        }
                        Err(FollowUpError::TooLarge(msg)) => {
                            fail(&mut batch, &mut summary, &record, &[], "fetch", msg, &provenance);
                            continue;
                        }
                    };
                    // A new plugin, already checked, takes over between two records.
                    if let Some(rx) = swaps
                        && take_swap(plugin, rx)
                    {
                        provenance = plugin.provenance();
                        answers = Arc::new(plugin.answers().clone());
                    }
                    let ctx = RecordCtx {
                        plugin: &mut *plugin,
                        platform: &platform,
                        state: state.as_deref(),
                        provenance: &provenance,
                        answers: &answers,
                    };
                    match map(ctx, record, follow_ups, &mut batch, &mut summary)? {
                        Some(ready) => uploads.push_back(upload(sink, ready)),
                        None => progress.update(&summary),
                    }
                }
                else => break,
            }
        }
        drop(fetched);
        let pass_id = pass.as_ref().map(|p| p.id);
        if let Some(e) = halt {
            // This page is done again on the next run; what it finished is kept.
            if let Some(s) = &mut state {
                s.commit_page(pass_id, &queue, batch)?;
            }
            return Err(e);
        }

        queue.remove(0);
        if let Some(next) = page.next {
            queue.insert(0, next);
        }
        batch.pages = 1;
        if let Some(s) = &mut state {
            s.commit_page(pass_id, &queue, batch)?;
        }
    }

    // The last commit, with an empty cursor, completed the pass.
    progress.finish(&summary);
    let completed_pass = pass.map(|p| p.id);
    Ok(Finished {
        summary,
        completed_pass,
    })
}

/// The pass's kind and `since` cutoff; `id` syncs run outside any pass.
fn pass_kind(mode: &SyncMode) -> Option<(PassKind, Option<&str>)> {
    match mode {
        SyncMode::All => Some((PassKind::All, None)),
        SyncMode::Since(t) => Some((PassKind::Since, Some(t.as_str()))),
        SyncMode::Id(_) => None,
    }
}

/// The unfinished pass of this mode, to resume at its stored cursor.
fn resume(state: Option<&State>, mode: &SyncMode) -> Result<Option<Pass>, SyncError> {
    let (Some(s), Some((kind, since))) = (state, pass_kind(mode)) else {
        return Ok(None);
    };
    let open = s
        .open_pass(kind)?
        .filter(|p| p.since.as_deref() == since && !p.cursor.is_empty());
    if let Some(pass) = &open {
        tracing::info!(pass = pass.id, started = %pass.started_at, "resuming an unfinished pass from its stored cursor");
    }
    Ok(open)
}

/// A new pass (in the state, unless there is none or the mode has no passes)
/// at the plugin's first requests.
fn begin(
    plugin: &mut Plugin,
    platform: &str,
    mode: &SyncMode,
    state: Option<&mut State>,
) -> Result<(Option<Pass>, Vec<Request>), SyncError> {
    let starts = plugin.start(platform, mode).map_err(|e| match e {
        CallError::Refused(msg) => SyncError::ModeRefused(msg),
        broken => SyncError::Plugin(broken),
    })?;
    let pass = match (state, pass_kind(mode)) {
        (Some(s), Some((kind, since))) => Some(s.begin_pass(kind, since, &starts)?),
        _ => None,
    };
    Ok((pass, starts))
}

/// Whether an answer to a stored cursor says the source no longer accepts it:
/// a client error that is not about credentials, rights or pace (HTTP 401,
/// 403, 429) or time (408).
fn refuses_cursor(status: u16) -> bool {
    (400..500).contains(&status) && !matches!(status, 401 | 403 | 408 | 429)
}

enum FollowUpError {
    /// The plugin planned a request the host refuses.
    Refused(String),
    /// An answer was larger than the follow-ups' limit.
    TooLarge(String),
    /// Rate limited beyond the cap: the sync stops.
    Paused(String),
}

/// Switches to a new, already checked plugin if one is waiting; says whether it did.
pub fn take_swap(plugin: &mut Plugin, swaps: &std::sync::mpsc::Receiver<Plugin>) -> bool {
    match swaps.try_recv() {
        Ok(new) => {
            tracing::info!(old = %plugin.describe(), new = %new.describe(), "plugin swapped");
            *plugin = new;
            true
        }
        Err(_) => false,
    }
}

/// Fetches a record's follow-ups; a transfer that failed after retries
/// becomes status 0 so the plugin decides what a missing response means.
async fn follow_ups<T: Transport>(
    transport: &T,
    record: &SourceRecord,
    answers: &AnswerRules,
    limit: crate::fetch::BodyLimit,
) -> Result<Vec<(Request, Response)>, FollowUpError> {
    let mut out = Vec::with_capacity(record.follow_ups.len());
    for request in &record.follow_ups {
        let what = format!("{} of {:?}", request.target, record.label);
        let response = match transport.get(request, &what, answers, limit).await {
            Ok(r) => r,
            Err(Failure::Unreachable(message)) => Response {
                status: 0,
                headers: Vec::new(),
                body: message.into_bytes(),
            },
            Err(Failure::Refused(message)) => return Err(FollowUpError::Refused(message)),
            Err(Failure::Paused(message)) => return Err(FollowUpError::Paused(message)),
            Err(Failure::TooLarge(message)) => return Err(FollowUpError::TooLarge(message)),
        };
        out.push((request.clone(), response));
    }
    Ok(out)
}

/// What "done" means for a record: this version, mapped by this plugin. A new
/// or fixed plugin therefore maps every record again, as a fixed mapping should.
fn done_version(version: &str, provenance: &str) -> Done {
    Done {
        version: version.to_string(),
        plugin: provenance.to_string(),
    }
}

/// What `process` needs besides the record.
pub struct RecordCtx<'a> {
    pub plugin: &'a mut Plugin,
    pub platform: &'a str,
    pub state: Option<&'a State>,
    pub provenance: &'a str,
    /// Which follow-up answers are final.
    pub answers: &'a AnswerRules,
}

/// Maps one record and puts its assets; outcomes go into `batch` and `summary`.
pub async fn process<S: Sink>(
    ctx: RecordCtx<'_>,
    sink: &S,
    record: SourceRecord,
    follow_ups: Vec<(Request, Response)>,
    batch: &mut Batch,
    summary: &mut Summary,
) -> Result<(), SyncError> {
    match map(ctx, record, follow_ups, batch, summary)? {
        Some(ready) => settle(upload(sink, ready).await, batch, summary),
        None => Ok(()),
    }
}

/// A mapped record whose assets are ready to put.
pub struct Ready {
    record: SourceRecord,
    follow_ups: Vec<(Request, Response)>,
    /// Each asset with what the state knows of it in AIoD.
    assets: Vec<(Asset, Option<StoredAsset>)>,
    provenance: String,
    /// Why the record must be mapped again on the next pass, if it must.
    again: Option<String>,
}

/// A record's puts, in asset order, up to the first that ends the sync.
pub struct Uploaded {
    ready: Ready,
    puts: Vec<Result<Put, PutError>>,
}

/// Maps one record. A skipped or failed record is settled here (`None`).
fn map(
    ctx: RecordCtx<'_>,
    record: SourceRecord,
    follow_ups: Vec<(Request, Response)>,
    batch: &mut Batch,
    summary: &mut Summary,
) -> Result<Option<Ready>, SyncError> {
    let (id, label) = (record.id.clone(), record.label.clone());
    let mapped = match ctx.plugin.map_record(ctx.platform, &record, &follow_ups) {
        Ok(Ok(mapped)) => Ok(mapped),
        Ok(Err(RecordError::Skip(reason))) => {
            summary.skipped += 1;
            tracing::info!(id, label, "record skipped: {reason}");
            // Before contract 0.1.2 a skip only meant "not now": what AIoD
            // holds of the record stays, as those plugins were written for.
            let outcome = if ctx.plugin.skip_withdraws() {
                Settled::Skipped
            } else {
                Settled::Done
            };
            batch.settled.push(SettledRecord {
                done: done_version(&record.version, ctx.provenance),
                id: record.id,
                label: record.label,
                outcome,
            });
            return Ok(None);
        }
        Ok(Err(e)) => Err(e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let mapped = match mapped {
        Ok(mapped) => mapped,
        Err(error) => {
            fail(
                batch,
                summary,
                &record,
                &follow_ups,
                "plugin",
                error,
                ctx.provenance,
            );
            return Ok(None);
        }
    };
    for warning in &mapped.warnings {
        summary.warnings += 1;
        tracing::warn!(id, label, "{warning}");
    }
    // Not final: an answer the plugin judges not ready, one still failing
    // after the retries, or the plugin's own word (e.g. a partial answer).
    let again = follow_ups
        .iter()
        .find_map(|(q, r)| ctx.answers.again(&q.endpoint, r))
        .or(mapped.again);
    let mut assets = Vec::with_capacity(mapped.assets.len());
    for asset in mapped.assets {
        let previous = match ctx.state {
            Some(s) => s.asset(&asset.asset_type, &asset.platform_resource_identifier)?,
            None => None,
        };
        assets.push((asset, previous));
    }
    Ok(Some(Ready {
        record,
        follow_ups,
        assets,
        provenance: ctx.provenance.to_string(),
        again,
    }))
}

/// Puts a record's assets in order; stops at a put that ends the sync.
async fn upload<S: Sink>(sink: &S, mut ready: Ready) -> Uploaded {
    let mut puts = Vec::with_capacity(ready.assets.len());
    for (asset, previous) in std::mem::take(&mut ready.assets) {
        let put = sink.put(asset, previous).await;
        let ends = matches!(put, Err(PutError::Fatal(_) | PutError::Paused(_)));
        puts.push(put);
        if ends {
            break;
        }
    }
    Uploaded { ready, puts }
}

/// Records what a record's puts did; an error ends the sync.
fn settle(uploaded: Uploaded, batch: &mut Batch, summary: &mut Summary) -> Result<(), SyncError> {
    let Uploaded { ready, puts } = uploaded;
    let Ready {
        record,
        follow_ups,
        provenance,
        again,
        ..
    } = ready;
    let mut failure = None;
    let mut ended = None;
    for put in puts {
        match put {
            Ok(put) => {
                match put.outcome {
                    Outcome::Created => summary.created += 1,
                    Outcome::Updated => summary.updated += 1,
                    Outcome::Unchanged => summary.unchanged += 1,
                    Outcome::Printed => summary.printed += 1,
                }
                batch.assets.extend(put.stored.map(|asset| UploadedAsset {
                    asset,
                    source_id: record.id.clone(),
                    plugin: provenance.clone(),
                }));
            }
            Err(PutError::Fatal(e)) => ended = Some(SyncError::Upload(e)),
            Err(PutError::Paused(e)) => ended = Some(SyncError::Paused(e)),
            Err(PutError::Invalid(e)) => failure = Some(("validation", e)),
            Err(PutError::Rejected(e)) => failure = Some(("upload", e)),
        }
    }
    if let Some(e) = ended {
        // What was put is kept; the record itself is done again next time.
        return Err(e);
    }
    if let Some((stage, error)) = failure {
        fail(
            batch,
            summary,
            &record,
            &follow_ups,
            stage,
            error,
            &provenance,
        );
        return Ok(());
    }
    // The upload stands either way; a record that is not final is fetched and
    // mapped again on the next pass.
    let outcome = match again {
        Some(why) => {
            tracing::debug!(id = record.id, "mapped again on the next pass: {why}");
            Settled::Again
        }
        None => Settled::Done,
    };
    batch.settled.push(SettledRecord {
        done: done_version(&record.version, &provenance),
        id: record.id,
        label: record.label,
        outcome,
    });
    Ok(())
}

/// Logs a failed record and keeps it as a dead letter, with what is needed to retry it.
fn fail(
    batch: &mut Batch,
    summary: &mut Summary,
    record: &SourceRecord,
    follow_ups: &[(Request, Response)],
    stage: &str,
    error: String,
    provenance: &str,
) {
    summary.failed += 1;
    tracing::error!(
        id = record.id,
        label = record.label,
        stage,
        "record failed: {error}"
    );
    batch.dead.push(DeadLetter {
        record: record.clone(),
        follow_ups: follow_ups
            .iter()
            .map(|(q, r)| StoredFollowUp::new(q, r))
            .collect(),
        stage: stage.to_string(),
        error,
        record_hash: crate::digest::hex(record.data.as_bytes()),
        plugin: provenance.to_string(),
        attempts: 1,
        failed_at: String::new(),
    });
}
