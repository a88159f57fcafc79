//! `aiod-host plugin inspect | test | diff`: what a plugin file is, and what it
//! maps from the recorded responses of a fixture.

use super::Result;
use crate::plugin::{Limits, Plugin};
use crate::state::State;
use crate::{catalogue_diff, fixtures};
use anyhow::Context as _;
use std::path::Path;
use std::process::ExitCode;

/// `plugin new`: a plugin project in `dir/name`, which must not exist yet.
pub fn new(name: &str, lang: crate::scaffold::Lang, dir: &Path) -> Result<ExitCode> {
    let files = crate::scaffold::files(name, lang).map_err(anyhow::Error::msg)?;
    let project = dir.join(name);
    if project.exists() {
        return Err(anyhow::anyhow!(
            "{} exists already; choose another name or --dir",
            project.display()
        )
        .into());
    }
    for (path, text) in &files {
        let to = project.join(path);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&to, text).with_context(|| format!("cannot write {}", to.display()))?;
    }
    println!(
        "created {} ({} files); its README.md says how to build it and run `plugin test`",
        project.display(),
        files.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// `plugin inspect`: the plugin's description, contract, endpoints and rules.
pub fn inspect(file: &Path, json: bool) -> Result<ExitCode> {
    let plugin = Plugin::load(file, Limits::default())?;
    let i = plugin.inspect();
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&i).map_err(anyhow::Error::from)?
        );
        return Ok(ExitCode::SUCCESS);
    }
    let none = |v: &[String]| {
        if v.is_empty() {
            "none".to_string()
        } else {
            v.join(", ")
        }
    };
    println!("name:        {}", i.name);
    println!("platform:    {}", i.platform);
    println!("version:     {}", i.version);
    println!("contract:    {}", i.contract);
    println!("asset types: {}", none(&i.asset_types));
    println!("imports:     {}", none(&i.imports));
    println!("exports:     {}", none(&i.exports));
    println!("digest:      {}", i.digest);
    println!("size:        {} bytes", i.size);
    for e in &i.endpoints {
        let budget = e.budget.map_or(String::new(), |b| {
            format!(
                "; budget {}/{}s ({} with a token)",
                b.requests, b.window_seconds, b.requests_with_token
            )
        });
        let env = e
            .env_override
            .as_deref()
            .map_or(String::new(), |v| format!("; override {v}"));
        let tokens = if e.token_env.is_empty() {
            String::new()
        } else {
            format!("; token from {}", e.token_env.join(" or "))
        };
        println!(
            "endpoint:    {} = {}{env}{budget}{tokens} ({})",
            e.name, e.default_base_url, e.description
        );
    }
    for rule in &i.answer_rules {
        println!("answers:     {rule}");
    }
    println!(
        "deletes:     {}",
        if i.looks_up {
            "after a lookup confirms a record is gone"
        } else {
            "of what two complete passes in a row did not list (the plugin has no lookups)"
        }
    );
    Ok(ExitCode::SUCCESS)
}

/// `plugin test`: the assets the plugin maps from a fixture against the expected ones.
pub fn test(file: &Path, dir: &Path) -> Result<ExitCode> {
    let fixture = fixtures::Fixture::load(dir)?;
    let expected = fixture.expected()?;
    let mut plugin = Plugin::load(file, Limits::default())?;
    let actual = fixtures::produce(&mut plugin, &fixture)?;
    let lines = fixtures::compare(&expected, &actual, "expected", &plugin.info().name);
    for line in &lines {
        println!("{line}");
    }
    let differing = lines.iter().filter(|l| !l.starts_with("    ")).count();
    println!(
        "plugin test {}: {} expected assets, {} produced, {differing} differ",
        plugin.describe(),
        expected.len(),
        actual.len()
    );
    Ok(if differing == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `plugin diff`: what two plugins map differently, from a fixture or from
/// every record a state keeps.
pub fn diff(
    old: &Path,
    new: &Path,
    fixtures: Option<&Path>,
    state: Option<&Path>,
) -> Result<ExitCode> {
    let mut old_plugin = Plugin::load(old, Limits::default())?;
    let mut new_plugin = Plugin::load(new, Limits::default())?;
    println!(
        "OLD = {}\nNEW = {}",
        old_plugin.describe(),
        new_plugin.describe()
    );
    match (fixtures, state) {
        (Some(dir), _) => on_fixture(&mut old_plugin, &mut new_plugin, dir),
        (None, Some(path)) => on_state(&mut old_plugin, &mut new_plugin, path),
        (None, None) => unreachable!("clap requires --fixtures or --state"),
    }
}

fn on_fixture(old: &mut Plugin, new: &mut Plugin, dir: &Path) -> Result<ExitCode> {
    let fixture = fixtures::Fixture::load(dir)?;
    let before = fixtures::produce(old, &fixture)?;
    let after = fixtures::produce(new, &fixture)?;
    let lines = fixtures::compare(&before, &after, "OLD", "NEW");
    for line in &lines {
        println!("{line}");
    }
    let changed = lines.iter().filter(|l| !l.starts_with("    ")).count();
    println!(
        "{changed} of {} assets would change",
        before.len().max(after.len())
    );
    Ok(ExitCode::SUCCESS)
}

/// Exit 1 when anything would change, as `diff` does.
fn on_state(old: &mut Plugin, new: &mut Plugin, path: &Path) -> Result<ExitCode> {
    if !path.exists() {
        return Err(anyhow::anyhow!("no state database at {}", path.display()).into());
    }
    let state = State::open(path)?;
    let diff = catalogue_diff::over_state(&state, old, new)?;
    for line in diff.report() {
        println!("{line}");
    }
    Ok(if diff.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
