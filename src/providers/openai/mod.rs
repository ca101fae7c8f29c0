//! OpenAI and OpenAI-compatible servers (vLLM, SGLang, Azure OpenAI): the request passes
//! through with the deployment's model and defaults; answers and streams pass through with
//! only `model` renamed.

mod dialect;
mod endpoint;
mod errors;
mod request;
mod stream;
#[cfg(test)]
mod tests;

use switchyard_actors::plan::AttemptError;
use switchyard_actors::ErrorClass;

pub use endpoint::{headers, url};
pub use errors::{classify, stream_error};
pub use request::body;
pub use stream::OpenAiStream;

use super::contract::{Call, Provider, StreamTranslator, UpstreamFailure, UpstreamRequest};
use super::params::check_params;
use super::ProviderKind;
use crate::openai::{rewrite, Usage};
use crate::providers::upstream::Upstream;

#[derive(Debug)]
pub struct OpenAiCompatible {
    kind: ProviderKind,
}

impl OpenAiCompatible {
    pub fn new(kind: ProviderKind) -> Self {
        Self { kind }
    }
}

impl Provider for OpenAiCompatible {
    fn request(&self, call: &Call<'_>) -> Result<UpstreamRequest, AttemptError> {
        let d = call.upstream;
        check_params(
            self.kind,
            call.body,
            dialect::of(self.kind).unsupported,
            call.drop_params,
        )?;
        let body = body(d, call.endpoint, call.body, call.drop_params);
        Ok(UpstreamRequest {
            url: url(d, call.endpoint),
            headers: headers(d),
            body: serde_json::to_vec(&body).unwrap_or_default(),
        })
    }

    fn answer(&self, call: &Call<'_>, body: &[u8]) -> Result<(Vec<u8>, Usage), AttemptError> {
        rewrite::rewrite(body, call.answer_model).ok_or_else(|| {
            AttemptError::new(
                ErrorClass::InternalServer,
                500,
                format!(
                    "InternalServerError: {} - upstream answered something other than a JSON object",
                    self.kind.exception_label()
                ),
            )
        })
    }

    fn stream(&self, call: &Call<'_>) -> Box<dyn StreamTranslator> {
        Box::new(OpenAiStream::new(
            self.kind,
            call.answer_model.map(str::to_string),
        ))
    }

    fn classify(&self, upstream: &Upstream, failure: &UpstreamFailure<'_>) -> AttemptError {
        classify(upstream, failure)
    }
}
