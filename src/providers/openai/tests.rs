//! The OpenAI-compatible provider through its contract: bodies, URLs, headers, errors.

#![allow(clippy::disallowed_methods)]

use serde_json::{Map, Value};
use switchyard_actors::plan::AttemptError;
use switchyard_actors::seconds::Seconds;
use switchyard_actors::ErrorClass;

use super::{body, headers, url};
use crate::openai::Endpoint;
use crate::providers::classify::scrub;
use crate::providers::contract::UpstreamFailure;
use crate::settings::{Deployment, GatewayConfig};

fn classify(
    d: &Deployment,
    status: u16,
    body: &[u8],
    retry_after: Option<Seconds>,
) -> AttemptError {
    let mut headers = awc::http::header::HeaderMap::new();
    if let Some(s) = retry_after {
        headers.insert(
            awc::http::header::RETRY_AFTER,
            awc::http::header::HeaderValue::from_str(&s.to_string()).unwrap(),
        );
    }
    d.provider.classify(
        &d.upstream,
        &UpstreamFailure {
            status,
            headers: &headers,
            body,
            max_retry_after: Seconds::whole(60),
        },
    )
}

fn deployment(model: &str, extra: &str) -> Deployment {
    let yaml = format!(
            "model_list:\n  - model_name: g\n    litellm_params:\n      model: {model}\n      api_key: sk-live-abcdefghijklmnopqrstuvwxyz\n      api_base: http://127.0.0.1:9/v1\n{extra}"
        );
    let tree: Value = config::Config::builder()
        .add_source(config::File::from_str(&yaml, config::FileFormat::Yaml))
        .build()
        .and_then(|c| c.try_deserialize())
        .unwrap();
    GatewayConfig::from_tree(tree, "test")
        .unwrap()
        .deployments
        .remove(0)
}

fn body_json(d: &Deployment, client: &str, drop: bool) -> Value {
    let client: Map<String, Value> = serde_json::from_str(client).unwrap();
    serde_json::to_value(body(&d.upstream, Endpoint::Chat, &client, drop)).unwrap()
}

#[test]
fn classifies_by_status_and_message() {
    let d = deployment("openai/gpt-4o", "");
    let ctx = classify(
        &d,
        400,
        br#"{"error":{"message":"This model's maximum context length is 8192 tokens"}}"#,
        None,
    );
    assert_eq!(ctx.class, ErrorClass::ContextWindowExceeded);
    let sglang = classify(&d, 400, br#"{"object":"error","message":"The input (9000 tokens) is longer than the model's context length (8192 tokens)."}"#, None);
    assert_eq!(sglang.class, ErrorClass::ContextWindowExceeded);
    assert_eq!(
        classify(
            &d,
            400,
            br#"{"error":{"code":"content_policy_violation","message":"x"}}"#,
            None
        )
        .class,
        ErrorClass::ContentPolicyViolation
    );
    assert_eq!(
        classify(&d, 429, b"slow down", Some(Seconds::whole(2))).retry_after,
        Some(Seconds::whole(2))
    );
    assert_eq!(
        classify(&d, 503, b"", None).class,
        ErrorClass::ServiceUnavailable
    );
    assert_eq!(
        classify(&d, 401, br#"{"error":{"message":"bad key"}}"#, None).class,
        ErrorClass::Authentication
    );
    assert_eq!(classify(&d, 422, b"{}", None).status, 400);
}

#[test]
fn errors_never_carry_the_key() {
    let d = deployment("openai/gpt-4o", "");
    let e = classify(&d, 401, br#"{"error":{"message":"Incorrect API key provided: sk-live-abcdefghijklmnopqrstuvwxyz"}}"#, None);
    assert!(!e.message.contains("abcdefghijklmnop"), "{}", e.message);
    let other = scrub("leaked sk-proj-ZZZZZZZZZZZZZZZZZZZZZZZZ here", &d.upstream);
    assert!(!other.contains("ZZZZZZZZZZZZ"), "{other}");
}

#[test]
fn drop_params_drops_only_unsupported_keys() {
    let d = deployment("openai/gpt-4o", "");
    let client = r#"{"model":"g","messages":[],"temperature":0.2,"top_k":5}"#;
    let kept = body_json(&d, client, false);
    assert_eq!(kept["top_k"], 5);
    assert_eq!(kept["model"], "gpt-4o");
    let dropped = body_json(&d, client, true);
    assert!(dropped.get("top_k").is_none());
    assert_eq!(dropped["temperature"], 0.2);
}

#[test]
fn vllm_extras_survive_drop_params_and_defaults_apply() {
    let d = deployment(
        "hosted_vllm/Qwen/Qwen3-0.6B",
        "      temperature: 0\n      additional_drop_params: [user]\n",
    );
    let b = body_json(
        &d,
        r#"{"model":"g","messages":[],"top_k":5,"user":"u","chat_template_kwargs":{"enable_thinking":false}}"#,
        true,
    );
    assert_eq!(b["model"], "Qwen/Qwen3-0.6B");
    assert_eq!(b["top_k"], 5);
    assert_eq!(b["temperature"], 0);
    assert!(b.get("user").is_none());
    assert_eq!(b["chat_template_kwargs"]["enable_thinking"], false);
}

#[test]
fn urls_and_headers_per_provider() {
    let d = deployment("openai/gpt-4o", "");
    assert_eq!(
        url(&d.upstream, Endpoint::Chat),
        "http://127.0.0.1:9/v1/chat/completions"
    );
    assert_eq!(headers(&d.upstream)[0].0, "authorization");
    let az = deployment("azure/my-deploy", "      api_version: \"2024-10-21\"\n");
    assert_eq!(
        url(&az.upstream, Endpoint::Embeddings),
        "http://127.0.0.1:9/v1/openai/deployments/my-deploy/embeddings?api-version=2024-10-21"
    );
    assert_eq!(headers(&az.upstream)[0].0, "api-key");
}
