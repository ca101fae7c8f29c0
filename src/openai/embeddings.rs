//! The embeddings list answer, for translated and mocked embeddings.

use serde::Serialize;
use serde_json::Value;

#[derive(Serialize, Debug)]
pub struct EmbeddingList<'a> {
    object: &'static str,
    pub data: Vec<Embedding>,
    pub model: &'a str,
    pub usage: EmbeddingUsage,
}

#[derive(Serialize, Debug)]
pub struct Embedding {
    object: &'static str,
    pub index: u64,
    pub embedding: Value,
}

#[derive(Serialize, Debug, Default, Clone, Copy)]
pub struct EmbeddingUsage {
    pub prompt_tokens: u64,
    pub total_tokens: u64,
}

impl Embedding {
    pub fn new(index: u64, embedding: Value) -> Self {
        Self {
            object: "embedding",
            index,
            embedding,
        }
    }
}

impl<'a> EmbeddingList<'a> {
    pub fn new(data: Vec<Embedding>, model: &'a str, usage: EmbeddingUsage) -> Self {
        Self {
            object: "list",
            data,
            model,
            usage,
        }
    }

    pub fn to_vec(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// The embeddings list of these vectors, in order, with `prompt_tokens` of input: the
/// answer every translating provider gives, and its usage.
pub fn answer(
    vectors: impl IntoIterator<Item = Value>,
    model: &str,
    prompt_tokens: u64,
) -> (Vec<u8>, super::Usage) {
    let data = vectors
        .into_iter()
        .zip(0u64..)
        .map(|(e, i)| Embedding::new(i, e))
        .collect();
    let usage = super::Usage::counted(prompt_tokens, 0, Some(prompt_tokens));
    let list = EmbeddingList::new(
        data,
        model,
        EmbeddingUsage {
            prompt_tokens: usage.prompt_tokens,
            total_tokens: usage.total_tokens,
        },
    );
    (list.to_vec(), usage)
}

/// The answers to a batch sent in parts, as one list: the parts' vectors in order, reindexed,
/// usage summed. `None` when a part is not an embeddings list.
pub fn merge(parts: &[(Vec<u8>, super::Usage)]) -> Option<(Vec<u8>, super::Usage)> {
    let mut vectors = Vec::new();
    let mut model = String::new();
    let mut prompt = 0u64;
    for (body, usage) in parts {
        let v: Value = serde_json::from_slice(body).ok()?;
        if model.is_empty() {
            model = v
                .get("model")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
        }
        for item in v.get("data")?.as_array()? {
            vectors.push(item.get("embedding")?.clone());
        }
        prompt = prompt.saturating_add(usage.prompt_tokens);
    }
    Some(answer(vectors, &model, prompt))
}
