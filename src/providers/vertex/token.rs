//! OAuth access tokens for a service account: an RS256-signed JWT assertion (ring) exchanged at
//! the account's `token_uri`, cached and refreshed five minutes before it expires. Concurrent
//! requests wait for one refresh instead of each minting a token. The token is a secret: it is
//! registered with the masking step and never logged.

use std::time::{Duration, Instant};

use ring::rand::SystemRandom;
use ring::signature::RSA_PKCS1_SHA256;
use serde::Deserialize;
use serde_json::json;
use switchyard_actors::plan::AttemptError;
use switchyard_actors::ErrorClass;

use super::config::ServiceAccount;

const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// Refreshed this long before it expires (google-auth refreshes a few minutes early).
const REFRESH_MARGIN: Duration = Duration::from_secs(300);
/// Longest wait for the token endpoint.
const FETCH_TIMEOUT: Duration = Duration::from_secs(30);
/// A token endpoint answer larger than this is not a token.
const MAX_TOKEN_BODY: usize = 64 * 1024;

#[derive(Default)]
pub struct TokenCache {
    current: tokio::sync::Mutex<Option<(String, Instant)>>,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenCache")
    }
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The signed JWT assertion, valid for an hour from `now`.
pub fn assertion(account: &ServiceAccount, now: u64) -> Result<String, AttemptError> {
    let mut header = json!({"alg": "RS256", "typ": "JWT"});
    if let Some(kid) = &account.private_key_id {
        crate::json::set(&mut header, "kid", json!(kid));
    }
    let claims = json!({"iss": account.client_email, "scope": SCOPE, "aud": account.token_uri,
                        "iat": now, "exp": now + 3600});
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let mut sig = vec![0u8; account.key.public().modulus_len()];
    account
        .key
        .sign(
            &RSA_PKCS1_SHA256,
            &SystemRandom::new(),
            input.as_bytes(),
            &mut sig,
        )
        .map_err(|_| auth_error("signing the token request failed"))?;
    Ok(format!("{input}.{}", b64(&sig)))
}

fn auth_error(detail: &str) -> AttemptError {
    AttemptError::new(
        ErrorClass::Authentication,
        401,
        format!(
            "AuthenticationError: Vertex_aiException - could not get an access token: {detail}"
        ),
    )
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: Option<u64>,
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

async fn fetch(
    account: &ServiceAccount,
    client: &awc::Client,
) -> Result<(String, Instant), AttemptError> {
    let assertion = assertion(account, unix_now())?;
    let sent = client
        .post(&account.token_uri)
        .timeout(FETCH_TIMEOUT)
        .send_form(&[
            ("grant_type", GRANT_TYPE),
            ("assertion", assertion.as_str()),
        ]);
    let mut resp = sent
        .await
        .map_err(|e| auth_error(&format!("the token endpoint did not answer ({e})")))?;
    let status = resp.status().as_u16();
    let body = resp
        .body()
        .limit(MAX_TOKEN_BODY)
        .await
        .map_err(|e| auth_error(&format!("reading the token answer failed ({e})")))?;
    if status != 200 {
        let text = crate::secret::redact(&String::from_utf8_lossy(&body)).into_owned();
        return Err(auth_error(&format!(
            "the token endpoint answered {status}: {text}"
        )));
    }
    let answer: TokenAnswer = serde_json::from_slice(&body)
        .map_err(|_| auth_error("the token endpoint's answer has no access_token"))?;
    crate::secret::register_minted(answer.access_token.clone());
    let lifetime = Duration::from_secs(answer.expires_in.unwrap_or(3600).min(86_400));
    Ok((answer.access_token, Instant::now() + lifetime))
}

/// Every deployment of one service account shares its token (one mint, not one per
/// deployment); keyed by account and token endpoint.
type AccountKey = (String, String);
static SHARED: std::sync::Mutex<Vec<(AccountKey, std::sync::Arc<TokenCache>)>> =
    std::sync::Mutex::new(Vec::new());

pub fn shared_cache(account: &ServiceAccount) -> std::sync::Arc<TokenCache> {
    let key = (account.client_email.clone(), account.token_uri.clone());
    let mut all = SHARED.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, cache)) = all.iter().find(|(k, _)| *k == key) {
        return cache.clone();
    }
    let cache = std::sync::Arc::new(TokenCache::default());
    all.push((key, cache.clone()));
    cache
}

impl TokenCache {
    pub async fn token(
        &self,
        account: &ServiceAccount,
        client: &awc::Client,
    ) -> Result<String, AttemptError> {
        let mut current = self.current.lock().await;
        if let Some((token, expires)) = current.as_ref() {
            if Instant::now() + REFRESH_MARGIN < *expires {
                return Ok(token.clone());
            }
        }
        let (token, expires) = fetch(account, client).await?;
        *current = Some((token.clone(), expires));
        Ok(token)
    }
}
