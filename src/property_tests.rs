//! Property tests: every parser of outside input (a client's body and headers, a provider's
//! answers and stream events, a cache entry from Redis, a config tree) is fed arbitrary and
//! extreme values (huge and non-finite numbers, wrong types, deep nesting, invalid UTF-8,
//! truncated streams) and must return a value or an error, never panic.

use actix_web::test::TestRequest;
use proptest::prelude::*;
use serde_json::{json, Map, Number, Value};

use crate::cache::entry;
use crate::cache::{control::CacheControl, embeddings, key};
use crate::http::request::{authorize, parse_object, prepare};
use crate::openai::{rewrite, Endpoint};
use crate::providers::classify::error_message;
use crate::providers::contract::{Call, StreamItem, StreamTranslator, UpstreamFailure};
use crate::providers::sse::{SseDecoder, SseEvent};
use crate::settings::{Deployment, GatewayConfig};
use switchyard_actors::seconds::Seconds;

fn number() -> impl Strategy<Value = Value> {
    let special = prop::sample::select(vec![
        0.0,
        -0.0,
        0.5,
        -1.0,
        1e-300,
        1e19,
        -1e19,
        1e300,
        -1e300,
        f64::MAX,
        f64::MIN,
        86_400.0,
        86_400.5,
        31_536_001.0,
    ]);
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        special.prop_map(|x| Number::from_f64(x).map_or(Value::Null, Value::Number)),
        any::<f64>().prop_map(|x| Number::from_f64(x).map_or(Value::Null, Value::Number)),
    ]
}

/// Strings a client or upstream might send, numbers written as strings among them.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z_]{0,12}",
        ".{0,40}",
        prop::sample::select(vec![
            "inf",
            "-inf",
            "NaN",
            "1e300",
            "1e19",
            "-5",
            "0",
            "",
            " ",
            "\n",
            "null",
            "true",
            "user",
            "assistant",
            "system",
            "tool",
            "function",
            "stop",
            "length",
            "tool_calls",
            "[DONE]",
            "text",
            "image_url",
            "tool_use",
            "tool_result",
            "message_start",
            "content_block_delta",
            "input_json_delta",
            "message_delta",
            "error",
        ])
        .prop_map(str::to_string),
    ]
}

/// Keys the gateway and the providers read, so generated objects hit the real code paths.
fn key_name() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "model", "messages", "role", "content", "stream", "stream_options", "include_usage",
            "timeout", "request_timeout", "stream_timeout", "num_retries", "fallbacks", "cache",
            "ttl", "s-maxage", "namespace", "no-cache", "tools", "tool_choice", "tool_calls",
            "function", "arguments", "name", "type", "text", "image_url", "url", "index",
            "choices", "delta", "finish_reason", "usage", "prompt_tokens", "completion_tokens",
            "total_tokens", "input", "data", "embedding", "id", "max_tokens", "temperature",
            "response_format", "json_schema", "schema", "stop", "n", "logprobs", "error", "code",
            "message", "candidates", "parts", "functionCall", "args", "usageMetadata",
            "finishReason", "stop_reason", "input_json", "partial_json", "thinking",
            "extra_body", "metadata", "system", "tool_call_id", "refusal", "reasoning_content",
            "inlineData", "mimeType", "embeddings", "values",
        ])
        .prop_map(str::to_string),
        1 => "[a-z]{1,6}",
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number(),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 96, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key_name(), inner), 0..8)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn json_object() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::vec((key_name(), json_value()), 0..10).prop_map(|kv| kv.into_iter().collect())
}

/// A chat request whose every field may be of the wrong type or extreme.
fn chat_request() -> impl Strategy<Value = Map<String, Value>> {
    (json_object(), prop::collection::vec(json_value(), 0..4)).prop_map(|(mut body, msgs)| {
        body.entry("model").or_insert(json!("gpt-4o"));
        body.entry("messages").or_insert(Value::Array(msgs));
        body
    })
}

fn config() -> GatewayConfig {
    let yaml = "model_list:
  - model_name: gpt-4o
    litellm_params: {model: openai/gpt-4o, api_key: sk-test-0123456789abcdef, api_base: http://127.0.0.1:9}
  - model_name: claude
    litellm_params: {model: anthropic/claude-3-5-sonnet, api_key: sk-ant-0123456789abcdef}
  - model_name: gemini
    litellm_params: {model: gemini/gemini-2.0-flash, api_key: AIza0123456789abcdef0123456789abcdef}
  - model_name: mistral
    litellm_params: {model: mistral/mistral-small-latest, api_key: k-0123456789abcdef}
  - model_name: instruct
    litellm_params: {model: text-completion-openai/gpt-3.5-turbo-instruct, api_key: k-0123456789abcdef}
  - model_name: llama-chat
    litellm_params: {model: ollama_chat/llama3.1}
  - model_name: llama-gen
    litellm_params: {model: ollama/llama3.1}
  - model_name: bedrock
    litellm_params: {model: bedrock/anthropic.claude-3-haiku-20240307-v1:0, aws_access_key_id: AKIDEXAMPLE, aws_secret_access_key: secret-0123456789abcdef, aws_region_name: us-east-1}
  - model_name: titan
    litellm_params: {model: bedrock/amazon.titan-embed-text-v2:0, api_key: bedrock-key-0123456789}
  - model_name: cohere
    litellm_params: {model: cohere/command-r, api_key: co-0123456789abcdef}
  - model_name: vertex-gemini
    litellm_params: {model: vertex_ai/gemini-2.0-flash, vertex_project: p, vertex_credentials: VERTEX_FIXTURE}
  - model_name: vertex-claude
    litellm_params: {model: vertex_ai/claude-3-5-sonnet-v2@20241022, vertex_project: p, vertex_credentials: VERTEX_FIXTURE}
litellm_settings: {cache: true}
general_settings: {master_key: sk-master-0123456789}
";
    let yaml = yaml.replace(
        "VERTEX_FIXTURE",
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/vertex/test-service-account.json"
        ),
    );
    let tree: Value = config::Config::builder()
        .add_source(config::File::from_str(&yaml, config::FileFormat::Yaml))
        .build()
        .and_then(|c| c.try_deserialize())
        .unwrap();
    GatewayConfig::from_tree(tree, "property tests").unwrap()
}

fn call<'a>(
    d: &'a Deployment,
    endpoint: Endpoint,
    body: &'a Map<String, Value>,
    stream: bool,
    drop_params: bool,
) -> Call<'a> {
    Call {
        upstream: &d.upstream,
        endpoint,
        body,
        stream,
        drop_params,
        answer_model: Some("alias"),
        credential: None,
    }
}

fn events_of(mut translator: Box<dyn StreamTranslator>, events: &[(Option<String>, String)]) {
    let mut out: Vec<StreamItem> = Vec::new();
    for (event, data) in events {
        let ev = SseEvent {
            event: event.clone(),
            data: data.clone(),
        };
        let _ = translator.event(ev, &mut out);
    }
    let _ = translator.end(&mut out);
}

fn provider_event() -> impl Strategy<Value = (Option<String>, String)> {
    (
        prop::option::of(text()),
        prop_oneof![
            json_value().prop_map(|v| v.to_string()),
            text(),
            // A JSON event cut anywhere: a truncated stream.
            (json_value(), any::<prop::sample::Index>()).prop_map(|(v, at)| {
                let s = v.to_string();
                let cut = at.index(s.len() + 1);
                s.get(..cut).unwrap_or_default().to_string()
            }),
        ],
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn the_request_parser_never_panics(body in chat_request(), timeout in text(), retries in text()) {
        let cfg = config();
        let mut req = TestRequest::default()
            .insert_header(("authorization", "Bearer sk-master-0123456789"));
        // Only values HTTP can carry reach a handler.
        for (name, value) in [("x-litellm-timeout", &timeout), ("x-litellm-num-retries", &retries)] {
            if let Ok(v) = actix_web::http::header::HeaderValue::from_str(value) {
                req = req.insert_header((name, v));
            }
        }
        let req = req.to_http_request();
        let _ = authorize(&req, &cfg);
        let bytes = serde_json::to_vec(&body).unwrap();
        let map = parse_object(&bytes).unwrap();
        let cfg = crate::generation::Generation::bare(cfg);
        let gen = cfg.clone();
        let cfg = &gen.config;
        for endpoint in [Endpoint::Chat, Endpoint::Embeddings, Endpoint::Completions] {
            if let Ok(p) = prepare(&gen, &req, endpoint, map.clone(), "id".into(), std::time::Instant::now()) {
                if let Some(cache) = &cfg.cache {
                    let shared = crate::cache::SharedCache::start(cache.clone()).unwrap();
                    let _ = shared.plan("gpt-4o", p.endpoint, &p.body, &p.cache_control);
                }
            }
        }
        let _ = CacheControl::from_body(&map);
    }

    #[test]
    fn messages_api_requests_and_answers_never_panic(body in json_object(), msgs in prop::collection::vec(json_value(), 0..4), answer in json_value()) {
        let mut body = body;
        body.insert("messages".into(), Value::Array(msgs));
        body.insert("max_tokens".into(), json!(16));
        let _ = crate::inbound::messages::request::to_chat(&body);
        let _ = crate::inbound::messages::response::from_chat(answer.to_string().as_bytes(), "m");
        let mut t = crate::inbound::chunk_bridge::ChunkBridge::new(
            crate::inbound::messages::stream::ToMessages::new("m"),
        );
        let _ = t.push(format!("data: {answer}\n\n").as_bytes());
        let _ = t.end();
    }

    #[test]
    fn raw_bodies_never_panic_the_parser(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = parse_object(&bytes);
    }

    #[test]
    fn provider_requests_never_panic(body in chat_request(), stream in any::<bool>(), drop in any::<bool>()) {
        let cfg = config();
        for d in &cfg.deployments {
            for endpoint in [Endpoint::Chat, Endpoint::Embeddings, Endpoint::Completions] {
                let _ = d.provider.request(&call(d, endpoint, &body, stream, drop));
            }
        }
    }

    #[test]
    fn provider_answers_never_panic(answer in json_value(), raw in prop::collection::vec(any::<u8>(), 0..128)) {
        let bytes = answer.to_string().into_bytes();
        let cfg = config();
        let json_mode: Map<String, Value> =
            serde_json::from_value(json!({"response_format": {"type": "json_object"}})).unwrap();
        let headers = awc::http::header::HeaderMap::new();
        for b in [&bytes, &raw] {
            for d in &cfg.deployments {
                for request in [&Map::new(), &json_mode] {
                    for endpoint in [Endpoint::Chat, Endpoint::Embeddings, Endpoint::Completions] {
                        let _ = d.provider.answer(&call(d, endpoint, request, false, false), b);
                    }
                }
                for status in [400, 429, 500, 503] {
                    let failure = UpstreamFailure { status, headers: &headers, body: b, max_retry_after: Seconds::whole(60) };
                    let _ = d.provider.classify(&d.upstream, &failure);
                }
            }
            let _ = rewrite::rewrite(b, Some("alias"));
            let _ = error_message(b);
        }
    }

    #[test]
    fn stream_translators_never_panic(events in prop::collection::vec(provider_event(), 0..12), json in any::<bool>()) {
        let cfg = config();
        let mut request = Map::new();
        if json {
            request.insert("response_format".into(), json!({"type": "json_object"}));
        }
        for d in &cfg.deployments {
            for endpoint in [Endpoint::Chat, Endpoint::Completions] {
                events_of(d.provider.stream(&call(d, endpoint, &request, true, false)), &events);
            }
        }
    }

    #[test]
    fn the_sse_decoder_takes_any_bytes(chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 0..8)) {
        let mut d = SseDecoder::new(256);
        let mut out = Vec::new();
        for c in &chunks {
            if d.push(c, &mut out).is_err() {
                break;
            }
        }
        d.finish(&mut out);
    }

    #[test]
    fn cache_entries_are_decoded_without_trust(raw in prop::collection::vec(any::<u8>(), 0..200), answer in json_value(),
                                              start in any::<u64>(), end in any::<u64>(), ts in number()) {
        let _ = entry::decode(&raw);
        let forged = format!(
            "{{\"timestamp\":{ts},\"model_at\":[{start},{end}],\"usage\":[1,2,3],\"response\":{answer}}}"
        );
        if let Some(e) = entry::decode(forged.as_bytes()) {
            let _ = e.with_model("gpt-4o");
            let _ = entry::replay_stream(e.response, "gpt-4o", true);
        }
        let _ = entry::replay_stream(answer.to_string().as_bytes(), "gpt-4o", true);
        let _ = embeddings::stored_embedding(forged.as_bytes());
        let mut collector = entry::StreamCollector::default();
        collector.add(&answer);
        let _ = collector.finish();
    }

    #[test]
    fn embeddings_merge_never_panics(answer in json_value(), hits in prop::collection::vec(prop::option::of(json_value()), 0..6)) {
        let _ = embeddings::merge(answer.to_string().as_bytes(), &hits);
        if let Value::Object(body) = &answer {
            let _ = embeddings::input_items(body);
            let _ = key::request_hash(Endpoint::Embeddings, "g", body);
        }
    }

    #[test]
    fn the_config_loader_never_panics(tree in json_value(), section in json_object(), deployment_params in json_object()) {
        let _ = GatewayConfig::from_tree(tree, "arbitrary");
        let mut params = deployment_params;
        params.entry("model").or_insert(json!("openai/gpt-4o"));
        let wrapped = json!({
            "model_list": [{"model_name": "m", "litellm_params": params, "model_info": section.clone()}],
            "router_settings": section.clone(),
            "litellm_settings": section.clone(),
            "general_settings": section.clone(),
            "switchyard_settings": section,
        });
        let _ = GatewayConfig::from_tree(wrapped, "arbitrary");
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let body = format!("{{\"model\":\"gpt-4o\",\"messages\":{deep}}}");
    assert!(parse_object(body.as_bytes()).is_err());
    // A deep stored answer is valid JSON: served as stored, replayed without recursing into it.
    let stored = format!(
        "{{\"timestamp\":1,\"model_at\":[0,0],\"usage\":[1,2,3],\"response\":{{\"a\":{deep}}}}}"
    );
    if let Some(e) = entry::decode(stored.as_bytes()) {
        let _ = entry::replay_stream(e.response, "m", false);
    }
}

/// The 400 `prepare` gives a chat request with these extra body fields and headers.
fn rejection(
    fields: &[(&str, Value)],
    headers: &[(&str, &str)],
) -> Option<crate::error::GatewayError> {
    let mut req = TestRequest::default();
    for h in headers {
        req = req.insert_header(*h);
    }
    let mut body = json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]});
    for (k, v) in fields {
        body[*k] = v.clone();
    }
    let map = body.as_object().cloned().unwrap();
    let now = std::time::Instant::now();
    prepare(
        &crate::generation::Generation::bare(config()),
        &req.to_http_request(),
        Endpoint::Chat,
        map,
        "id".into(),
        now,
    )
    .err()
}

#[test]
fn extreme_numbers_in_a_request_are_400s_naming_the_field() {
    for (field, value) in [
        ("timeout", json!(1e300)),
        ("timeout", json!(1e19)),
        ("request_timeout", json!(-1)),
        ("stream_timeout", json!("inf")),
        ("num_retries", json!(1_000_000)),
    ] {
        let err = rejection(&[(field, value)], &[]).unwrap_or_else(|| panic!("{field} accepted"));
        assert_eq!(err.status().as_u16(), 400);
        assert_eq!(err.body()["error"]["param"], field);
    }
    for (header, value) in [
        ("x-litellm-timeout", "inf"),
        ("x-litellm-stream-timeout", "1e300"),
        ("x-litellm-num-retries", "1000000"),
    ] {
        let err = rejection(&[], &[(header, value)]).unwrap_or_else(|| panic!("{header} accepted"));
        assert_eq!(err.status().as_u16(), 400);
        assert_eq!(err.body()["error"]["param"], header);
    }
}
