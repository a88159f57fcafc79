//! Following `Link: rel="next"` to the end of a long listing.

use crate::support::*;
use local_servers::{Fault, HfState, LocalServer, generated_id};
use std::collections::HashSet;

#[test]
fn a_200_page_listing_is_followed_to_the_end_in_order() {
    let (pages, per_page) = (200, 5);
    let server =
        LocalServer::start(HfState::generated(pages * per_page).with_page_size(per_page)).unwrap();
    let out = dry_run(&server, &["--mode", "all"]);
    let names: Vec<String> = assets(&out)
        .iter()
        .map(|a| a["body"]["name"].as_str().unwrap().to_string())
        .collect();
    let expected: Vec<String> = (0..pages * per_page).map(generated_id).collect();
    assert_eq!(names.len(), expected.len());
    assert_eq!(
        names, expected,
        "datasets dropped, repeated or out of order"
    );
    assert_eq!(names.iter().collect::<HashSet<_>>().len(), names.len());

    let listings = server.requests_to("/api/datasets");
    assert_eq!(listings.len(), pages);
    let cursors: HashSet<_> = listings.iter().map(|r| r.query.clone()).collect();
    assert_eq!(cursors.len(), pages, "a page was requested twice");
    let err = stderr(&out);
    let n = pages * per_page;
    assert!(err.contains(&format!("summary: seen {n},")), "{err}");
    assert!(
        err.contains(&format!("failed 0, printed {n} ({pages} pages")),
        "{err}"
    );
}

/// A `next` link back to the page just read used to make a sync page for ever.
#[test]
fn a_next_link_back_to_a_page_already_read_ends_the_listing() {
    let server = LocalServer::start(HfState::generated(3)).unwrap();
    let again = format!(
        "<{}/api/datasets?sort=createdAt&limit=1000&full=true>; rel=\"next\"",
        server.base_url()
    );
    server.hf().inject(
        "/api/datasets",
        Fault::Status {
            status: 200,
            headers: vec![("Link".into(), again)],
            content_type: "application/json".into(),
            body: "[]".into(),
        },
        1000,
    );
    let started = std::time::Instant::now();
    let out = dry_run(&server, &["--mode", "all"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("the listing cannot go on: it repeats itself: its next page"),
        "{err}"
    );
    assert!(
        err.contains("api/datasets?sort=createdAt&limit=1000&full=true"),
        "{err}"
    );
    assert_eq!(server.requests_to("/api/datasets").len(), 1);
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
}

#[test]
fn a_pass_stops_at_its_ceiling_of_pages() {
    let server = LocalServer::start(HfState::generated(100).with_page_size(10)).unwrap();
    let out = dry_run(&server, &["--mode", "all", "--max-pages", "3"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("it has more than 3 pages in one pass (--max-pages)"),
        "{}",
        stderr(&out)
    );
    assert_eq!(server.requests_to("/api/datasets").len(), 3);
}
