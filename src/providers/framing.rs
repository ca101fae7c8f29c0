//! How a provider frames its stream: Server-Sent Events, or one JSON document per line
//! (Ollama). Either way the relay gets whole events, bounded in size, as they arrive.

use super::bedrock::eventstream::EventStreamDecoder;
use super::sse::{EventTooLarge, SseDecoder, SseEvent};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    Sse,
    JsonLines,
    /// AWS's binary event-stream (Bedrock's ConverseStream).
    AwsEventStream,
}

pub enum FrameDecoder {
    Sse(SseDecoder),
    JsonLines(LineDecoder),
    AwsEventStream(EventStreamDecoder),
}

impl FrameDecoder {
    pub fn new(framing: Framing, max_event_bytes: usize) -> Self {
        match framing {
            Framing::Sse => Self::Sse(SseDecoder::new(max_event_bytes)),
            Framing::JsonLines => Self::JsonLines(LineDecoder::new(max_event_bytes)),
            Framing::AwsEventStream => {
                Self::AwsEventStream(EventStreamDecoder::new(max_event_bytes))
            }
        }
    }

    pub fn push(&mut self, bytes: &[u8], out: &mut Vec<SseEvent>) -> Result<(), EventTooLarge> {
        match self {
            Self::Sse(d) => d.push(bytes, out),
            Self::JsonLines(d) => d.push(bytes, out),
            Self::AwsEventStream(d) => d.push(bytes, out),
        }
    }

    pub fn finish(&mut self, out: &mut Vec<SseEvent>) {
        match self {
            Self::Sse(d) => d.finish(out),
            Self::JsonLines(d) => d.finish(out),
            Self::AwsEventStream(d) => d.finish(out),
        }
    }
}

/// Newline-delimited JSON: each non-blank line is one event's data.
pub struct LineDecoder {
    line: Vec<u8>,
    max: usize,
}

impl LineDecoder {
    pub fn new(max: usize) -> Self {
        Self {
            line: Vec::new(),
            max,
        }
    }

    fn take(&mut self, out: &mut Vec<SseEvent>) {
        let line = std::mem::take(&mut self.line);
        let text = String::from_utf8_lossy(&line);
        let text = text.trim();
        if !text.is_empty() {
            out.push(SseEvent {
                event: None,
                data: text.to_string(),
            });
        }
    }

    pub fn push(&mut self, mut bytes: &[u8], out: &mut Vec<SseEvent>) -> Result<(), EventTooLarge> {
        while let Some(pos) = memchr::memchr(b'\n', bytes) {
            let Some((line, rest)) = bytes.split_at_checked(pos) else {
                break;
            };
            self.line.extend_from_slice(line);
            bytes = rest.get(1..).unwrap_or_default();
            self.take(out);
        }
        self.line.extend_from_slice(bytes);
        if self.line.len() > self.max {
            return Err(EventTooLarge(self.max));
        }
        Ok(())
    }

    pub fn finish(&mut self, out: &mut Vec<SseEvent>) {
        self.take(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_split_anywhere_come_out_whole() {
        let mut d = FrameDecoder::new(Framing::JsonLines, 1 << 16);
        let mut out = Vec::new();
        for piece in ["{\"a\":", "1}\n\n{\"b\"", ":2}\r\n{\"c\":3}"] {
            d.push(piece.as_bytes(), &mut out).unwrap();
        }
        d.finish(&mut out);
        let data: Vec<&str> = out.iter().map(|e| e.data.as_str()).collect();
        assert_eq!(data, ["{\"a\":1}", "{\"b\":2}", "{\"c\":3}"]);
        let mut small = LineDecoder::new(4);
        assert!(small.push(b"0123456789", &mut out).is_err());
    }
}
