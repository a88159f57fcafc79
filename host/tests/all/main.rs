//! Integration tests: the `aiod-host` binary against the local servers, one
//! module per topic (one test binary keeps linking cheap).

mod support;

mod check;
mod config;
mod deletes;
mod dry_run;
mod errors;
mod follow_ups;
mod http;
mod listing;
mod logs;
mod misbehaving;
mod modes;
mod openml;
mod pagination;
mod plugins;
mod remap;
mod resilience;
mod run_sh;
mod scaffold;
mod serve;
mod upload;
mod zenodo;
