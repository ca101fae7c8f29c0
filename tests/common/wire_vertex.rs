//! The mock's Google side of Vertex AI: an OAuth token endpoint that verifies the RS256 JWT
//! assertion a service account signs (with ring, against the test key's public half) and
//! hands out short-lived tokens; Vertex's `predict` embeddings; Google's 401 body for a missing
//! or expired token.

use std::time::{Duration, Instant};

use base64::Engine as _;
use ring::signature::{UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
use serde_json::{json, Value};

/// What the token endpoint checks and hands out.
#[derive(Clone, Debug)]
pub struct TokenIssuer {
    /// DER RSAPublicKey of the service account's key.
    pub public_key: Vec<u8>,
    pub client_email: String,
    pub lifetime: Duration,
    pub issued: Vec<(String, Instant)>,
    pub requests: usize,
}

fn b64(s: &str) -> Result<Vec<u8>, String> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|e| format!("bad base64url: {e}"))
}

/// `grant_type=...&assertion=...` → the assertion, checked; `Err` is Google's error text.
pub fn check_assertion(form: &str, issuer: &TokenIssuer, token_uri: &str) -> Result<(), String> {
    let mut grant = None;
    let mut assertion = None;
    for pair in form.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = v.replace("%3A", ":").replace("%3a", ":");
        match k {
            "grant_type" => grant = Some(v),
            "assertion" => assertion = Some(v),
            _ => {}
        }
    }
    if grant.as_deref() != Some("urn:ietf:params:oauth:grant-type:jwt-bearer") {
        return Err(format!("unsupported_grant_type: {grant:?}"));
    }
    let assertion = assertion.ok_or("invalid_request: no assertion")?;
    let parts: Vec<&str> = assertion.split('.').collect();
    let [header, claims, signature] = parts.as_slice() else {
        return Err("invalid_grant: not a JWT".into());
    };
    let key = UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &issuer.public_key);
    key.verify(format!("{header}.{claims}").as_bytes(), &b64(signature)?)
        .map_err(|_| "invalid_grant: Invalid JWT Signature.".to_string())?;
    let header: Value = serde_json::from_slice(&b64(header)?).map_err(|e| e.to_string())?;
    let claims: Value = serde_json::from_slice(&b64(claims)?).map_err(|e| e.to_string())?;
    if header["alg"] != "RS256" {
        return Err("invalid_grant: alg".into());
    }
    if claims["iss"] != issuer.client_email.as_str()
        || claims["aud"] != token_uri
        || claims["scope"] != "https://www.googleapis.com/auth/cloud-platform"
    {
        return Err(format!("invalid_grant: claims {claims}"));
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let (iat, exp) = (
        claims["iat"].as_u64().unwrap_or(0),
        claims["exp"].as_u64().unwrap_or(0),
    );
    if exp <= iat || exp - iat > 3600 || iat > now + 60 || exp < now {
        return Err("invalid_grant: Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.".into());
    }
    Ok(())
}

pub fn token_error(message: &str) -> Value {
    let (error, description) = message
        .split_once(": ")
        .unwrap_or(("invalid_grant", message));
    json!({"error": error, "error_description": description})
}

pub fn unauthenticated() -> Value {
    json!({"error": {"code": 401, "status": "UNAUTHENTICATED",
        "message": "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential."}})
}

/// Vertex `predict` for a text embedding model: one prediction per instance.
pub fn predict(request: &Value, dims: usize) -> Value {
    let predictions: Vec<Value> = request["instances"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| {
            let text = i["content"].as_str().unwrap_or("");
            let mut v = vec![text.len() as f64];
            v.resize(dims.max(1), 0.75);
            json!({"embeddings": {"values": v, "statistics": {"token_count": 2, "truncated": false}}})
        })
        .collect();
    json!({"predictions": predictions})
}
