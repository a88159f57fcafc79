//! Names that become parts of file paths (the state file is named for the
//! platform, the env file's folder for the plugin) must be names, not paths
//! (pure).

/// AIoD platform names are short identifiers; so must be anything the host
/// turns into a file name: letters, digits, `_` and `-`, at most 64.
pub fn check(what: &str, name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{what} {:?} is not a usable name: use 1 to 64 letters, digits, '_' or '-' \
             (it becomes part of a file name)",
            name.chars().take(80).collect::<String>()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_pass_paths_and_oddities_do_not() {
        for good in ["huggingface", "open_ml", "zenodo-2", "A1"] {
            assert_eq!(check("platform", good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "../x",
            "a/b",
            "..",
            ".",
            "x\\y",
            "a b",
            "é",
            "x\0",
            &"a".repeat(65),
        ] {
            let err = check("PLATFORM_NAME", bad).unwrap_err();
            assert!(err.starts_with("PLATFORM_NAME "), "{err}");
        }
    }
}
