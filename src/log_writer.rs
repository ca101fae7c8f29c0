//! Log lines go to stdout through a buffer that a background thread flushes, a few
//! milliseconds after the first line of each batch. Writing each request's line with its own
//! `write(2)` cost a fifth of the throughput of a cache hit; under load a batch now holds
//! hundreds of lines. The buffer is bounded (lines past it are counted and dropped, never
//! blocking a request), and is flushed at exit and before a panic message.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::Duration;

/// Lines waiting past this are dropped: stdout is not being read fast enough.
const MAX_BUFFERED: usize = 8 * 1024 * 1024;
/// How long the flusher lets a batch gather after its first line.
const GATHER: Duration = Duration::from_millis(2);

struct Shared {
    buffer: Mutex<Vec<u8>>,
    ready: Condvar,
    dropped: AtomicU64,
    /// Serialises writers of stdout (the flusher and `flush_now`).
    out: Mutex<()>,
}

static SHARED: OnceLock<Shared> = OnceLock::new();

fn shared() -> &'static Shared {
    SHARED.get_or_init(|| {
        if let Err(e) = std::thread::Builder::new()
            .name("log-writer".into())
            .spawn(flusher)
        {
            // Lines then stay buffered up to the bound and are counted as dropped.
            eprintln!("switchyard: the log writer thread could not start: {e}");
        }
        Shared {
            buffer: Mutex::new(Vec::with_capacity(64 * 1024)),
            ready: Condvar::new(),
            dropped: AtomicU64::new(0),
            out: Mutex::new(()),
        }
    })
}

fn take(s: &Shared) -> Vec<u8> {
    let mut buf = s.buffer.lock().unwrap_or_else(|p| p.into_inner());
    std::mem::take(&mut *buf)
}

fn write_out(s: &Shared, bytes: &[u8]) {
    let _guard = s.out.lock().unwrap_or_else(|p| p.into_inner());
    let mut stdout = std::io::stdout().lock();
    let dropped = s.dropped.swap(0, Ordering::Relaxed);
    if dropped > 0 {
        let _ = writeln!(
            stdout,
            "WARN switchyard: {dropped} log lines dropped: stdout is too slow"
        );
    }
    let _ = stdout.write_all(bytes);
    let _ = stdout.flush();
}

fn flusher() {
    let s = shared();
    loop {
        {
            let buf = s.buffer.lock().unwrap_or_else(|p| p.into_inner());
            let _unused = s
                .ready
                .wait_while(buf, |b| b.is_empty())
                .unwrap_or_else(|p| p.into_inner());
        }
        std::thread::sleep(GATHER);
        let batch = take(s);
        write_out(s, &redact_batch(batch));
    }
}

/// The masking step for logs, on this thread rather than the request path: a line that
/// quotes an upstream error or a URL never shows a key.
fn redact_batch(batch: Vec<u8>) -> Vec<u8> {
    let masked = match std::str::from_utf8(&batch) {
        Ok(text) => match crate::secret::redact(text) {
            std::borrow::Cow::Owned(masked) => Some(masked),
            std::borrow::Cow::Borrowed(_) => None,
        },
        Err(_) => Some(crate::secret::redact(&String::from_utf8_lossy(&batch)).into_owned()),
    };
    masked.map_or(batch, String::into_bytes)
}

/// Writes whatever is buffered, now (at exit, before a panic message).
pub fn flush_now() {
    if let Some(s) = SHARED.get() {
        let batch = take(s);
        write_out(s, &redact_batch(batch));
    }
}

/// The `MakeWriter` for tracing-subscriber: each event arrives as one formatted line.
#[derive(Clone, Copy, Default)]
pub struct BufferedStdout;

impl Write for BufferedStdout {
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        let s = shared();
        let was_empty = {
            let mut buf = s.buffer.lock().unwrap_or_else(|p| p.into_inner());
            if buf.len() + line.len() > MAX_BUFFERED {
                s.dropped.fetch_add(1, Ordering::Relaxed);
                return Ok(line.len());
            }
            let was_empty = buf.is_empty();
            buf.extend_from_slice(line);
            was_empty
        };
        if was_empty {
            s.ready.notify_one();
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for BufferedStdout {
    type Writer = BufferedStdout;

    fn make_writer(&'a self) -> Self::Writer {
        *self
    }
}

/// Panics abort the process (release profile): write the buffered lines before the message.
pub fn flush_on_panic() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        flush_now();
        default(info);
    }));
}
