//! Deletes from AIoD, only of what the source confirms.
//!
//! After a complete `all` pass, the assets whose record the pass did not list
//! are candidates, never more: a listing can miss a live record (the Hub's
//! default order moves while a pass runs). The plugin looks each such record
//! up (contract 0.1.2); only a confirmed absence deletes, "exists" keeps the
//! assets, and "can't tell" keeps them until the next complete pass. A plugin
//! built before lookups existed cannot be asked: then only what two complete
//! passes in a row did not list is deleted. Records the plugin now skips
//! (private, disabled) have their assets withdrawn after any sync. Never
//! after an incomplete pass (the caller only passes a completed one), never
//! more than a share of the platform without consent.

use crate::aiod::client::Aiod;
use crate::model::{Existence, MissingRecord};
use crate::plugin::{CallError, Plugin};
use crate::state::{MissingAsset, State, StoredAsset};
use crate::transport::{Failure, Transport};
use anyhow::Result;

#[derive(Debug, Clone, Copy)]
pub struct DeletePolicy {
    pub enabled: bool,
    pub max_share: f64,
    pub allow_mass: bool,
}

/// Whether deleting `gone` of `total` assets is within the policy (pure).
pub fn permitted(policy: &DeletePolicy, gone: usize, total: u64) -> Result<(), String> {
    if !policy.enabled || gone == 0 || policy.allow_mass {
        return Ok(());
    }
    let share = gone as f64 / total.max(1) as f64;
    if share > policy.max_share {
        return Err(format!(
            "refusing to delete {gone} of {total} assets ({:.1}%, more than the {:.1}% allowed): \
             a listing that lost that much is more likely broken than true. Check the source, then \
             run again with --allow-mass-delete (or --max-delete-share) to delete them",
            share * 100.0,
            policy.max_share * 100.0
        ));
    }
    Ok(())
}

/// What a sync's deletes need.
pub struct Deletes<'a, T: Transport> {
    pub aiod: &'a Aiod,
    pub state: &'a mut State,
    pub plugin: &'a mut Plugin,
    pub transport: &'a T,
    pub platform: &'a str,
    pub policy: DeletePolicy,
}

/// The assets of one record the pass did not list.
struct Candidate {
    record: MissingRecord,
    assets: Vec<MissingAsset>,
}

/// Groups missing assets by their record (the query orders them so).
fn by_record(missing: Vec<MissingAsset>) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = Vec::new();
    for m in missing {
        let id = m
            .source_id
            .clone()
            .unwrap_or_else(|| m.asset.platform_resource_identifier.clone());
        match out.last_mut() {
            Some(c) if c.record.id == id && m.source_id.is_some() => c.assets.push(m),
            _ => out.push(Candidate {
                record: MissingRecord {
                    id,
                    label: m.label.clone(),
                },
                assets: vec![m],
            }),
        }
    }
    out
}

impl<T: Transport> Deletes<'_, T> {
    /// After the complete pass `pass_id`: deletes the assets of the records
    /// it did not list whose absence the source confirms. Returns how many
    /// assets were deleted.
    pub async fn confirmed_gone(&mut self, pass_id: i64) -> Result<u64> {
        if !self.policy.enabled {
            return Ok(0);
        }
        let missing = self.state.missing_assets(pass_id)?;
        // Judged before any lookup: a broken listing must not cost a lookup per asset.
        if let Err(refusal) = permitted(&self.policy, missing.len(), self.state.asset_count()?) {
            tracing::warn!("{refusal}");
            return Ok(0);
        }
        let candidates = by_record(missing);
        let previous = self.state.previous_complete_pass("all", pass_id)?;
        let (mut deleted, mut exist, mut unknown) = (0, 0, 0);
        for candidate in candidates {
            let existence = if self.plugin.can_look_up() {
                match self.look_up(&candidate.record).await {
                    Some(existence) => existence,
                    None => {
                        tracing::warn!(
                            "stopped confirming deletes: the request budget asks for a longer \
                             wait than the cap; the rest are kept until the next complete pass"
                        );
                        break;
                    }
                }
            } else {
                twice_missing(&candidate, previous)
            };
            let (id, label) = (&candidate.record.id, &candidate.record.label);
            match existence {
                Existence::Gone(why) => {
                    for m in &candidate.assets {
                        deleted += self.delete(&m.asset, &why, true).await?;
                    }
                }
                Existence::Exists => {
                    exist += 1;
                    tracing::info!(
                        id,
                        label,
                        "kept in AIoD: the complete pass did not list it, but it still exists \
                         at the source"
                    );
                }
                Existence::Unknown(why) => {
                    unknown += 1;
                    tracing::warn!(
                        id,
                        label,
                        "kept in AIoD for now: the complete pass did not list it, and the \
                         source did not confirm that it is gone ({why}); asked again after the \
                         next complete pass"
                    );
                }
            }
        }
        if deleted + exist + unknown > 0 {
            tracing::info!(
                "records the complete pass did not list: {deleted} asset(s) deleted as gone, \
                 {exist} record(s) still exist, {unknown} not confirmed"
            );
        }
        Ok(deleted)
    }

    /// After any sync: withdraws the assets of records the plugin now skips
    /// (it no longer publishes them, e.g. they became private). Returns how
    /// many were deleted.
    pub async fn skipped(&mut self) -> Result<u64> {
        let skipped = self.state.skipped_assets()?;
        if skipped.is_empty() {
            return Ok(0);
        }
        if !self.policy.enabled {
            tracing::warn!(
                "{} asset(s) of records the plugin no longer publishes stay in AIoD (--no-delete)",
                skipped.len()
            );
            return Ok(0);
        }
        if let Err(refusal) = permitted(&self.policy, skipped.len(), self.state.asset_count()?) {
            tracing::warn!("{refusal}");
            return Ok(0);
        }
        let mut deleted = 0;
        for (asset, label) in skipped {
            let why = format!("the plugin no longer publishes {label:?} (it skips the record)");
            deleted += self.delete(&asset, &why, false).await?;
        }
        Ok(deleted)
    }

    /// Asks the platform about a missing record; `None` when the budget asks
    /// for a wait beyond the cap.
    async fn look_up(&mut self, record: &MissingRecord) -> Option<Existence> {
        let request = match self.plugin.lookup(self.platform, record) {
            Ok(Some(request)) => request,
            Ok(None) => unreachable!("only called for plugins that look up"),
            Err(CallError::Refused(why)) => return Some(Existence::Unknown(why)),
            Err(broken) => return Some(Existence::Unknown(broken.to_string())),
        };
        let what = format!("lookup of {:?}, missing from the listing", record.label);
        let answers = self.plugin.answers().clone();
        let response = match self.transport.get(&request, &what, &answers).await {
            Ok(response) => response,
            // The plugin decides what no answer means, as for follow-ups.
            Err(Failure::Unreachable(why)) => crate::model::Response {
                status: 0,
                headers: Vec::new(),
                body: why.into_bytes(),
            },
            Err(Failure::Refused(why)) => return Some(Existence::Unknown(why)),
            Err(Failure::Paused(_)) => return None,
        };
        Some(
            self.plugin
                .read_lookup(self.platform, record, &response)
                .unwrap_or_else(|e| Existence::Unknown(e.to_string())),
        )
    }

    /// Deletes one asset and forgets it; 1 if it was deleted.
    async fn delete(&mut self, asset: &StoredAsset, why: &str, and_record: bool) -> Result<u64> {
        match self.aiod.delete(&asset.asset_type, &asset.identifier).await {
            Ok(()) => {
                tracing::info!(
                    platform_resource_identifier = %asset.platform_resource_identifier,
                    identifier = %asset.identifier,
                    "deleted from AIoD: {why}"
                );
                self.state.forget_asset(asset, and_record)?;
                Ok(1)
            }
            Err(e) => {
                tracing::error!(
                    platform_resource_identifier = %asset.platform_resource_identifier,
                    "could not delete: {e}"
                );
                Ok(0)
            }
        }
    }
}

/// The fallback for a plugin that cannot look records up: gone only if the
/// complete pass before this one did not list it either.
fn twice_missing(candidate: &Candidate, previous: Option<i64>) -> Existence {
    match previous {
        Some(previous) if candidate.assets.iter().all(|m| m.last_seen_pass < previous) => {
            Existence::Gone(
                "two complete passes in a row did not list it (the plugin cannot look records \
                 up: it was built before contract 0.1.2)"
                    .to_string(),
            )
        }
        _ => Existence::Unknown(
            "the plugin cannot look records up (built before contract 0.1.2); it is deleted if \
             the next complete pass does not list it either"
                .to_string(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: DeletePolicy = DeletePolicy {
        enabled: true,
        max_share: 0.05,
        allow_mass: false,
    };

    #[test]
    fn a_small_share_is_deleted_a_large_one_needs_consent() {
        assert!(permitted(&P, 5, 100).is_ok());
        let err = permitted(&P, 6, 100).unwrap_err();
        assert!(
            err.contains("refusing to delete 6 of 100 assets (6.0%"),
            "{err}"
        );
        assert!(
            permitted(
                &DeletePolicy {
                    allow_mass: true,
                    ..P
                },
                100,
                100
            )
            .is_ok()
        );
        assert!(
            permitted(
                &DeletePolicy {
                    enabled: false,
                    ..P
                },
                100,
                100
            )
            .is_ok()
        );
        assert!(permitted(&P, 0, 0).is_ok());
    }

    fn missing(source: Option<&str>, pid: &str, last_seen: i64) -> MissingAsset {
        MissingAsset {
            asset: StoredAsset {
                asset_type: "datasets".into(),
                platform_resource_identifier: pid.into(),
                identifier: format!("data_{pid}"),
                body_hash: String::new(),
            },
            source_id: source.map(Into::into),
            label: format!("label of {pid}"),
            last_seen_pass: last_seen,
        }
    }

    #[test]
    fn assets_are_asked_about_once_per_record() {
        let groups = by_record(vec![
            missing(Some("r1"), "a", 1),
            missing(Some("r1"), "b", 1),
            missing(Some("r2"), "c", 1),
            missing(None, "d", 0),
            missing(None, "e", 0),
        ]);
        let shape: Vec<(&str, usize)> = groups
            .iter()
            .map(|c| (c.record.id.as_str(), c.assets.len()))
            .collect();
        assert_eq!(shape, [("r1", 2), ("r2", 1), ("d", 1), ("e", 1)]);
        assert_eq!(groups[2].record.label, "label of d");
    }

    #[test]
    fn without_lookups_only_two_missed_passes_delete() {
        let candidate = |last_seen| Candidate {
            record: MissingRecord {
                id: "r".into(),
                label: "r".into(),
            },
            assets: vec![missing(Some("r"), "a", last_seen)],
        };
        // Listed by pass 3, missed by pass 4 (the previous complete one) and 5.
        assert!(matches!(
            twice_missing(&candidate(3), Some(4)),
            Existence::Gone(_)
        ));
        // Listed by pass 4, missed only by this one.
        assert!(matches!(
            twice_missing(&candidate(4), Some(4)),
            Existence::Unknown(_)
        ));
        // No complete pass before this one.
        assert!(matches!(
            twice_missing(&candidate(0), None),
            Existence::Unknown(_)
        ));
    }
}
