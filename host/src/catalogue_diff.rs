//! What replacing one plugin by another would do to the whole catalogue,
//! judged on every stored payload (`plugin diff OLD NEW --state`), and whether
//! a new plugin may take over from the running one (`serve`'s swaps). Each
//! record is mapped from what its last mapping was made from: no request.

use crate::model::{RecordError, SourceRecord};
use crate::payload::Payload;
use crate::plugin::Plugin;
use crate::state::State;
use anyhow::Result;
use serde_json::Value;
use std::collections::BTreeMap;

/// Stored records read per query.
const CHUNK: usize = 1000;
/// Records whose field-level differences are shown.
const SAMPLES: usize = 5;

/// What a plugin makes of one record.
#[derive(Debug, Clone, PartialEq)]
pub enum Made {
    /// Bodies by asset type and platform id.
    Assets(BTreeMap<(String, String), Value>),
    Skipped(String),
    Failed(String),
}

/// Maps one stored record; a trap or a broken plugin is a failure of that record.
pub fn make(plugin: &mut Plugin, platform: &str, payload: &Payload) -> Made {
    match plugin.map_record(platform, &payload.record, &payload.answers()) {
        Ok(Ok(mapped)) => Made::Assets(
            mapped
                .assets
                .into_iter()
                .map(|a| ((a.asset_type, a.platform_resource_identifier), a.body))
                .collect(),
        ),
        Ok(Err(RecordError::Skip(reason))) => Made::Skipped(reason),
        Ok(Err(e)) => Made::Failed(e.to_string()),
        Err(e) => Made::Failed(e.to_string()),
    }
}

/// The differences over a catalogue.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Diff {
    pub records: u64,
    /// Assets both plugins make, with different bodies.
    pub changed: u64,
    /// Assets only the new plugin makes.
    pub created: u64,
    /// Assets only the old plugin makes.
    pub vanished: u64,
    /// Records the old plugin maps (or skips) and the new one fails.
    pub newly_failed: u64,
    /// Records the old plugin maps (or fails) and the new one skips.
    pub newly_skipped: u64,
    /// Changed assets per field (array positions folded into `[]`).
    pub fields: BTreeMap<String, u64>,
    /// A few records' differences, for people to read.
    pub samples: Vec<(String, Vec<String>)>,
}

impl Diff {
    pub fn is_empty(&self) -> bool {
        self.changed + self.created + self.vanished + self.newly_failed + self.newly_skipped == 0
    }

    /// Adds what the two plugins make of one record.
    pub fn add(&mut self, record: &SourceRecord, old: &Made, new: &Made) {
        self.records += 1;
        let mut lines = Vec::new();
        match (old, new) {
            (Made::Assets(a), Made::Assets(b)) => {
                for (key, before) in a {
                    match b.get(key) {
                        None => {
                            self.vanished += 1;
                            lines.push(format!("{} {}: only OLD makes it", key.0, key.1));
                        }
                        Some(after) => {
                            let diffs = crate::jsondiff::differences("body", before, after);
                            if diffs.is_empty() {
                                continue;
                            }
                            self.changed += 1;
                            let mut fields: Vec<String> = diffs.iter().map(|d| field(d)).collect();
                            fields.dedup();
                            for f in fields {
                                *self.fields.entry(f).or_default() += 1;
                            }
                            lines.extend(diffs);
                        }
                    }
                }
                for key in b.keys().filter(|k| !a.contains_key(*k)) {
                    self.created += 1;
                    lines.push(format!("{} {}: only NEW makes it", key.0, key.1));
                }
            }
            (Made::Failed(_), Made::Failed(_)) | (Made::Skipped(_), Made::Skipped(_)) => {}
            (_, Made::Failed(e)) => {
                self.newly_failed += 1;
                lines.push(format!("NEW fails: {e}"));
            }
            (_, Made::Skipped(why)) => {
                self.newly_skipped += 1;
                lines.push(format!("NEW skips: {why}"));
            }
            (_, Made::Assets(b)) => {
                self.created += b.len() as u64;
                lines.push(format!("NEW maps it: {} asset(s)", b.len()));
            }
        }
        if !lines.is_empty() && self.samples.len() < SAMPLES {
            self.samples
                .push((format!("{} ({})", record.label, record.id), lines));
        }
    }

    /// The report `plugin diff --state` prints.
    pub fn report(&self) -> Vec<String> {
        let mut out = vec![format!(
            "{} records: {} assets would change, {} be created, {} vanish; {} records newly fail, {} newly skip",
            self.records,
            self.changed,
            self.created,
            self.vanished,
            self.newly_failed,
            self.newly_skipped
        )];
        let mut fields: Vec<_> = self.fields.iter().collect();
        fields.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        out.extend(fields.iter().map(|(f, n)| format!("  {n:>8}  {f}")));
        for (label, lines) in &self.samples {
            out.push(format!("{label}:"));
            out.extend(lines.iter().map(|l| format!("    {l}")));
        }
        out
    }
}

/// `body.distribution[2].name: "a" → "b"` → `body.distribution[].name`.
fn field(difference: &str) -> String {
    let path = difference.split(": ").next().unwrap_or(difference);
    let mut out = String::with_capacity(path.len());
    let mut in_index = false;
    for c in path.chars() {
        match c {
            '[' => {
                in_index = true;
                out.push('[');
            }
            ']' => {
                in_index = false;
                out.push(']');
            }
            _ if in_index => {}
            c => out.push(c),
        }
    }
    out
}

/// Every stored record, in chunks, as `each(record's payload)`.
fn each_stored(state: &State, mut each: impl FnMut(&str, &Payload)) -> Result<()> {
    let mut after = String::new();
    loop {
        let chunk = state.stored_payloads(&after, CHUNK)?;
        let Some((last, _)) = chunk.last() else {
            return Ok(());
        };
        after = last.clone();
        for (id, payload) in &chunk {
            each(id, payload);
        }
    }
}

/// `plugin diff OLD NEW --state`.
pub fn over_state(state: &State, old: &mut Plugin, new: &mut Plugin) -> Result<Diff> {
    let platform = old.info().platform.clone();
    let mut diff = Diff::default();
    each_stored(state, |_, payload| {
        let before = make(old, &platform, payload);
        let after = make(new, &platform, payload);
        diff.add(&payload.record, &before, &after);
    })?;
    Ok(diff)
}

/// How a new plugin does on the records the running one maps.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Judgement {
    /// Stored records the running plugin mapped (not skipped, not failed).
    pub mapped: u64,
    pub failed: u64,
    pub skipped: u64,
}

impl Judgement {
    /// The share of `mapped` the new plugin fails or skips.
    pub fn share(&self) -> f64 {
        match self.mapped {
            0 => 0.0,
            n => (self.failed + self.skipped) as f64 / n as f64,
        }
    }
}

impl std::fmt::Display for Judgement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "of the {} stored records the running plugin maps, the new one fails {} and skips {} ({:.1}%)",
            self.mapped,
            self.failed,
            self.skipped,
            100.0 * self.share()
        )
    }
}

/// Maps every stored record the running plugin mapped with `new`.
pub fn judge(state: &State, new: &mut Plugin, platform: &str) -> Result<Judgement> {
    let mapped = state.mapped_ids()?;
    let mut j = Judgement::default();
    each_stored(state, |id, payload| {
        if !mapped.contains(id) {
            return;
        }
        j.mapped += 1;
        match make(new, platform, payload) {
            Made::Assets(_) => {}
            Made::Skipped(_) => j.skipped += 1,
            Made::Failed(_) => j.failed += 1,
        }
    })?;
    Ok(j)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record() -> SourceRecord {
        SourceRecord {
            id: "r1".into(),
            label: "org/data".into(),
            version: "v".into(),
            data: "{}".into(),
            follow_ups: vec![],
        }
    }

    fn assets(body: Value) -> Made {
        Made::Assets(BTreeMap::from([(("datasets".into(), "r1".into()), body)]))
    }

    #[test]
    fn changed_fields_are_counted_once_per_asset_with_positions_folded() {
        let mut d = Diff::default();
        let old = assets(json!({"name": "a", "keyword": ["x", "y"]}));
        let new = assets(json!({"name": "b", "keyword": ["z", "w"]}));
        d.add(&record(), &old, &new);
        d.add(&record(), &old, &old);
        assert_eq!((d.records, d.changed), (2, 1));
        assert_eq!(
            d.fields,
            BTreeMap::from([("body.keyword[]".into(), 1), ("body.name".into(), 1)])
        );
        assert_eq!(d.samples.len(), 1);
        assert!(!d.is_empty());
    }

    #[test]
    fn failures_skips_creations_and_vanishings_are_told_apart() {
        let mut d = Diff::default();
        let some = assets(json!({"name": "a"}));
        d.add(&record(), &some, &Made::Failed("boom".into()));
        d.add(&record(), &some, &Made::Skipped("private".into()));
        d.add(
            &record(),
            &Made::Failed("x".into()),
            &Made::Failed("y".into()),
        );
        d.add(&record(), &some, &Made::Assets(BTreeMap::new()));
        d.add(&record(), &Made::Skipped("private".into()), &some);
        assert_eq!(
            (d.newly_failed, d.newly_skipped, d.vanished, d.created),
            (1, 1, 1, 1)
        );
        assert_eq!(
            d.report()[0],
            "5 records: 0 assets would change, 1 be created, 1 vanish; 1 records newly fail, 1 newly skip"
        );
    }

    #[test]
    fn a_judgement_is_a_share_of_what_the_running_plugin_maps() {
        let j = Judgement {
            mapped: 200,
            failed: 3,
            skipped: 1,
        };
        assert_eq!(j.share(), 0.02);
        assert_eq!(Judgement::default().share(), 0.0);
        assert!(j.to_string().ends_with("fails 3 and skips 1 (2.0%)"));
    }
}
