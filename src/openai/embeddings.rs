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
