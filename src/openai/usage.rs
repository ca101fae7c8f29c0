//! Token usage: the counts the gateway keeps (tpm accounting, the request log) and the
//! `usage` object it writes.

use serde::Serialize;
use serde_json::Value;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
}

/// No answer has this many tokens; an upstream that says so is cut here, so tpm sums and
/// the log never overflow.
pub const MAX_REPORTED_TOKENS: u64 = 1 << 40;

impl Usage {
    /// Counts from an upstream, each capped; the total is theirs when given, else the sum.
    pub fn counted(prompt: u64, completion: u64, total: Option<u64>) -> Self {
        let cap = |n: u64| n.min(MAX_REPORTED_TOKENS);
        let (prompt, completion) = (cap(prompt), cap(completion));
        Self {
            prompt_tokens: prompt,
            completion_tokens: completion,
            total_tokens: cap(total.unwrap_or(prompt + completion)),
        }
    }

    pub fn from_response(v: &Value) -> Option<Self> {
        Self::from_object(v.get("usage")?)
    }

    /// A `usage` object itself (`None` when it is not an object).
    pub fn from_object(usage: &Value) -> Option<Self> {
        let u = usage.as_object()?;
        let get = |k: &str| u.get(k).and_then(Value::as_u64).unwrap_or(0);
        Some(Self::counted(
            get("prompt_tokens"),
            get("completion_tokens"),
            u.get("total_tokens").and_then(Value::as_u64),
        ))
    }

    /// The `usage` object of a chat answer or chunk.
    pub fn body(self) -> UsageBody {
        UsageBody {
            prompt_tokens: self.prompt_tokens,
            completion_tokens: self.completion_tokens,
            total_tokens: self.total_tokens,
            prompt_tokens_details: None,
            cache_read_input_tokens: None,
            cache_creation_input_tokens: None,
        }
    }
}

#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct PromptTokensDetails {
    pub cached_tokens: u64,
}

/// The `usage` object. The cache fields are LiteLLM's names for a provider's prompt cache.
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct UsageBody {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt_tokens_details: Option<PromptTokensDetails>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_read_input_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_creation_input_tokens: Option<u64>,
}
