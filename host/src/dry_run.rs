//! `--dry-run`: assets as JSON lines on standard output instead of uploads.
//! An asset the state knows with the same body (`remap --dry-run`) would not
//! be uploaded, so it is not printed.

use crate::aiod::normalize::fingerprint;
use crate::model::Asset;
use crate::state::StoredAsset;
use crate::sync::{Outcome, Put, PutError, Sink};
use std::cell::RefCell;
use std::io::Write;

/// One record at a time (the default `in_flight`), so lines come in listing order.
pub struct DryRun<W: Write> {
    out: RefCell<W>,
}

impl<W: Write> DryRun<W> {
    pub fn new(out: W) -> Self {
        DryRun {
            out: RefCell::new(out),
        }
    }

    pub fn finish(self) -> std::io::Result<()> {
        self.out.into_inner().flush()
    }
}

impl<W: Write> Sink for DryRun<W> {
    async fn put(&self, asset: Asset, previous: Option<StoredAsset>) -> Result<Put, PutError> {
        if let Some(previous) = previous {
            let schema = aiod_schema::Schema::bundled();
            let same = schema
                .request_schema(&asset.asset_type)
                .is_some_and(|name| fingerprint(schema, name, &asset.body) == previous.body_hash);
            if same {
                return Ok(Put {
                    outcome: Outcome::Unchanged,
                    stored: None,
                });
            }
        }
        let mut line = serde_json::to_vec(&asset).expect("assets serialise");
        line.push(b'\n');
        self.out
            .borrow_mut()
            .write_all(&line)
            .map_err(|e| PutError::Fatal(format!("cannot write to standard output: {e}")))?;
        Ok(Put {
            outcome: Outcome::Printed,
            stored: None,
        })
    }
}
