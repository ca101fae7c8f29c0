//! The official OpenAI Python SDK as the client (tests/python/sdk_check.py), streaming included.

mod common;

use std::process::Command;

use common::gateway::Gateway;
use common::mock::{MockUpstream, Reply};

#[test]
fn openai_python_sdk_sees_a_normal_openai_server() {
    let chat = MockUpstream::start();
    chat.set_default(Reply::chat("hello from the sdk test"));
    let embed = MockUpstream::start();
    embed.set_default(Reply::Embedding { dims: 3 });
    let yaml = format!(
        "model_list:\n  - model_name: gpt-4o\n    litellm_params: {{model: openai/gpt-4o, api_key: sk-up, api_base: '{}'}}\n  - model_name: text-embedding-3-small\n    litellm_params: {{model: openai/text-embedding-3-small, api_key: sk-up, api_base: '{}'}}\nlitellm_settings:\n  cache: true\n  cache_params: {{type: local, mode: default_off}}\ngeneral_settings:\n  master_key: sk-sdk-master-key-123456\n",
        chat.base_url(),
        embed.base_url()
    );
    let gw = Gateway::start(&yaml);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/sdk_check.py");
    let out = Command::new("python3")
        .arg(script)
        .env("GATEWAY_BASE_URL", format!("{}/v1", gw.base))
        .env("GATEWAY_KEY", "sk-sdk-master-key-123456")
        .env("MODEL", "gpt-4o")
        .env("EMBED_MODEL", "text-embedding-3-small")
        .output()
        .expect("python3 must be installed (tests/run.sh installs the openai package)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "sdk_check.py failed\nstdout:\n{stdout}\nstderr:\n{stderr}\ngateway log:\n{}",
        gw.logs()
    );
    assert!(stdout.contains("ok: streaming"), "{stdout}");
    assert!(chat.count() >= 3, "the SDK's calls reached the upstream");
}

/// Anthropic, Gemini and Azure deployments, each on a mock speaking its wire format. The mock
/// answers the first tool request with a call and everything else with text.
#[test]
fn openai_python_sdk_cannot_tell_the_providers_apart() {
    let mocks: Vec<(&str, &str, MockUpstream)> = vec![
        (
            "claude-3-5-sonnet",
            "anthropic/claude-3-5-sonnet-20241022",
            MockUpstream::start(),
        ),
        (
            "gemini-2.0-flash",
            "gemini/gemini-2.0-flash",
            MockUpstream::start(),
        ),
        (
            "azure-gpt-4o",
            "azure/gpt-4o-deployment",
            MockUpstream::start(),
        ),
    ];
    let mut yaml = String::from("model_list:\n");
    for (name, model, mock) in &mocks {
        // Gemini and Azure api_bases have no /v1; Anthropic's may.
        let base = if model.starts_with("anthropic/") {
            mock.base_url()
        } else {
            mock.base_url().trim_end_matches("/v1").to_string()
        };
        yaml.push_str(&format!(
            "  - model_name: {name}\n    litellm_params: {{model: {model}, api_key: sk-provider-key, api_base: '{base}'}}\n"
        ));
        // streamed (text), tool call, answer after the tool result, streamed tool call.
        mock.script(vec![
            Reply::chat("hi from the provider"),
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
    yaml.push_str("general_settings:\n  master_key: sk-sdk-master-key-123456\n");
    let gw = Gateway::start(&yaml);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/sdk_providers.py");
    let names: Vec<&str> = mocks.iter().map(|(n, _, _)| *n).collect();
    let out = Command::new("python3")
        .arg(script)
        .env("GATEWAY_BASE_URL", format!("{}/v1", gw.base))
        .env("GATEWAY_KEY", "sk-sdk-master-key-123456")
        .env("MODELS", names.join(","))
        .output()
        .expect("python3 must be installed");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "sdk_providers.py failed\nstdout:\n{stdout}\nstderr:\n{stderr}\ngateway log:\n{}",
        gw.logs()
    );
    for (name, _, mock) in &mocks {
        assert!(
            stdout.contains(&format!("ok: {name}: streamed tool call")),
            "{stdout}"
        );
        assert_eq!(
            mock.count(),
            4,
            "{name}: every SDK call reached its provider"
        );
    }
    // The tool result went back in each provider's own shape.
    let claude = &mocks[0].2.requests()[2].body;
    assert_eq!(
        claude["messages"][2]["content"][0]["type"], "tool_result",
        "{claude}"
    );
    let gemini = &mocks[1].2.requests()[2].body;
    assert!(
        gemini["contents"][2]["parts"][0]["functionResponse"].is_object(),
        "{gemini}"
    );
}
