//! `--dry-run`: assets as JSON lines on standard output instead of uploads.

use crate::model::Asset;
use crate::state::StoredAsset;
use crate::sync::{Outcome, Put, PutError, Sink};
use std::io::Write;

pub struct DryRun<W: Write> {
    out: W,
}

impl<W: Write> DryRun<W> {
    pub fn new(out: W) -> Self {
        DryRun { out }
    }

    pub fn finish(mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

impl<W: Write> Sink for DryRun<W> {
    async fn put(&mut self, asset: Asset, _previous: Option<StoredAsset>) -> Result<Put, PutError> {
        let mut line = serde_json::to_vec(&asset).expect("assets serialise");
        line.push(b'\n');
        self.out
            .write_all(&line)
            .map_err(|e| PutError::Fatal(format!("cannot write to standard output: {e}")))?;
        Ok(Put {
            outcome: Outcome::Printed,
            stored: None,
        })
    }
}
