//! `GET /v1/models`: one entry per visible alias, then per group, in config order.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::request::{authorize, call_id};
use crate::error::GatewayError;
use crate::state::AppState;

/// LiteLLM's fixed `created` for every model.
const CREATED: u64 = 1677610602;

fn entry(name: &str) -> Value {
    json!({"id": name, "object": "model", "created": CREATED, "owned_by": "openai"})
}

pub async fn list(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if let Err(e) = authorize(&req, &state.current().config) {
        return e.response(&call_id(&req));
    }
    let data: Vec<Value> = state
        .current()
        .config
        .public_model_names()
        .into_iter()
        .map(entry)
        .collect();
    HttpResponse::Ok().json(json!({"object": "list", "data": data}))
}

pub async fn one(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> HttpResponse {
    if let Err(e) = authorize(&req, &state.current().config) {
        return e.response(&call_id(&req));
    }
    let name = path.into_inner();
    if state
        .current()
        .config
        .public_model_names()
        .contains(&name.as_str())
    {
        HttpResponse::Ok().json(entry(&name))
    } else {
        GatewayError::Upstream {
            status: 404,
            error_type: "not_found_error".into(),
            message: format!("The model `{name}` does not exist on this gateway."),
            retry_after: None,
        }
        .response(&call_id(&req))
    }
}
