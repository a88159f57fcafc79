//! Logs go to standard error, so standard output carries only data (`--dry-run`).

use crate::cli::{LogArgs, LogFormat};
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
    let logs = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(directives))
        .with_writer(|| crate::secret::MaskedStderr)
        .with_target(false);
    match args.log_format {
        LogFormat::Text => logs
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
        // One object per line: level, timestamp, message and the event's fields at the top.
        LogFormat::Json => logs.json().flatten_event(true).init(),
    }
}
