//! A small HTTP/1.1 server for `/metrics` and the pages beside it, bounded
//! in everything a client can make it do (SPEC §6):
//! - a fixed pool of worker threads, fed through a bounded queue; a
//!   connection that finds the queue full is closed at once;
//! - a request head of at most [`MAX_HEAD`] bytes, read within
//!   [`READ_TIMEOUT`] (a slow or idle client is dropped);
//! - no request bodies: a request announcing one is answered 413 without
//!   reading it; only `GET` and `HEAD`;
//! - one request per connection (`Connection: close`), answered within
//!   [`WRITE_TIMEOUT`].
//!
//! It knows nothing of ECL: a handler maps a path to a [`Response`].

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc::{sync_channel, Receiver, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Threads answering requests.
pub const WORKERS: usize = 8;
/// Connections waiting for a worker.
pub const QUEUE: usize = 64;
/// Longest request head (request line and headers).
pub const MAX_HEAD: usize = 8 * 1024;
/// Time a client has to send its request head.
pub const READ_TIMEOUT: Duration = Duration::from_secs(2);
/// Time a client has to take the response.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// What a handler answers.
pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

impl Response {
    pub fn new(status: u16, content_type: &'static str, body: impl Into<Vec<u8>>) -> Response {
        Response {
            status,
            content_type,
            body: body.into(),
        }
    }

    fn text(status: u16, body: &str) -> Response {
        Response::new(status, "text/plain; charset=utf-8", body)
    }
}

/// A request as the handler sees it: the path and the query string.
pub struct Request<'a> {
    pub path: &'a str,
    pub query: &'a str,
}

/// Binds `listen` (an error names the address).
pub fn bind(listen: &str) -> Result<TcpListener, String> {
    TcpListener::bind(listen).map_err(|e| format!("cannot listen on {listen}: {e}"))
}

/// Serves requests on `listener` with `handler` until the process ends.
pub fn serve<H>(listener: TcpListener, handler: H)
where
    H: Fn(&Request<'_>) -> Response + Send + Sync + 'static,
{
    let handler = Arc::new(handler);
    let (tx, rx) = sync_channel::<TcpStream>(QUEUE);
    let rx = Arc::new(Mutex::new(rx));
    for i in 0..WORKERS {
        let (rx, handler) = (rx.clone(), handler.clone());
        let spawned = std::thread::Builder::new()
            .name(format!("ecl-http-{i}"))
            .spawn(move || work(&rx, &*handler));
        if let Err(e) = spawned {
            eprintln!("ecl: cannot start an HTTP worker: {e}");
        }
    }
    for stream in listener.incoming() {
        let Ok(stream) = stream else {
            // Out of file descriptors and the like: wait rather than spin.
            std::thread::sleep(Duration::from_millis(10));
            continue;
        };
        match tx.try_send(stream) {
            Ok(()) => {}
            // Every worker busy and the queue full: closed at once (dropped).
            Err(TrySendError::Full(_)) => {}
            Err(TrySendError::Disconnected(_)) => return,
        }
    }
}

fn work<H: Fn(&Request<'_>) -> Response>(rx: &Mutex<Receiver<TcpStream>>, handler: &H) {
    loop {
        let next = rx.lock().unwrap_or_else(|e| e.into_inner()).recv();
        let Ok(stream) = next else {
            return;
        };
        answer(stream, handler);
    }
}

fn answer<H: Fn(&Request<'_>) -> Response>(mut stream: TcpStream, handler: &H) {
    let _ = stream.set_read_timeout(Some(READ_TIMEOUT));
    let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
    let (response, head_only) = match read_head(&mut stream) {
        Ok(head) => match parse_head(&head) {
            Ok(parsed) => {
                let request = Request {
                    path: parsed.path,
                    query: parsed.query,
                };
                (handler(&request), parsed.head_only)
            }
            Err(refusal) => (refusal, false),
        },
        Err(Some(refusal)) => (refusal, false),
        Err(None) => return, // the client went away or said nothing in time
    };
    let _ = write_response(&mut stream, &response, head_only);
}

/// The request head, up to the blank line; `Err(None)`: nothing to answer.
fn read_head(stream: &mut TcpStream) -> Result<Vec<u8>, Option<Response>> {
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 1024];
    loop {
        let n = match stream.read(&mut buf) {
            Ok(0) | Err(_) => return Err(None),
            Ok(n) => n,
        };
        head.extend_from_slice(&buf[..n]);
        if let Some(end) = find(&head, b"\r\n\r\n") {
            head.truncate(end);
            return Ok(head);
        }
        if head.len() > MAX_HEAD {
            return Err(Some(Response::text(431, "request head too large\n")));
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

struct ParsedHead<'a> {
    path: &'a str,
    query: &'a str,
    head_only: bool,
}

fn parse_head(head: &[u8]) -> Result<ParsedHead<'_>, Response> {
    let bad = || Response::text(400, "bad request\n");
    let text = std::str::from_utf8(head).map_err(|_| bad())?;
    let mut lines = text.split("\r\n");
    let mut words = lines.next().ok_or_else(bad)?.split(' ');
    let (Some(method), Some(target), Some(_version), None) =
        (words.next(), words.next(), words.next(), words.next())
    else {
        return Err(bad());
    };
    for line in lines {
        let (name, value) = line.split_once(':').ok_or_else(bad)?;
        let name = name.trim();
        let value = value.trim();
        let has_body = (name.eq_ignore_ascii_case("content-length") && value != "0")
            || name.eq_ignore_ascii_case("transfer-encoding");
        if has_body {
            return Err(Response::text(413, "request bodies are not accepted\n"));
        }
    }
    let head_only = match method {
        "GET" => false,
        "HEAD" => true,
        _ => return Err(Response::text(405, "only GET and HEAD\n")),
    };
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    Ok(ParsedHead {
        path,
        query,
        head_only,
    })
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Content Too Large",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "",
    }
}

fn write_response(
    stream: &mut TcpStream,
    response: &Response,
    head_only: bool,
) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\nX-Content-Type-Options: nosniff\r\n\
         Content-Security-Policy: default-src 'self'; img-src 'self' data:; frame-ancestors 'none'\r\nReferrer-Policy: no-referrer\r\n\r\n",
        response.status,
        reason(response.status),
        response.content_type,
        response.body.len()
    );
    stream.write_all(head.as_bytes())?;
    if !head_only {
        stream.write_all(&response.body)?;
    }
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_are_parsed_and_bodies_refused() {
        let ok = parse_head(b"GET /metrics?x=1 HTTP/1.1\r\nHost: a")
            .ok()
            .unwrap();
        assert_eq!(
            (ok.path, ok.query, ok.head_only),
            ("/metrics", "x=1", false)
        );
        let refused = |head: &[u8]| parse_head(head).err().map(|r| r.status);
        assert_eq!(
            refused(b"POST /metrics HTTP/1.1\r\nContent-Length: 99999999999"),
            Some(413)
        );
        assert_eq!(
            refused(b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked"),
            Some(413)
        );
        assert_eq!(refused(b"DELETE / HTTP/1.1"), Some(405));
        assert_eq!(refused(b"GET /"), Some(400));
        assert!(
            parse_head(b"HEAD / HTTP/1.1\r\nContent-Length: 0")
                .ok()
                .unwrap()
                .head_only
        );
    }
}
