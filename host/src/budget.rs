//! A request budget per endpoint: at most N requests per fixed window, as
//! Hugging Face counts them. A server's `RateLimit` header (remaining, reset)
//! corrects our count, so several processes sharing a quota still stay in it.

use crate::retry::rate_limit;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

#[derive(Debug)]
pub struct Limiter {
    requests: u32,
    window: Duration,
    state: Mutex<Window>,
}

#[derive(Debug)]
struct Window {
    ends: Instant,
    remaining: u32,
}

impl Limiter {
    pub fn new(requests: u32, window: Duration) -> Limiter {
        Limiter {
            requests: requests.max(1),
            window,
            state: Mutex::new(Window {
                ends: Instant::now() + window,
                remaining: requests.max(1),
            }),
        }
    }

    /// How long `acquire` would wait now (zero if the budget has room).
    pub async fn wait_needed(&self) -> Duration {
        let w = self.state.lock().await;
        let now = Instant::now();
        if now >= w.ends || w.remaining > 0 {
            Duration::ZERO
        } else {
            w.ends - now
        }
    }

    /// Takes one request from the budget, waiting for the next window if it is
    /// spent. Returns how long it waited.
    pub async fn acquire(&self) -> Duration {
        let started = Instant::now();
        loop {
            let wait = {
                let mut w = self.state.lock().await;
                let now = Instant::now();
                if now >= w.ends {
                    w.ends = now + self.window;
                    w.remaining = self.requests;
                }
                if w.remaining > 0 {
                    w.remaining -= 1;
                    return started.elapsed();
                }
                w.ends - now
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// Adopts the server's count when it reports one.
    pub async fn observe(&self, headers: &[(String, String)]) {
        if let Some((remaining, reset)) = rate_limit(headers) {
            let mut w = self.state.lock().await;
            w.remaining = w
                .remaining
                .min(u32::try_from(remaining).unwrap_or(u32::MAX));
            w.ends = Instant::now() + reset;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn waits_for_the_next_window_when_spent() {
        let l = Limiter::new(2, Duration::from_secs(10));
        assert_eq!(l.acquire().await, Duration::ZERO);
        assert_eq!(l.acquire().await, Duration::ZERO);
        let waited = l.acquire().await;
        assert!(waited >= Duration::from_secs(9), "{waited:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn the_servers_count_wins() {
        let l = Limiter::new(100, Duration::from_secs(300));
        l.observe(&[("ratelimit".into(), "\"api\";r=0;t=5".into())])
            .await;
        let waited = l.acquire().await;
        assert!(
            waited >= Duration::from_secs(5) && waited < Duration::from_secs(6),
            "{waited:?}"
        );
    }
}
