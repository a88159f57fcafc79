//! `aiod-host reset-pass`: abandons a state's unfinished passes on purpose, e.g.
//! when its stored cursor points somewhere the operator no longer wants to go.
//! The next sync starts a new pass; an abandoned pass deletes nothing.

use super::Result;
use crate::cli::StateArgs;
use crate::state::{PassKind, State};
use std::process::ExitCode;

pub fn reset_pass(args: StateArgs) -> Result<ExitCode> {
    let path = crate::config::state_to_read(args.state, args.platform_name.as_deref())?;
    // Not while a sync uses the state: it would carry on with its pass.
    let _lock = crate::lock::acquire(&path)?;
    let mut state = State::open(&path)?;
    let mut abandoned = Vec::new();
    for kind in [PassKind::All, PassKind::Since] {
        if let Some(pass) = state.open_pass(kind)? {
            state.abandon_pass(pass.id)?;
            abandoned.push(pass);
        }
    }
    if args.json {
        let ids: Vec<i64> = abandoned.iter().map(|p| p.id).collect();
        println!("{}", serde_json::json!({ "abandoned": ids }));
        return Ok(ExitCode::SUCCESS);
    }
    if abandoned.is_empty() {
        println!("no unfinished pass in {}", path.display());
    }
    for pass in abandoned {
        println!(
            "abandoned pass {} ({}, started {}, {} pages read); the next sync starts a new pass",
            pass.id,
            pass.kind.as_str(),
            pass.started_at,
            pass.pages
        );
    }
    Ok(ExitCode::SUCCESS)
}
