//! The datasets the fake hub serves: recorded ones (real Hugging Face responses from 2023) and
//! generated ones (rendered on demand from their index, so millions cost no memory).

use serde_json::{Value, json};

/// Embeds a file of `data/huggingface/` as `(file name, contents)`.
macro_rules! hf_file {
    ($name:literal) => {
        ($name, include_str!(concat!("../data/huggingface/", $name)))
    };
}

/// `GET /api/datasets?full=True` as recorded: one page of 6 datasets.
pub(crate) const DATA_LIST: &str = hf_file!("data_list.json").1;

/// Recorded `/parquet` responses: `(dataset id, HTTP status, body)`.
pub(crate) const RECORDED_PARQUET: &[(&str, u16, &str)] = &[
    (
        "acronym_identification",
        200,
        hf_file!("parquet_acronym_identification.json").1,
    ),
    (
        "rotten_tomatoes",
        200,
        hf_file!("parquet_rotten_tomatoes.json").1,
    ),
    (
        "0n1xus/codexglue",
        200,
        hf_file!("parquet_0n1xus_codexglue.json").1,
    ),
    // The recording is an error body; the upstream test served it as a 404.
    (
        "04-07-22/wep-probes",
        404,
        hf_file!("parquet_04-07-22_wep-probes.json").1,
    ),
    ("air_dialogue", 200, hf_file!("parquet_air_dialogue.json").1),
    (
        "bobbydylan/top2k",
        200,
        hf_file!("parquet_bobbydylan_top2k.json").1,
    ),
];

/// Embeds a datasets-server example as `(file name, contents, X-Error-Code)`.
macro_rules! example {
    ($name:literal, $code:expr) => {
        ($name, hf_file!($name).1, $code)
    };
}

/// The datasets-server OpenAPI examples, named `parquet-<status>-<example>.{json,txt}`, with
/// the `X-Error-Code` each comes with: dataset-viewer's libapi names access, parameter and
/// readiness errors, a cached job error is named after the worker's exception, and the proxy's
/// plain-text 500 has none.
pub(crate) const PARQUET_EXAMPLES: &[(&str, &str, Option<&str>)] = &[
    example!(
        "parquet-200-dataset-where-no-parquet-file-could-be-created.json",
        None
    ),
    example!("parquet-200-duorc-with-paraphraserc-config.json", None),
    example!("parquet-200-ibm-duorc.json", None),
    example!("parquet-200-partial-parquet-export.json", None),
    example!("parquet-200-sharded-parquet-files.json", None),
    example!(
        "parquet-401-inexistent-dataset-and-not-authenticated.json",
        Some(UNAUTHENTICATED)
    ),
    example!(
        "parquet-401-private-dataset-and-not-authenticated-or-authorized.json",
        Some(UNAUTHENTICATED)
    ),
    example!(
        "parquet-404-gated-dataset-and-not-authenticated-or-authorized.json",
        Some(NOT_FOUND)
    ),
    example!("parquet-404-inexistent-config.json", Some(NOT_FOUND)),
    example!(
        "parquet-404-inexistent-dataset-while-authenticated.json",
        Some(NOT_FOUND)
    ),
    example!(
        "parquet-404-private-dataset-while-authenticated-and-authorized.json",
        Some(NOT_FOUND)
    ),
    example!(
        "parquet-422-empty-dataset-parameter.json",
        Some(MISSING_PARAMETER)
    ),
    example!(
        "parquet-422-missing-dataset-parameter.json",
        Some(MISSING_PARAMETER)
    ),
    example!(
        "parquet-500-error-in-the-dataset-itself.json",
        Some(JOB_ERROR)
    ),
    example!("parquet-500-internal-server-error.txt", None),
    example!(
        "parquet-500-response-not-ready.json",
        Some("ResponseNotReady")
    ),
    example!("parquet-500-unexpected-error.json", Some("UnexpectedError")),
    example!(
        "parquet-501-blocked-dataset.json",
        Some("DatasetInBlockListError")
    ),
];

/// `X-Error-Code` of a 401: the Hub refused an anonymous request for the dataset.
pub(crate) const UNAUTHENTICATED: &str = "ExternalUnauthenticatedError";
/// `X-Error-Code` of a 404 for a dataset or config there is no answer for.
pub(crate) const NOT_FOUND: &str = "ResponseNotFound";
const MISSING_PARAMETER: &str = "MissingRequiredParameter";
/// `X-Error-Code` of the example job error. The exception behind its message is gone from
/// dataset-viewer's libcommon, so it is served as a config-names failure, a permanent job error
/// libcommon still raises.
pub(crate) const JOB_ERROR: &str = "ConfigNamesError";

const GENERATED_AUTHOR: &str = "gen-org";
const GENERATED_PREFIX: &str = "gen-org/dataset-";
/// `lastModified` of generated dataset 0: 2024-06-30T12:00:00Z; each next index is a minute older.
const NEWEST_GENERATED_SECS: i64 = 1_719_748_800;
/// Generated datasets were created a week before their last modification.
const CREATED_BEFORE_MODIFIED_SECS: i64 = 7 * 24 * 3600;
/// Every `trendingScore` given here is below this: a small range, so that ties are common.
pub(crate) const TRENDING_SCORES: u64 = 500;
/// Every generated `downloads` is below this.
pub(crate) const GENERATED_DOWNLOADS: u64 = 100_000;
/// Every generated `likes` is below this.
pub(crate) const GENERATED_LIKES: u64 = 97;

/// The id of generated dataset `i`: `gen-org/dataset-{i:06}`.
pub fn generated_id(i: usize) -> String {
    format!("{GENERATED_PREFIX}{i:06}")
}

/// The index of the generated dataset called `id`, if it is one of the first `count`.
pub(crate) fn generated_index(id: &str, count: usize) -> Option<usize> {
    let digits = id.strip_prefix(GENERATED_PREFIX)?;
    let i: usize = digits.parse().ok()?;
    // Rejects spellings such as `dataset-7` or `dataset-+00007` that name no dataset.
    (i < count && generated_id(i) == id).then_some(i)
}

/// `lastModified` of generated dataset `i`; strictly decreasing in `i`.
pub(crate) fn generated_last_modified(i: usize) -> String {
    format_timestamp(last_modified_secs(i))
}

fn last_modified_secs(i: usize) -> i64 {
    NEWEST_GENERATED_SECS - 60 * i as i64
}

/// `createdAt` of generated dataset `i`; strictly decreasing in `i`.
pub(crate) fn generated_created_at(i: usize) -> String {
    format_timestamp(last_modified_secs(i) - CREATED_BEFORE_MODIFIED_SECS)
}

/// `_id` of generated dataset `i`: 24 hex digits, increasing with `i` (as text too).
pub(crate) fn generated_internal_id(i: usize) -> String {
    format!("{:024x}", 0x6500_0000_0000_0000_0000_0000_u128 + i as u128)
}

/// `trendingScore` of generated dataset `i`: pseudo-random below [`TRENDING_SCORES`].
pub(crate) fn generated_trending(i: usize) -> u64 {
    splitmix(i as u64 ^ 0x7472_656e_6469_6e67) % TRENDING_SCORES
}

/// `downloads` of generated dataset `i`, below [`GENERATED_DOWNLOADS`].
pub(crate) fn generated_downloads(i: usize) -> u64 {
    (i as u64).wrapping_mul(7_919) % GENERATED_DOWNLOADS
}

/// `likes` of generated dataset `i`, below [`GENERATED_LIKES`].
pub(crate) fn generated_likes(i: usize) -> u64 {
    i as u64 % GENERATED_LIKES
}

/// `sha` of generated dataset `i` (unless changed).
pub(crate) fn generated_sha(i: usize) -> String {
    let n = i as u64;
    format!("{:08x}{:032x}", n as u32, mix(n))
}

/// A `trendingScore` for a recorded dataset (the 2023 recording predates the field), derived
/// from its `_id` so it never changes.
pub(crate) fn recorded_trending(internal_id: &str) -> u64 {
    // FNV-1a, then mixed so that close ids get unrelated scores.
    let hash = internal_id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    splitmix(hash) % TRENDING_SCORES
}

/// Generated dataset `i` with the key set of the recorded listing plus the newer
/// `trendingScore`, as the listing serves it (unless changed).
pub fn generated_dataset(i: usize) -> Value {
    json!({
        "_id": generated_internal_id(i),
        "id": generated_id(i),
        "author": GENERATED_AUTHOR,
        "cardData": {"license": "cc-by-4.0"},
        "citation": null,
        "createdAt": generated_created_at(i),
        "description": format!("Generated dataset number {i}."),
        "disabled": false,
        "downloads": generated_downloads(i),
        "gated": false,
        "key": "",
        "lastModified": generated_last_modified(i),
        "likes": generated_likes(i),
        "paperswithcode_id": null,
        "private": false,
        "sha": generated_sha(i),
        "tags": [
            "task_categories:text-classification",
            "language:en",
            "license:cc-by-4.0",
            "region:us",
        ],
        "trendingScore": generated_trending(i),
    })
}

/// The `/parquet` body of generated dataset `i`: one file of `1000 * i + 1` bytes.
pub fn generated_parquet(i: usize) -> String {
    let id = generated_id(i);
    json!({
        "parquet_files": [{
            "dataset": id,
            "config": "default",
            "split": "train",
            "url": format!(
                "https://huggingface.co/datasets/{id}/resolve/refs%2Fconvert%2Fparquet/default/train/0000.parquet"
            ),
            "filename": "0000.parquet",
            "size": 1000 * i as u64 + 1,
        }],
        "pending": [],
        "failed": [],
        "partial": false,
    })
    .to_string()
}

/// A deterministic 128-bit hash so generated `sha`s look random yet never collide.
fn mix(n: u64) -> u128 {
    // A bijection on u64, so distinct `n` give distinct halves.
    (u128::from(splitmix(n)) << 64) | u128::from(splitmix(!n))
}

/// The splitmix64 finaliser: a bijection on u64 that scatters close inputs.
fn splitmix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Formats seconds since the Unix epoch as Hugging Face does: `YYYY-MM-DDTHH:MM:SS.000Z`.
fn format_timestamp(secs: i64) -> String {
    let (days, secs_of_day) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    let (hour, minute, second) = (secs_of_day / 3600, secs_of_day / 60 % 60, secs_of_day % 60);
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.000Z")
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153; // March = 0
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn formats_timestamps() {
        assert_eq!(format_timestamp(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            format_timestamp(NEWEST_GENERATED_SECS),
            "2024-06-30T12:00:00.000Z"
        );
        assert_eq!(format_timestamp(951_782_400), "2000-02-29T00:00:00.000Z");
        assert_eq!(format_timestamp(1_709_251_199), "2024-02-29T23:59:59.000Z");
        assert_eq!(format_timestamp(1_735_689_599), "2024-12-31T23:59:59.000Z");
        assert_eq!(format_timestamp(-1), "1969-12-31T23:59:59.000Z");
    }

    #[test]
    fn generated_datasets_are_unique_and_well_formed() {
        let recorded: Vec<Value> = serde_json::from_str(DATA_LIST).unwrap();
        let trending = "trendingScore".to_owned();
        // The recording predates `trendingScore`; the stand-in adds it to every dataset.
        let recorded_keys: HashSet<&String> = recorded
            .iter()
            .flat_map(|d| d.as_object().unwrap().keys())
            .chain([&trending])
            .collect();
        let (mut ids, mut shas) = (HashSet::new(), HashSet::new());
        let mut previous_modified = String::from("9999");
        for i in (0..2000).chain([999_999, 1_000_000]) {
            let dataset = generated_dataset(i);
            let keys: HashSet<&String> = dataset.as_object().unwrap().keys().collect();
            assert_eq!(keys, recorded_keys);
            let internal_id = dataset["_id"].as_str().unwrap();
            let sha = dataset["sha"].as_str().unwrap();
            assert_eq!(internal_id.len(), 24);
            assert_eq!(sha.len(), 40);
            assert!(
                sha.chars()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
            );
            assert!(ids.insert(internal_id.to_owned()));
            assert!(shas.insert(sha.to_owned()));
            let modified = dataset["lastModified"].as_str().unwrap();
            assert_eq!(modified, generated_last_modified(i));
            assert!(modified < previous_modified.as_str());
            assert!(dataset["createdAt"].as_str().unwrap() < modified);
            assert!(dataset["trendingScore"].as_u64().unwrap() < TRENDING_SCORES);
            assert!(dataset["downloads"].as_u64().unwrap() < GENERATED_DOWNLOADS);
            assert!(dataset["likes"].as_u64().unwrap() < GENERATED_LIKES);
            assert!(generated_internal_id(i) < generated_internal_id(i + 1));
            previous_modified = modified.to_owned();
            assert_eq!(
                generated_index(dataset["id"].as_str().unwrap(), 1_000_001),
                Some(i)
            );
        }
    }

    #[test]
    fn generated_index_rejects_other_spellings_and_out_of_range() {
        assert_eq!(generated_index("gen-org/dataset-000007", 8), Some(7));
        assert_eq!(generated_index("gen-org/dataset-000008", 8), None);
        assert_eq!(generated_index("gen-org/dataset-7", 8), None);
        assert_eq!(generated_index("gen-org/dataset-+00007", 8), None);
        assert_eq!(generated_index("other/dataset-000007", 8), None);
    }
}
