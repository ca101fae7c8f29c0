//! Small total operations on `serde_json::Value`: `value["key"] = x` panics when `value` is
//! not an object, and upstream JSON is never known to be one. And `Present`, for typed reads.

use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// A field that is there, whatever its value: `Option<T>` reads `null` as absent, which is not
/// what the `Value` paths it stands in for do (`"error": null` is still an error event).
#[derive(Default)]
pub struct Present(pub bool);

impl<'de> Deserialize<'de> for Present {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        IgnoredAny::deserialize(d).map(|_| Present(true))
    }
}

/// Sets `key` when `target` is an object; anything else is left as it is.
pub fn set(target: &mut Value, key: &str, value: Value) {
    if let Some(map) = target.as_object_mut() {
        map.insert(key.to_string(), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn set_never_panics() {
        let mut v = json!({"a": 1});
        set(&mut v, "b", json!(2));
        assert_eq!(v, json!({"a": 1, "b": 2}));
        let mut not_object = json!([1]);
        set(&mut not_object, "b", json!(2));
        assert_eq!(not_object, json!([1]));
    }
}
