//! Running the release `aiod-host` as a black box: one `run` against the local stand-ins, timed,
//! with its peak memory and CPU time from `wait4`.

use std::fs::File;
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
        let logs = self.work.join("logs");
        std::fs::create_dir_all(&logs)?;
        std::fs::create_dir_all(self.home())?;
        let name: String = name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let log = logs.join(format!("{name}.log"));
        let summary_path = logs.join(format!("{name}.summary.json"));
        let _ = std::fs::remove_file(&summary_path);
        let mut cmd = self.command();
        cmd.env("HF_ENDPOINT", &urls.hub)
            .env("HF_DATASETS_SERVER_ENDPOINT", &urls.datasets_server)
            .env("AIOD_API_SERVER", &urls.aiod_api)
            .env("AIOD_AUTH_SERVER", &urls.aiod_auth)
            .env("AIOD_CLIENT_ID", CLIENT.0)
            .env("CLIENT_SECRET", CLIENT.1)
            .arg("run")
            .arg("--plugin")
            .arg(&self.plugin)
            .args(["--mode", "all", "--state"])
            .arg(state)
            .arg("--summary-json")
            .arg(&summary_path)
            .args(args)
            .args(&self.extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(&log).with_context(|| format!("creating {}", log.display()))?);

        let servers_before = own_cpu();
        let started = Instant::now();
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {}", self.exe.display()))?;
        let max_rss = watch_peak_rss(child.id())?;
        let wall = started.elapsed();
        let (status, usage) = wait4(child.id())?;
        let servers_cpu = own_cpu().saturating_sub(servers_before);
        if !status.success() {
            bail!(
                "aiod-host ({name}) exited with {status}; its log: {}",
                log.display()
            );
        }
        let summary: Value = serde_json::from_str(
            &std::fs::read_to_string(&summary_path)
                .with_context(|| format!("reading {}", summary_path.display()))?,
        )?;
        if summary["failed"].as_u64() != Some(0) {
            bail!(
                "aiod-host ({name}) failed records: {summary}; its log: {}",
                log.display()
            );
        }
        Ok(Run {
            wall,
            max_rss,
            cpu: usage.cpu,
            servers_cpu,
            summary,
        })
    }
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
