//! How final each answer of the datasets-server is, for the host to decide
//! without calling the plugin while it fetches (dataset-viewer @ f62009e0).

use crate::DATASETS_SERVER;
use aiod_plugin_sdk::{AnswerRule, Verdict};

/// The datasets-server answers a job still running with 500 and
/// `X-Error-Code: ResponseNotReady` (`libapi/utils.py`; its OpenAPI schema
/// spells it `ResponseNotReadyError`): retrying now wastes the budget, the
/// next pass will find it done. Every other 500 with an `X-Error-Code` is a
/// cached job error (`ConfigNamesError`, `DatasetGenerationError`, …,
/// `libcommon/exceptions.py`): the same answer comes back until the dataset
/// changes revision, which changes its version. A 500 without a code (the
/// proxy's text/plain one) keeps the host's default: retry.
pub fn rules() -> Vec<AnswerRule> {
    vec![
        AnswerRule::status(DATASETS_SERVER, 500, Verdict::AgainNextPass).with_header(
            "x-error-code",
            &["ResponseNotReady", "ResponseNotReadyError"],
        ),
        AnswerRule::status(DATASETS_SERVER, 500, Verdict::Final).with_header("x-error-code", &[]),
    ]
}
