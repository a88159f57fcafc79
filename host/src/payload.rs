//! What a record's mapping was made from: the record as listed and each
//! follow-up's request and answer. The state keeps it compressed and
//! addressed by the hash of its content, so that a new plugin maps the record
//! again without asking the platform, `plugin diff --state` compares two
//! plugins on the whole catalogue, and a dead letter is retried from it.

use crate::model::{Request, Response, SourceRecord};
use anyhow::{Context as _, Result};
use serde::{Deserialize, Serialize};

/// zstd's default level: ~5x on listing JSON at a few hundred MB/s.
const LEVEL: i32 = 3;

thread_local! {
    // A zstd context costs more to make than a small payload does to
    // compress: one of each per thread, reused.
    static COMPRESSOR: std::cell::RefCell<zstd::bulk::Compressor<'static>> =
        std::cell::RefCell::new(zstd::bulk::Compressor::new(LEVEL).expect("a zstd context"));
    static DECOMPRESSOR: std::cell::RefCell<zstd::bulk::Decompressor<'static>> =
        std::cell::RefCell::new(zstd::bulk::Decompressor::new().expect("a zstd context"));
}

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
    pub hash: String,
    /// zstd-compressed JSON.
    pub data: Vec<u8>,
    /// Bytes of the uncompressed JSON.
    pub size: usize,
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

    /// Serialised with any secret a server echoed masked, hashed, compressed.
    pub fn pack(&self) -> Packed {
        let json = serde_json::to_string(self).expect("a payload serialises");
        let json = crate::secret::redact(&json);
        let data = COMPRESSOR
            .with_borrow_mut(|c| c.compress(json.as_bytes()))
            .expect("in-memory compression");
        Packed {
            hash: crate::digest::hex(json.as_bytes()),
            data,
            size: json.len(),
        }
    }

    pub fn unpack(data: &[u8], size: usize) -> Result<Payload> {
        let json = DECOMPRESSOR
            .with_borrow_mut(|d| d.decompress(data, size))
            .context("a stored payload is damaged")?;
        serde_json::from_slice(&json).context("a stored payload is unreadable")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let packed = p.pack();
        assert_eq!(
            packed.hash,
            p.pack().hash,
            "the same content, the same hash"
        );
        let back = Payload::unpack(&packed.data, packed.size).unwrap();
        assert_eq!(back, p);
        assert_eq!(back.answers(), [(request("/parquet"), answer)]);
        assert!(Payload::unpack(&packed.data[1..], packed.size).is_err());
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
