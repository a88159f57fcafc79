//! aiod-host: keeps the AI-on-Demand catalogue in sync with external platforms
//! through WebAssembly plugins. `main.rs` parses the command line and calls a
//! command in `commands`; everything else is here.

pub mod aiod;
pub mod answers;
pub mod budget;
pub mod catalogue_diff;
pub mod cli;
pub mod commands;
pub mod config;
pub mod deletes;
pub mod digest;
pub mod dry_run;
pub mod endpoints;
#[cfg(test)]
mod extremes;
pub mod fetch;
pub mod fixtures;
pub mod jsondiff;
pub mod lock;
pub mod logging;
pub mod metrics;
pub mod mode;
pub mod model;
pub mod names;
pub mod pages;
pub mod payload;
pub mod plugin;
pub mod progress;
pub mod retry;
pub mod scaffold;
pub mod schedule;
pub mod secret;
pub mod session;
pub mod state;
pub mod summary;
pub mod sync;
pub mod transport;
pub mod upload_sync;
