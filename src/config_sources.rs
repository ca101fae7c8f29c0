//! Where a generation's config comes from: the config file (its tree as last loaded, or the
//! built-in quick-start config) and the deployments added over the API (`/model/new`), which
//! are appended to its `model_list` and validated with it, as strictly as the file.

use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

use serde_json::Value;

use crate::settings::{ConfigError, GatewayConfig};

/// A deployment added over the API: its id and its `model_list` entry.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiDeployment {
    pub id: String,
    pub entry: Value,
}

pub struct ConfigSources {
    /// The config file (`None`: the built-in config).
    pub path: Option<PathBuf>,
    /// The file's tree as last loaded without a problem.
    file_tree: Mutex<Value>,
    /// Deployments added over the API, in the order they were added.
    api: Mutex<Vec<ApiDeployment>>,
    /// Held while a change is composed, stored and put in service, so two never race (an
    /// async lock: a change waits for Redis while holding it).
    pub changing: tokio::sync::Mutex<()>,
}

fn read_file_tree(path: &Option<PathBuf>) -> Result<Value, ConfigError> {
    match path {
        Some(p) => crate::settings::load::read_tree(p),
        None => GatewayConfig::quickstart_tree(),
    }
}

fn source_name(path: &Option<PathBuf>) -> String {
    path.as_ref().map_or_else(
        || "built-in quick-start config".into(),
        |p| p.display().to_string(),
    )
}

/// The file's tree with `api` appended to its `model_list`.
fn composed(file: &Value, api: &[ApiDeployment]) -> Value {
    let mut tree = file.clone();
    if api.is_empty() {
        return tree;
    }
    if let Value::Object(root) = &mut tree {
        let list = root
            .entry("model_list")
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(items) = list {
            items.extend(api.iter().map(|d| d.entry.clone()));
        }
    }
    tree
}

impl ConfigSources {
    /// The sources of the config the gateway started with.
    pub fn new(path: Option<PathBuf>) -> Result<Self, ConfigError> {
        let file_tree = read_file_tree(&path)?;
        Ok(Self {
            path,
            file_tree: Mutex::new(file_tree),
            api: Mutex::default(),
            changing: tokio::sync::Mutex::default(),
        })
    }

    pub fn api(&self) -> Vec<ApiDeployment> {
        self.api
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The number of entries the file itself has in `model_list`.
    pub fn file_deployments(&self) -> usize {
        self.file_tree
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get("model_list")
            .and_then(Value::as_array)
            .map_or(0, Vec::len)
    }

    /// The config with the file read again (a reload) and the current API deployments; on
    /// success the new file tree is kept.
    pub fn reread(&self) -> Result<GatewayConfig, ConfigError> {
        let tree = read_file_tree(&self.path)?;
        let cfg = GatewayConfig::from_tree(composed(&tree, &self.api()), &source_name(&self.path))?;
        *self
            .file_tree
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = tree;
        Ok(cfg)
    }

    /// The config with the file as last loaded and `api` as the API deployments.
    pub fn compose(&self, api: &[ApiDeployment]) -> Result<GatewayConfig, ConfigError> {
        let tree = self
            .file_tree
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        GatewayConfig::from_tree(composed(&tree, api), &source_name(&self.path))
    }

    /// The API deployments of the config now in service.
    pub fn set_api(&self, api: Vec<ApiDeployment>) {
        *self.api.lock().unwrap_or_else(PoisonError::into_inner) = api;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn api_deployments_follow_the_files_own() {
        let file = json!({"model_list": [{"model_name": "a"}], "router_settings": {}});
        let api = vec![ApiDeployment {
            id: "x".into(),
            entry: json!({"model_name": "b"}),
        }];
        let tree = composed(&file, &api);
        assert_eq!(
            tree["model_list"],
            json!([{"model_name": "a"}, {"model_name": "b"}])
        );
        let empty = composed(&json!({}), &api);
        assert_eq!(empty["model_list"], json!([{"model_name": "b"}]));
    }
}
