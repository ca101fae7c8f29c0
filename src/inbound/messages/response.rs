//! A `chat.completion` as a Messages API message, read through the typed view (no JSON tree).

use serde_json::value::RawValue;

use super::wire::{message_id, stop_reason, Block, Message, Usage};
use crate::openai::completion_view::CompletionView;

/// A tool call's arguments as the `input` object: the arguments as they are when they are a
/// JSON object, else `{}`.
fn input(arguments: Option<&str>) -> Box<RawValue> {
    let empty = || RawValue::from_string("{}".to_string()).ok();
    arguments
        .map(str::trim)
        .filter(|a| a.starts_with('{'))
        .and_then(|a| serde_json::from_str::<&RawValue>(a).ok())
        .map(RawValue::to_owned)
        .or_else(empty)
        .unwrap_or_default()
}

/// `model` is the name the client asked for (the upstream's answer is not renamed on the way).
pub fn from_chat(body: &[u8], model: &str) -> Option<Vec<u8>> {
    let v = CompletionView::parse(body)?;
    let choice = v.choices.into_iter().next()?;
    let m = choice.message;
    let id = message_id(v.id.as_deref().unwrap_or("chatcmpl-unknown"));
    let mut out = Message::new(id, model);
    if let Some(t) = m.reasoning_content.filter(|t| !t.is_empty()) {
        out.content.push(Block::thinking(t));
    }
    if let Some(t) = m.content.filter(|t| !t.is_empty()) {
        out.content.push(Block::text(t));
    }
    for c in m.tool_calls.into_iter().flatten() {
        let input = input(c.function.arguments.as_deref());
        out.content.push(Block::tool_use(
            c.id.unwrap_or_default(),
            c.function.name.unwrap_or_default(),
            input,
        ));
    }
    out.stop_reason = Some(stop_reason(
        choice.finish_reason.as_deref().unwrap_or("stop"),
    ));
    let u = v.usage.unwrap_or_default();
    out.usage = Usage {
        input_tokens: u.prompt_tokens,
        output_tokens: u.completion_tokens,
    };
    serde_json::to_vec(&out).ok()
}
