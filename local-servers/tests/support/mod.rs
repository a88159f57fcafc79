//! A minimal HTTP/1.1 client over `TcpStream`, so the tests see exactly what goes over the wire.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::Value;

pub struct Response {
    pub status: u16,
    /// Lower-case names.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    /// The first value of header `name` (lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// `GET url` (`http://host:port/path?query`) on a fresh connection.
pub fn get(url: &str) -> Response {
    request("GET", url, &[], None)
}

/// `method url` with `headers` (a `Host` among them replaces the URL's authority) and `body`, on
/// a fresh connection.
pub fn request(method: &str, url: &str, headers: &[(&str, &str)], body: Option<&str>) -> Response {
    let raw = exchange(method, url, headers, body, None).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").expect("complete response");
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .map(|line| {
            let (name, value) = line.split_once(':').unwrap();
            (name.to_ascii_lowercase(), value.trim().to_owned())
        })
        .collect();
    let response = Response {
        status,
        headers,
        body: body.to_owned(),
    };
    // Bodies are read as-is, which is only right with a fixed length.
    assert_eq!(
        response.header("content-length"),
        Some(body.len().to_string().as_str())
    );
    response
}

/// `GET url` that must fail at the transport level: the server closed the connection without
/// answering (an empty read, or a reset).
pub fn assert_dropped(url: &str) {
    match exchange("GET", url, &[], None, None) {
        Ok(raw) => assert_eq!(raw, "", "an answer to a dropped request"),
        Err(e) => assert_eq!(e.kind(), io::ErrorKind::ConnectionReset, "{e}"),
    }
}

/// Everything the server sent for `method url` (as [`request`] sends it) until it closed the
/// connection, or the error of reading it, e.g. once `timeout` has passed.
pub fn exchange(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
    timeout: Option<Duration>,
) -> io::Result<String> {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (authority, target) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut head = format!("{method} {target} HTTP/1.1\r\n");
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        head.push_str(&format!("Host: {authority}\r\n"));
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(body) = body {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("User-Agent: local-servers-test\r\nConnection: close\r\n\r\n");
    let mut stream = TcpStream::connect(authority)?;
    stream.set_read_timeout(timeout)?;
    stream.write_all(head.as_bytes())?;
    stream.write_all(body.unwrap_or_default().as_bytes())?;
    let mut raw = String::new();
    stream.read_to_string(&mut raw)?;
    Ok(raw)
}
