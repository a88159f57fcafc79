//! Test builds of this plugin for the host's tests (plugin swap and remap);
//! never shipped. Each is plugin A (`plugins/huggingface.wasm`) with another
//! version in `info` (`crate::VERSION`) and one change to the mapping. The
//! listing, follow-ups, answer rules, lookups and record versions are A's.
//!
//! - `test-remapped` (`target/test-plugins/huggingface-remapped.wasm`,
//!   version `<A's>+remapped`): the body's `name` of a dataset whose repo id
//!   (the listing's `id`) holds a `/` ends with [`REMAP_SUFFIX`]; every other
//!   body is A's, byte for byte.
//! - `test-failing` (`target/test-plugins/huggingface-failing.wasm`,
//!   version `<A's>+failing`): `map-record` and `map-judged` refuse every
//!   record whose repo id does not start with `a` or `A` with
//!   `invalid("test-failing build: refuses to map <repo id>")`, before any
//!   other check; the others map as A maps them.

/// What `test-remapped` appends to the `name` of a namespaced dataset.
#[cfg(feature = "test-remapped")]
pub const REMAP_SUFFIX: &str = " [remapped]";

/// `test-remapped`: the body's `name` for a dataset with this repo id, when
/// it differs from A's (the repo id itself).
#[cfg(feature = "test-remapped")]
pub fn remapped_name(repo_id: &str) -> Option<String> {
    repo_id
        .contains('/')
        .then(|| format!("{repo_id}{REMAP_SUFFIX}"))
}

/// `test-failing`: why a record with this repo id (its label, the listing's
/// `id`) is not mapped; `None` for the ones mapped as A maps them.
#[cfg(feature = "test-failing")]
pub fn refusal(repo_id: &str) -> Option<String> {
    let mapped = repo_id
        .chars()
        .next()
        .is_some_and(|c| c.eq_ignore_ascii_case(&'a'));
    (!mapped).then(|| format!("test-failing build: refuses to map {repo_id}"))
}

#[cfg(all(
    test,
    not(any(feature = "contract-v0_1_0", feature = "contract-v0_1_1"))
))]
mod tests {
    use crate::Plugin;
    use crate::exports::aiod::connector::plugin::Guest;
    use crate::exports::aiod::connector::types::{Context, Mapped, RecordError, SourceRecord};
    use crate::listing;
    use serde_json::json;

    fn context() -> Context {
        Context {
            platform: "huggingface".to_string(),
        }
    }

    /// A record as the listing gives it (no follow-up answers).
    fn record(repo_id: &str) -> SourceRecord {
        let data = json!({"_id": "abc", "id": repo_id, "description": "A set."});
        let found = listing::handle_page(
            &crate::Mode::Id(repo_id.to_string()),
            200,
            &[],
            data.to_string().as_bytes(),
        )
        .unwrap()
        .records
        .remove(0);
        SourceRecord {
            id: found.id,
            label: found.label,
            version: found.version,
            data: found.data,
            follow_ups: Vec::new(),
        }
    }

    /// The body plugin A maps `record(repo_id)` to, with `name` as its name.
    fn plugin_a_body(repo_id: &str, name: &str) -> String {
        format!(
            r#"{{"platform":"huggingface","platform_resource_identifier":"abc","name":"{name}","same_as":"https://huggingface.co/datasets/{repo_id}","description":{{"plain":"A set."}},"distribution":[],"is_accessible_for_free":true,"keyword":[]}}"#
        )
    }

    /// The body, or the reason of an `invalid` record error.
    fn outcome(result: Result<Mapped, RecordError>) -> Result<String, String> {
        match result {
            Ok(mapped) => Ok(mapped.assets[0].body.clone()),
            Err(RecordError::Invalid(why)) => Err(why),
            Err(RecordError::Skip(why)) => panic!("skipped: {why}"),
        }
    }

    #[test]
    fn the_version_is_plugin_a_s_with_build_metadata() {
        let version = Plugin::info().version;
        let a = env!("CARGO_PKG_VERSION");
        #[cfg(all(feature = "test-remapped", not(feature = "test-failing")))]
        assert_eq!(version, format!("{a}+remapped"));
        #[cfg(all(feature = "test-failing", not(feature = "test-remapped")))]
        assert_eq!(version, format!("{a}+failing"));
        assert!(version.starts_with(&format!("{a}+")), "{version}");
    }

    #[test]
    fn map_record_and_map_judged_differ_from_plugin_a_as_documented() {
        // (repo id, the `name` `test-remapped` gives it, whether `test-failing` refuses it)
        let cases = [
            ("ds", "ds", true),
            ("org/ds", "org/ds [remapped]", true),
            ("1a/x", "1a/x [remapped]", true),
            ("abc", "abc", false),
            ("Abc", "Abc", false),
            ("allenai/x", "allenai/x [remapped]", false),
        ];
        for (repo_id, remapped, refused) in cases {
            let expected = if cfg!(feature = "test-failing") && refused {
                Err(format!("test-failing build: refuses to map {repo_id}"))
            } else if cfg!(feature = "test-remapped") {
                Ok(plugin_a_body(repo_id, remapped))
            } else {
                Ok(plugin_a_body(repo_id, repo_id))
            };
            let mapped = Plugin::map_record(context(), record(repo_id), Vec::new());
            assert_eq!(outcome(mapped), expected, "map-record {repo_id}");
            let judged = Plugin::map_judged(context(), record(repo_id), Vec::new());
            assert_eq!(
                outcome(judged.map(|j| j.mapped)),
                expected,
                "map-judged {repo_id}"
            );
        }
    }

    #[cfg(feature = "test-remapped")]
    #[test]
    fn remapped_names_only_namespaced_datasets() {
        use super::remapped_name;
        assert_eq!(
            remapped_name("org/ds").as_deref(),
            Some("org/ds [remapped]")
        );
        assert_eq!(remapped_name("ds"), None);
        assert_eq!(remapped_name(""), None);
    }

    #[cfg(feature = "test-failing")]
    #[test]
    fn failing_refuses_ids_not_starting_with_a() {
        use super::refusal;
        for repo_id in ["abc", "A", "allenai/x", "Anthropic/hh-rlhf"] {
            assert_eq!(refusal(repo_id), None, "{repo_id}");
        }
        for repo_id in ["org/ds", "ds", "", "älter", "1a"] {
            assert_eq!(
                refusal(repo_id),
                Some(format!("test-failing build: refuses to map {repo_id}"))
            );
        }
    }
}
