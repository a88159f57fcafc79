//! RFC 8288 `Link` headers: the `rel="next"` page a paginated API points to
//! (GitHub, Hugging Face, Zenodo and most REST listings page this way).

/// The `rel="next"` target of the `Link` headers, if any.
pub fn next(headers: &[(String, String)]) -> Option<String> {
    headers
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("link"))
        .flat_map(|(_, value)| value.split(','))
        .find_map(|link| {
            let (target, params) = link.split_once(';')?;
            let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
            params
                .split(';')
                .filter_map(|p| p.split_once('='))
                .any(|(k, v)| {
                    k.trim().eq_ignore_ascii_case("rel")
                        && v.trim()
                            .trim_matches('"')
                            .split_ascii_whitespace()
                            .any(|r| r.eq_ignore_ascii_case("next"))
                })
                .then(|| target.to_string())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(v: &str) -> Vec<(String, String)> {
        vec![("link".to_string(), v.to_string())]
    }

    #[test]
    fn picks_rel_next() {
        let h = link(r#"<https://huggingface.co/api/datasets?cursor=abc&full=true>; rel="next""#);
        assert_eq!(
            next(&h).as_deref(),
            Some("https://huggingface.co/api/datasets?cursor=abc&full=true")
        );
        let h = link(r#"<https://x/prev>; rel="prev", <https://x/next>; rel=next"#);
        assert_eq!(next(&h).as_deref(), Some("https://x/next"));
        let h = link(r#"<https://x/n>; rel="last next""#);
        assert_eq!(next(&h).as_deref(), Some("https://x/n"));
        assert_eq!(next(&link(r#"<https://x/p>; rel="prev""#)), None);
        assert_eq!(next(&link("https://x/n; rel=next")), None, "no <>");
        assert_eq!(next(&[]), None);
    }
}
