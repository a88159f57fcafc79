//! `aiod-host status`: what a state holds, for an operator or (`--json`) a
//! script: records by outcome, assets, dead letters, the payload store's size,
//! records and assets by the plugin that mapped them, and the last passes.

use super::Result;
use crate::cli::StateArgs;
use crate::state::State;
use std::process::ExitCode;

/// Passes shown.
const LAST_PASSES: usize = 5;

pub fn status(args: StateArgs) -> Result<ExitCode> {
    let path = crate::config::state_to_read(args.state, args.platform_name.as_deref())?;
    let h = State::open(&path)?.status(LAST_PASSES)?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&h).map_err(anyhow::Error::from)?
        );
        return Ok(ExitCode::SUCCESS);
    }
    let mib = |b: u64| b as f64 / (1 << 20) as f64;
    println!("state:        {}", path.display());
    let records: u64 = h.records.iter().map(|(_, n)| n).sum();
    let outcomes: Vec<String> = h
        .records
        .iter()
        .map(|(o, n)| format!("{n} {}", o.as_str()))
        .collect();
    println!("records:      {records} ({})", outcomes.join(", "));
    println!(
        "assets:       {} ({} found in AIoD, not listed yet)",
        h.assets, h.imported_assets
    );
    println!("dead letters: {}", h.dead_letters);
    println!(
        "payloads:     {} ({:.1} MiB stored, {:.1} MiB uncompressed{})",
        h.payloads,
        mib(h.payload_bytes),
        mib(h.payload_size),
        match records {
            0 => String::new(),
            n => format!(", {} bytes per record", h.payload_bytes / n),
        }
    );
    for p in &h.by_plugin {
        let plugin = if p.plugin.is_empty() {
            "(unknown)"
        } else {
            &p.plugin
        };
        println!(
            "plugin:       {plugin}: {} records, {} assets",
            p.records, p.assets
        );
    }
    for p in &h.passes {
        println!(
            "pass {}:     {} {}, started {}{}, {} pages",
            p.id,
            p.kind.as_str(),
            p.status.as_str(),
            p.started_at,
            p.completed_at
                .as_deref()
                .map_or(String::new(), |c| format!(", completed {c}")),
            p.pages
        );
    }
    Ok(ExitCode::SUCCESS)
}
