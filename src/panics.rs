//! Panics, for the bug we missed: described without leaking a key, and kept from ending a
//! stream (or a worker) silently. Used by the HTTP guard and the dispatcher's streams.

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::Stream;

use crate::openai::error_body::ErrorBody;

/// A panic's message, masked.
pub fn describe(payload: &(dyn Any + Send)) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into());
    crate::secret::redact(&text).into_owned()
}

/// A client stream (SSE) whose producer panicking ends the stream with an error event.
pub struct PanicSafeStream<S> {
    inner: Option<S>,
    call_id: String,
}

impl<S> PanicSafeStream<S> {
    pub fn new(inner: S, call_id: &str) -> Self {
        Self {
            inner: Some(inner),
            call_id: call_id.to_string(),
        }
    }
}

impl<S> Stream for PanicSafeStream<S>
where
    S: Stream<Item = Result<Bytes, actix_web::Error>> + Unpin,
{
    type Item = Result<Bytes, actix_web::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let Some(inner) = self.inner.as_mut() else {
            return Poll::Ready(None);
        };
        match std::panic::catch_unwind(AssertUnwindSafe(|| Pin::new(inner).poll_next(cx))) {
            Ok(poll) => poll,
            Err(payload) => {
                // Dropping the producer may panic again; it is gone either way.
                let producer = self.inner.take();
                let _ = std::panic::catch_unwind(AssertUnwindSafe(move || drop(producer)));
                tracing::error!(
                    call_id = %self.call_id,
                    panic = %describe(payload.as_ref()),
                    "bug: a panic while streaming; the stream ends with an error event"
                );
                Poll::Ready(Some(Ok(ErrorBody::new(
                    "the gateway hit an internal error while streaming this answer",
                    "internal_server_error",
                    None,
                    500,
                )
                .sse_event())))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_rt::test]
    async fn a_panicking_stream_ends_with_an_error_event() {
        use futures_util::StreamExt;
        let mut calls = 0;
        let producer = futures_util::stream::poll_fn(move |_| {
            calls += 1;
            if calls > 1 {
                panic!("stream bug");
            }
            Poll::Ready(Some(Ok(Bytes::from_static(b"data: {}\n\n"))))
        });
        let mut s = PanicSafeStream::new(Box::pin(producer), "call-2");
        assert_eq!(s.next().await.unwrap().unwrap(), "data: {}\n\n");
        let last = s.next().await.unwrap().unwrap();
        assert!(std::str::from_utf8(&last)
            .unwrap()
            .contains("internal error"));
        assert!(s.next().await.is_none());
    }
}
