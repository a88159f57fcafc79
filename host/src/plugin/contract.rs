//! Is this file a plugin for a contract version this host speaks?

use wasmtime::Engine;
use wasmtime::component::Component;

/// The WIT package this host implements; plugins built against any 0.1.x load.
pub const PACKAGE: &str = "aiod:connector";
pub const SUPPORTED: &str = "0.1.x";
const SUPPORTED_MAJOR_MINOR: (u64, u64) = (0, 1);

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ContractError {
    #[error("not a WebAssembly file (it does not start with the \\0asm magic bytes)")]
    NotWasm,
    #[error(
        "a core WebAssembly module, not a component; build the plugin as a component \
         (wasm32-wasip2, or wit-component / `wasm-tools component new`)"
    )]
    CoreModule,
    #[error("plugin built for {PACKAGE}@{found}; this host supports {SUPPORTED}")]
    Incompatible { found: String },
    #[error(
        "not an aiod-host plugin: it does not export {PACKAGE}/plugin (its exports: {exports})"
    )]
    NotAPlugin { exports: String },
}

/// Tells a core module or a non-wasm file from a component before compiling.
pub fn check_binary(bytes: &[u8]) -> Result<(), ContractError> {
    match bytes.get(0..8) {
        Some([0, b'a', b's', b'm', _, _, 0, 0]) => Err(ContractError::CoreModule),
        Some([0, b'a', b's', b'm', ..]) => Ok(()),
        _ => Err(ContractError::NotWasm),
    }
}

/// Finds the exported `aiod:connector/plugin@V`, checks V against this host
/// and returns it.
pub fn check_exports(engine: &Engine, component: &Component) -> Result<String, ContractError> {
    let ty = component.component_type();
    let names: Vec<&str> = ty.exports(engine).map(|(name, _)| name).collect();
    check_export_names(&names)
}

/// What a component says about itself: the contract version it was built
/// for, and its imports and exports by name (for `plugin inspect`).
pub struct ComponentFacts {
    pub contract: Option<String>,
    pub imports: Vec<String>,
    pub exports: Vec<String>,
}

pub fn describe_component(engine: &Engine, component: &Component) -> ComponentFacts {
    let ty = component.component_type();
    let exports: Vec<String> = ty.exports(engine).map(|(n, _)| n.to_string()).collect();
    let prefix = format!("{PACKAGE}/plugin@");
    ComponentFacts {
        contract: exports
            .iter()
            .find_map(|n| n.strip_prefix(&prefix))
            .map(|v| format!("{PACKAGE}@{v}")),
        imports: ty.imports(engine).map(|(n, _)| n.to_string()).collect(),
        exports,
    }
}

fn check_export_names(names: &[&str]) -> Result<String, ContractError> {
    let prefix = format!("{PACKAGE}/plugin@");
    let Some(version) = names.iter().find_map(|n| n.strip_prefix(&prefix)) else {
        return Err(ContractError::NotAPlugin {
            exports: if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            },
        });
    };
    if major_minor(version) == Some(SUPPORTED_MAJOR_MINOR) {
        Ok(version.to_string())
    } else {
        Err(ContractError::Incompatible {
            found: version.to_string(),
        })
    }
}

fn major_minor(version: &str) -> Option<(u64, u64)> {
    let mut parts = version.split('.');
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_kinds() {
        assert_eq!(check_binary(b"hello"), Err(ContractError::NotWasm));
        assert_eq!(
            check_binary(b"\0asm\x01\0\0\0"),
            Err(ContractError::CoreModule)
        );
        assert_eq!(check_binary(b"\0asm\x0d\0\x01\0"), Ok(()));
    }

    #[test]
    fn versions() {
        let ok = ["aiod:connector/types@0.1.0", "aiod:connector/plugin@0.1.3"];
        assert_eq!(check_export_names(&ok), Ok("0.1.3".to_string()));
        let err = check_export_names(&["aiod:connector/plugin@2.0.0"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "plugin built for aiod:connector@2.0.0; this host supports 0.1.x"
        );
        let err = check_export_names(&["wasi:cli/run@0.2.0"]).unwrap_err();
        assert!(
            err.to_string().contains("its exports: wasi:cli/run@0.2.0"),
            "{err}"
        );
    }
}
