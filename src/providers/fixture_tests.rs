//! Translation checked against recorded provider fixtures, one file per case, under
//! `tests/fixtures/providers/{anthropic,gemini,azure,openai}/`. A fixture lists what the output must
//! contain (`expect`, compared as a subset), what it must not (`absent`), or the error it must
//! raise. Shapes follow the providers' public API references.

#![allow(clippy::disallowed_methods)]

use std::path::PathBuf;

use serde_json::{Map, Value};

use super::anthropic;
use super::contract::{Call, StreamItem, UpstreamFailure};
use super::sse::SseEvent;
use crate::openai::Endpoint;
use crate::settings::{Deployment, GatewayConfig};
use switchyard_actors::seconds::Seconds;

fn deployment(model: &str) -> Deployment {
    let yaml = format!(
        "model_list:\n  - model_name: g\n    litellm_params:\n      model: {model}\n      api_key: sk-fixture-0123456789abcdef\n      api_base: http://127.0.0.1:9\n"
    );
    let tree: Value = config::Config::builder()
        .add_source(config::File::from_str(&yaml, config::FileFormat::Yaml))
        .build()
        .and_then(|c| c.try_deserialize())
        .unwrap();
    GatewayConfig::from_tree(tree, "fixture")
        .unwrap()
        .deployments
        .remove(0)
}

/// Every key of `expected` is in `actual` with a matching value (objects recursively, arrays
/// item by item with equal length).
fn subset(expected: &Value, actual: &Value, path: &str) -> Result<(), String> {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                let av = a.get(k).unwrap_or(&Value::Null);
                subset(ev, av, &format!("{path}/{k}"))?;
            }
            Ok(())
        }
        (Value::Array(e), Value::Array(a)) if e.len() == a.len() => {
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                subset(ev, av, &format!("{path}/{i}"))?;
            }
            Ok(())
        }
        (e, a) if e == a => Ok(()),
        (e, a) => Err(format!("{path}: expected {e}, got {a}")),
    }
}

fn fixtures() -> Vec<(PathBuf, Value)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/providers");
    let mut out = Vec::new();
    for dir in [
        "anthropic",
        "gemini",
        "azure",
        "openai",
        "ollama",
        "bedrock",
    ] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for f in files {
            let v = serde_json::from_str(&std::fs::read_to_string(&f).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            out.push((f, v));
        }
    }
    out
}

fn map(v: &Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

/// The fixture's deployment: `provider/model` (any model when the fixture names none).
fn fixture_deployment(f: &Value) -> Deployment {
    let provider = f["provider"].as_str().unwrap();
    let model = f["model"].as_str().unwrap_or("fixture-model");
    deployment(&format!("{provider}/{model}"))
}

fn call<'a>(d: &'a Deployment, body: &'a Map<String, Value>, f: &'a Value) -> Call<'a> {
    Call {
        upstream: &d.upstream,
        endpoint: Endpoint::Chat,
        body,
        stream: f["stream"].as_bool().unwrap_or(false),
        drop_params: f["drop_params"].as_bool().unwrap_or(false),
        answer_model: f["model_label"].as_str(),
        credential: None,
    }
}

/// The request a JSON-mode fixture stands for (`json_mode: true`), else an empty one.
fn request_of(f: &Value) -> Map<String, Value> {
    if f["json_mode"].as_bool() == Some(true) {
        map(&serde_json::json!({"response_format": {"type": "json_object"}}))
    } else {
        Map::new()
    }
}

fn check_request(f: &Value) -> Result<(), String> {
    let body = map(&f["openai"]);
    let d = fixture_deployment(f);
    let result = d
        .provider
        .request(&call(&d, &body, f))
        .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap());
    match (result, f["expect_error"].as_str()) {
        (Err(e), Some(want)) if e.message.contains(want) && e.status == 400 => Ok(()),
        (Err(e), want) => Err(format!("error {:?} (wanted {want:?})", e.message)),
        (Ok(v), Some(want)) => Err(format!("wanted error {want}, got {v}")),
        (Ok(v), None) => {
            subset(&f["expect"], &v, "")?;
            for key in f["absent"].as_array().into_iter().flatten() {
                if v.get(key.as_str().unwrap()).is_some() {
                    return Err(format!("{key} must not be sent: {v}"));
                }
            }
            for p in f["absent_paths"].as_array().into_iter().flatten() {
                if v.pointer(p.as_str().unwrap()).is_some() {
                    return Err(format!("{p} must not be sent"));
                }
            }
            Ok(())
        }
    }
}

fn check_response(f: &Value) -> Result<(), String> {
    let bytes = serde_json::to_vec(&f["upstream"]).unwrap();
    let d = fixture_deployment(f);
    let request = request_of(f);
    let result = d
        .provider
        .answer(&call(&d, &request, f), &bytes)
        .map(|(b, u)| (serde_json::from_slice::<Value>(&b).unwrap(), u));
    match (result, f["expect_error_class"].as_str()) {
        (Err(e), Some(class)) if format!("{:?}", e.class) == class => Ok(()),
        (Err(e), _) => Err(format!("error {:?} {}", e.class, e.message)),
        (Ok((v, _)), Some(class)) => Err(format!("wanted {class}, got {v}")),
        (Ok((v, usage)), None) => {
            subset(&f["expect"], &v, "")?;
            if let Some(total) = v.pointer("/usage/total_tokens").and_then(Value::as_u64) {
                if usage.total_tokens != total {
                    return Err(format!(
                        "usage for accounting {usage:?} differs from {total}"
                    ));
                }
            }
            for (p, prefix) in f["id_prefix"].as_object().into_iter().flatten() {
                let id = v.pointer(p).and_then(Value::as_str).unwrap_or("");
                if !id.starts_with(prefix.as_str().unwrap()) {
                    return Err(format!("{p} = {id:?}"));
                }
            }
            Ok(())
        }
    }
}

fn check_stream(f: &Value) -> Result<(), String> {
    let d = fixture_deployment(f);
    let request = request_of(f);
    let mut t = d.provider.stream(&call(&d, &request, f));
    let mut items = Vec::new();
    let mut error = None;
    for ev in f["events"].as_array().unwrap() {
        let ev = SseEvent {
            event: ev["event"].as_str().map(str::to_string),
            // `raw`: the event's data exactly as written (a malformed or truncated event).
            data: match ev["raw"].as_str() {
                Some(raw) => raw.to_string(),
                None => ev["data"].to_string(),
            },
        };
        if let Err(e) = t.event(ev, &mut items) {
            error = Some(e);
            break;
        }
    }
    if let Some(class) = f["expect_error_class"].as_str() {
        return match error {
            Some(e) if format!("{:?}", e.class) == class && items.is_empty() => Ok(()),
            other => Err(format!(
                "wanted {class} before any chunk, got {:?}",
                other.map(|e| e.class)
            )),
        };
    }
    if let Some(e) = error {
        return Err(e.message);
    }
    // The upstream closes the stream here: complete, or cut short.
    let end = t.end(&mut items);
    match (end, f["expect_cut_short"].as_bool().unwrap_or(false)) {
        (Ok(()), true) => return Err("a stream cut short was taken as complete".into()),
        (Err(e), false) => return Err(format!("the complete stream was refused: {}", e.message)),
        (Err(e), true) if !e.message.contains("closed the stream before it finished") => {
            return Err(format!("cut short with {}", e.message))
        }
        _ => {}
    }
    let done = items.last() == Some(&StreamItem::Done);
    if done != f["expect_done"].as_bool().unwrap_or(false) {
        return Err(format!("[DONE] emitted: {done}"));
    }
    let chunks: Vec<Value> = items
        .into_iter()
        .filter_map(|i| match i {
            StreamItem::Chunk { chunk, .. } => Some(chunk),
            StreamItem::Passthrough { text, .. } => serde_json::from_str(&text).ok(),
            _ => None,
        })
        .collect();
    subset(&f["expect_chunks"], &Value::Array(chunks.clone()), "")?;
    if f["same_id"].as_bool() == Some(true) && chunks.windows(2).any(|w| w[0]["id"] != w[1]["id"]) {
        return Err("chunk ids change mid-stream".into());
    }
    Ok(())
}

fn check_error(f: &Value) -> Result<(), String> {
    let d = fixture_deployment(f);
    let body = serde_json::to_vec(&f["body"]).unwrap();
    let headers = awc::http::header::HeaderMap::new();
    let e = d.provider.classify(
        &d.upstream,
        &UpstreamFailure {
            status: u16::try_from(f["status"].as_u64().unwrap()).unwrap(),
            headers: &headers,
            body: &body,
            max_retry_after: Seconds::whole(60),
        },
    );
    let class = format!("{:?}", e.class);
    if class != f["expect_class"].as_str().unwrap() {
        return Err(format!("classified {class}: {}", e.message));
    }
    if e.message.contains("sk-fixture") {
        return Err("the key leaked into the message".into());
    }
    Ok(())
}

fn check_embeddings(f: &Value) -> Result<(), String> {
    let mut d = fixture_deployment(f);
    d.upstream.api_base = Some("http://127.0.0.1:9/v1beta".into());
    let body = map(&f["openai"]);
    let mut c = call(&d, &body, f);
    c.endpoint = Endpoint::Embeddings;
    let request = d.provider.request(&c).map_err(|e| e.message)?;
    if !request
        .url
        .ends_with("/models/text-embedding-004:batchEmbedContents")
    {
        return Err(format!("url {}", request.url));
    }
    let sent: Value = serde_json::from_slice(&request.body).unwrap();
    subset(&f["expect_request"], &sent, "/request")?;
    let bytes = serde_json::to_vec(&f["upstream"]).unwrap();
    let (v, _) = d.provider.answer(&c, &bytes).map_err(|e| e.message)?;
    subset(&f["expect"], &serde_json::from_slice(&v).unwrap(), "")
}

#[test]
fn every_provider_fixture_translates_as_recorded() {
    let mut failures = Vec::new();
    let all = fixtures();
    assert!(all.len() >= 30, "fixtures found: {}", all.len());
    for (path, f) in &all {
        let result = match f["case"].as_str() {
            Some("request") => check_request(f),
            Some("response") => check_response(f),
            Some("stream") => check_stream(f),
            Some("error") => check_error(f),
            Some("embeddings") => check_embeddings(f),
            other => Err(format!("unknown case {other:?}")),
        };
        if let Err(e) = result {
            failures.push(format!(
                "{}: {e}",
                path.file_name().unwrap().to_string_lossy()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} fixture(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn urls_and_headers_follow_each_provider() {
    let mut d = deployment("anthropic/claude-3-5-sonnet-20241022");
    let body = map(&serde_json::json!({"messages": [{"role": "user", "content": "hi"}]}));
    let chat = |d: &Deployment, endpoint: Endpoint, stream: bool| {
        let c = Call {
            upstream: &d.upstream,
            endpoint,
            body: &body,
            stream,
            drop_params: false,
            answer_model: None,
            credential: None,
        };
        d.provider.request(&c)
    };
    for (base, url) in [
        (None, "https://api.anthropic.com/v1/messages"),
        (Some("http://h:1"), "http://h:1/v1/messages"),
        (Some("http://h:1/v1"), "http://h:1/v1/messages"),
    ] {
        d.upstream.api_base = base.map(str::to_string);
        let call = chat(&d, Endpoint::Chat, false).unwrap();
        assert_eq!(call.url, url);
        assert!(call
            .headers
            .contains(&("anthropic-version".into(), anthropic::API_VERSION.into())));
        assert!(call
            .headers
            .contains(&("x-api-key".into(), "sk-fixture-0123456789abcdef".into())));
    }
    let mut g = deployment("gemini/gemini-2.0-flash");
    g.upstream.api_base = None;
    let call = chat(&g, Endpoint::Chat, true).unwrap();
    assert_eq!(
        call.url,
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse"
    );
    assert!(call.headers.iter().any(|(k, _)| k == "x-goog-api-key"));
    assert!(!call.url.contains("key="), "the key never goes in the URL");
    assert!(chat(&d, Endpoint::Embeddings, false).is_err());
}
