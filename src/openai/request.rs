//! An OpenAI chat request as the gateway reads it: typed views borrowed from the client's body
//! (no copy). Translating providers read these; anything not read here stays in the body and
//! an OpenAI-compatible upstream gets it as the client sent it. Reading is total: a field of
//! the wrong shape reads as absent, as LiteLLM's translations treat it.

use serde_json::{Map, Value};

pub struct ChatRequest<'a> {
    pub messages: Vec<Message<'a>>,
    /// `max_tokens`, else `max_completion_tokens`.
    pub max_tokens: Option<u64>,
    pub stop: Vec<&'a str>,
    pub tools: Vec<Tool<'a>>,
    pub tool_choice: Option<ToolChoice<'a>>,
    pub parallel_tool_calls: Option<bool>,
    pub response_format: ResponseFormat<'a>,
    pub user: Option<&'a str>,
    /// The whole body, for provider-native fields passed through.
    pub body: &'a Map<String, Value>,
}

/// A message, by role. `developer` is a system message; `function` a tool result.
pub enum Message<'a> {
    System(Content<'a>),
    User(Content<'a>),
    Assistant {
        content: Content<'a>,
        tool_calls: Vec<ToolCallRef<'a>>,
    },
    Tool {
        content: Content<'a>,
        tool_call_id: Option<&'a str>,
        name: Option<&'a str>,
    },
}

pub enum Content<'a> {
    Text(&'a str),
    Parts(Vec<Part<'a>>),
    Empty,
}

pub enum Part<'a> {
    Text {
        text: &'a str,
        cache_control: Option<&'a Value>,
    },
    Image {
        url: &'a str,
        cache_control: Option<&'a Value>,
    },
    /// A part of another type (a provider-native block, audio, a file), as sent.
    Other(&'a Value),
}

/// A tool call in an assistant message.
pub struct ToolCallRef<'a> {
    pub id: Option<&'a str>,
    pub name: &'a str,
    /// The JSON text of the arguments (OpenAI sends a string; some clients an object).
    pub arguments: &'a Value,
}

pub struct Tool<'a> {
    pub name: &'a str,
    pub description: Option<&'a Value>,
    pub parameters: Option<&'a Value>,
    pub cache_control: Option<&'a Value>,
}

pub enum ToolChoice<'a> {
    Auto,
    Required,
    None,
    Function(&'a str),
}

pub enum ResponseFormat<'a> {
    Text,
    JsonObject,
    /// The schema, when one is given.
    JsonSchema(Option<&'a Value>),
}

impl<'a> Content<'a> {
    fn read(v: Option<&'a Value>) -> Self {
        match v {
            Some(Value::String(s)) => Self::Text(s),
            Some(Value::Array(parts)) => Self::Parts(parts.iter().map(Part::read).collect()),
            _ => Self::Empty,
        }
    }

    /// The text: a string, or the text parts joined.
    pub fn text(&self) -> String {
        match self {
            Self::Text(s) => (*s).to_string(),
            Self::Parts(parts) => parts
                .iter()
                .filter_map(|p| match p {
                    Part::Text { text, .. } => Some(*text),
                    _ => None,
                })
                .collect(),
            Self::Empty => String::new(),
        }
    }
}

impl<'a> Part<'a> {
    fn read(v: &'a Value) -> Self {
        let kind = v.get("type").and_then(Value::as_str);
        let cache_control = v.get("cache_control");
        match (kind, v) {
            (_, Value::String(text)) => Self::Text {
                text,
                cache_control: None,
            },
            // A text part without text reads as empty text (and is skipped by translators).
            (Some("text") | None, _) => Self::Text {
                text: v.get("text").and_then(Value::as_str).unwrap_or(""),
                cache_control,
            },
            (Some("image_url"), _) => {
                let url = v
                    .get("image_url")
                    .and_then(|i| i.as_str().or_else(|| i.get("url")?.as_str()));
                match url {
                    Some(url) => Self::Image { url, cache_control },
                    None => Self::Other(v),
                }
            }
            _ => Self::Other(v),
        }
    }
}

impl<'a> Message<'a> {
    fn read(m: &'a Value) -> Self {
        let content = Content::read(m.get("content"));
        match m.get("role").and_then(Value::as_str).unwrap_or("user") {
            "system" | "developer" => Self::System(content),
            "assistant" => Self::Assistant {
                content,
                tool_calls: m
                    .get("tool_calls")
                    .and_then(Value::as_array)
                    .map(|calls| calls.iter().map(ToolCallRef::read).collect())
                    .unwrap_or_default(),
            },
            "tool" | "function" => Self::Tool {
                content,
                tool_call_id: m.get("tool_call_id").and_then(Value::as_str),
                name: m.get("name").and_then(Value::as_str),
            },
            _ => Self::User(content),
        }
    }
}

static NULL: Value = Value::Null;

impl<'a> ToolCallRef<'a> {
    fn read(call: &'a Value) -> Self {
        Self {
            id: call.get("id").and_then(Value::as_str),
            name: call
                .pointer("/function/name")
                .and_then(Value::as_str)
                .unwrap_or(""),
            arguments: call.pointer("/function/arguments").unwrap_or(&NULL),
        }
    }

    /// The arguments as a JSON object; anything else (invalid JSON, a list) becomes `{}`.
    pub fn arguments_object(&self) -> Value {
        let empty = || Value::Object(Map::new());
        match self.arguments {
            Value::String(s) if !s.trim().is_empty() => serde_json::from_str::<Value>(s)
                .ok()
                .filter(Value::is_object)
                .unwrap_or_else(empty),
            v @ Value::Object(_) => v.clone(),
            _ => empty(),
        }
    }
}

impl<'a> Tool<'a> {
    fn read(t: &'a Value) -> Option<Self> {
        let f = t.get("function").unwrap_or(t);
        Some(Self {
            name: f.get("name")?.as_str()?,
            description: f.get("description"),
            parameters: f.get("parameters"),
            cache_control: t.get("cache_control"),
        })
    }
}

impl<'a> ToolChoice<'a> {
    fn read(v: &'a Value) -> Option<Self> {
        match v {
            Value::String(s) => match s.as_str() {
                "auto" => Some(Self::Auto),
                "required" | "any" => Some(Self::Required),
                "none" => Some(Self::None),
                _ => None,
            },
            Value::Object(o) => {
                let name = o
                    .get("function")
                    .and_then(|f| f.get("name"))
                    .or_else(|| o.get("name"))?
                    .as_str()?;
                Some(Self::Function(name))
            }
            _ => None,
        }
    }
}

impl<'a> ResponseFormat<'a> {
    pub fn read(v: Option<&'a Value>) -> Self {
        match v.and_then(|rf| rf.get("type")).and_then(Value::as_str) {
            Some("json_object") => Self::JsonObject,
            Some("json_schema") => {
                Self::JsonSchema(v.and_then(|rf| rf.pointer("/json_schema/schema")))
            }
            _ => Self::Text,
        }
    }

    pub fn is_json(&self) -> bool {
        !matches!(self, Self::Text)
    }
}

impl<'a> ChatRequest<'a> {
    pub fn read(body: &'a Map<String, Value>) -> Self {
        let stop = match body.get("stop") {
            Some(Value::String(s)) => vec![s.as_str()],
            Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        Self {
            messages: body
                .get("messages")
                .and_then(Value::as_array)
                .map(|list| list.iter().map(Message::read).collect())
                .unwrap_or_default(),
            max_tokens: body
                .get("max_tokens")
                .or_else(|| body.get("max_completion_tokens"))
                .and_then(Value::as_u64),
            stop,
            tools: body
                .get("tools")
                .and_then(Value::as_array)
                .map(|list| list.iter().filter_map(Tool::read).collect())
                .unwrap_or_default(),
            tool_choice: body.get("tool_choice").and_then(ToolChoice::read),
            parallel_tool_calls: body.get("parallel_tool_calls").and_then(Value::as_bool),
            response_format: ResponseFormat::read(body.get("response_format")),
            user: body.get("user").and_then(Value::as_str),
            body,
        }
    }

    /// A sampling parameter as sent (`temperature`, `top_p`, ...), `null` read as absent.
    pub fn param(&self, key: &str) -> Option<&'a Value> {
        self.body.get(key).filter(|v| !v.is_null())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn messages_read_by_role_and_shapes_read_totally() {
        let body = read(json!({
            "messages": [
                {"role": "developer", "content": "be brief"},
                {"role": "user", "content": [{"type": "text", "text": "a"}, "b", {"type": "image_url", "image_url": {"url": "https://x/y.png"}}, {"type": "document"}]},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "c1", "function": {"name": "f", "arguments": "{\"a\":1}"}},
                    {"id": "c2", "function": {"name": "g", "arguments": "oops"}}]},
                {"role": "function", "tool_call_id": "c1", "content": "42"},
                {"role": "narrator", "content": 7}
            ],
            "max_completion_tokens": 9, "stop": ["x", 1], "tool_choice": {"type": "function", "function": {"name": "f"}},
            "response_format": {"type": "json_schema", "json_schema": {"schema": {"type": "object"}}}
        }));
        let r = ChatRequest::read(&body);
        assert_eq!(r.messages.len(), 5);
        assert!(matches!(
            &r.messages[0],
            Message::System(Content::Text("be brief"))
        ));
        let Message::User(user) = &r.messages[1] else {
            panic!("user")
        };
        assert_eq!(user.text(), "ab");
        let Content::Parts(parts) = user else {
            panic!("parts")
        };
        assert!(matches!(
            parts[2],
            Part::Image {
                url: "https://x/y.png",
                ..
            }
        ));
        assert!(matches!(parts[3], Part::Other(_)));
        let Message::Assistant {
            tool_calls,
            content,
        } = &r.messages[2]
        else {
            panic!("assistant")
        };
        assert!(matches!(content, Content::Empty));
        assert_eq!(tool_calls[0].arguments_object(), json!({"a": 1}));
        assert_eq!(
            tool_calls[1].arguments_object(),
            json!({}),
            "invalid JSON reads as no arguments"
        );
        assert!(matches!(
            r.messages[3],
            Message::Tool {
                tool_call_id: Some("c1"),
                ..
            }
        ));
        assert!(
            matches!(&r.messages[4], Message::User(Content::Empty)),
            "unknown roles are user turns"
        );
        assert_eq!(r.max_tokens, Some(9));
        assert_eq!(r.stop, vec!["x"]);
        assert!(matches!(r.tool_choice, Some(ToolChoice::Function("f"))));
        assert!(matches!(
            r.response_format,
            ResponseFormat::JsonSchema(Some(_))
        ));
        let empty = read(json!({"messages": "not a list", "tools": [{"function": {}}]}));
        let r = ChatRequest::read(&empty);
        assert!(r.messages.is_empty() && r.tools.is_empty());
    }
}
