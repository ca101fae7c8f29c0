//! Reading a LiteLLM `config.yaml` into a resolved tree: YAML through the `config` crate
//! (0.15+, which keeps key case: group names are keys under `fallbacks`), `include` files merged,
//! then every `os.environ/NAME` replaced.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::value::{err, ConfigError, Problems, Result};

const ENV_PREFIX: &str = "os.environ/";

fn read_yaml(path: &Path) -> Result<Value> {
    let shown = path.display().to_string();
    if !path.exists() {
        return err(&shown, "file not found");
    }
    let source = config::File::new(&shown, config::FileFormat::Yaml);
    let built = config::Config::builder()
        .add_source(source)
        .build()
        .map_err(|e| ConfigError::new(shown.clone(), format!("not valid YAML: {e}")))?;
    built
        .try_deserialize::<Value>()
        .map_err(|e| ConfigError::new(shown, format!("unreadable: {e}")))
}

/// Reads the file and its `include`s (paths relative to the including file): `model_list`
/// entries are appended, mappings merged key by key, as LiteLLM's `_process_includes` does.
pub fn read_tree(path: &Path) -> Result<Value> {
    let mut root = read_yaml(path)?;
    let Value::Object(map) = &mut root else {
        return err(
            &path.display().to_string(),
            "the top level must be a mapping",
        );
    };
    if let Some(includes) = map.remove("include") {
        let names: Vec<String> = match includes {
            Value::String(s) => vec![s],
            Value::Array(items) => items
                .into_iter()
                .map(|v| v.as_str().map(str::to_string))
                .collect::<Option<_>>()
                .ok_or_else(|| ConfigError::new("include", "expected a list of file names"))?,
            _ => return err("include", "expected a list of file names"),
        };
        let base = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        for name in names {
            let included = read_tree(&base.join(&name))?;
            if let Value::Object(other) = included {
                merge_into(map, other);
            }
        }
    }
    Ok(root)
}

/// The file and every file it includes (for `--watch`); files that cannot be read are still
/// listed, so that fixing them is noticed.
pub fn files(path: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    collect_files(path, &mut out);
    out
}

fn collect_files(path: &Path, out: &mut Vec<PathBuf>) {
    // An include cycle is the loader's error to report; here it only must not recurse.
    if out.iter().any(|p| p == path) || out.len() >= 64 {
        return;
    }
    out.push(path.to_path_buf());
    let includes = read_yaml(path).ok().and_then(|root| match root {
        Value::Object(mut map) => map.remove("include"),
        _ => None,
    });
    let names: Vec<String> = match includes {
        Some(Value::String(s)) => vec![s],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    };
    let base = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    for name in names {
        collect_files(&base.join(name), out);
    }
}

fn merge_into(into: &mut Map<String, Value>, from: Map<String, Value>) {
    for (key, value) in from {
        match (into.get_mut(&key), value) {
            (Some(Value::Array(a)), Value::Array(b)) if key == "model_list" => a.extend(b),
            (Some(Value::Object(a)), Value::Object(b)) => merge_into(a, b),
            (_, value) => {
                into.insert(key, value);
            }
        }
    }
}

/// Where `os.environ/NAME` looks: the config's own `environment_variables`, then the process.
pub struct EnvLookup {
    overrides: HashMap<String, String>,
}

impl EnvLookup {
    pub fn from_tree(root: &Value) -> Self {
        let mut overrides = HashMap::new();
        if let Some(Value::Object(vars)) = root.get("environment_variables") {
            for (k, v) in vars {
                let text = match v {
                    Value::String(s) => s.clone(),
                    Value::Null => continue,
                    other => other.to_string(),
                };
                overrides.insert(k.clone(), text);
            }
        }
        // A value in environment_variables may itself be an os.environ reference.
        let resolved = overrides
            .iter()
            .map(|(k, v)| {
                let v = match v.strip_prefix(ENV_PREFIX) {
                    Some(name) => std::env::var(name).unwrap_or_default(),
                    None => v.clone(),
                };
                (k.clone(), v)
            })
            .collect();
        Self {
            overrides: resolved,
        }
    }

    pub fn get(&self, name: &str) -> Option<String> {
        self.overrides
            .get(name)
            .cloned()
            .or_else(|| std::env::var(name).ok())
    }
}

/// Replaces every `os.environ/NAME` string in the tree; an unset variable is a problem naming
/// the field (LiteLLM silently turns it into None and fails later, at request time), and the
/// field reads as absent so it raises no second problem.
pub fn resolve_env(value: &mut Value, path: &str, env: &EnvLookup, problems: &mut Problems) {
    match value {
        Value::String(s) => {
            if let Some(name) = s.strip_prefix(ENV_PREFIX) {
                match env.get(name.trim()) {
                    Some(v) => *s = v,
                    None => {
                        problems.push(ConfigError::new(
                            path,
                            format!("environment variable {name} is not set (referenced as {s})"),
                        ));
                        *value = Value::Null;
                    }
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                resolve_env(item, &format!("{path}[{i}]"), env, problems);
            }
        }
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                let child = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                resolve_env(v, &child, env, problems);
            }
        }
        _ => {}
    }
}
