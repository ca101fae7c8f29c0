//! The one contract every provider implements: build the upstream request, translate an answer,
//! translate a stream (with an explicit end), and classify an error. The dispatcher calls it
//! and nothing else; it never asks which provider it is talking to.

use awc::http::header::HeaderMap;
use bytes::Bytes;
use futures_util::future::LocalBoxFuture;
use serde_json::{Map, Value};
use switchyard_actors::plan::AttemptError;
use switchyard_actors::seconds::Seconds;
use switchyard_actors::ErrorClass;

use super::framing::Framing;
use super::native::{NativeApi, NativeBody};
use super::sse::SseEvent;
use crate::openai::{Endpoint, Usage};
use crate::providers::upstream::Upstream;

/// What one attempt asks of a provider.
#[derive(Clone, Copy)]
pub struct Call<'a> {
    pub upstream: &'a Upstream,
    pub endpoint: Endpoint,
    /// The client's OpenAI body (router-only fields removed; remote images inlined for a
    /// provider that asked for that).
    pub body: &'a Map<String, Value>,
    pub stream: bool,
    pub drop_params: bool,
    /// The model name the client is shown; `None` keeps the name the upstream answers with.
    pub answer_model: Option<&'a str>,
    /// What `Provider::credential` minted for this call.
    pub credential: Option<&'a str>,
}

impl Call<'_> {
    /// The name a translated answer carries: the one to show, else the upstream model.
    pub fn label(&self) -> &str {
        self.answer_model.unwrap_or(self.upstream.model.as_str())
    }
}

/// A request ready to send upstream (POST, JSON body).
pub struct UpstreamRequest {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// An upstream's non-2xx answer.
pub struct UpstreamFailure<'a> {
    pub status: u16,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    /// The longest `Retry-After` honoured (`switchyard_settings.max_retry_after_seconds`).
    pub max_retry_after: Seconds,
}

pub trait Provider: Send + Sync + std::fmt::Debug {
    /// Whether image URLs must be fetched and sent inline (the provider cannot fetch them).
    fn wants_inline_images(&self) -> bool {
        false
    }

    /// A bearer credential minted for calls (Vertex's OAuth access token), from the provider's
    /// cache or fetched through `client`; `None` for providers whose key is static.
    fn credential<'a>(
        &'a self,
        _client: &'a awc::Client,
    ) -> Option<LocalBoxFuture<'a, Result<String, AttemptError>>> {
        None
    }

    /// The most embedding inputs one upstream request may carry (Amazon Titan: one); a larger
    /// batch is sent as several requests and their answers merged.
    fn inputs_per_request(&self, _call: &Call<'_>) -> Option<usize> {
        None
    }

    fn request(&self, call: &Call<'_>) -> Result<UpstreamRequest, AttemptError>;

    /// Whether `native` would send a request in `api` as it is (checked before the body is kept
    /// for it).
    fn speaks(&self, _upstream: &Upstream, _api: NativeApi) -> bool {
        false
    }

    /// The client's body in another inbound API, sent as it is when this deployment speaks
    /// that API itself (Anthropic's Messages to Anthropic's models); `None`: it goes through
    /// the chat core instead.
    fn native(
        &self,
        _call: &Call<'_>,
        _native: &NativeBody,
    ) -> Option<Result<UpstreamRequest, AttemptError>> {
        None
    }

    /// The server answered 404 to `api`: from now on its requests go through the chat core.
    fn native_missing(&self, _api: NativeApi) {}

    /// The relay for a stream `native` asked for.
    fn native_stream(&self, api: NativeApi) -> Box<dyn StreamTranslator> {
        super::native::relay(api)
    }

    /// A 2xx answer as an OpenAI answer, and its usage.
    fn answer(&self, call: &Call<'_>, body: &[u8]) -> Result<(Vec<u8>, Usage), AttemptError>;

    /// The translator for a 2xx streamed answer.
    fn stream(&self, call: &Call<'_>) -> Box<dyn StreamTranslator>;

    /// How the stream's events are framed on the wire.
    fn framing(&self) -> Framing {
        Framing::Sse
    }

    /// Secrets it holds besides the deployment's key (AWS secret keys, service-account keys),
    /// for the masking step.
    fn secrets(&self) -> Vec<String> {
        Vec::new()
    }

    /// A non-2xx answer as one of the router's error classes.
    fn classify(&self, upstream: &Upstream, failure: &UpstreamFailure<'_>) -> AttemptError;
}

/// What one upstream stream event becomes on the OpenAI side.
#[derive(Debug, PartialEq)]
pub enum StreamItem {
    /// An OpenAI chunk; `text` is its JSON as received, reused when nothing was changed.
    Chunk {
        chunk: Value,
        text: Option<String>,
    },
    /// An OpenAI chunk to pass on exactly as received (`text`), read but not built: its usage,
    /// when it has one. The relay builds it only when it must (the cache assembles the answer,
    /// or usage the client did not ask for is cut out).
    Passthrough {
        text: String,
        usage: Option<Usage>,
    },
    /// A line passed on as it came (an OpenAI-compatible server's non-JSON data line).
    Verbatim(String),
    Done,
    /// An event of a native stream, sent as it is.
    Raw(Bytes),
    /// The usage a native stream reported (counted, not sent).
    Usage(Usage),
    /// A native stream is complete (nothing more is sent).
    Finished,
}

impl StreamItem {
    pub fn chunk(chunk: Value) -> Self {
        Self::Chunk { chunk, text: None }
    }
}

/// Turns one provider's stream events into OpenAI chunks, as they arrive. An event it cannot
/// read is an error the client sees, never dropped; `end` decides whether the stream that just
/// closed was complete.
pub trait StreamTranslator {
    fn event(&mut self, ev: SseEvent, out: &mut Vec<StreamItem>) -> Result<(), AttemptError>;

    /// The upstream closed the stream: `Ok` (after pushing whatever closes it, `[DONE]` at
    /// least) when the answer was complete, the error to send when it was cut short.
    fn end(&mut self, out: &mut Vec<StreamItem>) -> Result<(), AttemptError>;

    /// How a failure mid-stream reaches the client: an OpenAI error chunk, unless the stream
    /// is in another API's format.
    fn error_event(&self, class: ErrorClass, message: &str) -> Bytes {
        crate::openai::error_body::ErrorBody::new(
            message,
            class.error_type(),
            None,
            class.client_status(),
        )
        .sse_event()
    }
}
