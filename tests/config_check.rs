//! `switchyard check-config`: every realistic config loads; invalid ones fail naming the field.

// Harness code in this test crate: a panic fails the test, which is what it is for.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const ALL_ENV: &[&str] = &[
    "OPENAI_API_KEY",
    "OPENAI_API_KEY_BACKUP",
    "ANTHROPIC_API_KEY",
    "GOOGLE_API_KEY",
    "GEMINI_API_KEY",
    "SGLANG_API_BASE",
    "REDIS_HOST",
    "REDIS_PORT",
    "REDIS_PASSWORD",
    "LITELLM_MASTER_KEY",
    "PROXY_KEY",
    "AZURE_EASTUS_KEY",
    "AZURE_EASTUS_BASE",
    "AZURE_SWEDEN_KEY",
    "AZURE_SWEDEN_BASE",
    "REDIS_URL_HOST",
    "REDIS_URL_PORT",
    "GATEWAY_MASTER_KEY",
];

fn value_for(name: &str) -> String {
    if name.ends_with("_BASE") {
        "http://127.0.0.1:9/v1".into()
    } else if name.ends_with("_PORT") {
        "6379".into()
    } else if name.ends_with("_HOST") {
        "127.0.0.1".into()
    } else {
        format!("sk-test-{}-secret-0123456789", name.to_lowercase())
    }
}

fn check(path: &Path, env: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchyard"));
    cmd.arg("check-config").arg(path);
    for name in ALL_ENV {
        cmd.env_remove(name);
    }
    for name in env {
        cmd.env(name, value_for(name));
    }
    cmd.output().expect("run switchyard")
}

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn temp_config(name: &str, yaml: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("switchyard-cfg-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("config.yaml");
    std::fs::write(&path, yaml).unwrap();
    path
}

#[test]
fn seed_config_loads_and_lists_what_it_resolved() {
    let out = check(&repo("config/config.yaml"), ALL_ENV);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for group in [
        "gpt-4o (2 deployments)",
        "claude-3-5-sonnet",
        "gemini-2.0-flash",
        "text-embedding-3-small",
        "Qwen3-0.6B",
    ] {
        assert!(stdout.contains(group), "missing {group} in:\n{stdout}");
    }
    assert!(
        stdout.contains("fallbacks: gpt-4o -> claude-3-5-sonnet"),
        "{stdout}"
    );
    assert!(
        stdout.contains("context_window_fallbacks: gemini-2.0-flash -> gpt-4o"),
        "{stdout}"
    );
    assert!(
        stdout.contains("enable_pre_call_checks"),
        "unimplemented keys are listed: {stdout}"
    );
    assert!(
        !stdout.contains("secret-0123456789"),
        "keys must be masked:\n{stdout}"
    );
    assert!(stdout.contains("sk-****6789"), "masked key shown: {stdout}");
}

#[test]
fn every_design_config_loads() {
    let dir = repo("tests/fixtures/configs");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let out = check(&path, ALL_ENV);
        assert!(
            out.status.success(),
            "{} failed: {}{}",
            path.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        n += 1;
    }
    assert!(n >= 5, "expected the five design configs, found {n}");
}

#[test]
fn legacy_config_flags_each_surprise() {
    let out = check(
        &repo("tests/fixtures/configs/legacy-seed-style.yaml"),
        ALL_ENV,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        stdout.contains(
            "enable_pre_call_check: unknown key, ignored (did you mean `enable_pre_call_checks`?)"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("max_retries: honoured"), "{stdout}");
    assert!(stdout.contains("allowed_fails: counts as 3"), "{stdout}");
    assert!(
        stdout.contains("cache_params: top-level cache_params is honoured"),
        "{stdout}"
    );
    assert!(stdout.contains("read as a one-item list"), "{stdout}");
    assert!(stdout.contains("cache: redis redis://"), "{stdout}");
    assert!(stdout.contains("ttl 36000s, namespace litellm"), "{stdout}");
    assert!(
        !stdout.contains(&value_for("REDIS_PASSWORD")),
        "the Redis password is never printed"
    );
}

#[test]
fn identical_deployments_get_distinct_stable_ids() {
    let yaml = "model_list:\n  - model_name: m\n    litellm_params: {model: openai/gpt-4o, api_key: k}\n  - model_name: m\n    litellm_params: {model: openai/gpt-4o, api_key: k}\n";
    let path = temp_config("dupe", yaml);
    let first = String::from_utf8_lossy(&check(&path, &[]).stdout).to_string();
    let second = String::from_utf8_lossy(&check(&path, &[]).stdout).to_string();
    assert!(first.contains("m (2 deployments)"), "{first}");
    assert!(first.contains("-1 model=openai/gpt-4o"), "{first}");
    assert_eq!(first, second, "ids are deterministic");
}

#[test]
fn missing_env_var_names_the_field() {
    let out = check(&repo("config/config.yaml"), &["OPENAI_API_KEY"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("model_list[1].litellm_params.api_key: environment variable OPENAI_API_KEY_BACKUP is not set"), "{stderr}");
}

#[test]
fn bad_type_names_the_field() {
    let path = temp_config("badtype", "model_list:\n  - model_name: m\n    litellm_params:\n      model: openai/x\n      rpm: lots\n");
    let out = check(&path, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("model_list[0].litellm_params.rpm: expected a number, found \"lots\""),
        "{stderr}"
    );
}

#[test]
fn unknown_provider_names_the_field() {
    let path = temp_config(
        "provider",
        "model_list:\n  - model_name: m\n    litellm_params:\n      model: frobnicate/x\n",
    );
    let out = check(&path, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("model_list[0].litellm_params.model: unknown provider \"frobnicate\""),
        "{stderr}"
    );
}

#[test]
fn mixed_case_group_names_survive_as_fallback_keys() {
    let yaml = "model_list:\n  - model_name: Qwen3-0.6B\n    litellm_params: {model: openai/q, api_base: 'http://127.0.0.1:9/v1'}\n  - model_name: GPT-Big\n    litellm_params: {model: openai/gpt-4o, api_key: k}\nrouter_settings:\n  fallbacks:\n    - Qwen3-0.6B: [GPT-Big]\n";
    let out = check(&temp_config("case", yaml), &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("fallbacks: Qwen3-0.6B -> GPT-Big"),
        "{stdout}"
    );
}

#[test]
fn include_files_are_merged() {
    let dir = std::env::temp_dir().join(format!("switchyard-inc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("extra.yaml"), "model_list:\n  - model_name: extra\n    litellm_params: {model: openai/gpt-4o, api_key: k}\n").unwrap();
    let main = dir.join("config.yaml");
    std::fs::write(&main, "include:\n  - extra.yaml\nmodel_list:\n  - model_name: base\n    litellm_params: {model: openai/gpt-4o, api_key: k}\n").unwrap();
    let out = check(&main, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("base (1 deployment)") && stdout.contains("extra (1 deployment)"),
        "{stdout}"
    );
}

#[test]
fn cache_and_shared_state_errors_name_the_field() {
    let cases = [
        ("litellm_settings:\n  cache: true\n  cache_params: {type: redis, host: h, port: 99999}\n", "litellm_settings.cache_params.port: 99999 is not a port"),
        ("litellm_settings:\n  cache: true\n  cache_params: {mode: sometimes}\n", "litellm_settings.cache_params.mode: expected default_on or default_off"),
        ("router_settings:\n  redis_host: h\n  redis_port: nope\n", "router_settings.redis_port: expected a number"),
        ("router_settings:\n  redis_url: http://h:1\n", "router_settings.redis_url: unsupported URL scheme"),
    ];
    for (i, (extra, want)) in cases.iter().enumerate() {
        let yaml = format!(
            "model_list:\n  - model_name: m\n    litellm_params: {{model: openai/x}}\n{extra}"
        );
        let out = check(&temp_config(&format!("cache{i}"), &yaml), &[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{extra}");
        assert!(stderr.contains(want), "{stderr}");
    }
    let ok = "model_list:\n  - model_name: m\n    litellm_params: {model: openai/x}\nrouter_settings:\n  redis_host: cache.internal\n  redis_port: '6380'\n  redis_password: hunter2-secret\n";
    let out = check(&temp_config("shared", ok), &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        stdout.contains(
            "shared router state: redis redis://cache.internal:6380 (from router_settings)"
        ),
        "{stdout}"
    );
    assert!(!stdout.contains("hunter2-secret"));
}

#[test]
fn every_problem_in_the_file_is_named_in_one_run() {
    let yaml = "model_list:\n  - model_name: a\n    litellm_params:\n      model: ollama_typo/llama3\n  - model_name: b\n    litellm_params:\n      model: openai/gpt-4o\n      api_key: os.environ/SWITCHYARD_TEST_UNSET_KEY\n  - model_name: c\n    litellm_params:\n      model: frobnicate/x\n  - model_name: d\n    litellm_params:\n      model: openai/gpt-4o\n      rpm: lots\nrouter_settings:\n  timeout: -5\n";
    let out = check(&temp_config("many", yaml), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    for want in [
        "5 problems:",
        "model_list[0].litellm_params.model: unknown provider \"ollama_typo\"",
        "model_list[1].litellm_params.api_key: environment variable SWITCHYARD_TEST_UNSET_KEY is not set",
        "model_list[2].litellm_params.model: unknown provider \"frobnicate\"",
        "model_list[3].litellm_params.rpm: expected a number",
        "router_settings.timeout:",
    ] {
        assert!(stderr.contains(want), "missing {want:?} in:\n{stderr}");
    }
}

#[test]
fn a_config_with_every_openai_compatible_prefix_is_clean() {
    let prefixes = [
        "groq/llama-3.1-8b-instant",
        "mistral/mistral-small-latest",
        "deepseek/deepseek-chat",
        "openrouter/anthropic/claude-3.5-sonnet",
        "together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo",
        "fireworks_ai/llama-v3p1-8b-instruct",
        "xai/grok-3",
        "perplexity/sonar",
        "cerebras/llama3.1-8b",
        "deepinfra/meta-llama/Meta-Llama-3.1-8B-Instruct",
        "nvidia_nim/meta/llama3-8b-instruct",
        "sambanova/Meta-Llama-3.1-8B-Instruct",
        "lm_studio/qwen2.5-7b-instruct",
        "llamafile/mistral-7b",
        "github/gpt-4o-mini",
    ];
    let mut yaml = String::from("model_list:\n");
    for (i, model) in prefixes.iter().enumerate() {
        yaml.push_str(&format!(
            "  - model_name: m{i}\n    litellm_params:\n      model: {model}\n      api_key: k{i}\n"
        ));
    }
    let out = check(&temp_config("family", &yaml), &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Each got LiteLLM's default api_base.
    for base in [
        "https://api.groq.com/openai/v1",
        "https://api.deepseek.com/beta",
        "https://api.fireworks.ai/inference/v1",
        "https://api.perplexity.ai",
        "https://models.inference.ai.azure.com",
    ] {
        assert!(stdout.contains(base), "{base} in\n{stdout}");
    }
    assert!(stdout.contains("provider=fireworks_ai"), "{stdout}");
}
