//! A Vertex AI deployment's settings, read once at config load with LiteLLM's names:
//! `vertex_project` / `vertex_location` / `vertex_credentials` (a service-account JSON file path
//! or the JSON itself) in `litellm_params`, else `VERTEXAI_PROJECT`, `VERTEXAI_LOCATION`,
//! `VERTEXAI_CREDENTIALS`, `GOOGLE_APPLICATION_CREDENTIALS`. The private key is parsed here,
//! so a bad key is a config error, not a failure on the first request.

use ring::signature::RsaKeyPair;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::PrivatePkcs8KeyDer;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::providers::params::{first_env, first_param};
use crate::providers::ParamError;

pub struct ServiceAccount {
    pub client_email: String,
    pub private_key_id: Option<String>,
    pub key: RsaKeyPair,
    pub token_uri: String,
    /// The key's PEM, for the masking step.
    pub private_key_pem: String,
}

impl std::fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccount")
            .field("client_email", &self.client_email)
            .field("token_uri", &self.token_uri)
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
pub struct VertexConfig {
    pub project: String,
    pub location: String,
    pub account: ServiceAccount,
}

#[derive(Deserialize)]
struct AccountFile {
    #[serde(rename = "type")]
    kind: Option<String>,
    project_id: Option<String>,
    private_key_id: Option<String>,
    private_key: String,
    client_email: String,
    token_uri: Option<String>,
}

const GOOGLE_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";

/// The credentials text: inline JSON, or the file a path names.
fn credentials_text(params: &Map<String, Value>) -> Result<(String, &'static str), ParamError> {
    let key = "vertex_credentials";
    let given = match params
        .get(key)
        .or_else(|| params.get("vertex_ai_credentials"))
    {
        // LiteLLM also takes the credentials as a YAML mapping.
        Some(v @ Value::Object(_)) => return Ok((v.to_string(), key)),
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
        _ => None,
    };
    let text = given
        .or_else(|| first_env(&["VERTEXAI_CREDENTIALS", "VERTEX_CREDENTIALS"]))
        .map(Ok)
        .or_else(|| {
            first_env(&["GOOGLE_APPLICATION_CREDENTIALS"]).map(|path| {
                std::fs::read_to_string(&path).map_err(|e| {
                    ParamError::new(key, format!("GOOGLE_APPLICATION_CREDENTIALS={path}: {e}"))
                })
            })
        })
        .ok_or_else(|| {
            ParamError::new(
                key,
                "required: a service-account JSON file path or JSON text (or VERTEXAI_CREDENTIALS / GOOGLE_APPLICATION_CREDENTIALS)",
            )
        })??;
    if text.trim_start().starts_with('{') {
        return Ok((text, key));
    }
    let path = text.trim();
    std::fs::read_to_string(path)
        .map(|t| (t, key))
        .map_err(|e| ParamError::new(key, format!("cannot read {path}: {e}")))
}

fn account(text: &str, key: &'static str) -> Result<(ServiceAccount, Option<String>), ParamError> {
    let file: AccountFile = serde_json::from_str(text)
        .map_err(|e| ParamError::new(key, format!("not a service-account JSON ({e})")))?;
    if file.kind.as_deref().is_some_and(|k| k != "service_account") {
        return Err(ParamError::new(
            key,
            "only service-account credentials (\"type\": \"service_account\") are supported",
        ));
    }
    let der = PrivatePkcs8KeyDer::from_pem_slice(file.private_key.as_bytes())
        .map_err(|_| ParamError::new(key, "private_key is not a PKCS#8 PEM key"))?;
    let pair = RsaKeyPair::from_pkcs8(der.secret_pkcs8_der())
        .map_err(|_| ParamError::new(key, "private_key is not a usable RSA key"))?;
    let token_uri = file
        .token_uri
        .unwrap_or_else(|| GOOGLE_TOKEN_URI.to_string());
    if !(token_uri.starts_with("https://") || token_uri.starts_with("http://")) {
        return Err(ParamError::new(key, "token_uri must be an http(s) URL"));
    }
    Ok((
        ServiceAccount {
            client_email: file.client_email,
            private_key_id: file.private_key_id,
            key: pair,
            token_uri,
            private_key_pem: file.private_key,
        },
        file.project_id,
    ))
}

pub fn from_params(params: &Map<String, Value>) -> Result<VertexConfig, ParamError> {
    let (text, key) = credentials_text(params)?;
    let (account, file_project) = account(&text, key)?;
    let project = first_param(params, &["vertex_project", "vertex_ai_project"])
        .or_else(|| first_env(&["VERTEXAI_PROJECT", "VERTEX_PROJECT"]))
        .or(file_project)
        .ok_or_else(|| ParamError::new("vertex_project", "required (or VERTEXAI_PROJECT)"))?;
    let location = first_param(params, &["vertex_location", "vertex_ai_location"])
        .or_else(|| first_env(&["VERTEXAI_LOCATION", "VERTEX_LOCATION"]))
        .unwrap_or_else(|| "us-central1".to_string());
    let safe = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
    };
    if !safe(&project) {
        return Err(ParamError::new(
            "vertex_project",
            format!("\"{project}\" is not a project id"),
        ));
    }
    if !safe(&location) {
        return Err(ParamError::new(
            "vertex_location",
            format!("\"{location}\" is not a location"),
        ));
    }
    Ok(VertexConfig {
        project,
        location,
        account,
    })
}
