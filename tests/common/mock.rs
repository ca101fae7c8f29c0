//! A mock OpenAI-compatible upstream speaking the real wire format (JSON answers, SSE streams,
//! OpenAI error bodies), scriptable to fail, hang, rate-limit or cut a stream, and counting
//! what it receives. It runs its own actix system on its own thread.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use bytes::Bytes;
use serde_json::{json, Value};

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
}

impl Reply {
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
    /// Lower-case names.
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

struct State {
    script: VecDeque<Reply>,
    default: Reply,
    requests: Vec<Recorded>,
}

type Shared = Arc<Mutex<State>>;

pub struct MockUpstream {
    port: u16,
    state: Shared,
    handle: actix_web::dev::ServerHandle,
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn chunk(model: &str, delta: Value, finish: Value) -> Bytes {
    let c = json!({"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": unix_now(), "model": model,
                   "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]});
    Bytes::from(format!("data: {c}\n\n"))
}

fn stream_reply(
    model: String,
    pieces: Vec<String>,
    delay_ms: u64,
    cut_after: Option<usize>,
    include_usage: bool,
) -> HttpResponse {
    let total = pieces.len();
    let words = pieces.len() as u64;
    let state = (0usize, pieces, model);
    let body = futures_util::stream::unfold(state, move |(i, pieces, model)| async move {
        if cut_after == Some(i) {
            if i == usize::MAX {
                return None;
            }
            // Pause first so the pieces already sent leave the mock's write buffer before the cut.
            actix_rt::time::sleep(Duration::from_millis(delay_ms.max(20))).await;
            let err = actix_web::error::ErrorInternalServerError("connection cut by the mock");
            return Some((Err(err), (usize::MAX, pieces, model)));
        }
        if i == usize::MAX {
            return None;
        }
        if i < total {
            if delay_ms > 0 {
                actix_rt::time::sleep(Duration::from_millis(delay_ms)).await;
            }
            let delta = if i == 0 {
                json!({"role": "assistant", "content": pieces[i]})
            } else {
                json!({"content": pieces[i]})
            };
            let bytes = chunk(&model, delta, Value::Null);
            return Some((Ok::<_, actix_web::Error>(bytes), (i + 1, pieces, model)));
        }
        let mut tail = Vec::new();
        if i == total {
            tail.extend_from_slice(&chunk(&model, json!({}), json!("stop")));
            if include_usage {
                let u = json!({"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": unix_now(), "model": model,
                               "choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": words, "total_tokens": 10 + words}});
                tail.extend_from_slice(format!("data: {u}\n\n").as_bytes());
            }
            tail.extend_from_slice(b"data: [DONE]\n\n");
            return Some((Ok(Bytes::from(tail)), (usize::MAX, pieces, model)));
        }
        None
    });
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .streaming(body)
}

fn error_reply(
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
    b.json(json!({"error": {"message": message, "type": err_type, "param": null, "code": code}}))
}

async fn handle(req: HttpRequest, body: web::Bytes, state: web::Data<Shared>) -> HttpResponse {
    let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let path = req.path().to_string();
    let reply = {
        let mut s = state.lock().unwrap();
        s.requests.push(Recorded {
            path: path.clone(),
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
        s.script.pop_front().unwrap_or_else(|| s.default.clone())
    };
    let model = parsed["model"].as_str().unwrap_or("mock-model").to_string();
    let wants_stream = parsed["stream"].as_bool().unwrap_or(false);
    let include_usage = parsed["stream_options"]["include_usage"]
        .as_bool()
        .unwrap_or(false);
    if !path.ends_with("/chat/completions") && !path.ends_with("/embeddings") {
        return error_reply(
            404,
            &format!("Unknown path {path}"),
            "invalid_request_error",
            &None,
            None,
        );
    }
    match reply {
        Reply::Hang => {
            actix_rt::time::sleep(Duration::from_secs(600)).await;
            error_reply(500, "hung", "server_error", &None, None)
        }
        Reply::Error {
            status,
            message,
            err_type,
            code,
            retry_after,
        } => error_reply(status, &message, &err_type, &code, retry_after),
        Reply::Stream {
            chunks,
            delay_ms,
            cut_after,
        } => stream_reply(model, chunks, delay_ms, cut_after, include_usage),
        Reply::Chat { content } if wants_stream => {
            let pieces = content.split_inclusive(' ').map(str::to_string).collect();
            stream_reply(model, pieces, 0, None, include_usage)
        }
        Reply::Chat { content } => {
            let words = content.split_whitespace().count() as u64;
            HttpResponse::Ok().json(json!({
                "id": "chatcmpl-mock", "object": "chat.completion", "created": unix_now(), "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 10, "completion_tokens": words, "total_tokens": 10 + words}
            }))
        }
        Reply::Embedding { dims } => {
            let n = match &parsed["input"] {
                Value::Array(items) => items.len(),
                _ => 1,
            };
            let data: Vec<Value> = (0..n)
                .map(|i| json!({"object": "embedding", "index": i, "embedding": vec![0.5; dims]}))
                .collect();
            HttpResponse::Ok().json(json!({"object": "list", "data": data, "model": model,
                                           "usage": {"prompt_tokens": n, "total_tokens": n}}))
        }
    }
}

impl MockUpstream {
    pub fn start() -> Self {
        let state: Shared = Arc::new(Mutex::new(State {
            script: VecDeque::new(),
            default: Reply::chat("hello from mock"),
            requests: Vec::new(),
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
