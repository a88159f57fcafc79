//! The uploading sink: validate, then create, update or leave alone.
//!
//! Which platform ids already exist is learnt either by paging the
//! catalogue's listing of the platform once (cheap per asset for full syncs)
//! or by one lookup per asset (cheap for a few assets). Either way a `POST`
//! answered 409 becomes a `PUT`, so nothing is created twice.

use super::client::{Aiod, ApiError, Created};
use super::normalize::fingerprint;
use crate::model::{Asset, SourceRecord};
use crate::sync::{Outcome, PutError, Sink};
use aiod_schema::Schema;
use serde_json::Value;
use std::collections::HashMap;

/// The catalogue's page size limit.
const LIST_PAGE: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExistingStrategy {
    /// Listing for `--mode all`, lookups otherwise.
    Auto,
    /// Page through the platform's assets once.
    Listing,
    /// Look each asset up by its platform id.
    Lookup,
}

/// What the catalogue holds for a platform id.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Known {
    identifier: String,
    fingerprint: u64,
}

enum Index {
    /// Per asset type, platform id → what is stored; filled on first use.
    Listing(HashMap<String, HashMap<String, Known>>),
    Lookup,
}

pub struct Uploader {
    aiod: Aiod,
    platform: String,
    schema: &'static Schema,
    index: Index,
}

/// Checks token and role before anything is fetched or sent.
pub async fn preflight(aiod: &Aiod, platform: &str) -> anyhow::Result<()> {
    let user = aiod.whoami().await.map_err(|e| match e.status() {
        Some(401 | 403) => anyhow::anyhow!(
            "AIoD did not accept this client's token ({}); check client_id, CLIENT_SECRET and auth_server",
            e.detail()
        ),
        _ => anyhow::anyhow!("AIoD pre-flight failed: {e}"),
    })?;
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

impl Uploader {
    pub fn new(aiod: Aiod, platform: String, listing: bool) -> Uploader {
        Uploader {
            aiod,
            platform,
            schema: Schema::bundled(),
            index: if listing {
                Index::Listing(HashMap::new())
            } else {
                Index::Lookup
            },
        }
    }

    async fn known(
        &mut self,
        asset_type: &str,
        schema_name: &str,
        id: &str,
    ) -> Result<Option<Known>, PutError> {
        if let Index::Listing(by_type) = &mut self.index {
            if !by_type.contains_key(asset_type) {
                match list_all(
                    &self.aiod,
                    self.schema,
                    asset_type,
                    schema_name,
                    &self.platform,
                )
                .await
                {
                    Ok(all) => {
                        tracing::info!(
                            "{} {asset_type} of platform {} already in AIoD",
                            all.len(),
                            self.platform
                        );
                        by_type.insert(asset_type.to_string(), all);
                    }
                    Err(e) => {
                        tracing::warn!(
                            "cannot list existing {asset_type} ({e}); looking each asset up instead"
                        );
                        self.index = Index::Lookup;
                    }
                }
            }
            if let Index::Listing(by_type) = &self.index {
                return Ok(by_type[asset_type].get(id).cloned());
            }
        }
        let found = self
            .aiod
            .lookup(asset_type, &self.platform, id)
            .await
            .map_err(|e| classify(e, &self.platform))?;
        Ok(found.and_then(|stored| known(self.schema, schema_name, &stored)))
    }

    fn remember(&mut self, asset_type: &str, id: &str, known: Known) {
        if let Index::Listing(by_type) = &mut self.index {
            by_type
                .entry(asset_type.to_string())
                .or_default()
                .insert(id.to_string(), known);
        }
    }
}

fn known(schema: &Schema, schema_name: &str, stored: &Value) -> Option<Known> {
    Some(Known {
        identifier: stored.get("identifier")?.as_str()?.to_string(),
        fingerprint: fingerprint(schema, schema_name, stored),
    })
}

async fn list_all(
    aiod: &Aiod,
    schema: &Schema,
    asset_type: &str,
    schema_name: &str,
    platform: &str,
) -> Result<HashMap<String, Known>, ApiError> {
    let mut all = HashMap::new();
    let mut offset = 0;
    loop {
        let page = aiod.list(asset_type, platform, offset, LIST_PAGE).await?;
        for item in &page {
            if let (Some(id), Some(k)) = (
                item.get("platform_resource_identifier")
                    .and_then(Value::as_str),
                known(schema, schema_name, item),
            ) {
                all.insert(id.to_string(), k);
            }
        }
        if page.len() < LIST_PAGE {
            return Ok(all);
        }
        offset += page.len();
    }
}

/// Which answers stop the run (the configuration is wrong for every record)
/// and which cost only this record.
fn classify(e: ApiError, platform: &str) -> PutError {
    match (&e, e.status()) {
        (ApiError::Auth(_), _) => PutError::Fatal(e.to_string()),
        (_, Some(401 | 403)) => PutError::Fatal(format!(
            "{e}. The client may upload only for platforms it has a platform_<name> role for; \
             check PLATFORM_NAME ({platform}) and the client's roles"
        )),
        (_, Some(412)) => PutError::Fatal(format!(
            "{e}. Platform {platform:?} is not registered in this AIoD catalogue: an AIoD \
             administrator must register it (POST /platforms) before this connector can upload"
        )),
        (_, Some(422)) => {
            PutError::Record(format!("AIoD rejected the body as invalid: {}", e.detail()))
        }
        _ => PutError::Record(e.to_string()),
    }
}

impl Sink for Uploader {
    async fn put(&mut self, _record: &SourceRecord, asset: Asset) -> Result<Outcome, PutError> {
        let Asset {
            asset_type,
            platform_resource_identifier: id,
            body,
        } = asset;
        let schema_name = self
            .schema
            .request_schema(&asset_type)
            .ok_or_else(|| PutError::Record(format!("AIoD has no asset type {asset_type:?}")))?;
        if body.get("platform").and_then(Value::as_str) != Some(self.platform.as_str())
            || body
                .get("platform_resource_identifier")
                .and_then(Value::as_str)
                != Some(id.as_str())
        {
            return Err(PutError::Record(format!(
                "the plugin produced a body whose platform/platform_resource_identifier ({}/{}) \
                 is not {}/{id}",
                body["platform"], body["platform_resource_identifier"], self.platform
            )));
        }
        let violations = self.schema.validate(schema_name, &body);
        if !violations.is_empty() {
            let list: Vec<String> = violations.iter().map(ToString::to_string).collect();
            return Err(PutError::Record(format!(
                "not sent: the body does not validate against the AIoD schema {schema_name}: {}",
                list.join("; ")
            )));
        }
        let ours = fingerprint(self.schema, schema_name, &body);
        let platform = self.platform.clone();
        let (identifier, outcome) = match self.known(&asset_type, schema_name, &id).await? {
            Some(k) if k.fingerprint == ours => return Ok(Outcome::Unchanged),
            Some(k) => {
                self.aiod
                    .replace(&asset_type, &k.identifier, &body)
                    .await
                    .map_err(|e| classify(e, &platform))?;
                (k.identifier, Outcome::Updated)
            }
            None => match self
                .aiod
                .create(&asset_type, &body)
                .await
                .map_err(|e| classify(e, &platform))?
            {
                Created::New(identifier) => (identifier, Outcome::Created),
                Created::Exists(identifier) => {
                    tracing::debug!(id, identifier, "already in AIoD (409); updating it");
                    self.aiod
                        .replace(&asset_type, &identifier, &body)
                        .await
                        .map_err(|e| classify(e, &platform))?;
                    (identifier, Outcome::Updated)
                }
            },
        };
        self.remember(
            &asset_type,
            &id,
            Known {
                identifier,
                fingerprint: ours,
            },
        );
        Ok(outcome)
    }
}
