//! The sync state, in SQLite: the cursor of an unfinished pass, the high-water
//! mark, what was last uploaded per asset, the last version seen per source
//! record, and the dead letters.
//!
//! Every change is one transaction (WAL journal), so a killed process leaves
//! the state as of its last commit, never half-written.

use crate::model::{Request, SourceRecord};
use crate::payload::{Codec, Packed, Payload, StoredFollowUp};
use crate::secret::redact;
use anyhow::{Context as _, Result};
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSqlOutput, ValueRef};
use rusqlite::{Connection, OptionalExtension, ToSql, TransactionBehavior, params};
use rusqlite_migration::{M, Migrations};
use serde::Serialize;
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
    // 4: the payload store: what each record's last mapping (and each dead
    // letter) was made from, compressed, by content hash; and the payload each
    // asset's body was mapped from. Dead letters written before keep their
    // `record` and `follow_ups` columns; later ones leave them empty.
    M::up(
        "CREATE TABLE payloads (
             hash TEXT PRIMARY KEY,      -- SHA-256 of the uncompressed JSON
             data BLOB NOT NULL,         -- zstd-compressed JSON: the record and its follow-ups
             size INTEGER NOT NULL       -- bytes of the uncompressed JSON
         );
         ALTER TABLE records ADD COLUMN payload TEXT;
         ALTER TABLE assets ADD COLUMN payload TEXT;
         ALTER TABLE dead_letters ADD COLUMN payload TEXT;
         CREATE INDEX records_by_payload ON records(payload);
         CREATE INDEX dead_letters_by_payload ON dead_letters(payload);",
    ),
    // 5: smaller per record. Provenance is kept once per plugin and referred
    // to by row id; payloads are referred to by row id and keyed by a 32-byte
    // hash (they had been by its 64 hex digits, four copies a record); a
    // dictionary trained on the store compresses them (later, in Rust).
    M::up(
        "CREATE TABLE plugins (
             id INTEGER PRIMARY KEY,
             provenance TEXT NOT NULL UNIQUE  -- name version digest
         );
         INSERT OR IGNORE INTO plugins (provenance)
             SELECT plugin FROM records WHERE plugin != ''
             UNION SELECT plugin FROM assets WHERE plugin IS NOT NULL AND plugin != '';
         CREATE TABLE dictionaries (
             id INTEGER PRIMARY KEY,
             data BLOB NOT NULL               -- a zstd dictionary
         );
         CREATE TABLE payloads_by_id (
             id INTEGER PRIMARY KEY,
             hash BLOB NOT NULL UNIQUE,       -- SHA-256 of the uncompressed JSON
             dictionary INTEGER,              -- what `data` is compressed with, if any
             data BLOB NOT NULL,              -- zstd-compressed JSON: the record and its follow-ups
             size INTEGER NOT NULL            -- bytes of the uncompressed JSON
         );
         INSERT INTO payloads_by_id (hash, data, size)
             SELECT unhex(hash), data, size FROM payloads ORDER BY rowid;
         DROP INDEX records_by_payload;
         DROP INDEX dead_letters_by_payload;
         ALTER TABLE records ADD COLUMN plugin_id INTEGER;
         ALTER TABLE records ADD COLUMN payload_id INTEGER;
         UPDATE records SET
             plugin_id = (SELECT id FROM plugins WHERE provenance = records.plugin),
             payload_id = (SELECT id FROM payloads_by_id WHERE hash = unhex(records.payload));
         ALTER TABLE records DROP COLUMN plugin;
         ALTER TABLE records DROP COLUMN payload;
         ALTER TABLE records RENAME COLUMN plugin_id TO plugin;
         ALTER TABLE records RENAME COLUMN payload_id TO payload;
         ALTER TABLE assets ADD COLUMN plugin_id INTEGER;
         ALTER TABLE assets ADD COLUMN payload_id INTEGER;
         UPDATE assets SET
             plugin_id = (SELECT id FROM plugins WHERE provenance = assets.plugin),
             payload_id = (SELECT id FROM payloads_by_id WHERE hash = unhex(assets.payload));
         ALTER TABLE assets DROP COLUMN plugin;
         ALTER TABLE assets DROP COLUMN payload;
         ALTER TABLE assets RENAME COLUMN plugin_id TO plugin;
         ALTER TABLE assets RENAME COLUMN payload_id TO payload;
         ALTER TABLE dead_letters ADD COLUMN payload_id INTEGER;
         UPDATE dead_letters SET
             payload_id = (SELECT id FROM payloads_by_id WHERE hash = unhex(dead_letters.payload));
         ALTER TABLE dead_letters DROP COLUMN payload;
         ALTER TABLE dead_letters RENAME COLUMN payload_id TO payload;
         DROP TABLE payloads;
         ALTER TABLE payloads_by_id RENAME TO payloads;
         CREATE INDEX records_by_payload ON records(payload);
         CREATE INDEX dead_letters_by_payload ON dead_letters(payload);",
    ),
];

/// Stored payloads before the store trains its compression dictionary.
const TRAIN_AT: i64 = 1_000;

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

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.as_str()))
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
    /// Why the stored cursor cannot be read (then `cursor` is empty and the
    /// pass cannot go on).
    pub unreadable_cursor: Option<String>,
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
    /// Where the state keeps the record and its follow-ups (read back; `None`
    /// for a dead letter written before the payload store).
    pub payload: Option<String>,
}

/// What a state holds (`aiod-host status`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Holdings {
    /// Records by how their last mapping ended.
    pub records: Vec<(Settled, u64)>,
    pub assets: u64,
    /// Of `assets`, those found in AIoD and not (yet) listed.
    pub imported_assets: u64,
    pub dead_letters: u64,
    pub payloads: u64,
    /// Compressed, as stored.
    pub payload_bytes: u64,
    /// Uncompressed.
    pub payload_size: u64,
    pub by_plugin: Vec<ByPlugin>,
    /// The latest first.
    pub passes: Vec<PassSummary>,
}

/// Records and assets by the plugin that last mapped them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ByPlugin {
    /// Name, version and digest.
    pub plugin: String,
    pub records: u64,
    pub assets: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PassSummary {
    pub id: i64,
    pub kind: PassKind,
    pub status: PassStatus,
    pub started_at: String,
    pub completed_at: Option<String>,
    pub pages: u64,
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
    /// What the mapping was made from; `None`: the payload the state holds
    /// for the record (`remap`, or a swapped plugin on the same answers).
    pub payload: Option<Payload>,
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
    /// Mapped from stored payloads (`remap`), not listed: nothing is seen.
    pub remapped: bool,
}

pub struct State {
    conn: Connection,
    path: PathBuf,
    codec: std::cell::RefCell<Codec>,
    /// Stored payloads at which to try to train a dictionary, if none yet.
    train_at: i64,
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
        // A new state gets 16 KiB pages: a payload of 1–3 KiB leaves a quarter
        // of a 4 KiB page unused, 4% of a 16 KiB one (measured on real-sized
        // payloads: 1,902 → 1,736 bytes a record). SQLite ignores this for a
        // database that has pages already, and must hear it before WAL mode.
        conn.pragma_update(None, "page_size", 16384)?;
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
        let mut codec = Codec::new()?;
        let dictionary: Option<(i64, Vec<u8>)> = conn
            .query_row(
                "SELECT id, data FROM dictionaries ORDER BY id LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        if let Some((id, data)) = dictionary {
            codec
                .prime(id, &data)
                .context("the state's compression dictionary is damaged")?;
        }
        Ok(State {
            conn,
            path: path.to_path_buf(),
            codec: codec.into(),
            train_at: TRAIN_AT,
            _lock: None,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn unpack(&self, (data, size, dictionary): Stored) -> Result<Payload> {
        self.codec
            .borrow_mut()
            .unpack(&data, size as usize, dictionary)
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
            unreadable_cursor: None,
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
            _ if batch.remapped => 0,
            Some(id) => id,
            None => tx.query_row("SELECT COALESCE(MAX(id), 0) FROM passes", [], |r| r.get(0))?,
        };
        let at = now();
        let codec = self.codec.get_mut();
        // Payloads this commit stops referring to, to drop unless still referred to.
        let mut replaced = Vec::new();
        // The payload each settled record's assets were mapped from.
        let mut made_from = std::collections::HashMap::new();
        for r in &batch.settled {
            let before = [
                payload_of(&tx, "records", &r.id)?,
                payload_of(&tx, "dead_letters", &r.id)?,
            ];
            let hash = match &r.payload {
                Some(payload) => Some(store_payload(&tx, &codec.pack(payload))?),
                None => before.iter().flatten().next().cloned(),
            };
            replaced.extend(
                before
                    .into_iter()
                    .flatten()
                    .filter(|h| Some(h) != hash.as_ref()),
            );
            // Unchanged rows are not written: a remap that changes nothing
            // rewrites no page.
            tx.prepare_cached(
                "INSERT INTO records (source_id, version, plugin, last_seen_pass, label, outcome, payload)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT(source_id) DO UPDATE SET version = ?2, plugin = ?3,
                     last_seen_pass = MAX(last_seen_pass, ?4), label = ?5, outcome = ?6,
                     payload = ?7
                 WHERE version IS NOT ?2 OR plugin IS NOT ?3 OR last_seen_pass < ?4
                     OR label IS NOT ?5 OR outcome IS NOT ?6 OR payload IS NOT ?7",
            )?
            .execute(params![
                r.id,
                r.done.version,
                plugin_id(&tx, &r.done.plugin)?,
                seen,
                r.label,
                r.outcome,
                hash
            ])?;
            tx.prepare_cached("DELETE FROM dead_letters WHERE source_id = ?1")?
                .execute(params![r.id])?;
            made_from.insert(r.id.as_str(), hash);
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
        // Seen in this pass (a remap sees nothing: it lists nothing).
        let listed = batch.settled.iter().map(|r| &r.id).chain(&batch.unchanged);
        for id in listed.filter(|_| !batch.remapped) {
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
            let payload = made_from.get(source_id.as_str()).cloned().flatten();
            // `updated_at` is when AIoD's copy last changed: not touched when
            // the body is the same.
            tx.prepare_cached("INSERT INTO assets (asset_type, platform_resource_identifier, identifier, body_hash,
                                     source_id, last_seen_pass, plugin, updated_at, payload)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT(asset_type, platform_resource_identifier) DO UPDATE SET
                     identifier = ?3, body_hash = ?4, source_id = ?5,
                     last_seen_pass = MAX(last_seen_pass, ?6), plugin = ?7,
                     updated_at = CASE WHEN identifier IS NOT ?3 OR body_hash IS NOT ?4
                                       THEN ?8 ELSE updated_at END,
                     payload = COALESCE(?9, payload)
                 WHERE identifier IS NOT ?3 OR body_hash IS NOT ?4 OR source_id IS NOT ?5
                     OR last_seen_pass < ?6 OR plugin IS NOT ?7
                     OR (?9 IS NOT NULL AND payload IS NOT ?9)")?.execute(params![a.asset_type, a.platform_resource_identifier, a.identifier, a.body_hash, source_id, seen, plugin_id(&tx, plugin)?, at, payload])?;
        }
        for d in &batch.dead {
            let payload = store_payload(
                &tx,
                &codec.pack(&Payload {
                    record: d.record.clone(),
                    follow_ups: d.follow_ups.clone(),
                }),
            )?;
            replaced.extend(payload_of(&tx, "dead_letters", &d.record.id)?);
            // The record and its follow-ups are in the payload store; the
            // columns that held them before it stay empty.
            tx.prepare_cached("INSERT INTO dead_letters (source_id, label, version, stage, error, record, follow_ups,
                                           record_hash, plugin, attempts, failed_at, payload)
                 VALUES (?1, ?2, ?3, ?4, ?5, '', '', ?6, ?7, 1, ?8, ?9)
                 ON CONFLICT(source_id) DO UPDATE SET label = ?2, version = ?3, stage = ?4, error = ?5,
                     record = '', follow_ups = '', record_hash = ?6, plugin = ?7,
                     attempts = attempts + 1, failed_at = ?8, payload = ?9")?.execute(params![
                    d.record.id,
                    d.record.label,
                    d.record.version,
                    d.stage,
                    // What a server answered may quote a secret it was sent.
                    redact(&d.error),
                    d.record_hash,
                    d.plugin,
                    at,
                    payload
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
        for id in replaced {
            drop_unreferenced(&tx, id)?;
        }
        let train_at = self.train_at;
        let trained = match codec.has_dictionary() {
            true => None,
            false => train_dictionary(&tx, codec, train_at)?,
        };
        tx.commit()?;
        match trained {
            Some(Ok(t)) => tracing::info!(
                "state: trained a compression dictionary on {} stored payloads; {} recompressed \
                 from {} to {} bytes",
                t.samples,
                t.recompressed,
                t.before,
                t.after
            ),
            // Retried once the store has doubled.
            Some(Err(stored)) => self.train_at = stored.saturating_mul(2),
            None => {}
        }
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
                "SELECT r.version, COALESCE(g.provenance, '') FROM records r
                 LEFT JOIN plugins g ON g.id = r.plugin
                 WHERE r.source_id = ?1 AND r.outcome != ?2
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

    /// Starts an import of what AIoD holds of each of `asset_types`, from the
    /// first page; until [`State::import_page`] finishes it, a later run goes on
    /// where it stopped ([`State::unfinished_imports`]).
    pub fn begin_import(&mut self, asset_types: &[String]) -> Result<()> {
        let tx = self.conn.transaction()?;
        for asset_type in asset_types {
            tx.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, '0')",
                params![import_key(asset_type)],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Imports begun and not finished: (asset type, offset of the next page).
    pub fn unfinished_imports(&self) -> Result<Vec<(String, u64)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT key, value FROM meta WHERE key LIKE 'import:%' ORDER BY key")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (key, offset) = row?;
            let offset = offset
                .parse()
                .with_context(|| format!("the state's {key} is not an offset: {offset:?}"))?;
            out.push((key["import:".len()..].to_string(), offset));
        }
        Ok(out)
    }

    /// One page of an import: its assets, and in the same transaction where the
    /// next page starts (`None`: the import of `asset_type` is complete).
    pub fn import_page(
        &mut self,
        asset_type: &str,
        assets: &[KnownAsset],
        next: Option<u64>,
    ) -> Result<()> {
        let tx = self.conn.transaction()?;
        insert_known(&tx, assets)?;
        match next {
            Some(offset) => tx.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
                params![import_key(asset_type), offset.to_string()],
            )?,
            None => tx.execute(
                "DELETE FROM meta WHERE key = ?1",
                params![import_key(asset_type)],
            )?,
        };
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
        let tx = self.conn.transaction()?;
        let payload = payload_of(&tx, "records", source_id)?;
        tx.execute(
            "DELETE FROM records WHERE source_id = ?1
             AND NOT EXISTS (SELECT 1 FROM assets WHERE source_id = ?1)",
            params![source_id],
        )?;
        if let Some(id) = payload {
            drop_unreferenced(&tx, id)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The stored payload of this version of a record, when its answers were
    /// final (a record to map again next pass is fetched again).
    pub fn reusable(&self, source_id: &str, version: &str) -> Result<Option<Payload>> {
        let found = self
            .conn
            .prepare_cached(
                "SELECT p.data, p.size, p.dictionary FROM records r JOIN payloads p ON p.id = r.payload
                 WHERE r.source_id = ?1 AND r.version = ?2 AND r.outcome != ?3",
            )?
            .query_row(params![source_id, version, Settled::Again], stored_row)
            .optional()?;
        found.map(|s| self.unpack(s)).transpose()
    }

    /// Up to `limit` stored payloads in the order of their records' ids, after
    /// `after`: each record's latest, the dead letter's where it has one (a
    /// later version that failed), else its last settled mapping's. Each
    /// table is read along its primary key, so a walk through the whole
    /// store stays linear.
    pub fn stored_payloads(&self, after: &str, limit: usize) -> Result<Vec<(String, Payload)>> {
        let read = |sql: &str| -> Result<Vec<(String, Stored)>> {
            let mut stmt = self.conn.prepare_cached(sql)?;
            let rows = stmt.query_map(params![after, limit as i64], |r| {
                Ok((r.get(0)?, stored_at(r, 1)?))
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        };
        let mut rows = read(
            "SELECT r.source_id, p.data, p.size, p.dictionary FROM records r
             JOIN payloads p ON p.id = r.payload
             WHERE r.source_id > ?1
               AND NOT EXISTS (SELECT 1 FROM dead_letters d
                               WHERE d.source_id = r.source_id AND d.payload IS NOT NULL)
             ORDER BY r.source_id LIMIT ?2",
        )?;
        rows.extend(read(
            "SELECT d.source_id, p.data, p.size, p.dictionary FROM dead_letters d
             JOIN payloads p ON p.id = d.payload
             WHERE d.source_id > ?1 ORDER BY d.source_id LIMIT ?2",
        )?);
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        rows.truncate(limit);
        rows.into_iter()
            .map(|(id, stored)| Ok((id, self.unpack(stored)?)))
            .collect()
    }

    /// How many records and dead letters `stored_payloads` walks through.
    pub fn stored_payload_count(&self) -> Result<u64> {
        Ok(self.conn.query_row(
            "SELECT (SELECT COUNT(*) FROM records r WHERE r.payload IS NOT NULL
                     AND NOT EXISTS (SELECT 1 FROM dead_letters d
                                     WHERE d.source_id = r.source_id AND d.payload IS NOT NULL))
                  + (SELECT COUNT(*) FROM dead_letters WHERE payload IS NOT NULL)",
            [],
            |r| r.get::<_, i64>(0),
        )? as u64)
    }

    /// What the state holds, for `aiod-host status`.
    pub fn status(&self, last_passes: usize) -> Result<Holdings> {
        let count = |sql: &str| -> Result<u64> {
            Ok(self.conn.query_row(sql, [], |r| r.get::<_, i64>(0))? as u64)
        };
        let mut records = Vec::new();
        let mut stmt = self
            .conn
            .prepare("SELECT outcome, COUNT(*) FROM records GROUP BY outcome ORDER BY outcome")?;
        for row in stmt.query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))? {
            records.push(row?);
        }
        let mut by_plugin = Vec::new();
        let mut stmt = self.conn.prepare(
            "SELECT COALESCE(g.provenance, ''), SUM(records), SUM(assets) FROM (
                 SELECT plugin, 1 AS records, 0 AS assets FROM records
                 UNION ALL
                 SELECT plugin, 0, 1 FROM assets WHERE source_id IS NOT NULL
             ) LEFT JOIN plugins g ON g.id = plugin
             GROUP BY 1 ORDER BY 1",
        )?;
        for row in stmt.query_map([], |r| {
            Ok(ByPlugin {
                plugin: r.get(0)?,
                records: r.get::<_, i64>(1)? as u64,
                assets: r.get::<_, i64>(2)? as u64,
            })
        })? {
            by_plugin.push(row?);
        }
        let mut passes = Vec::new();
        let mut stmt = self.conn.prepare(
            "SELECT id, kind, status, started_at, completed_at, pages FROM passes
             ORDER BY id DESC LIMIT ?1",
        )?;
        for row in stmt.query_map(params![last_passes as i64], |r| {
            Ok(PassSummary {
                id: r.get(0)?,
                kind: r.get(1)?,
                status: r.get(2)?,
                started_at: r.get(3)?,
                completed_at: r.get(4)?,
                pages: r.get::<_, i64>(5)? as u64,
            })
        })? {
            passes.push(row?);
        }
        Ok(Holdings {
            records,
            assets: count("SELECT COUNT(*) FROM assets")?,
            imported_assets: count("SELECT COUNT(*) FROM assets WHERE source_id IS NULL")?,
            dead_letters: count("SELECT COUNT(*) FROM dead_letters")?,
            payloads: count("SELECT COUNT(*) FROM payloads")?,
            payload_bytes: count("SELECT COALESCE(SUM(length(data)), 0) FROM payloads")?,
            payload_size: count("SELECT COALESCE(SUM(size), 0) FROM payloads")?,
            by_plugin,
            passes,
        })
    }

    /// The ids of the records a plugin's mapping stood for (done or again), to
    /// judge a new plugin against.
    pub fn mapped_ids(&self) -> Result<std::collections::HashSet<String>> {
        let mut stmt = self
            .conn
            .prepare("SELECT source_id FROM records WHERE outcome != ?1")?;
        let ids = stmt.query_map(params![Settled::Skipped], |r| r.get(0))?;
        Ok(ids.collect::<rusqlite::Result<_>>()?)
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
            "SELECT d.record, d.follow_ups, d.stage, d.error, d.record_hash, d.plugin, d.attempts,
                    d.failed_at, NULLIF(lower(hex(p.hash)), ''), p.data, p.size, p.dictionary
             FROM dead_letters d LEFT JOIN payloads p ON p.id = d.payload
             ORDER BY d.failed_at, d.source_id",
        )?;
        let mut rows = stmt.query([])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let payload = match r.get::<_, Option<Vec<u8>>>(9)? {
                Some(_) => self.unpack(stored_at(r, 9)?)?,
                // Written before the payload store.
                None => Payload {
                    record: serde_json::from_str(&r.get::<_, String>(0)?)
                        .context("a dead letter's record is unreadable")?,
                    follow_ups: serde_json::from_str(&r.get::<_, String>(1)?)
                        .context("a dead letter's follow-ups are unreadable")?,
                },
            };
            out.push(DeadLetter {
                record: payload.record,
                follow_ups: payload.follow_ups,
                stage: r.get(2)?,
                error: r.get(3)?,
                record_hash: r.get(4)?,
                plugin: r.get(5)?,
                attempts: r.get(6)?,
                failed_at: r.get(7)?,
                payload: r.get(8)?,
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

/// Keeps a payload once, however many records were made from it; its row id.
fn store_payload(conn: &Connection, p: &Packed) -> Result<i64> {
    let found = conn
        .prepare_cached("SELECT id FROM payloads WHERE hash = ?1")?
        .query_row(params![p.hash], |r| r.get(0))
        .optional()?;
    if let Some(id) = found {
        return Ok(id);
    }
    conn.prepare_cached(
        "INSERT INTO payloads (hash, dictionary, data, size) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![p.hash, p.dictionary, p.data, p.size as i64])?;
    Ok(conn.last_insert_rowid())
}

/// The row id of a plugin's provenance (`None` for none), added when new.
fn plugin_id(conn: &Connection, provenance: &str) -> Result<Option<i64>> {
    if provenance.is_empty() {
        return Ok(None);
    }
    let find = || -> Result<Option<i64>> {
        Ok(conn
            .prepare_cached("SELECT id FROM plugins WHERE provenance = ?1")?
            .query_row(params![provenance], |r| r.get(0))
            .optional()?)
    };
    if let Some(id) = find()? {
        return Ok(Some(id));
    }
    conn.prepare_cached("INSERT INTO plugins (provenance) VALUES (?1)")?
        .execute(params![provenance])?;
    Ok(Some(conn.last_insert_rowid()))
}

/// The payload a row of `table` ("records" or "dead_letters") refers to.
fn payload_of(conn: &Connection, table: &str, source_id: &str) -> Result<Option<i64>> {
    let sql = format!("SELECT payload FROM {table} WHERE source_id = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(params![source_id], |r| r.get::<_, Option<i64>>(0))
        .optional()?
        .flatten())
}

/// Drops a payload no record and no dead letter refers to any more.
fn drop_unreferenced(conn: &Connection, id: i64) -> Result<()> {
    conn.prepare_cached(
        "DELETE FROM payloads WHERE id = ?1
         AND NOT EXISTS (SELECT 1 FROM records WHERE payload = ?1)
         AND NOT EXISTS (SELECT 1 FROM dead_letters WHERE payload = ?1)",
    )?
    .execute(params![id])?;
    Ok(())
}

/// A stored payload as read: compressed data, uncompressed size, dictionary.
type Stored = (Vec<u8>, i64, Option<i64>);

fn stored_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Stored> {
    stored_at(r, 0)
}

/// Columns `at`, `at + 1` and `at + 2` of a row: a `Stored`.
fn stored_at(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Stored> {
    Ok((r.get(at)?, r.get(at + 1)?, r.get(at + 2)?))
}

/// What training a dictionary did, for the log.
struct Trained {
    samples: usize,
    recompressed: usize,
    before: u64,
    after: u64,
}

/// Once the store holds `train_at` payloads and no dictionary: trains one on
/// an even spread of them, keeps it, and recompresses every payload with it.
/// `Err(stored)` when zstd could not train on them (too few, too alike).
fn train_dictionary(
    tx: &rusqlite::Transaction<'_>,
    codec: &mut Codec,
    train_at: i64,
) -> Result<Option<std::result::Result<Trained, i64>>> {
    let stored: i64 = tx.query_row("SELECT COUNT(*) FROM payloads", [], |r| r.get(0))?;
    if stored < train_at {
        return Ok(None);
    }
    let step = (stored / crate::payload::TRAINING_SAMPLES as i64).max(1);
    let mut samples = Vec::new();
    {
        let mut stmt = tx.prepare(
            "SELECT data, size, dictionary FROM payloads WHERE id % ?1 = 0 ORDER BY id LIMIT ?2",
        )?;
        let rows = stmt.query_map(
            params![step, crate::payload::TRAINING_SAMPLES as i64],
            stored_row,
        )?;
        for row in rows {
            let (data, size, dictionary) = row?;
            samples.push(codec.unpack_json(&data, size as usize, dictionary)?);
        }
    }
    let Some(dictionary) = crate::payload::train(&samples) else {
        return Ok(Some(Err(stored)));
    };
    tx.execute(
        "INSERT INTO dictionaries (data) VALUES (?1)",
        params![dictionary],
    )?;
    codec.prime(tx.last_insert_rowid(), &dictionary)?;
    // In slices by id: memory stays bounded on a large store.
    let (mut last, mut recompressed, mut before, mut after) = (0i64, 0, 0u64, 0u64);
    loop {
        let slice: Vec<(i64, Stored)> = tx
            .prepare_cached(
                "SELECT id, data, size, dictionary FROM payloads
                 WHERE id > ?1 AND dictionary IS NULL ORDER BY id LIMIT 500",
            )?
            .query_map(params![last], |r| Ok((r.get(0)?, stored_at(r, 1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let Some((end, _)) = slice.last() else { break };
        last = *end;
        for (id, (data, size, dictionary)) in slice {
            let json = codec.unpack_json(&data, size as usize, dictionary)?;
            let packed = codec.pack_json(std::str::from_utf8(&json)?);
            tx.prepare_cached("UPDATE payloads SET dictionary = ?2, data = ?3 WHERE id = ?1")?
                .execute(params![id, packed.dictionary, packed.data])?;
            recompressed += 1;
            before += data.len() as u64;
            after += packed.data.len() as u64;
        }
    }
    Ok(Some(Ok(Trained {
        samples: samples.len(),
        recompressed,
        before,
        after,
    })))
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
        unreadable_cursor: None,
        pages: r.get::<_, i64>(5)?.try_into().unwrap_or(0),
    };
    Ok(Ok(match cursor.as_deref().map(serde_json::from_str) {
        Some(Ok(cursor)) => Pass { cursor, ..pass },
        Some(Err(e)) => Pass {
            unreadable_cursor: Some(format!("it is not a list of requests: {e}")),
            ..pass
        },
        None => pass,
    }))
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

/// `import:<asset type>`: where an unfinished import goes on.
fn import_key(asset_type: &str) -> String {
    format!("import:{asset_type}")
}

/// Adds assets found in AIoD that the state does not know yet.
fn insert_known(tx: &rusqlite::Transaction<'_>, assets: &[KnownAsset]) -> Result<()> {
    let at = now();
    // Seen, as far as the state knows, by the passes so far: only a later
    // complete pass can miss it.
    let seen: i64 = tx.query_row("SELECT COALESCE(MAX(id), 0) FROM passes", [], |r| r.get(0))?;
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
    Ok(())
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
    fn a_new_state_has_16_kib_pages_and_an_old_one_keeps_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let page_size = |s: &State| -> i64 {
            s.conn
                .pragma_query_value(None, "page_size", |r| r.get(0))
                .unwrap()
        };
        let new = State::open(&dir.path().join("new.sqlite")).unwrap();
        assert_eq!(page_size(&new), 16384);
        let old = dir.path().join("old.sqlite");
        Connection::open(&old)
            .unwrap()
            .execute_batch("PRAGMA page_size = 4096; CREATE TABLE t (x);")
            .unwrap();
        assert_eq!(page_size(&State::open(&old).unwrap()), 4096);
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
            payload: None,
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
            remapped: false,
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
            payload: Some(Payload::new(&record(id, version), &[])),
        }
    }

    fn record(id: &str, version: &str) -> SourceRecord {
        SourceRecord {
            id: id.into(),
            label: format!("label-{id}"),
            version: version.into(),
            data: format!(r#"{{"id":"{id}","v":"{version}"}}"#),
            follow_ups: vec![],
        }
    }

    fn payloads(s: &State) -> u64 {
        s.status(0).unwrap().payloads
    }

    #[test]
    fn the_payload_store_keeps_what_the_last_mapping_was_made_from() {
        let mut s = temp_state();
        let batch = |settled: Vec<SettledRecord>| Batch {
            settled,
            ..Batch::default()
        };
        let commit = |s: &mut State, b: Batch| s.commit_page(None, &[], b).unwrap();
        commit(
            &mut s,
            batch(vec![
                settled("a", "v1", Settled::Done),
                settled("b", "v1", Settled::Again),
            ]),
        );
        assert_eq!(payloads(&s), 2);
        // Final answers of this version are reusable; not those of another
        // version, nor those of a record to map again.
        let a = s.reusable("a", "v1").unwrap().unwrap();
        assert_eq!(a.record, record("a", "v1"));
        assert_eq!(s.reusable("a", "v2").unwrap(), None);
        assert_eq!(s.reusable("b", "v1").unwrap(), None);

        // A new version replaces the payload; the old one goes.
        commit(&mut s, batch(vec![settled("a", "v2", Settled::Done)]));
        assert_eq!(payloads(&s), 2);
        assert!(s.reusable("a", "v2").unwrap().is_some());

        // A dead letter keeps its record in the same store, and a success clears both.
        let dead = DeadLetter {
            record: record("c", "v1"),
            follow_ups: vec![],
            stage: "plugin".into(),
            error: "boom".into(),
            record_hash: "h".into(),
            plugin: "p".into(),
            attempts: 1,
            failed_at: String::new(),
            payload: None,
        };
        commit(
            &mut s,
            Batch {
                dead: vec![dead],
                ..Batch::default()
            },
        );
        assert_eq!(payloads(&s), 3);
        let letters = s.dead_letters().unwrap();
        assert_eq!(letters[0].record, record("c", "v1"));
        assert_eq!(
            letters[0].payload,
            Some(crate::digest::to_hex(
                &Payload::new(&record("c", "v1"), &[]).hash()
            ))
        );
        let ids: Vec<String> = s
            .stored_payloads("", 10)
            .unwrap()
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(ids, ["a", "b", "c"]);
        assert_eq!(s.stored_payload_count().unwrap(), 3);
        let after_a: Vec<String> = s
            .stored_payloads("a", 1)
            .unwrap()
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(after_a, ["b"]);
        commit(&mut s, batch(vec![settled("c", "v1", Settled::Done)]));
        assert!(s.dead_letters().unwrap().is_empty());
        assert_eq!(
            payloads(&s),
            3,
            "c's record and its dead letter share one payload"
        );

        // A forgotten record takes its payload with it.
        s.forget_record("b").unwrap();
        assert_eq!(payloads(&s), 2);
    }

    /// A settled record with an answer alike its neighbours' but its own.
    fn fetched(i: usize) -> SettledRecord {
        let id = format!("org-{}/data-{i}", i % 13);
        let mut r = settled(&id, "v1", Settled::Done);
        let mut listed = record(&id, "v1");
        listed.follow_ups = vec![req("/parquet")];
        let answer = crate::model::Response {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: format!(
                r#"{{"parquet_files":[{{"dataset":"{id}","config":"default","split":"train","url":"https://huggingface.co/datasets/{id}/resolve/refs%2Fconvert%2Fparquet/default/train/0000.parquet","size":{}}}],"pending":[],"failed":[],"partial":false}}"#,
                i * 7919
            )
            .into_bytes(),
        };
        r.payload = Some(Payload::new(&listed, &[(req("/parquet"), answer)]));
        r
    }

    #[test]
    fn the_store_trains_a_dictionary_once_it_holds_enough_and_recompresses_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = State::open(&dir.path().join("s.sqlite")).unwrap();
        let n = TRAIN_AT as usize;
        let all: Vec<SettledRecord> = (0..n + 100).map(fetched).collect();
        for page in all[..n - 1].chunks(100) {
            let batch = Batch {
                settled: page.to_vec(),
                ..Batch::default()
            };
            s.commit_page(None, &[], batch).unwrap();
        }
        let dictionaries = |s: &State| -> i64 {
            s.conn
                .query_row("SELECT COUNT(*) FROM dictionaries", [], |r| r.get(0))
                .unwrap()
        };
        assert_eq!(dictionaries(&s), 0, "not before {TRAIN_AT} payloads");
        let plain = s.status(0).unwrap().payload_bytes;
        for page in all[n - 1..].chunks(50) {
            let batch = Batch {
                settled: page.to_vec(),
                ..Batch::default()
            };
            s.commit_page(None, &[], batch).unwrap();
        }
        assert_eq!(dictionaries(&s), 1, "trained once");
        let without: i64 = s
            .conn
            .query_row(
                "SELECT COUNT(*) FROM payloads WHERE dictionary IS NULL",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(without, 0, "those stored before are recompressed");
        let held = s.status(0).unwrap();
        assert_eq!(held.payloads, all.len() as u64);
        // Per payload, the dictionary saves most of what zstd alone keeps.
        let per = |bytes: u64, n: usize| bytes as f64 / n as f64;
        assert!(
            per(held.payload_bytes, all.len()) * 2.0 < per(plain, n - 1),
            "{held:?} after, {plain} bytes for {} before",
            n - 1
        );
        // Read back, also by a state opened afterwards.
        let reopened = State::open(s.path()).unwrap();
        for r in [&all[0], &all[n + 50]] {
            let read = reopened.reusable(&r.id, "v1").unwrap();
            assert_eq!(read, r.payload, "{}", r.id);
        }
        let walked = reopened.stored_payloads("", all.len()).unwrap();
        assert_eq!(walked.len(), all.len());
    }

    /// Regression: a remap that changed no body rewrote a quarter of the
    /// state's pages (every asset's `updated_at`, same-value index updates).
    #[test]
    fn settling_what_the_state_already_holds_writes_nothing() {
        let mut s = temp_state();
        let batch = || Batch {
            settled: vec![settled("a", "v1", Settled::Done)],
            assets: vec![UploadedAsset {
                asset: asset("a", "h1"),
                source_id: "a".into(),
                plugin: "plugin 0.1.0 abc".into(),
            }],
            remapped: true,
            ..Batch::default()
        };
        s.commit_page(None, &[], batch()).unwrap();
        let updated_at = |s: &State| -> String {
            s.conn
                .query_row("SELECT updated_at FROM assets", [], |r| r.get(0))
                .unwrap()
        };
        let before = (s.conn.total_changes(), updated_at(&s));
        s.commit_page(None, &[], batch()).unwrap();
        assert_eq!((s.conn.total_changes(), updated_at(&s)), before);
        // A new body is written, with its time.
        let mut changed = batch();
        changed.assets[0].asset.body_hash = "h2".into();
        s.commit_page(None, &[], changed).unwrap();
        assert_eq!(s.conn.total_changes(), before.0 + 1);
        assert_eq!(s.asset("datasets", "a").unwrap().unwrap().body_hash, "h2");
    }

    /// A state of schema 4 kept provenance as text and payloads by their hex
    /// hash; after schema 5 it reads back the same.
    #[test]
    fn migration_5_keeps_payloads_and_provenance() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sqlite");
        let kept = Payload::new(&record("a", "v1"), &[]);
        let failed = Payload::new(&record("d", "v2"), &[]);
        let hex = |p: &Payload| crate::digest::to_hex(&p.hash());
        {
            let mut conn = Connection::open(&path).unwrap();
            conn.execute_batch(SCHEMA).unwrap();
            Migrations::from_slice(&MIGRATIONS[..4])
                .to_latest(&mut conn)
                .unwrap();
            for p in [&kept, &failed] {
                let json = p.json();
                conn.execute(
                    "INSERT INTO payloads (hash, data, size) VALUES (?1, ?2, ?3)",
                    params![
                        hex(p),
                        zstd::bulk::compress(json.as_bytes(), 3).unwrap(),
                        json.len() as i64
                    ],
                )
                .unwrap();
            }
            conn.execute(
                "INSERT INTO records (source_id, version, last_seen_pass, label, outcome, plugin, payload)
                 VALUES ('a', 'v1', 1, 'label-a', 'done', 'p 1 d', ?1), ('old', 'v0', 1, '', 'done', '', NULL)",
                params![hex(&kept)],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO assets (asset_type, platform_resource_identifier, identifier, body_hash,
                     source_id, last_seen_pass, plugin, updated_at, label, payload)
                 VALUES ('datasets', 'a', 'data_a', 'h', 'a', 1, 'p 1 d', 't', '', ?1)",
                params![hex(&kept)],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO dead_letters (source_id, label, version, stage, error, record, follow_ups,
                     record_hash, plugin, attempts, failed_at, payload)
                 VALUES ('d', 'label-d', 'v2', 'plugin', 'boom', '', '', 'rh', 'p 1 d', 1, 't', ?1)",
                params![hex(&failed)],
            )
            .unwrap();
        }
        let s = State::open(&path).unwrap();
        assert_eq!(s.reusable("a", "v1").unwrap(), Some(kept.clone()));
        assert_eq!(
            s.done_version("a").unwrap(),
            Some(Done {
                version: "v1".into(),
                plugin: "p 1 d".into()
            })
        );
        assert_eq!(s.done_version("old").unwrap().unwrap().plugin, "");
        let letters = s.dead_letters().unwrap();
        assert_eq!(letters[0].record, failed.record);
        assert_eq!(letters[0].payload, Some(hex(&failed)));
        let held = s.status(0).unwrap();
        assert_eq!(held.payloads, 2);
        assert_eq!(
            held.by_plugin,
            [
                ByPlugin {
                    plugin: String::new(),
                    records: 1,
                    assets: 0
                },
                ByPlugin {
                    plugin: "p 1 d".into(),
                    records: 1,
                    assets: 1
                }
            ]
        );
        let walked: Vec<String> = s
            .stored_payloads("", 10)
            .unwrap()
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(walked, ["a", "d"]);
    }

    #[test]
    fn the_status_counts_by_outcome_plugin_and_pass() {
        let mut s = temp_state();
        let p = s.begin_pass(PassKind::All, None, &[]).unwrap();
        let batch = Batch {
            settled: vec![
                settled("a", "v1", Settled::Done),
                settled("b", "v1", Settled::Skipped),
            ],
            assets: vec![UploadedAsset {
                asset: asset("a", "h1"),
                source_id: "a".into(),
                plugin: "plugin 0.1.0 abc".into(),
            }],
            pages: 1,
            ..Batch::default()
        };
        s.commit_page(Some(p.id), &[], batch).unwrap();
        let h = s.status(5).unwrap();
        assert_eq!(h.records, [(Settled::Done, 1), (Settled::Skipped, 1)]);
        assert_eq!((h.assets, h.payloads), (1, 2));
        assert_eq!(
            h.by_plugin,
            [ByPlugin {
                plugin: "plugin 0.1.0 abc".into(),
                records: 2,
                assets: 1
            }]
        );
        assert_eq!(
            (h.passes[0].status, h.passes[0].pages),
            (PassStatus::Complete, 1)
        );
        assert!(h.payload_bytes > 0 && h.payload_size > 0);
        assert_eq!(s.mapped_ids().unwrap(), ["a".to_string()].into());
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
        s.import_page(
            "datasets",
            &[known("gone", "h"), known("kept", "h"), known("listed", "h")],
            None,
        )
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
        assert_eq!(letters[0].payload, None, "kept before the payload store");

        // Records mapped before the payload store have nothing to map again
        // from (a new plugin fetches their follow-ups, as before); once settled
        // again, they do.
        let version = "2024-01-01T00:00:00.000Z";
        assert_eq!(s.reusable("org/done", version).unwrap(), None);
        assert_eq!(s.stored_payload_count().unwrap(), 0);
        let again = Batch {
            settled: vec![settled("org/done", version, Settled::Done)],
            ..Batch::default()
        };
        s.commit_page(None, &[], again).unwrap();
        assert!(s.reusable("org/done", version).unwrap().is_some());
        assert_eq!(s.stored_payload_count().unwrap(), 1);

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
            .prepare(
                "SELECT source_id, version, COALESCE(g.provenance, '') FROM records
                 LEFT JOIN plugins g ON g.id = plugin ORDER BY source_id",
            )
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
