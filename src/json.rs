//! Small total operations on `serde_json::Value`: `value["key"] = x` panics when `value` is
//! not an object, and upstream JSON is never known to be one.

use serde_json::Value;

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
