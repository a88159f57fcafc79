//! When `serve` runs its next sync: every so long, or at the times a cron
//! expression names (pure).

use chrono::{DateTime, Utc};
use std::str::FromStr;
use std::time::Duration;

#[derive(Debug, Clone)]
pub enum Schedule {
    /// Starts this long after the previous start.
    Every(Duration),
    /// At the next time the expression matches (UTC; 5 fields, or 6 with seconds).
    Cron(Box<croner::Cron>),
}

impl Schedule {
    pub fn cron(expr: &str) -> Result<Schedule, String> {
        croner::Cron::from_str(expr)
            .map(|c| Schedule::Cron(Box::new(c)))
            .map_err(|e| format!("not a cron expression ({e}); e.g. \"0 * * * *\" for hourly"))
    }

    /// The next start after a run that started at `started` and ended at `now`.
    pub fn next(&self, started: DateTime<Utc>, now: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            // A start beyond the calendar's end is "never".
            Schedule::Every(d) => chrono::Duration::from_std(*d)
                .ok()
                .and_then(|d| started.checked_add_signed(d))
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
            // A run that overran its slot starts at the next one, never at once.
            Schedule::Cron(c) => c
                .find_next_occurrence(&now.max(started), false)
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Schedule::Every(d) => format!("every {d:?}"),
            Schedule::Cron(c) => format!("cron \"{}\" (UTC)", c.pattern),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn every_counts_from_the_previous_start() {
        let s = Schedule::Every(Duration::from_secs(3600));
        assert_eq!(
            s.next(at("2026-01-01T10:00:00Z"), at("2026-01-01T10:20:00Z")),
            at("2026-01-01T11:00:00Z")
        );
    }

    #[test]
    fn cron_takes_the_next_match_after_the_run() {
        let s = Schedule::cron("0 * * * *").unwrap();
        assert_eq!(
            s.next(at("2026-01-01T10:00:00Z"), at("2026-01-01T10:20:00Z")),
            at("2026-01-01T11:00:00Z")
        );
        // An overrun skips the missed slot instead of starting at once.
        assert_eq!(
            s.next(at("2026-01-01T10:00:00Z"), at("2026-01-01T11:30:00Z")),
            at("2026-01-01T12:00:00Z")
        );
        let daily = Schedule::cron("30 2 * * *").unwrap();
        assert_eq!(
            daily.next(at("2026-01-01T10:00:00Z"), at("2026-01-01T10:00:05Z")),
            at("2026-01-02T02:30:00Z")
        );
    }

    #[test]
    fn a_bad_expression_says_what_is_expected() {
        let e = Schedule::cron("every hour").unwrap_err();
        assert!(e.contains("not a cron expression"), "{e}");
        assert!(e.contains("0 * * * *"), "{e}");
    }
}
