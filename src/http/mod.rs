//! The OpenAI-compatible HTTP surface.

pub mod body;
mod completions;
pub mod guard;
mod health;
pub mod keepalive;
mod metrics;
mod model_admin;
mod model_info;
mod models;
pub mod request;
mod ui;

use actix_web::{web, HttpRequest, HttpResponse};

use crate::error::GatewayError;

pub use model_admin::{follow_shared, load_shared};

pub fn routes(cfg: &mut web::ServiceConfig) {
    use crate::inbound::{messages, responses};
    // Fixed paths first: routes are tried in order, and each one with a `{parameter}` costs a
    // regex match for every request that gets past it.
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
        .route(
            &format!("{prefix}/responses"),
            web::post().to(responses::create),
        );
    }
    for prefix in ["/v1", "/anthropic/v1"] {
        cfg.route(
            &format!("{prefix}/messages"),
            web::post().to(messages::messages),
        )
        .route(
            &format!("{prefix}/messages/count_tokens"),
            web::post().to(messages::count_tokens::count_tokens),
        );
    }
    cfg.route("/models", web::get().to(models::list))
        .route("/v1/models", web::get().to(models::list))
        .route("/model/info", web::get().to(model_info::list))
        .route("/v1/model/info", web::get().to(model_info::list))
        .route("/v2/model/info", web::get().to(model_info::list))
        .route("/health/liveliness", web::get().to(health::liveliness))
        .route("/health/liveness", web::get().to(health::liveliness))
        .route("/health/readiness", web::get().to(health::readiness))
        .route("/health", web::get().to(health::probe_all))
        .route("/metrics", web::get().to(metrics::metrics))
        .route("/metrics/", web::get().to(metrics::metrics))
        .route("/ui", web::get().to(ui::page))
        .route("/ui/", web::get().to(ui::page))
        .route("/ui/state", web::get().to(ui::state))
        .route(
            "/config/reload",
            web::post().to(crate::reload::reload_endpoint),
        )
        .route("/model/new", web::post().to(model_admin::new_model))
        .route("/model/update", web::post().to(model_admin::update_model))
        .route("/model/delete", web::post().to(model_admin::delete_model));
    for prefix in ["", "/v1"] {
        cfg.route(
            &format!("{prefix}/models/{{model:.+}}"),
            web::get().to(models::one),
        )
        .route(
            &format!("{prefix}/responses/{{id}}"),
            web::get().to(responses::get),
        )
        .route(
            &format!("{prefix}/responses/{{id}}"),
            web::delete().to(responses::delete),
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
    );
}

/// Unknown routes and methods get an OpenAI-style error, not an empty 404.
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    let err = GatewayError::NotFound {
        method: req.method().to_string(),
        path: req.path().to_string(),
    };
    err.response(&request::call_id(&req))
}
