//! `plugin new`: each language's project builds with the command its README
//! gives, outside this repository, and passes `plugin test` as written.

use crate::support::*;
use std::path::Path;
use std::process::Command;

/// Creates `name` in a fresh folder outside the repository.
fn scaffold(name: &str, lang: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("aiod-host-plugin-new-")
        .tempdir()
        .unwrap();
    let out = aiod_host()
        .args(["plugin", "new", name, "--lang", lang, "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains(&format!("created {}", dir.path().join(name).display())));
    dir
}

/// `plugin test` on the project's own fixture: every expected asset, none differs.
fn passes_its_fixture(wasm: &Path, project: &Path) {
    let out = aiod_host()
        .args(["plugin", "test"])
        .arg(wasm)
        .arg("--fixtures")
        .arg(project.join("fixtures/example"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("2 expected assets, 2 produced, 0 differ"),
        "{}",
        stdout(&out)
    );
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        stdout(&out),
        stderr(&out)
    );
}

#[test]
fn a_new_rust_plugin_builds_alone_and_passes_its_fixture() {
    let dir = scaffold("bird-songs", "rust");
    let project = dir.path().join("bird-songs");
    // The README's command; the build directory is shared between runs, so
    // only the project itself compiles each time.
    let target = workspace_root().join("target/scaffold");
    run(Command::new(env!("CARGO"))
        .args(["build", "--release", "--target", "wasm32-wasip2"])
        .current_dir(&project)
        .env("CARGO_TARGET_DIR", &target));
    passes_its_fixture(
        &target.join("wasm32-wasip2/release/bird_songs.wasm"),
        &project,
    );
}

#[test]
fn a_new_python_plugin_builds_alone_and_passes_its_fixture() {
    let dir = scaffold("py-demo", "python");
    let project = dir.path().join("py-demo");
    // Its unit tests run under a stock python3, with no WebAssembly.
    run(Command::new("python3")
        .args(["-m", "unittest", "discover", "-s", "tests"])
        .current_dir(&project)
        .env("PYTHONDONTWRITEBYTECODE", "1"));
    // The README's command, with the componentize-py that `cargo xtask build-plugins`
    // installs (the same pinned release the README names).
    let componentize_py = workspace_root().join("target/componentize-py-venv/bin/componentize-py");
    assert!(
        componentize_py.exists(),
        "{} is missing: run `cargo xtask build-plugins`",
        componentize_py.display()
    );
    run(Command::new(&componentize_py)
        .args(["-d", "wit", "-w", "connector", "componentize", "app"])
        .args(["-p", ".", "--stub-wasi", "-o", "py-demo.wasm"])
        .current_dir(&project));
    passes_its_fixture(&project.join("py-demo.wasm"), &project);
}

#[test]
fn a_new_javascript_plugin_builds_alone_and_passes_its_fixture() {
    let dir = scaffold("js-demo", "js");
    let project = dir.path().join("js-demo");
    // Its unit tests run under Node.js, with no WebAssembly (`npm test`).
    run(Command::new("npm")
        .args(["test", "--silent"])
        .current_dir(&project));
    // The README's `npm run build`, with the componentize-js that `cargo xtask
    // build-plugins` installs (the release package.json pins) on the PATH in
    // place of `npm install`'s.
    let bin = workspace_root().join("target/componentize-js/node_modules/.bin");
    assert!(
        bin.join("componentize-js").exists(),
        "{} is missing: run `cargo xtask build-plugins`",
        bin.display()
    );
    let path = std::env::join_paths(
        std::iter::once(bin).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    run(Command::new("npm")
        .args(["run", "build", "--silent"])
        .current_dir(&project)
        .env("PATH", path));
    passes_its_fixture(&project.join("js-demo.wasm"), &project);
}

#[test]
fn a_project_is_never_written_over() {
    let dir = scaffold("taken", "rust");
    let out = aiod_host()
        .args(["plugin", "new", "taken", "--lang", "python", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("exists already"), "{}", stderr(&out));
    let out = aiod_host()
        .args(["plugin", "new", "Bad_Name", "--lang", "rust"])
        .output()
        .unwrap();
    assert!(
        stderr(&out).contains("cannot name a plugin"),
        "{}",
        stderr(&out)
    );
}
