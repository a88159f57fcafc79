//! `aiod-host check`: is everything a sync needs in place? Configuration, the
//! plugin, every endpoint it uses, the Keycloak token and the AIoD role are
//! each checked and reported, without fetching a listing or writing anything.

use crate::cli::CommonArgs;
use crate::session::Session;
use crate::transport::{Live, Transport};
use std::process::ExitCode;

/// The outcome of one check, as the operator reads it.
struct Line {
    ok: bool,
    what: String,
    detail: String,
}

fn ok(what: impl Into<String>, detail: impl Into<String>) -> Line {
    Line {
        ok: true,
        what: what.into(),
        detail: detail.into(),
    }
}

fn fail(what: impl Into<String>, detail: impl std::fmt::Display) -> Line {
    Line {
        ok: false,
        what: what.into(),
        detail: format!("{detail:#}"),
    }
}

/// Prints each outcome as it comes, and counts them.
#[derive(Default)]
struct Report {
    passed: usize,
    failed: usize,
}

impl Report {
    fn add(&mut self, line: Line) {
        let mark = if line.ok { "ok  " } else { "FAIL" };
        let detail = crate::secret::redact(&line.detail);
        println!("{mark}  {}: {detail}", line.what);
        if line.ok {
            self.passed += 1;
        } else {
            self.failed += 1;
        }
    }

    fn finish(self) -> ExitCode {
        let total = self.passed + self.failed;
        if self.failed == 0 {
            println!("all {total} checks passed");
            ExitCode::SUCCESS
        } else {
            println!("{} of {total} checks failed", self.failed);
            ExitCode::from(1)
        }
    }
}

/// Checks stop at the first failure that makes the later ones meaningless
/// (no configuration, no token); the others are all reported.
pub fn check(mut args: CommonArgs) -> ExitCode {
    // A check reports what it finds; it does not wait out retries.
    args.net.retries = 0;
    let mut report = Report::default();
    let mut session = match Session::open(&args) {
        Ok(s) => s,
        Err(e) => {
            report.add(fail("configuration", e));
            return report.finish();
        }
    };
    report.add(ok(
        "configuration",
        match &session.config.config_file {
            Some(p) => format!("{} (see `aiod-host config show`)", p.display()),
            None => "no config file; flags, environment and defaults".to_string(),
        },
    ));
    let inspection = session.plugin.inspect();
    report.add(ok(
        "plugin",
        format!(
            "{} {} for platform {}, contract {}",
            inspection.name, inspection.version, inspection.platform, inspection.contract
        ),
    ));

    match session.plugin.probes(&session.config.platform.value) {
        Err(e) => report.add(fail("plugin probes", e)),
        Ok(probes) => {
            let transport = Live {
                fetcher: &session.fetcher,
                endpoints: &session.config.endpoints,
            };
            for probe in probes {
                let what = format!("endpoint {}", probe.endpoint);
                let url = session
                    .config
                    .endpoints
                    .url_for(&probe)
                    .map(|u| u.to_string())
                    .unwrap_or_else(|_| probe.target.clone());
                let got = session.runtime.block_on(transport.get(
                    &probe,
                    "probe",
                    session.plugin.answers(),
                    session.limits.listing,
                ));
                report.add(match got {
                    Ok(r) if (200..300).contains(&r.status) => {
                        ok(what, format!("GET {url} answered {}", r.status))
                    }
                    Ok(r) => fail(what, format!("GET {url} answered {}", r.status)),
                    Err(e) => fail(what, format!("GET {url}: {e}")),
                });
            }
        }
    }

    let aiod = match session.aiod() {
        Ok(a) => a,
        Err(e) => {
            report.add(fail("AIoD settings", e));
            return report.finish();
        }
    };
    report.add(ok("AIoD settings", aiod.catalogue()));
    let runtime = session.runtime.handle().clone();
    match runtime.block_on(aiod.token_works()) {
        Ok(client) => report.add(ok(
            "AIoD token",
            format!("Keycloak issued a token to client {client:?}"),
        )),
        Err(e) => {
            report.add(fail("AIoD token", e));
            return report.finish();
        }
    }
    let platform = session.config.platform.value.clone();
    report.add(
        match runtime.block_on(crate::aiod::upload::preflight(&aiod, &platform)) {
            Ok(()) => ok(
                "AIoD role",
                format!("the client may upload for platform {platform:?}"),
            ),
            Err(e) => fail("AIoD role", e),
        },
    );
    report.add(match runtime.block_on(aiod.platforms()) {
        Ok(names) if names.contains(&platform) => ok(
            "AIoD platform",
            format!("{platform:?} is registered in {}", aiod.catalogue()),
        ),
        Ok(names) => fail(
            "AIoD platform",
            format!(
                "{platform:?} is not registered in {} (it has {}): every upload would be \
                 refused (412) until an AIoD administrator registers it (POST /platforms)",
                aiod.catalogue(),
                names.join(", ")
            ),
        ),
        Err(e) => fail("AIoD platform", e),
    });
    report.finish()
}
