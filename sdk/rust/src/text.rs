//! Text for messages and bodies: a short quote of an answer, and cuts at a
//! byte limit that never split a character.

/// The start of a body (its first 200 characters, trimmed), for an error
/// message: enough to recognise an error page, never a whole one.
pub fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// Cuts `text` to at most `max_bytes` bytes on a character boundary; when it
/// cuts, `mark` ends the text (within the limit).
pub fn truncate(mut text: String, max_bytes: usize, mark: &str) -> String {
    if text.len() <= max_bytes {
        return text;
    }
    let mark = if mark.len() <= max_bytes { mark } else { "" };
    let mut cut = max_bytes - mark.len();
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text.truncate(cut);
    text.push_str(mark);
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snippet_is_the_trimmed_start() {
        assert_eq!(
            snippet(b"  Internal Server Error.\n"),
            "Internal Server Error."
        );
        let long = "é".repeat(300);
        let s = snippet(long.as_bytes());
        assert_eq!(s.chars().count(), 201);
        assert!(s.ends_with('…'));
        assert_eq!(snippet(&[0xff, b'a']), "\u{fffd}a");
    }

    #[test]
    fn truncation_keeps_whole_characters_and_the_limit() {
        assert_eq!(truncate("short".into(), 10, " [...]"), "short");
        let cut = truncate("ééééé".into(), 9, "…");
        assert!(cut.len() <= 9, "{cut}");
        assert_eq!(cut, "ééé…");
        assert_eq!(
            truncate("abcdef".into(), 2, "[...]"),
            "ab",
            "a mark longer than the limit is left out"
        );
    }
}
