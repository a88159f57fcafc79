//! Logs go to standard error, so standard output carries only data (`--dry-run`).

use crate::cli::LogArgs;
use tracing_subscriber::EnvFilter;

/// Maps Python's level names (as today's connector takes them) to tracing's.
fn level(name: &str) -> &'static str {
    match name {
        "critical" | "fatal" | "error" => "error",
        "warning" | "warn" => "warn",
        "info" => "info",
        "debug" => "debug",
        _ => "trace",
    }
}

pub fn init(args: &LogArgs) {
    let directives = format!(
        "{},aiod_host={}",
        level(&args.root_log_level),
        level(&args.app_log_level)
    );
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(directives))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
}
