//! `text_completion`: the legacy completions answer and its stream chunks (same object, with
//! `text` pieces), for mocked and translated text completions.

use std::borrow::Cow;

use serde::Serialize;

use super::usage::UsageBody;

#[derive(Serialize, Debug)]
pub struct TextCompletion<'a> {
    pub id: Cow<'a, str>,
    object: &'static str,
    pub created: u64,
    pub model: &'a str,
    pub choices: Vec<TextChoice<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<UsageBody>,
}

#[derive(Serialize, Debug)]
pub struct TextChoice<'a> {
    pub index: u64,
    pub text: Cow<'a, str>,
    pub logprobs: Option<()>,
    pub finish_reason: Option<&'a str>,
}

impl<'a> TextCompletion<'a> {
    pub fn new(id: impl Into<Cow<'a, str>>, created: u64, model: &'a str) -> Self {
        Self {
            id: id.into(),
            object: "text_completion",
            created,
            model,
            choices: Vec::new(),
            usage: None,
        }
    }

    pub fn to_vec(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Appends it as one SSE event (a stream is a sequence of these).
    pub fn write_sse(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"data: ");
        if serde_json::to_writer(&mut *out, self).is_err() {
            out.extend_from_slice(b"{}");
        }
        out.extend_from_slice(b"\n\n");
    }
}
