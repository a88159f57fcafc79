//! Whatever a flag, a config file or a server says, the host answers with a
//! value or a clear error, never a panic: the readers of durations, counts
//! and times over extreme and arbitrary input.

use crate::budget::Limiter;
use crate::retry::{RetryPolicy, decide, rate_limit, rate_limit_policy, retry_after};
use crate::schedule::Schedule;
use chrono::{DateTime, Utc};
use proptest::prelude::*;
use std::time::{Duration, SystemTime};

/// Numbers as operators and hostile servers write them: huge, zero,
/// negative, fractional, exponents, garbage.
fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<u64>().prop_map(|n| n.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|n| n.to_string()),
        Just("18446744073709551616".to_string()),
        Just("1e400".to_string()),
        Just("-0".to_string()),
        Just("NaN".to_string()),
        Just("inf".to_string()),
        "[0-9.eE+-]{0,24}",
        ".{0,12}",
    ]
}

fn headers(name: &str, value: String) -> Vec<(String, String)> {
    vec![(name.to_string(), value)]
}

proptest! {
    #[test]
    fn duration_flags_give_a_duration_or_an_error(n in number(), unit in "(|ms|s|m|h|d|x)") {
        if let Ok(d) = crate::cli::parse_period(&format!("{n}{unit}")) {
            prop_assert!(!d.is_zero());
            // Every use of a duration flag: the next start of `serve`.
            let now = Utc::now();
            let _ = Schedule::Every(d).next(now, now);
        }
    }

    #[test]
    fn budget_flags_give_a_budget_or_an_error(n in number(), secs in number()) {
        if let Ok((_, (requests, window))) = crate::cli::parse_budget(&format!("hub={n}/{secs}")) {
            prop_assert!(requests > 0 && !window.is_zero());
            prop_assert!(window <= Duration::from_secs(86_400));
        }
    }

    #[test]
    fn a_schedule_never_overflows_the_calendar(secs in any::<u64>(), at in any::<i64>()) {
        let started = DateTime::<Utc>::from_timestamp(at % 253_402_300_799, 0).unwrap_or(DateTime::<Utc>::MAX_UTC);
        let next = Schedule::Every(Duration::from_secs(secs)).next(started, started);
        prop_assert!(next >= started);
    }

    #[test]
    fn server_wait_headers_are_read_or_ignored(value in number(), t in number(), r in number()) {
        let now = SystemTime::now();
        let _ = retry_after(&headers("retry-after", value.clone()), now);
        let limit = headers("ratelimit", format!("\"api\";r={r};t={t}"));
        let _ = rate_limit(&limit);
        let policy = headers("ratelimit-policy", format!("\"fixed window\";\"api\";q={r};w={t}"));
        let _ = rate_limit_policy(&policy);
        for h in [headers("retry-after", value), limit.clone(), policy.clone()] {
            let _ = decide(&RetryPolicy::default(), 0, true, &h, 0.5);
        }
        // The budget adopts them without overflowing its clock.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        runtime.block_on(async {
            let l = Limiter::new("hub", 2, Duration::from_secs(300), false);
            l.observe(&limit).await;
            l.observe(&policy).await;
            let _ = l.acquire(Duration::ZERO).await;
        });
    }

    #[test]
    fn keycloak_lifetimes_never_overflow_the_clock(expires_in in proptest::option::of(any::<u64>())) {
        let lifetime = crate::aiod::auth::lifetime(expires_in);
        prop_assert!(std::time::Instant::now().checked_add(lifetime).is_some());
    }

    #[test]
    fn config_timeouts_are_usable_or_refused(n in number()) {
        if let Ok(config) = crate::config::file::parse(&format!("request_timeout_seconds = {n}\n")) {
            let secs = config.request_timeout_seconds.unwrap_or(1.0);
            prop_assert!(Duration::try_from_secs_f64(secs).is_ok_and(|d| !d.is_zero()));
        }
    }
}

#[test]
fn the_values_from_the_field_reports_are_errors_not_panics() {
    // `serve --every 100000000000d` panicked in the schedule.
    let every = crate::cli::parse_period("100000000000d").unwrap();
    let now = Utc::now();
    assert_eq!(
        Schedule::Every(every).next(now, now),
        DateTime::<Utc>::MAX_UTC
    );
    assert!(
        crate::cli::parse_period("0s")
            .unwrap_err()
            .contains("longer than zero")
    );
    assert!(crate::cli::parse_budget("hub=10/1e400").is_err());
    assert!(crate::config::file::parse("request_timeout_seconds = 1e300\n").is_err());
    // A Keycloak answering a huge expires_in panicked in std::time.
    assert_eq!(
        crate::aiod::auth::lifetime(Some(u64::MAX)),
        Duration::from_secs(86_400)
    );
}
