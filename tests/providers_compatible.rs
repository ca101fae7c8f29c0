//! Every OpenAI-compatible provider prefix LiteLLM configs use (groq/, mistral/, deepseek/,
//! openrouter/, together_ai/, fireworks_ai/, xai/, perplexity/, cerebras/, deepinfra/,
//! nvidia_nim/, sambanova/, lm_studio/, llamafile/, github/), each on its own mock upstream,
//! driven with the official OpenAI Python SDK; then each dialect's departures from OpenAI as
//! its upstream receives them.

// Harness code in this test crate: a panic fails the test, which is what it is for.
#![allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::gateway::Gateway;
use common::mock::{MockUpstream, Reply};
use serde_json::{json, Value};

/// (model_name, litellm model) for every prefix of the family.
const FAMILY: &[(&str, &str)] = &[
    ("groq-llama", "groq/llama-3.1-8b-instant"),
    ("mistral-small", "mistral/mistral-small-latest"),
    ("deepseek-chat", "deepseek/deepseek-chat"),
    (
        "openrouter-claude",
        "openrouter/anthropic/claude-3.5-sonnet",
    ),
    (
        "together-llama",
        "together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo",
    ),
    ("fireworks-llama", "fireworks_ai/llama-v3p1-8b-instruct"),
    ("grok", "xai/grok-3"),
    ("sonar", "perplexity/sonar"),
    ("cerebras-llama", "cerebras/llama3.1-8b"),
    (
        "deepinfra-llama",
        "deepinfra/meta-llama/Meta-Llama-3.1-8B-Instruct",
    ),
    ("nim-llama", "nvidia_nim/meta/llama3-8b-instruct"),
    ("sambanova-llama", "sambanova/Meta-Llama-3.1-8B-Instruct"),
    ("lmstudio-qwen", "lm_studio/qwen2.5-7b-instruct"),
    ("llamafile-local", "llamafile/mistral-7b"),
    ("github-gpt", "github/gpt-4o-mini"),
];

/// Perplexity's API has no tools.
const NO_TOOLS: &[&str] = &["sonar"];

fn family_gateway() -> (Gateway, Vec<MockUpstream>) {
    let mut yaml = String::from("model_list:\n");
    let mut mocks = Vec::new();
    for (name, model) in FAMILY {
        let mock = MockUpstream::start();
        // lm_studio and llamafile are local servers: no key configured (a placeholder is sent).
        let key = if model.starts_with("lm_studio/") || model.starts_with("llamafile/") {
            String::new()
        } else {
            format!(", api_key: sk-{name}-0123456789")
        };
        yaml.push_str(&format!(
            "  - model_name: {name}\n    litellm_params: {{model: {model}, api_base: '{}'{key}}}\n",
            mock.base_url()
        ));
        mocks.push(mock);
    }
    yaml.push_str("general_settings:\n  master_key: sk-sdk-master-key-123456\n");
    (Gateway::start(&yaml), mocks)
}

fn mock_of<'a>(mocks: &'a [MockUpstream], name: &str) -> &'a MockUpstream {
    let i = FAMILY.iter().position(|(n, _)| *n == name).unwrap();
    &mocks[i]
}

#[test]
fn the_openai_sdk_works_through_every_openai_compatible_prefix() {
    let (gw, mocks) = family_gateway();
    for (mock, (name, _)) in mocks.iter().zip(FAMILY) {
        let mut script = vec![Reply::chat("hi from the provider")];
        if !NO_TOOLS.contains(name) {
            script.extend([
                Reply::ToolCall {
                    name: "get_weather".into(),
                    arguments: "{\"city\": \"Paris\"}".into(),
                },
                Reply::chat("It is 18C and sunny in Paris."),
                Reply::ToolCall {
                    name: "get_weather".into(),
                    arguments: "{\"city\": \"Paris\"}".into(),
                },
            ]);
        }
        mock.script(script);
    }
    let names: Vec<&str> = FAMILY.iter().map(|(n, _)| *n).collect();
    let with_tools: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| !NO_TOOLS.contains(n))
        .collect();
    common::run_sdk_providers(&gw, &names.join(","), Some(&with_tools.join(",")));
    for (mock, (name, _)) in mocks.iter().zip(FAMILY) {
        let expected = if NO_TOOLS.contains(name) { 1 } else { 4 };
        assert_eq!(mock.count(), expected, "{name}: every SDK call reached it");
        let first = &mock.requests()[0];
        assert!(
            first.path.ends_with("/chat/completions"),
            "{name}: {}",
            first.path
        );
        let auth = first
            .headers
            .iter()
            .find(|(k, _)| k == "authorization")
            .map(|(_, v)| v.clone());
        let want = if name.starts_with("lmstudio") || name.starts_with("llamafile") {
            "Bearer fake-api-key".to_string()
        } else {
            format!("Bearer sk-{name}-0123456789")
        };
        assert_eq!(auth.as_deref(), Some(want.as_str()), "{name}");
    }
    // Model names as each provider wants them.
    let model_sent = |name: &str| mock_of(&mocks, name).requests()[0].body["model"].clone();
    assert_eq!(
        model_sent("fireworks-llama"),
        "accounts/fireworks/models/llama-v3p1-8b-instruct"
    );
    assert_eq!(
        model_sent("openrouter-claude"),
        "anthropic/claude-3.5-sonnet"
    );
    assert_eq!(
        model_sent("together-llama"),
        "meta-llama/Llama-3.3-70B-Instruct-Turbo"
    );
    // OpenRouter reports usage only when asked.
    assert_eq!(
        mock_of(&mocks, "openrouter-claude").requests()[0].body["usage"],
        json!({"include": true})
    );
}

fn chat(model: &str, extra: Value) -> Value {
    let mut body = json!({"model": model, "messages": [{"role": "user", "content": "Hello!"}]});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

fn auth(gw: &Gateway, path: &str, body: &Value) -> common::gateway::Resp {
    gw.post_with(
        path,
        body,
        &[("authorization", "Bearer sk-sdk-master-key-123456")],
    )
}

#[test]
fn each_dialect_departs_from_openai_as_its_api_does() {
    let (gw, mocks) = family_gateway();
    for m in &mocks {
        m.set_default(Reply::chat("ok"));
    }
    let tools =
        json!([{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]);

    // Mistral: max_tokens for max_completion_tokens, "any" for "required", random_seed.
    let r = auth(
        &gw,
        "/v1/chat/completions",
        &chat(
            "mistral-small",
            json!({"max_completion_tokens": 50, "tool_choice": "required", "tools": tools, "seed": 7}),
        ),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let sent = mock_of(&mocks, "mistral-small").requests()[0].body.clone();
    assert_eq!(sent["max_tokens"], 50, "{sent}");
    assert!(sent.get("max_completion_tokens").is_none(), "{sent}");
    assert_eq!(sent["tool_choice"], "any", "{sent}");
    assert_eq!(sent["random_seed"], 7, "{sent}");

    // Mistral has no n, penalties or logprobs: a 400 naming them, or dropped on request.
    let r = auth(
        &gw,
        "/v1/chat/completions",
        &chat("mistral-small", json!({"presence_penalty": 0.5})),
    );
    assert_eq!(r.status, 400, "{}", r.text);
    let msg = r.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(
        msg.contains("presence_penalty") && msg.contains("drop_params"),
        "{msg}"
    );
    let r = auth(
        &gw,
        "/v1/chat/completions",
        &chat(
            "mistral-small",
            json!({"presence_penalty": 0.5, "drop_params": true}),
        ),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let sent = mock_of(&mocks, "mistral-small")
        .requests()
        .last()
        .unwrap()
        .body
        .clone();
    assert!(sent.get("presence_penalty").is_none(), "{sent}");

    // Perplexity has no tools.
    let r = auth(
        &gw,
        "/v1/chat/completions",
        &chat("sonar", json!({"tools": tools})),
    );
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(
        mock_of(&mocks, "sonar").count(),
        0,
        "refused before any upstream call"
    );

    // Groq keeps max_completion_tokens (it opted out of the rewrite).
    let r = auth(
        &gw,
        "/v1/chat/completions",
        &chat("groq-llama", json!({"max_completion_tokens": 9})),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        mock_of(&mocks, "groq-llama").requests()[0].body["max_completion_tokens"],
        9
    );

    // Errors carry the provider's LiteLLM label, and the status drives the class.
    mock_of(&mocks, "deepseek-chat").set_default(Reply::rate_limited(None));
    let r = auth(
        &gw,
        "/v1/chat/completions",
        &chat("deepseek-chat", json!({"num_retries": 0})),
    );
    assert_eq!(r.status, 429, "{}", r.text);
    let msg = r.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(msg.contains("RateLimitError: DeepseekException"), "{msg}");
    assert!(!msg.contains("sk-deepseek-chat-0123456789"), "{msg}");
}

#[test]
fn keys_and_bases_come_from_the_providers_environment_variables() {
    let mock = MockUpstream::start();
    mock.set_default(Reply::chat("from env"));
    let yaml = "model_list:\n  - model_name: groq-env\n    litellm_params: {model: groq/llama-3.1-8b-instant}\n  - model_name: cerebras-env\n    litellm_params: {model: cerebras/llama3.1-8b}\n";
    let gw = Gateway::start_with(
        yaml,
        &[
            ("GROQ_API_KEY", "gsk-from-env-0123456789"),
            ("GROQ_API_BASE", &mock.base_url()),
            ("CEREBRAS_API_BASE", &mock.base_url()),
            ("OPENAI_API_KEY", "sk-openai-must-not-leave-0123456789"),
        ],
        &[],
    );
    let r = gw.post("/v1/chat/completions", &chat("groq-env", json!({})));
    assert_eq!(r.status, 200, "{}", r.text);
    let sent = &mock.requests()[0];
    assert!(
        sent.headers.contains(&(
            "authorization".into(),
            "Bearer gsk-from-env-0123456789".into()
        )),
        "{:?}",
        sent.headers
    );
    // LiteLLM would send OPENAI_API_KEY to Cerebras when CEREBRAS_API_KEY is unset; we never do.
    let r = gw.post("/v1/chat/completions", &chat("cerebras-env", json!({})));
    assert_eq!(r.status, 200, "{}", r.text);
    let sent = &mock.requests()[1];
    assert!(
        !sent.headers.iter().any(|(k, _)| k == "authorization"),
        "{:?}",
        sent.headers
    );
}
