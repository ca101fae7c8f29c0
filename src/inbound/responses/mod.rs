//! `POST /v1/responses`: OpenAI's Responses API (what Codex CLI and the Agents SDK speak) in
//! front of any deployment. To a server with `/responses` (openai/, azure/, hosted_vllm/) it
//! goes as it is; to any other it is bridged through chat completions, and the bridged
//! response is kept (`store`) so `previous_response_id`, `GET` and `DELETE` work on it from
//! any instance sharing Redis.

pub mod output;
pub mod request;
pub mod store;
pub mod stream;

use std::time::Instant;

use actix_web::body::BodyStream;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use crate::dispatch::settle::Settlement;
use crate::dispatch::NativeAnswer;
use crate::error::GatewayError;
use crate::http::body::read_body;
use crate::http::keepalive::{self, StreamErrors};
use crate::http::request::{
    authorize, call_id, parse_object, prepare, resolve_group, strip_router_fields,
};
use crate::inbound::chunk_bridge::translated;
use crate::openai::Endpoint;
use crate::providers::native::{NativeApi, NativeBody};
use crate::state::{AppState, Worker};
use output::Output;
use store::ResponseStore;

fn not_found(id: &str, param: Option<&str>) -> GatewayError {
    let message = match param {
        Some(_) => format!("Previous response with id '{id}' not found."),
        None => format!("Response with id '{id}' not found."),
    };
    GatewayError::Upstream {
        status: 404,
        error_type: "invalid_request_error".into(),
        message,
        retry_after: None,
    }
}

/// The conversation a stored response ended with.
fn stored_messages(record: &[u8]) -> Option<Vec<Value>> {
    let v: Value = serde_json::from_slice(record).ok()?;
    v.get("messages")?.as_array().cloned()
}

pub async fn create(
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
        let mut client = parse_object(&body)?;
        drop(body);
        let model = client.get("model").and_then(Value::as_str).unwrap_or("");
        // The client's body is kept as it is only for a group with a `/responses` server.
        let native = resolve_group(&gen.config, model)
            .is_ok_and(|g| gen.config.group_speaks(g, NativeApi::Responses))
            .then(|| {
                let mut body = client.clone();
                strip_router_fields(&mut body, &["metadata"]);
                NativeBody {
                    api: NativeApi::Responses,
                    body,
                }
            });
        // A response the gateway stored continues here, through the bridge; an id it does not
        // know may be an upstream's own, if the group has a server that keeps responses.
        let mut continues_stored = false;
        let previous = match client.get("previous_response_id") {
            Some(Value::String(prev)) => match worker.responses.get(prev).await {
                Some(record) => {
                    continues_stored = true;
                    stored_messages(&record).unwrap_or_default()
                }
                None => {
                    if native.is_none() {
                        return Err(not_found(prev, Some("previous_response_id")));
                    }
                    Vec::new()
                }
            },
            None | Some(Value::Null) => Vec::new(),
            Some(_) => {
                return Err(GatewayError::invalid(
                    "previous_response_id must be a string",
                    "previous_response_id",
                ))
            }
        };
        let echo = output::echo(&client);
        let keep = client.get("store").and_then(Value::as_bool) != Some(false);
        client.remove("previous_response_id");
        let turn = request::to_chat(&client, previous)?;
        let mut p = prepare(&gen, &req, Endpoint::Chat, turn.chat, id.clone(), started)?;
        p.answer_translated = true;
        if !continues_stored {
            p.native = native;
        }
        let output = Output::new(&p.requested_model, echo);
        let history = keep.then_some(turn.history);
        Ok::<_, GatewayError>((p, output, history, permit))
    }
    .await;
    match prepared {
        Ok((p, output, history, permit)) => {
            match gen.config.stream_keepalive.filter(|_| p.stream) {
                None => {
                    let resp = crate::dispatch::serve(&state, &worker, p).await;
                    drop(permit);
                    render(resp, output, history, worker.responses.clone()).await
                }
                Some(every) => {
                    let answer = Box::pin(async move {
                        let _permit = permit;
                        let resp = crate::dispatch::serve(&state, &worker, p).await;
                        render(resp, output, history, worker.responses.clone()).await
                    });
                    keepalive::around(answer, every, StreamErrors::Responses, &id).await
                }
            }
        }
        Err(e) => {
            Settlement::rejected(&worker.metrics, &req, &id, &e);
            e.response(&id)
        }
    }
}

/// A finished response and the conversation it ends, stored in the background.
fn keep(store: &ResponseStore, response: &Value, history: Vec<Value>, answer: Value) {
    let Some(id) = response
        .get("id")
        .and_then(Value::as_str)
        .map(str::to_string)
    else {
        return;
    };
    let mut messages = history;
    messages.push(answer);
    let record = json!({"response": response, "messages": messages});
    let bytes = serde_json::to_vec(&record).unwrap_or_default();
    let store = store.clone();
    actix_web::rt::spawn(async move { store.put(&id, bytes).await });
}

/// The gateway's chat answer as a response (errors are already in OpenAI's shape).
async fn render(
    resp: HttpResponse,
    output: Output,
    history: Option<Vec<Value>>,
    store: ResponseStore,
) -> HttpResponse {
    if !resp.status().is_success() || resp.extensions().get::<NativeAnswer>().is_some() {
        return resp;
    }
    let streaming = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    let (head, body) = resp.into_parts();
    if streaming {
        let on_complete: Option<stream::OnComplete> = history.map(|history| {
            Box::new(move |r: &Value, answer: Value| keep(&store, r, history, answer))
                as stream::OnComplete
        });
        let events = translated(body, stream::ToResponses::new(output, on_complete));
        return head.set_body(BodyStream::new(events)).map_into_boxed_body();
    }
    let bytes = actix_web::body::to_bytes(body).await.unwrap_or_default();
    match output::from_chat(&bytes, output) {
        Some((response, answer)) => {
            let body = serde_json::to_vec(&response).unwrap_or_default();
            if let Some(history) = history {
                keep(&store, &response, history, answer);
            }
            head.set_body(body).map_into_boxed_body()
        }
        None => GatewayError::Upstream {
            status: 502,
            error_type: "api_error".into(),
            message: "the upstream answer could not be read as a response".into(),
            retry_after: None,
        }
        .response(
            head.headers()
                .get("x-litellm-call-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default(),
        ),
    }
}

/// `GET /v1/responses/{id}`: a response the gateway stored.
pub async fn get(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
    worker: web::Data<Worker>,
) -> HttpResponse {
    let id = call_id(&req);
    if let Err(e) = authorize(&req, &state.current().config) {
        return e.response(&id);
    }
    let response_id = path.into_inner();
    let found = worker
        .responses
        .get(&response_id)
        .await
        .and_then(|r| serde_json::from_slice::<Value>(&r).ok())
        .and_then(|mut v| v.get_mut("response").map(Value::take));
    match found {
        Some(r) => HttpResponse::Ok()
            .content_type("application/json")
            .body(serde_json::to_vec(&r).unwrap_or_default()),
        None => not_found(&response_id, None).response(&id),
    }
}

/// `DELETE /v1/responses/{id}`.
pub async fn delete(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
    worker: web::Data<Worker>,
) -> HttpResponse {
    let id = call_id(&req);
    if let Err(e) = authorize(&req, &state.current().config) {
        return e.response(&id);
    }
    let response_id = path.into_inner();
    if worker.responses.delete(&response_id).await {
        HttpResponse::Ok().json(json!({"id": response_id, "object": "response", "deleted": true}))
    } else {
        not_found(&response_id, None).response(&id)
    }
}
