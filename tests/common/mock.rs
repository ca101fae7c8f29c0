//! A mock LLM upstream speaking each provider's real wire format, chosen by the request path:
//! OpenAI-compatible (and Azure), Anthropic Messages, Gemini generateContent. Scriptable to fail,
//! hang, rate-limit or cut a stream, and counting what it receives. It runs its own actix
//! system on its own thread.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use bytes::Bytes;
use serde_json::Value;

#[derive(Clone, Debug)]
pub enum Reply {
    /// 200 chat.completion (streamed word by word when the request asks for a stream).
    Chat { content: String },
    /// 200 SSE: a chunk per piece, `delay_ms` before each; a finish chunk, a usage chunk when
    /// asked, `[DONE]`. `cut_after: Some(n)` aborts the connection after n pieces.
    Stream {
        chunks: Vec<String>,
        delay_ms: u64,
        cut_after: Option<usize>,
    },
    /// An OpenAI-style error body with this status, and `retry-after` when given.
    Error {
        status: u16,
        message: String,
        err_type: String,
        code: Option<String>,
        retry_after: Option<u64>,
    },
    /// Never answers (for ten minutes).
    Hang,
    /// 200 embeddings list, one vector of `dims` per input item.
    Embedding { dims: usize },
    /// 200 answer calling one function (streamed as the provider streams tool calls).
    ToolCall { name: String, arguments: String },
    /// 200 `text/event-stream` with exactly these events, each sent as `data: <event>` and a
    /// blank line, `delay_ms` before each (nothing added: no finish chunk, no `[DONE]` unless
    /// given).
    RawSse { events: Vec<String>, delay_ms: u64 },
    /// Waits `after_ms` before answering at all (no status, no header), then as `then`: a
    /// server busy with a long prefill.
    Late { after_ms: u64, then: Box<Reply> },
}

impl Reply {
    pub fn late(after_ms: u64, then: Reply) -> Self {
        Self::Late {
            after_ms,
            then: Box::new(then),
        }
    }

    pub fn chat(s: &str) -> Self {
        Self::Chat {
            content: s.to_string(),
        }
    }

    pub fn error(status: u16, message: &str) -> Self {
        let err_type = match status {
            400 | 404 | 422 => "invalid_request_error",
            401 => "authentication_error",
            403 => "permission_error",
            429 => "rate_limit_exceeded",
            _ => "server_error",
        };
        Self::Error {
            status,
            message: message.to_string(),
            err_type: err_type.into(),
            code: None,
            retry_after: None,
        }
    }

    pub fn rate_limited(retry_after: Option<u64>) -> Self {
        Self::Error {
            status: 429,
            message: "Rate limit reached for requests".into(),
            err_type: "requests".into(),
            code: Some("rate_limit_exceeded".into()),
            retry_after,
        }
    }

    pub fn context_window() -> Self {
        Self::Error {
            status: 400,
            message: "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens. Please reduce the length of the messages.".into(),
            err_type: "invalid_request_error".into(),
            code: Some("context_length_exceeded".into()),
            retry_after: None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Recorded {
    pub path: String,
    pub query: String,
    /// Lower-case names.
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

struct State {
    script: VecDeque<Reply>,
    default: Reply,
    requests: Vec<Recorded>,
    /// Set when the mock plays Google's token endpoint and Vertex.
    vertex: Option<super::wire_vertex::TokenIssuer>,
    /// An older vLLM: no `/responses` route (404, as FastAPI answers).
    no_responses: bool,
}

type Shared = Arc<Mutex<State>>;

pub struct MockUpstream {
    port: u16,
    state: Shared,
    handle: actix_web::dev::ServerHandle,
}

/// What an answer carries, whatever the provider's wire format.
#[derive(Clone, Debug)]
pub enum Content {
    /// Text, as the pieces a stream sends.
    Text(Vec<String>),
    /// One function call.
    ToolCall { name: String, arguments: String },
}

impl Content {
    pub fn text(&self) -> String {
        match self {
            Self::Text(pieces) => pieces.concat(),
            Self::ToolCall { .. } => String::new(),
        }
    }

    pub fn words(&self) -> u64 {
        match self {
            Self::Text(pieces) => pieces.len() as u64,
            Self::ToolCall { .. } => 5,
        }
    }
}

/// One SSE event of a mock stream; content events wait `delay_ms` first and count for cuts.
pub struct Event {
    pub bytes: Bytes,
    pub content: bool,
}

pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Streams events, `delay_ms` before each content event; `cut_after: Some(n)` aborts the
/// connection after n content events.
fn stream_events(events: Vec<Event>, delay_ms: u64, cut_after: Option<usize>) -> HttpResponse {
    let state = (events.into_iter(), 0usize, false);
    let body = futures_util::stream::unfold(state, move |(mut it, sent, cut)| async move {
        if cut {
            return None;
        }
        let next = it.next();
        if cut_after == Some(sent) && next.as_ref().is_none_or(|e| e.content) {
            // Pause first so the events already sent leave the write buffer before the cut.
            actix_rt::time::sleep(Duration::from_millis(delay_ms.max(20))).await;
            let err = actix_web::error::ErrorInternalServerError("connection cut by the mock");
            return Some((Err(err), (it, sent, true)));
        }
        let ev = next?;
        if ev.content && delay_ms > 0 {
            actix_rt::time::sleep(Duration::from_millis(delay_ms)).await;
        }
        let sent = sent + usize::from(ev.content);
        Some((Ok::<_, actix_web::Error>(ev.bytes), (it, sent, false)))
    });
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .streaming(body)
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Dialect {
    OpenAi,
    Anthropic,
    Gemini,
    /// OpenAI's legacy `/completions`.
    OpenAiText,
    /// Ollama's native API: `/api/chat`, `/api/generate` (`generate: true`), `/api/embed`.
    Ollama {
        generate: bool,
    },
    /// AWS Bedrock: `/model/{id}/converse`, `/converse-stream`, `/invoke`.
    Bedrock,
    /// Cohere v2: `/v2/chat`, `/v2/embed`.
    Cohere,
    /// OpenAI's Responses API: `/responses`.
    Responses,
}

fn is_token_counter(path: &str) -> bool {
    path.ends_with("/v1/messages/count_tokens")
        || path.ends_with("/count-tokens:rawPredict")
        || path.ends_with("/count-tokens")
}

fn dialect(path: &str) -> Option<Dialect> {
    if path.ends_with("/v2/chat") || path.ends_with("/v2/embed") {
        Some(Dialect::Cohere)
    } else if path.starts_with("/model/")
        && (path.ends_with("/converse")
            || path.ends_with("/converse-stream")
            || path.ends_with("/invoke")
            || path.ends_with("/invoke-with-response-stream"))
    {
        Some(Dialect::Bedrock)
    } else if path.ends_with("/api/chat") || path.ends_with("/api/embed") {
        Some(Dialect::Ollama { generate: false })
    } else if path.ends_with("/api/generate") {
        Some(Dialect::Ollama { generate: true })
    } else if path.ends_with("/v1/messages")
        || path.ends_with(":rawPredict")
        || path.ends_with(":streamRawPredict")
    {
        Some(Dialect::Anthropic)
    } else if path.ends_with(":predict") {
        Some(Dialect::OpenAi)
    } else if path.contains(":generateContent")
        || path.contains(":streamGenerateContent")
        || path.contains(":batchEmbedContents")
    {
        Some(Dialect::Gemini)
    } else if path.ends_with("/responses") {
        Some(Dialect::Responses)
    } else if path.ends_with("/chat/completions") || path.ends_with("/embeddings") {
        Some(Dialect::OpenAi)
    } else if path.ends_with("/completions") {
        Some(Dialect::OpenAiText)
    } else {
        None
    }
}

fn error_reply(
    dialect: Dialect,
    status: u16,
    message: &str,
    err_type: &str,
    code: &Option<String>,
    retry_after: Option<u64>,
) -> HttpResponse {
    let mut b = HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap());
    if let Some(secs) = retry_after {
        b.insert_header(("retry-after", secs.to_string()));
    }
    if dialect == Dialect::Bedrock {
        let (kind, body) = super::wire_bedrock::error(status, message);
        b.insert_header((
            "x-amzn-errortype",
            format!("{kind}:http://internal.amazon.com/coral/com.amazon.bedrock/"),
        ));
        return b.json(body);
    }
    b.json(match dialect {
        Dialect::OpenAi | Dialect::OpenAiText | Dialect::Responses => {
            super::wire_openai::error(message, err_type, code)
        }
        Dialect::Anthropic => super::wire_anthropic::error(status, message),
        Dialect::Gemini => super::wire_gemini::error(status, message),
        Dialect::Ollama { .. } => super::wire_ollama::error(message),
        Dialect::Bedrock => serde_json::json!({"message": message}),
        Dialect::Cohere => super::wire_cohere::error(message),
    })
}

/// The bytes `GET /images/...` serves (a PNG signature and a few bytes), not recorded.
pub const IMAGE_BYTES: &[u8] = b"\x89PNG\r\n\x1a\nmock-image";

async fn handle(req: HttpRequest, body: web::Bytes, state: web::Data<Shared>) -> HttpResponse {
    let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let path = req.path().to_string();
    if req.method() == actix_web::http::Method::GET && path.starts_with("/images/") {
        return HttpResponse::Ok()
            .content_type("image/png")
            .body(IMAGE_BYTES);
    }
    if path == "/token" {
        let token_uri = format!("http://{}/token", req.connection_info().host());
        let mut s = state.lock().unwrap();
        let Some(issuer) = s.vertex.as_mut() else {
            return HttpResponse::NotFound().finish();
        };
        issuer.requests += 1;
        let form = String::from_utf8_lossy(&body).to_string();
        return match super::wire_vertex::check_assertion(&form, issuer, &token_uri) {
            Ok(()) => {
                let token = format!("ya29.mock-token-{}-{}", issuer.requests, fastrand_u32());
                issuer
                    .issued
                    .push((token.clone(), std::time::Instant::now() + issuer.lifetime));
                HttpResponse::Ok().json(serde_json::json!({"access_token": token,
                    "expires_in": issuer.lifetime.as_secs(), "token_type": "Bearer"}))
            }
            Err(e) => HttpResponse::BadRequest().json(super::wire_vertex::token_error(&e)),
        };
    }
    if path.contains("/publishers/") {
        let s = state.lock().unwrap();
        if let Some(issuer) = &s.vertex {
            let bearer = req
                .headers()
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or("");
            let live = issuer
                .issued
                .iter()
                .any(|(t, expires)| t == bearer && *expires > std::time::Instant::now());
            if !live {
                return HttpResponse::Unauthorized().json(super::wire_vertex::unauthenticated());
            }
        }
    }
    let reply = {
        let mut s = state.lock().unwrap();
        s.requests.push(Recorded {
            path: path.clone(),
            query: req.query_string().to_string(),
            headers: req
                .headers()
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_ascii_lowercase(),
                        v.to_str().unwrap_or("").to_string(),
                    )
                })
                .collect(),
            body: parsed.clone(),
        });
        if is_token_counter(&path) || (s.no_responses && path.ends_with("/responses")) {
            None
        } else {
            Some(s.script.pop_front().unwrap_or_else(|| s.default.clone()))
        }
    };
    // Anthropic's token counters (direct, Vertex, Bedrock): a count the test can recognise.
    let Some(reply) = reply else {
        if path.ends_with("/responses") {
            return HttpResponse::NotFound().json(serde_json::json!({"detail": "Not Found"}));
        }
        if path.starts_with("/model/") {
            let r = state.lock().unwrap().requests.last().cloned().unwrap();
            if let Err(message) = super::wire_bedrock::verify(&path, &r.headers, &body) {
                return HttpResponse::Forbidden().json(serde_json::json!({"message": message}));
            }
        }
        return HttpResponse::Ok().json(if path.ends_with("/count-tokens") {
            serde_json::json!({"inputTokens": 4343})
        } else {
            serde_json::json!({"input_tokens": 4242})
        });
    };
    let Some(dialect) = dialect(&path) else {
        return error_reply(
            Dialect::OpenAi,
            404,
            &format!("Unknown path {path}"),
            "invalid_request_error",
            &None,
            None,
        );
    };
    if dialect == Dialect::Bedrock {
        let recorded = state.lock().unwrap().requests.last().cloned();
        if let Some(r) = recorded {
            if let Err(message) = super::wire_bedrock::verify(&path, &r.headers, &body) {
                let mut b = HttpResponse::Forbidden();
                b.insert_header((
                    "x-amzn-errortype",
                    "InvalidSignatureException:http://internal.amazon.com/coral/com.amazon.coral.service/",
                ));
                return b.json(serde_json::json!({"message": message}));
            }
        }
    }
    let model = parsed["model"]
        .as_str()
        .map(str::to_string)
        .or_else(|| {
            path.split("/models/")
                .nth(1)
                .and_then(|m| m.split(':').next())
                .map(str::to_string)
        })
        .unwrap_or_else(|| "mock-model".into());
    // Ollama streams unless told not to.
    let stream_default = matches!(dialect, Dialect::Ollama { .. });
    let wants_stream = parsed["stream"].as_bool().unwrap_or(stream_default)
        || path.contains(":streamGenerateContent")
        || path.ends_with("/converse-stream")
        || path.ends_with("/invoke-with-response-stream");
    // InvokeModel on an Anthropic model: the Messages API's bodies, streamed in event-stream
    // frames.
    let invoke_claude =
        dialect == Dialect::Bedrock && path.contains("/invoke") && path.contains("anthropic.");
    let include_usage = parsed["stream_options"]["include_usage"]
        .as_bool()
        .unwrap_or(false);
    let reply = match reply {
        Reply::Late { after_ms, then } => {
            actix_rt::time::sleep(Duration::from_millis(after_ms)).await;
            *then
        }
        other => other,
    };
    let (content, delay_ms, cut_after) = match reply {
        Reply::Late { .. } => {
            return error_reply(
                dialect,
                500,
                "a late reply inside a late reply",
                "server_error",
                &None,
                None,
            );
        }
        Reply::Hang => {
            actix_rt::time::sleep(Duration::from_secs(600)).await;
            return error_reply(dialect, 500, "hung", "server_error", &None, None);
        }
        Reply::Error {
            status,
            message,
            err_type,
            code,
            retry_after,
        } => return error_reply(dialect, status, &message, &err_type, &code, retry_after),
        Reply::Embedding { dims } => {
            return HttpResponse::Ok().json(match dialect {
                Dialect::Gemini => super::wire_gemini::embeddings(&parsed, dims),
                Dialect::Ollama { .. } => super::wire_ollama::embeddings(&parsed, &model, dims),
                Dialect::Bedrock => super::wire_bedrock::embeddings(&parsed, dims),
                Dialect::Cohere => super::wire_cohere::embeddings(&parsed, dims),
                _ if path.ends_with(":predict") => super::wire_vertex::predict(&parsed, dims),
                _ => super::wire_openai::embeddings(&parsed, &model, dims),
            })
        }
        Reply::Stream {
            chunks,
            delay_ms,
            cut_after,
        } => (Content::Text(chunks), delay_ms, cut_after),
        Reply::Chat { content } => (
            Content::Text(content.split_inclusive(' ').map(str::to_string).collect()),
            0,
            None,
        ),
        Reply::ToolCall { name, arguments } => (Content::ToolCall { name, arguments }, 0, None),
        Reply::RawSse { events, delay_ms } => {
            let events = events
                .iter()
                .map(|e| Event {
                    bytes: Bytes::from(format!("data: {e}\n\n")),
                    content: true,
                })
                .collect();
            return stream_events(events, delay_ms, None);
        }
    };
    if invoke_claude {
        if !wants_stream {
            return HttpResponse::Ok().json(super::wire_anthropic::answer(&content, &model));
        }
        let events =
            super::wire_bedrock::invoke_stream(super::wire_anthropic::stream(&content, &model));
        return stream_events(events, delay_ms, cut_after);
    }
    if !wants_stream {
        return HttpResponse::Ok().json(match dialect {
            Dialect::OpenAi => super::wire_openai::answer(&content, &model),
            Dialect::OpenAiText => super::wire_openai_text::answer(&content, &model),
            Dialect::Anthropic => super::wire_anthropic::answer(&content, &model),
            Dialect::Gemini => super::wire_gemini::answer(&content),
            Dialect::Ollama { generate } => super::wire_ollama::answer(&content, &model, generate),
            Dialect::Bedrock => super::wire_bedrock::answer(&content),
            Dialect::Cohere => super::wire_cohere::answer(&content),
            Dialect::Responses => super::wire_responses::answer(&content, &model, &parsed),
        });
    }
    let events = match dialect {
        Dialect::OpenAi => super::wire_openai::stream(&content, &model, include_usage),
        Dialect::OpenAiText => super::wire_openai_text::stream(&content, &model, include_usage),
        Dialect::Anthropic => super::wire_anthropic::stream(&content, &model),
        Dialect::Gemini => super::wire_gemini::stream(&content),
        Dialect::Ollama { generate } => super::wire_ollama::stream(&content, &model, generate),
        Dialect::Bedrock => super::wire_bedrock::stream(&content),
        Dialect::Cohere => super::wire_cohere::stream(&content),
        Dialect::Responses => super::wire_responses::stream(&content, &model),
    };
    stream_events(events, delay_ms, cut_after)
}

impl MockUpstream {
    pub fn start() -> Self {
        let state: Shared = Arc::new(Mutex::new(State {
            script: VecDeque::new(),
            default: Reply::chat("hello from mock"),
            requests: Vec::new(),
            vertex: None,
            no_responses: false,
        }));
        let (tx, rx) = std::sync::mpsc::channel();
        let shared = state.clone();
        std::thread::spawn(move || {
            let system = actix_rt::System::new();
            system.block_on(async move {
                let data = web::Data::new(shared);
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(data.clone())
                        .default_service(web::to(handle))
                })
                .workers(2)
                .bind(("127.0.0.1", 0))
                .expect("bind mock upstream");
                let port = server.addrs()[0].port();
                let running = server.run();
                tx.send((port, running.handle())).unwrap();
                let _ = running.await;
            });
        });
        let (port, handle) = rx.recv().expect("mock upstream started");
        Self {
            port,
            state,
            handle,
        }
    }

    /// What goes in `api_base`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port)
    }

    /// Plays a server without the Responses API.
    pub fn without_responses(&self) {
        self.state.lock().unwrap().no_responses = true;
    }

    pub fn set_default(&self, r: Reply) {
        self.state.lock().unwrap().default = r;
    }

    pub fn script(&self, replies: Vec<Reply>) {
        self.state.lock().unwrap().script.extend(replies);
    }

    pub fn count(&self) -> usize {
        self.state.lock().unwrap().requests.len()
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }

    /// Plays Google: `POST /token` verifies service-account assertions signed by the key whose
    /// public half is `public_key` and hands out tokens living `lifetime`; Vertex paths demand a
    /// live one.
    pub fn act_as_google(&self, public_key: Vec<u8>, client_email: &str, lifetime: Duration) {
        self.state.lock().unwrap().vertex = Some(super::wire_vertex::TokenIssuer {
            public_key,
            client_email: client_email.to_string(),
            lifetime,
            issued: Vec::new(),
            requests: 0,
        });
    }

    /// Token requests seen, and tokens issued.
    pub fn token_requests(&self) -> usize {
        self.state
            .lock()
            .unwrap()
            .vertex
            .as_ref()
            .map_or(0, |v| v.requests)
    }

    pub fn reset(&self) {
        let mut s = self.state.lock().unwrap();
        s.requests.clear();
        s.script.clear();
    }
}

impl Drop for MockUpstream {
    fn drop(&mut self) {
        // The stop command is sent when `stop` is called; nothing needs to await it.
        drop(self.handle.stop(false));
    }
}

fn fastrand_u32() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos())
}
