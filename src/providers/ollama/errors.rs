//! Ollama's errors: `{"error": "model 'x' not found"}` with the HTTP status kept, as LiteLLM
//! keeps it; a missing model file is a bad request, not a server fault.

use switchyard_actors::plan::AttemptError;
use switchyard_actors::ErrorClass;

use crate::providers::classify::{error_message, labelled, refine_by_phrases, retry_after, scrub};
use crate::providers::contract::UpstreamFailure;
use crate::providers::upstream::Upstream;
use crate::providers::ProviderKind;

fn class_of(status: Option<u16>, lower: &str) -> ErrorClass {
    let class = if lower.contains("no such file or directory") {
        ErrorClass::BadRequest
    } else {
        status.map_or(ErrorClass::InternalServer, ErrorClass::from_status)
    };
    refine_by_phrases(class, status.unwrap_or(500), lower)
}

pub fn classify(d: &Upstream, f: &UpstreamFailure<'_>) -> AttemptError {
    let message = scrub(&error_message(f.body), d);
    let class = class_of(Some(f.status), &message.to_ascii_lowercase());
    labelled(d.kind, class, &message, retry_after(d, f))
}

/// An `{"error": ...}` line inside a 200 stream.
pub fn stream_error(kind: ProviderKind, message: &str) -> AttemptError {
    let class = class_of(None, &message.to_ascii_lowercase());
    labelled(kind, class, &crate::secret::redact(message), None)
}
