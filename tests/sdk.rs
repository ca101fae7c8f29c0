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
        "model_list:\n  - model_name: gpt-4o\n    litellm_params: {{model: openai/gpt-4o, api_key: sk-up, api_base: '{}'}}\n  - model_name: text-embedding-3-small\n    litellm_params: {{model: openai/text-embedding-3-small, api_key: sk-up, api_base: '{}'}}\ngeneral_settings:\n  master_key: sk-sdk-master-key-123456\n",
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
