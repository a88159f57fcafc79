//! A listing always ends: no page is asked for twice in one pass, and a pass
//! has a ceiling of pages (pure).
//!
//! A server whose `next` link points back at a page already read (itself, or
//! one further back) would otherwise be paged for ever, one request and one
//! commit per lap.

use crate::model::Request;
use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};

/// The pages asked for in one pass (of this run).
#[derive(Debug)]
pub struct Pages {
    asked: HashSet<u64>,
    max: u64,
    /// Pages of the pass read by earlier runs.
    done: u64,
}

impl Pages {
    /// At most `max` pages per pass, of which `done` were read before (by
    /// the runs that began a resumed pass).
    pub fn new(max: u64, done: u64) -> Pages {
        Pages {
            asked: HashSet::new(),
            max,
            done,
        }
    }

    /// Admits the next page request, or says why the listing must stop.
    pub fn admit(&mut self, request: &Request) -> Result<(), String> {
        if self.done + self.asked.len() as u64 >= self.max {
            return Err(format!(
                "it has more than {} pages in one pass (--max-pages); the next would be {}",
                self.max,
                shown(request)
            ));
        }
        if !self.asked.insert(fingerprint(request)) {
            return Err(format!(
                "it repeats itself: its next page {} was already asked for in this pass (the \
                 server's next link leads back)",
                shown(request)
            ));
        }
        Ok(())
    }

    /// A new pass starts (e.g. after a refused stored cursor).
    pub fn restart(&mut self) {
        self.asked.clear();
        self.done = 0;
    }
}

/// The request as a person would recognise it: its URL, or its endpoint and path.
fn shown(request: &Request) -> String {
    let (path, query) = normalised(request);
    let query: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let target = if request.target.starts_with("http://") || request.target.starts_with("https://")
    {
        request.target.clone()
    } else if query.is_empty() {
        path
    } else {
        format!("{path}?{}", query.join("&"))
    };
    format!("{target:?} (endpoint {:?})", request.endpoint)
}

/// The same page however its request is spelled: an absolute `next` link or
/// a path, with its query in any order; its headers count (a plugin may page
/// with a header, e.g. `Range`).
fn fingerprint(request: &Request) -> u64 {
    let mut hasher = DefaultHasher::new();
    request.endpoint.hash(&mut hasher);
    normalised(request).hash(&mut hasher);
    let mut headers: Vec<(String, &str)> = request
        .headers
        .iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v.as_str()))
        .collect();
    headers.sort();
    headers.hash(&mut hasher);
    hasher.finish()
}

/// The path and the sorted query pairs (the target's and the request's).
fn normalised(request: &Request) -> (String, Vec<(String, String)>) {
    let base = url::Url::parse("http://base.invalid/").expect("a valid URL");
    let (path, mut query) = match base.join(&request.target) {
        Ok(url) => (
            url.path().to_string(),
            url.query_pairs().into_owned().collect::<Vec<_>>(),
        ),
        Err(_) => (request.target.clone(), Vec::new()),
    };
    query.extend(request.query.iter().cloned());
    query.sort();
    (path, query)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(target: &str, query: &[(&str, &str)]) -> Request {
        Request {
            endpoint: "hub".into(),
            target: target.into(),
            query: query
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            headers: vec![],
        }
    }

    #[test]
    fn a_link_back_to_a_page_already_read_ends_the_listing() {
        let mut pages = Pages::new(100, 0);
        let first = req("/api/datasets", &[("full", "true"), ("limit", "1000")]);
        pages.admit(&first).unwrap();
        pages
            .admit(&req(
                "https://hub.example/api/datasets?cursor=abc&full=true",
                &[],
            ))
            .unwrap();
        // The same first page, as an absolute link with its query reordered.
        let again = req("http://hub.example/api/datasets?limit=1000&full=true", &[]);
        let err = pages.admit(&again).unwrap_err();
        assert!(err.contains("it repeats itself"), "{err}");
        assert!(
            err.contains(
                "\"http://hub.example/api/datasets?limit=1000&full=true\" (endpoint \"hub\")"
            ),
            "{err}"
        );
        // Another endpoint's page of the same path is another page.
        let mut other = again.clone();
        other.endpoint = "mirror".into();
        assert!(pages.admit(&other).is_ok());
        pages.restart();
        assert!(pages.admit(&again).is_ok());
    }

    #[test]
    fn a_page_with_other_headers_is_another_page() {
        let mut pages = Pages::new(100, 0);
        let mut first = req("/items", &[]);
        first.headers = vec![("Range".into(), "items=0-999".into())];
        let mut second = first.clone();
        second.headers = vec![("range".into(), "items=1000-1999".into())];
        pages.admit(&first).unwrap();
        pages.admit(&second).unwrap();
        assert!(pages.admit(&first).is_err());
    }

    #[test]
    fn a_resumed_pass_counts_the_pages_read_before() {
        let mut pages = Pages::new(3, 2);
        pages.admit(&req("/p?cursor=3", &[])).unwrap();
        assert!(pages.admit(&req("/p?cursor=4", &[])).is_err());
    }

    #[test]
    fn a_pass_has_a_ceiling_of_pages() {
        let mut pages = Pages::new(2, 0);
        pages.admit(&req("/p?cursor=1", &[])).unwrap();
        pages.admit(&req("/p?cursor=2", &[])).unwrap();
        let err = pages.admit(&req("/p?cursor=3", &[])).unwrap_err();
        assert!(
            err.contains("more than 2 pages in one pass (--max-pages)"),
            "{err}"
        );
    }
}
