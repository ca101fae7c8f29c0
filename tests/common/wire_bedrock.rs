//! The mock's AWS Bedrock wire format: Converse answers, ConverseStream event-stream frames
//! (binary, CRC-32 checked), InvokeModel embeddings (Titan, Cohere), REST-JSON errors with
//! `x-amzn-ErrorType`; and a SigV4 verifier, so a request signed wrongly gets Bedrock's 403.
//! Written apart from the gateway's signer (ring's HMAC/SHA-256, the documented canonical
//! request), so a mistake in one is not copied into the other.

use bytes::Bytes;
use ring::{digest, hmac};
use serde_json::{json, Value};

use super::mock::{Content, Event};

/// Test credentials the mock knows: access key id → secret.
pub const CREDENTIALS: &[(&str, &str)] = &[
    ("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
    (
        "AKIASWITCHYARDTEST",
        "switchyard-test-secret-0123456789abcdef",
    ),
];

/// Bedrock API keys the mock accepts as bearer tokens.
pub const BEARER_KEYS: &[&str] = &["bedrock-api-key-0123456789"];

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Checks the request's signature; `Err` is the message Bedrock would answer 403 with.
pub fn verify(raw_path: &str, headers: &[(String, String)], body: &[u8]) -> Result<(), String> {
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let auth = header("authorization").ok_or("Missing Authentication Token")?;
    if let Some(key) = auth.strip_prefix("Bearer ") {
        return if BEARER_KEYS.contains(&key) {
            Ok(())
        } else {
            Err("The security token included in the request is invalid.".into())
        };
    }
    let rest = auth
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .ok_or("Authorization header requires the AWS4-HMAC-SHA256 scheme")?;
    let field = |name: &str| {
        rest.split(", ")
            .find_map(|p| p.strip_prefix(name))
            .ok_or(format!("Authorization header lacks {name}"))
    };
    let credential = field("Credential=")?;
    let signed = field("SignedHeaders=")?;
    let signature = field("Signature=")?;
    let mut scope = credential.split('/');
    let (key_id, date, scope_region, service) = (
        scope.next().unwrap_or(""),
        scope.next().unwrap_or(""),
        scope.next().unwrap_or(""),
        scope.next().unwrap_or(""),
    );
    let secret = CREDENTIALS
        .iter()
        .find(|(id, _)| *id == key_id)
        .map(|(_, s)| *s)
        .ok_or("The security token included in the request is invalid.")?;
    let region = scope_region;
    if region.is_empty() || service != "bedrock" {
        return Err(format!(
            "Credential should be scoped to a valid region ({region}/{service})"
        ));
    }
    let amz_date = header("x-amz-date").ok_or("missing x-amz-date")?;
    let canonical_uri: Vec<String> = raw_path.split('/').map(enc).collect();
    let canonical_headers: String = signed
        .split(';')
        .map(|h| format!("{h}:{}\n", header(h).unwrap_or("").trim()))
        .collect();
    let canonical = format!(
        "POST\n{}\n\n{canonical_headers}\n{signed}\n{}",
        canonical_uri.join("/"),
        hex(digest::digest(&digest::SHA256, body).as_ref())
    );
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{date}/{region}/bedrock/aws4_request\n{}",
        hex(digest::digest(&digest::SHA256, canonical.as_bytes()).as_ref())
    );
    let mac = |key: &[u8], data: &str| {
        hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data.as_bytes())
    };
    let k = mac(format!("AWS4{secret}").as_bytes(), date);
    let k = mac(k.as_ref(), region);
    let k = mac(k.as_ref(), "bedrock");
    let k = mac(k.as_ref(), "aws4_request");
    if hex(mac(k.as_ref(), &to_sign).as_ref()) != signature {
        return Err("The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.".into());
    }
    for required in ["host", "x-amz-date"] {
        if !signed.split(';').any(|h| h == required) {
            return Err(format!("{required} must be signed"));
        }
    }
    Ok(())
}

/// The exception type and status Bedrock would use for a status.
pub fn error(status: u16, message: &str) -> (&'static str, Value) {
    let kind = match status {
        400 => "ValidationException",
        401 | 403 => "AccessDeniedException",
        404 => "ResourceNotFoundException",
        408 => "ModelTimeoutException",
        429 => "ThrottlingException",
        503 => "ServiceUnavailableException",
        _ => "InternalServerException",
    };
    (kind, json!({"message": message}))
}

pub fn answer(content: &Content) -> Value {
    let (blocks, stop) = match content {
        Content::Text(_) => (json!([{"text": content.text()}]), "end_turn"),
        Content::ToolCall { name, arguments } => {
            let input: Value = serde_json::from_str(arguments).unwrap_or(json!({}));
            (
                json!([{"toolUse": {"toolUseId": "tooluse_mock1", "name": name, "input": input}}]),
                "tool_use",
            )
        }
    };
    json!({"output": {"message": {"role": "assistant", "content": blocks}}, "stopReason": stop,
           "usage": {"inputTokens": 11, "outputTokens": content.words(), "totalTokens": 11 + content.words()},
           "metrics": {"latencyMs": 42}})
}

/// One event-stream frame with string headers.
pub fn frame(headers: &[(&str, &str)], payload: &[u8]) -> Bytes {
    let mut h = Vec::new();
    for (name, value) in headers {
        h.push(name.len() as u8);
        h.extend_from_slice(name.as_bytes());
        h.push(7);
        h.extend_from_slice(&(value.len() as u16).to_be_bytes());
        h.extend_from_slice(value.as_bytes());
    }
    let total = (16 + h.len() + payload.len()) as u32;
    let mut out = Vec::new();
    out.extend_from_slice(&total.to_be_bytes());
    out.extend_from_slice(&(h.len() as u32).to_be_bytes());
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_be_bytes());
    out.extend_from_slice(&h);
    out.extend_from_slice(payload);
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_be_bytes());
    Bytes::from(out)
}

fn event(kind: &str, payload: Value, content: bool) -> Event {
    // Bedrock pads payloads with a random "p" field; the gateway must ignore it.
    let mut payload = payload;
    payload["p"] = json!("abcdefghijklmnop");
    Event {
        bytes: frame(
            &[
                (":event-type", kind),
                (":content-type", "application/json"),
                (":message-type", "event"),
            ],
            payload.to_string().as_bytes(),
        ),
        content,
    }
}

/// Messages API events (Anthropic's SSE) as InvokeModelWithResponseStream sends them: each
/// event's JSON base64-encoded in a `chunk` frame's `{"bytes": ...}`.
pub fn invoke_stream(sse: Vec<Event>) -> Vec<Event> {
    use base64::Engine;
    sse.into_iter()
        .map(|e| {
            let text = String::from_utf8(e.bytes.to_vec()).unwrap();
            let data = text
                .lines()
                .find_map(|l| l.strip_prefix("data: "))
                .unwrap()
                .to_string();
            let b64 = base64::engine::general_purpose::STANDARD.encode(data);
            Event {
                bytes: frame(
                    &[
                        (":event-type", "chunk"),
                        (":content-type", "application/json"),
                        (":message-type", "event"),
                    ],
                    json!({"bytes": b64, "p": "abcdefghij"})
                        .to_string()
                        .as_bytes(),
                ),
                content: e.content,
            }
        })
        .collect()
}

pub fn exception_frame(kind: &str, message: &str) -> Bytes {
    frame(
        &[
            (":exception-type", kind),
            (":content-type", "application/json"),
            (":message-type", "exception"),
        ],
        json!({"message": message}).to_string().as_bytes(),
    )
}

pub fn stream(content: &Content) -> Vec<Event> {
    let mut events = vec![event("messageStart", json!({"role": "assistant"}), false)];
    let stop = match content {
        Content::Text(pieces) => {
            for p in pieces {
                events.push(event(
                    "contentBlockDelta",
                    json!({"contentBlockIndex": 0, "delta": {"text": p}}),
                    true,
                ));
            }
            events.push(event(
                "contentBlockStop",
                json!({"contentBlockIndex": 0}),
                false,
            ));
            "end_turn"
        }
        Content::ToolCall { name, arguments } => {
            events.push(event(
                "contentBlockStart",
                json!({"contentBlockIndex": 0, "start": {"toolUse": {"toolUseId": "tooluse_mock1", "name": name}}}),
                true,
            ));
            let (a, b) = arguments.split_at(arguments.len() / 2);
            for part in [a, b] {
                events.push(event(
                    "contentBlockDelta",
                    json!({"contentBlockIndex": 0, "delta": {"toolUse": {"input": part}}}),
                    true,
                ));
            }
            events.push(event(
                "contentBlockStop",
                json!({"contentBlockIndex": 0}),
                false,
            ));
            "tool_use"
        }
    };
    events.push(event("messageStop", json!({"stopReason": stop}), false));
    events.push(event(
        "metadata",
        json!({"usage": {"inputTokens": 11, "outputTokens": content.words(), "totalTokens": 11 + content.words()},
               "metrics": {"latencyMs": 42}}),
        false,
    ));
    events
}

/// Titan (`inputText`, one vector) or Cohere (`texts`, a batch).
pub fn embeddings(request: &Value, dims: usize) -> Value {
    let vector = |text: &str| {
        let mut v = vec![text.len() as f64];
        v.resize(dims.max(1), 0.25);
        v
    };
    if let Some(texts) = request["texts"].as_array() {
        let vectors: Vec<Vec<f64>> = texts
            .iter()
            .map(|t| vector(t.as_str().unwrap_or("")))
            .collect();
        json!({"id": "emb-mock", "embeddings": vectors, "response_type": "embeddings_floats", "texts": texts})
    } else {
        let text = request["inputText"].as_str().unwrap_or("");
        json!({"embedding": vector(text), "inputTextTokenCount": 4})
    }
}
