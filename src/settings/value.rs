//! Typed reads from the resolved YAML tree, each failure naming the field path.
//! LiteLLM accepts numbers written as strings (`port: os.environ/REDIS_PORT` resolves to
//! `"6379"`), so every numeric read does too.

use serde_json::{Map, Value};
use switchyard_actors::seconds::{Seconds, SecondsError};

/// A config error: the field path and what is wrong with it, and any further problems found
/// in the same file (a config is checked whole, so one run names them all).
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    pub path: String,
    pub reason: String,
    pub more: Vec<ConfigError>,
}

impl ConfigError {
    pub fn new(path: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            reason: reason.into(),
            more: Vec::new(),
        }
    }

    /// Every problem, this one first.
    pub fn all(&self) -> impl Iterator<Item = &ConfigError> {
        std::iter::once(self).chain(self.more.iter())
    }
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.more.is_empty() {
            return write!(f, "{}: {}", self.path, self.reason);
        }
        write!(f, "{} problems:", self.more.len() + 1)?;
        for e in self.all() {
            write!(f, "\n  {}: {}", e.path, e.reason)?;
        }
        Ok(())
    }
}

/// Problems found so far in one config; checking goes on past each one.
#[derive(Default)]
pub struct Problems(Vec<ConfigError>);

impl Problems {
    /// The value, or `None` with its error kept.
    pub fn keep<T>(&mut self, r: Result<T>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(e);
                None
            }
        }
    }

    pub fn push(&mut self, e: ConfigError) {
        self.0.push(e);
    }

    /// All of them as one error (the first, with the rest in `more`); `None` when there are none.
    pub fn into_error(self) -> Option<ConfigError> {
        let mut all = self.0.into_iter().flat_map(|e| {
            let ConfigError { path, reason, more } = e;
            std::iter::once(ConfigError::new(path, reason)).chain(more)
        });
        let mut first = all.next()?;
        first.more = all.collect();
        Some(first)
    }
}

impl std::error::Error for ConfigError {}

pub type Result<T> = std::result::Result<T, ConfigError>;

/// A node of the config tree with its path, for error messages.
#[derive(Clone, Copy)]
pub struct Node<'a> {
    pub value: &'a Value,
    pub path: &'a str,
}

pub fn err<T>(path: &str, reason: impl Into<String>) -> Result<T> {
    Err(ConfigError::new(path, reason))
}

pub fn child_path(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// Reads of one optional field of a mapping; `null` counts as absent.
pub struct Field<'a> {
    pub value: Option<&'a Value>,
    pub path: String,
}

impl<'a> Field<'a> {
    pub fn of(map: &'a Map<String, Value>, parent: &str, key: &str) -> Self {
        Self {
            value: map.get(key).filter(|v| !v.is_null()),
            path: child_path(parent, key),
        }
    }

    pub fn present(&self) -> bool {
        self.value.is_some()
    }

    pub fn string(&self) -> Result<Option<String>> {
        match self.value {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(v) => err(&self.path, format!("expected a string, found {}", kind(v))),
        }
    }

    pub fn f64(&self) -> Result<Option<f64>> {
        match self.value {
            None => Ok(None),
            Some(Value::Number(n)) => Ok(n.as_f64()),
            Some(Value::String(s)) => s
                .trim()
                .parse::<f64>()
                .map(Some)
                .or_else(|_| err(&self.path, format!("expected a number, found \"{s}\""))),
            Some(v) => err(&self.path, format!("expected a number, found {}", kind(v))),
        }
    }

    pub fn non_negative(&self) -> Result<Option<f64>> {
        match self.f64()? {
            Some(x) if !(x >= 0.0 && x.is_finite()) => err(
                &self.path,
                format!("expected a non-negative number, found {x}"),
            ),
            other => Ok(other),
        }
    }

    /// A span of seconds in `0..=max` (a timeout of `1e300` or `.inf` is a config error here,
    /// not a panic on the first request).
    pub fn seconds(&self, max: Seconds) -> Result<Option<Seconds>> {
        self.checked_seconds(max, Seconds::within)
    }

    /// Like `seconds`, and 0 is refused too (a timeout of 0 s means nothing).
    pub fn positive_seconds(&self, max: Seconds) -> Result<Option<Seconds>> {
        self.checked_seconds(max, Seconds::positive_within)
    }

    fn checked_seconds(
        &self,
        max: Seconds,
        check: fn(f64, Seconds) -> std::result::Result<Seconds, SecondsError>,
    ) -> Result<Option<Seconds>> {
        match self.f64()? {
            None => Ok(None),
            Some(x) => check(x, max)
                .map(Some)
                .or_else(|e| err(&self.path, format!("{x} {}", e.explain(max)))),
        }
    }

    /// A number of bytes given in megabytes (`max_request_size_mb`), in `0..=max_mb`.
    pub fn megabytes(&self, max_mb: u32) -> Result<Option<usize>> {
        match self.f64()? {
            None => Ok(None),
            Some(x) if x.is_finite() && x >= 0.0 && x <= f64::from(max_mb) => {
                // Bounded above by max_mb MiB, which fits a usize.
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let bytes = (x * 1024.0 * 1024.0) as usize;
                Ok(Some(bytes))
            }
            Some(x) => err(
                &self.path,
                format!("{x} must be a number of megabytes from 0 to {max_mb}"),
            ),
        }
    }

    pub fn u64(&self) -> Result<Option<u64>> {
        match self.f64()? {
            None => Ok(None),
            Some(x) if x >= 0.0 && x.fract() == 0.0 && x < 1e18 => {
                // Whole, non-negative and below 1e18: exact in a u64.
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let whole = x as u64;
                Ok(Some(whole))
            }
            Some(x) => err(
                &self.path,
                format!("expected a whole non-negative number, found {x}"),
            ),
        }
    }

    /// A TCP port (`6379`, or `"6379"` from an `os.environ/` reference).
    pub fn port(&self) -> Result<Option<u16>> {
        match self.u64()? {
            None => Ok(None),
            Some(p) => match u16::try_from(p) {
                Ok(p) if p > 0 => Ok(Some(p)),
                _ => err(&self.path, format!("{p} is not a port")),
            },
        }
    }

    pub fn u32(&self) -> Result<Option<u32>> {
        match self.u64()? {
            None => Ok(None),
            Some(x) => u32::try_from(x)
                .map(Some)
                .or_else(|_| err(&self.path, format!("{x} is too large"))),
        }
    }

    /// A whole number in `0..=max` (retry counts share one cap).
    pub fn u32_at_most(&self, max: u32) -> Result<Option<u32>> {
        match self.u32()? {
            Some(x) if x > max => err(&self.path, format!("{x} is more than the limit of {max}")),
            other => Ok(other),
        }
    }

    pub fn i64(&self) -> Result<Option<i64>> {
        match self.f64()? {
            None => Ok(None),
            Some(x) if x.fract() == 0.0 && x.abs() < 1e18 => {
                // Whole and within ±1e18: exact in an i64.
                #[allow(clippy::cast_possible_truncation)]
                let whole = x as i64;
                Ok(Some(whole))
            }
            Some(x) => err(&self.path, format!("expected a whole number, found {x}")),
        }
    }

    pub fn bool(&self) -> Result<Option<bool>> {
        match self.value {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
                "true" | "yes" | "1" => Ok(Some(true)),
                "false" | "no" | "0" | "" => Ok(Some(false)),
                _ => err(&self.path, format!("expected true or false, found \"{s}\"")),
            },
            Some(v) => err(
                &self.path,
                format!("expected true or false, found {}", kind(v)),
            ),
        }
    }

    pub fn map(&self) -> Result<Option<&'a Map<String, Value>>> {
        match self.value {
            None => Ok(None),
            Some(Value::Object(m)) => Ok(Some(m)),
            Some(v) => err(&self.path, format!("expected a mapping, found {}", kind(v))),
        }
    }

    pub fn list(&self) -> Result<Option<&'a Vec<Value>>> {
        match self.value {
            None => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a)),
            Some(v) => err(&self.path, format!("expected a list, found {}", kind(v))),
        }
    }

    /// A list of strings, also accepting a single string.
    pub fn strings(&self) -> Result<Option<Vec<String>>> {
        match self.value {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(vec![s.clone()])),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::String(s) => Ok(s.clone()),
                    other => err(
                        &format!("{}[{i}]", self.path),
                        format!("expected a string, found {}", kind(other)),
                    ),
                })
                .collect::<Result<Vec<_>>>()
                .map(Some),
            Some(v) => err(
                &self.path,
                format!("expected a list of strings, found {}", kind(v)),
            ),
        }
    }
}

pub fn as_map<'a>(node: Node<'a>) -> Result<&'a Map<String, Value>> {
    match node.value {
        Value::Object(m) => Ok(m),
        v => err(node.path, format!("expected a mapping, found {}", kind(v))),
    }
}
