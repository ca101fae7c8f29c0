//! `vertex_ai/` deployments: Gemini and Anthropic models on Vertex, and embeddings, against a
//! mock that plays Google (a token endpoint verifying the service account's RS256 assertion,
//! Vertex endpoints refusing missing or expired tokens), driven with the OpenAI Python SDK.

// Harness code in this test crate: a panic fails the test, which is what it is for.
#![allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::gateway::Gateway;
use common::mock::{MockUpstream, Reply};
use ring::signature::KeyPair;
use rustls_pki_types::pem::PemObject;
use serde_json::{json, Value};

const EMAIL: &str = "switchyard-test@switchyard-test-project.iam.gserviceaccount.com";

fn account_fixture() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/vertex/test-service-account.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The mock plays Google for the test key; the credentials file points its token_uri there.
fn google(lifetime: Duration) -> (MockUpstream, PathBuf) {
    let mut account = account_fixture();
    let pem = account["private_key"].as_str().unwrap().to_string();
    let der = rustls_pki_types::PrivatePkcs8KeyDer::from_pem_slice(pem.as_bytes()).unwrap();
    let pair = ring::signature::RsaKeyPair::from_pkcs8(der.secret_pkcs8_der()).unwrap();
    let mock = MockUpstream::start();
    mock.act_as_google(pair.public_key().as_ref().to_vec(), EMAIL, lifetime);
    account["token_uri"] = json!(format!("{}/token", root(&mock)));
    let dir = std::env::temp_dir().join(format!(
        "switchyard-vertex-{}-{}",
        std::process::id(),
        mock.base_url()
            .rsplit(':')
            .next()
            .unwrap()
            .trim_end_matches("/v1")
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("service-account.json");
    std::fs::write(&file, account.to_string()).unwrap();
    (mock, file)
}

fn root(mock: &MockUpstream) -> String {
    mock.base_url().trim_end_matches("/v1").to_string()
}

fn config(mock: &MockUpstream, credentials: &std::path::Path) -> String {
    let line = |name: &str, model: &str, extra: &str| {
        format!(
            "  - model_name: {name}\n    litellm_params: {{model: vertex_ai/{model}, vertex_project: my-project, vertex_location: europe-west4, vertex_credentials: '{}', api_base: '{}'}}\n{extra}",
            credentials.display(),
            root(mock)
        )
    };
    format!(
        "model_list:\n{}{}{}",
        line("gemini-vertex", "gemini-2.0-flash", ""),
        line("claude-vertex", "claude-3-5-sonnet-v2@20241022", ""),
        line(
            "embed-vertex",
            "text-embedding-005",
            "    model_info: {mode: embedding}\n"
        ),
    )
}

#[test]
fn the_openai_sdk_talks_to_gemini_and_claude_on_vertex_with_minted_tokens() {
    let (mock, creds) = google(Duration::from_secs(3600));
    let tool_script = || common::sdk_providers_script();
    let mut script = tool_script();
    script.extend(tool_script());
    mock.script(script);
    let gw = Gateway::start(&config(&mock, &creds));
    common::run_sdk_providers(&gw, "gemini-vertex,claude-vertex", None);
    assert_eq!(mock.token_requests(), 1, "one token, cached for every call");
    let sent: Vec<_> = mock
        .requests()
        .into_iter()
        .filter(|r| r.path != "/token")
        .collect();
    assert_eq!(sent.len(), 8);
    assert_eq!(
        sent[0].path,
        "/v1/projects/my-project/locations/europe-west4/publishers/google/models/gemini-2.0-flash:streamGenerateContent"
    );
    assert_eq!(
        sent[5].path,
        "/v1/projects/my-project/locations/europe-west4/publishers/anthropic/models/claude-3-5-sonnet-v2@20241022:rawPredict"
    );
    assert_eq!(sent[5].body["anthropic_version"], "vertex-2023-10-16");
    assert!(sent[5].body.get("model").is_none(), "{}", sent[5].body);
    let auth = sent[0]
        .headers
        .iter()
        .find(|(k, _)| k == "authorization")
        .map(|(_, v)| v.clone())
        .unwrap();
    assert!(auth.starts_with("Bearer ya29.mock-token-1-"), "{auth}");
    assert!(
        !gw.logs().contains(auth.trim_start_matches("Bearer ")),
        "the token reached the log"
    );
}

#[test]
fn tokens_are_refreshed_before_they_expire_and_embeddings_work() {
    // Tokens live 302 s: inside the 300 s refresh margin after 2 s.
    let (mock, creds) = google(Duration::from_secs(302));
    mock.set_default(Reply::chat("ok"));
    let gw = Gateway::start(&config(&mock, &creds));
    let chat = json!({"model": "gemini-vertex", "messages": [{"role": "user", "content": "hi"}]});
    assert_eq!(gw.post("/v1/chat/completions", &chat).status, 200);
    assert_eq!(gw.post("/v1/chat/completions", &chat).status, 200);
    assert_eq!(mock.token_requests(), 1);
    std::thread::sleep(Duration::from_millis(2300));
    let r = gw.post("/v1/chat/completions", &chat);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(mock.token_requests(), 2, "refreshed before it expired");

    mock.set_default(Reply::Embedding { dims: 3 });
    let r = gw.post(
        "/v1/embeddings",
        &json!({"model": "embed-vertex", "input": ["abc", "de"], "dimensions": 3}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let v = r.json();
    assert_eq!(v["data"][1]["embedding"][0], 2.0);
    assert_eq!(v["usage"]["prompt_tokens"], 4);
    let sent = mock.requests().last().unwrap().clone();
    assert!(
        sent.path.ends_with("/models/text-embedding-005:predict"),
        "{}",
        sent.path
    );
    assert_eq!(
        sent.body,
        json!({"instances": [{"content": "abc"}, {"content": "de"}], "parameters": {"outputDimensionality": 3}})
    );
}

#[test]
fn a_key_google_rejects_is_an_authentication_error_and_bad_credentials_fail_at_load() {
    let (mock, creds) = google(Duration::from_secs(3600));
    // Google knows another key: every assertion fails its signature check.
    mock.act_as_google(vec![1, 2, 3], EMAIL, Duration::from_secs(3600));
    let gw = Gateway::start(&config(&mock, &creds));
    let r = gw.post(
        "/v1/chat/completions",
        &json!({"model": "gemini-vertex", "messages": [{"role": "user", "content": "hi"}], "num_retries": 0}),
    );
    assert_eq!(r.status, 401, "{}", r.text);
    assert!(r.text.contains("Invalid JWT Signature"), "{}", r.text);
    assert!(!r.text.contains("PRIVATE KEY"), "{}", r.text);

    let bad =
        std::env::temp_dir().join(format!("switchyard-vertex-bad-{}.json", std::process::id()));
    std::fs::write(
        &bad,
        r#"{"type": "service_account", "private_key": "not a key", "client_email": "x@y"}"#,
    )
    .unwrap();
    let yaml = format!(
        "model_list:\n  - model_name: g\n    litellm_params: {{model: vertex_ai/gemini-2.0-flash, vertex_project: p, vertex_credentials: '{}'}}\n",
        bad.display()
    );
    let out = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .arg("check-config")
        .arg({
            let p = std::env::temp_dir()
                .join(format!("switchyard-vertex-cfg-{}.yaml", std::process::id()));
            std::fs::write(&p, yaml).unwrap();
            p
        })
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains(
            "model_list[0].litellm_params.vertex_credentials: private_key is not a PKCS#8 PEM key"
        ),
        "{stderr}"
    );
}

#[test]
fn the_anthropic_sdk_reaches_claude_on_vertex_natively() {
    let (mock, creds) = google(Duration::from_secs(3600));
    mock.script(common::sdk_anthropic_script());
    let gw = Gateway::start(&config(&mock, &creds));
    let out = common::run_sdk_anthropic(&gw, "sk-any", "claude-vertex", "claude-vertex");
    assert!(out.contains("count_tokens claude-vertex 4242"), "{out}");
    let mut sent: Vec<_> = mock
        .requests()
        .into_iter()
        .filter(|r| r.path != "/token")
        .collect();
    assert_eq!(sent.len(), 7);
    let counted = sent.pop().unwrap();
    assert_eq!(
        counted.path,
        "/v1/projects/my-project/locations/europe-west4/publishers/anthropic/models/count-tokens:rawPredict"
    );
    assert_eq!(counted.body["model"], "claude-3-5-sonnet-v2@20241022");
    let base = "/v1/projects/my-project/locations/europe-west4/publishers/anthropic/models/claude-3-5-sonnet-v2@20241022";
    assert_eq!(sent[0].path, format!("{base}:rawPredict"));
    assert_eq!(sent[3].path, format!("{base}:streamRawPredict"));
    for r in &sent {
        assert_eq!(r.body["anthropic_version"], "vertex-2023-10-16");
        assert!(r.body.get("model").is_none(), "{}", r.body);
    }
    assert_eq!(
        sent[5].body["system"][0]["cache_control"]["type"],
        "ephemeral"
    );
    assert_eq!(sent[5].body["thinking"]["budget_tokens"], 1024);
}
