//! `POST /v1/chat/completions`, `POST /v1/embeddings` and `POST /v1/completions`.

use std::time::Instant;

use actix_web::{web, HttpRequest, HttpResponse};

use super::body::read_body;
use super::keepalive::{self, StreamErrors};
use super::request::{authorize, call_id, parse_object, prepare};
use crate::dispatch;
use crate::error::GatewayError;
use crate::openai::Endpoint;
use crate::state::{AppState, Worker};

async fn handle(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    worker: web::Data<Worker>,
    endpoint: Endpoint,
) -> HttpResponse {
    let started = Instant::now();
    let id = call_id(&req);
    let gen = state.current();
    let prepared = async {
        authorize(&req, &gen.config)?;
        let (body, permit) = read_body(&req, payload, &gen.config, &state.body_budget).await?;
        let map = parse_object(&body)?;
        drop(body);
        let p = prepare(&gen, &req, endpoint, map, id.clone(), started)?;
        Ok::<_, GatewayError>((p, permit))
    }
    .await;
    match prepared {
        // The body's share of the budget is held until the request is answered: its parsed
        // form lives that long.
        Ok((p, permit)) => match gen.config.stream_keepalive.filter(|_| p.stream) {
            None => {
                let resp = dispatch::serve(&state, &worker, p).await;
                drop(permit);
                resp
            }
            Some(every) => {
                let answer = Box::pin(async move {
                    let _permit = permit;
                    dispatch::serve(&state, &worker, p).await
                });
                keepalive::around(answer, every, StreamErrors::OpenAiChat, &id).await
            }
        },
        Err(e) => {
            crate::dispatch::settle::Settlement::rejected(&worker.metrics, &req, &id, &e);
            e.response(&id)
        }
    }
}

pub async fn chat(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    worker: web::Data<Worker>,
) -> HttpResponse {
    handle(req, payload, state, worker, Endpoint::Chat).await
}

pub async fn embeddings(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    worker: web::Data<Worker>,
) -> HttpResponse {
    handle(req, payload, state, worker, Endpoint::Embeddings).await
}

pub async fn text(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    worker: web::Data<Worker>,
) -> HttpResponse {
    handle(req, payload, state, worker, Endpoint::Completions).await
}
