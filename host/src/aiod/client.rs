//! The AIoD REST API calls the uploader needs.

use super::auth::{AuthError, Tokens};
use super::settings::AiodSettings;
use crate::fetch::{FetchError, Fetcher};
use serde::Deserialize;
use serde_json::Value;
use url::Url;

pub struct Aiod {
    http: Fetcher,
    /// For the listing of a platform's assets: the same client with a longer timeout.
    listing: Fetcher,
    api: Url,
    version: String,
    tokens: Tokens,
}

/// A call that did not succeed. Carries the catalogue's `detail`, never a token.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{method} {url} answered HTTP {status}: {detail}")]
    Status {
        method: &'static str,
        url: String,
        status: u16,
        detail: String,
    },
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("{method} {url} failed: {message}")]
    Transport {
        method: &'static str,
        url: String,
        message: String,
    },
    /// AIoD asked for a longer wait than the cap allows.
    #[error("{0}")]
    Paused(crate::fetch::Pause),
    /// FastAPI's `404 {"detail": "Not Found"}`: the route does not exist (a wrong
    /// `api_server` or a retired `version`), which is not an absent asset.
    #[error("the AIoD API has no route {method} {url}: check api_server and version")]
    NoRoute { method: &'static str, url: String },
}

impl ApiError {
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub fn detail(&self) -> String {
        match self {
            ApiError::Status { detail, .. } => detail.clone(),
            other => other.to_string(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct User {
    pub name: String,
    #[serde(default)]
    pub roles: Vec<String>,
}

/// The answer to a `POST`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    New(String),
    /// 409: the platform id is taken by this identifier.
    Exists(String),
}

/// The `detail` of an error body: a message, or pydantic's list rendered as `loc: msg`.
pub fn detail_of(body: &[u8]) -> String {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        // Masked before it is cut, so that no part of a secret is left.
        let text = String::from_utf8_lossy(body);
        return crate::secret::redact(&text).chars().take(500).collect();
    };
    match v.get("detail") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                let loc: Vec<String> = i["loc"]
                    .as_array()
                    .map(|l| {
                        l.iter()
                            .map(|p| p.as_str().map_or_else(|| p.to_string(), str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                format!(
                    "{}: {}",
                    loc.join("."),
                    i["msg"].as_str().unwrap_or("invalid")
                )
            })
            .collect::<Vec<_>>()
            .join("; "),
        Some(other) => other.to_string(),
        None => v.to_string(),
    }
}

/// Whether an answer is FastAPI's for a route that does not exist: 404 with the
/// bare detail `Not Found` (an absent asset's 404 names the asset).
fn no_route(status: u16, body: &[u8]) -> bool {
    status == 404 && detail_of(body) == "Not Found"
}

/// `... with identifier=data_abc.` → `data_abc`.
pub fn identifier_in(detail: &str) -> Option<String> {
    let rest = &detail[detail.find("identifier=")? + "identifier=".len()..];
    let id: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!id.is_empty()).then_some(id)
}

/// A list page: a bare array, or `{..., "data": [...]}` (upstream PR #705).
fn list_items(v: Value) -> Option<Vec<Value>> {
    match v {
        Value::Array(items) => Some(items),
        Value::Object(mut o) => match o.remove("data") {
            Some(Value::Array(items)) => Some(items),
            _ => None,
        },
        _ => None,
    }
}

impl Aiod {
    pub fn new(http: Fetcher, settings: &AiodSettings) -> Result<Aiod, url::ParseError> {
        Ok(Aiod {
            tokens: Tokens::new(http.clone(), settings)?,
            listing: http.clone(),
            http,
            api: settings.api_server.clone(),
            version: settings.version.clone(),
        })
    }

    /// Waits up to `timeout` for each page of [`Aiod::list`].
    pub fn with_listing_timeout(mut self, timeout: std::time::Duration) -> anyhow::Result<Aiod> {
        self.listing = self.http.with_timeout(timeout)?;
        Ok(self)
    }

    /// The catalogue this client talks to: base URL and API version.
    pub fn catalogue(&self) -> String {
        self.url(true, &[]).to_string()
    }

    /// `{api_server}{version}/segments…`, each segment percent-encoded.
    fn url(&self, versioned: bool, segments: &[&str]) -> Url {
        let mut url = self.api.clone();
        {
            let mut path = url.path_segments_mut().expect("http URLs have paths");
            path.pop_if_empty();
            if versioned && !self.version.is_empty() {
                path.push(&self.version);
            }
            path.extend(segments);
        }
        url
    }

    async fn send(
        &self,
        method: &'static str,
        url: &Url,
        body: Option<&Value>,
        bearer: Option<&str>,
    ) -> Result<(u16, Vec<u8>), ApiError> {
        self.send_via(&self.http, method, url, body, bearer).await
    }

    async fn send_via(
        &self,
        http: &Fetcher,
        method: &'static str,
        url: &Url,
        body: Option<&Value>,
        bearer: Option<&str>,
    ) -> Result<(u16, Vec<u8>), ApiError> {
        let what = format!("{method} {url}");
        let response = http
            .send(None, &what, |c| {
                let mut req = match method {
                    "POST" => c.post(url.clone()),
                    "PUT" => c.put(url.clone()),
                    "DELETE" => c.delete(url.clone()),
                    _ => c.get(url.clone()),
                };
                if let Some(token) = bearer {
                    req = req.bearer_auth(token);
                }
                if let Some(body) = body {
                    req = req
                        .header("content-type", "application/json")
                        .body(serde_json::to_vec(body).expect("JSON values serialise"));
                }
                req
            })
            .await
            .map_err(|e| match e {
                FetchError::Transport(message) | FetchError::TooLarge(message) => {
                    ApiError::Transport {
                        method,
                        url: url.to_string(),
                        message,
                    }
                }
                FetchError::GaveUp(pause) => ApiError::Paused(pause),
            })?;
        Ok((response.status, response.body))
    }

    /// With a bearer token; a 401 gets one fresh token and one retry.
    async fn authorized(
        &self,
        method: &'static str,
        url: &Url,
        body: Option<&Value>,
    ) -> Result<(u16, Vec<u8>), ApiError> {
        let token = self.tokens.bearer().await?;
        let first = self.send(method, url, body, Some(token.expose())).await?;
        if first.0 != 401 {
            return Ok(first);
        }
        tracing::debug!("AIoD answered 401; renewing the token once");
        self.tokens.invalidate(&token).await;
        let token = self.tokens.bearer().await?;
        self.send(method, url, body, Some(token.expose())).await
    }

    fn status_error(method: &'static str, url: &Url, status: u16, body: &[u8]) -> ApiError {
        if no_route(status, body) {
            return ApiError::NoRoute {
                method,
                url: url.to_string(),
            };
        }
        ApiError::Status {
            method,
            url: url.to_string(),
            status,
            detail: detail_of(body),
        }
    }

    /// Gets a token (`aiod-host check`); returns the client id it was issued to.
    pub async fn token_works(&self) -> Result<String, AuthError> {
        self.tokens.bearer().await?;
        Ok(self.tokens.client_id().to_string())
    }

    /// `GET /authorization_test`: who the token belongs to and its roles.
    pub async fn whoami(&self) -> Result<User, ApiError> {
        let url = self.url(false, &["authorization_test"]);
        let (status, body) = self.authorized("GET", &url, None).await?;
        if status != 200 {
            return Err(Self::status_error("GET", &url, status, &body));
        }
        serde_json::from_slice(&body).map_err(|e| ApiError::Status {
            method: "GET",
            url: url.to_string(),
            status,
            detail: format!("unreadable answer: {e}"),
        })
    }

    /// `GET /platforms/{platform}/{type}/{id}`, as the connector; `None` when
    /// absent (404). An asset AIoD holds but does not show answers 401 or 403.
    pub async fn lookup(
        &self,
        asset_type: &str,
        platform: &str,
        id: &str,
    ) -> Result<Option<Value>, ApiError> {
        let url = self.url(true, &["platforms", platform, asset_type, id]);
        // With the token: an unpublished asset then answers 403, not 401.
        let (status, body) = self.authorized("GET", &url, None).await?;
        match status {
            200 => serde_json::from_slice(&body)
                .map(Some)
                .map_err(|e| Self::status_error("GET", &url, status, e.to_string().as_bytes())),
            404 if !no_route(status, &body) => Ok(None),
            _ => Err(Self::status_error("GET", &url, status, &body)),
        }
    }

    /// `GET /platforms`: the names of the platforms the catalogue has registered
    /// (a versioned read route: it also shows that `api_server` and `version` work).
    pub async fn platforms(&self) -> Result<Vec<String>, ApiError> {
        let mut url = self.url(true, &["platforms"]);
        // Platforms are a handful; the catalogue's page limit is 1,000.
        url.query_pairs_mut()
            .append_pair("offset", "0")
            .append_pair("limit", "1000");
        let (status, body) = self.send("GET", &url, None, None).await?;
        if status != 200 {
            return Err(Self::status_error("GET", &url, status, &body));
        }
        serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(list_items)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|p| p.get("name")?.as_str().map(str::to_owned))
                    .collect()
            })
            .ok_or_else(|| {
                Self::status_error("GET", &url, status, b"expected a JSON array of platforms")
            })
    }

    /// One page of the assets of a platform.
    pub async fn list(
        &self,
        asset_type: &str,
        platform: &str,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<Value>, ApiError> {
        let mut url = self.url(true, &["platforms", platform, asset_type]);
        url.query_pairs_mut()
            .append_pair("offset", &offset.to_string())
            .append_pair("limit", &limit.to_string());
        let (status, body) = self
            .send_via(&self.listing, "GET", &url, None, None)
            .await?;
        if status != 200 {
            return Err(Self::status_error("GET", &url, status, &body));
        }
        serde_json::from_slice(&body)
            .ok()
            .and_then(list_items)
            .ok_or_else(|| {
                Self::status_error(
                    "GET",
                    &url,
                    status,
                    b"expected a JSON array or {\"data\": [...]}",
                )
            })
    }

    /// `POST /{type}`.
    pub async fn create(&self, asset_type: &str, body: &Value) -> Result<Created, ApiError> {
        let url = self.url(true, &[asset_type]);
        let (status, answer) = self.authorized("POST", &url, Some(body)).await?;
        match status {
            200 | 201 => serde_json::from_slice::<Value>(&answer)
                .ok()
                .and_then(|v| v.get("identifier")?.as_str().map(str::to_string))
                .map(Created::New)
                .ok_or_else(|| {
                    Self::status_error("POST", &url, status, b"no identifier in the answer")
                }),
            409 => {
                let detail = detail_of(&answer);
                identifier_in(&detail)
                    .map(Created::Exists)
                    .ok_or_else(|| Self::status_error("POST", &url, status, &answer))
            }
            _ => Err(Self::status_error("POST", &url, status, &answer)),
        }
    }

    /// `DELETE /{type}/{identifier}` (AIoD deletes softly); an asset already gone is fine.
    pub async fn delete(&self, asset_type: &str, identifier: &str) -> Result<(), ApiError> {
        let url = self.url(true, &[asset_type, identifier]);
        let (status, answer) = self.authorized("DELETE", &url, None).await?;
        match status {
            200 | 204 | 404 => Ok(()),
            _ => Err(Self::status_error("DELETE", &url, status, &answer)),
        }
    }

    /// `PUT /{type}/{identifier}` with the full body.
    pub async fn replace(
        &self,
        asset_type: &str,
        identifier: &str,
        body: &Value,
    ) -> Result<(), ApiError> {
        let url = self.url(true, &[asset_type, identifier]);
        let (status, answer) = self.authorized("PUT", &url, Some(body)).await?;
        match status {
            200 | 204 => Ok(()),
            _ => Err(Self::status_error("PUT", &url, status, &answer)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_the_identifier_of_a_409() {
        let detail = "There already exists a dataset with the same platform and \
                      platform_resource_identifier, with identifier=data_mLUwXWy0gQm7zCzrPrSJfkjC.";
        assert_eq!(
            identifier_in(detail).as_deref(),
            Some("data_mLUwXWy0gQm7zCzrPrSJfkjC")
        );
        assert_eq!(identifier_in("no id here"), None);
    }

    #[test]
    fn renders_details() {
        assert_eq!(
            detail_of(br#"{"detail":"Platform x does not exist.","reference":"ab"}"#),
            "Platform x does not exist."
        );
        let pydantic = json!({"detail": [{"loc": ["body", "distribution", 0, "name"], "msg": "str type expected", "type": "type_error.str"}]});
        assert_eq!(
            detail_of(pydantic.to_string().as_bytes()),
            "body.distribution.0.name: str type expected"
        );
        assert_eq!(detail_of(b"Internal Server Error"), "Internal Server Error");
    }

    #[test]
    fn accepts_both_list_shapes() {
        assert_eq!(list_items(json!([1, 2])), Some(vec![json!(1), json!(2)]));
        assert_eq!(
            list_items(json!({"offset": 0, "data": [3]})),
            Some(vec![json!(3)])
        );
        assert_eq!(list_items(json!({"items": []})), None);
    }
}
