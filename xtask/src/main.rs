//! `cargo xtask <task>`: the project's build steps, in Rust so they run the
//! same on every machine (and in CI and the Dockerfile).
//!
//! - `build-plugins`: compile every plugin crate under `plugins/` to a core
//!   WebAssembly module and wrap it into an import-free component at
//!   `plugins/<name>.wasm`; componentize every Python plugin (`plugins/openml/`)
//!   with componentize-py, installed into a venv under `target/`, and every
//!   JavaScript plugin (`plugins/zenodo/`) with componentize-js from npm.
//! - `test`: `build-plugins`, then the Python and JavaScript plugins' unit
//!   tests, then every test of the workspace.
//! - `demo`: `build-plugins`, build the host and the local servers, start the
//!   local Hugging Face, AIoD and Keycloak, and sync one into the other.
//! - `bench`: `build-plugins`, build the host and `aiod-bench` in release, and
//!   run the benchmarks (`BENCHMARKS.md`); `bench --smoke` is a seconds-long run.

mod js;

use anyhow::{Context, Result, bail, ensure};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// The target of the Rust plugin projects `aiod-host plugin new` writes.
const SCAFFOLD_TARGET: &str = "wasm32-wasip2";
/// Rust plugin crates: (cargo package, features, output file relative to the
/// workspace). The plugins under `target/test-plugins/` exist for the host's
/// tests and are not shipped: the hostile one, the Hugging Face plugin built
/// for the frozen earlier contracts (`wit/since_v0.1.0/`, `wit/since_v0.1.1/`),
/// and its test builds with another version and mapping (`test-remapped`) or
/// failing mappings (`test-failing`), see `plugins/huggingface/src/test_builds.rs`.
const PLUGINS: &[(&str, &str, &str)] = &[
    ("huggingface-plugin", "", "plugins/huggingface.wasm"),
    ("hostile-plugin", "", "target/test-plugins/hostile.wasm"),
    (
        "huggingface-plugin",
        "contract-v0_1_0",
        "target/test-plugins/huggingface-v0.1.0.wasm",
    ),
    (
        "huggingface-plugin",
        "contract-v0_1_1",
        "target/test-plugins/huggingface-v0.1.1.wasm",
    ),
    (
        "huggingface-plugin",
        "test-remapped",
        "target/test-plugins/huggingface-remapped.wasm",
    ),
    (
        "huggingface-plugin",
        "test-failing",
        "target/test-plugins/huggingface-failing.wasm",
    ),
];
/// Rust plugins built for `wasm32-wasip2`, so that they import WASI: (cargo package, output).
/// The hostile plugin, built so, uses WASI on every call (`plugins/hostile/src/lib.rs`).
const WASI_PLUGINS: &[(&str, &str)] =
    &[("hostile-plugin", "target/test-plugins/hostile-wasi.wasm")];
/// Python plugins: directories under `plugins/` holding `app.py`, built to `plugins/<dir>.wasm`.
const PYTHON_PLUGINS: &[&str] = &["openml"];
/// The Python guest SDK (`aiod_plugin_sdk`), on every Python plugin's path.
const PYTHON_SDK: &str = "sdk/python";
/// The componentize-py release the Python plugins are built with.
const COMPONENTIZE_PY: &str = "0.25.1";
/// Where componentize-py is installed (a venv, so no system package is touched).
const COMPONENTIZE_PY_VENV: &str = "target/componentize-py-venv";
/// The WIT world every plugin implements.
const WORLD: &str = "connector";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    match args.first().map(String::as_str) {
        Some("build-plugins") => build_plugins(&root),
        Some("test") => {
            build_plugins(&root)?;
            run_python_tests(&root)?;
            js::run_tests(&root)?;
            run_tests(&root, &args[1..])
        }
        Some("demo") => {
            build_plugins(&root)?;
            demo(&root, &args[1..])
        }
        Some("bench") => {
            build_plugins(&root)?;
            bench(&root, &args[1..])
        }
        _ => {
            eprintln!(
                "usage: cargo xtask <build-plugins | test [ARGS…] | demo [RUN ARGS…] | bench [ARGS…]>\n\
                 \n  build-plugins  build plugins/*.wasm from source\
                 \n  test           build the plugins, then run the Python and JavaScript plugins' unit tests and every test of the workspace\
                 \n  demo           build everything, start local Hugging Face and AIoD, sync one into the other\
                 \n  bench          build the plugins, the release host and aiod-bench, and run the benchmarks\
                 \n                 (BENCHMARKS.md; `bench --smoke` takes seconds, `bench --help` lists the options)"
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

/// rustup installs the targets on first use; without rustup we rely on the toolchain having them.
/// `wasm32-wasip2` is the target `aiod-host plugin new`'s Rust projects document (and the
/// tests build them with).
fn ensure_wasm_targets() -> Result<()> {
    let Ok(out) = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
    else {
        return Ok(());
    };
    let installed = String::from_utf8_lossy(&out.stdout);
    for target in [WASM_TARGET, SCAFFOLD_TARGET] {
        if !installed.lines().any(|l| l.trim() == target) {
            run(Command::new("rustup").args(["target", "add", target]))?;
        }
    }
    Ok(())
}

fn build_plugins(root: &Path) -> Result<()> {
    ensure_wasm_targets()?;
    for (package, features, output) in PLUGINS {
        run(cargo(root).args([
            "build",
            "--package",
            package,
            "--features",
            features,
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
    for (package, output) in WASI_PLUGINS {
        // wasm32-wasip2 builds a component that imports WASI; it goes to its own target
        // directory, so its `std` (built for WASI) never mixes with the import-free builds.
        let target_dir = root.join("target").join("wasi-plugins");
        run(cargo(root)
            .args(["build", "--package", package, "--target", SCAFFOLD_TARGET])
            .args(["--profile", "plugin", "--target-dir"])
            .arg(&target_dir))?;
        let built = target_dir
            .join(SCAFFOLD_TARGET)
            .join("plugin")
            .join(format!("{}.wasm", package.replace('-', "_")));
        let out = root.join(output);
        std::fs::copy(&built, &out)
            .with_context(|| format!("copying {} to {}", built.display(), out.display()))?;
        eprintln!("built {output} (imports WASI)");
    }
    for dir in PYTHON_PLUGINS {
        build_python_plugin(root, dir)?;
    }
    for dir in js::JS_PLUGINS {
        js::build_plugin(root, dir)?;
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
    ensure_no_imports(&component)?;
    Ok(component)
}

/// A plugin must import nothing, so any import is an error.
fn ensure_no_imports(component: &[u8]) -> Result<()> {
    let wit_component::DecodedWasm::Component(resolve, world) = wit_component::decode(component)?
    else {
        bail!("not a component");
    };
    let imports = &resolve.worlds[world].imports;
    if !imports.is_empty() {
        let names: Vec<_> = imports.keys().map(|k| resolve.name_world_key(k)).collect();
        bail!("plugin imports {names:?}; plugins must import nothing (no I/O)");
    }
    Ok(())
}

/// Builds `plugins/<dir>/app.py` (and the modules beside it) into `plugins/<dir>.wasm`.
///
/// The sources are copied to `target/python-plugins/<dir>/` (without tests and caches) next to
/// the generated `wit_world` bindings, so nothing generated lands in `plugins/` and the
/// component holds only the plugin's own modules. `--stub-wasi` replaces the WASI imports
/// CPython needs with trapping stubs: the plugin does no I/O, so the component imports nothing,
/// like the Rust plugins.
///
/// componentize-py's output differs from build to build (the snapshot of the initialised
/// interpreter), so the component is only rebuilt when its sources, the WIT or the pinned
/// componentize-py change: an unchanged plugin keeps its digest, and with it the host's
/// compiled-plugin cache entry (compiling the ~18 MB component takes many seconds).
fn build_python_plugin(root: &Path, dir: &str) -> Result<()> {
    let source = root.join("plugins").join(dir);
    let build = root.join("target").join("python-plugins").join(dir);
    let out = root.join("plugins").join(format!("{dir}.wasm"));
    let stamp_file = build.with_extension("stamp");
    let sources = python_sources(&source, Path::new(""))?;
    let sdk = root.join(PYTHON_SDK);
    // The SDK is part of what the component is built from.
    let sdk_sources = python_sources(&sdk, Path::new("sdk"))?;
    let stamp = plugin_stamp(
        root,
        &format!("componentize-py {COMPONENTIZE_PY}"),
        &[sources.as_slice(), &sdk_sources].concat(),
    )?;
    if up_to_date(root, &out, &stamp_file, stamp) {
        return Ok(());
    }

    let componentize_py = componentize_py(root)?;
    if build.exists() {
        std::fs::remove_dir_all(&build).with_context(|| format!("clearing {}", build.display()))?;
    }
    for (relative, contents) in &sources {
        let to = build.join(relative);
        std::fs::create_dir_all(to.parent().expect("a file in a folder"))?;
        std::fs::write(&to, contents).with_context(|| format!("writing {}", to.display()))?;
    }
    let wit = root.join("wit");
    let tool = |args: &[&str]| {
        let mut cmd = Command::new(&componentize_py);
        cmd.current_dir(&build)
            .arg("--quiet")
            .arg("-d")
            .arg(&wit)
            .args(["-w", WORLD])
            .args(args)
            // Only the venv's site-packages (componentize-py itself) are searched for modules.
            .env("VIRTUAL_ENV", root.join(COMPONENTIZE_PY_VENV));
        cmd
    };
    run(&mut tool(&["bindings", "."]))?;
    let built = build.join(format!("{dir}.wasm"));
    run(
        tool(&["componentize", "app", "--python-path", ".", "--python-path"])
            .arg(&sdk)
            .args(["--stub-wasi", "-o"])
            .arg(&built),
    )?;
    let component =
        std::fs::read(&built).with_context(|| format!("reading {}", built.display()))?;
    ensure_no_imports(&component).with_context(|| format!("checking {}", built.display()))?;
    install_component(&out, &component, &stamp_file, stamp)?;
    eprintln!(
        "built {} ({} bytes, componentize-py {COMPONENTIZE_PY})",
        out.strip_prefix(root).unwrap_or(&out).display(),
        component.len()
    );
    Ok(())
}

/// Whether `out` was built from what `stamp` describes (and not changed since): such
/// components are not rebuilt, as their builds are slow and not reproducible.
fn up_to_date(root: &Path, out: &Path, stamp_file: &Path, stamp: u64) -> bool {
    let previous = std::fs::read_to_string(stamp_file).unwrap_or_default();
    let fresh = std::fs::read(out)
        .is_ok_and(|existing| previous == format!("{stamp:016x} {:016x}", fnv1a(&[&existing])));
    if fresh {
        eprintln!(
            "{} is up to date",
            out.strip_prefix(root).unwrap_or(out).display()
        );
    }
    fresh
}

/// Writes a built component to `out` and what it was built from to `stamp_file`.
fn install_component(out: &Path, component: &[u8], stamp_file: &Path, stamp: u64) -> Result<()> {
    std::fs::write(out, component).with_context(|| format!("writing {}", out.display()))?;
    let stamp = format!("{stamp:016x} {:016x}", fnv1a(&[component]));
    std::fs::write(stamp_file, stamp).with_context(|| format!("writing {}", stamp_file.display()))
}

/// The `.py` files under `dir` (recursively, skipping `tests/` and hidden or cache
/// directories) as (path relative to the plugin, contents), sorted by path.
fn python_sources(dir: &Path, relative: &Path) -> Result<Vec<(PathBuf, Vec<u8>)>> {
    sources(dir, relative, ".py")
}

/// The files under `dir` whose names end with `ext` (recursively, skipping `tests/`,
/// `node_modules/` and hidden or cache directories) as (path relative to the plugin, contents),
/// sorted by path.
fn sources(dir: &Path, relative: &Path, ext: &str) -> Result<Vec<(PathBuf, Vec<u8>)>> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .collect::<std::io::Result<_>>()?;
    entries.sort_by_key(|e| e.file_name());
    let mut files = Vec::new();
    for entry in entries {
        let name = entry.file_name();
        let text = name.to_string_lossy();
        if entry.file_type()?.is_dir() {
            let skipped = ["tests", "__pycache__", "node_modules"];
            if !(skipped.contains(&text.as_ref()) || text.starts_with('.')) {
                files.extend(sources(&entry.path(), &relative.join(&name), ext)?);
            }
        } else if text.ends_with(ext) {
            let contents = std::fs::read(entry.path())
                .with_context(|| format!("reading {}", entry.path().display()))?;
            files.push((relative.join(&name), contents));
        }
    }
    Ok(files)
}

/// What a componentized plugin is built from: its sources, the WIT and the tool (`tool`
/// names it with its version).
fn plugin_stamp(root: &Path, tool: &str, sources: &[(PathBuf, Vec<u8>)]) -> Result<u64> {
    let mut parts: Vec<Vec<u8>> = vec![tool.as_bytes().to_vec()];
    for (path, contents) in sources {
        parts.push(path.to_string_lossy().as_bytes().to_vec());
        parts.push(contents.clone());
    }
    let mut wit: Vec<_> = std::fs::read_dir(root.join("wit"))?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()?;
    wit.sort();
    for path in wit.iter().filter(|p| p.is_file()) {
        parts.push(
            path.file_name()
                .unwrap_or_default()
                .as_encoded_bytes()
                .to_vec(),
        );
        parts.push(std::fs::read(path)?);
    }
    let parts: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    Ok(fnv1a(&parts))
}

/// 64-bit FNV-1a over `parts`, each followed by a separator (a change detector, not a digest).
fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &byte in part.iter().chain(&[0xff]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

/// The componentize-py executable of the pinned version, installed into a venv under `target/`
/// on first use.
fn componentize_py(root: &Path) -> Result<PathBuf> {
    let venv = root.join(COMPONENTIZE_PY_VENV);
    let bin = venv.join(if cfg!(windows) { "Scripts" } else { "bin" });
    let tool = bin.join("componentize-py");
    let installed = Command::new(&tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| {
            o.status.success()
                && String::from_utf8_lossy(&o.stdout).trim()
                    == format!("componentize-py {COMPONENTIZE_PY}")
        });
    if installed {
        return Ok(tool);
    }
    let python = bin.join("python");
    if !python.exists() {
        let created = Command::new(python3())
            .args(["-m", "venv"])
            .arg(&venv)
            .status();
        match created {
            Ok(status) if status.success() => {}
            Ok(_) => bail!(
                "`{} -m venv {}` failed: the Python plugins need Python 3 with the venv module \
                 (Debian/Ubuntu: `apt-get install python3-venv`)",
                python3(),
                venv.display()
            ),
            Err(e) => bail!(
                "cannot run `{}` ({e}): the Python plugins need Python 3 (>= 3.10) with venv and \
                 pip (Debian/Ubuntu: `apt-get install python3 python3-venv python3-pip`; or set \
                 PYTHON to a Python 3 interpreter)",
                python3()
            ),
        }
    }
    let pinned = format!("componentize-py=={COMPONENTIZE_PY}");
    let status = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--quiet",
            &pinned,
        ])
        .status()
        .with_context(|| format!("could not start {}", python.display()))?;
    ensure!(
        status.success(),
        "`{} -m pip install {pinned}` failed: componentize-py comes from PyPI, which must be \
         reachable; without pip in the venv, install it (Debian/Ubuntu: `apt-get install \
         python3-pip python3-venv`) and delete {} to recreate the venv",
        python.display(),
        venv.display()
    );
    Ok(tool)
}

/// The Python 3 interpreter: `$PYTHON`, else `python3`.
fn python3() -> String {
    std::env::var("PYTHON").unwrap_or_else(|_| "python3".into())
}

/// The Python SDK's and the Python plugins' unit tests: plain `unittest`, no packages needed.
fn run_python_tests(root: &Path) -> Result<()> {
    let suites = std::iter::once(Path::new(PYTHON_SDK).join("tests")).chain(
        PYTHON_PLUGINS
            .iter()
            .map(|dir| Path::new("plugins").join(dir).join("tests")),
    );
    for tests in suites {
        let mut cmd = Command::new(python3());
        cmd.current_dir(root)
            .args(["-m", "unittest", "discover", "-s"])
            .arg(&tests)
            .arg("-v")
            // Keeps `__pycache__` out of the source tree.
            .env("PYTHONDONTWRITEBYTECODE", "1");
        let status = cmd.status().with_context(|| {
            format!(
                "cannot run `{}`: the Python plugins' tests need Python 3 (>= 3.10) \
                 (Debian/Ubuntu: `apt-get install python3`)",
                python3()
            )
        })?;
        ensure!(
            status.success(),
            "the unit tests in {} failed",
            tests.display()
        );
    }
    Ok(())
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

/// `bench`: the release host (built alone, exactly as it ships) and the bench binary, then the
/// bench with `args` (see `aiod-bench --help`; `--smoke` for a seconds-long run).
fn bench(root: &Path, args: &[String]) -> Result<()> {
    run(cargo(root).args(["build", "--release", "--package", "aiod-host"]))?;
    run(cargo(root).args(["build", "--release", "--package", "aiod-bench"]))?;
    let bench = root.join("target").join("release").join("aiod-bench");
    run(Command::new(bench).current_dir(root).args(args))
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
    // The local AIoD starts empty, so the demo's state starts empty too.
    let state = root.join("target").join("demo").join("state.sqlite");
    std::fs::create_dir_all(state.parent().expect("a file in a folder"))?;
    for stale in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{stale}", state.display()));
    }
    let sync = |args: &[&str]| -> Result<()> {
        let mut cmd = Command::new(bin.join("aiod-host"));
        cmd.current_dir(root)
            .env("AIOD_HOST_STATE", &state)
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
