//! Inbound APIs some providers speak themselves. A Responses request to a server with
//! `/responses` goes there as it is. A client's Messages request to an Anthropic
//! model (direct, on Vertex or on Bedrock) goes upstream as the client wrote it, so
//! `cache_control`, `thinking` blocks and `metadata` survive; the answer and stream come back as
//! they are, with only usage read and the end of the stream checked.

pub mod messages;
pub mod responses;

use serde_json::{Map, Value};
use switchyard_actors::plan::AttemptError;

use crate::openai::Usage;
use crate::providers::contract::StreamTranslator;

/// An inbound API other than OpenAI chat that a provider may take natively.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NativeApi {
    /// Anthropic's Messages API (`/v1/messages`).
    Messages,
    /// Anthropic's token counter (`/v1/messages/count_tokens`): a Messages body in,
    /// `{"input_tokens": N}` out.
    CountTokens,
    /// OpenAI's Responses API (`/v1/responses`).
    Responses,
}

/// The client's body in a native API, without the router's own fields.
#[derive(Debug)]
pub struct NativeBody {
    pub api: NativeApi,
    pub body: Map<String, Value>,
}

/// The usage of a native answer (the body itself goes to the client as it is).
pub fn answer_usage(api: NativeApi, body: &[u8]) -> Result<Usage, AttemptError> {
    match api {
        NativeApi::Messages => messages::answer_usage(body),
        NativeApi::CountTokens => messages::counted(body),
        NativeApi::Responses => responses::answer_usage(body),
    }
}

/// The relay of a native stream in `api`'s framing.
pub fn relay(api: NativeApi) -> Box<dyn StreamTranslator> {
    match api {
        NativeApi::Messages | NativeApi::CountTokens => Box::new(messages::MessagesRelay::new()),
        NativeApi::Responses => Box::<responses::ResponsesRelay>::default(),
    }
}
