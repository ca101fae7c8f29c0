//! Defence in depth: a bug that still panics while handling a request costs that request a 500
//! (logged with its call id), never the worker thread, the process or the other requests.
//! Inputs are checked before they reach code that could panic; this is for the bug we missed.

use std::panic::AssertUnwindSafe;

use actix_web::body::BoxBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse};
use futures_util::FutureExt;

use actix_web::HttpResponse;

use super::request::{new_call_id, valid_call_id};
use crate::error::GatewayError;
use crate::panics::describe;

/// The answer to a request whose handler panicked: an OpenAI-style 500.
#[derive(Debug)]
struct Panicked {
    call_id: String,
}

impl std::fmt::Display for Panicked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("internal error")
    }
}

impl actix_web::ResponseError for Panicked {
    fn error_response(&self) -> HttpResponse {
        GatewayError::Internal(
            "the gateway hit an internal error while handling this request".into(),
        )
        .response(&self.call_id)
    }
}

/// `App::wrap_fn` body: runs the rest of the service chain, and turns a panic into a 500. The
/// request itself cannot be kept (routing needs it unshared), so only its id and URI are.
pub fn catch_panics<S>(
    req: ServiceRequest,
    srv: &S,
) -> impl std::future::Future<Output = Result<ServiceResponse<BoxBody>, actix_web::Error>>
where
    S: Service<ServiceRequest, Response = ServiceResponse<BoxBody>, Error = actix_web::Error>,
{
    let client_id = req.headers().get("x-litellm-call-id").cloned();
    let uri = req.uri().clone();
    let fut = srv.call(req);
    async move {
        match AssertUnwindSafe(fut).catch_unwind().await {
            Ok(result) => result,
            Err(payload) => {
                let id = client_id
                    .as_ref()
                    .and_then(|v| v.to_str().ok())
                    .and_then(valid_call_id)
                    .map_or_else(new_call_id, str::to_string);
                tracing::error!(
                    call_id = %id,
                    path = uri.path(),
                    panic = %describe(payload.as_ref()),
                    "bug: a panic while handling this request; answered 500, the gateway goes on"
                );
                Err(Panicked { call_id: id }.into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use actix_web::{test, web, App, HttpResponse};

    use super::*;

    async fn buggy() -> HttpResponse {
        let v: Vec<u8> = Vec::new();
        #[allow(clippy::indexing_slicing)]
        let x = v[3];
        HttpResponse::Ok().body(vec![x])
    }

    #[actix_rt::test]
    async fn a_panicking_handler_costs_one_request_a_json_500() {
        let app = test::init_service(
            App::new()
                .wrap_fn(catch_panics)
                .route("/bug", web::get().to(buggy))
                .route(
                    "/ok",
                    web::get().to(|| async { HttpResponse::Ok().body("fine") }),
                ),
        )
        .await;
        let req = test::TestRequest::get()
            .uri("/bug")
            .insert_header(("x-litellm-call-id", "call-1"))
            .to_request();
        // The server turns the service error into this response.
        let resp = test::try_call_service(&app, req)
            .await
            .unwrap_err()
            .error_response();
        assert_eq!(resp.status().as_u16(), 500);
        assert_eq!(resp.headers().get("x-litellm-call-id").unwrap(), "call-1");
        let bytes = actix_web::body::to_bytes(resp.into_body()).await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(body["error"]["type"], "internal_server_error");
        let ok = test::call_service(&app, test::TestRequest::get().uri("/ok").to_request()).await;
        assert_eq!(
            ok.status().as_u16(),
            200,
            "the service goes on after the panic"
        );
    }
}
