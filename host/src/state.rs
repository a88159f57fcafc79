//! The sync state, in SQLite: the cursor of an unfinished pass, the high-water
//! mark, what was last uploaded per asset, the last version seen per source
//! record, and the dead letters.
//!
//! Every change is one transaction (WAL journal), so a killed process leaves
//! the state as of its last commit, never half-written.

use crate::model::{Request, Response, SourceRecord};
use crate::secret::redact;
use anyhow::{Context as _, Result};
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSqlOutput, ValueRef};
use rusqlite::{Connection, OptionalExtension, ToSql, TransactionBehavior, params};
use rusqlite_migration::{M, Migrations};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS passes (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,              -- 'all' or 'since'
    since TEXT,                      -- the cutoff of a 'since' pass
    started_at TEXT NOT NULL,        -- RFC 3339, host clock
    cursor TEXT,                     -- JSON list of requests still to make
    completed_at TEXT
);
CREATE TABLE IF NOT EXISTS records (
    source_id TEXT PRIMARY KEY,
    version TEXT NOT NULL,           -- the version whose assets are all uploaded
    last_seen_pass INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS assets (
    asset_type TEXT NOT NULL,
    platform_resource_identifier TEXT NOT NULL,
    identifier TEXT NOT NULL,        -- the AIoD identifier
    body_hash TEXT NOT NULL,         -- of the normalised body last sent (or found)
    source_id TEXT,                  -- NULL for assets found in AIoD, not (yet) in a listing
    last_seen_pass INTEGER NOT NULL,
    plugin TEXT,                     -- provenance: name version digest
    updated_at TEXT NOT NULL,
    PRIMARY KEY (asset_type, platform_resource_identifier)
);
CREATE INDEX IF NOT EXISTS assets_by_source ON assets(source_id);
CREATE TABLE IF NOT EXISTS dead_letters (
    source_id TEXT PRIMARY KEY,
    label TEXT NOT NULL,
    version TEXT NOT NULL,
    stage TEXT NOT NULL,             -- plugin, validation, upload
    error TEXT NOT NULL,
    record TEXT NOT NULL,            -- the source record (JSON)
    follow_ups TEXT NOT NULL,        -- the follow-up requests and responses (JSON)
    record_hash TEXT NOT NULL,
    plugin TEXT NOT NULL,            -- name version digest
    attempts INTEGER NOT NULL,
    failed_at TEXT NOT NULL
);
";

/// Changes to `SCHEMA`, in order: `PRAGMA user_version` counts those applied
/// (as rusqlite_migration keeps it), so a state written by an earlier host is
/// brought up to date on open, and one from a later host is refused. States
/// made before the first change are at 0: `SCHEMA` stays as they have it.
const MIGRATIONS: &[M<'static>] = &[
    // 1: what a missing record is looked up by, and how its last mapping ended.
    M::up(
        "ALTER TABLE records ADD COLUMN label TEXT NOT NULL DEFAULT '';
         ALTER TABLE records ADD COLUMN outcome TEXT NOT NULL DEFAULT 'done'; -- done, again, skipped
         ALTER TABLE assets ADD COLUMN label TEXT NOT NULL DEFAULT ''; -- its name in AIoD, if imported
         CREATE INDEX IF NOT EXISTS records_by_outcome ON records(outcome);
         -- an asset found in AIoD is claimed by its platform id, per settled record
         CREATE INDEX IF NOT EXISTS assets_by_pid ON assets(platform_resource_identifier);",
    ),
    // 2: listing pages read per pass, so that a resumed pass keeps its ceiling.
    M::up("ALTER TABLE passes ADD COLUMN pages INTEGER NOT NULL DEFAULT 0;"),
    // 3: one value per column. A pass's status had been told by `completed_at`
    // (NULL, a time, or 'abandoned'); a record's version had been stored as
    // "{version}\n{plugin}", with the provenance of the plugin that mapped it.
    M::up(
        "ALTER TABLE passes ADD COLUMN status TEXT NOT NULL DEFAULT 'open'
             CHECK (status IN ('open', 'complete', 'abandoned'));
         UPDATE passes SET
             status = CASE completed_at WHEN 'abandoned' THEN 'abandoned' ELSE 'complete' END,
             completed_at = NULLIF(completed_at, 'abandoned')
         WHERE completed_at IS NOT NULL;
         ALTER TABLE records ADD COLUMN plugin TEXT NOT NULL DEFAULT ''; -- name version digest
         UPDATE records SET
             version = substr(version, 1, instr(version, char(10)) - 1),
             plugin = substr(version, instr(version, char(10)) + 1)
         WHERE instr(version, char(10)) > 0;",
    ),
];

/// An enum stored as text: each variant and its spelling in the state.
macro_rules! stored_as_text {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(match self {
                    $($name::$variant => $text,)+
                }))
            }
        }

        impl FromSql for $name {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                match value.as_str()? {
                    $($text => Ok($name::$variant),)+
                    other => Err(FromSqlError::Other(
                        format!("{other:?} is not a {}", stringify!($name)).into(),
                    )),
                }
            }
        }
    };
}

stored_as_text! {
    /// Which listing a pass reads.
    pub enum PassKind {
        /// Every record.
        All = "all",
        /// The records modified since a cutoff.
        Since = "since",
    }
}

stored_as_text! {
    /// Where a pass stands. Only a complete pass advances the high-water mark
    /// or leads to deletes.
    pub enum PassStatus {
        /// Pages still to read, from its cursor.
        Open = "open",
        /// Its last page is read.
        Complete = "complete",
        /// Given up unfinished (e.g. its stored cursor was refused).
        Abandoned = "abandoned",
    }
}

/// An open pass over a platform's listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pass {
    pub id: i64,
    pub kind: PassKind,
    pub since: Option<String>,
    pub started_at: String,
    /// Requests still to make; empty when the listing is done.
    pub cursor: Vec<Request>,
    /// Listing pages read so far.
    pub pages: u64,
}

/// What we know of one asset in AIoD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAsset {
    pub asset_type: String,
    pub platform_resource_identifier: String,
    pub identifier: String,
    pub body_hash: String,
}

/// A follow-up as stored with a dead letter (bodies as text: they are JSON or error text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredFollowUp {
    pub request: Request,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl StoredFollowUp {
    pub fn new(request: &Request, response: &Response) -> StoredFollowUp {
        StoredFollowUp {
            request: request.clone(),
            status: response.status,
            headers: response.headers.clone(),
            body: String::from_utf8_lossy(&response.body).into_owned(),
        }
    }

    pub fn response(&self) -> Response {
        Response {
            status: self.status,
            headers: self.headers.clone(),
            body: self.body.clone().into_bytes(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    pub record: SourceRecord,
    pub follow_ups: Vec<StoredFollowUp>,
    pub stage: String,
    pub error: String,
    pub record_hash: String,
    pub plugin: String,
    pub attempts: i64,
    pub failed_at: String,
}

/// An asset found in AIoD before the first sync, with its name there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownAsset {
    pub asset: StoredAsset,
    pub name: String,
}

/// An asset whose source record a complete pass did not list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingAsset {
    pub asset: StoredAsset,
    /// The source record's id; `None` for an asset found in AIoD and never listed.
    pub source_id: Option<String>,
    /// The record's label when last listed, else the asset's name in AIoD.
    pub label: String,
    /// The last pass that listed it (0: never).
    pub last_seen_pass: i64,
}

stored_as_text! {
    /// How the last mapping of a record ended.
    pub enum Settled {
        /// Its assets are in AIoD and stand until its version changes.
        Done = "done",
        /// Uploaded, but to be fetched and mapped again on the next pass.
        Again = "again",
        /// The plugin does not publish it; AIoD must not hold assets of it.
        Skipped = "skipped",
    }
}

/// What a settled record was settled as: its version, mapped by this plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Done {
    /// The record's version at the source.
    pub version: String,
    /// Provenance of the plugin that mapped it: name, version and digest.
    pub plugin: String,
}

/// A record settled on this page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettledRecord {
    pub id: String,
    pub label: String,
    pub done: Done,
    pub outcome: Settled,
}

/// An asset uploaded (or found unchanged) for a source record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadedAsset {
    pub asset: StoredAsset,
    pub source_id: String,
    /// Provenance: plugin name, version and digest.
    pub plugin: String,
}

/// Everything one page changed, written in one transaction with the cursor.
#[derive(Debug, Default)]
pub struct Batch {
    /// Records mapped (and uploaded, unless skipped).
    pub settled: Vec<SettledRecord>,
    /// Records seen but skipped as unchanged.
    pub unchanged: Vec<String>,
    pub assets: Vec<UploadedAsset>,
    pub dead: Vec<DeadLetter>,
    /// Listing pages this commit completes (0 when a page is left to redo).
    pub pages: u64,
}

pub struct State {
    conn: Connection,
    path: PathBuf,
    /// Held by a state that syncs: no second process syncs on it meanwhile.
    _lock: Option<crate::lock::Held>,
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl State {
    /// Opens the state to sync with: exclusively, for as long as it is open.
    pub fn open_exclusive(path: &Path) -> Result<State> {
        Self::create_dir(path)?;
        let lock = crate::lock::acquire(path)?;
        let mut state = Self::open(path)?;
        state._lock = Some(lock);
        Ok(state)
    }

    fn create_dir(path: &Path) -> Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create the state directory {}", dir.display()))?;
        }
        Ok(())
    }

    /// Opens the state to read (and in tests), beside whatever holds it.
    pub fn open(path: &Path) -> Result<State> {
        Self::create_dir(path)?;
        let mut conn = Connection::open(path)
            .with_context(|| format!("cannot open the state database {}", path.display()))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        // Every transaction here writes: it takes the write lock as it begins,
        // so a busy state is waited for rather than failing mid-transaction.
        conn.set_transaction_behavior(TransactionBehavior::Immediate);
        conn.execute_batch(SCHEMA)
            .with_context(|| format!("cannot prepare the state database {}", path.display()))?;
        migrate(&mut conn)
            .with_context(|| format!("cannot update the state database {}", path.display()))?;
        Ok(State {
            conn,
            path: path.to_path_buf(),
            _lock: None,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Ties the state to one catalogue: what it remembers is only true of that one.
    pub fn bind_catalogue(&mut self, catalogue: &str) -> Result<()> {
        let bound: Option<String> = self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'catalogue'", [], |r| {
                r.get(0)
            })
            .optional()?;
        match bound {
            Some(b) if b != catalogue => anyhow::bail!(
                "the state {} belongs to the AIoD catalogue {b}, not {catalogue}; \
                 use --state to give this catalogue a state of its own",
                self.path.display()
            ),
            Some(_) => Ok(()),
            None => {
                self.conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('catalogue', ?1)",
                    params![catalogue],
                )?;
                Ok(())
            }
        }
    }

    /// The unfinished pass of this kind, if any.
    pub fn open_pass(&self, kind: PassKind) -> Result<Option<Pass>> {
        self.conn
            .query_row(
                "SELECT id, kind, since, started_at, cursor, pages FROM passes
                 WHERE kind = ?1 AND status = ?2 ORDER BY id DESC LIMIT 1",
                params![kind, PassStatus::Open],
                pass_row,
            )
            .optional()?
            .transpose()
    }

    /// Starts a pass; an unfinished pass of the same kind is abandoned.
    pub fn begin_pass(
        &mut self,
        kind: PassKind,
        since: Option<&str>,
        cursor: &[Request],
    ) -> Result<Pass> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "UPDATE passes SET status = ?2 WHERE kind = ?1 AND status = ?3",
            params![kind, PassStatus::Abandoned, PassStatus::Open],
        )?;
        let started_at = now();
        tx.execute(
            "INSERT INTO passes (kind, since, started_at, cursor, status) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                kind,
                since,
                started_at,
                serde_json::to_string(cursor)?,
                PassStatus::Open
            ],
        )?;
        let id = tx.last_insert_rowid();
        tx.commit()?;
        Ok(Pass {
            id,
            kind,
            since: since.map(str::to_string),
            started_at,
            cursor: cursor.to_vec(),
            pages: 0,
        })
    }

    /// Records one page's outcomes and the requests still to make, atomically.
    pub fn commit_page(
        &mut self,
        pass_id: Option<i64>,
        cursor: &[Request],
        batch: Batch,
    ) -> Result<()> {
        let batch_pages = i64::try_from(batch.pages).unwrap_or(i64::MAX);
        let tx = self.conn.transaction()?;
        // Outside a pass (`id` mode, `retry`), count as seen in the latest pass,
        // so that a resumed pass does not take the asset for gone.
        let seen = match pass_id {
            Some(id) => id,
            None => tx.query_row("SELECT COALESCE(MAX(id), 0) FROM passes", [], |r| r.get(0))?,
        };
        let at = now();
        for r in &batch.settled {
            tx.prepare_cached(
                "INSERT INTO records (source_id, version, plugin, last_seen_pass, label, outcome)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT(source_id) DO UPDATE SET version = ?2, plugin = ?3,
                     last_seen_pass = MAX(last_seen_pass, ?4), label = ?5, outcome = ?6",
            )?
            .execute(params![
                r.id,
                r.done.version,
                r.done.plugin,
                seen,
                r.label,
                r.outcome
            ])?;
            tx.prepare_cached("DELETE FROM dead_letters WHERE source_id = ?1")?
                .execute(params![r.id])?;
        }
        // An asset found in AIoD before it was ever listed belongs to the record
        // of the same id (the usual case: the record's id is the asset's
        // platform id), even when the record is not uploaded now (skipped, a
        // dead letter): so it is seen, and withdrawn with a skipped record.
        for id in batch
            .settled
            .iter()
            .map(|r| &r.id)
            .chain(batch.dead.iter().map(|d| &d.record.id))
        {
            tx.prepare_cached(
                "UPDATE assets SET source_id = ?1
                 WHERE source_id IS NULL AND platform_resource_identifier = ?1",
            )?
            .execute(params![id])?;
        }
        for id in batch.settled.iter().map(|r| &r.id).chain(&batch.unchanged) {
            tx.prepare_cached(
                "UPDATE records SET last_seen_pass = MAX(last_seen_pass, ?2) WHERE source_id = ?1",
            )?
            .execute(params![id, seen])?;
            tx.prepare_cached(
                "UPDATE assets SET last_seen_pass = MAX(last_seen_pass, ?2) WHERE source_id = ?1",
            )?
            .execute(params![id, seen])?;
        }
        for UploadedAsset {
            asset: a,
            source_id,
            plugin,
        } in &batch.assets
        {
            tx.prepare_cached("INSERT INTO assets (asset_type, platform_resource_identifier, identifier, body_hash,
                                     source_id, last_seen_pass, plugin, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT(asset_type, platform_resource_identifier) DO UPDATE SET
                     identifier = ?3, body_hash = ?4, source_id = ?5,
                     last_seen_pass = MAX(last_seen_pass, ?6), plugin = ?7, updated_at = ?8")?.execute(params![a.asset_type, a.platform_resource_identifier, a.identifier, a.body_hash, source_id, seen, plugin, at])?;
        }
        for d in &batch.dead {
            tx.prepare_cached("INSERT INTO dead_letters (source_id, label, version, stage, error, record, follow_ups,
                                           record_hash, plugin, attempts, failed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 1, ?10)
                 ON CONFLICT(source_id) DO UPDATE SET label = ?2, version = ?3, stage = ?4, error = ?5,
                     record = ?6, follow_ups = ?7, record_hash = ?8, plugin = ?9,
                     attempts = attempts + 1, failed_at = ?10")?.execute(params![
                    d.record.id,
                    d.record.label,
                    d.record.version,
                    d.stage,
                    // What a server answered may quote a secret it was sent.
                    redact(&d.error),
                    redact(&serde_json::to_string(&d.record)?),
                    redact(&serde_json::to_string(&d.follow_ups)?),
                    d.record_hash,
                    d.plugin,
                    at
                ])?;
            // Seen, though not uploaded: not a candidate for deletion.
            tx.prepare_cached(
                "UPDATE assets SET last_seen_pass = MAX(last_seen_pass, ?2) WHERE source_id = ?1",
            )?
            .execute(params![d.record.id, seen])?;
            // Failing now, not skipped: what it uploaded before failing stays.
            tx.prepare_cached(
                "UPDATE records SET outcome = 'done' WHERE source_id = ?1 AND outcome = 'skipped'",
            )?
            .execute(params![d.record.id])?;
        }
        if let Some(id) = pass_id {
            // The page that empties the cursor completes the pass, in the same transaction.
            tx.prepare_cached(
                "UPDATE passes SET cursor = ?2, pages = pages + ?5,
                     status = CASE WHEN ?3 THEN ?6 ELSE status END,
                     completed_at = CASE WHEN ?3 THEN ?4 ELSE completed_at END
                 WHERE id = ?1",
            )?
            .execute(params![
                id,
                serde_json::to_string(cursor)?,
                cursor.is_empty(),
                at,
                batch_pages,
                PassStatus::Complete
            ])?;
        }
        tx.commit()?;
        Ok(())
    }

    /// When the last completed pass started: everything modified later is
    /// picked up by `since auto`.
    pub fn high_water_mark(&self) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT started_at FROM passes WHERE status = ?1
                 ORDER BY started_at DESC LIMIT 1",
                params![PassStatus::Complete],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// What a record was last settled as, unless it is to be mapped again
    /// or is a dead letter.
    pub fn done_version(&self, source_id: &str) -> Result<Option<Done>> {
        // Prepared once per connection: this runs for every listed record.
        Ok(self
            .conn
            .prepare_cached(
                "SELECT version, plugin FROM records WHERE source_id = ?1 AND outcome != ?2
                 AND NOT EXISTS (SELECT 1 FROM dead_letters WHERE source_id = ?1)",
            )?
            .query_row(params![source_id, Settled::Again], |r| {
                Ok(Done {
                    version: r.get(0)?,
                    plugin: r.get(1)?,
                })
            })
            .optional()?)
    }

    pub fn asset(&self, asset_type: &str, id: &str) -> Result<Option<StoredAsset>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT asset_type, platform_resource_identifier, identifier, body_hash FROM assets
                 WHERE asset_type = ?1 AND platform_resource_identifier = ?2",
            )?
            .query_row(params![asset_type, id], asset_row)
            .optional()?)
    }

    /// Records the state knows (the expected size of a full listing).
    pub fn record_count(&self) -> Result<u64> {
        Ok(self
            .conn
            .query_row("SELECT COUNT(*) FROM records", [], |r| r.get(0))?)
    }

    pub fn dead_letter_count(&self) -> Result<u64> {
        Ok(self
            .conn
            .query_row("SELECT COUNT(*) FROM dead_letters", [], |r| r.get(0))?)
    }

    pub fn asset_count(&self) -> Result<u64> {
        Ok(self
            .conn
            .query_row("SELECT COUNT(*) FROM assets", [], |r| r.get(0))?)
    }

    /// Adds assets found in AIoD (by the platform listing) that we do not know yet.
    pub fn import_assets(&mut self, assets: &[KnownAsset]) -> Result<()> {
        let tx = self.conn.transaction()?;
        let at = now();
        // Seen, as far as the state knows, by the passes so far: only a later
        // complete pass can miss it.
        let seen: i64 =
            tx.query_row("SELECT COALESCE(MAX(id), 0) FROM passes", [], |r| r.get(0))?;
        for KnownAsset { asset: a, name } in assets {
            tx.execute(
                "INSERT OR IGNORE INTO assets (asset_type, platform_resource_identifier, identifier,
                     body_hash, source_id, last_seen_pass, plugin, updated_at, label)
                 VALUES (?1, ?2, ?3, ?4, NULL, ?7, NULL, ?5, ?6)",
                params![
                    a.asset_type,
                    a.platform_resource_identifier,
                    a.identifier,
                    a.body_hash,
                    at,
                    name,
                    seen
                ],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Assets not seen in the given (complete) pass: candidates for deletion,
    /// once the source confirms that their record is gone.
    pub fn missing_assets(&self, pass_id: i64) -> Result<Vec<MissingAsset>> {
        let mut stmt = self.conn.prepare(
            "SELECT a.asset_type, a.platform_resource_identifier, a.identifier, a.body_hash,
                    a.source_id, COALESCE(NULLIF(r.label, ''), a.label), a.last_seen_pass
             FROM assets a LEFT JOIN records r ON r.source_id = a.source_id
             WHERE a.last_seen_pass < ?1 ORDER BY a.source_id, a.platform_resource_identifier",
        )?;
        let rows = stmt.query_map(params![pass_id], |r| {
            Ok(MissingAsset {
                asset: asset_row(r)?,
                source_id: r.get(4)?,
                label: r.get(5)?,
                last_seen_pass: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Assets of records that the plugin skipped when it last mapped them.
    pub fn skipped_assets(&self) -> Result<Vec<(StoredAsset, String)>> {
        let mut stmt = self.conn.prepare(
            "SELECT a.asset_type, a.platform_resource_identifier, a.identifier, a.body_hash, r.label
             FROM records r JOIN assets a ON a.source_id = r.source_id
             WHERE r.outcome = 'skipped' ORDER BY a.platform_resource_identifier",
        )?;
        let rows = stmt.query_map([], |r| Ok((asset_row(r)?, r.get(4)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The complete pass of `kind` before `pass_id`, if any.
    pub fn previous_complete_pass(&self, kind: PassKind, pass_id: i64) -> Result<Option<i64>> {
        Ok(self
            .conn
            .query_row(
                "SELECT MAX(id) FROM passes WHERE kind = ?1 AND id < ?2 AND status = ?3",
                params![kind, pass_id, PassStatus::Complete],
                |r| r.get(0),
            )
            .optional()?
            .flatten())
    }

    /// Forgets a deleted asset.
    pub fn forget_asset(&mut self, a: &StoredAsset) -> Result<()> {
        self.conn.execute(
            "DELETE FROM assets WHERE asset_type = ?1 AND platform_resource_identifier = ?2",
            params![a.asset_type, a.platform_resource_identifier],
        )?;
        Ok(())
    }

    /// Forgets a record whose assets are all deleted, so that a record that
    /// comes back (even unchanged) is uploaded again.
    pub fn forget_record(&mut self, source_id: &str) -> Result<()> {
        self.conn.execute(
            "DELETE FROM records WHERE source_id = ?1
             AND NOT EXISTS (SELECT 1 FROM assets WHERE source_id = ?1)",
            params![source_id],
        )?;
        Ok(())
    }

    /// Gives up an unfinished pass (e.g. its stored cursor is refused): it
    /// never completes, so it never deletes.
    pub fn abandon_pass(&mut self, pass_id: i64) -> Result<()> {
        self.conn.execute(
            "UPDATE passes SET status = ?2 WHERE id = ?1 AND status = ?3",
            params![pass_id, PassStatus::Abandoned, PassStatus::Open],
        )?;
        Ok(())
    }

    pub fn dead_letters(&self) -> Result<Vec<DeadLetter>> {
        let mut stmt = self.conn.prepare(
            "SELECT record, follow_ups, stage, error, record_hash, plugin, attempts, failed_at
             FROM dead_letters ORDER BY failed_at, source_id",
        )?;
        let mut rows = stmt.query([])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(DeadLetter {
                record: serde_json::from_str(&r.get::<_, String>(0)?)
                    .context("a dead letter's record is unreadable")?,
                follow_ups: serde_json::from_str(&r.get::<_, String>(1)?)
                    .context("a dead letter's follow-ups are unreadable")?,
                stage: r.get(2)?,
                error: r.get(3)?,
                record_hash: r.get(4)?,
                plugin: r.get(5)?,
                attempts: r.get(6)?,
                failed_at: r.get(7)?,
            });
        }
        Ok(out)
    }
}

/// Applies the migrations the state lacks, in one write transaction. Another
/// process may migrate the same state between our reading its version and
/// that transaction: ours then fails on steps already applied, and starts
/// again from the version the other left.
fn migrate(conn: &mut Connection) -> Result<()> {
    let known = MIGRATIONS.len() as i64;
    loop {
        let applied = user_version(conn)?;
        if !(0..=known).contains(&applied) {
            anyhow::bail!(
                "it was written by a newer aiod-host, or is damaged (state schema {applied}, \
                 this one knows 0 to {known}); use that aiod-host, or another --state"
            );
        }
        match Migrations::from_slice(MIGRATIONS).to_latest(conn) {
            Ok(()) => return Ok(()),
            Err(_) if user_version(conn)? != applied => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

fn user_version(conn: &Connection) -> Result<i64> {
    Ok(conn.pragma_query_value(None, "user_version", |r| r.get(0))?)
}

fn pass_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<Pass>> {
    let cursor: Option<String> = r.get(4)?;
    let pass = Pass {
        id: r.get(0)?,
        kind: r.get(1)?,
        since: r.get(2)?,
        started_at: r.get(3)?,
        cursor: Vec::new(),
        pages: r.get::<_, i64>(5)?.try_into().unwrap_or(0),
    };
    Ok(match cursor.as_deref().map(serde_json::from_str) {
        Some(Ok(cursor)) => Ok(Pass { cursor, ..pass }),
        Some(Err(e)) => Err(anyhow::anyhow!(
            "the stored cursor of pass {} is unreadable: {e}",
            pass.id
        )),
        None => Ok(pass),
    })
}

fn asset_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredAsset> {
    Ok(StoredAsset {
        asset_type: r.get(0)?,
        platform_resource_identifier: r.get(1)?,
        identifier: r.get(2)?,
        body_hash: r.get(3)?,
    })
}

/// `$XDG_DATA_HOME/aiod-host/<platform>.sqlite`, else `~/.local/share/aiod-host/…`.
pub fn default_path(platform: &str) -> Option<PathBuf> {
    Some(default_dir()?.join(format!("{platform}.sqlite")))
}

/// Where the states of the platforms live unless `--state` says otherwise.
pub fn default_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".local").join("share")))?;
    Some(base.join("aiod-host"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A state in memory; SQLite names it `:memory:`.
    fn temp_state() -> State {
        State::open(Path::new(":memory:")).unwrap()
    }

    fn req(t: &str) -> Request {
        Request {
            endpoint: "hub".into(),
            target: t.into(),
            query: vec![],
            headers: vec![],
        }
    }

    fn asset(id: &str, hash: &str) -> StoredAsset {
        StoredAsset {
            asset_type: "datasets".into(),
            platform_resource_identifier: id.into(),
            identifier: format!("data_{id}"),
            body_hash: hash.into(),
        }
    }

    #[test]
    fn a_pass_resumes_from_its_cursor_and_completes_into_the_mark() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = State::open(&dir.path().join("s.sqlite")).unwrap();
        assert_eq!(s.open_pass(PassKind::All).unwrap(), None);
        let p = s.begin_pass(PassKind::All, None, &[req("/1")]).unwrap();
        let read = Batch {
            pages: 1,
            ..Batch::default()
        };
        s.commit_page(Some(p.id), &[req("/2")], read).unwrap();
        let reopened = State::open(s.path()).unwrap();
        let open = reopened.open_pass(PassKind::All).unwrap().unwrap();
        assert_eq!(open.cursor, [req("/2")]);
        assert_eq!(open.pages, 1);
        assert_eq!(reopened.high_water_mark().unwrap(), None);
        // The last page empties the cursor and completes the pass at once.
        s.commit_page(Some(p.id), &[], Batch::default()).unwrap();
        assert_eq!(s.open_pass(PassKind::All).unwrap(), None);
        assert_eq!(s.high_water_mark().unwrap(), Some(p.started_at));
    }

    #[test]
    fn a_state_serves_one_catalogue() {
        let mut s = temp_state();
        s.bind_catalogue("https://api.aiodp.eu/v2").unwrap();
        s.bind_catalogue("https://api.aiodp.eu/v2").unwrap();
        let err = s
            .bind_catalogue("http://localhost/v2")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("belongs to the AIoD catalogue https://api.aiodp.eu/v2"),
            "{err}"
        );
    }

    #[test]
    fn records_assets_and_dead_letters() {
        let mut s = temp_state();
        let p = s.begin_pass(PassKind::All, None, &[]).unwrap();
        let dead = DeadLetter {
            record: SourceRecord {
                id: "b".into(),
                label: "B".into(),
                version: "v1".into(),
                data: "{}".into(),
                follow_ups: vec![],
            },
            follow_ups: vec![],
            stage: "upload".into(),
            error: "HTTP 500".into(),
            record_hash: "h".into(),
            plugin: "p 1 d".into(),
            attempts: 0,
            failed_at: String::new(),
        };
        let batch = Batch {
            settled: vec![settled("a", "v1", Settled::Done)],
            unchanged: vec![],
            assets: vec![UploadedAsset {
                asset: asset("a", "h1"),
                source_id: "a".into(),
                plugin: "plugin 0.1.0 abc".into(),
            }],
            dead: vec![dead.clone(), dead],
            pages: 1,
        };
        s.commit_page(Some(p.id), &[], batch).unwrap();
        assert_eq!(s.done_version("a").unwrap(), Some(done("v1")));
        assert_eq!(s.done_version("b").unwrap(), None);
        assert_eq!(s.asset("datasets", "a").unwrap(), Some(asset("a", "h1")));
        let letters = s.dead_letters().unwrap();
        assert_eq!(letters.len(), 1);
        assert_eq!(letters[0].attempts, 2);
        assert_eq!(letters[0].record.label, "B");

        // A later success clears the dead letter.
        let batch = Batch {
            settled: vec![settled("b", "v2", Settled::Done)],
            ..Batch::default()
        };
        s.commit_page(Some(p.id), &[], batch).unwrap();
        assert!(s.dead_letters().unwrap().is_empty());
    }

    fn done(version: &str) -> Done {
        Done {
            version: version.into(),
            plugin: "plugin 0.1.0 abc".into(),
        }
    }

    fn settled(id: &str, version: &str, outcome: Settled) -> SettledRecord {
        SettledRecord {
            id: id.into(),
            label: format!("label-{id}"),
            done: done(version),
            outcome,
        }
    }

    fn known(id: &str, hash: &str) -> KnownAsset {
        KnownAsset {
            asset: asset(id, hash),
            name: format!("name-{id}"),
        }
    }

    #[test]
    fn assets_not_seen_in_a_pass_are_candidates_with_what_to_look_them_up_by() {
        let mut s = temp_state();
        s.import_assets(&[known("gone", "h"), known("kept", "h"), known("listed", "h")])
            .unwrap();
        let p = s.begin_pass(PassKind::All, None, &[]).unwrap();
        let batch = Batch {
            settled: vec![settled("src-kept", "v", Settled::Done)],
            assets: vec![UploadedAsset {
                asset: asset("kept", "h2"),
                source_id: "src-kept".into(),
                plugin: String::new(),
            }],
            ..Batch::default()
        };
        s.commit_page(Some(p.id), &[], batch).unwrap();
        let second = s.begin_pass(PassKind::All, None, &[]).unwrap();
        s.commit_page(Some(second.id), &[], Batch::default())
            .unwrap();
        let missing = s.missing_assets(second.id).unwrap();
        let found: Vec<(Option<&str>, &str, &str, i64)> = missing
            .iter()
            .map(|m| {
                (
                    m.source_id.as_deref(),
                    m.asset.platform_resource_identifier.as_str(),
                    m.label.as_str(),
                    m.last_seen_pass,
                )
            })
            .collect();
        // Never listed: looked up by its name in AIoD; listed once: by its label.
        assert_eq!(
            found,
            [
                (None, "gone", "name-gone", 0),
                (None, "listed", "name-listed", 0),
                (Some("src-kept"), "kept", "label-src-kept", p.id),
            ]
        );
        assert_eq!(
            s.previous_complete_pass(PassKind::All, second.id).unwrap(),
            Some(p.id)
        );
        assert_eq!(s.previous_complete_pass(PassKind::All, p.id).unwrap(), None);
        s.forget_asset(&missing[0].asset).unwrap();
        assert_eq!(s.asset_count().unwrap(), 2);
    }

    #[test]
    fn a_record_to_map_again_is_not_done_and_a_skipped_one_withdraws_its_assets() {
        let mut s = temp_state();
        let p = s.begin_pass(PassKind::All, None, &[]).unwrap();
        let uploaded = |id: &str| UploadedAsset {
            asset: asset(id, "h"),
            source_id: id.into(),
            plugin: String::new(),
        };
        let batch = Batch {
            settled: vec![
                settled("again", "v", Settled::Again),
                settled("private", "v", Settled::Done),
            ],
            assets: vec![uploaded("again"), uploaded("private")],
            ..Batch::default()
        };
        s.commit_page(Some(p.id), &[], batch).unwrap();
        assert_eq!(s.done_version("again").unwrap(), None);
        assert!(s.skipped_assets().unwrap().is_empty());

        let p = s.begin_pass(PassKind::All, None, &[]).unwrap();
        let batch = Batch {
            settled: vec![settled("private", "v2", Settled::Skipped)],
            ..Batch::default()
        };
        s.commit_page(Some(p.id), &[], batch).unwrap();
        // Skipped is settled: it costs nothing until it changes.
        assert_eq!(s.done_version("private").unwrap(), Some(done("v2")));
        let skipped = s.skipped_assets().unwrap();
        assert_eq!(
            skipped,
            [(asset("private", "h"), "label-private".to_string())]
        );
        s.forget_asset(&skipped[0].0).unwrap();
        assert!(s.skipped_assets().unwrap().is_empty());
        assert_eq!(s.done_version("private").unwrap(), Some(done("v2")));
    }

    /// Written by aiod-host 0.1.0 (state schema 2, commit c3dee6b): a throwaway
    /// `#[ignore]` test drove that release's `State` API through an imported
    /// asset, a complete `all` pass (done, again and skipped records, a dead
    /// letter with a follow-up), a `since` pass abandoned after a page, and an
    /// `all` pass left after its first page; `VACUUM INTO` then wrote this
    /// file (self-contained: no WAL beside it).
    const RELEASE_0_1_0: &str =
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/state-0.1.0.sqlite");

    fn copy_of(release: &str) -> (tempfile::TempDir, State) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sqlite");
        std::fs::copy(release, &path).unwrap();
        let state = State::open(&path).unwrap();
        (dir, state)
    }

    /// Each pass: id, kind, status, whether it has a completion time.
    fn passes(s: &State) -> Vec<(i64, PassKind, PassStatus, bool)> {
        let mut stmt = s
            .conn
            .prepare("SELECT id, kind, status, completed_at IS NOT NULL FROM passes ORDER BY id")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn a_state_written_by_release_0_1_0_is_migrated_and_reads_back() {
        let (_dir, mut s) = copy_of(RELEASE_0_1_0);
        assert_eq!(user_version(&s.conn).unwrap(), MIGRATIONS.len() as i64);
        s.bind_catalogue("http://localhost:8000/v2").unwrap();

        use {PassKind::*, PassStatus::*};
        assert_eq!(
            passes(&s),
            [
                (1, All, Complete, true),
                (2, Since, Abandoned, false),
                (3, All, Open, false)
            ]
        );
        let first_started: String = s
            .conn
            .query_row("SELECT started_at FROM passes WHERE id = 1", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(s.high_water_mark().unwrap(), Some(first_started));

        let done = |version: &str| {
            Some(Done {
                version: version.into(),
                plugin: "huggingface 0.3.0 sha256:5f2b9c".into(),
            })
        };
        assert_eq!(
            s.done_version("org/done").unwrap(),
            done("2024-01-01T00:00:00.000Z")
        );
        assert_eq!(
            s.done_version("org/skipped").unwrap(),
            done("2024-01-03T00:00:00.000Z")
        );
        assert_eq!(s.done_version("org/again").unwrap(), None);
        assert_eq!(s.done_version("org/dead").unwrap(), None);
        assert_eq!(s.record_count().unwrap(), 4);
        assert_eq!(
            s.asset("datasets", "org/done").unwrap(),
            Some(asset("org/done", "h-org/done"))
        );
        assert_eq!(s.asset_count().unwrap(), 3);

        let letters = s.dead_letters().unwrap();
        assert_eq!(letters.len(), 1);
        let parquet = Request {
            endpoint: "hub".into(),
            target: "/api/datasets/org/dead/parquet".into(),
            query: vec![],
            headers: vec![],
        };
        assert_eq!(
            letters[0].record,
            SourceRecord {
                id: "org/dead".into(),
                label: "Dead dataset".into(),
                version: "2024-03-01T00:00:00.000Z".into(),
                data: r#"{"id":"org/dead","private":false}"#.into(),
                follow_ups: vec![parquet.clone()],
            }
        );
        assert_eq!(letters[0].follow_ups[0].request, parquet);
        assert_eq!(
            letters[0].follow_ups[0].response().body,
            br#"{"parquet_files":[]}"#
        );
        assert_eq!(
            (letters[0].stage.as_str(), letters[0].attempts),
            ("upload", 1)
        );

        // The unfinished pass resumes at its cursor, and completes.
        let open = s.open_pass(All).unwrap().unwrap();
        assert_eq!(
            (open.id, open.kind, open.since, open.pages),
            (3, All, None, 1)
        );
        assert_eq!(
            open.cursor,
            [Request {
                endpoint: "hub".into(),
                target: "/api/datasets".into(),
                query: vec![("limit".into(), "2".into()), ("cursor".into(), "c2".into())],
                headers: vec![],
            }]
        );
        assert_eq!(s.open_pass(Since).unwrap(), None);
        assert_eq!(s.previous_complete_pass(All, open.id).unwrap(), Some(1));
        let last = Batch {
            pages: 1,
            ..Batch::default()
        };
        s.commit_page(Some(open.id), &[], last).unwrap();
        assert_eq!(passes(&s)[2], (3, All, Complete, true));
        assert_eq!(s.high_water_mark().unwrap(), Some(open.started_at));
    }

    /// Step 3 alone, on the values a state at schema 2 can hold.
    #[test]
    fn migration_3_gives_passes_a_status_and_splits_done_versions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sqlite");
        {
            let mut conn = Connection::open(&path).unwrap();
            conn.execute_batch(SCHEMA).unwrap();
            Migrations::from_slice(&MIGRATIONS[..2])
                .to_latest(&mut conn)
                .unwrap();
            conn.execute_batch(
                "INSERT INTO passes (id, kind, started_at, completed_at) VALUES
                     (1, 'all', 't1', 't2'), (2, 'all', 't3', 'abandoned'), (3, 'all', 't4', NULL);
                 INSERT INTO records (source_id, version, last_seen_pass) VALUES
                     ('mapped', 'v1' || char(10) || 'p 1 d', 1),
                     ('older', 'v2', 1),
                     ('again', '', 1),
                     ('lines', 'v3' || char(10) || 'p' || char(10) || 'q', 1);",
            )
            .unwrap();
        }
        let s = State::open(&path).unwrap();
        use {PassKind::*, PassStatus::*};
        assert_eq!(
            passes(&s),
            [
                (1, All, Complete, true),
                (2, All, Abandoned, false),
                (3, All, Open, false)
            ]
        );
        let mut stmt = s
            .conn
            .prepare("SELECT source_id, version, plugin FROM records ORDER BY source_id")
            .unwrap();
        let records: Vec<(String, String, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let expected = [
            ("again", "", ""),
            ("lines", "v3", "p\nq"),
            ("mapped", "v1", "p 1 d"),
            ("older", "v2", ""),
        ]
        .map(|(id, v, p)| (id.to_string(), v.to_string(), p.to_string()));
        assert_eq!(records, expected);
        // Only the three statuses are stored.
        assert!(
            s.conn
                .execute("UPDATE passes SET status = 'done' WHERE id = 1", [])
                .is_err()
        );
    }

    /// Two hosts open an old state at once, both waiting behind a third
    /// writer: the one that migrates second finds the steps applied and goes on.
    #[test]
    fn a_state_migrated_meanwhile_by_another_host_opens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sqlite");
        let mut blocker = Connection::open(&path).unwrap();
        blocker.pragma_update(None, "journal_mode", "WAL").unwrap();
        blocker.execute_batch(SCHEMA).unwrap();
        let writing = blocker
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .unwrap();
        let opening: Vec<_> = (0..2)
            .map(|_| {
                let path = path.clone();
                std::thread::spawn(move || State::open(&path).map(drop))
            })
            .collect();
        // Time for both to read the old version and wait for the write lock.
        std::thread::sleep(std::time::Duration::from_millis(300));
        writing.commit().unwrap();
        for o in opening {
            o.join().unwrap().unwrap();
        }
        let s = State::open(&path).unwrap();
        assert_eq!(user_version(&s.conn).unwrap(), MIGRATIONS.len() as i64);
    }

    /// A state written before the schema had versions (records without
    /// labels) opens, keeps its data and gains the new columns.
    #[test]
    fn a_state_from_an_earlier_host_is_migrated_and_one_from_a_later_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sqlite");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(SCHEMA).unwrap();
            conn.execute(
                "INSERT INTO records (source_id, version, last_seen_pass) VALUES ('a', 'v', 1)",
                [],
            )
            .unwrap();
        }
        let s = State::open(&path).unwrap();
        assert_eq!(
            s.done_version("a").unwrap(),
            Some(Done {
                version: "v".into(),
                plugin: String::new()
            })
        );
        let (label, outcome): (String, String) = s
            .conn
            .query_row(
                "SELECT label, outcome FROM records WHERE source_id = 'a'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((label.as_str(), outcome.as_str()), ("", "done"));
        drop(s);
        // Opening again applies nothing twice.
        drop(State::open(&path).unwrap());
        assert_eq!(
            user_version(&Connection::open(&path).unwrap()).unwrap(),
            MIGRATIONS.len() as i64
        );

        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", 99)
            .unwrap();
        let err = format!("{:#}", State::open(&path).err().unwrap());
        assert!(
            err.contains("written by a newer aiod-host, or is damaged (state schema 99"),
            "{err}"
        );
    }
}
