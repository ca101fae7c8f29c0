//! `POST /v1/messages/count_tokens`: the input tokens of a Messages request, as
//! `{"input_tokens": N}`. A group with an Anthropic model (direct, on Vertex or on Bedrock) asks
//! that model's own counter; any other group, or a counter that fails, is counted here with
//! cl100k_base (LiteLLM's default tokenizer). `x-switchyard-token-count` says which
//! (`upstream` or `cl100k_base`).

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::{error_response, request};
use crate::dispatch::attempt;
use crate::dispatch::settle::Settlement;
use crate::error::GatewayError;
use crate::http::body::read_body;
use crate::http::request::{authorize, call_id, parse_object, resolve_group, strip_router_fields};
use crate::openai::token_count::chat_input_tokens;
use crate::providers::native::{NativeApi, NativeBody};
use crate::state::{AppState, Worker};

pub async fn count_tokens(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    worker: web::Data<Worker>,
) -> HttpResponse {
    let id = call_id(&req);
    match count(&req, payload, &state, &worker).await {
        Ok((n, source)) => HttpResponse::Ok()
            .insert_header(("x-litellm-call-id", id.as_str()))
            .insert_header(("x-switchyard-token-count", source))
            .content_type("application/json")
            .body(json!({"input_tokens": n}).to_string()),
        Err(e) => {
            Settlement::rejected(&worker.metrics, &req, &id, &e);
            error_response(e.status().as_u16(), &e.to_string(), &id)
        }
    }
}

async fn count(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
    worker: &Worker,
) -> Result<(u64, &'static str), GatewayError> {
    let gen = state.current();
    let cfg = &gen.config;
    authorize(req, cfg)?;
    let (body, _permit) = read_body(req, payload, cfg, &state.body_budget).await?;
    let mut anthropic = parse_object(&body)?;
    drop(body);
    let model = match anthropic.get("model") {
        Some(Value::String(m)) if !m.is_empty() => m.clone(),
        _ => return Err(GatewayError::invalid("model: Field required", "model")),
    };
    if !anthropic.get("messages").is_some_and(Value::is_array) {
        return Err(GatewayError::invalid(
            "messages: Field required (a list of messages)",
            "messages",
        ));
    }
    let group = resolve_group(cfg, &model)?;
    let chat = request::conversation(&anthropic)?;
    strip_router_fields(&mut anthropic, &[]);
    let native = NativeBody {
        api: NativeApi::CountTokens,
        body: anthropic,
    };
    for d in cfg.group_deployments(group) {
        match attempt::count_tokens(cfg, worker, d, &native, &chat).await {
            Some(Ok(n)) => return Ok((n, "upstream")),
            Some(Err(e)) => {
                tracing::warn!(deployment = %d.id, error = %crate::secret::redact(&e.message),
                    "the deployment's token counter failed; counting with cl100k_base");
                break;
            }
            None => {}
        }
    }
    let n = u64::try_from(chat_input_tokens(&chat)).unwrap_or(u64::MAX);
    Ok((n, "cl100k_base"))
}
