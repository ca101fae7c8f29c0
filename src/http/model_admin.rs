//! LiteLLM's deployment endpoints: `POST /model/new`, `POST /model/update`,
//! `POST /model/delete`, with LiteLLM's bodies (`model_name`, `litellm_params`, `model_info`
//! with `id`; delete takes `{"id": ...}`), master key required. A change is validated with the
//! whole config, as strictly as the file, and becomes a new generation at once. With shared
//! state (Redis) it is stored there and every instance takes it within a second (and after a
//! restart); without, it lives in this instance only, and the answer says so.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Map, Value};

use super::body::read_body;
use super::request::{authorize, call_id, parse_object};
use crate::config_sources::ApiDeployment;
use crate::error::GatewayError;
use crate::state::AppState;

/// Keys never echoed back (they hold credentials).
fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    ["key", "secret", "token", "password", "credentials"]
        .iter()
        .any(|s| k.contains(s))
}

fn shown(entry: &Value) -> Value {
    let params: Map<String, Value> = entry
        .get("litellm_params")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter(|(k, _)| !is_secret_key(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    json!({
        "model_name": entry.get("model_name"),
        "litellm_params": params,
        "model_info": entry.get("model_info"),
    })
}

/// `model_name`, `litellm_params` and `model_info` of a body, checked.
fn entry_of(body: &Map<String, Value>, id: &str) -> Result<Value, GatewayError> {
    let name = match body.get("model_name") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        _ => {
            return Err(GatewayError::invalid(
                "model_name: a non-empty string is required",
                "model_name",
            ))
        }
    };
    let params = match body.get("litellm_params") {
        Some(Value::Object(m)) if m.get("model").and_then(Value::as_str).is_some() => m.clone(),
        _ => {
            return Err(GatewayError::invalid(
                "litellm_params: an object with `model` (e.g. \"hosted_vllm/Qwen/Qwen3-0.6B\") is required",
                "litellm_params",
            ))
        }
    };
    let mut info = match body.get("model_info") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => {
            return Err(GatewayError::invalid(
                "model_info: expected an object",
                "model_info",
            ))
        }
    };
    info.insert("id".into(), json!(id));
    Ok(json!({"model_name": name, "litellm_params": params, "model_info": info}))
}

fn requested_id(body: &Map<String, Value>) -> Result<Option<String>, GatewayError> {
    let id = body
        .get("model_info")
        .and_then(|i| i.get("id"))
        .or_else(|| body.get("id"));
    match id {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 256 => {
            Ok(Some(s.trim().to_string()))
        }
        Some(_) => Err(GatewayError::invalid(
            "model_info.id: expected a non-empty string of at most 256 characters",
            "model_info.id",
        )),
    }
}

fn new_id() -> String {
    format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..))
}

fn scope(state: &AppState) -> &'static str {
    if state.shared_state.is_some() {
        "cluster"
    } else {
        "this instance only (no shared state: set router_settings.redis_host or redis_url to share deployments added over the API)"
    }
}

/// Validates `api` with the file, stores the change (shared state), and puts it in service.
async fn change(
    state: &AppState,
    id: &str,
    call: &str,
    api: Vec<ApiDeployment>,
    stored: Option<&Value>,
    trigger: &str,
) -> Result<u64, HttpResponse> {
    let index = api
        .iter()
        .position(|d| d.id == id)
        .map(|i| i + state.sources.file_deployments());
    let cfg = match state.sources.compose(&api) {
        Ok(cfg) => cfg,
        Err(e) => {
            // The entry's own paths: `litellm_params.rpm`, not `model_list[7].litellm_params.rpm`.
            let prefix = index.map(|i| format!("model_list[{i}]."));
            return Err(crate::reload::refused(
                call,
                "the deployment is not valid",
                None,
                &e,
                prefix.as_deref(),
            ));
        }
    };
    if let Some(shared) = &state.shared_state {
        let saved = match stored {
            Some(entry) => shared.save_deployment(id, entry).await,
            None => shared.delete_deployment(id).await,
        };
        if let Err(e) = saved {
            let err = GatewayError::Upstream {
                status: 503,
                error_type: "service_unavailable".into(),
                message: format!(
                    "the shared state (Redis) could not store the change, so no instance made it: {e}"
                ),
                retry_after: Some(1),
            };
            return Err(err.response(call));
        }
    }
    state.sources.set_api(api);
    let (gen, _) = crate::reload::apply(state, cfg, trigger);
    Ok(gen.number)
}

async fn body_of(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
) -> Result<Map<String, Value>, GatewayError> {
    let gen = state.current();
    authorize(req, &gen.config)?;
    let (body, _permit) = read_body(req, payload, &gen.config, &state.body_budget).await?;
    parse_object(&body)
}

pub async fn new_model(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let call = call_id(&req);
    let body = match body_of(&req, payload, &state).await {
        Ok(b) => b,
        Err(e) => return e.response(&call),
    };
    let id = match requested_id(&body) {
        Ok(id) => id.unwrap_or_else(new_id),
        Err(e) => return e.response(&call),
    };
    let entry = match entry_of(&body, &id) {
        Ok(e) => e,
        Err(e) => return e.response(&call),
    };
    if state
        .current()
        .config
        .deployments
        .iter()
        .any(|d| d.id == id)
    {
        return GatewayError::invalid(
            format!("a deployment with id `{id}` exists already: use /model/update"),
            "model_info.id",
        )
        .response(&call);
    }
    // One change at a time, from reading the list to putting the result in service.
    let _one_at_a_time = state.sources.changing.lock().await;
    let mut api = state.sources.api();
    api.push(ApiDeployment {
        id: id.clone(),
        entry: entry.clone(),
    });
    match change(&state, &id, &call, api, Some(&entry), "POST /model/new").await {
        Ok(generation) => answered(&state, &id, &entry, generation),
        Err(resp) => resp,
    }
}

fn answered(state: &AppState, id: &str, entry: &Value, generation: u64) -> HttpResponse {
    let mut out = shown(entry);
    crate::json::set(&mut out, "model_id", json!(id));
    crate::json::set(&mut out, "scope", json!(scope(state)));
    crate::json::set(&mut out, "config_generation", json!(generation));
    HttpResponse::Ok().json(out)
}

fn from_the_file(id: &str) -> GatewayError {
    GatewayError::invalid(
        format!("deployment `{id}` is defined in the config file: edit the file and reload (POST /config/reload)"),
        "model_info.id",
    )
}

fn not_found(id: &str) -> GatewayError {
    GatewayError::Upstream {
        status: 404,
        error_type: "not_found_error".into(),
        message: format!("no deployment with id `{id}`"),
        retry_after: None,
    }
}

/// Where `id` is: an API deployment's index, or the file's, or nowhere.
fn find(state: &AppState, api: &[ApiDeployment], id: &str) -> Result<usize, GatewayError> {
    if let Some(i) = api.iter().position(|d| d.id == id) {
        return Ok(i);
    }
    if state
        .current()
        .config
        .deployments
        .iter()
        .any(|d| d.id == id)
    {
        return Err(from_the_file(id));
    }
    Err(not_found(id))
}

fn merged(old: &Value, patch: &Map<String, Value>) -> Value {
    let mut out = old.clone();
    if let Some(Value::String(name)) = patch.get("model_name") {
        crate::json::set(&mut out, "model_name", json!(name));
    }
    for key in ["litellm_params", "model_info"] {
        if let (Some(Value::Object(from)), Some(Value::Object(into))) =
            (patch.get(key), out.get_mut(key))
        {
            for (k, v) in from {
                if key == "model_info" && k == "id" {
                    continue;
                }
                into.insert(k.clone(), v.clone());
            }
        }
    }
    out
}

/// The body of an update or a delete and the id it names (required).
async fn targeted(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
    param: &str,
) -> Result<(Map<String, Value>, String), GatewayError> {
    let body = body_of(req, payload, state).await?;
    match requested_id(&body)? {
        Some(id) => Ok((body, id)),
        None => Err(GatewayError::invalid(
            format!("{param}: the id of the deployment is required"),
            param,
        )),
    }
}

pub async fn update_model(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let call = call_id(&req);
    let (body, id) = match targeted(&req, payload, &state, "model_info.id").await {
        Ok(t) => t,
        Err(e) => return e.response(&call),
    };
    let _one_at_a_time = state.sources.changing.lock().await;
    let mut api = state.sources.api();
    let slot = match find(&state, &api, &id).map(|at| api.get_mut(at)) {
        Ok(Some(slot)) => slot,
        Ok(None) => return not_found(&id).response(&call),
        Err(e) => return e.response(&call),
    };
    let entry = merged(&slot.entry, &body);
    if let Err(e) = entry_of(entry.as_object().unwrap_or(&Map::new()), &id) {
        return e.response(&call);
    }
    slot.entry = entry.clone();
    match change(&state, &id, &call, api, Some(&entry), "POST /model/update").await {
        Ok(generation) => answered(&state, &id, &entry, generation),
        Err(resp) => resp,
    }
}

pub async fn delete_model(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let call = call_id(&req);
    let (_, id) = match targeted(&req, payload, &state, "id").await {
        Ok(t) => t,
        Err(e) => return e.response(&call),
    };
    let _one_at_a_time = state.sources.changing.lock().await;
    let mut api = state.sources.api();
    if let Err(e) = find(&state, &api, &id) {
        return e.response(&call);
    }
    api.retain(|d| d.id != id);
    match change(&state, &id, &call, api, None, "POST /model/delete").await {
        Ok(generation) => HttpResponse::Ok().json(json!({
            "message": format!("deployment {id} deleted"),
            "model_id": id,
            "scope": scope(&state),
            "config_generation": generation,
        })),
        Err(resp) => resp,
    }
}

/// Takes the shared state's API deployments once (at start, before serving; bounded so that an
/// unreachable Redis delays the start by 3 s at most; `follow_shared` catches up later).
pub async fn load_shared(state: &AppState) {
    let Some(shared) = state.shared_state.clone() else {
        return;
    };
    match tokio::time::timeout(std::time::Duration::from_secs(3), shared.deployments()).await {
        Ok(Ok(records)) => adopt(state, records).await,
        Ok(Err(e)) => tracing::warn!(error = %e, "deployments added over the API could not be read from the shared state at start"),
        Err(_) => tracing::warn!("the shared state did not answer within 3 s at start: deployments added over the API come once it does"),
    }
}

/// Keeps this instance's API deployments equal to the shared state's whenever the sync sees
/// their version change (another instance added, changed or deleted one; or Redis, down at
/// start, answers now). `load_shared` took them at start.
pub async fn follow_shared(state: web::Data<AppState>) {
    let Some(shared) = state.shared_state.clone() else {
        return;
    };
    let mut version = shared.deployments_version.clone();
    while version.changed().await.is_ok() {
        loop {
            match shared.deployments().await {
                Ok(records) => break adopt(&state, records).await,
                Err(e) => {
                    tracing::warn!(error = %e, "deployments added over the API could not be read from the shared state; retrying in 1 s");
                    actix_web::rt::time::sleep(std::time::Duration::from_secs(1)).await;
                }
            }
        }
    }
}

async fn adopt(state: &AppState, records: Vec<(String, Value)>) {
    let api: Vec<ApiDeployment> = records
        .into_iter()
        .map(|(id, entry)| ApiDeployment { id, entry })
        .collect();
    let _one_at_a_time = state.sources.changing.lock().await;
    if api == state.sources.api() {
        return;
    }
    match state.sources.compose(&api) {
        Ok(cfg) => {
            state.sources.set_api(api);
            crate::reload::apply(state, cfg, "shared state");
        }
        Err(e) => {
            tracing::error!(problems = %e, "the deployments in the shared state do not form a valid config with this instance's file: kept the current ones");
        }
    }
}
