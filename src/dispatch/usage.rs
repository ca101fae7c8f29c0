//! Token usage as upstreams report it, for tpm accounting and the request log.

use serde_json::Value;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
}

impl Usage {
    pub fn from_response(v: &Value) -> Option<Self> {
        let u = v.get("usage")?.as_object()?;
        let get = |k: &str| u.get(k).and_then(Value::as_u64).unwrap_or(0);
        let (prompt, completion) = (get("prompt_tokens"), get("completion_tokens"));
        let total = u
            .get("total_tokens")
            .and_then(Value::as_u64)
            .unwrap_or(prompt + completion);
        Some(Self {
            prompt_tokens: prompt,
            completion_tokens: completion,
            total_tokens: total,
        })
    }
}
