//! A `chat.completion` read without building a JSON tree: the fields the inbound translations
//! use (Messages, Responses), strings borrowed from the body where they carry no escapes.
//! A field of an unexpected type reads as absent rather than failing the answer.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

#[derive(Deserialize, Debug)]
pub struct CompletionView<'a> {
    #[serde(borrow, default, deserialize_with = "text")]
    pub id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub choices: Vec<ChoiceView<'a>>,
    #[serde(default)]
    pub usage: Option<UsageView>,
}

#[derive(Deserialize, Debug)]
pub struct ChoiceView<'a> {
    #[serde(borrow)]
    pub message: MessageView<'a>,
    #[serde(borrow, default, deserialize_with = "text")]
    pub finish_reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Debug)]
pub struct MessageView<'a> {
    #[serde(borrow, default, deserialize_with = "text")]
    pub content: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "text")]
    pub reasoning_content: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub tool_calls: Option<Vec<ToolCallView<'a>>>,
}

#[derive(Deserialize, Debug)]
pub struct ToolCallView<'a> {
    #[serde(borrow, default, deserialize_with = "text")]
    pub id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub function: FunctionView<'a>,
}

#[derive(Deserialize, Debug)]
pub struct FunctionView<'a> {
    #[serde(borrow, default, deserialize_with = "text")]
    pub name: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "text")]
    pub arguments: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Debug, Default, Clone, Copy)]
pub struct UsageView {
    #[serde(default, deserialize_with = "count")]
    pub prompt_tokens: u64,
    #[serde(default, deserialize_with = "count")]
    pub completion_tokens: u64,
}

impl<'a> CompletionView<'a> {
    pub fn parse(body: &'a [u8]) -> Option<Self> {
        serde_json::from_slice(body).ok()
    }
}

/// A string, borrowed when it can be; anything else (null, a number, a list of parts) is
/// `None`.
fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Cow<'de, str>>, D::Error> {
    struct Text;
    impl<'de> Visitor<'de> for Text {
        type Value = Option<Cow<'de, str>>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string")
        }
        fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
            Ok(Some(Cow::Borrowed(v)))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(Cow::Owned(v.to_string())))
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
            Ok(Some(Cow::Owned(v)))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(None)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(None)
        }
    }
    d.deserialize_any(Text)
}

/// A token count; anything but a non-negative integer reads as 0.
fn count<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    struct Count;
    impl<'de> Visitor<'de> for Count {
        type Value = u64;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a token count")
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
            Ok(v)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<u64, E> {
            Ok(0)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<u64, E> {
            Ok(0)
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<u64, E> {
            Ok(0)
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<u64, E> {
            Ok(0)
        }
        fn visit_unit<E: de::Error>(self) -> Result<u64, E> {
            Ok(0)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<u64, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(0)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<u64, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(0)
        }
    }
    d.deserialize_any(Count)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn borrows_plain_strings_and_tolerates_odd_fields() {
        let body = br#"{"id":"chatcmpl-1","model":"qwen","choices":[{"index":0,"message":{"role":"assistant","content":"Hi \"there\"","reasoning_content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":3,"completion_tokens":null,"extra":{"a":[1]}}}"#;
        let v = CompletionView::parse(body).unwrap();
        assert!(matches!(v.id, Some(Cow::Borrowed("chatcmpl-1"))));
        assert_eq!(
            v.choices[0].message.content.as_deref(),
            Some("Hi \"there\"")
        );
        assert!(v.choices[0].message.reasoning_content.is_none());
        let calls = v.choices[0].message.tool_calls.as_ref().unwrap();
        assert_eq!(calls[0].function.name.as_deref(), Some("f"));
        assert_eq!(v.usage.unwrap().prompt_tokens, 3);
        assert_eq!(v.usage.unwrap().completion_tokens, 0);
        let parts = br#"{"choices":[{"message":{"content":[{"type":"text","text":"x"}]},"finish_reason":7}]}"#;
        let v = CompletionView::parse(parts).unwrap();
        assert!(v.choices[0].message.content.is_none());
        assert!(CompletionView::parse(b"{}").is_none());
    }
}
