//! JavaScript plugins: componentize-js from npm, installed under `target/`, builds
//! `plugins/<dir>/src/app.js` (and what it imports, the SDK in `sdk/js/` among them) into
//! `plugins/<dir>.wasm`; `node --test` runs their unit tests.

use crate::{WORLD, ensure_no_imports, install_component, plugin_stamp, run, sources, up_to_date};
use anyhow::{Context, Result, ensure};
use std::path::{Path, PathBuf};
use std::process::Command;

/// JavaScript plugins: directories under `plugins/` holding `src/app.js`.
pub const JS_PLUGINS: &[&str] = &["zenodo"];
/// The JavaScript guest SDK, imported by every JavaScript plugin.
pub const JS_SDK: &str = "sdk/js";
/// The componentize-js release the JavaScript plugins are built with.
pub const COMPONENTIZE_JS: &str = "0.23.0";
/// Where componentize-js is installed.
const COMPONENTIZE_JS_DIR: &str = "target/componentize-js";
/// Every WASI feature componentize-js can leave out: the plugin does no I/O, so
/// the component imports nothing (without them it imports `wasi:cli`, `wasi:http`...).
pub const DISABLED_FEATURES: &[&str] = &["stdio", "random", "clocks", "http", "fetch-event"];

/// Builds `plugins/<dir>/src/app.js` into `plugins/<dir>.wasm`, unless it is up to date:
/// componentize-js's output differs from build to build (like componentize-py's), and an
/// unchanged plugin should keep its digest and its compiled-plugin cache entry.
pub fn build_plugin(root: &Path, dir: &str) -> Result<()> {
    let source = root.join("plugins").join(dir);
    let out = root.join("plugins").join(format!("{dir}.wasm"));
    let build = root.join("target").join("js-plugins");
    std::fs::create_dir_all(&build)?;
    let stamp_file = build.join(format!("{dir}.stamp"));
    let files = [
        sources(&source, Path::new(""), ".js")?,
        sources(&root.join(JS_SDK), Path::new("sdk"), ".js")?,
    ]
    .concat();
    let stamp = plugin_stamp(root, &format!("componentize-js {COMPONENTIZE_JS}"), &files)?;
    if up_to_date(root, &out, &stamp_file, stamp) {
        return Ok(());
    }
    let tool = componentize_js(root)?;
    let built = build.join(format!("{dir}.wasm"));
    run(Command::new("node")
        .current_dir(root)
        .arg(&tool)
        .arg(source.join("src").join("app.js"))
        .arg("--wit")
        .arg(root.join("wit"))
        .args(["--world-name", WORLD, "--disable"])
        .args(DISABLED_FEATURES)
        .arg("--out")
        .arg(&built))?;
    let component =
        std::fs::read(&built).with_context(|| format!("reading {}", built.display()))?;
    ensure_no_imports(&component).with_context(|| format!("checking {}", built.display()))?;
    install_component(&out, &component, &stamp_file, stamp)?;
    eprintln!(
        "built {} ({} bytes, componentize-js {COMPONENTIZE_JS})",
        out.strip_prefix(root).unwrap_or(&out).display(),
        component.len()
    );
    Ok(())
}

/// componentize-js's command-line entry of the pinned version, installed with npm on first use.
fn componentize_js(root: &Path) -> Result<PathBuf> {
    let dir = root.join(COMPONENTIZE_JS_DIR);
    let package = dir
        .join("node_modules")
        .join("@bytecodealliance")
        .join("componentize-js");
    let cli = package.join("src").join("cli.js");
    let installed = std::fs::read_to_string(package.join("package.json"))
        .is_ok_and(|p| p.contains(&format!("\"version\": \"{COMPONENTIZE_JS}\"")));
    if !installed || !cli.exists() {
        std::fs::create_dir_all(&dir)?;
        let status = Command::new("npm")
            .arg("install")
            .arg("--prefix")
            .arg(&dir)
            .args(["--no-audit", "--no-fund", "--no-save"])
            .arg(format!("@bytecodealliance/componentize-js@{COMPONENTIZE_JS}"))
            .status()
            .context(
                "cannot run npm: the JavaScript plugins are built with componentize-js from \
                 npm, which needs Node.js (>= 20) and npm (Debian/Ubuntu: `apt-get install nodejs npm`)",
            )?;
        ensure!(
            status.success(),
            "`npm install @bytecodealliance/componentize-js@{COMPONENTIZE_JS}` failed: the npm \
             registry must be reachable; delete {} to start over",
            dir.display()
        );
    }
    ensure!(
        cli.exists(),
        "componentize-js {COMPONENTIZE_JS} has no {}",
        cli.display()
    );
    Ok(cli)
}

/// The JavaScript SDK's and plugins' unit tests: `node --test`, no packages needed.
pub fn run_tests(root: &Path) -> Result<()> {
    let suites = std::iter::once(Path::new(JS_SDK).join("tests")).chain(
        JS_PLUGINS
            .iter()
            .map(|dir| Path::new("plugins").join(dir).join("tests")),
    );
    for tests in suites {
        let files = sources(&root.join(&tests), Path::new(""), ".test.js")?;
        ensure!(!files.is_empty(), "{} holds no *.test.js", tests.display());
        let status = Command::new("node")
            .current_dir(root.join(&tests))
            .arg("--test")
            .args(files.iter().map(|(path, _)| path))
            .status()
            .context("cannot run node: the JavaScript plugins' tests need Node.js (>= 20)")?;
        ensure!(
            status.success(),
            "the unit tests in {} failed",
            tests.display()
        );
    }
    Ok(())
}
