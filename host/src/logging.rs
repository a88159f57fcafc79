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

/// The compiler's crates: at trace level they log every instruction of every
/// plugin they compile (a gigabyte for a componentize-py plugin), so a root
/// level below `info` does not reach them; `RUST_LOG` naming them does.
const COMPILER: &[&str] = &[
    "cranelift_codegen",
    "cranelift_frontend",
    "cranelift_entity",
    "regalloc2",
    "wasmparser",
    "wasmtime",
    "wasmtime_environ",
    "wasmtime_internal_cranelift",
    "wasmtime_internal_environ",
    "wit_component",
];

/// The filter: the root level for libraries (the compiler at most `info`),
/// the app level for aiod-host, then `RUST_LOG`'s own directives.
fn directives(root: &str, app: &str, rust_log: Option<&str>) -> String {
    let root = level(root);
    let mut out = format!("{root},aiod_host={}", level(app));
    if matches!(root, "debug" | "trace") {
        for target in COMPILER {
            out.push_str(&format!(",{target}=info"));
        }
    }
    if let Some(extra) = rust_log.filter(|r| !r.trim().is_empty()) {
        out.push(',');
        out.push_str(extra);
    }
    out
}

pub fn init(args: &LogArgs) {
    let rust_log = std::env::var("RUST_LOG").ok();
    let directives = directives(
        &args.root_log_level,
        &args.app_log_level,
        rust_log.as_deref(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compiler_stays_quiet_unless_named() {
        assert_eq!(directives("error", "info", None), "error,aiod_host=info");
        let trace = directives("trace", "info", None);
        assert!(
            trace.starts_with("trace,aiod_host=info,cranelift_codegen=info,"),
            "{trace}"
        );
        let asked = directives("trace", "debug", Some("cranelift_codegen=trace"));
        assert!(asked.ends_with(",cranelift_codegen=trace"), "{asked}");
    }
}
