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

use std::sync::atomic::{AtomicBool, Ordering};

use switchyard_actors::plan::AttemptError;
use switchyard_actors::ErrorClass;

pub use endpoint::{headers, url};
pub use errors::{classify, stream_error};
pub use request::body;
pub use stream::OpenAiStream;

use super::contract::{Call, Provider, StreamTranslator, UpstreamFailure, UpstreamRequest};
use super::native::{responses, NativeApi, NativeBody};
use super::params::check_params;
use super::ProviderKind;
use crate::openai::{rewrite, Usage};
use crate::providers::upstream::Upstream;

#[derive(Debug)]
pub struct OpenAiCompatible {
    kind: ProviderKind,
    /// Responses API requests go to `/responses` as they are (until the server answers 404).
    responses: AtomicBool,
}

impl OpenAiCompatible {
    pub fn new(kind: ProviderKind, responses: bool) -> Self {
        Self {
            kind,
            responses: AtomicBool::new(responses),
        }
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

    fn speaks(&self, _upstream: &Upstream, api: NativeApi) -> bool {
        api == NativeApi::Responses && self.responses.load(Ordering::Relaxed)
    }

    fn native(
        &self,
        call: &Call<'_>,
        native: &NativeBody,
    ) -> Option<Result<UpstreamRequest, AttemptError>> {
        if !self.speaks(call.upstream, native.api) {
            return None;
        }
        let d = call.upstream;
        Some(Ok(UpstreamRequest {
            url: endpoint::responses_url(d),
            headers: headers(d),
            body: responses::body_for(&native.body, &d.model),
        }))
    }

    fn native_missing(&self, api: NativeApi) {
        if api == NativeApi::Responses {
            self.responses.store(false, Ordering::Relaxed);
        }
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
