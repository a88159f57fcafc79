//! The uploading sink: validate, then create, update or leave alone.
//!
//! What the state remembers of an asset (its identifier and the fingerprint of
//! what was last sent) decides without asking AIoD. An asset the state does
//! not know is created, unless the state is new and AIoD may already hold it:
//! then it is looked up first (or the whole platform listing was imported
//! before the sync, see `import_catalogue`). Either way a `POST` answered 409
//! becomes a `PUT`, so nothing is created twice.

use super::client::{Aiod, ApiError, Created};
use super::normalize::fingerprint;
use crate::model::Asset;
use crate::state::{KnownAsset, StoredAsset};
use crate::sync::{Outcome, Put, PutError, Sink};
use aiod_schema::Schema;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExistingStrategy {
    /// Listing for `--mode all`, lookups otherwise (only while the state is empty).
    Auto,
    /// Page through the platform's assets once.
    Listing,
    /// Look each asset up by its platform id.
    Lookup,
}

pub struct Uploader {
    aiod: Aiod,
    platform: String,
    schema: &'static Schema,
    /// Look up assets the state does not know (the state is new).
    lookup_unknown: bool,
    in_flight: usize,
    /// Whether a write has succeeded: until one has, writes go one at a time, so
    /// that the catalogue registers the account before a second write races it
    /// (the loser of that race is left as an unpublished draft).
    wrote: std::sync::atomic::AtomicBool,
    first_write: tokio::sync::Mutex<()>,
}

/// Checks token and role before anything is fetched or sent; an error names
/// the step that failed.
pub async fn preflight(aiod: &Aiod, platform: &str) -> anyhow::Result<()> {
    let user = aiod.whoami().await.map_err(preflight_error)?;
    let role = format!("platform_{platform}");
    if !user.roles.contains(&role) {
        anyhow::bail!(
            "the AIoD client {:?} lacks the role {role:?} (its roles: {:?}). Set PLATFORM_NAME to the \
             platform this client may upload for, or ask your Keycloak administrator to give the \
             client the role {role:?}",
            user.name,
            user.roles
        );
    }
    tracing::info!(user = %user.name, "authenticated to AIoD with role {role}");
    Ok(())
}

/// What failed in the pre-flight, in the operator's terms: AIoD or Keycloak
/// cannot be reached, Keycloak refused the client, AIoD refused its token, or
/// the API has no such route (a wrong `api_server`).
fn preflight_error(e: ApiError) -> anyhow::Error {
    match e {
        ApiError::Transport { url, message, .. } => {
            anyhow::anyhow!("cannot reach AIoD at {url}: {message}")
        }
        // Its own words: cannot reach Keycloak, Keycloak refused the client, ...
        ApiError::Auth(auth) => auth.into(),
        // Its own words: no such route, check api_server and version.
        route @ ApiError::NoRoute { .. } => route.into(),
        ApiError::Status {
            status: 401 | 403,
            detail,
            ..
        } => anyhow::anyhow!(
            "AIoD did not accept this client's token ({}); check client_id, CLIENT_SECRET and \
             auth_server",
            detail.trim_end_matches('.')
        ),
        other => anyhow::anyhow!("AIoD answered its pre-flight unexpectedly: {other}"),
    }
}

/// The smallest page the import asks for when pages are slow.
const MIN_IMPORT_PAGE: usize = 50;

/// How the import of what AIoD holds pages through it.
#[derive(Debug, Clone, Copy)]
pub struct ImportPaging {
    /// Assets per page to start with.
    pub page_size: usize,
    /// A page slower than this halves the next page.
    pub slow: std::time::Duration,
    /// The most pages.
    pub max_pages: u64,
}

/// Pages through the platform's assets of `asset_type` from `offset`, for the
/// state to know which exist before the first sync (and their names, by
/// which an asset that the platform no longer lists is looked up before it is
/// deleted). Each page goes to `keep` as it comes, with the offset of the next
/// page (`None` after the last), so memory does not grow with the catalogue
/// and a killed import goes on where it stopped. A page slower than
/// `paging.slow` halves the next one; a page that gets no answer (a timeout)
/// is asked again at half the size, down to `MIN_IMPORT_PAGE`. A listing that
/// answers an asset twice (an offset ignored, a cache) or more than
/// `max_pages` pages ends with an error. Returns how many assets were found.
pub async fn import_catalogue(
    aiod: &Aiod,
    platform: &str,
    asset_type: &str,
    mut offset: usize,
    paging: ImportPaging,
    mut keep: impl FnMut(&[KnownAsset], Option<u64>) -> anyhow::Result<()>,
) -> anyhow::Result<u64> {
    let schema = Schema::bundled();
    let Some(schema_name) = schema.request_schema(asset_type) else {
        keep(&[], None)?;
        return Ok(0);
    };
    let mut seen = std::collections::HashSet::new();
    let (mut found, mut pages, mut size) = (0, 0, paging.page_size.max(MIN_IMPORT_PAGE));
    loop {
        if pages >= paging.max_pages {
            anyhow::bail!(
                "AIoD's listing of {platform} {asset_type} has more than {} pages (--max-pages)",
                paging.max_pages
            );
        }
        let started = std::time::Instant::now();
        let page = match aiod.list(asset_type, platform, offset, size).await {
            Ok(page) => page,
            Err(ApiError::Transport { message, .. }) if size > MIN_IMPORT_PAGE => {
                size = (size / 2).max(MIN_IMPORT_PAGE);
                tracing::warn!(
                    offset,
                    "no answer to a page of AIoD's listing ({message}); asking for {size} assets \
                     a page"
                );
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        pages += 1;
        let asked = size;
        if started.elapsed() > paging.slow && size > MIN_IMPORT_PAGE {
            size = (size / 2).max(MIN_IMPORT_PAGE);
            tracing::info!(
                took = ?started.elapsed(),
                "a slow page of AIoD's listing: asking for {size} assets a page"
            );
        }
        let known: Vec<KnownAsset> = page
            .iter()
            .filter_map(|item| {
                Some(KnownAsset {
                    asset: stored(schema, schema_name, asset_type, item)?,
                    name: item
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                })
            })
            .collect();
        // Hashes, not the identifiers: memory stays small for a large catalogue.
        let fresh = |k: &&KnownAsset| {
            use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
            let hash = BuildHasherDefault::<DefaultHasher>::default().hash_one(&k.asset.identifier);
            !seen.insert(hash)
        };
        if let Some(again) = known.iter().find(fresh) {
            anyhow::bail!(
                "AIoD's listing of {platform} {asset_type} repeats itself: the page at \
                 offset {offset} lists {} again",
                again.asset.identifier
            );
        }
        found += known.len() as u64;
        let last = page.len() < asked;
        offset += page.len();
        keep(&known, (!last).then_some(offset as u64))?;
        if last {
            return Ok(found);
        }
    }
}

fn stored(
    schema: &Schema,
    schema_name: &str,
    asset_type: &str,
    item: &Value,
) -> Option<StoredAsset> {
    Some(StoredAsset {
        asset_type: asset_type.to_string(),
        platform_resource_identifier: item
            .get("platform_resource_identifier")?
            .as_str()?
            .to_string(),
        identifier: item.get("identifier")?.as_str()?.to_string(),
        body_hash: fingerprint(schema, schema_name, item),
    })
}

/// Which answers stop the run (the configuration is wrong for every record)
/// and which cost only this record.
fn classify(e: ApiError, platform: &str) -> PutError {
    // The catalogue's details end with a full stop: one is enough.
    let said = e.to_string();
    let said = said.trim_end_matches('.');
    match (&e, e.status()) {
        (ApiError::Paused(pause), _) => PutError::Paused(pause.clone()),
        (ApiError::Auth(_) | ApiError::NoRoute { .. }, _) => PutError::Fatal(e.to_string()),
        (_, Some(401 | 403)) => PutError::Fatal(format!(
            "{said}. The client may upload only for platforms it has a platform_<name> role for; \
             check PLATFORM_NAME ({platform}) and the client's roles"
        )),
        (_, Some(412)) => PutError::Fatal(format!(
            "{said}. Platform {platform:?} is not registered in this AIoD catalogue: an AIoD \
             administrator must register it (POST /platforms) before this connector can upload"
        )),
        (_, Some(422)) => {
            PutError::Rejected(format!("AIoD rejected the body as invalid: {}", e.detail()))
        }
        _ => PutError::Rejected(e.to_string()),
    }
}

impl Uploader {
    /// `in_flight`: records uploaded at once (AIoD writes are slow, ~50 ms).
    pub fn new(aiod: Aiod, platform: String, lookup_unknown: bool, in_flight: usize) -> Uploader {
        Uploader {
            aiod,
            platform,
            schema: Schema::bundled(),
            lookup_unknown,
            in_flight,
            wrote: std::sync::atomic::AtomicBool::new(false),
            first_write: tokio::sync::Mutex::new(()),
        }
    }

    pub fn aiod(&self) -> &Aiod {
        &self.aiod
    }

    /// Looks the asset up as the connector: `None` when absent; an asset AIoD
    /// holds but does not show (401, 403) is a `Hidden` error for this record.
    async fn look_up(&self, asset_type: &str, id: &str) -> Result<Option<Value>, PutError> {
        self.aiod
            .lookup(asset_type, &self.platform, id)
            .await
            .map_err(|e| match e.status() {
                Some(401 | 403) => PutError::Hidden(hidden(&self.platform, id, &e.detail(), None)),
                _ => classify(e, &self.platform),
            })
    }

    /// Creates the asset; a 409 turns into a `PUT` of the identifier AIoD names
    /// (once a lookup shows the asset is visible: a draft is reported, not
    /// updated in the dark), and a POST that failed with 400 or 500 is followed
    /// by a lookup, since such a failure can leave a draft behind.
    async fn create(&self, asset_type: &str, body: &Value) -> Result<(String, Outcome), PutError> {
        let id = body["platform_resource_identifier"]
            .as_str()
            .unwrap_or_default();
        let created = match self.aiod.create(asset_type, body).await {
            Ok(created) => created,
            Err(e) if matches!(e.status(), Some(400 | 500)) => {
                return match self.aiod.lookup(asset_type, &self.platform, id).await {
                    Err(seen) if matches!(seen.status(), Some(401 | 403)) => Err(PutError::Hidden(
                        hidden(&self.platform, id, &seen.detail(), Some(&e)),
                    )),
                    // It was stored after all: make it what we sent.
                    Ok(Some(found)) => match found["identifier"].as_str() {
                        Some(identifier) => self.update(asset_type, identifier, body).await,
                        None => Err(classify(e, &self.platform)),
                    },
                    Ok(None) | Err(_) => Err(classify(e, &self.platform)),
                };
            }
            Err(e) => return Err(classify(e, &self.platform)),
        };
        match created {
            Created::New(identifier) => Ok((identifier, Outcome::Created)),
            Created::Exists(identifier) => {
                tracing::debug!(identifier, "already in AIoD (409); updating it");
                self.look_up(asset_type, id).await?;
                self.update(asset_type, &identifier, body).await
            }
        }
    }

    async fn update(
        &self,
        asset_type: &str,
        identifier: &str,
        body: &Value,
    ) -> Result<(String, Outcome), PutError> {
        self.aiod
            .replace(asset_type, identifier, body)
            .await
            .map_err(|e| classify(e, &self.platform))?;
        Ok((identifier.to_string(), Outcome::Updated))
    }

    /// Leaves an unchanged asset alone; creates or replaces the others, one
    /// write at a time until one has succeeded.
    async fn write(
        &self,
        asset_type: &str,
        previous: Option<StoredAsset>,
        hash: &str,
        body: &Value,
    ) -> Result<(String, Outcome), PutError> {
        use std::sync::atomic::Ordering;
        if let Some(p) = previous.as_ref().filter(|p| p.body_hash == hash) {
            return Ok((p.identifier.clone(), Outcome::Unchanged));
        }
        let first = match self.wrote.load(Ordering::Acquire) {
            true => None,
            false => Some(self.first_write.lock().await),
        };
        let written = match previous {
            Some(p) => match self.aiod.replace(asset_type, &p.identifier, body).await {
                Ok(()) => Ok((p.identifier, Outcome::Updated)),
                // Deleted in AIoD since we last saw it: create it again.
                Err(e) if e.status() == Some(404) => self.create(asset_type, body).await,
                Err(e) => Err(classify(e, &self.platform)),
            },
            None => self.create(asset_type, body).await,
        };
        if written.is_ok() {
            self.wrote.store(true, Ordering::Release);
        }
        drop(first);
        written
    }
}

/// What to say of an asset AIoD holds but does not show.
fn hidden(platform: &str, id: &str, detail: &str, failed_post: Option<&ApiError>) -> String {
    let cause = match failed_post {
        Some(e) => format!(
            "its upload failed ({}) but left it there, and AIoD does not show it ({})",
            e.to_string().trim_end_matches('.'),
            detail.trim_end_matches('.')
        ),
        None => format!("AIoD does not show it ({})", detail.trim_end_matches('.')),
    };
    format!(
        "AIoD holds {platform} asset {id:?} as an unpublished draft: {cause}. It is missing \
         from listings and no one can see it; the catalogue's maintainers can publish it (or \
         delete it, and the next run uploads it again)"
    )
}

impl Sink for Uploader {
    fn in_flight(&self) -> usize {
        self.in_flight
    }

    async fn put(&self, asset: Asset, previous: Option<StoredAsset>) -> Result<Put, PutError> {
        let Asset {
            asset_type,
            platform_resource_identifier: id,
            body,
        } = asset;
        let schema_name = self
            .schema
            .request_schema(&asset_type)
            .ok_or_else(|| PutError::Invalid(format!("AIoD has no asset type {asset_type:?}")))?;
        if body.get("platform").and_then(Value::as_str) != Some(self.platform.as_str())
            || body
                .get("platform_resource_identifier")
                .and_then(Value::as_str)
                != Some(id.as_str())
        {
            return Err(PutError::Invalid(format!(
                "the plugin produced a body whose platform/platform_resource_identifier ({}/{}) \
                 is not {}/{id}",
                body["platform"], body["platform_resource_identifier"], self.platform
            )));
        }
        let violations = self.schema.validate(schema_name, &body);
        if !violations.is_empty() {
            let list: Vec<String> = violations.iter().map(ToString::to_string).collect();
            return Err(PutError::Invalid(format!(
                "not sent: the body does not validate against the AIoD schema {schema_name}: {}",
                list.join("; ")
            )));
        }
        let hash = fingerprint(self.schema, schema_name, &body);
        let previous = match previous {
            Some(p) => Some(p),
            None if self.lookup_unknown => self
                .look_up(&asset_type, &id)
                .await?
                .and_then(|found| stored(self.schema, schema_name, &asset_type, &found)),
            None => None,
        };
        let (identifier, outcome) = self.write(&asset_type, previous, &hash, &body).await?;
        Ok(Put {
            outcome,
            stored: Some(StoredAsset {
                asset_type,
                platform_resource_identifier: id,
                identifier,
                body_hash: hash,
            }),
        })
    }
}

#[cfg(test)]
mod tests;
