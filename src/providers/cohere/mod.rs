//! Cohere's v2 API: chat (`/v2/chat`, whose messages and tools are OpenAI's shapes) and embed
//! (`/v2/embed`). Answers, streams (`content-delta`, `tool-call-*`, `message-end`) and usage
//! (`usage.tokens`) are translated back. Default base `https://api.cohere.com`.

mod request;
mod response;
mod stream;

use switchyard_actors::plan::AttemptError;

use super::classify::no_such_api;
use super::contract::{Call, Provider, StreamTranslator, UpstreamFailure, UpstreamRequest};
use super::params::check_params;
use super::upstream::Upstream;
use super::ProviderKind;
use crate::openai::{Endpoint, Usage};

const KIND: ProviderKind = ProviderKind::Cohere;

#[derive(Debug)]
pub struct Cohere;

/// `{base}/v2/chat` or `/v2/embed`; a base that already names the route is used as it is
/// (LiteLLM wants the full chat URL in `api_base`).
fn url(d: &Upstream, route: &str) -> String {
    let base = d
        .api_base
        .as_deref()
        .or(KIND.default_api_base())
        .unwrap_or_default()
        .trim_end_matches('/');
    let root = base
        .strip_suffix("/v2/chat")
        .or_else(|| base.strip_suffix("/v2/embed"))
        .or_else(|| base.strip_suffix("/v2"))
        .unwrap_or(base);
    format!("{root}/v2/{route}")
}

fn headers(d: &Upstream) -> Vec<(String, String)> {
    let mut out = vec![("accept".to_string(), "application/json".to_string())];
    if let Some(k) = &d.api_key {
        out.push(("authorization".into(), format!("Bearer {}", k.expose())));
    }
    out.extend(d.extra_headers.iter().cloned());
    out
}

impl Provider for Cohere {
    fn request(&self, call: &Call<'_>) -> Result<UpstreamRequest, AttemptError> {
        let d = call.upstream;
        let (route, body) = match call.endpoint {
            Endpoint::Chat => {
                check_params(KIND, call.body, request::UNSUPPORTED, call.drop_params)?;
                ("chat", request::chat(d, call.body, call.stream))
            }
            Endpoint::Embeddings => ("embed", request::embed(d, call.body)?),
            Endpoint::Completions => return Err(no_such_api(KIND, call.endpoint)),
        };
        Ok(UpstreamRequest {
            url: url(d, route),
            headers: headers(d),
            body: serde_json::to_vec(&body).unwrap_or_default(),
        })
    }

    fn answer(&self, call: &Call<'_>, body: &[u8]) -> Result<(Vec<u8>, Usage), AttemptError> {
        match call.endpoint {
            Endpoint::Embeddings => response::embeddings(body, call.label()),
            _ => response::chat(body, call.label()),
        }
    }

    fn stream(&self, call: &Call<'_>) -> Box<dyn StreamTranslator> {
        Box::new(stream::CohereStream::new(call.label()))
    }

    fn classify(&self, upstream: &Upstream, failure: &UpstreamFailure<'_>) -> AttemptError {
        // `{"message": "..."}` with the status meaning what it says: the shared reading.
        super::openai::classify(upstream, failure)
    }
}
