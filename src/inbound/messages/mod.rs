//! `POST /v1/messages`: Anthropic's Messages API (what Claude Code speaks) in front of any
//! deployment. The request becomes an OpenAI chat request and goes through the same routing,
//! retries, fallbacks, cache and log; the answer, stream or error comes back in Anthropic's
//! shapes and statuses.

pub mod count_tokens;
pub mod request;
pub mod response;
pub mod stream;
pub mod wire;

use std::time::Instant;

use actix_web::body::BodyStream;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;

use crate::dispatch;
use crate::dispatch::settle::Settlement;
use crate::dispatch::NativeAnswer;
use crate::error::GatewayError;
use crate::http::body::read_body;
use crate::http::keepalive::{self, StreamErrors};
use crate::http::request::{authorize, call_id, parse_object, prepare, strip_router_fields};
use crate::inbound::chunk_bridge::translated;
use crate::openai::Endpoint;
use crate::providers::native::{NativeApi, NativeBody};
use crate::state::{AppState, Worker};

pub async fn messages(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    worker: web::Data<Worker>,
) -> HttpResponse {
    let started = Instant::now();
    let id = call_id(&req);
    let gen = state.current();
    let prepared = async {
        authorize(&req, &gen.config)?;
        let (body, permit) = read_body(&req, payload, &gen.config, &state.body_budget).await?;
        let mut anthropic = parse_object(&body)?;
        drop(body);
        let chat = request::to_chat(&anthropic)?;
        let mut p = prepare(&gen, &req, Endpoint::Chat, chat, id.clone(), started)?;
        p.answer_translated = true;
        // Kept only for a group that has an Anthropic model to send it to.
        if gen.config.group_speaks(p.group, NativeApi::Messages) {
            strip_router_fields(&mut anthropic, &["metadata"]);
            p.native = Some(NativeBody {
                api: NativeApi::Messages,
                body: anthropic,
            });
        }
        Ok::<_, GatewayError>((p, permit))
    }
    .await;
    match prepared {
        Ok((p, permit)) => {
            let model = p.requested_model.clone();
            match gen.config.stream_keepalive.filter(|_| p.stream) {
                None => {
                    let resp = dispatch::serve(&state, &worker, p).await;
                    drop(permit);
                    render(resp, &model).await
                }
                Some(every) => {
                    let answer = Box::pin(async move {
                        let _permit = permit;
                        let resp = dispatch::serve(&state, &worker, p).await;
                        render(resp, &model).await
                    });
                    keepalive::around(answer, every, StreamErrors::Anthropic, &id).await
                }
            }
        }
        Err(e) => {
            Settlement::rejected(&worker.metrics, &req, &id, &e);
            error_response(e.status().as_u16(), &e.to_string(), &id)
        }
    }
}

fn error_response(status: u16, message: &str, call_id: &str) -> HttpResponse {
    let code = actix_web::http::StatusCode::from_u16(status)
        .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
    let mut b = HttpResponse::build(code);
    b.insert_header(("x-litellm-call-id", call_id));
    let message = crate::secret::redact(message);
    b.content_type("application/json")
        .body(wire::ErrorBody::new(status, &message).to_vec())
}

/// The gateway's OpenAI-shaped answer in Anthropic's shapes, on the same head (status and
/// headers); a native answer is already in them.
async fn render(resp: HttpResponse, model: &str) -> HttpResponse {
    if resp.extensions().get::<NativeAnswer>().is_some() {
        return resp;
    }
    let status = resp.status();
    let streaming = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    let (head, body) = resp.into_parts();
    if !status.is_success() {
        let bytes = actix_web::body::to_bytes(body).await.unwrap_or_default();
        let message = serde_json::from_slice::<Value>(&bytes)
            .ok()
            .and_then(|v| {
                v.pointer("/error/message")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .unwrap_or_else(|| String::from_utf8_lossy(&bytes).into_owned());
        let message = crate::secret::redact(&message);
        return head
            .set_body(wire::ErrorBody::new(status.as_u16(), &message).to_vec())
            .map_into_boxed_body();
    }
    if streaming {
        let events = translated(body, stream::ToMessages::new(model));
        return head.set_body(BodyStream::new(events)).map_into_boxed_body();
    }
    let bytes = actix_web::body::to_bytes(body).await.unwrap_or_default();
    match response::from_chat(&bytes, model) {
        Some(message) => head.set_body(message).map_into_boxed_body(),
        None => {
            let call_id = head
                .headers()
                .get("x-litellm-call-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            error_response(
                502,
                "the upstream answer could not be read as a message",
                call_id,
            )
        }
    }
}
