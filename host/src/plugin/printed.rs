//! What a plugin that imports WASI prints: kept per call, bounded, and handed
//! to the host's log (debug level, tagged with the plugin), never to the host's
//! own stdout, which carries only data.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};

/// The most a plugin's output of one call keeps; the rest is counted.
const KEPT: usize = 16 << 10;

/// One of the plugin's output streams (stdout or stderr).
#[derive(Clone, Default)]
pub struct Printed(Arc<Mutex<Buffer>>);

#[derive(Default)]
struct Buffer {
    kept: Vec<u8>,
    dropped: u64,
}

impl Printed {
    /// What was printed since the last call, as text; `None` when nothing.
    pub fn take(&self) -> Option<String> {
        let mut buffer = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if buffer.kept.is_empty() && buffer.dropped == 0 {
            return None;
        }
        let kept = std::mem::take(&mut buffer.kept);
        let dropped = std::mem::take(&mut buffer.dropped);
        // One log line: a collector reads lines.
        let lossy = String::from_utf8_lossy(&kept);
        let mut text = lossy.lines().collect::<Vec<_>>().join(" | ");
        if dropped > 0 {
            text.push_str(&format!(" … ({dropped} more bytes not kept)"));
        }
        Some(crate::secret::redact(&text).into_owned())
    }

    fn write(&self, bytes: &[u8]) {
        let mut buffer = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let room = KEPT.saturating_sub(buffer.kept.len());
        let (kept, dropped) = bytes.split_at(room.min(bytes.len()));
        buffer.kept.extend_from_slice(kept);
        buffer.dropped += dropped.len() as u64;
    }
}

impl IsTerminal for Printed {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for Printed {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl tokio::io::AsyncWrite for Printed {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        // Everything is accepted at once, so a plugin never waits on its output.
        self.write(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_kept_up_to_a_bound_and_taken_once() {
        let printed = Printed::default();
        assert_eq!(printed.take(), None);
        printed.write(b"hello\n");
        printed.write(b"world\n");
        assert_eq!(printed.take().as_deref(), Some("hello | world"));
        assert_eq!(printed.take(), None);
        printed.write(&vec![b'x'; KEPT + 10]);
        let text = printed.take().unwrap();
        assert!(
            text.ends_with(" … (10 more bytes not kept)"),
            "{}",
            &text[text.len() - 40..]
        );
    }
}
