//! Relays an upstream SSE stream to the client event by event, as it arrives. The provider's
//! translator turns events into OpenAI chunks and decides whether the stream ended complete;
//! the relay counts usage, assembles the answer for the cache, and ends a stream the upstream
//! cut short with an error event (LiteLLM fakes a `finish_reason: stop` and `[DONE]` there).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use actix::Addr;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use serde_json::Value;
use switchyard_actors::accrual::FailureFacts;
use switchyard_actors::clock::now_ms;
use switchyard_actors::deployment::{DeploymentActor, RecordFailure};
use switchyard_actors::gate::Admission;
use switchyard_actors::plan::AttemptError;
use switchyard_actors::seconds::Seconds;
use switchyard_actors::ErrorClass;

use super::settle::{self, Outcome, Settlement};
use crate::cache::entry::StreamCollector;
use crate::cache::WorkerCache;
use crate::openai::chunk::done_event;
use crate::openai::Usage;
use crate::providers::contract::{StreamItem, StreamTranslator};
use crate::providers::framing::{FrameDecoder, Framing};
use crate::providers::sse::SseEvent;

/// Largest single SSE event accepted from an upstream.
const MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;

/// What the relay settles when the stream ends: the deployment's slot and outcome, the log line.
pub struct StreamEnd {
    /// The deployment's in-flight slot, freed when the stream ends.
    pub admission: Admission,

    pub reporter: Addr<DeploymentActor>,
    pub log: Settlement,
    pub attempt_started: Instant,
    pub client_timeout: bool,
    /// Where the assembled answer goes once the stream has completed.
    pub store: Option<PendingStore>,
    /// Where the stream's token count goes (cluster-wide tpm), once it has completed.
    pub tokens_sink: Option<Box<dyn FnOnce(u64)>>,
    /// Turns true when the grace period after SIGTERM is over: the stream is cut with an
    /// error event rather than left to end mid-answer when the process exits.
    pub shutdown: tokio::sync::watch::Receiver<bool>,
}

pub struct PendingStore {
    pub cache: WorkerCache,
    pub key: String,
    pub ttl: Seconds,
}

pub struct Relay<S> {
    upstream: S,
    decoder: FrameDecoder,
    queue: VecDeque<Bytes>,
    idle: Duration,
    saw_done: bool,
    /// The upstream closed and its translator found the answer complete.
    complete: bool,
    finished: bool,
    usage: Option<Usage>,
    first_chunk_at: Option<Instant>,
    end: Option<StreamEnd>,
    /// Assembles the answer for the cache while it is relayed.
    collector: Option<StreamCollector>,
    /// The gateway asked the upstream for usage the client did not ask for: keep it to itself.
    hide_usage: bool,
    /// The provider's events as OpenAI chunks, and its end-of-stream rule.
    translator: Box<dyn StreamTranslator>,
    shutdown: Option<tokio::sync::watch::Receiver<bool>>,
}

type UpstreamItem = Result<Bytes, awc::error::PayloadError>;

impl<S: Stream<Item = UpstreamItem> + Unpin + 'static> Relay<S> {
    pub fn new(
        upstream: S,
        idle: Duration,
        collect: bool,
        hide_usage: bool,
        translator: Box<dyn StreamTranslator>,
        framing: Framing,
    ) -> Self {
        Self {
            upstream,
            decoder: FrameDecoder::new(framing, MAX_EVENT_BYTES),
            queue: VecDeque::new(),
            idle,
            saw_done: false,
            complete: false,
            finished: false,
            usage: None,
            first_chunk_at: None,
            end: None,
            collector: collect.then(StreamCollector::default),
            hide_usage,
            translator,
            shutdown: None,
        }
    }

    /// Reads until the first event is ready to send. Anything that goes wrong before then is an
    /// ordinary attempt failure, so the request can still be retried or fall back.
    pub async fn first_event(
        &mut self,
        budget: Duration,
        timeout_error: AttemptError,
    ) -> Result<(), AttemptError> {
        let deadline = tokio::time::Instant::now() + budget;
        while self.queue.is_empty() {
            let next = tokio::time::timeout_at(deadline, self.upstream.next()).await;
            match next {
                Err(_) => return Err(timeout_error),
                Ok(Some(Ok(bytes))) => self.take(&bytes)?,
                Ok(Some(Err(e))) => {
                    return Err(AttemptError::new(
                        ErrorClass::InternalServer,
                        500,
                        format!(
                        "InternalServerError: upstream stream failed before the first chunk: {e}"
                    ),
                    ))
                }
                Ok(None) => {
                    let closed = self.close();
                    if self.queue.is_empty() {
                        return Err(AttemptError::new(
                            ErrorClass::InternalServer,
                            500,
                            "InternalServerError: upstream closed the stream without sending any event",
                        ));
                    }
                    // Cut short before anything was sent: the request can still be retried.
                    closed?;
                }
            }
        }
        self.first_chunk_at = Some(Instant::now());
        Ok(())
    }

    fn take(&mut self, bytes: &[u8]) -> Result<(), AttemptError> {
        let mut events = Vec::new();
        self.decoder.push(bytes, &mut events).map_err(|e| {
            AttemptError::new(
                ErrorClass::InternalServer,
                500,
                format!("upstream SSE event larger than {} bytes", e.0),
            )
        })?;
        for ev in events {
            self.on_event(ev)?;
        }
        Ok(())
    }

    /// The upstream closed: the last event, then the translator's verdict on the whole stream.
    fn close(&mut self) -> Result<(), AttemptError> {
        let mut events = Vec::new();
        self.decoder.finish(&mut events);
        for ev in events {
            self.on_event(ev)?;
        }
        let mut items = Vec::new();
        self.translator.end(&mut items)?;
        self.on_items(items)?;
        self.complete = true;
        Ok(())
    }

    fn on_event(&mut self, ev: SseEvent) -> Result<(), AttemptError> {
        let mut items = Vec::new();
        self.translator.event(ev, &mut items)?;
        self.on_items(items)
    }

    fn on_items(&mut self, items: Vec<StreamItem>) -> Result<(), AttemptError> {
        for item in items {
            match item {
                StreamItem::Chunk { chunk, text } => self.on_chunk(chunk, text),
                StreamItem::Passthrough { text, usage } => self.on_passthrough(text, usage),
                StreamItem::Verbatim(line) => {
                    self.queue
                        .push_back(Bytes::from(format!("data: {line}\n\n")));
                }
                StreamItem::Done => {
                    self.saw_done = true;
                    self.queue.push_back(done_event());
                }
                StreamItem::Raw(bytes) => self.queue.push_back(bytes),
                StreamItem::Usage(u) => self.usage = Some(u),
                StreamItem::Finished => self.saw_done = true,
            }
        }
        Ok(())
    }

    /// A chunk the translator read without building: sent as received, unless the cache or a
    /// hidden usage needs the chunk itself.
    fn on_passthrough(&mut self, text: String, usage: Option<Usage>) {
        if self.collector.is_some() || (self.hide_usage && usage.is_some()) {
            if let Ok(chunk) = serde_json::from_str::<Value>(&text) {
                self.on_chunk(chunk, Some(text));
                return;
            }
        }
        if usage.is_some() {
            self.usage = usage;
        }
        self.queue
            .push_back(Bytes::from(format!("data: {text}\n\n")));
    }

    /// One OpenAI chunk: its usage counted, collected for the cache, and queued for the client
    /// (`text` is its JSON as received, reused when nothing changes).
    fn on_chunk(&mut self, mut chunk: Value, text: Option<String>) {
        if let Some(u) = Usage::from_response(&chunk) {
            self.usage = Some(u);
        }
        if let Some(c) = &mut self.collector {
            c.add(&chunk);
        }
        let mut text = text;
        if self.hide_usage && chunk.get("usage").is_some_and(|u| !u.is_null()) {
            let no_choices = chunk
                .get("choices")
                .and_then(Value::as_array)
                .is_none_or(Vec::is_empty);
            if no_choices {
                return;
            }
            if let Some(obj) = chunk.as_object_mut() {
                obj.remove("usage");
            }
            text = None;
        }
        let out = match text {
            Some(data) => format!("data: {data}\n\n"),
            None => format!("data: {chunk}\n\n"),
        };
        self.queue.push_back(Bytes::from(out));
    }

    /// Hands the relay what it must settle at the end, and turns it into the client's stream.
    pub fn into_stream(
        mut self,
        end: StreamEnd,
    ) -> impl Stream<Item = Result<Bytes, actix_web::Error>> {
        self.shutdown = Some(end.shutdown.clone());
        self.end = Some(end);
        futures_util::stream::unfold(self, |mut relay| async move {
            relay.next_bytes().await.map(|b| (Ok(b), relay))
        })
    }

    async fn next_bytes(&mut self) -> Option<Bytes> {
        loop {
            if let Some(b) = self.queue.pop_front() {
                return Some(b);
            }
            if self.finished {
                return None;
            }
            if self.complete {
                self.succeed();
                continue;
            }
            let next = tokio::time::timeout(self.idle, self.upstream.next());
            let next = match &mut self.shutdown {
                Some(shutdown) => {
                    tokio::select! {
                        biased;
                        item = next => Some(item),
                        // A closed channel (the server is gone) counts as a shutdown too.
                        _ = shutdown.wait_for(|cut| *cut) => None,
                    }
                }
                None => Some(next.await),
            };
            let Some(next) = next else {
                self.cut_for_shutdown();
                continue;
            };
            match next {
                Err(_) => {
                    let msg = format!(
                        "Timeout: upstream sent nothing for {}s mid-stream",
                        self.idle.as_secs_f64()
                    );
                    self.fail(ErrorClass::Timeout, &msg);
                }
                Ok(Some(Ok(bytes))) => {
                    if let Err(e) = self.take(&bytes) {
                        self.fail(e.class, &e.message);
                    }
                }
                Ok(Some(Err(e))) => self.fail(
                    ErrorClass::InternalServer,
                    &format!("InternalServerError: upstream stream broke: {e}"),
                ),
                Ok(None) => {
                    if let Err(e) = self.close() {
                        self.fail(e.class, &e.message);
                    }
                }
            }
            if self.saw_done && !self.finished {
                self.succeed();
            }
        }
    }

    fn succeed(&mut self) {
        self.finished = true;
        if let Some(end) = self.end.take() {
            let usage = self.usage.unwrap_or_default();
            // Streams are ranked by time to first token, as LiteLLM's latency routing does.
            let ttft = self.first_chunk_at.unwrap_or_else(Instant::now) - end.attempt_started;
            let StreamEnd {
                admission,
                mut log,
                store,
                tokens_sink,
                attempt_started,
                ..
            } = end;
            if let (Some(store), Some(collector)) = (store, self.collector.take()) {
                if let Some(answer) = collector.finish() {
                    store.cache.store(store.key, &answer, store.ttl);
                }
            }
            log.first_token = Some(ttft);
            log.upstream = Some(attempt_started.elapsed());
            settle::succeed(admission, tokens_sink, ttft, usage, &mut log);
        }
    }

    /// The grace period is over: the client learns the answer is incomplete; the deployment is
    /// not blamed.
    fn cut_for_shutdown(&mut self) {
        self.finished = true;
        self.queue.push_back(self.translator.error_event(
            ErrorClass::ServiceUnavailable,
            "ServiceUnavailableError: the gateway is shutting down and its grace period is over; \
             the answer was cut here",
        ));
        if let Some(mut end) = self.end.take() {
            end.log.end(Outcome::CutAtShutdown, 200);
        }
    }

    fn fail(&mut self, class: ErrorClass, message: &str) {
        self.finished = true;
        self.queue
            .push_back(self.translator.error_event(class, message));
        if let Some(mut end) = self.end.take() {
            end.reporter.do_send(RecordFailure {
                facts: FailureFacts {
                    class,
                    retry_after: None,
                    client_timeout: end.client_timeout,
                },
                now_ms: now_ms(),
            });
            end.log.failed_with(class);
            end.log.end(Outcome::StreamFailed(class), 200);
            tracing::warn!(call_id = %end.log.call_id, deployment = %end.log.deployment, "{}", crate::secret::redact(message));
        }
    }
}

impl<S> Drop for Relay<S> {
    fn drop(&mut self) {
        if let Some(end) = &mut self.end {
            // The client went away before the stream ended.
            end.log.end(Outcome::ClientClosed, 200);
        }
    }
}
