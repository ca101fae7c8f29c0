//! Token usage as upstreams report it, for tpm accounting and the request log.

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
        let u = v.get("usage")?.as_object()?;
        let get = |k: &str| u.get(k).and_then(Value::as_u64).unwrap_or(0);
        Some(Self::counted(
            get("prompt_tokens"),
            get("completion_tokens"),
            u.get("total_tokens").and_then(Value::as_u64),
        ))
    }
}
