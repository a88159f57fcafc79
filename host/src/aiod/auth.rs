//! Keycloak client-credentials tokens, reused until shortly before they expire.

use super::settings::AiodSettings;
use crate::fetch::{FetchError, Fetcher};
use crate::secret::Secret;
use serde::Deserialize;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;
use url::Url;

/// Why no token could be had. Never contains the secret.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(
        "Keycloak rejected the credentials of client {client_id:?} at {url} \
         (HTTP {status}: {reason}); check CLIENT_SECRET and client_id"
    )]
    Rejected {
        client_id: String,
        url: String,
        status: u16,
        reason: String,
    },
    /// No answer at all (refused connection, DNS, timeout).
    #[error("cannot reach Keycloak at {url}: {message}")]
    Unreachable { url: String, message: String },
    #[error("cannot get a token from Keycloak at {url}: {message}")]
    Failed { url: String, message: String },
}

struct Cached {
    token: Secret,
    renew_at: Instant,
}

pub struct Tokens {
    http: Fetcher,
    url: Url,
    client_id: String,
    secret: Secret,
    cached: Mutex<Option<Cached>>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct KeycloakError {
    error: Option<String>,
    error_description: Option<String>,
}

/// Renew a little before expiry so a token never dies in flight; short-lived
/// tokens (tests) renew at half their life.
/// How long a token lives, as Keycloak says (`expires_in`, default 60 s),
/// but renewed at least daily: an absurd value must not overflow a clock.
pub fn lifetime(expires_in: Option<u64>) -> Duration {
    // At least 10 s: a token per request would also churn the secrets that
    // `secret::redact` remembers.
    Duration::from_secs(expires_in.unwrap_or(60).clamp(10, 86_400))
}

fn renew_after(expires_in: Duration) -> Duration {
    expires_in.saturating_sub((expires_in / 2).min(Duration::from_secs(30)))
}

impl Tokens {
    pub fn new(http: Fetcher, settings: &AiodSettings) -> Result<Tokens, url::ParseError> {
        let url = settings.auth_server.join(&format!(
            "realms/{}/protocol/openid-connect/token",
            settings.realm
        ))?;
        Ok(Tokens {
            http,
            url,
            client_id: settings.client_id.clone(),
            secret: settings.secret.clone(),
            cached: Mutex::new(None),
        })
    }

    /// A valid access token, from the cache or fresh from Keycloak.
    pub async fn bearer(&self) -> Result<Secret, AuthError> {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref().filter(|c| Instant::now() < c.renew_at) {
            return Ok(c.token.clone());
        }
        let fresh = self.fetch().await?;
        let token = fresh.token.clone();
        *cached = Some(fresh);
        Ok(token)
    }

    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// Forgets `rejected` (the API said it is no longer valid), unless a
    /// concurrent upload already replaced it: one refresh serves them all.
    pub async fn invalidate(&self, rejected: &Secret) {
        let mut cached = self.cached.lock().await;
        if cached.as_ref().is_some_and(|c| &c.token == rejected) {
            *cached = None;
        }
    }

    async fn fetch(&self) -> Result<Cached, AuthError> {
        let failed = |message: String| AuthError::Failed {
            url: self.url.to_string(),
            message,
        };
        let started = Instant::now();
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.secret.expose()),
            ("scope", "openid profile roles"),
        ];
        let response = self
            .http
            .send(None, "the Keycloak token request", |c| {
                c.post(self.url.clone()).form(&form)
            })
            .await
            .map_err(|e| match e {
                FetchError::Transport(message) => AuthError::Unreachable {
                    url: self.url.to_string(),
                    message,
                },
                gave_up => failed(gave_up.to_string()),
            })?;
        let (status, body) = (response.status, response.body);
        if status != 200 && (status >= 500 || status == 429) {
            return Err(failed(format!(
                "Keycloak is unavailable (HTTP {status}) after retries; try again later"
            )));
        }
        if status != 200 {
            let reason = serde_json::from_slice::<KeycloakError>(&body)
                .ok()
                .map(|e| {
                    [e.error, e.error_description]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(": ")
                })
                .filter(|r| !r.is_empty())
                .unwrap_or_else(|| {
                    // Masked before it is cut, so that no part of a secret is left.
                    let text = String::from_utf8_lossy(&body);
                    crate::secret::redact(&text).chars().take(200).collect()
                });
            return Err(AuthError::Rejected {
                client_id: self.client_id.clone(),
                url: self.url.to_string(),
                status,
                reason,
            });
        }
        let parsed: TokenResponse = serde_json::from_slice(&body)
            .map_err(|e| failed(format!("unreadable token response: {e}")))?;
        let lifetime = lifetime(parsed.expires_in);
        tracing::debug!(lifetime = ?lifetime, "got a new AIoD access token");
        Ok(Cached {
            token: Secret::new(parsed.access_token),
            renew_at: started + renew_after(lifetime),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renews_before_expiry() {
        assert_eq!(
            renew_after(Duration::from_secs(300)),
            Duration::from_secs(270)
        );
        assert_eq!(renew_after(Duration::from_secs(2)), Duration::from_secs(1));
        assert_eq!(renew_after(Duration::ZERO), Duration::ZERO);
    }
}
