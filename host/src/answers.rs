//! Which answers are worth asking for again, now or on the next pass (pure).
//!
//! The host's defaults: retry 408, 429, 500, 502, 503, 504 and "no answer"
//! (timeouts, refused connections); everything else is final. A plugin
//! (contract 0.1.2) refines them per endpoint with answer rules, e.g. the
//! datasets-server's 500 with `X-Error-Code: ConfigNamesError` is final (a
//! cached job error) and one with `ResponseNotReady` is for the next pass.

use crate::model::{AnswerRule, Headers as _, Response, Verdict};
use http::HeaderName;

/// A plugin's answer rules; empty means the host's defaults throughout.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AnswerRules(Vec<AnswerRule>);

impl AnswerRules {
    pub fn new(rules: Vec<AnswerRule>) -> AnswerRules {
        AnswerRules(rules)
    }

    /// The verdict on an answer of `endpoint`; `status` `None` (or 0) is no answer.
    pub fn verdict(
        &self,
        endpoint: &str,
        status: Option<u16>,
        headers: &[(String, String)],
    ) -> Verdict {
        let Some(status) = status.filter(|s| *s != 0) else {
            return Verdict::Retry;
        };
        self.0
            .iter()
            .find(|r| r.endpoint == endpoint && r.status == status && header_matches(r, headers))
            .map_or_else(|| default_verdict(status), |r| r.verdict)
    }

    /// One line per rule, e.g. `datasets-server: HTTP 500 with x-error-code
    /// ResponseNotReady → again next pass`.
    pub fn describe(&self) -> Vec<String> {
        self.0
            .iter()
            .map(|r| {
                let header = match (&r.header, r.values.is_empty()) {
                    (None, _) => String::new(),
                    (Some(name), true) => format!(" with {name}"),
                    (Some(name), false) => format!(" with {name} {}", r.values.join(" or ")),
                };
                let verdict = match r.verdict {
                    Verdict::Retry => "retry",
                    Verdict::AgainNextPass => "again next pass",
                    Verdict::Final => "final",
                };
                format!("{}: HTTP {}{header} → {verdict}", r.endpoint, r.status)
            })
            .collect()
    }

    /// Why a record's follow-up answer means the record must be mapped again
    /// next pass (after the fetch's retries), or `None` if it stands.
    pub fn again(&self, endpoint: &str, response: &Response) -> Option<String> {
        let verdict = self.verdict(endpoint, Some(response.status), &response.headers);
        match (verdict, response.status) {
            (Verdict::Final, _) => None,
            (_, 0) => Some("a follow-up got no answer".to_string()),
            (Verdict::Retry, status) => Some(format!(
                "a follow-up still failed after retries (HTTP {status})"
            )),
            (Verdict::AgainNextPass, status) => {
                Some(format!("a follow-up was not ready yet (HTTP {status})"))
            }
        }
    }
}

fn default_verdict(status: u16) -> Verdict {
    if crate::retry::is_retryable(status) {
        Verdict::Retry
    } else {
        Verdict::Final
    }
}

fn header_matches(rule: &AnswerRule, headers: &[(String, String)]) -> bool {
    let Some(name) = &rule.header else {
        return true;
    };
    // No answer carries a header by a name that is not one.
    let Ok(name) = HeaderName::from_bytes(name.as_bytes()) else {
        return false;
    };
    // Values are tokens like `ResponseNotReady`, compared as the plugin wrote them but for case.
    headers.header_values(&name).any(|v| {
        rule.values.is_empty() || rule.values.iter().any(|want| want.eq_ignore_ascii_case(v))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> AnswerRules {
        let rule = |values: &[&str], verdict| AnswerRule {
            endpoint: "ds".into(),
            status: 500,
            header: Some("x-error-code".into()),
            values: values.iter().map(|v| v.to_string()).collect(),
            verdict,
        };
        AnswerRules::new(vec![
            rule(&["ResponseNotReady"], Verdict::AgainNextPass),
            rule(&[], Verdict::Final),
        ])
    }

    fn code(c: &str) -> Vec<(String, String)> {
        vec![("X-Error-Code".into(), c.into())]
    }

    #[test]
    fn the_first_matching_rule_wins_over_the_defaults() {
        let r = rules();
        assert_eq!(
            r.verdict("ds", Some(500), &code("responsenotready")),
            Verdict::AgainNextPass
        );
        assert_eq!(
            r.verdict("ds", Some(500), &code("ConfigNamesError")),
            Verdict::Final
        );
        // Without the header, or for another endpoint or status: the defaults.
        assert_eq!(r.verdict("ds", Some(500), &[]), Verdict::Retry);
        assert_eq!(
            r.verdict("hub", Some(500), &code("ConfigNamesError")),
            Verdict::Retry
        );
        assert_eq!(
            r.verdict("ds", Some(503), &code("ConfigNamesError")),
            Verdict::Retry
        );
    }

    #[test]
    fn defaults_retry_transient_failures_and_no_answer() {
        let none = AnswerRules::default();
        for s in [408, 429, 500, 502, 503, 504] {
            assert_eq!(none.verdict("x", Some(s), &[]), Verdict::Retry, "{s}");
        }
        for s in [200, 301, 400, 401, 403, 404, 412, 422, 501] {
            assert_eq!(none.verdict("x", Some(s), &[]), Verdict::Final, "{s}");
        }
        assert_eq!(none.verdict("x", None, &[]), Verdict::Retry);
        assert_eq!(none.verdict("x", Some(0), &[]), Verdict::Retry);
    }

    #[test]
    fn a_record_is_mapped_again_unless_every_answer_is_final() {
        let r = rules();
        let answer = |status, headers| Response {
            status,
            headers,
            body: Vec::new(),
        };
        assert_eq!(r.again("ds", &answer(200, vec![])), None);
        assert_eq!(r.again("ds", &answer(500, code("ConfigNamesError"))), None);
        assert!(
            r.again("ds", &answer(500, code("ResponseNotReady")))
                .unwrap()
                .contains("not ready")
        );
        assert!(
            r.again("ds", &answer(500, vec![]))
                .unwrap()
                .contains("after retries (HTTP 500)")
        );
        assert!(
            r.again("ds", &answer(0, vec![]))
                .unwrap()
                .contains("no answer")
        );
    }
}
