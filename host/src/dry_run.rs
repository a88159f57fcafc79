//! `--dry-run`: assets as JSON lines on standard output instead of uploads.

use crate::model::{Asset, SourceRecord};
use crate::sync::Sink;
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
    async fn put(&mut self, _record: &SourceRecord, asset: Asset) -> anyhow::Result<()> {
        serde_json::to_writer(&mut self.out, &asset)?;
        self.out.write_all(b"\n")?;
        Ok(())
    }
}
