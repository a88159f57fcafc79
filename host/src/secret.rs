//! Secrets that cannot be printed by accident, and a mask for the text the
//! host logs or stores.
//!
//! Every `Secret` (the client secret, each AIoD access token, an endpoint's
//! token such as `HF_TOKEN`) is remembered for the life of the process, and
//! `redact` replaces it with `***` in any text: a server's error body may
//! quote the request's bearer token (some proxies and Keycloak error pages
//! do), and that text then goes into a log line, an error or a dead letter.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::RwLock;

/// Holds a secret; `Debug` and `Display` show only that it is set.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Remembers `value` for `redact` as well.
    pub fn new(value: String) -> Secret {
        remember(&value);
        Secret(value)
    }

    /// The value, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// Shorter values are not searched for: masking every "pw" would mangle the
/// logs, and a value that short protects nothing anyway.
const SHORTEST: usize = 6;
/// Access tokens are renewed all the time; the latest ones are what a late
/// error body may still quote.
const REMEMBERED: usize = 64;

static KNOWN: RwLock<VecDeque<String>> = RwLock::new(VecDeque::new());

fn remember(value: &str) {
    let value = value.trim();
    if value.chars().count() < SHORTEST {
        return;
    }
    // As a server may quote it: verbatim, inside JSON, or form-encoded (as
    // the client secret is sent to Keycloak).
    let json = serde_json::to_string(value).unwrap_or_default();
    let json = json.trim_matches('"').to_string();
    let form: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
    let mut known = KNOWN.write().unwrap_or_else(|e| e.into_inner());
    for form in [value.to_string(), json, form] {
        if known.contains(&form) {
            continue;
        }
        if known.len() >= REMEMBERED {
            // The client secret and endpoint tokens come first and stay.
            known.remove(REMEMBERED / 4);
        }
        known.push_back(form);
    }
}

/// `text` with every secret the process knows replaced by `***`, also a
/// secret's beginning where a message cut it off (`…`).
pub fn redact(text: &str) -> Cow<'_, str> {
    let known = KNOWN.read().unwrap_or_else(|e| e.into_inner());
    // Longest first, so that a secret inside another is not masked half.
    let mut secrets: Vec<&str> = known.iter().map(String::as_str).collect();
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = Cow::Borrowed(text);
    for secret in &secrets {
        if out.contains(secret) {
            out = Cow::Owned(out.replace(secret, "***"));
        }
    }
    if out.contains('…') {
        out = Cow::Owned(mask_cut_beginnings(&out, &secrets));
    }
    out
}

/// The shortest beginning of a secret that is masked where text was cut.
const SHORTEST_CUT: usize = 4;

/// Masks the end of a secret's beginning right before each `…`.
fn mask_cut_beginnings(text: &str, secrets: &[&str]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('…') {
        let before = &rest[..at];
        let cut = secrets
            .iter()
            .filter_map(|s| {
                (SHORTEST_CUT..s.len())
                    .rev()
                    .filter(|&k| s.is_char_boundary(k))
                    .find(|&k| before.ends_with(&s[..k]))
            })
            .max()
            .unwrap_or(0);
        out.push_str(&before[..before.len() - cut]);
        if cut > 0 {
            out.push_str("***");
        }
        out.push('…');
        rest = &rest[at + '…'.len_utf8()..];
    }
    out.push_str(rest);
    out
}

/// Standard error, masked: every log line passes through `redact`.
pub struct MaskedStderr;

impl std::io::Write for MaskedStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // The log formatter writes one whole event per call, so a secret is never split.
        let text = String::from_utf8_lossy(buf);
        std::io::stderr().write_all(redact(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_formats_its_value() {
        let s = Secret::new("hunter2-value".into());
        assert_eq!(format!("{s} {s:?} {s:#?}"), "*** Secret(***) Secret(***)");
        assert_eq!(s.expose(), "hunter2-value");
    }

    #[test]
    fn every_secret_is_masked_in_any_text() {
        let token = Secret::new("eyJhbGciOi-token-4711".into());
        let short = Secret::new("pw".into());
        let text = "403: rejected Authorization: Bearer eyJhbGciOi-token-4711 (pw)";
        assert_eq!(redact(text), "403: rejected Authorization: Bearer *** (pw)");
        assert!(matches!(redact("nothing secret"), Cow::Borrowed(_)));
        drop((token, short));
        // Remembered for the life of the process, not of the value.
        assert_eq!(redact("eyJhbGciOi-token-4711"), "***");
    }

    #[test]
    fn quoted_encoded_cut_and_nested_secrets_are_masked_too() {
        let secret = Secret::new("s3cr3t+/\"quoted".into());
        let inner = Secret::new("inner-part".into());
        let outer = Secret::new("xx-inner-part-xx".into());
        assert_eq!(
            redact(r#"{"echo":"s3cr3t+/\"quoted"}"#),
            r#"{"echo":"***"}"#
        );
        assert_eq!(
            redact("client_secret=s3cr3t%2B%2F%22quoted&x=1"),
            "client_secret=***&x=1"
        );
        assert_eq!(redact("a xx-inner-part-xx b inner-part"), "a *** b ***");
        // A message cut the secret off after its first characters.
        assert_eq!(redact("HTTP 500: Bearer xx-inn…"), "HTTP 500: Bearer ***…");
        assert_eq!(redact("ends with xx…"), "ends with xx…");
        drop((secret, inner, outer));
    }
}
