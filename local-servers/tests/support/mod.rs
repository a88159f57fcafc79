//! A minimal HTTP/1.1 client over `TcpStream`, so the tests see exactly what goes over the wire.

use std::io::{Read, Write};
use std::net::TcpStream;

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
    let mut stream = TcpStream::connect(authority).unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    stream
        .write_all(body.unwrap_or_default().as_bytes())
        .unwrap();

    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
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
