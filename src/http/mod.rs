//! The OpenAI-compatible HTTP surface.

pub mod body;
mod completions;
pub mod guard;
mod health;
mod model_info;
mod models;
pub mod request;

use actix_web::{web, HttpRequest, HttpResponse};

use crate::error::GatewayError;

pub fn routes(cfg: &mut web::ServiceConfig) {
    for prefix in ["", "/v1"] {
        cfg.route(
            &format!("{prefix}/chat/completions"),
            web::post().to(completions::chat),
        )
        .route(
            &format!("{prefix}/embeddings"),
            web::post().to(completions::embeddings),
        )
        .route(
            &format!("{prefix}/completions"),
            web::post().to(completions::text),
        )
        .route(&format!("{prefix}/models"), web::get().to(models::list))
        .route(
            &format!("{prefix}/models/{{model:.+}}"),
            web::get().to(models::one),
        );
    }
    cfg.route(
        "/engines/{m}/chat/completions",
        web::post().to(completions::chat),
    )
    .route(
        "/openai/deployments/{m}/chat/completions",
        web::post().to(completions::chat),
    )
    .route(
        "/engines/{m}/completions",
        web::post().to(completions::text),
    )
    .route(
        "/openai/deployments/{m}/completions",
        web::post().to(completions::text),
    )
    .route(
        "/v1/messages",
        web::post().to(crate::inbound::messages::messages),
    )
    .route(
        "/anthropic/v1/messages",
        web::post().to(crate::inbound::messages::messages),
    )
    .route(
        "/v1/responses",
        web::post().to(crate::inbound::responses::create),
    )
    .route(
        "/responses",
        web::post().to(crate::inbound::responses::create),
    )
    .route(
        "/v1/responses/{id}",
        web::get().to(crate::inbound::responses::get),
    )
    .route(
        "/responses/{id}",
        web::get().to(crate::inbound::responses::get),
    )
    .route(
        "/v1/responses/{id}",
        web::delete().to(crate::inbound::responses::delete),
    )
    .route(
        "/responses/{id}",
        web::delete().to(crate::inbound::responses::delete),
    )
    .route(
        "/v1/messages/count_tokens",
        web::post().to(crate::inbound::messages::count_tokens::count_tokens),
    )
    .route(
        "/anthropic/v1/messages/count_tokens",
        web::post().to(crate::inbound::messages::count_tokens::count_tokens),
    )
    .route("/model/info", web::get().to(model_info::list))
    .route("/v1/model/info", web::get().to(model_info::list))
    .route("/v2/model/info", web::get().to(model_info::list))
    .route("/health/liveliness", web::get().to(health::liveliness))
    .route("/health/liveness", web::get().to(health::liveliness))
    .route("/health/readiness", web::get().to(health::readiness))
    .route("/health", web::get().to(health::probe_all));
}

/// Unknown routes and methods get an OpenAI-style error, not an empty 404.
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    let err = GatewayError::NotFound {
        method: req.method().to_string(),
        path: req.path().to_string(),
    };
    err.response(&request::call_id(&req))
}
