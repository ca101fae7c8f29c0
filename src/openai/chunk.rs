//! `chat.completion.chunk`: what every streamed answer the gateway writes is made of, whether
//! translated from a provider's events, replayed from the cache or mocked.

use std::borrow::Cow;

use bytes::Bytes;
use serde::Serialize;
use serde_json::Value;

use super::ids::unix_now;
use super::usage::UsageBody;

#[derive(Serialize, Debug)]
pub struct Chunk<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    system_fingerprint: Option<&'a Value>,
    choices: Vec<ChunkChoice<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    usage: Option<ChunkUsage<'a>>,
}

/// Usage the gateway counted, or a provider's usage object kept as it came.
#[derive(Serialize, Debug)]
#[serde(untagged)]
pub enum ChunkUsage<'a> {
    Counted(UsageBody),
    AsStored(&'a Value),
}

#[derive(Serialize, Debug)]
pub struct ChunkChoice<'a> {
    pub index: u64,
    pub delta: Delta<'a>,
    pub finish_reason: Option<&'a str>,
}

/// What one chunk adds to a choice. `content: Some(None)` is an explicit `null`.
#[derive(Serialize, Debug, Default)]
pub struct Delta<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<Option<Cow<'a, str>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_content: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCallDelta<'a>>,
}

impl<'a> Delta<'a> {
    pub fn content(text: impl Into<Cow<'a, str>>) -> Self {
        Self {
            content: Some(Some(text.into())),
            ..Self::default()
        }
    }

    pub fn reasoning(text: impl Into<Cow<'a, str>>) -> Self {
        Self {
            reasoning_content: Some(text.into()),
            ..Self::default()
        }
    }

    pub fn is_empty(&self) -> bool {
        self.role.is_none()
            && self.content.is_none()
            && self.reasoning_content.is_none()
            && self.tool_calls.is_empty()
    }
}

#[derive(Serialize, Debug)]
pub struct ToolCallDelta<'a> {
    pub index: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<Cow<'a, str>>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'a str>,
    pub function: FunctionDelta<'a>,
}

#[derive(Serialize, Debug)]
pub struct FunctionDelta<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arguments: Option<Cow<'a, str>>,
}

impl<'a> ToolCallDelta<'a> {
    /// The first chunk of a call: its id, name and (usually empty) arguments.
    pub fn start(index: u64, id: &'a str, name: &'a str, arguments: &'a str) -> Self {
        Self {
            index,
            id: Some(Cow::Borrowed(id)),
            kind: Some("function"),
            function: FunctionDelta {
                name: Some(Cow::Borrowed(name)),
                arguments: Some(Cow::Borrowed(arguments)),
            },
        }
    }

    /// A later piece of a call's arguments.
    pub fn arguments(index: u64, arguments: &'a str) -> Self {
        Self {
            index,
            id: None,
            kind: None,
            function: FunctionDelta {
                name: None,
                arguments: Some(Cow::Borrowed(arguments)),
            },
        }
    }
}

/// What every chunk of one stream shares: one `id` for the whole stream.
#[derive(Debug)]
pub struct ChunkHead {
    pub id: String,
    pub created: u64,
    pub model: String,
    pub system_fingerprint: Option<Value>,
}

impl ChunkHead {
    pub fn new(id: String, model: &str) -> Self {
        Self {
            id,
            created: unix_now(),
            model: model.to_string(),
            system_fingerprint: None,
        }
    }

    pub fn chunk<'a>(
        &'a self,
        choices: Vec<ChunkChoice<'a>>,
        usage: Option<ChunkUsage<'a>>,
    ) -> Chunk<'a> {
        Chunk {
            id: &self.id,
            object: "chat.completion.chunk",
            created: self.created,
            model: &self.model,
            system_fingerprint: self.system_fingerprint.as_ref(),
            choices,
            usage,
        }
    }

    /// One choice's delta (and its finish, when it ends here).
    pub fn delta<'a>(&'a self, index: u64, delta: Delta<'a>, finish: Option<&'a str>) -> Chunk<'a> {
        self.chunk(
            vec![ChunkChoice {
                index,
                delta,
                finish_reason: finish,
            }],
            None,
        )
    }

    /// The closing usage chunk: no choices, only usage (OpenAI's `include_usage` shape).
    pub fn usage<'a>(&'a self, usage: ChunkUsage<'a>) -> Chunk<'a> {
        self.chunk(Vec::new(), Some(usage))
    }
}

impl Chunk<'_> {
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    /// Appends the chunk as one SSE event.
    pub fn write_sse(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"data: ");
        if serde_json::to_writer(&mut *out, self).is_err() {
            out.extend_from_slice(b"{}");
        }
        out.extend_from_slice(b"\n\n");
    }
}

pub const DONE_EVENT: &[u8] = b"data: [DONE]\n\n";

pub fn done_event() -> Bytes {
    Bytes::from_static(DONE_EVENT)
}
