//! A request budget per endpoint: at most N requests per fixed window, as
//! Hugging Face counts them. A server's `RateLimit` header (remaining, reset)
//! corrects our count, so several processes sharing a quota still stay in it;
//! its `RateLimit-Policy` (quota, window) replaces the budget itself, up or
//! down, unless an operator set one (hub-docs `rate-limits.md`: the Hub sends
//! both on every answer; PRO, Team and Enterprise accounts get larger quotas
//! than the free one the plugin documents).
//!
//! Hand-written rather than `governor` or a token bucket: the budget must count
//! fixed windows the way the server does and be corrected by the server's own
//! counts mid-window, which those crates have no way to take.

use crate::retry::{rate_limit, rate_limit_policy};
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// The longest window or reset the host believes; a server claiming more
/// (or an absurd number) is taken at this, and the wait cap stops the sync.
const LONGEST: Duration = Duration::from_secs(24 * 3600);

#[derive(Debug)]
pub struct Limiter {
    /// The endpoint, for the log.
    name: String,
    /// Set by the operator (`--budget`): the server's policy does not change it.
    pinned: bool,
    state: Mutex<Window>,
}

#[derive(Debug)]
struct Window {
    requests: u32,
    window: Duration,
    ends: Instant,
    remaining: u32,
}

/// `now + d`, never overflowing.
fn after(d: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(d.min(LONGEST)).unwrap_or(now)
}

impl Limiter {
    pub fn new(name: &str, requests: u32, window: Duration, pinned: bool) -> Limiter {
        let requests = requests.max(1);
        Limiter {
            name: name.to_string(),
            pinned,
            state: Mutex::new(Window {
                requests,
                window: window.min(LONGEST),
                ends: after(window),
                remaining: requests,
            }),
        }
    }

    /// Takes one request from the budget, waiting for the next window if it is
    /// spent. Returns how long it waited, or, without waiting, how long it
    /// would have to wait when that is beyond `cap`. Checking and taking are
    /// one step: tasks that all saw room left must not all sleep a window.
    pub async fn acquire(&self, cap: Duration) -> Result<Duration, Duration> {
        let started = Instant::now();
        loop {
            let wait = {
                let mut w = self.state.lock().await;
                let now = Instant::now();
                if now >= w.ends {
                    w.ends = after(w.window);
                    w.remaining = w.requests;
                }
                if w.remaining > 0 {
                    w.remaining -= 1;
                    return Ok(started.elapsed());
                }
                w.ends - now
            };
            if wait > cap {
                return Err(wait);
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// Adopts the server's count and, unless pinned, its policy.
    pub async fn observe(&self, headers: &[(String, String)]) {
        let mut w = self.state.lock().await;
        if let Some((quota, window)) = rate_limit_policy(headers).filter(|_| !self.pinned) {
            let quota = u32::try_from(quota).unwrap_or(u32::MAX);
            let window = window.min(LONGEST);
            if quota > 0 && !window.is_zero() && (quota, window) != (w.requests, w.window) {
                tracing::info!(
                    "endpoint {}: the server's RateLimit-Policy sets the budget to {quota} \
                     requests per {}s (was {} per {}s)",
                    self.name,
                    window.as_secs(),
                    w.requests,
                    w.window.as_secs()
                );
                // What is left of this window grows or shrinks with the quota.
                let used = w.requests.saturating_sub(w.remaining);
                w.requests = quota;
                w.window = window;
                w.remaining = quota.saturating_sub(used);
                w.ends = w.ends.min(after(window));
            }
        }
        if let Some((remaining, reset)) = rate_limit(headers) {
            w.remaining = w
                .remaining
                .min(u32::try_from(remaining).unwrap_or(u32::MAX));
            w.ends = after(reset);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    const HOUR: Duration = Duration::from_secs(3600);

    #[tokio::test(start_paused = true)]
    async fn waits_for_the_next_window_when_spent() {
        let l = Limiter::new("hub", 2, Duration::from_secs(10), false);
        assert_eq!(l.acquire(HOUR).await.unwrap(), Duration::ZERO);
        assert_eq!(l.acquire(HOUR).await.unwrap(), Duration::ZERO);
        let waited = l.acquire(HOUR).await.unwrap();
        assert!(waited >= Duration::from_secs(9), "{waited:?}");
    }

    /// Regression: concurrent requests that all saw one slot left took it one
    /// after the other, and all but the first slept a whole window (minutes)
    /// although the wait cap says to pause the sync instead.
    #[tokio::test(start_paused = true)]
    async fn requests_racing_for_the_last_slot_never_wait_beyond_the_cap() {
        let l = std::sync::Arc::new(Limiter::new("hub", 1, Duration::from_secs(300), true));
        let tries: Vec<_> = (0..8)
            .map(|_| {
                let l = l.clone();
                tokio::spawn(async move { l.acquire(Duration::from_secs(5)).await })
            })
            .collect();
        let started = Instant::now();
        let mut taken = 0;
        for t in tries {
            match t.await.unwrap() {
                Ok(waited) => {
                    assert_eq!(waited, Duration::ZERO);
                    taken += 1;
                }
                Err(wait) => assert!(wait > Duration::from_secs(5), "{wait:?}"),
            }
        }
        assert_eq!(taken, 1);
        assert_eq!(started.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn the_servers_count_wins() {
        let l = Limiter::new("hub", 100, Duration::from_secs(300), false);
        l.observe(&headers(&[("ratelimit", "\"api\";r=0;t=5")]))
            .await;
        let waited = l.acquire(HOUR).await.unwrap();
        assert!(
            waited >= Duration::from_secs(5) && waited < Duration::from_secs(6),
            "{waited:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_servers_policy_sets_the_budget_unless_pinned() {
        let policy = headers(&[
            ("ratelimit", "\"api\";r=3;t=60"),
            ("ratelimit-policy", "\"fixed window\";\"api\";q=4;w=60"),
        ]);
        let l = Limiter::new("hub", 2, Duration::from_secs(300), false);
        assert_eq!(l.acquire(HOUR).await.unwrap(), Duration::ZERO);
        l.observe(&policy).await;
        for _ in 0..3 {
            assert_eq!(l.acquire(HOUR).await.unwrap(), Duration::ZERO);
        }
        let waited = l.acquire(HOUR).await.unwrap();
        assert!(
            waited >= Duration::from_secs(59) && waited <= Duration::from_secs(60),
            "{waited:?}"
        );

        let pinned = Limiter::new("hub", 2, Duration::from_secs(300), true);
        pinned.acquire(HOUR).await.unwrap();
        pinned.observe(&policy).await;
        pinned.acquire(HOUR).await.unwrap();
        assert!(pinned.acquire(HOUR).await.unwrap() >= Duration::from_secs(59));
    }

    #[tokio::test(start_paused = true)]
    async fn absurd_numbers_neither_panic_nor_stop_the_budget_for_ever() {
        let l = Limiter::new("hub", 2, Duration::MAX, false);
        l.observe(&headers(&[
            ("ratelimit", "\"api\";r=0;t=18446744073709551615"),
            (
                "ratelimit-policy",
                "\"fixed window\";\"api\";q=0;w=18446744073709551615",
            ),
        ]))
        .await;
        assert!(l.acquire(Duration::ZERO).await.err() <= Some(LONGEST));
        l.observe(&headers(&[(
            "ratelimit-policy",
            "\"fixed window\";\"api\";q=9;w=0",
        )]))
        .await;
        assert!(l.acquire(Duration::ZERO).await.err() <= Some(LONGEST));
    }
}
