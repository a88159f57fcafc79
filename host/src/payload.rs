//! What a record's mapping was made from: the record as listed and each
//! follow-up's request and answer. The state keeps it compressed and
//! addressed by the hash of its content, so that a new plugin maps the record
//! again without asking the platform, `plugin diff --state` compares two
//! plugins on the whole catalogue, and a dead letter is retried from it.

use crate::model::{Request, Response, SourceRecord};
use anyhow::{Context as _, Result};
use serde::{Deserialize, Serialize};

/// zstd level 6: with a trained dictionary, ~10% smaller than the default
/// level 3 on listing-sized JSON, at ~60 µs a payload (each is compressed once,
/// when fetched; a remap only reads).
const LEVEL: i32 = 6;

/// Payloads are a few KiB of JSON with the same keys, headers and URL shapes:
/// too small for zstd to find that alone, so a dictionary trained on the store's
/// own payloads carries it (zstd's documented use for small records).
const DICTIONARY_BYTES: usize = 64 << 10;

/// Payloads to train a dictionary on: enough for the shapes to show, few enough
/// to train in well under a second.
pub const TRAINING_SAMPLES: usize = 2_000;

/// The most of one follow-up body a dead letter keeps: three 100 MB answers
/// must not cost the state 300 MB. The rest is cut, with a marker.
pub const DEAD_LETTER_BODY: usize = 1 << 20;

/// A follow-up as stored (bodies as text: they are JSON or error text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredFollowUp {
    pub request: Request,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl StoredFollowUp {
    pub fn new(request: &Request, response: &Response) -> StoredFollowUp {
        StoredFollowUp {
            request: request.clone(),
            status: response.status,
            headers: response.headers.clone(),
            body: String::from_utf8_lossy(&response.body).into_owned(),
        }
    }

    pub fn response(&self) -> Response {
        Response {
            status: self.status,
            headers: self.headers.clone(),
            body: self.body.clone().into_bytes(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payload {
    pub record: SourceRecord,
    pub follow_ups: Vec<StoredFollowUp>,
}

/// A payload as the state keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packed {
    /// SHA-256 of the uncompressed JSON.
    pub hash: [u8; 32],
    /// zstd-compressed JSON.
    pub data: Vec<u8>,
    /// Bytes of the uncompressed JSON.
    pub size: usize,
    /// The state's id of the dictionary `data` is compressed with, if any.
    pub dictionary: Option<i64>,
}

impl Payload {
    pub fn new(record: &SourceRecord, follow_ups: &[(Request, Response)]) -> Payload {
        Payload {
            record: record.clone(),
            follow_ups: follow_ups
                .iter()
                .map(|(q, r)| StoredFollowUp::new(q, r))
                .collect(),
        }
    }

    /// What a dead letter keeps: the record, and each follow-up body up to
    /// [`DEAD_LETTER_BODY`] bytes (cut on a character boundary, with a marker).
    pub fn for_dead_letter(record: &SourceRecord, follow_ups: &[(Request, Response)]) -> Payload {
        let mut payload = Payload::new(record, follow_ups);
        for f in &mut payload.follow_ups {
            let size = f.body.len();
            if size > DEAD_LETTER_BODY {
                let mut cut = DEAD_LETTER_BODY;
                while !f.body.is_char_boundary(cut) {
                    cut -= 1;
                }
                f.body.truncate(cut);
                f.body
                    .push_str(&format!("… [cut by aiod-host: {cut} of {size} bytes kept]"));
            }
        }
        payload
    }

    /// The follow-ups as the plugin is handed them.
    pub fn answers(&self) -> Vec<(Request, Response)> {
        self.follow_ups
            .iter()
            .map(|f| (f.request.clone(), f.response()))
            .collect()
    }

    /// Whether these stored answers are the answers to exactly the
    /// follow-ups `record` plans (another plugin may plan others).
    pub fn answers_plan_of(&self, record: &SourceRecord) -> bool {
        self.follow_ups.len() == record.follow_ups.len()
            && self
                .follow_ups
                .iter()
                .zip(&record.follow_ups)
                .all(|(f, planned)| &f.request == planned)
    }

    /// The JSON the state keeps, with any secret a server echoed masked.
    pub fn json(&self) -> String {
        crate::secret::redact(&serde_json::to_string(self).expect("a payload serialises"))
            .into_owned()
    }

    /// The content hash the state addresses this payload by.
    pub fn hash(&self) -> [u8; 32] {
        crate::digest::sha256(self.json().as_bytes())
    }
}

/// Compresses payloads for the state and reads them back: zstd, with the
/// state's dictionary once it has one. Its contexts cost more to make than a
/// small payload does to compress, so one codec is kept per open state.
pub struct Codec {
    compressor: zstd::bulk::Compressor<'static>,
    decompressor: zstd::bulk::Decompressor<'static>,
    dictionary: Option<Primed>,
}

/// Contexts primed with the state's dictionary, and its id there.
struct Primed {
    id: i64,
    compressor: zstd::bulk::Compressor<'static>,
    decompressor: zstd::bulk::Decompressor<'static>,
}

impl Codec {
    pub fn new() -> Result<Codec> {
        Ok(Codec {
            compressor: zstd::bulk::Compressor::new(LEVEL)?,
            decompressor: zstd::bulk::Decompressor::new()?,
            dictionary: None,
        })
    }

    /// Compresses from now on with `dictionary`, the state's row `id`.
    pub fn prime(&mut self, id: i64, dictionary: &[u8]) -> Result<()> {
        self.dictionary = Some(Primed {
            id,
            compressor: zstd::bulk::Compressor::with_dictionary(LEVEL, dictionary)?,
            decompressor: zstd::bulk::Decompressor::with_dictionary(dictionary)?,
        });
        Ok(())
    }

    pub fn has_dictionary(&self) -> bool {
        self.dictionary.is_some()
    }

    pub fn pack(&mut self, payload: &Payload) -> Packed {
        self.pack_json(&payload.json())
    }

    /// Compresses stored JSON, with the dictionary if there is one.
    pub fn pack_json(&mut self, json: &str) -> Packed {
        let (compressor, dictionary) = match &mut self.dictionary {
            Some(p) => (&mut p.compressor, Some(p.id)),
            None => (&mut self.compressor, None),
        };
        Packed {
            hash: crate::digest::sha256(json.as_bytes()),
            data: compressor
                .compress(json.as_bytes())
                .expect("in-memory compression"),
            size: json.len(),
            dictionary,
        }
    }

    /// The stored JSON of a payload compressed with `dictionary` (or none).
    pub fn unpack_json(
        &mut self,
        data: &[u8],
        size: usize,
        dictionary: Option<i64>,
    ) -> Result<Vec<u8>> {
        let decompressor = match (dictionary, &mut self.dictionary) {
            (None, _) => &mut self.decompressor,
            (Some(id), Some(p)) if p.id == id => &mut p.decompressor,
            (Some(id), _) => anyhow::bail!(
                "a stored payload is damaged: it needs compression dictionary {id}, \
                 which the state does not hold"
            ),
        };
        decompressor
            .decompress(data, size)
            .context("a stored payload is damaged")
    }

    pub fn unpack(&mut self, data: &[u8], size: usize, dictionary: Option<i64>) -> Result<Payload> {
        let json = self.unpack_json(data, size, dictionary)?;
        serde_json::from_slice(&json).context("a stored payload is unreadable")
    }
}

/// A zstd dictionary trained on stored payloads (their JSON); `None` when
/// they are too few or too alike for zstd to train on.
pub fn train(samples: &[Vec<u8>]) -> Option<Vec<u8>> {
    zstd::dict::from_samples(samples, DICTIONARY_BYTES).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dead_letter_keeps_at_most_a_mebibyte_of_each_follow_up() {
        let record = SourceRecord {
            id: "r".into(),
            label: "r".into(),
            version: "1".into(),
            data: "{}".into(),
            follow_ups: vec![],
        };
        let request = Request {
            endpoint: "e".into(),
            target: "/t".into(),
            query: vec![],
            headers: vec![],
        };
        let big = Response {
            status: 200,
            headers: vec![],
            body: "é".repeat(3 << 20).into_bytes(),
        };
        let small = Response {
            body: b"ok".to_vec(),
            ..big.clone()
        };
        let kept = Payload::for_dead_letter(&record, &[(request.clone(), big), (request, small)]);
        let body = &kept.follow_ups[0].body;
        assert!(body.len() < DEAD_LETTER_BODY + 100, "{}", body.len());
        assert!(body.ends_with(&format!(
            "… [cut by aiod-host: {DEAD_LETTER_BODY} of {} bytes kept]",
            6 << 20
        )));
        assert_eq!(kept.follow_ups[1].body, "ok");
    }

    fn record(plans: &[&str]) -> SourceRecord {
        SourceRecord {
            id: "r1".into(),
            label: "org/data".into(),
            version: "v1".into(),
            data: r#"{"id":"org/data"}"#.into(),
            follow_ups: plans.iter().map(|t| request(t)).collect(),
        }
    }

    fn request(target: &str) -> Request {
        Request {
            endpoint: "datasets-server".into(),
            target: target.into(),
            query: vec![],
            headers: vec![],
        }
    }

    fn ok() -> Response {
        Response {
            status: 200,
            headers: vec![],
            body: b"{}".to_vec(),
        }
    }

    #[test]
    fn a_payload_packs_to_a_content_hash_and_back() {
        let answer = Response {
            status: 500,
            headers: vec![("x-error-code".into(), "JobManagerCrashedError".into())],
            body: br#"{"error":"crashed"}"#.to_vec(),
        };
        let p = Payload::new(
            &record(&["/parquet"]),
            &[(request("/parquet"), answer.clone())],
        );
        let mut codec = Codec::new().unwrap();
        let packed = codec.pack(&p);
        assert_eq!(packed.hash, p.hash(), "the same content, the same hash");
        assert_eq!(packed.dictionary, None);
        let back = codec.unpack(&packed.data, packed.size, None).unwrap();
        assert_eq!(back, p);
        assert_eq!(back.answers(), [(request("/parquet"), answer)]);
        assert!(codec.unpack(&packed.data[1..], packed.size, None).is_err());
    }

    /// Payloads alike but each different, as a catalogue's are.
    fn payloads(n: usize) -> Vec<Payload> {
        (0..n)
            .map(|i| {
                let mut r = record(&["/parquet"]);
                r.id = format!("{i:024x}");
                r.label = format!("org-{}/data-{}", i % 37, i * 7919 % 1009);
                r.data = format!(
                    r#"{{"id":"{}","downloads":{},"tags":["license:mit","size_categories:n<1K"]}}"#,
                    r.label,
                    i * 31
                );
                let body = format!(
                    r#"{{"parquet_files":[{{"dataset":"{}","config":"default","split":"train","url":"https://huggingface.co/datasets/{}/resolve/refs%2Fconvert%2Fparquet/default/train/0000.parquet","size":{}}}],"pending":[],"failed":[],"partial":false}}"#,
                    r.label,
                    r.label,
                    i * 4099
                );
                let answer = Response {
                    status: 200,
                    headers: vec![("content-type".into(), "application/json".into())],
                    body: body.into_bytes(),
                };
                Payload::new(&r, &[(request("/parquet"), answer)])
            })
            .collect()
    }

    #[test]
    fn a_dictionary_trained_on_the_store_shrinks_its_payloads_and_reads_them_back() {
        let all = payloads(600);
        let (training, rest) = all.split_at(400);
        let samples: Vec<Vec<u8>> = training.iter().map(|p| p.json().into_bytes()).collect();
        let dictionary = train(&samples).expect("a dictionary");
        let mut plain = Codec::new().unwrap();
        let mut primed = Codec::new().unwrap();
        primed.prime(7, &dictionary).unwrap();
        let (mut before, mut after) = (0, 0);
        for p in rest {
            let a = plain.pack(p);
            let b = primed.pack(p);
            assert_eq!((a.hash, b.dictionary), (b.hash, Some(7)));
            assert_eq!(primed.unpack(&b.data, b.size, Some(7)).unwrap(), *p);
            // What was stored before the dictionary still reads.
            assert_eq!(primed.unpack(&a.data, a.size, None).unwrap(), *p);
            before += a.data.len();
            after += b.data.len();
        }
        assert!(
            after * 2 < before,
            "{after} bytes with the dictionary, {before} without"
        );
        let b = primed.pack(&rest[0]);
        let err = plain.unpack(&b.data, b.size, Some(7)).unwrap_err();
        assert!(err.to_string().contains("dictionary 7"), "{err}");
    }

    #[test]
    fn too_few_samples_train_no_dictionary() {
        assert_eq!(train(&[b"{}".to_vec()]), None);
    }

    #[test]
    fn stored_answers_serve_only_the_same_plan() {
        let p = Payload::new(&record(&["/parquet"]), &[]);
        assert!(
            !p.answers_plan_of(&record(&["/parquet"])),
            "an answer is missing"
        );
        let p = Payload::new(&record(&["/parquet"]), &[(request("/parquet"), ok())]);
        assert!(p.answers_plan_of(&record(&["/parquet"])));
        assert!(!p.answers_plan_of(&record(&["/size"])));
        assert!(!p.answers_plan_of(&record(&[])));
    }
}
