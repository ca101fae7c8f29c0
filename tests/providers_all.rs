//! One config naming every provider prefix Switchyard speaks: `check-config` is clean, and each
//! deployment answers a chat request (plain and streamed) through a mock speaking its wire
//! format: OpenAI, Azure, vLLM, the OpenAI-compatible family, text-completion-openai, Anthropic,
//! Gemini, Vertex AI (Gemini and Claude), Bedrock, Ollama (chat and generate), Cohere.

// Harness code in this test crate: a panic fails the test, which is what it is for.
#![allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::gateway::Gateway;
use common::mock::{MockUpstream, Reply};
use ring::signature::KeyPair;
use rustls_pki_types::pem::PemObject;
use serde_json::{json, Value};

/// (model name, litellm model, extra litellm_params, api_base is the mock's root (no /v1)).
const EVERY: &[(&str, &str, &str, bool)] = &[
    ("openai", "openai/gpt-4o", "api_key: sk-a-0123456789", false),
    ("azure", "azure/gpt-4o-deploy", "api_key: az-0123456789, api_version: '2024-10-21'", true),
    ("vllm", "hosted_vllm/Qwen/Qwen3-0.6B", "", false),
    ("groq", "groq/llama-3.1-8b-instant", "api_key: gsk-0123456789", false),
    ("mistral", "mistral/mistral-small-latest", "api_key: m-0123456789", false),
    ("deepseek", "deepseek/deepseek-chat", "api_key: d-0123456789", false),
    ("openrouter", "openrouter/anthropic/claude-3.5-sonnet", "api_key: or-0123456789", false),
    ("together", "together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo", "api_key: t-0123456789", false),
    ("fireworks", "fireworks_ai/llama-v3p1-8b-instruct", "api_key: fw-0123456789", false),
    ("xai", "xai/grok-3", "api_key: x-0123456789", false),
    ("perplexity", "perplexity/sonar", "api_key: p-0123456789", false),
    ("cerebras", "cerebras/llama3.1-8b", "api_key: c-0123456789", false),
    ("deepinfra", "deepinfra/meta-llama/Meta-Llama-3.1-8B-Instruct", "api_key: di-0123456789", false),
    ("nim", "nvidia_nim/meta/llama3-8b-instruct", "api_key: n-0123456789", false),
    ("sambanova", "sambanova/Meta-Llama-3.1-8B-Instruct", "api_key: s-0123456789", false),
    ("lmstudio", "lm_studio/qwen2.5-7b-instruct", "", false),
    ("llamafile", "llamafile/mistral-7b", "", false),
    ("github", "github/gpt-4o-mini", "api_key: gh-0123456789", false),
    ("instruct", "text-completion-openai/gpt-3.5-turbo-instruct", "api_key: sk-i-0123456789", false),
    ("anthropic", "anthropic/claude-3-5-sonnet-20241022", "api_key: sk-ant-0123456789", false),
    ("gemini", "gemini/gemini-2.0-flash", "api_key: AIza-test-0123456789", true),
    ("bedrock", "bedrock/us.anthropic.claude-3-5-sonnet-20241022-v2:0",
        "aws_access_key_id: AKIASWITCHYARDTEST, aws_secret_access_key: switchyard-test-secret-0123456789abcdef, aws_region_name: us-east-1", true),
    ("ollama", "ollama/llama3.1", "", true),
    ("ollama-chat", "ollama_chat/llama3.1", "", true),
    ("cohere", "cohere/command-r", "api_key: co-0123456789", true),
    ("vertex-gemini", "vertex_ai/gemini-2.0-flash", "vertex_project: p, vertex_credentials: 'CREDS'", true),
    ("vertex-claude", "vertex_ai/claude-3-5-sonnet-v2@20241022", "vertex_project: p, vertex_credentials: 'CREDS'", true),
];

fn root(mock: &MockUpstream) -> String {
    mock.base_url().trim_end_matches("/v1").to_string()
}

/// A credentials file for the test key whose token_uri is this mock.
fn vertex_credentials(mock: &MockUpstream) -> std::path::PathBuf {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/vertex/test-service-account.json"
    );
    let mut account: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let pem = account["private_key"].as_str().unwrap().to_string();
    let der = rustls_pki_types::PrivatePkcs8KeyDer::from_pem_slice(pem.as_bytes()).unwrap();
    let pair = ring::signature::RsaKeyPair::from_pkcs8(der.secret_pkcs8_der()).unwrap();
    mock.act_as_google(
        pair.public_key().as_ref().to_vec(),
        account["client_email"].as_str().unwrap(),
        Duration::from_secs(3600),
    );
    account["token_uri"] = json!(format!("{}/token", root(mock)));
    // One file per mock: tests run in parallel, each with its own Google.
    let port = root(mock)
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .to_string();
    let file = std::env::temp_dir().join(format!(
        "switchyard-all-{}-{port}-sa.json",
        std::process::id()
    ));
    std::fs::write(&file, account.to_string()).unwrap();
    file
}

/// The config naming every prefix, each deployment on a mock of its own (Vertex's two on one
/// mock that also plays Google), and those mocks (`None` for Vertex's).
fn every_config(google: &MockUpstream) -> (String, Vec<Option<MockUpstream>>) {
    let mut yaml = String::from("model_list:\n");
    let mut mocks = Vec::new();
    let creds = vertex_credentials(google);
    for (name, model, extra, at_root) in EVERY {
        let mock = if name.starts_with("vertex") {
            None
        } else {
            Some(MockUpstream::start())
        };
        let target = mock.as_ref().unwrap_or(google);
        let base = if *at_root {
            root(target)
        } else {
            target.base_url()
        };
        let extra = extra.replace("CREDS", &creds.display().to_string());
        let sep = if extra.is_empty() { "" } else { ", " };
        yaml.push_str(&format!(
            "  - model_name: {name}\n    litellm_params: {{model: {model}, api_base: '{base}'{sep}{extra}}}\n"
        ));
        mocks.push(mock);
    }
    (yaml, mocks)
}

#[test]
fn every_prefix_loads_in_one_config_and_answers_through_its_mock() {
    let google = MockUpstream::start();
    let (yaml, mocks) = every_config(&google);
    let config = std::env::temp_dir().join(format!("switchyard-all-{}.yaml", std::process::id()));
    std::fs::write(&config, &yaml).unwrap();
    let check = std::process::Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .arg("check-config")
        .arg(&config)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    let gw = Gateway::start(&yaml);
    for ((name, _, _, _), mock) in EVERY.iter().zip(&mocks) {
        let target = mock.as_ref().unwrap_or(&google);
        target.set_default(Reply::chat(&format!("hello from {name}")));
        let body = json!({"model": name, "messages": [{"role": "user", "content": "Hi"}]});
        let r = gw.post("/v1/chat/completions", &body);
        assert_eq!(r.status, 200, "{name}: {}\n{}", r.text, gw.logs());
        let v = r.json();
        assert_eq!(v["object"], "chat.completion", "{name}: {v}");
        assert_eq!(v["model"], *name);
        assert_eq!(
            v["choices"][0]["message"]["content"],
            format!("hello from {name}"),
            "{name}: {v}"
        );
        let mut stream = body.clone();
        stream["stream"] = json!(true);
        let r = gw.post_stream("/v1/chat/completions", &stream, &[]);
        assert_eq!(r.status, 200, "{name}");
        let events = r.collect_all();
        assert_eq!(
            common::stream_content(&events),
            format!("hello from {name}"),
            "{name}: {events:?}"
        );
        assert_eq!(
            events.last().map(String::as_str),
            Some("[DONE]"),
            "{name}: {events:?}"
        );
    }
}

/// Claude Code's and Codex's SDKs (Anthropic's Messages, OpenAI's Responses) against every
/// provider: passed through where the provider speaks the API, bridged everywhere else.
#[test]
fn both_agent_sdks_reach_every_provider() {
    let google = MockUpstream::start();
    let (yaml, mocks) = every_config(&google);
    google.set_default(Reply::chat("hello from vertex"));
    for ((name, _, _, _), mock) in EVERY.iter().zip(&mocks) {
        if let Some(m) = mock {
            m.set_default(Reply::chat(&format!("hello from {name}")));
        }
    }
    let gw = Gateway::start(&yaml);
    let models: Vec<&str> = EVERY.iter().map(|(name, ..)| *name).collect();
    let out = std::process::Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/python/sdk_agents.py"
        ))
        .env("GATEWAY_URL", &gw.base)
        .env("GATEWAY_KEY", "sk-any")
        .env("MODELS", models.join(","))
        .output()
        .expect("python3 must be installed (tests/run.sh installs openai and anthropic)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "sdk_agents.py failed\nstdout:\n{stdout}\nstderr:\n{}\ngateway log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        gw.logs()
    );
    assert_eq!(stdout.matches("ok: ").count(), 4 * EVERY.len(), "{stdout}");
    // The Responses API went natively where LiteLLM sends it natively, bridged elsewhere.
    for ((name, ..), mock) in EVERY.iter().zip(&mocks) {
        let Some(m) = mock else { continue };
        let native = m.requests().iter().any(|r| r.path.contains("/responses"));
        assert_eq!(
            native,
            matches!(*name, "openai" | "azure" | "vllm"),
            "{name}: {:?}",
            m.requests()
                .iter()
                .map(|r| r.path.clone())
                .collect::<Vec<_>>()
        );
    }
}

/// Embeddings through the SDK from every provider with an embeddings API, and a chat whose
/// Bedrock deployment is throttled, whose Cohere fallback is down, answered by Ollama.
#[test]
fn the_sdk_gets_embeddings_from_each_provider_and_fails_over_across_providers() {
    let google = MockUpstream::start();
    let creds = vertex_credentials(&google);
    let (bedrock, cohere, ollama, openai) = (
        MockUpstream::start(),
        MockUpstream::start(),
        MockUpstream::start(),
        MockUpstream::start(),
    );
    for m in [&bedrock, &cohere, &ollama, &openai, &google] {
        m.set_default(Reply::Embedding { dims: 4 });
    }
    let signed = "aws_access_key_id: AKIASWITCHYARDTEST, aws_secret_access_key: switchyard-test-secret-0123456789abcdef, aws_region_name: us-east-1";
    let yaml = format!(
        "model_list:
  - model_name: embed-openai
    litellm_params: {{model: openai/text-embedding-3-small, api_key: sk-e-0123456789, api_base: '{openai}'}}
  - model_name: embed-bedrock
    litellm_params: {{model: bedrock/cohere.embed-english-v3, api_base: '{bedrock}', {signed}}}
  - model_name: embed-cohere
    litellm_params: {{model: cohere/embed-english-v3.0, api_key: co-0123456789, api_base: '{cohere}'}}
  - model_name: embed-ollama
    litellm_params: {{model: ollama/nomic-embed-text, api_base: '{ollama}'}}
  - model_name: embed-vertex
    litellm_params: {{model: vertex_ai/text-embedding-005, vertex_project: p, vertex_credentials: '{creds}', api_base: '{google}'}}
  - model_name: chat-bedrock
    litellm_params: {{model: bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0, api_base: '{bedrock}', {signed}}}
  - model_name: chat-cohere
    litellm_params: {{model: cohere/command-r, api_key: co-0123456789, api_base: '{cohere}'}}
  - model_name: chat-ollama
    litellm_params: {{model: ollama_chat/llama3.1, api_base: '{ollama}'}}
router_settings:
  num_retries: 0
  fallbacks: [{{chat-bedrock: [chat-cohere, chat-ollama]}}]
",
        openai = openai.base_url(),
        bedrock = root(&bedrock),
        cohere = root(&cohere),
        ollama = root(&ollama),
        google = root(&google),
        creds = creds.display(),
    );
    let gw = Gateway::start(&yaml);
    let embed_models = "embed-openai,embed-bedrock,embed-cohere,embed-ollama,embed-vertex";
    // After the embeddings: Bedrock throttles, Cohere is down, Ollama answers.
    let run = |fallback_ready: &dyn Fn()| {
        fallback_ready();
        std::process::Command::new("python3")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/python/sdk_embeddings_fallbacks.py"
            ))
            .env("GATEWAY_BASE_URL", format!("{}/v1", gw.base))
            .env("GATEWAY_KEY", "none")
            .env("EMBED_MODELS", embed_models)
            .env("FALLBACK_MODEL", "chat-bedrock")
            .env("FALLBACK_ANSWER", "from ollama")
            .output()
            .expect("python3 must be installed")
    };
    let out = run(&|| {
        // Each mock answers its embeddings first, then its part in the chain.
        bedrock.script(vec![
            Reply::Embedding { dims: 4 },
            Reply::rate_limited(Some(1)),
        ]);
        cohere.script(vec![
            Reply::Embedding { dims: 4 },
            Reply::error(503, "service unavailable"),
        ]);
        ollama.script(vec![
            Reply::Embedding { dims: 4 },
            Reply::chat("from ollama"),
        ]);
    });
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "sdk_embeddings_fallbacks.py failed\nstdout:\n{stdout}\nstderr:\n{}\ngateway log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        gw.logs()
    );
    assert_eq!(bedrock.count(), 2, "embeddings, then the throttled chat");
    assert_eq!(cohere.count(), 2, "embeddings, then the failed fallback");
    assert_eq!(ollama.count(), 2, "embeddings, then the answer");
}
