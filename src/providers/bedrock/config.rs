//! A Bedrock deployment's AWS settings, read once at config load with LiteLLM's names and
//! precedence: `aws_access_key_id` / `aws_secret_access_key` / `aws_session_token` /
//! `aws_region_name` in `litellm_params`, else the standard AWS environment variables.
//! Bedrock API keys (`api_key`, `AWS_BEARER_TOKEN_BEDROCK`) need no signing at all.

use serde_json::{Map, Value};

use super::sigv4::Credentials;
use crate::providers::params::{first_env, first_param};
use crate::providers::ParamError;
use crate::secret::Secret;

#[derive(Clone, Debug)]
pub struct BedrockConfig {
    pub region: String,
    /// `None` when the deployment authenticates with a Bedrock API key (or is mocked).
    pub credentials: Option<Credentials>,
}

/// The region inside a model ARN (`arn:aws:bedrock:us-east-1:...`).
fn arn_region(model: &str) -> Option<String> {
    let mut fields = model.strip_prefix("arn:")?.split(':');
    fields.nth(2).filter(|r| !r.is_empty()).map(str::to_string)
}

fn valid_region(r: &str) -> bool {
    !r.is_empty()
        && r.len() <= 32
        && r.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

pub fn from_params(params: &Map<String, Value>, model: &str) -> Result<BedrockConfig, ParamError> {
    let region = first_param(params, &["aws_region_name"])
        .or_else(|| arn_region(model))
        .or_else(|| first_env(&["AWS_REGION_NAME", "AWS_REGION", "AWS_DEFAULT_REGION"]))
        .unwrap_or_else(|| "us-west-2".to_string());
    if !valid_region(&region) {
        return Err(ParamError::new(
            "aws_region_name",
            format!("\"{region}\" is not an AWS region name (e.g. us-east-1)"),
        ));
    }
    let key_id =
        first_param(params, &["aws_access_key_id"]).or_else(|| first_env(&["AWS_ACCESS_KEY_ID"]));
    let secret = first_param(params, &["aws_secret_access_key"])
        .or_else(|| first_env(&["AWS_SECRET_ACCESS_KEY"]));
    let token =
        first_param(params, &["aws_session_token"]).or_else(|| first_env(&["AWS_SESSION_TOKEN"]));
    let credentials = match (key_id, secret) {
        (Some(id), Some(secret)) => Some(Credentials {
            access_key_id: id,
            secret_access_key: Secret::new(secret),
            session_token: token.map(Secret::new),
        }),
        (Some(_), None) => {
            return Err(ParamError::new(
                "aws_secret_access_key",
                "required with aws_access_key_id (or set AWS_SECRET_ACCESS_KEY)",
            ))
        }
        (None, Some(_)) => {
            return Err(ParamError::new(
                "aws_access_key_id",
                "required with aws_secret_access_key (or set AWS_ACCESS_KEY_ID)",
            ))
        }
        (None, None) => None,
    };
    Ok(BedrockConfig {
        region,
        credentials,
    })
}

/// The model id as Bedrock's URL wants it: LiteLLM's route prefixes removed.
pub fn model_id(model: &str) -> &str {
    model
        .strip_prefix("converse/")
        .or_else(|| model.strip_prefix("invoke/"))
        .unwrap_or(model)
}

/// `https://bedrock-runtime.{region}.amazonaws.com` (`.com.cn` in China).
pub fn default_endpoint(region: &str) -> String {
    let suffix = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    format!("https://bedrock-runtime.{region}.{suffix}")
}
