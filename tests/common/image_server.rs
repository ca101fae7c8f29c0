//! A small real HTTP server for image URLs, on 127.0.0.1: it serves a PNG of a given size,
//! answers 404, redirects, or hangs; and counts the connections it accepted and the requests
//! it read, so a test can show that a refused URL was never dialled.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
pub enum Mode {
    /// 200 `image/png`: a PNG signature padded to this many bytes.
    Png(usize),
    /// 404 with a short text body.
    NotFound,
    /// 302 to this location.
    Redirect(String),
    /// Reads the request and never answers (until the server is dropped, at most a minute).
    Hang,
}

struct Shared {
    mode: Mode,
    connections: AtomicUsize,
    requests: AtomicUsize,
    stop: AtomicBool,
}

pub struct ImageServer {
    pub port: u16,
    shared: Arc<Shared>,
}

/// The bytes `Mode::Png(n)` serves.
pub fn png_bytes(n: usize) -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n".to_vec();
    b.resize(n.max(8), b'x');
    b
}

impl ImageServer {
    pub fn start(mode: Mode) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind image server");
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared {
            mode,
            connections: AtomicUsize::new(0),
            requests: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
        });
        let s = shared.clone();
        std::thread::spawn(move || {
            while !s.stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        s.connections.fetch_add(1, Ordering::SeqCst);
                        let s = s.clone();
                        std::thread::spawn(move || serve(conn, &s));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Self { port, shared }
    }

    /// `http://127.0.0.1:PORT`
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    pub fn requests(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
    }
}

impl Drop for ImageServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
    }
}

/// Reads one request head; false when the connection ended or stalled first.
fn read_head(conn: &mut TcpStream) -> bool {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => return false,
            Ok(n) => head.extend_from_slice(buf.get(..n).unwrap_or_default()),
        }
        if head.len() > 64 * 1024 {
            return false;
        }
    }
    true
}

fn serve(mut conn: TcpStream, s: &Shared) {
    conn.set_nonblocking(false).ok();
    conn.set_read_timeout(Some(Duration::from_secs(10))).ok();
    // One request per connection: every answer says `connection: close`.
    if !read_head(&mut conn) {
        return;
    }
    s.requests.fetch_add(1, Ordering::SeqCst);
    let (status, extra, body): (&str, String, Vec<u8>) = match &s.mode {
        Mode::Png(n) => (
            "200 OK",
            "content-type: image/png\r\n".into(),
            png_bytes(*n),
        ),
        Mode::NotFound => (
            "404 Not Found",
            "content-type: text/plain\r\n".into(),
            b"no such image".to_vec(),
        ),
        Mode::Redirect(to) => ("302 Found", format!("location: {to}\r\n"), Vec::new()),
        Mode::Hang => {
            let until = Instant::now() + Duration::from_secs(60);
            while !s.stop.load(Ordering::Relaxed) && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(50));
            }
            return;
        }
    };
    let head = format!(
        "HTTP/1.1 {status}\r\n{extra}content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let _ = conn.write_all(head.as_bytes());
    let _ = conn.write_all(&body);
    let _ = conn.flush();
}
