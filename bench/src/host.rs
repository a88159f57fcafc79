//! Running the release `aiod-host` as a black box: one `run` (or `remap`, `plugin diff`,
//! `status`) against the local stand-ins, timed, with its peak memory and CPU time from `wait4`.

use std::ffi::OsString;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde_json::Value;

use crate::servers::{CLIENT, Urls};

/// How to run the host.
#[derive(Debug, Clone)]
pub struct Host {
    pub exe: PathBuf,
    pub plugin: PathBuf,
    /// Working directory of the host (the workspace root).
    pub root: PathBuf,
    /// HOME, logs, states and the compiled-plugin cache live under here.
    pub work: PathBuf,
    /// Added to every `run` (e.g. `--concurrency 16`).
    pub extra: Vec<String>,
}

/// What one run took.
#[derive(Debug, Clone)]
pub struct Run {
    pub wall: Duration,
    /// Peak resident set size of the host process (its `VmHWM`), in bytes.
    pub max_rss: u64,
    /// User + system CPU time of the host process.
    pub cpu: Duration,
    /// User + system CPU time of this process meanwhile: the local servers.
    pub servers_cpu: Duration,
    /// The host's `--summary-json`.
    pub summary: Value,
}

impl Run {
    pub fn summary_count(&self, key: &str) -> u64 {
        self.summary[key].as_u64().unwrap_or(0)
    }
}

/// Budgets so high that they never wait, for unthrottled runs.
pub fn unlimited_budgets() -> Vec<String> {
    budgets(1_000_000, Duration::from_secs(1))
}

/// `--budget` flags for both Hugging Face endpoints.
pub fn budgets(requests: u32, window: Duration) -> Vec<String> {
    ["hub", "datasets-server"]
        .iter()
        .flat_map(|endpoint| {
            [
                "--budget".to_owned(),
                format!("{endpoint}={requests}/{}", window.as_secs()),
            ]
        })
        .collect()
}

impl Host {
    pub fn home(&self) -> PathBuf {
        self.work.join("home")
    }

    pub fn cache(&self) -> PathBuf {
        self.work.join("plugin-cache")
    }

    /// A fresh state path (any previous database there is removed).
    pub fn fresh_state(&self, name: &str) -> anyhow::Result<PathBuf> {
        let dir = self.work.join("states");
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(format!("{name}.sqlite"));
        for suffix in ["", "-wal", "-shm"] {
            let file = PathBuf::from(format!("{}{suffix}", path.display()));
            match std::fs::remove_file(&file) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e).with_context(|| format!("removing {}", file.display())),
            }
        }
        Ok(path)
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.exe);
        for var in [
            "HF_ENDPOINT",
            "HF_DATASETS_SERVER_ENDPOINT",
            "HF_TOKEN",
            "AIOD_HF_API_KEY",
            "PLATFORM_NAME",
            "CLIENT_SECRET",
            "AIOD_API_SERVER",
            "AIOD_AUTH_SERVER",
            "AIOD_API_VERSION",
            "AIOD_CLIENT_ID",
            "AIOD_REALM",
            "AIOD_HOST_STATE",
            "AIOD_HOST_CACHE_DIR",
            "XDG_DATA_HOME",
            "XDG_CACHE_HOME",
            "RUST_LOG",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("HOME", self.home())
            .env("AIOD_HOST_CACHE_DIR", self.cache())
            .current_dir(&self.root);
        cmd
    }

    /// Compiles the plugin into the host's compiled-plugin cache, so that timed runs load it
    /// warm, as every run after the first does in production.
    pub fn warm_plugin_cache(&self) -> anyhow::Result<()> {
        std::fs::create_dir_all(self.home())?;
        let out = self
            .command()
            .args(["plugin", "inspect"])
            .arg(&self.plugin)
            .output()
            .with_context(|| format!("starting {}", self.exe.display()))?;
        if !out.status.success() {
            bail!(
                "aiod-host plugin inspect failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(())
    }

    /// `aiod-host run --plugin P --mode all --state STATE ARGS…` against `urls`, uploading.
    /// Fails unless the host exits 0 with no failed record.
    pub fn run(
        &self,
        urls: &Urls,
        state: &Path,
        args: &[String],
        name: &str,
    ) -> anyhow::Result<Run> {
        let name = file_name(name);
        let summary_path = self.logs()?.join(format!("{name}.summary.json"));
        let _ = std::fs::remove_file(&summary_path);
        let mut argv: Vec<OsString> = vec!["run".into(), "--plugin".into()];
        argv.push(self.plugin.clone().into());
        argv.extend(["--mode", "all", "--state"].map(OsString::from));
        argv.push(state.into());
        argv.push("--summary-json".into());
        argv.push(summary_path.clone().into());
        argv.extend(args.iter().map(OsString::from));
        argv.extend(self.extra.iter().map(OsString::from));
        let m = self.exec(Some(urls), &argv, &name)?;
        m.exited_with(&name, &[0])?;
        let summary: Value = serde_json::from_str(
            &std::fs::read_to_string(&summary_path)
                .with_context(|| format!("reading {}", summary_path.display()))?,
        )?;
        if summary["failed"].as_u64() != Some(0) {
            bail!(
                "aiod-host ({name}) failed records: {summary}; its log: {}",
                m.log.display()
            );
        }
        Ok(Run {
            wall: m.wall,
            max_rss: m.max_rss,
            cpu: m.cpu,
            servers_cpu: m.servers_cpu,
            summary,
        })
    }

    /// `aiod-host remap --plugin P --state STATE [--dry-run]` against `urls` (the AIoD
    /// stand-in's token and role check; a dry run asks nothing). Fails unless it exits 0 with
    /// no failed record; the summary is read from its `summary:` line.
    pub fn remap(
        &self,
        urls: &Urls,
        state: &Path,
        dry_run: bool,
        name: &str,
    ) -> anyhow::Result<(Measured, Value)> {
        let name = file_name(name);
        let mut argv: Vec<OsString> = vec!["remap".into(), "--plugin".into()];
        argv.push(self.plugin.clone().into());
        argv.push("--state".into());
        argv.push(state.into());
        if dry_run {
            argv.push("--dry-run".into());
        }
        let m = self.exec(Some(urls), &argv, &name)?;
        m.exited_with(&name, &[0])?;
        let log = std::fs::read_to_string(&m.log)?;
        let summary = log
            .lines()
            .rev()
            .find_map(|l| l.split_once("summary: ").map(|(_, s)| parse_summary(s)))
            .with_context(|| format!("no summary line in {}", m.log.display()))?;
        if summary["failed"].as_u64() != Some(0) {
            bail!(
                "aiod-host ({name}) failed records: {summary}; its log: {}",
                m.log.display()
            );
        }
        Ok((m, summary))
    }

    /// `aiod-host plugin diff OLD NEW --state STATE` (this host's plugin is OLD), which exits
    /// 0 when nothing changes and 1 when something does.
    pub fn plugin_diff(&self, new: &Path, state: &Path, name: &str) -> anyhow::Result<Measured> {
        let name = file_name(name);
        let mut argv: Vec<OsString> = vec!["plugin".into(), "diff".into()];
        argv.push(self.plugin.clone().into());
        argv.push(new.into());
        argv.push("--state".into());
        argv.push(state.into());
        let m = self.exec(None, &argv, &name)?;
        m.exited_with(&name, &[0, 1])?;
        Ok(m)
    }

    /// `aiod-host status --state STATE --json`.
    pub fn status(&self, state: &Path) -> anyhow::Result<Value> {
        let argv: Vec<OsString> = vec![
            "status".into(),
            "--state".into(),
            state.into(),
            "--json".into(),
        ];
        let m = self.exec(None, &argv, "status")?;
        m.exited_with("status", &[0])?;
        serde_json::from_str(&m.stdout_head).context("aiod-host status --json")
    }

    fn logs(&self) -> anyhow::Result<PathBuf> {
        let logs = self.work.join("logs");
        std::fs::create_dir_all(&logs)?;
        std::fs::create_dir_all(self.home())?;
        Ok(logs)
    }

    /// Runs the host with `argv` (and the stand-ins' addresses in its environment, if any),
    /// its standard error to `logs/NAME.log`, its standard output counted in lines (the
    /// first [`STDOUT_HEAD`] bytes kept); timed, with its peak memory and CPU.
    pub fn exec(
        &self,
        urls: Option<&Urls>,
        argv: &[OsString],
        name: &str,
    ) -> anyhow::Result<Measured> {
        let log = self.logs()?.join(format!("{}.log", file_name(name)));
        let mut cmd = self.command();
        if let Some(urls) = urls {
            cmd.env("HF_ENDPOINT", &urls.hub)
                .env("HF_DATASETS_SERVER_ENDPOINT", &urls.datasets_server)
                .env("AIOD_API_SERVER", &urls.aiod_api)
                .env("AIOD_AUTH_SERVER", &urls.aiod_auth)
                .env("AIOD_CLIENT_ID", CLIENT.0)
                .env("CLIENT_SECRET", CLIENT.1);
        }
        cmd.args(argv)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(File::create(&log).with_context(|| format!("creating {}", log.display()))?);

        let servers_before = own_cpu();
        let started = Instant::now();
        let mut child = cmd
            .spawn()
            .with_context(|| format!("starting {}", self.exe.display()))?;
        let stdout = child.stdout.take().context("the host's stdout")?;
        let (max_rss, wall, (status, usage), (stdout_lines, stdout_head)) =
            std::thread::scope(|s| {
                let reader = s.spawn(move || count_lines(stdout));
                let measured = (|| {
                    let max_rss = watch_peak_rss(child.id())?;
                    let wall = started.elapsed();
                    anyhow::Ok((max_rss, wall, wait4(child.id())?))
                })();
                let read = reader.join().expect("the stdout reader does not panic");
                let (max_rss, wall, waited) = measured?;
                anyhow::Ok((max_rss, wall, waited, read?))
            })?;
        let servers_cpu = own_cpu().saturating_sub(servers_before);
        Ok(Measured {
            wall,
            max_rss,
            cpu: usage.cpu,
            servers_cpu,
            status,
            stdout_lines,
            stdout_head,
            log,
        })
    }
}

/// Bytes of a host's standard output kept in [`Measured::stdout_head`].
pub const STDOUT_HEAD: usize = 1 << 20;

/// What one host process took and printed.
#[derive(Debug)]
pub struct Measured {
    pub wall: Duration,
    /// Peak resident set size (`VmHWM`), in bytes.
    pub max_rss: u64,
    /// User + system CPU time of the host process.
    pub cpu: Duration,
    /// User + system CPU time of this process meanwhile: the local servers.
    pub servers_cpu: Duration,
    pub status: std::process::ExitStatus,
    /// Lines on its standard output.
    pub stdout_lines: u64,
    /// The start of its standard output.
    pub stdout_head: String,
    /// Its standard error.
    pub log: PathBuf,
}

impl Measured {
    /// Fails unless the host exited with one of `codes`, naming its log.
    fn exited_with(&self, name: &str, codes: &[i32]) -> anyhow::Result<()> {
        if !self.status.code().is_some_and(|c| codes.contains(&c)) {
            bail!(
                "aiod-host ({name}) exited with {}; its log: {}",
                self.status,
                self.log.display()
            );
        }
        Ok(())
    }
}

/// Reads `from` to its end: its lines, and its first [`STDOUT_HEAD`] bytes.
fn count_lines(mut from: impl Read) -> anyhow::Result<(u64, String)> {
    let mut buf = vec![0u8; 1 << 16];
    let (mut lines, mut head) = (0u64, Vec::new());
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).context("reading the host's standard output"),
        };
        lines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
        let keep = n.min(STDOUT_HEAD.saturating_sub(head.len()));
        head.extend_from_slice(&buf[..keep]);
    }
    Ok((lines, String::from_utf8_lossy(&head).into_owned()))
}

/// `name` as a file name: ASCII letters and digits, anything else `-`.
fn file_name(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

/// The host's summary line (`seen 6, created 6, updated 0, …, failed 0 (1 pages, 0 warnings)`)
/// as a JSON object of its counts, like `--summary-json`'s.
pub fn parse_summary(line: &str) -> Value {
    let mut out = serde_json::Map::new();
    let line = line.replace(['(', ')'], ",");
    for part in line.split(',') {
        let words: Vec<&str> = part.split_whitespace().collect();
        if let [a, b] = words.as_slice() {
            // `seen 6`, and in the parentheses `1 pages`.
            let (key, count) = match (a.parse::<u64>(), b.parse::<u64>()) {
                (Err(_), Ok(n)) => (a, n),
                (Ok(n), Err(_)) => (b, n),
                _ => continue,
            };
            out.insert((*key).to_owned(), count.into());
        }
    }
    Value::Object(out)
}

/// The peak resident set size (`VmHWM`) of process `pid`, in bytes, read every few milliseconds
/// until it exits; returns once it has exited (not yet reaped, see [`wait4`]).
///
/// Not `wait4`'s `ru_maxrss`: Linux counts in it the memory of the process that spawned the
/// child, as it was when the child called `exec` (here: this process, with the servers'
/// catalogue), which would overstate the host's memory by hundreds of megabytes.
pub fn watch_peak_rss(pid: u32) -> anyhow::Result<u64> {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    let status = format!("/proc/{pid}/status");
    let peak = AtomicU64::new(0);
    let exited = AtomicBool::new(false);
    let read = || {
        let text = std::fs::read_to_string(&status).ok()?;
        let line = text.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb * 1024)
    };
    std::thread::scope(|s| {
        s.spawn(|| {
            while !exited.load(Ordering::SeqCst) {
                if let Some(bytes) = read() {
                    peak.fetch_max(bytes, Ordering::SeqCst);
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        let waited = wait_exited(pid);
        exited.store(true, Ordering::SeqCst);
        waited
    })?;
    Ok(peak.load(Ordering::SeqCst))
}

/// Waits until child `pid` has exited, leaving it to be reaped (so its pid cannot be reused
/// meanwhile).
fn wait_exited(pid: u32) -> anyhow::Result<()> {
    loop {
        // SAFETY: a zeroed siginfo_t is a valid value of this plain C struct.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: a valid pointer to a local; `pid` is our own child.
        let r = unsafe {
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            )
        };
        if r == 0 {
            return Ok(());
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(err).context("waitid");
        }
    }
}

/// CPU time of a finished child process.
#[derive(Debug, Clone, Copy)]
pub struct Usage {
    pub cpu: Duration,
}

fn timeval(t: libc::timeval) -> Duration {
    Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
}

fn usage(ru: &libc::rusage) -> Usage {
    Usage {
        cpu: timeval(ru.ru_utime) + timeval(ru.ru_stime),
    }
}

/// Waits for child `pid` and reaps it, with its resource use (`wait4`, which `std` does not
/// expose).
pub fn wait4(pid: u32) -> anyhow::Result<(std::process::ExitStatus, Usage)> {
    use std::os::unix::process::ExitStatusExt as _;
    let pid = libc::pid_t::try_from(pid)?;
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value of this plain C struct.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: valid pointers to locals; `pid` is our own child, not yet reaped.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
        if r == pid {
            break;
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(err).context("wait4");
        }
    }
    Ok((std::process::ExitStatus::from_raw(status), usage(&ru)))
}

/// CPU time (user + system) of this whole process so far.
pub fn own_cpu() -> Duration {
    // SAFETY: a zeroed rusage is valid; getrusage only writes to it.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    usage(&ru).cpu
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_summary_lines() {
        let s = parse_summary(
            "seen 6, created 1, updated 2, unchanged 3, skipped 0, failed 0, printed 5 (1 pages, 0 warnings)",
        );
        assert_eq!(s["seen"], 6);
        assert_eq!(s["updated"], 2);
        assert_eq!(s["printed"], 5);
        assert_eq!(s["pages"], 1);
        assert_eq!(s["failed"], 0);
    }
}
