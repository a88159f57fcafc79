//! How final each answer of the datasets-server is, for the host to decide
//! without calling the plugin while it fetches (dataset-viewer @ f62009e0).

use crate::DATASETS_SERVER;

/// Whether asking again can change an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Retry,
    AgainNextPass,
    Final,
}

/// One rule: answers of `endpoint` with `status` (and, if set, `header` with
/// one of `values`, or any value when `values` is empty) get `verdict`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub endpoint: &'static str,
    pub status: u16,
    pub header: Option<&'static str>,
    pub values: &'static [&'static str],
    pub verdict: Verdict,
}

/// The datasets-server answers a job still running with 500 and
/// `X-Error-Code: ResponseNotReady` (`libapi/utils.py`; its OpenAPI schema
/// spells it `ResponseNotReadyError`): retrying now wastes the budget, the
/// next pass will find it done. Every other 500 with an `X-Error-Code` is a
/// cached job error (`ConfigNamesError`, `DatasetGenerationError`, …,
/// `libcommon/exceptions.py`): the same answer comes back until the dataset
/// changes revision, which changes its version. A 500 without a code (the
/// proxy's text/plain one) keeps the host's default: retry.
pub fn rules() -> Vec<Rule> {
    vec![
        Rule {
            endpoint: DATASETS_SERVER,
            status: 500,
            header: Some("x-error-code"),
            values: &["ResponseNotReady", "ResponseNotReadyError"],
            verdict: Verdict::AgainNextPass,
        },
        Rule {
            endpoint: DATASETS_SERVER,
            status: 500,
            header: Some("x-error-code"),
            values: &[],
            verdict: Verdict::Final,
        },
    ]
}
