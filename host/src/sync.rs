//! One sync: ask the plugin what to fetch, fetch it, hand each record and its
//! follow-up responses to the plugin, and pass the assets to a sink; with a
//! state, resume an unfinished pass, skip records that have not changed, and
//! keep failed records as dead letters.
//!
//! A sync is a pipeline of named steps, each below on its own:
//! [`Sync::open_pass`] (resume or begin), [`Sync::read_page`],
//! [`Sync::split_unchanged`], then per page [`Sync::work_page`], which fetches
//! follow-ups ([`follow_ups`]), maps in listing order ([`map`]), puts with
//! bounded concurrency ([`upload`]) and settles in listing order
//! ([`settle`]); and [`Sync::commit`].
//!
//! A bad record costs only that record; only problems that make the listing
//! itself impossible (the plugin refuses the mode, the platform cannot be
//! reached, the plugin cannot read a page) or that would fail every record
//! (a missing role) end the sync. The cursor is committed with each page's
//! outcomes, so a killed sync resumes at the page it was working on.

use crate::answers::AnswerRules;
use crate::fetch::{BodyLimits, Pause};
use crate::model::{Asset, RecordError, Request, Response, SourceRecord, SyncMode};
use crate::pages::Pages;
use crate::payload::Payload;
use crate::plugin::{CallError, Plugin};
use crate::progress::Progress;
use crate::state::{
    Batch, DeadLetter, Done, Pass, PassKind, Settled, SettledRecord, State, StoredAsset,
    UploadedAsset,
};
use crate::summary::{Event, Summary, Tally};
use crate::transport::{Failure, Transport};
use futures::StreamExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Receiver;

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
    /// AIoD holds the asset but does not show it (an unpublished draft, e.g.
    /// left by a failed first upload): this record only; the message says what
    /// the catalogue's maintainers can do.
    #[error("{0}")]
    Hidden(String),
    /// Every record would fail the same way (e.g. a missing role): stop.
    #[error("{0}")]
    Fatal(String),
    /// AIoD asked for a longer wait than the cap: stop, resumable.
    #[error("{0}")]
    Paused(Pause),
}

/// Problems that end a sync.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("the plugin cannot sync this mode: {0}")]
    ModeRefused(String),
    #[error("{0}")]
    Plugin(#[from] CallError),
    /// A request outside the plugin's endpoints.
    #[error("{0}")]
    Refused(String),
    #[error("cannot reach endpoint {endpoint:?}: {message}")]
    Unreachable { endpoint: String, message: String },
    #[error("the listing cannot go on: {0}")]
    Listing(String),
    #[error("{0}")]
    Upload(String),
    #[error("stopped: {0}; the cursor is saved, run the same command again to continue")]
    Paused(Pause),
    #[error("state database: {0:#}")]
    State(#[source] anyhow::Error),
    #[error("stopped by a signal; the cursor is saved")]
    Stopped,
}

/// Every state call of a sync fails the same way: its database.
trait StateResult<T> {
    fn state(self) -> Result<T, SyncError>;
}

impl<T> StateResult<T> for anyhow::Result<T> {
    fn state(self) -> Result<T, SyncError> {
        self.map_err(SyncError::State)
    }
}

/// How a sync ended.
#[derive(Debug)]
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
    pub limits: BodyLimits,
    /// Without a state (`--dry-run`) every record is processed and nothing is kept.
    pub state: Option<&'a mut State>,
    /// Checked plugins to switch to (from `serve`'s hot swap).
    pub swaps: Option<&'a Receiver<Plugin>>,
    /// Set by a signal: finish the current record, save the cursor, stop.
    pub stop: Option<&'a AtomicBool>,
    /// Shows how far the sync is.
    pub progress: Progress,
}

pub async fn run<S: Sink, T: Transport>(job: Job<'_, T>, sink: &S) -> Result<Finished, SyncError> {
    let mut sync = Sync::new(job, sink);
    let mut listing = sync.open_pass()?;
    while let Some(request) = listing.queue.first().cloned() {
        if sync.stopping() {
            return Err(SyncError::Stopped);
        }
        listing.pages.admit(&request).map_err(SyncError::Listing)?;
        let stored_cursor = std::mem::take(&mut listing.stored_cursor);
        let response = match sync.read_page(&request).await {
            // A cursor stored before the operator changed the endpoint, or one
            // the host would never have planned.
            Err(SyncError::Refused(why)) if stored_cursor => {
                listing = sync.restart_pass(listing, &format!("the host refuses it: {why}"))?;
                continue;
            }
            read => read?,
        };
        if stored_cursor && refuses_cursor(response.status) {
            let why = format!(
                "the source refused it: HTTP {}: {}",
                response.status,
                response.snippet()
            );
            listing = sync.restart_pass(listing, &why)?;
            continue;
        }
        let page = sync
            .plugin
            .handle_page(&sync.platform, &sync.mode, &request, &response)
            .map_err(|e| match e {
                CallError::Refused(msg) => SyncError::Listing(msg),
                broken => SyncError::Plugin(broken),
            })?;
        sync.tally.add(Event::Page);
        sync.tally.add(Event::Seen(page.records.len() as u64));
        let mut batch = Batch::default();
        let to_fetch = sync.split_unchanged(page.records, &mut batch)?;
        let halt = sync.work_page(to_fetch, &mut batch).await?;
        sync.commit(&mut listing, batch, halt.is_none().then_some(page.next))?;
        if let Some(e) = halt {
            return Err(e);
        }
    }
    // The last commit, with an empty cursor, completed the pass.
    Ok(Finished {
        summary: sync.tally.finish(),
        completed_pass: listing.pass.map(|p| p.id),
    })
}

/// Stored records `remap` maps per commit.
const REMAP_PAGE: usize = 500;

/// `remap`: maps every stored record (and dead letter) again with the job's
/// plugin, from what its last mapping was made from: no request to the
/// platform, not even the listing. Uploads go through the sink as in a sync,
/// so only changed bodies are written. With `keep`, each page's outcomes are
/// committed as a sync's are; without (a dry run), the state is only read.
pub async fn remap<S: Sink, T: Transport>(
    job: Job<'_, T>,
    sink: &S,
    keep: bool,
) -> Result<Finished, SyncError> {
    let mut sync = Sync::new(job, sink);
    let mut after = String::new();
    loop {
        let Some(state) = sync.state.as_deref() else {
            return Err(SyncError::State(anyhow::anyhow!("remap reads a state")));
        };
        let stored = state.stored_payloads(&after, REMAP_PAGE).state()?;
        let Some((last, _)) = stored.last() else {
            break;
        };
        after = last.clone();
        sync.tally.add(Event::Seen(stored.len() as u64));
        let work = stored
            .into_iter()
            .map(|(_, p)| {
                let answers = p.answers();
                Work::Stored {
                    record: p.record,
                    answers,
                    kept: true,
                }
            })
            .collect();
        let mut batch = Batch {
            remapped: true,
            ..Batch::default()
        };
        let halt = sync.work_page(work, &mut batch).await?;
        if keep && let Some(state) = sync.state.as_deref_mut() {
            state.commit_page(None, &[], batch).state()?;
        }
        if let Some(e) = halt {
            return Err(e);
        }
    }
    Ok(Finished {
        summary: sync.tally.finish(),
        completed_pass: None,
    })
}

/// A record to map, with where its follow-up answers come from.
enum Work {
    /// Fetched now.
    Fetch(SourceRecord),
    /// Stored when another plugin mapped this version of the record.
    Stored {
        record: SourceRecord,
        answers: Vec<(Request, Response)>,
        /// The stored payload is exactly this record and these answers:
        /// there is nothing new to store.
        kept: bool,
    },
}

/// Where a pass is: what is left to ask for, and how much was asked.
struct Listing {
    /// `None` without a state, or in `id` mode.
    pass: Option<Pass>,
    /// Requests still to make; the first is the next page.
    queue: Vec<Request>,
    pages: Pages,
    /// The first request is a stored cursor, which the source may no longer accept.
    stored_cursor: bool,
}

/// A sync under way: the job, and the running plugin's identity.
struct Sync<'a, T, S> {
    plugin: &'a mut Plugin,
    transport: &'a T,
    sink: &'a S,
    platform: String,
    mode: SyncMode,
    concurrency: usize,
    max_pages: u64,
    limits: BodyLimits,
    state: Option<&'a mut State>,
    swaps: Option<&'a Receiver<Plugin>>,
    stop: Option<&'a AtomicBool>,
    tally: Tally,
    /// What "mapped by this plugin" means in the state; replaced by a swap.
    provenance: String,
    /// Shared with the follow-ups in flight; replaced by a swap.
    answers: Arc<AnswerRules>,
}

impl<'a, T: Transport, S: Sink> Sync<'a, T, S> {
    fn new(job: Job<'a, T>, sink: &'a S) -> Self {
        let provenance = job.plugin.provenance();
        let answers = Arc::new(job.plugin.answers().clone());
        Sync {
            plugin: job.plugin,
            transport: job.transport,
            sink,
            platform: job.platform,
            mode: job.mode,
            concurrency: job.concurrency.max(1),
            max_pages: job.max_pages,
            limits: job.limits,
            state: job.state,
            swaps: job.swaps,
            stop: job.stop,
            tally: Tally::new(job.progress),
            provenance,
            answers,
        }
    }

    fn stopping(&self) -> bool {
        self.stop.is_some_and(|s| s.load(Ordering::Relaxed))
    }

    /// Step 1: the unfinished pass of this mode at its stored cursor, or a new
    /// pass (in the state, unless there is none or the mode has no passes) at
    /// the plugin's first requests.
    fn open_pass(&mut self) -> Result<Listing, SyncError> {
        if let Some(pass) = resume(self.state.as_deref_mut(), &self.mode)? {
            tracing::info!(pass = pass.id, started = %pass.started_at, "resuming an unfinished pass from its stored cursor");
            return Ok(Listing {
                queue: pass.cursor.clone(),
                pages: Pages::new(self.max_pages, pass.pages),
                pass: Some(pass),
                stored_cursor: true,
            });
        }
        let queue = self
            .plugin
            .start(&self.platform, &self.mode)
            .map_err(|e| match e {
                CallError::Refused(msg) => SyncError::ModeRefused(msg),
                broken => SyncError::Plugin(broken),
            })?;
        let pass = match (self.state.as_deref_mut(), pass_kind(&self.mode)) {
            (Some(s), Some((kind, since))) => Some(s.begin_pass(kind, since, &queue).state()?),
            _ => None,
        };
        Ok(Listing {
            pass,
            queue,
            pages: Pages::new(self.max_pages, 0),
            stored_cursor: false,
        })
    }

    /// The stored cursor cannot be used (`why`): that pass is abandoned (an
    /// abandoned pass deletes nothing) and a new one begins.
    fn restart_pass(&mut self, listing: Listing, why: &str) -> Result<Listing, SyncError> {
        let (Some(state), Some(pass)) = (self.state.as_deref_mut(), listing.pass) else {
            unreachable!("only a pass in a state is resumed")
        };
        abandon(state, pass.id, why)?;
        self.open_pass()
    }

    /// Step 2: one listing page, within the listing's body limit.
    async fn read_page(&self, request: &Request) -> Result<Response, SyncError> {
        self.transport
            .get(request, "listing page", &self.answers, self.limits.listing)
            .await
            .map_err(|e| match e {
                Failure::Refused(message) => SyncError::Refused(message),
                Failure::TooLarge(message) => SyncError::Listing(message),
                Failure::Unreachable(message) => SyncError::Unreachable {
                    endpoint: request.endpoint.clone(),
                    message,
                },
                Failure::Paused(pause) => SyncError::Paused(pause),
            })
    }

    /// Step 3: records of the version this plugin last mapped are unchanged:
    /// no follow-up, no upload. A record of the version another plugin mapped
    /// is mapped again from the answers stored then (when they were final
    /// and answer what this plugin plans): no follow-up either. The others
    /// are fetched. In listing order.
    fn split_unchanged(
        &mut self,
        records: Vec<SourceRecord>,
        batch: &mut Batch,
    ) -> Result<Vec<Work>, SyncError> {
        let Some(state) = self.state.as_deref() else {
            return Ok(records.into_iter().map(Work::Fetch).collect());
        };
        let mut work = Vec::with_capacity(records.len());
        for record in records {
            let done = state.done_version(&record.id).state()?;
            let same_version = !record.version.is_empty()
                && done.as_ref().is_some_and(|d| d.version == record.version);
            if same_version && done.is_some_and(|d| d.plugin == self.provenance) {
                self.tally.add(Event::Unchanged);
                batch.unchanged.push(record.id);
                continue;
            }
            let stored = match same_version {
                true => state.reusable(&record.id, &record.version).state()?,
                false => None,
            };
            work.push(match stored {
                Some(p) if p.answers_plan_of(&record) => Work::Stored {
                    answers: p.answers(),
                    kept: p.record == record,
                    record,
                },
                _ => Work::Fetch(record),
            });
        }
        Ok(work)
    }

    /// Steps 4 to 7 for one page's records: follow-ups are fetched
    /// `concurrency` at once and records mapped in listing order; their
    /// uploads run `sink.in_flight()` at once and are settled in listing
    /// order. Returns what halts the sync, if anything did: a halt takes no
    /// new record but lets the uploads in flight finish, so what they wrote
    /// is kept.
    async fn work_page(
        &mut self,
        records: Vec<Work>,
        batch: &mut Batch,
    ) -> Result<Option<SyncError>, SyncError> {
        let (transport, sink, limit) = (self.transport, self.sink, self.limits.follow_up);
        let answers = self.answers.clone();
        let mut fetched = futures::stream::iter(records)
            .map(|work| {
                let answers = answers.clone();
                async move {
                    match work {
                        Work::Fetch(record) => {
                            let follow_ups = follow_ups(transport, &record, &answers, limit).await;
                            (record, follow_ups, false)
                        }
                        Work::Stored {
                            record,
                            answers,
                            kept,
                        } => (record, Ok(answers), kept),
                    }
                }
            })
            .buffered(self.concurrency);
        let mut uploads = futures::stream::FuturesOrdered::new();
        let in_flight = sink.in_flight().max(1);
        let mut listed_all = false;
        let mut halt = None;
        loop {
            let room = halt.is_none() && !listed_all && uploads.len() < in_flight;
            tokio::select! {
                biased;
                Some(uploaded) = uploads.next(), if !uploads.is_empty() => {
                    if let Err(e) = settle(uploaded, batch, &mut self.tally) {
                        halt.get_or_insert(e);
                    }
                }
                next = fetched.next(), if room => match next {
                    None => listed_all = true,
                    Some(_) if self.stopping() => halt = Some(SyncError::Stopped),
                    Some((record, follow_ups, kept)) => match self.map_fetched(record, follow_ups, kept, batch) {
                        Ok(Some(ready)) => uploads.push_back(upload(sink, ready)),
                        Ok(None) => {}
                        Err(e) => halt = Some(e),
                    },
                },
                else => break,
            }
        }
        Ok(halt)
    }

    /// Step 5 for one fetched record: a failed fetch settles it (or halts),
    /// a waiting plugin swap takes over, then the record is mapped.
    fn map_fetched(
        &mut self,
        record: SourceRecord,
        follow_ups: Result<Vec<(Request, Response)>, FollowUpError>,
        kept: bool,
        batch: &mut Batch,
    ) -> Result<Option<Ready>, SyncError> {
        let follow_ups = match follow_ups {
            Ok(f) => f,
            Err(FollowUpError::Paused(pause)) => return Err(SyncError::Paused(pause)),
            Err(FollowUpError::Refused(msg)) => {
                fail(
                    batch,
                    (&mut self.tally, Event::Failed),
                    &record,
                    &[],
                    "plugin",
                    msg,
                    &self.provenance,
                );
                return Ok(None);
            }
            Err(FollowUpError::TooLarge(msg)) => {
                fail(
                    batch,
                    (&mut self.tally, Event::Failed),
                    &record,
                    &[],
                    "fetch",
                    msg,
                    &self.provenance,
                );
                return Ok(None);
            }
        };
        // A new plugin, already checked, takes over between two records.
        if let Some(rx) = self.swaps
            && take_swap(self.plugin, rx)
        {
            self.provenance = self.plugin.provenance();
            self.answers = Arc::new(self.plugin.answers().clone());
        }
        let ctx = RecordCtx {
            plugin: &mut *self.plugin,
            platform: &self.platform,
            state: self.state.as_deref(),
            provenance: &self.provenance,
            answers: &self.answers,
        };
        map(ctx, record, follow_ups, kept, batch, &mut self.tally)
    }

    /// Step 8: the page's outcomes and the cursor in one transaction. `next`
    /// is `None` when the page is left to redo (a halt) and `Some(next link)`
    /// when it is done; an empty cursor completes the pass.
    fn commit(
        &mut self,
        listing: &mut Listing,
        mut batch: Batch,
        next: Option<Option<Request>>,
    ) -> Result<(), SyncError> {
        if let Some(next) = next {
            listing.queue.remove(0);
            if let Some(next) = next {
                listing.queue.insert(0, next);
            }
            batch.pages = 1;
        }
        match self.state.as_deref_mut() {
            Some(state) => state
                .commit_page(listing.pass.as_ref().map(|p| p.id), &listing.queue, batch)
                .state(),
            None => Ok(()),
        }
    }
}

/// The pass's kind and `since` cutoff; `id` syncs run outside any pass.
fn pass_kind(mode: &SyncMode) -> Option<(PassKind, Option<&str>)> {
    match mode {
        SyncMode::All => Some((PassKind::All, None)),
        SyncMode::Since(t) => Some((PassKind::Since, Some(t.as_str()))),
        SyncMode::Id(_) => None,
    }
}

/// The unfinished pass of this mode, to resume at its stored cursor; one whose
/// cursor cannot be read is abandoned.
fn resume(state: Option<&mut State>, mode: &SyncMode) -> Result<Option<Pass>, SyncError> {
    let (Some(s), Some((kind, since))) = (state, pass_kind(mode)) else {
        return Ok(None);
    };
    let open = s.open_pass(kind).state()?;
    if let Some(pass) = &open
        && let Some(why) = &pass.unreadable_cursor
    {
        abandon(s, pass.id, why)?;
        return Ok(None);
    }
    Ok(open.filter(|p| p.since.as_deref() == since && !p.cursor.is_empty()))
}

/// Abandons pass `id`, whose stored cursor cannot be used (`why`), with a warning.
fn abandon(state: &mut State, id: i64, why: &str) -> Result<(), SyncError> {
    tracing::warn!(
        pass = id,
        "the stored cursor of this unfinished pass cannot be used ({why}); the pass is \
         abandoned (an abandoned pass deletes nothing) and a new one starts"
    );
    state.abandon_pass(id).state()
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
    Paused(Pause),
}

/// Switches to a new, already checked plugin if one is waiting; says whether it did.
pub fn take_swap(plugin: &mut Plugin, swaps: &Receiver<Plugin>) -> bool {
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
            Err(Failure::Paused(pause)) => return Err(FollowUpError::Paused(pause)),
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

/// Maps one record and puts its assets; outcomes go into `batch` and `tally`.
pub async fn process<S: Sink>(
    ctx: RecordCtx<'_>,
    sink: &S,
    record: SourceRecord,
    follow_ups: Vec<(Request, Response)>,
    batch: &mut Batch,
    tally: &mut Tally,
) -> Result<(), SyncError> {
    match map(ctx, record, follow_ups, false, batch, tally)? {
        Some(ready) => settle(upload(sink, ready).await, batch, tally),
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
    /// Its payload is the one stored already.
    kept: bool,
}

/// What to store as the record's payload: nothing when the stored one is it.
fn made_from(
    record: &SourceRecord,
    follow_ups: &[(Request, Response)],
    kept: bool,
) -> Option<Payload> {
    (!kept).then(|| Payload::new(record, follow_ups))
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
    kept: bool,
    batch: &mut Batch,
    tally: &mut Tally,
) -> Result<Option<Ready>, SyncError> {
    let (id, label) = (record.id.clone(), record.label.clone());
    let mapped = match ctx.plugin.map_record(ctx.platform, &record, &follow_ups) {
        Ok(Ok(mapped)) => Ok(mapped),
        Ok(Err(RecordError::Skip(reason))) => {
            tally.add(Event::Skipped);
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
                payload: made_from(&record, &follow_ups, kept),
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
                (tally, Event::Failed),
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
        tally.add(Event::Warning);
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
            Some(s) => s
                .asset(&asset.asset_type, &asset.platform_resource_identifier)
                .state()?,
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
        kept,
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
fn settle(uploaded: Uploaded, batch: &mut Batch, tally: &mut Tally) -> Result<(), SyncError> {
    let Uploaded { ready, puts } = uploaded;
    let Ready {
        record,
        follow_ups,
        provenance,
        again,
        kept,
        ..
    } = ready;
    let mut failure = None;
    let mut ended = None;
    for put in puts {
        match put {
            Ok(put) => {
                tally.add(match put.outcome {
                    Outcome::Created => Event::Created,
                    Outcome::Updated => Event::Updated,
                    Outcome::Unchanged => Event::Unchanged,
                    Outcome::Printed => Event::Printed,
                });
                batch.assets.extend(put.stored.map(|asset| UploadedAsset {
                    asset,
                    source_id: record.id.clone(),
                    plugin: provenance.clone(),
                }));
            }
            Err(PutError::Fatal(e)) => ended = Some(SyncError::Upload(e)),
            Err(PutError::Paused(e)) => ended = Some(SyncError::Paused(e)),
            Err(PutError::Invalid(e)) => failure = Some((Event::Failed, "validation", e)),
            Err(PutError::Rejected(e)) => failure = Some((Event::Failed, "upload", e)),
            Err(PutError::Hidden(e)) => failure = Some((Event::Unpublished, "unpublished", e)),
        }
    }
    if let Some(e) = ended {
        // What was put is kept; the record itself is done again next time.
        return Err(e);
    }
    if let Some((event, stage, error)) = failure {
        fail(
            batch,
            (tally, event),
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
        payload: made_from(&record, &follow_ups, kept),
        id: record.id,
        label: record.label,
        outcome,
    });
    Ok(())
}

/// Logs a failed record and keeps it as a dead letter, with what is needed to retry it.
fn fail(
    batch: &mut Batch,
    (tally, event): (&mut Tally, Event),
    record: &SourceRecord,
    follow_ups: &[(Request, Response)],
    stage: &str,
    error: String,
    provenance: &str,
) {
    tally.add(event);
    tracing::error!(
        id = record.id,
        label = record.label,
        stage,
        "record failed: {error}"
    );
    let Payload { record, follow_ups } = Payload::for_dead_letter(record, follow_ups);
    batch.dead.push(DeadLetter {
        record_hash: crate::digest::hex(record.data.as_bytes()),
        record,
        follow_ups,
        stage: stage.to_string(),
        error,
        plugin: provenance.to_string(),
        attempts: 1,
        failed_at: String::new(),
        payload: None,
    });
}

#[cfg(test)]
mod tests;
