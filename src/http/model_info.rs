//! `GET /model/info` (and `/v1/`, `/v2/`): every deployment as LiteLLM lists it, for the
//! tools users point at it: group, parameters without the key, and model info.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Map, Value};

use super::request::{authorize, call_id};
use crate::settings::Deployment;
use crate::state::AppState;

fn describe(d: &Deployment, added_over_the_api: bool) -> Value {
    let mut params = Map::new();
    params.insert("model".into(), json!(d.model));
    params.insert("api_base".into(), json!(d.public_api_base()));
    if let Some(v) = &d.upstream.api_version {
        params.insert("api_version".into(), json!(v));
    }
    for (key, value) in [("rpm", d.spec.rpm), ("tpm", d.spec.tpm)] {
        if let Some(n) = value {
            params.insert(key.into(), json!(n));
        }
    }
    for (key, value) in [("timeout", d.timeout), ("stream_timeout", d.stream_timeout)] {
        if let Some(s) = value {
            params.insert(key.into(), json!(s.get()));
        }
    }
    if d.mock_response.is_some() {
        params.insert("mock_response".into(), json!(true));
    }
    json!({
        "model_name": d.group_name,
        "litellm_params": params,
        "model_info": {
            "id": d.id,
            "db_model": added_over_the_api,
            "mode": d.mode.clone().unwrap_or_else(|| if d.is_embedding() { "embedding".into() } else { "chat".into() }),
            "litellm_provider": d.kind.name(),
        },
    })
}

pub async fn list(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if let Err(e) = authorize(&req, &state.current().config) {
        return e.response(&call_id(&req));
    }
    let wanted = web::Query::<Map<String, Value>>::from_query(req.query_string())
        .ok()
        .and_then(|q| {
            q.get("litellm_model_id")
                .and_then(Value::as_str)
                .map(str::to_string)
        });
    let api = state.sources.api();
    let data: Vec<Value> = state
        .current()
        .config
        .deployments
        .iter()
        .filter(|d| wanted.as_deref().is_none_or(|id| d.id == id))
        .map(|d| describe(d, api.iter().any(|a| a.id == d.id)))
        .collect();
    HttpResponse::Ok().json(json!({"data": data}))
}
