//! `cargo xtask <task>`: the project's build steps, in Rust so they run the
//! same on every machine (and in CI and the Dockerfile).
//!
//! - `build-plugins`: compile every plugin crate under `plugins/` to a core
//!   WebAssembly module and wrap it into an import-free component at
//!   `plugins/<name>.wasm`.
//! - `test`: `build-plugins`, then every test of the workspace.
//! - `demo`: `build-plugins`, build the host and the local servers, start the
//!   local Hugging Face, AIoD and Keycloak, and sync one into the other.

use anyhow::{Context, Result, bail, ensure};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// Rust plugin crates: (cargo package, output file relative to the workspace).
/// The hostile plugin exists for the host's tests and is not shipped.
const PLUGINS: &[(&str, &str)] = &[
    ("huggingface-plugin", "plugins/huggingface.wasm"),
    ("hostile-plugin", "target/test-plugins/hostile.wasm"),
];

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    match args.first().map(String::as_str) {
        Some("build-plugins") => build_plugins(&root),
        Some("test") => {
            build_plugins(&root)?;
            run_tests(&root, &args[1..])
        }
        Some("demo") => {
            build_plugins(&root)?;
            demo(&root, &args[1..])
        }
        _ => {
            eprintln!(
                "usage: cargo xtask <build-plugins | test [ARGS…] | demo [RUN ARGS…]>\n\
                 \n  build-plugins  build plugins/*.wasm from source\
                 \n  test           build the plugins, then run every test of the workspace\
                 \n  demo           build everything, start local Hugging Face and AIoD, sync one into the other"
            );
            std::process::exit(2);
        }
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

fn cargo(root: &Path) -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root);
    cmd
}

fn run(cmd: &mut Command) -> Result<()> {
    let status = cmd
        .status()
        .with_context(|| format!("could not start {cmd:?}"))?;
    ensure!(status.success(), "{cmd:?} failed with {status}");
    Ok(())
}

/// rustup installs the target on first use; without rustup we rely on the toolchain having it.
fn ensure_wasm_target() -> Result<()> {
    let Ok(out) = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
    else {
        return Ok(());
    };
    if String::from_utf8_lossy(&out.stdout)
        .lines()
        .any(|l| l.trim() == WASM_TARGET)
    {
        return Ok(());
    }
    run(Command::new("rustup").args(["target", "add", WASM_TARGET]))
}

fn build_plugins(root: &Path) -> Result<()> {
    ensure_wasm_target()?;
    for (package, output) in PLUGINS {
        run(cargo(root).args([
            "build",
            "--package",
            package,
            "--target",
            WASM_TARGET,
            "--profile",
            "plugin",
        ]))?;
        let core = root
            .join("target")
            .join(WASM_TARGET)
            .join("plugin")
            .join(format!("{}.wasm", package.replace('-', "_")));
        let module = std::fs::read(&core).with_context(|| format!("reading {}", core.display()))?;
        let component = componentize(&module)
            .with_context(|| format!("making a component of {}", core.display()))?;
        let out = root.join(output);
        std::fs::create_dir_all(out.parent().expect("outputs are files in a folder"))?;
        std::fs::write(&out, &component).with_context(|| format!("writing {}", out.display()))?;
        eprintln!(
            "built {} ({} bytes)",
            out.strip_prefix(root).unwrap_or(&out).display(),
            component.len()
        );
    }
    Ok(())
}

/// Wraps a core module (with the component-type section wit-bindgen embeds)
/// into a component; a plugin must import nothing, so any import is an error.
fn componentize(module: &[u8]) -> Result<Vec<u8>> {
    let component = wit_component::ComponentEncoder::default()
        .module(module)?
        .validate(true)
        .encode()?;
    let wit_component::DecodedWasm::Component(resolve, world) = wit_component::decode(&component)?
    else {
        bail!("the encoder did not produce a component");
    };
    let imports = &resolve.worlds[world].imports;
    if !imports.is_empty() {
        let names: Vec<_> = imports.keys().map(|k| resolve.name_world_key(k)).collect();
        bail!("plugin imports {names:?}; plugins must import nothing (no I/O)");
    }
    Ok(component)
}

fn run_tests(root: &Path, extra: &[String]) -> Result<()> {
    let nextest = Command::new("cargo-nextest")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let mut cmd = cargo(root);
    if nextest {
        // nextest does not run doctests; run them first so the run ends with nextest's summary.
        run(cargo(root).args(["test", "--workspace", "--doc"]))?;
        cmd.args(["nextest", "run", "--workspace", "--no-fail-fast"]);
    } else {
        cmd.args(["test", "--workspace", "--no-fail-fast"]);
    }
    run(cmd.args(extra))
}

/// Kills the local servers when the demo ends, however it ends.
struct Reaper(Child);
impl Drop for Reaper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The credentials of the local Keycloak's default client (not a real secret).
const LOCAL_CLIENT: (&str, &str) = ("platform_huggingface", "local-secret");

fn demo(root: &Path, run_args: &[String]) -> Result<()> {
    use std::io::{BufRead, BufReader};
    run(cargo(root).args([
        "build",
        "--package",
        "aiod-host",
        "--package",
        "local-servers",
    ]))?;
    let bin = root.join("target").join("debug");
    let mut child = Command::new(bin.join("local-servers"))
        .args(["--addr", "127.0.0.1:0", "--aiod-addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .context("starting local-servers")?;
    let stdout = child.stdout.take().context("local-servers stdout")?;
    let reaper = Reaper(child);
    // One `name: URL` line per local service.
    let mut urls = std::collections::HashMap::new();
    for line in BufReader::new(stdout).lines().take(3) {
        let line = line?;
        let (name, url) = line
            .split_once(": ")
            .with_context(|| format!("unexpected line from local-servers: {line:?}"))?;
        eprintln!("local {name} at {url}");
        urls.insert(name.to_string(), url.to_string());
    }
    let url = |name: &str| {
        urls.get(name)
            .cloned()
            .with_context(|| format!("local-servers did not report {name}"))
    };
    let sync = |args: &[&str]| -> Result<()> {
        let mut cmd = Command::new(bin.join("aiod-host"));
        cmd.current_dir(root)
            .env("HF_ENDPOINT", url("huggingface")?)
            .env("HF_DATASETS_SERVER_ENDPOINT", url("huggingface")?)
            .env("AIOD_API_SERVER", url("aiod")?)
            .env("AIOD_AUTH_SERVER", url("keycloak")?)
            .env("AIOD_CLIENT_ID", LOCAL_CLIENT.0)
            .env("CLIENT_SECRET", LOCAL_CLIENT.1)
            .args(["run", "--plugin", "plugins/huggingface.wasm"])
            .args(args);
        run(&mut cmd)
    };
    let result = if run_args.is_empty() {
        eprintln!("\n== full sync of the local Hugging Face into the local AIoD ==");
        sync(&["--mode", "all"]).and_then(|()| {
            eprintln!("\n== the same sync again: nothing changed, nothing is written ==");
            sync(&["--mode", "all"])
        })
    } else {
        let args: Vec<&str> = run_args.iter().map(String::as_str).collect();
        sync(&args)
    };
    drop(reaper);
    result
}
