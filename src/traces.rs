//! OpenTelemetry traces, on with `litellm_settings.callbacks: ["otel"]` (LiteLLM's switch): one
//! server span per request and a client span per upstream attempt (so retries and fallbacks
//! show), with GenAI semantic-convention attributes. The W3C `traceparent` a client sends
//! becomes the request span's parent, and each attempt's own context is sent upstream, so a
//! vLLM server's traces join. Spans go to the SDK's batch processor (a bounded queue its own
//! thread drains), exported over OTLP/HTTP protobuf to the standard `OTEL_EXPORTER_OTLP_*`
//! endpoint: a slow or dead collector fills that queue and loses spans, never a request's time.

use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

use opentelemetry::trace::{
    Span as _, SpanContext, SpanId, SpanKind, Status, TraceContextExt, TraceFlags, TraceId,
    TraceState, Tracer as _, TracerProvider as _,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{BatchSpanProcessor, SdkTracer, SdkTracerProvider, Span};
use switchyard_actors::ErrorClass;

mod http_client;

static TRACER: OnceLock<SdkTracer> = OnceLock::new();

/// Whether requests are traced (the exporter started).
pub fn enabled() -> bool {
    TRACER.get().is_some()
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Starts the exporter and its batch thread; the provider must be shut down at exit (it
/// flushes the spans still queued).
pub fn start(instance_id: &str) -> Result<SdkTracerProvider, String> {
    use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
    let protocol =
        env("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL").or_else(|| env("OTEL_EXPORTER_OTLP_PROTOCOL"));
    if let Some(p) = protocol.filter(|p| p != "http/protobuf") {
        tracing::warn!(protocol = %p, "OTEL_EXPORTER_OTLP_PROTOCOL: only http/protobuf is supported; exporting with it");
    }
    let timeout_ms = env("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT")
        .or_else(|| env("OTEL_EXPORTER_OTLP_TIMEOUT"))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(10_000);
    let timeout = Duration::from_millis(timeout_ms.clamp(1, 600_000));
    let mut builder = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_timeout(timeout)
        .with_http_client(http_client::BlockingClient::new(timeout));
    // LiteLLM's own variable, for configs written for it (the standard ones win).
    let standard =
        env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").or_else(|| env("OTEL_EXPORTER_OTLP_ENDPOINT"));
    if let (None, Some(endpoint)) = (standard, env("OTEL_ENDPOINT")) {
        builder = builder.with_endpoint(endpoint);
    }
    let exporter = builder
        .build()
        .map_err(|e| format!("the OTLP exporter could not start: {e}"))?;
    let mut resource = opentelemetry_sdk::Resource::builder();
    if env("OTEL_SERVICE_NAME").is_none() {
        resource = resource.with_service_name("switchyard");
    }
    let resource = resource
        .with_attribute(KeyValue::new(
            "service.instance.id",
            instance_id.to_string(),
        ))
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .build();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(BatchSpanProcessor::builder(exporter).build())
        .with_resource(resource)
        .build();
    let _ = TRACER.set(provider.tracer("switchyard"));
    Ok(provider)
}

/// A W3C `traceparent` header: the client's span, to be the request span's parent.
pub fn parse_traceparent(value: &str) -> Option<SpanContext> {
    let mut parts = value.trim().split('-');
    let version = parts.next()?;
    let (trace, span, flags) = (parts.next()?, parts.next()?, parts.next()?);
    // Version 00 has exactly four fields; a later version may add more after them.
    let valid_version = version.len() == 2
        && version != "ff"
        && u8::from_str_radix(version, 16).is_ok()
        && (version != "00" || parts.next().is_none());
    if !valid_version || trace.len() != 32 || span.len() != 16 || flags.len() != 2 {
        return None;
    }
    let hex = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    if !hex(trace) || !hex(span) || !hex(flags) {
        return None;
    }
    let trace_id = TraceId::from_hex(trace).ok()?;
    let span_id = SpanId::from_hex(span).ok()?;
    let flags = u8::from_str_radix(flags, 16).ok()?;
    let sc = SpanContext::new(
        trace_id,
        span_id,
        TraceFlags::new(flags & 1),
        true,
        TraceState::default(),
    );
    sc.is_valid().then_some(sc)
}

/// The client's span as the parent of the request span, or a new trace.
fn parent_context(client_parent: Option<&SpanContext>) -> Context {
    client_parent.map_or_else(Context::new, |sc| {
        Context::new().with_remote_span_context(sc.clone())
    })
}

fn traceparent(sc: &SpanContext) -> String {
    format!(
        "00-{}-{}-{:02x}",
        sc.trace_id(),
        sc.span_id(),
        sc.trace_flags().to_u8()
    )
}

fn wall_clock(at: Instant) -> SystemTime {
    SystemTime::now()
        .checked_sub(at.elapsed())
        .unwrap_or_else(SystemTime::now)
}

fn i64_of(n: impl TryInto<i64>) -> i64 {
    n.try_into().unwrap_or(i64::MAX)
}

fn set_usage(span: &mut Span, input_tokens: u64, output_tokens: u64) {
    span.set_attribute(KeyValue::new(
        "gen_ai.usage.input_tokens",
        i64_of(input_tokens),
    ));
    span.set_attribute(KeyValue::new(
        "gen_ai.usage.output_tokens",
        i64_of(output_tokens),
    ));
}

/// What an attempt went to.
pub struct AttemptTarget<'a> {
    pub deployment_id: &'a str,
    pub model_group: &'a str,
    /// The provider prefix (`openai`, `anthropic`, `hosted_vllm`, ...).
    pub provider: &'a str,
    /// The model the upstream is asked for.
    pub model: &'a str,
    pub api_base: &'a str,
}

/// How a request ended, for its span.
pub struct Ending<'a> {
    pub status: u16,
    pub outcome: &'a str,
    /// `Some` for a failure: its class name.
    pub error: Option<&'a str>,
    pub cache: &'a str,
    pub attempts: u32,
    pub deployment_id: Option<&'a str>,
    pub model_group: &'a str,
    pub response_model: Option<&'a str>,
    pub provider: Option<&'a str>,
    pub input_tokens: u64,
    pub output_tokens: u64,
}

/// One request's spans while it runs.
pub struct RequestTrace {
    tracer: &'static SdkTracer,
    span: Span,
    /// The request span as parent of the attempts.
    parent: Context,
    operation: &'static str,
    attempt: Option<Span>,
}

impl RequestTrace {
    /// The request span (`None` when tracing is off), started when the request arrived.
    pub fn begin(
        operation: &'static str,
        requested_model: &str,
        route: &str,
        call_id: &str,
        stream: bool,
        client_parent: Option<&SpanContext>,
        started: Instant,
    ) -> Option<Self> {
        let tracer = TRACER.get()?;
        let parent = parent_context(client_parent);
        let span = tracer
            .span_builder(format!("{operation} {requested_model}"))
            .with_kind(SpanKind::Server)
            .with_start_time(wall_clock(started))
            .with_attributes([
                KeyValue::new("gen_ai.operation.name", operation),
                KeyValue::new("gen_ai.request.model", requested_model.to_string()),
                KeyValue::new("http.request.method", "POST"),
                KeyValue::new("http.route", route.to_string()),
                KeyValue::new("switchyard.call_id", call_id.to_string()),
                KeyValue::new("switchyard.stream", stream),
            ])
            .start_with_context(tracer, &parent);
        let parent = Context::new().with_remote_span_context(span.span_context().clone());
        Some(Self {
            tracer,
            span,
            parent,
            operation,
            attempt: None,
        })
    }

    /// An attempt begins: its span, and the `traceparent` to send upstream with it.
    pub fn attempt(&mut self, to: &AttemptTarget<'_>, number: u32) -> String {
        if let Some(mut previous) = self.attempt.take() {
            previous.end();
        }
        let span = self
            .tracer
            .span_builder(format!("{} {}", self.operation, to.model))
            .with_kind(SpanKind::Client)
            .with_attributes([
                KeyValue::new("gen_ai.operation.name", self.operation),
                KeyValue::new("gen_ai.system", to.provider.to_string()),
                KeyValue::new("gen_ai.provider.name", to.provider.to_string()),
                KeyValue::new("gen_ai.request.model", to.model.to_string()),
                KeyValue::new("server.address", to.api_base.to_string()),
                KeyValue::new("switchyard.deployment_id", to.deployment_id.to_string()),
                KeyValue::new("switchyard.model_group", to.model_group.to_string()),
                KeyValue::new("switchyard.attempt", i64::from(number)),
            ])
            .start_with_context(self.tracer, &self.parent);
        let header = traceparent(span.span_context());
        self.attempt = Some(span);
        header
    }

    /// The attempt in progress failed.
    pub fn attempt_failed(&mut self, status: u16, class: ErrorClass, message: &str) {
        if let Some(mut span) = self.attempt.take() {
            span.set_attribute(KeyValue::new(
                "http.response.status_code",
                i64::from(status),
            ));
            span.set_attribute(KeyValue::new("error.type", class.name()));
            span.set_status(Status::error(crate::secret::redact(message).into_owned()));
            span.end();
        }
    }

    /// The attempt in progress answered in full (a JSON answer; a stream ends at `finish`).
    pub fn attempt_answered(&mut self, input_tokens: u64, output_tokens: u64) {
        if let Some(mut span) = self.attempt.take() {
            span.set_attribute(KeyValue::new("http.response.status_code", 200));
            set_usage(&mut span, input_tokens, output_tokens);
            span.end();
        }
    }

    /// The request ended (a stream: when its last byte went out or it failed).
    pub fn finish(mut self: Box<Self>, e: &Ending<'_>) {
        if let Some(mut span) = self.attempt.take() {
            match e.error {
                Some(class) => {
                    span.set_attribute(KeyValue::new("error.type", class.to_string()));
                    span.set_status(Status::error(e.outcome.to_string()));
                }
                None => {
                    span.set_attribute(KeyValue::new("http.response.status_code", 200));
                    set_usage(&mut span, e.input_tokens, e.output_tokens);
                }
            }
            span.end();
        }
        let s = &mut self.span;
        s.set_attribute(KeyValue::new(
            "http.response.status_code",
            i64::from(e.status),
        ));
        s.set_attribute(KeyValue::new("switchyard.outcome", e.outcome.to_string()));
        s.set_attribute(KeyValue::new("switchyard.cache", e.cache.to_string()));
        s.set_attribute(KeyValue::new("switchyard.attempts", i64::from(e.attempts)));
        s.set_attribute(KeyValue::new(
            "switchyard.model_group",
            e.model_group.to_string(),
        ));
        if let Some(id) = e.deployment_id {
            s.set_attribute(KeyValue::new("switchyard.deployment_id", id.to_string()));
        }
        if let Some(p) = e.provider {
            s.set_attribute(KeyValue::new("gen_ai.system", p.to_string()));
            s.set_attribute(KeyValue::new("gen_ai.provider.name", p.to_string()));
        }
        if let Some(m) = e.response_model {
            s.set_attribute(KeyValue::new("gen_ai.response.model", m.to_string()));
        }
        if e.error.is_none() {
            set_usage(s, e.input_tokens, e.output_tokens);
        }
        if let Some(class) = e.error {
            s.set_attribute(KeyValue::new("error.type", class.to_string()));
            s.set_status(Status::error(format!("{} ({})", e.outcome, e.status)));
        }
        s.end();
    }
}

/// A request refused before routing: one span with the reason.
pub fn rejected(
    route: &str,
    call_id: &str,
    client_parent: Option<&SpanContext>,
    status: u16,
    reason: &str,
) {
    let Some(tracer) = TRACER.get() else {
        return;
    };
    let parent = parent_context(client_parent);
    let mut span = tracer
        .span_builder(format!("POST {route}"))
        .with_kind(SpanKind::Server)
        .with_attributes([
            KeyValue::new("http.route", route.to_string()),
            KeyValue::new("switchyard.call_id", call_id.to_string()),
            KeyValue::new("http.response.status_code", i64::from(status)),
            KeyValue::new("switchyard.outcome", "rejected"),
            KeyValue::new("error.type", "ProxyException"),
        ])
        .start_with_context(tracer, &parent);
    span.set_status(Status::error(crate::secret::redact(reason).into_owned()));
    span.end();
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn traceparent_parses_the_w3c_examples_and_refuses_the_rest() {
        let sc =
            parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
        assert_eq!(
            sc.trace_id().to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert!(sc.is_sampled() && sc.is_remote());
        assert_eq!(
            traceparent(&sc),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        );
        // A later version may carry more fields.
        assert!(
            parse_traceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-xyz")
                .is_some()
        );
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "0-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",
        ] {
            assert!(parse_traceparent(bad).is_none(), "{bad}");
        }
    }
}
