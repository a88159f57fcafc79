//! Following `Link: rel="next"` to the end of a long listing.

use crate::support::*;
use local_servers::{HfState, LocalServer, generated_id};
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
