//! The retry loop of `Fetcher::send` against a real local HTTP server that
//! answers from a script.

use super::*;
use axum::http::{HeaderMap, StatusCode};
use std::collections::VecDeque;
use std::sync::Mutex;

/// Answers in order; the last one again when the script runs out.
struct Script {
    answers: Mutex<VecDeque<(u16, &'static str, Vec<u8>)>>,
    asked: AtomicU64,
}

/// Serves `answers` (status, `Retry-After` or "", body) on a free local port.
async fn serve(answers: Vec<(u16, &'static str, Vec<u8>)>) -> (String, Arc<Script>) {
    let script = Arc::new(Script {
        answers: Mutex::new(answers.into()),
        asked: AtomicU64::new(0),
    });
    let served = script.clone();
    let app = axum::Router::new().fallback(move || {
        let script = served.clone();
        async move {
            script.asked.fetch_add(1, Ordering::SeqCst);
            let mut answers = script.answers.lock().unwrap();
            let (status, retry_after, body) = match answers.len() {
                1 => answers[0].clone(),
                _ => answers.pop_front().unwrap(),
            };
            let mut headers = HeaderMap::new();
            if !retry_after.is_empty() {
                headers.insert("retry-after", retry_after.parse().unwrap());
            }
            (StatusCode::from_u16(status).unwrap(), headers, body)
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, script)
}

const LIMIT: BodyLimit = BodyLimit {
    bytes: 1 << 20,
    flag: "--max-test-mib",
};

fn fetcher(retries: u32) -> Fetcher {
    let policy = RetryPolicy {
        retries,
        base: Duration::from_millis(1),
        max_backoff: Duration::from_millis(5),
        max_wait: Duration::from_secs(60),
    };
    Fetcher::new(Duration::from_secs(10), policy, HashMap::new(), LIMIT).unwrap()
}

async fn get(fetcher: &Fetcher, url: &str) -> Result<Response, FetchError> {
    fetcher.send(None, "the test page", |c| c.get(url)).await
}

#[tokio::test]
async fn transient_answers_are_retried_until_one_is_not() {
    let (url, script) = serve(vec![
        (503, "", b"busy".to_vec()),
        (502, "", b"bad gateway".to_vec()),
        (200, "", b"done".to_vec()),
    ])
    .await;
    let f = fetcher(5);
    let r = get(&f, &url).await.unwrap();
    assert_eq!((r.status, r.body.as_slice()), (200, &b"done"[..]));
    assert_eq!(script.asked.load(Ordering::SeqCst), 3);
    assert!(!f.waited().is_zero(), "the backoff is counted as waited");
}

#[tokio::test]
async fn a_client_error_is_the_answer_at_once() {
    let (url, script) = serve(vec![(404, "", b"not found".to_vec())]).await;
    let r = get(&fetcher(5), &url).await.unwrap();
    assert_eq!(r.status, 404);
    assert_eq!(script.asked.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn when_the_retries_run_out_the_last_answer_is_returned() {
    let (url, script) = serve(vec![(503, "", b"busy".to_vec())]).await;
    let r = get(&fetcher(2), &url).await.unwrap();
    assert_eq!(r.status, 503);
    assert_eq!(
        script.asked.load(Ordering::SeqCst),
        3,
        "one try and two retries"
    );
}

#[tokio::test]
async fn a_wait_beyond_the_cap_pauses_and_says_how_long() {
    let (url, script) = serve(vec![(429, "3600", b"slow down".to_vec())]).await;
    let e = get(&fetcher(5), &url).await.unwrap_err();
    assert_eq!(
        e,
        FetchError::GaveUp(Pause {
            what: "the test page".into(),
            wait: Duration::from_secs(3600),
            cap: Duration::from_secs(60),
        })
    );
    assert_eq!(
        script.asked.load(Ordering::SeqCst),
        1,
        "no request after the pause"
    );
}

#[tokio::test]
async fn a_server_wait_within_the_cap_is_honoured() {
    let (url, script) = serve(vec![(429, "0", Vec::new()), (200, "", b"ok".to_vec())]).await;
    let r = get(&fetcher(5), &url).await.unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(script.asked.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_without_a_retry() {
    let (url, script) = serve(vec![(200, "", vec![b'x'; 2 << 20])]).await;
    match get(&fetcher(5), &url).await {
        Err(FetchError::TooLarge(message)) => assert!(
            message.starts_with("the test page: the answer is larger than the limit of 1 MiB")
                && message.contains("--max-test-mib sets the limit"),
            "{message}"
        ),
        other => panic!("expected TooLarge, got {other:?}"),
    }
    assert_eq!(script.asked.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn no_answer_at_all_is_a_transport_error_after_the_retries() {
    // A server that hangs up on every connection without a word.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicU64::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            drop(socket);
        }
    });
    let e = get(&fetcher(1), &url).await.unwrap_err();
    assert!(matches!(e, FetchError::Transport(_)), "{e}");
    assert_eq!(accepted.load(Ordering::SeqCst), 2, "one try and one retry");
}
