//! What a sync did: the events it counts, and the summary they add up to
//! (the last line of a run, `--summary-json`, the progress display). The
//! `/metrics` counters are fed by the same events (`Tally`).

use crate::progress::Progress;
use serde::Serialize;

/// One thing a sync counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Records listed on a page.
    Seen(u64),
    Created,
    Updated,
    Unchanged,
    /// `--dry-run`: printed instead of uploaded.
    Printed,
    Skipped,
    Failed,
    /// AIoD holds the record's asset but does not show it (a draft).
    Unpublished,
    Deleted(u64),
    Page,
    Warning,
}

impl Event {
    /// The `/metrics` outcome label and how many, for the events it counts.
    fn metric(self) -> Option<(&'static str, u64)> {
        match self {
            Event::Seen(n) => Some(("seen", n)),
            Event::Created => Some(("created", 1)),
            Event::Updated => Some(("updated", 1)),
            Event::Unchanged => Some(("unchanged", 1)),
            Event::Skipped => Some(("skipped", 1)),
            Event::Failed => Some(("failed", 1)),
            Event::Unpublished => Some(("unpublished", 1)),
            Event::Deleted(n) => Some(("deleted", n)),
            Event::Printed | Event::Page | Event::Warning => None,
        }
    }
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
    pub unpublished: u64,
    pub deleted: u64,
    pub pages: u64,
    pub warnings: u64,
}

impl Summary {
    pub fn add(&mut self, event: Event) {
        match event {
            Event::Seen(n) => self.seen += n,
            Event::Created => self.created += 1,
            Event::Updated => self.updated += 1,
            Event::Unchanged => self.unchanged += 1,
            Event::Printed => self.printed += 1,
            Event::Skipped => self.skipped += 1,
            Event::Failed => self.failed += 1,
            Event::Unpublished => self.unpublished += 1,
            Event::Deleted(n) => self.deleted += n,
            Event::Page => self.pages += 1,
            Event::Warning => self.warnings += 1,
        }
    }

    /// Adds the event, and counts it in `/metrics`.
    pub fn record(&mut self, event: Event) {
        self.add(event);
        if let Some((outcome, n)) = event.metric() {
            crate::metrics::record_outcome(outcome, n);
        }
    }

    /// Records handled so far: what the progress display counts.
    pub fn done(&self) -> u64 {
        self.created
            + self.updated
            + self.unchanged
            + self.printed
            + self.skipped
            + self.failed
            + self.unpublished
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "seen {}, created {}, updated {}, unchanged {}, skipped {}, failed {}",
            self.seen, self.created, self.updated, self.unchanged, self.skipped, self.failed
        )?;
        if self.unpublished > 0 {
            write!(f, ", unpublished {}", self.unpublished)?;
        }
        if self.deleted > 0 {
            write!(f, ", deleted {}", self.deleted)?;
        }
        if self.printed > 0 {
            write!(f, ", printed {}", self.printed)?;
        }
        write!(f, " ({} pages, {} warnings)", self.pages, self.warnings)
    }
}

/// Where a sync's events go: the summary, the `/metrics` counters and the
/// progress display.
pub struct Tally {
    pub summary: Summary,
    progress: Progress,
}

impl Tally {
    pub fn new(progress: Progress) -> Tally {
        Tally {
            summary: Summary::default(),
            progress,
        }
    }

    pub fn add(&mut self, event: Event) {
        self.summary.record(event);
        self.progress.update(&self.summary);
    }

    /// What the sync did; the progress display is cleared.
    pub fn finish(self) -> Summary {
        self.summary
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_add_up_to_the_summary_line() {
        let mut s = Summary::default();
        for e in [
            Event::Seen(3),
            Event::Page,
            Event::Created,
            Event::Unchanged,
            Event::Failed,
            Event::Warning,
            Event::Deleted(2),
        ] {
            s.add(e);
        }
        assert_eq!(
            s.to_string(),
            "seen 3, created 1, updated 0, unchanged 1, skipped 0, failed 1, deleted 2 (1 pages, 1 warnings)"
        );
        assert_eq!(s.done(), 3);
    }
}
