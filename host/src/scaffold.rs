//! `aiod-host plugin new`: the files of a plugin project that builds on its
//! own, outside this repository, and passes `plugin test` as written. The
//! templates (`host/scaffold/`) and the SDK they vendor are compiled into the
//! binary, so an operator's image can scaffold with nothing else.

use std::path::PathBuf;

/// The languages a plugin project can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    Rust,
    Python,
    Js,
}

/// A file: where in the project, and its text.
type File = (&'static str, &'static str);

macro_rules! files {
    ($($path:literal => $source:literal),* $(,)?) => {
        &[$(($path, include_str!($source))),*]
    };
}

const FIXTURE: &[File] = files![
    "fixtures/example/fixture.json" => "../scaffold/common/fixtures/example/fixture.json",
    "fixtures/example/page-1.json" => "../scaffold/common/fixtures/example/page-1.json",
    "fixtures/example/page-2.json" => "../scaffold/common/fixtures/example/page-2.json",
    "fixtures/example/expected.jsonl" => "../scaffold/common/fixtures/example/expected.jsonl",
];

const RUST: &[File] = files![
    "Cargo.toml" => "../scaffold/rust/Cargo.toml",
    "src/lib.rs" => "../scaffold/rust/src/lib.rs",
    "README.md" => "../scaffold/rust/README.md",
];

/// The Rust SDK as it is in this repository, with a manifest of its own.
const RUST_SDK: &[File] = files![
    "vendor/aiod-plugin-sdk/Cargo.toml" => "../scaffold/rust/sdk-Cargo.toml",
    "vendor/aiod-plugin-sdk/src/lib.rs" => "../../sdk/rust/src/lib.rs",
    "vendor/aiod-plugin-sdk/src/types.rs" => "../../sdk/rust/src/types.rs",
    "vendor/aiod-plugin-sdk/src/bindings.rs" => "../../sdk/rust/src/bindings.rs",
    "vendor/aiod-plugin-sdk/src/aiod.rs" => "../../sdk/rust/src/aiod.rs",
    "vendor/aiod-plugin-sdk/src/encode.rs" => "../../sdk/rust/src/encode.rs",
    "vendor/aiod-plugin-sdk/src/link.rs" => "../../sdk/rust/src/link.rs",
    "vendor/aiod-plugin-sdk/src/text.rs" => "../../sdk/rust/src/text.rs",
    "vendor/aiod-plugin-sdk/src/time.rs" => "../../sdk/rust/src/time.rs",
    "vendor/aiod-plugin-sdk/wit/connector.wit" => "../../wit/connector.wit",
    "vendor/aiod-plugin-sdk/wit/since_v0.1.0/connector.wit" => "../../wit/since_v0.1.0/connector.wit",
    "vendor/aiod-plugin-sdk/wit/since_v0.1.1/connector.wit" => "../../wit/since_v0.1.1/connector.wit",
];

const PYTHON: &[File] = files![
    "app.py" => "../scaffold/python/app.py",
    "{{module}}/__init__.py" => "../scaffold/python/module/__init__.py",
    "{{module}}/plugin.py" => "../scaffold/python/module/plugin.py",
    "tests/test_plugin.py" => "../scaffold/python/tests/test_plugin.py",
    "README.md" => "../scaffold/python/README.md",
];

const PYTHON_SDK: &[File] = files![
    "aiod_plugin_sdk/__init__.py" => "../../sdk/python/aiod_plugin_sdk/__init__.py",
    "aiod_plugin_sdk/types.py" => "../../sdk/python/aiod_plugin_sdk/types.py",
    "aiod_plugin_sdk/connector.py" => "../../sdk/python/aiod_plugin_sdk/connector.py",
    "aiod_plugin_sdk/helpers.py" => "../../sdk/python/aiod_plugin_sdk/helpers.py",
    "aiod_plugin_sdk/component.py" => "../../sdk/python/aiod_plugin_sdk/component.py",
    "wit/connector.wit" => "../../wit/connector.wit",
];

const JS: &[File] = files![
    "package.json" => "../scaffold/js/package.json",
    "src/app.js" => "../scaffold/js/src/app.js",
    "src/plugin.js" => "../scaffold/js/src/plugin.js",
    "tests/plugin.test.js" => "../scaffold/js/tests/plugin.test.js",
    "README.md" => "../scaffold/js/README.md",
];

const JS_SDK: &[File] = files![
    "sdk/aiod-plugin-sdk.js" => "../../sdk/js/aiod-plugin-sdk.js",
    "wit/connector.wit" => "../../wit/connector.wit",
];

/// A plugin name: it becomes a crate, a Python module, an environment
/// variable and the platform name, so it is kept to what all of them take.
pub fn check_name(name: &str) -> Result<(), String> {
    let ok = name.len() <= 40
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-');
    match ok {
        true => Ok(()),
        false => Err(format!(
            "{name:?} cannot name a plugin: use 1 to 40 lower-case letters, digits and '-', \
             starting with a letter (e.g. 'zenodo' or 'my-platform')"
        )),
    }
}

/// The project's files, by path relative to its folder.
pub fn files(name: &str, lang: Lang) -> Result<Vec<(PathBuf, String)>, String> {
    check_name(name)?;
    let module = name.replace('-', "_");
    let env = format!("{}_ENDPOINT", module.to_ascii_uppercase());
    let fill = |text: &str| {
        text.replace("{{name}}", name)
            .replace("{{module}}", &module)
            .replace("{{ENV}}", &env)
    };
    let (templates, sdk) = match lang {
        Lang::Rust => (RUST, RUST_SDK),
        Lang::Python => (PYTHON, PYTHON_SDK),
        Lang::Js => (JS, JS_SDK),
    };
    let mut out: Vec<(PathBuf, String)> = templates
        .iter()
        .chain(FIXTURE)
        .map(|(path, text)| (PathBuf::from(fill(path)), fill(text)))
        .collect();
    // The SDK exactly as it is: it names no plugin.
    out.extend(
        sdk.iter()
            .map(|(path, text)| (PathBuf::from(path), text.to_string())),
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_every_language_takes() {
        assert!(check_name("zenodo").is_ok());
        assert!(check_name("my-platform2").is_ok());
        for bad in [
            "",
            "Zenodo",
            "2x",
            "-x",
            "x-",
            "a b",
            "a_b",
            "ü",
            &"x".repeat(41),
        ] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_project_names_its_plugin_everywhere_and_leaves_no_placeholder() {
        for lang in [Lang::Rust, Lang::Python, Lang::Js] {
            let files = files("bird-songs", lang).unwrap();
            for (path, text) in &files {
                let path = path.display().to_string();
                assert!(
                    !path.contains("{{") && !text.contains("{{"),
                    "{lang:?} {path}"
                );
            }
            let expected = files
                .iter()
                .find(|(p, _)| p.ends_with("fixtures/example/expected.jsonl"))
                .unwrap();
            assert!(expected.1.contains(r#""platform":"bird-songs""#));
        }
        let python = files("bird-songs", Lang::Python).unwrap();
        assert!(
            python
                .iter()
                .any(|(p, _)| p == &PathBuf::from("bird_songs/plugin.py"))
        );
        let rust = files("bird-songs", Lang::Rust).unwrap();
        let lib = &rust
            .iter()
            .find(|(p, _)| p.ends_with("src/lib.rs"))
            .unwrap()
            .1;
        assert!(lib.contains(r#"env_override("BIRD_SONGS_ENDPOINT")"#));
        let js = files("bird-songs", Lang::Js).unwrap();
        let package = &js
            .iter()
            .find(|(p, _)| p.ends_with("package.json"))
            .unwrap()
            .1;
        assert!(package.contains("--out bird-songs.wasm"), "{package}");
    }
}
