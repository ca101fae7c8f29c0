//! What a provider knows of a deployment: where to call, with which key and model, and the
//! request defaults its config sets. Built by the config loader; providers never see routing.

use serde_json::{Map, Value};

use super::ProviderKind;
use crate::secret::Secret;

#[derive(Clone, Debug)]
pub struct Upstream {
    /// The deployment's id, for error messages and logs.
    pub id: String,
    pub kind: ProviderKind,
    /// The model name sent upstream (prefix stripped).
    pub model: String,
    pub api_base: Option<String>,
    pub api_key: Option<Secret>,
    pub api_version: Option<String>,
    pub organization: Option<String>,
    pub additional_drop_params: Vec<String>,
    pub extra_headers: Vec<(String, String)>,
    /// Extra `litellm_params` applied to each request that does not set them itself.
    pub default_params: Map<String, Value>,
}
