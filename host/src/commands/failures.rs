//! `aiod-host failures`: the dead letters of a state, for a person or (`--json`) a script.

use super::Result;
use crate::cli::StateArgs;
use crate::state::State;
use std::process::ExitCode;

pub fn failures(args: StateArgs) -> Result<ExitCode> {
    let path = crate::config::state_to_read(args.state, args.platform_name.as_deref())?;
    let state = State::open(&path)?;
    let letters = state.dead_letters()?;
    for d in &letters {
        if args.json {
            println!(
                "{}",
                serde_json::json!({
                    "id": d.record.id, "label": d.record.label, "version": d.record.version,
                    "stage": d.stage, "error": d.error, "attempts": d.attempts,
                    "failed_at": d.failed_at, "plugin": d.plugin, "record_hash": d.record_hash,
                    "payload": d.payload,
                })
            );
        } else {
            println!(
                "{} ({})\n  stage:    {}\n  error:    {}\n  attempts: {}, last {}\n  plugin:   {}\n  payload:  {}\n",
                d.record.label,
                d.record.id,
                d.stage,
                d.error,
                d.attempts,
                d.failed_at,
                d.plugin,
                d.payload
                    .as_deref()
                    .unwrap_or("(kept before the payload store)")
            );
        }
    }
    if !args.json {
        println!("{} dead letter(s) in {}", letters.len(), path.display());
    }
    Ok(ExitCode::SUCCESS)
}
