//! How far a sync has come: a progress bar with rate and ETA on a terminal,
//! otherwise a log line every so often.

use crate::summary::Summary;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::time::{Duration, Instant};

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Display {
    /// A bar on standard error (a terminal).
    Bar,
    /// A log line at most this often.
    Lines(Duration),
    /// Nothing (plugin tests, fixtures).
    Quiet,
}

impl Display {
    /// A bar when standard error is a terminal, else lines every `every`.
    pub fn for_stderr(every: Duration) -> Display {
        if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            Display::Bar
        } else {
            Display::Lines(every)
        }
    }
}

pub struct Progress {
    display: Display,
    bar: Option<ProgressBar>,
    /// Records expected (from the state's last full listing), when known.
    total: Option<u64>,
    started: Instant,
    last_line: Instant,
}

impl Progress {
    pub fn new(display: Display, total: Option<u64>) -> Progress {
        let bar = (display == Display::Bar).then(|| {
            let bar = match total {
                Some(n) => ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr()),
                None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
            };
            let template = if total.is_some() {
                "{bar:30} {pos}/{len} records ({per_sec}, ETA {eta}) {msg}"
            } else {
                "{spinner} {pos} records ({per_sec}) {msg}"
            };
            bar.set_style(ProgressStyle::with_template(template).expect("a valid template"));
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        let now = Instant::now();
        Progress {
            display,
            bar,
            total,
            started: now,
            last_line: now,
        }
    }

    pub fn quiet() -> Progress {
        Progress::new(Display::Quiet, None)
    }

    /// The sync's counts so far.
    pub fn update(&mut self, now: &Summary) {
        let done = now.done();
        if let Some(bar) = &self.bar {
            bar.set_position(done);
            bar.set_message(format!(
                "created {}, updated {}, failed {}",
                now.created, now.updated, now.failed
            ));
        }
        if let Display::Lines(every) = self.display
            && self.last_line.elapsed() >= every
        {
            self.last_line = Instant::now();
            tracing::info!("progress: {}", self.line(now));
        }
    }

    /// `1200 of ~5000 records (24%), 310/s, ETA 12s; created 3, …`.
    fn line(&self, s: &Summary) -> String {
        let done = s.done();
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        let rate = done as f64 / secs;
        let of = match self.total {
            Some(total) if total > 0 => {
                let eta = total.saturating_sub(done) as f64 / rate.max(0.001);
                format!(
                    " of ~{total} ({:.0}%), ETA {}s",
                    100.0 * done as f64 / total as f64,
                    eta.round()
                )
            }
            _ => String::new(),
        };
        format!("{done} records{of}, {rate:.0}/s; {s}")
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_progress_line_shows_share_rate_and_counts() {
        let p = Progress::new(Display::Quiet, Some(400));
        let s = Summary {
            seen: 120,
            created: 100,
            unchanged: 20,
            ..Summary::default()
        };
        let line = p.line(&s);
        assert!(line.starts_with("120 records of ~400 (30%), "), "{line}");
        assert!(line.ends_with("; seen 120, created 100, updated 0, unchanged 20, skipped 0, failed 0 (0 pages, 0 warnings)"), "{line}");
    }
}
