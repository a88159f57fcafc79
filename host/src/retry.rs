//! When to try a request again and how long to wait first (pure).
//!
//! Retried: 408, 429, 500, 502, 503, 504, timeouts and connection errors.
//! The server's word wins: `Retry-After` (seconds or an HTTP date), or
//! Hugging Face's `RateLimit: "api";r=0;t=<seconds>` (wait until the window
//! resets, plus a second, as huggingface_hub does). Otherwise exponential
//! backoff with jitter. A wait longer than the cap is not waited: the caller
//! stops cleanly instead.

use crate::model::Headers as _;
use http::HeaderName;
use http::header::RETRY_AFTER;
use std::time::{Duration, SystemTime};

/// Hugging Face's rate-limit headers (IETF draft names, not in `http`).
const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");
const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub retries: u32,
    /// The first backoff; doubled per retry.
    pub base: Duration,
    /// The longest backoff of our own choosing.
    pub max_backoff: Duration,
    /// The longest single wait, whoever asks for it; beyond it the sync stops.
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            retries: 5,
            base: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            max_wait: Duration::from_secs(360),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Use this outcome as it is.
    Accept,
    /// Wait, then try again.
    Retry(Duration),
    /// The wait asked for is longer than the cap.
    GiveUp(Duration),
}

pub fn is_retryable(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

/// `retryable`: whether the outcome is worth another try (see `answers`; by
/// default `is_retryable`, and always for a transport failure);
/// `retries_done` counts earlier retries; `jitter` is in [0, 1).
pub fn decide(
    policy: &RetryPolicy,
    retries_done: u32,
    retryable: bool,
    headers: &[(String, String)],
    jitter: f64,
) -> Decision {
    if !retryable || retries_done >= policy.retries {
        return Decision::Accept;
    }
    let asked = retry_after(headers, SystemTime::now()).or_else(|| {
        rate_limit(headers)
            .filter(|(remaining, _)| *remaining == 0)
            .map(|(_, reset)| reset.saturating_add(Duration::from_secs(1)))
    });
    let wait = asked.unwrap_or_else(|| {
        let exp = policy
            .base
            .saturating_mul(2u32.saturating_pow(retries_done));
        exp.min(policy.max_backoff).mul_f64(0.5 + jitter / 2.0)
    });
    if wait > policy.max_wait {
        Decision::GiveUp(wait)
    } else {
        Decision::Retry(wait)
    }
}

/// `Retry-After: 120` or `Retry-After: Wed, 21 Oct 2015 07:28:00 GMT`.
pub fn retry_after(headers: &[(String, String)], now: SystemTime) -> Option<Duration> {
    let value = headers.header(&RETRY_AFTER)?;
    if let Ok(secs) = value.parse::<f64>() {
        // A wait beyond any cap is as good as "very long"; never overflow.
        return Duration::try_from_secs_f64(secs)
            .ok()
            .or(Some(Duration::MAX).filter(|_| secs > 0.0));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    Some(
        SystemTime::from(at)
            .duration_since(now)
            .unwrap_or(Duration::ZERO),
    )
}

/// `RateLimit: "api";r=<remaining>;t=<seconds until reset>` → (remaining, reset).
pub fn rate_limit(headers: &[(String, String)]) -> Option<(u64, Duration)> {
    let value = headers.header(&RATELIMIT)?;
    Some((param(value, "r")?, Duration::from_secs(param(value, "t")?)))
}

/// `RateLimit-Policy: "fixed window";"api";q=<quota>;w=<window seconds>` →
/// (quota, window).
pub fn rate_limit_policy(headers: &[(String, String)]) -> Option<(u64, Duration)> {
    let value = headers.header(&RATELIMIT_POLICY)?;
    Some((param(value, "q")?, Duration::from_secs(param(value, "w")?)))
}

/// The number after `key=` among the `;`-separated parts of a header value.
fn param(value: &str, key: &str) -> Option<u64> {
    value
        .split(';')
        .find_map(|part| match part.trim().split_once('=') {
            Some((k, v)) if k == key => v.trim().parse().ok(),
            _ => None,
        })
}

/// A cheap jitter source: spreading retries needs no cryptographic randomness.
pub fn jitter() -> f64 {
    use std::hash::{BuildHasher, RandomState};
    let n = RandomState::new().hash_one(std::time::Instant::now());
    (n >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    const P: RetryPolicy = RetryPolicy {
        retries: 3,
        base: Duration::from_millis(100),
        max_backoff: Duration::from_millis(250),
        max_wait: Duration::from_secs(10),
    };

    #[test]
    fn only_transient_failures_are_retried() {
        for s in [408, 429, 500, 502, 503, 504] {
            assert!(
                matches!(decide(&P, 0, is_retryable(s), &[], 0.0), Decision::Retry(_)),
                "{s}"
            );
        }
        for s in [200, 400, 401, 403, 404, 409, 412, 422, 501] {
            assert_eq!(
                decide(&P, 0, is_retryable(s), &[], 0.0),
                Decision::Accept,
                "{s}"
            );
        }
        assert!(matches!(decide(&P, 0, true, &[], 0.0), Decision::Retry(_)));
        assert_eq!(decide(&P, 3, true, &[], 0.0), Decision::Accept);
    }

    #[test]
    fn backoff_doubles_with_jitter_and_a_ceiling() {
        assert_eq!(
            decide(&P, 0, is_retryable(500), &[], 0.0),
            Decision::Retry(Duration::from_millis(50))
        );
        assert_eq!(
            decide(&P, 0, is_retryable(500), &[], 1.0),
            Decision::Retry(Duration::from_millis(100))
        );
        assert_eq!(
            decide(&P, 1, is_retryable(500), &[], 1.0),
            Decision::Retry(Duration::from_millis(200))
        );
        assert_eq!(
            decide(&P, 2, is_retryable(500), &[], 1.0),
            Decision::Retry(Duration::from_millis(250))
        );
    }

    #[test]
    fn the_server_decides_the_wait() {
        let ra = h(&[("Retry-After", "3")]);
        assert_eq!(
            decide(&P, 0, is_retryable(429), &ra, 0.0),
            Decision::Retry(Duration::from_secs(3))
        );
        let rl = h(&[
            ("ratelimit", "\"api\";r=0;t=4"),
            ("ratelimit-policy", "\"fixed window\";\"api\";q=500;w=300"),
        ]);
        assert_eq!(
            decide(&P, 0, is_retryable(429), &rl, 0.0),
            Decision::Retry(Duration::from_secs(5))
        );
        let long = h(&[("Retry-After", "3600")]);
        assert_eq!(
            decide(&P, 0, is_retryable(503), &long, 0.0),
            Decision::GiveUp(Duration::from_secs(3600))
        );
    }

    #[test]
    fn header_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_470);
        let date = h(&[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")]);
        assert_eq!(retry_after(&date, now), Some(Duration::from_secs(10)));
        assert_eq!(retry_after(&h(&[("retry-after", "soon")]), now), None);
        assert_eq!(
            retry_after(&h(&[("retry-after", "1e20")]), now),
            Some(Duration::MAX)
        );
        let huge = h(&[("ratelimit", "\"api\";r=0;t=18446744073709551615")]);
        assert!(matches!(
            decide(&P, 0, is_retryable(429), &huge, 0.0),
            Decision::GiveUp(_)
        ));
        assert_eq!(
            rate_limit(&h(&[("RateLimit", "\"api\";r=17;t=42")])),
            Some((17, Duration::from_secs(42)))
        );
        assert_eq!(rate_limit(&h(&[("RateLimit", "garbage")])), None);
        assert_eq!(
            rate_limit_policy(&h(&[(
                "RateLimit-Policy",
                "\"fixed window\";\"api\";q=2500;w=300"
            )])),
            Some((2500, Duration::from_secs(300)))
        );
        assert_eq!(
            rate_limit_policy(&h(&[("RateLimit-Policy", "q=x;w=1")])),
            None
        );
        let j = jitter();
        assert!((0.0..1.0).contains(&j));
    }
}
