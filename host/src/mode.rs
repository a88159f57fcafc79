//! `--mode` / `--value` to a sync mode: pure validation with messages a user can act on.

use crate::model::SyncMode;
use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ModeArg {
    /// Every dataset the platform lists.
    All,
    /// Datasets modified at or after --value (a date or timestamp; UTC unless it has an offset).
    Since,
    /// One dataset, by its platform id (e.g. a Hugging Face repo id) given in --value.
    Id,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ModeError {
    #[error("--mode all takes no --value (got {0:?}); drop --value or use --mode since/id")]
    ValueWithAll(String),
    #[error("--mode {0} needs --value ({1})")]
    MissingValue(&'static str, &'static str),
    #[error(
        "--value {0:?} is not a date or timestamp; use e.g. 2024-01-01, 2024-01-01T12:00 \
         or 2024-01-01T12:00:00+02:00 (UTC unless an offset is given)"
    )]
    BadTimestamp(String),
}

pub fn sync_mode(mode: ModeArg, value: Option<&str>) -> Result<SyncMode, ModeError> {
    match (mode, value) {
        (ModeArg::All, None) => Ok(SyncMode::All),
        (ModeArg::All, Some(v)) => Err(ModeError::ValueWithAll(v.to_string())),
        (ModeArg::Since, None) => Err(ModeError::MissingValue("since", "a date or timestamp")),
        (ModeArg::Since, Some(v)) => parse_since(v).map(SyncMode::Since),
        (ModeArg::Id, None) => Err(ModeError::MissingValue("id", "the dataset's platform id")),
        (ModeArg::Id, Some(v)) if v.trim().is_empty() => {
            Err(ModeError::MissingValue("id", "the dataset's platform id"))
        }
        (ModeArg::Id, Some(v)) => Ok(SyncMode::Id(v.trim().to_string())),
    }
}

/// Accepts RFC 3339, a timestamp without offset (taken as UTC, as the upstream
/// connector does) or a bare date (midnight UTC); returns RFC 3339 in UTC.
pub fn parse_since(value: &str) -> Result<String, ModeError> {
    let v = value.trim();
    let instant: DateTime<Utc> = if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        t.with_timezone(&Utc)
    } else if let Some(t) = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S%.f",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(v, f).ok())
    {
        t.and_utc()
    } else if let Ok(d) = NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc()
    } else {
        return Err(ModeError::BadTimestamp(value.to_string()));
    };
    Ok(instant.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_forms_normalise_to_utc() {
        for (input, expected) in [
            ("2024-01-01", "2024-01-01T00:00:00Z"),
            ("2025-09-30T00:00", "2025-09-30T00:00:00Z"),
            ("2024-01-01T12:30:00.250", "2024-01-01T12:30:00.250Z"),
            ("2024-01-01T02:00:00+02:00", "2024-01-01T00:00:00Z"),
            ("2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z"),
        ] {
            assert_eq!(parse_since(input).as_deref(), Ok(expected), "{input}");
        }
    }

    #[test]
    fn bad_combinations_explain_themselves() {
        assert_eq!(
            sync_mode(ModeArg::All, Some("x")).unwrap_err().to_string(),
            "--mode all takes no --value (got \"x\"); drop --value or use --mode since/id"
        );
        assert_eq!(
            sync_mode(ModeArg::Id, None).unwrap_err().to_string(),
            "--mode id needs --value (the dataset's platform id)"
        );
        assert!(matches!(
            sync_mode(ModeArg::Since, Some("yesterday")),
            Err(ModeError::BadTimestamp(_))
        ));
        assert!(matches!(
            sync_mode(ModeArg::Since, Some("2024-02-30")),
            Err(ModeError::BadTimestamp(_))
        ));
        assert_eq!(
            sync_mode(ModeArg::Id, Some(" a/b ")),
            Ok(SyncMode::Id("a/b".into()))
        );
    }
}
