//! Embeddings are cached per input item, as LiteLLM does: a batch whose items were embedded
//! before (alone or in another batch) sends only the new ones upstream, and the answer is put
//! back together in the client's order.

use serde_json::{Map, Value};

use super::entry;
use crate::openai::embeddings::{Embedding, EmbeddingList, EmbeddingUsage};

/// The items of an embeddings `input`: a string or a token list is one item; a list of
/// strings or of token lists is one item each.
pub fn input_items(body: &Map<String, Value>) -> Option<Vec<Value>> {
    match body.get("input")? {
        s @ Value::String(_) => Some(vec![s.clone()]),
        Value::Array(items) if items.is_empty() => None,
        Value::Array(items) if items.iter().all(Value::is_number) => {
            Some(vec![Value::Array(items.clone())])
        }
        Value::Array(items) if !items.is_empty() => Some(items.clone()),
        _ => None,
    }
}

/// The embedding a stored single-item entry holds.
pub fn stored_embedding(bytes: &[u8]) -> Option<Value> {
    let e = entry::decode(bytes)?;
    let v: Value = serde_json::from_slice(e.response).ok()?;
    v.pointer("/data/0/embedding").cloned()
}

/// The single-item answer stored for one embedding.
pub fn item_entry(embedding: &Value, model: &str) -> Vec<u8> {
    EmbeddingList::new(
        vec![Embedding::new(0, embedding.clone())],
        model,
        EmbeddingUsage::default(),
    )
    .to_vec()
}

/// Narrows the request to the items not found in the cache, in their order.
pub fn narrow(body: &mut Map<String, Value>, items: &[Value], hits: &[Option<Value>]) {
    let missing: Vec<Value> = items
        .iter()
        .zip(hits)
        .filter(|(_, h)| h.is_none())
        .map(|(i, _)| i.clone())
        .collect();
    body.insert("input".into(), Value::Array(missing));
}

/// The answer for every item from the cache alone.
pub fn from_cache(hits: Vec<Value>, model: &str) -> Vec<u8> {
    let data = hits
        .into_iter()
        .zip(0u64..)
        .map(|(e, i)| Embedding::new(i, e))
        .collect();
    EmbeddingList::new(data, model, EmbeddingUsage::default()).to_vec()
}

/// The merged answer, and each newly embedded item with its position in the client's input.
pub struct Merged {
    pub body: Vec<u8>,
    pub new_items: Vec<(usize, Value)>,
}

/// Puts the upstream's answer for the missing items together with the cached ones, in the
/// client's order.
pub fn merge(upstream: &[u8], hits: &[Option<Value>]) -> Option<Merged> {
    let mut v: Value = serde_json::from_slice(upstream).ok()?;
    let mut fresh: Vec<Value> = v.get("data")?.as_array()?.clone();
    fresh.sort_by_key(|d| d.get("index").and_then(Value::as_u64).unwrap_or(0));
    if fresh.len() != hits.iter().filter(|h| h.is_none()).count() {
        return None;
    }
    let mut fresh = fresh.into_iter();
    let mut new_items = Vec::new();
    let mut data = Vec::with_capacity(hits.len());
    for ((i, hit), index) in hits.iter().enumerate().zip(0u64..) {
        let embedding = match hit {
            Some(e) => e.clone(),
            None => {
                let e = fresh.next()?.get("embedding")?.clone();
                new_items.push((i, e.clone()));
                e
            }
        };
        data.push(serde_json::to_value(Embedding::new(index, embedding)).unwrap_or_default());
    }
    crate::json::set(&mut v, "data", Value::Array(data));
    Some(Merged {
        body: v.to_string().into_bytes(),
        new_items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn items_follow_the_openai_input_shapes() {
        assert_eq!(
            input_items(&map(json!({"input": "a"}))).unwrap(),
            vec![json!("a")]
        );
        assert_eq!(
            input_items(&map(json!({"input": ["a", "b"]})))
                .unwrap()
                .len(),
            2
        );
        assert_eq!(
            input_items(&map(json!({"input": [1, 2, 3]}))).unwrap(),
            vec![json!([1, 2, 3])]
        );
        assert_eq!(
            input_items(&map(json!({"input": [[1], [2]]})))
                .unwrap()
                .len(),
            2
        );
        assert!(input_items(&map(json!({"input": []}))).is_none());
    }

    #[test]
    fn a_partial_hit_is_merged_in_the_client_order() {
        let hits = vec![Some(json!([1.0])), None, Some(json!([3.0])), None];
        let upstream = json!({"object": "list", "model": "m", "usage": {"prompt_tokens": 2, "total_tokens": 2},
            "data": [{"index": 1, "embedding": [4.0]}, {"index": 0, "embedding": [2.0]}]});
        let Merged { body, new_items } = merge(upstream.to_string().as_bytes(), &hits).unwrap();
        let v: Value = serde_json::from_slice(&body).unwrap();
        let got: Vec<Value> = v["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["embedding"].clone())
            .collect();
        assert_eq!(
            got,
            vec![json!([1.0]), json!([2.0]), json!([3.0]), json!([4.0])]
        );
        assert_eq!(v["data"][3]["index"], 3);
        assert_eq!(v["usage"]["prompt_tokens"], 2);
        assert_eq!(new_items, vec![(1, json!([2.0])), (3, json!([4.0]))]);
        assert!(
            merge(upstream.to_string().as_bytes(), &[None]).is_none(),
            "a count mismatch is not merged"
        );
        let stored = entry::encode(&item_entry(&json!([9.0]), "m"), 1.0).unwrap();
        assert_eq!(stored_embedding(&stored), Some(json!([9.0])));
    }
}
