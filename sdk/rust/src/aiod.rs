//! AIoD asset bodies, typed for the fields of the AIoD REST API's
//! `DatasetCreate` schema (aiod-rest-api `openapi.json`) and serialised
//! without `null`s: the schema declares no nullable field, so a field a
//! plugin does not set is left out (for AIoD the two mean the same: a PUT
//! resets an omitted field to its default).
//!
//! Fields serialise in the order declared here; the first ten in the order
//! the Hugging Face connector has always sent them.

use serde::Serialize;

/// A `Dataset` body (`POST /datasets`, `PUT /datasets/{identifier}`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Dataset {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform_resource_identifier: Option<String>,
    /// The only field the schema requires (at most 256 characters).
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub same_as: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<Text>,
    /// RFC 3339 date-time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_published: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distribution: Option<Vec<Distribution>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_accessible_for_free: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keyword: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub measurement_technique: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temporal_coverage: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alternate_name: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub application_area: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub citation: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creator: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub falls_under_paradigm: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub funder: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub has_part: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub industrial_sector: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_part_of: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media: Option<Vec<Distribution>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<Vec<Note>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relevant_link: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relevant_resource: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relevant_to: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub research_area: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scientific_domain: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<Size>,
}

impl Dataset {
    /// A dataset of `platform`, known there as `id`.
    pub fn new(platform: &str, id: &str, name: &str) -> Dataset {
        Dataset {
            platform: Some(platform.to_owned()),
            platform_resource_identifier: Some(id.to_owned()),
            name: name.to_owned(),
            ..Dataset::default()
        }
    }

    /// The JSON body to upload.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a dataset body serialises")
    }
}

/// Text in AIoD's `Text` shape (`plain` or `html`, each at most 65,535 bytes).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Text {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plain: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
}

impl Text {
    /// The most `Text.plain` holds (the database column behind it).
    pub const MAX_BYTES: usize = 65_535;

    /// Plain text, cut to `MAX_BYTES` on a character boundary (marked ` [...]`).
    pub fn plain(text: impl Into<String>) -> Text {
        Text {
            plain: Some(crate::text::truncate(
                text.into(),
                Self::MAX_BYTES,
                " [...]",
            )),
            html: None,
        }
    }
}

/// A file or download of a dataset (AIoD `Distribution`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Distribution {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The only field the schema requires.
    pub content_url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_size_kb: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoding_format: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checksum_algorithm: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_published: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub copyright: Option<String>,
}

/// Extra textual information (AIoD `Note`, at most 8,000 characters).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Note {
    pub value: String,
}

/// The size of a dataset, e.g. its number of rows (AIoD `DatasetSize`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Size {
    pub unit: String,
    pub value: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_fields_are_left_out_and_empty_lists_kept() {
        let mut d = Dataset::new("zenodo", "123", "A set");
        d.keyword = Some(vec![]);
        d.description = Some(Text::plain("About it."));
        assert_eq!(
            d.to_json(),
            r#"{"platform":"zenodo","platform_resource_identifier":"123","name":"A set","description":{"plain":"About it."},"keyword":[]}"#
        );
    }

    #[test]
    fn a_long_description_is_cut_by_bytes_on_a_char_boundary() {
        let plain = |text: String| Text::plain(text).plain.unwrap();
        let short = "é".repeat(100);
        assert_eq!(plain(short.clone()), short);
        let exact = "a".repeat(Text::MAX_BYTES);
        assert_eq!(plain(exact.clone()), exact);
        // 2-byte characters: 70,000 bytes, more than the limit.
        let long = plain("é".repeat(35_000));
        assert!(long.len() <= Text::MAX_BYTES);
        assert!(long.ends_with("é [...]"));
        assert_eq!(long.len(), 65_528 + " [...]".len());
        // 3-byte characters force a step back from the cut.
        let long = plain("€".repeat(30_000));
        assert!(long.len() <= Text::MAX_BYTES && long.ends_with("€ [...]"));
    }
}
