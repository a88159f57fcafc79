//! Percent-encoding (RFC 3986) for the parts of a request target a plugin
//! writes itself. Query parameters given in `Request::query` need none: the
//! host encodes them.

/// Encodes a path that may hold `/` separators (e.g. a repo id `org/name`),
/// keeping the unreserved characters and `/`.
pub fn path(text: &str) -> String {
    encode(text, |b| b == b'/')
}

/// Encodes one path segment or query component: everything but the
/// unreserved characters.
pub fn component(text: &str) -> String {
    encode(text, |_| false)
}

fn encode(text: &str, keep: impl Fn(u8) -> bool) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') || keep(b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_keep_their_slashes_and_components_do_not() {
        assert_eq!(path("a b/c?d"), "a%20b/c%3Fd");
        assert_eq!(component("a b/c?d&e=é"), "a%20b%2Fc%3Fd%26e%3D%C3%A9");
        assert_eq!(
            path("../x"),
            "../x",
            "dots are unreserved; the host resolves no path"
        );
    }
}
