//! The Keycloak token endpoint AIoD clients log in with (client-credentials grant, as the SDK and
//! the connectors use it), and the tokens it issued, which the catalogue introspects.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use rand::RngExt as _;
use rand::distr::Alphanumeric;
use serde_json::json;
use url::form_urlencoded;

/// The only realm: the one the AIoD SDK and connectors use.
const REALM: &str = "aiod";

/// Keycloak's description for both an unknown client and a wrong secret.
const INVALID_CLIENT: &str = "Invalid client or Invalid client credentials";

/// A confidential client with a service account holding `roles` (realm roles).
#[derive(Clone, Debug)]
pub(crate) struct Client {
    pub(crate) secret: String,
    pub(crate) roles: Vec<String>,
}

/// Whom a token was issued to.
#[derive(Clone, Debug)]
pub(crate) struct Principal {
    pub(crate) client_id: String,
    pub(crate) roles: Vec<String>,
}

impl Principal {
    pub(crate) fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    /// AIoD treats any account with a `platform_*` role as a connector.
    pub(crate) fn is_connector(&self) -> bool {
        self.roles.iter().any(|r| r.starts_with("platform_"))
    }
}

struct Issued {
    principal: Principal,
    expires: Instant,
}

/// The realm's clients and the tokens issued to them.
pub(crate) struct Keycloak {
    clients: BTreeMap<String, Client>,
    lifetime: Duration,
    issued: Mutex<HashMap<String, Issued>>,
}

impl Keycloak {
    pub(crate) fn new(clients: BTreeMap<String, Client>, lifetime: Duration) -> Self {
        Self {
            clients,
            lifetime,
            issued: Mutex::default(),
        }
    }

    /// Whom `token` was issued to, while it is active (issued here and not expired).
    pub(crate) fn introspect(&self, token: &str) -> Option<Principal> {
        let issued = self.lock();
        let issued = issued.get(token)?;
        (Instant::now() < issued.expires).then(|| issued.principal.clone())
    }

    /// Every token issued and still remembered (active or revoked-but-recent are the same
    /// here: revoked ones are forgotten), e.g. to check a client never shows one.
    pub(crate) fn issued_tokens(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    /// Makes every token issued so far inactive.
    pub(crate) fn revoke_all(&self) {
        self.lock().clear();
    }

    /// Answers a token request in Keycloak's order: grant type present, client authenticated,
    /// grant type supported.
    fn grant(&self, form: &HashMap<String, String>) -> Result<serde_json::Value, OAuthError> {
        let param = |name: &str| form.get(name).map(String::as_str);
        let Some(grant_type) = param("grant_type") else {
            return Err(OAuthError(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Missing form parameter: grant_type",
            ));
        };
        let Some(client_id) = param("client_id") else {
            return Err(OAuthError(
                StatusCode::BAD_REQUEST,
                "invalid_client",
                "Missing client_id parameter",
            ));
        };
        let Some(client) = self.clients.get(client_id) else {
            return Err(OAuthError(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                INVALID_CLIENT,
            ));
        };
        if param("client_secret") != Some(client.secret.as_str()) {
            return Err(OAuthError(
                StatusCode::UNAUTHORIZED,
                "unauthorized_client",
                INVALID_CLIENT,
            ));
        }
        if grant_type != "client_credentials" {
            return Err(OAuthError(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "Unsupported grant_type",
            ));
        }

        let token: String = rand::rng()
            .sample_iter(Alphanumeric)
            .take(48)
            .map(char::from)
            .collect();
        let now = Instant::now();
        let mut issued = self.lock();
        // Forgetting expired tokens keeps long benchmark runs from growing the map forever.
        issued.retain(|_, t| now < t.expires);
        let principal = Principal {
            client_id: client_id.to_owned(),
            roles: client.roles.clone(),
        };
        // A lifetime beyond the clock's range (a test of absurd values) is "for ever".
        let expires = now
            .checked_add(self.lifetime)
            .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 24 * 3600));
        issued.insert(token.clone(), Issued { principal, expires });
        Ok(json!({
            "access_token": token,
            "expires_in": self.lifetime.as_secs(),
            "refresh_expires_in": 0,
            "token_type": "Bearer",
            "not-before-policy": 0,
            "scope": "openid profile roles",
        }))
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Issued>> {
        crate::lock(&self.issued)
    }
}

/// `POST /aiod-auth/realms/{realm}/protocol/openid-connect/token`.
pub(crate) fn router(keycloak: Arc<Keycloak>) -> Router {
    Router::new()
        .route(
            "/aiod-auth/realms/{realm}/protocol/openid-connect/token",
            post(token),
        )
        .with_state(keycloak)
}

async fn token(
    State(keycloak): State<Arc<Keycloak>>,
    Path(realm): Path<String>,
    body: Bytes,
) -> Response {
    if realm != REALM {
        let body = json!({ "error": "Realm does not exist" });
        return (StatusCode::NOT_FOUND, Json(body)).into_response();
    }
    let form = form_urlencoded::parse(&body).into_owned().collect();
    match keycloak.grant(&form) {
        Ok(token) => Json(token).into_response(),
        Err(error) => error.into_response(),
    }
}

/// An OAuth 2.0 error answer as Keycloak gives them: status, `error`, `error_description`.
struct OAuthError(StatusCode, &'static str, &'static str);

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let OAuthError(status, error, description) = self;
        let body = json!({ "error": error, "error_description": description });
        (status, Json(body)).into_response()
    }
}
