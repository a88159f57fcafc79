//! Deletes from AIoD, only of what the source confirms.
//!
//! After a complete `all` pass, the assets whose record the pass did not list
//! are candidates, never more: a listing can miss a live record (the Hub's
//! default order moves while a pass runs). The plugin looks each such record
//! up (contract 0.1.2); only a confirmed absence deletes, "exists" keeps the
//! assets, and "can't tell" keeps them until the next complete pass. Where
//! the plugin cannot be asked (built before lookups existed, or it cannot
//! look this record up), and for an asset found in AIoD that this host never
//! listed (looked up by a name someone may have edited), only what two
//! complete passes in a row did not list is deleted. Records the plugin now
//! skips (private, disabled) have their assets withdrawn after any sync.
//! Never after an incomplete pass (the caller only passes a completed one),
//! never more than a share of the platform per run without consent.

use crate::aiod::client::Aiod;
use crate::model::{Existence, MissingRecord};
use crate::plugin::{CallError, Plugin};
use crate::state::{MissingAsset, PassKind, State, StoredAsset};
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
    /// How large a lookup's answer may be.
    pub limit: crate::fetch::BodyLimit,
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
                    listed: m.source_id.is_some(),
                },
                assets: vec![m],
            }),
        }
    }
    out
}

impl<T: Transport> Deletes<'_, T> {
    /// After the complete pass `pass_id`: deletes the assets of the records
    /// it did not list whose absence is confirmed. Returns how many assets
    /// were deleted.
    pub async fn confirmed_gone(&mut self, pass_id: i64) -> Result<u64> {
        if !self.policy.enabled {
            return Ok(0);
        }
        let missing = self.state.missing_assets(pass_id)?;
        // Judged before any lookup: a broken listing must not cost a lookup per asset.
        if !self.permitted(missing.len(), 0)? {
            return Ok(0);
        }
        let candidates = by_record(missing);
        let previous = self.state.previous_complete_pass(PassKind::All, pass_id)?;
        let (mut deleted, mut exist, mut unknown) = (0, 0, 0);
        for candidate in candidates {
            let asked = if self.plugin.can_look_up() {
                match self.look_up(&candidate.record).await {
                    Some(asked) => Some(asked),
                    None => {
                        tracing::warn!(
                            "stopped confirming deletes: the request budget asks for a longer \
                             wait than the cap; the rest are kept until the next complete pass"
                        );
                        break;
                    }
                }
            } else {
                None
            };
            let (id, label) = (&candidate.record.id, &candidate.record.label);
            match judge(&candidate, asked, previous) {
                Existence::Gone(why) => deleted += self.delete_record(&candidate, &why).await?,
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
    /// (it no longer publishes them, e.g. they became private), within what
    /// the run may still delete after `deleted_before`. Returns how many were
    /// deleted.
    pub async fn skipped(&mut self, deleted_before: u64) -> Result<u64> {
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
        if !self.permitted(skipped.len(), deleted_before)? {
            return Ok(0);
        }
        let mut deleted = 0;
        for (asset, label) in skipped {
            let why = format!("the plugin no longer publishes {label:?} (it skips the record)");
            deleted += self.delete(&asset, &why).await?;
        }
        Ok(deleted)
    }

    /// Whether deleting `more` assets after `so_far` keeps this run within the
    /// policy (logs why not): the share allowed is per run.
    fn permitted(&self, more: usize, so_far: u64) -> Result<bool> {
        let so_far = usize::try_from(so_far).unwrap_or(usize::MAX);
        let total = self.state.asset_count()?;
        match permitted(&self.policy, more.saturating_add(so_far), total) {
            Ok(()) => Ok(true),
            Err(refusal) => {
                tracing::warn!("{refusal}");
                Ok(false)
            }
        }
    }

    /// Asks the platform about a missing record; `None` when the budget asks
    /// for a wait beyond the cap.
    async fn look_up(&mut self, record: &MissingRecord) -> Option<Asked> {
        let request = match self.plugin.lookup(self.platform, record) {
            Ok(Some(request)) => request,
            Ok(None) => unreachable!("only called for plugins that look up"),
            Err(CallError::Refused(why)) => return Some(Asked::CannotAsk(why)),
            Err(broken) => return Some(Asked::CannotAsk(broken.to_string())),
        };
        let what = format!("lookup of {:?}, missing from the listing", record.label);
        let answers = self.plugin.answers().clone();
        let response = match self
            .transport
            .get(&request, &what, &answers, self.limit)
            .await
        {
            Ok(response) => response,
            // The plugin decides what no answer means, as for follow-ups.
            Err(Failure::Unreachable(why)) => crate::model::Response {
                status: 0,
                headers: Vec::new(),
                body: why.into_bytes(),
            },
            Err(Failure::Refused(why) | Failure::TooLarge(why)) => {
                return Some(Asked::Answer(Existence::Unknown(why)));
            }
            Err(Failure::Paused(_)) => return None,
        };
        Some(Asked::Answer(
            self.plugin
                .read_lookup(self.platform, record, &response)
                .unwrap_or_else(|e| Existence::Unknown(e.to_string())),
        ))
    }

    /// Deletes a gone record's assets; once all are, the state forgets the
    /// record too. Returns how many were deleted.
    async fn delete_record(&mut self, candidate: &Candidate, why: &str) -> Result<u64> {
        let mut deleted = 0;
        for m in &candidate.assets {
            deleted += self.delete(&m.asset, why).await?;
        }
        if let Some(source_id) = &candidate.assets[0].source_id {
            self.state.forget_record(source_id)?;
        }
        Ok(deleted)
    }

    /// Deletes one asset and forgets it; 1 if it was deleted.
    async fn delete(&mut self, asset: &StoredAsset, why: &str) -> Result<u64> {
        match self.aiod.delete(&asset.asset_type, &asset.identifier).await {
            Ok(()) => {
                tracing::info!(
                    platform_resource_identifier = %asset.platform_resource_identifier,
                    identifier = %asset.identifier,
                    "deleted from AIoD: {why}"
                );
                self.state.forget_asset(asset)?;
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

/// What asking the plugin about a missing record gave.
enum Asked {
    /// The platform's answer, as the plugin reads it.
    Answer(Existence),
    /// The plugin cannot look this record up (e.g. no name is known for it).
    CannotAsk(String),
}

/// Whether a missing record is gone: the platform's word (`asked`; `None`
/// for a plugin without lookups), held to two complete passes in a row
/// (`previous` is the complete pass before this one) where the plugin cannot
/// be asked, and where a "gone" is about an asset this host never listed.
fn judge(candidate: &Candidate, asked: Option<Asked>, previous: Option<i64>) -> Existence {
    let missed_twice = previous
        .is_some_and(|previous| candidate.assets.iter().all(|m| m.last_seen_pass < previous));
    let (why, wait) = match asked {
        Some(Asked::Answer(Existence::Gone(why))) if !candidate.record.listed => (
            format!("{why}; it was never listed by this host"),
            "the source says it is gone, but this host never listed it (its name in AIoD may \
             not be the source's)"
                .to_string(),
        ),
        Some(Asked::Answer(answer)) => return answer,
        Some(Asked::CannotAsk(why)) => (why.clone(), format!("it cannot be looked up ({why})")),
        None => {
            let why = "the plugin cannot look records up (built before contract 0.1.2)";
            (why.to_string(), why.to_string())
        }
    };
    if missed_twice {
        Existence::Gone(format!(
            "two complete passes in a row did not list it ({why})"
        ))
    } else {
        Existence::Unknown(format!(
            "{wait}; it is deleted if the next complete pass does not list it either"
        ))
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

    fn candidate(source: Option<&str>, last_seen: i64) -> Candidate {
        by_record(vec![missing(source, "a", last_seen)]).remove(0)
    }

    fn gone(e: &Existence) -> bool {
        matches!(e, Existence::Gone(_))
    }

    #[test]
    fn without_lookups_only_two_missed_passes_delete() {
        // Listed by pass 3, missed by pass 4 (the previous complete one) and 5.
        assert!(gone(&judge(&candidate(Some("r"), 3), None, Some(4))));
        // Listed by pass 4, missed only by this one.
        assert!(!gone(&judge(&candidate(Some("r"), 4), None, Some(4))));
        // No complete pass before this one.
        assert!(!gone(&judge(&candidate(Some("r"), 0), None, None)));
        // The plugin cannot look this one up: the same rule.
        let cannot = || Some(Asked::CannotAsk("no name".into()));
        assert!(!gone(&judge(&candidate(Some("r"), 4), cannot(), Some(4))));
        assert!(gone(&judge(&candidate(Some("r"), 3), cannot(), Some(4))));
    }

    #[test]
    fn the_sources_word_decides_for_a_listed_record_only() {
        let answer = |e: Existence| Some(Asked::Answer(e));
        let listed = candidate(Some("r"), 4);
        let said_gone = || answer(Existence::Gone("404".into()));
        assert!(gone(&judge(&listed, said_gone(), Some(4))));
        assert_eq!(
            judge(&listed, answer(Existence::Exists), Some(3)),
            Existence::Exists
        );
        // Never listed (found in AIoD): "gone" needs a second complete pass too.
        let imported = candidate(None, 0);
        let first = judge(&imported, said_gone(), None);
        assert!(
            matches!(&first, Existence::Unknown(w) if w.contains("never listed")),
            "{first:?}"
        );
        assert!(gone(&judge(&imported, said_gone(), Some(1))));
        assert_eq!(
            judge(&imported, answer(Existence::Exists), Some(1)),
            Existence::Exists
        );
    }
}
