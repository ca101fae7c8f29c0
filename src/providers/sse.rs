//! A size-bounded Server-Sent Events decoder: bytes in, complete events out, as they arrive.

/// One SSE event: its `event:` name, if any, and its `data:` lines joined by newlines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    pub event: Option<String>,
    pub data: String,
}

#[derive(Debug)]
pub struct SseDecoder {
    line: Vec<u8>,
    event: Option<String>,
    data: String,
    has_data: bool,
    max_event_bytes: usize,
}

#[derive(Debug, PartialEq, Eq)]
pub struct EventTooLarge(pub usize);

impl SseDecoder {
    pub fn new(max_event_bytes: usize) -> Self {
        Self {
            line: Vec::new(),
            event: None,
            data: String::new(),
            has_data: false,
            max_event_bytes,
        }
    }

    /// Feeds bytes; completed events are appended to `out`.
    pub fn push(&mut self, mut bytes: &[u8], out: &mut Vec<SseEvent>) -> Result<(), EventTooLarge> {
        while let Some(pos) = memchr::memchr(b'\n', bytes) {
            let Some((line, rest)) = bytes.split_at_checked(pos) else {
                break;
            };
            bytes = rest.get(1..).unwrap_or_default();
            if self.line.is_empty() {
                // The whole line arrived in this read: no copy.
                self.take_line(line.strip_suffix(b"\r").unwrap_or(line), out);
            } else {
                // The line's start came earlier: finish it in the kept buffer, which stays
                // allocated for the next one.
                let mut held = std::mem::take(&mut self.line);
                held.extend_from_slice(line);
                if held.last() == Some(&b'\r') {
                    held.pop();
                }
                self.take_line(&held, out);
                held.clear();
                self.line = held;
            }
        }
        self.line.extend_from_slice(bytes);
        if self.line.len() + self.data.len() > self.max_event_bytes {
            return Err(EventTooLarge(self.max_event_bytes));
        }
        Ok(())
    }

    /// End of input: an event not closed by a blank line still counts.
    pub fn finish(&mut self, out: &mut Vec<SseEvent>) {
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.take_line(&line, out);
        }
        self.dispatch(out);
    }

    fn take_line(&mut self, line: &[u8], out: &mut Vec<SseEvent>) {
        if line.is_empty() {
            self.dispatch(out);
            return;
        }
        if line.first() == Some(&b':') {
            return;
        }
        // Valid UTF-8 (every well-behaved upstream) is checked at full speed; the lossy
        // decoding is for the rest.
        let text = match std::str::from_utf8(line) {
            Ok(text) => std::borrow::Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(line),
        };
        let (field, value) = match text.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (text.as_ref(), ""),
        };
        match field {
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            "event" => self.event = Some(value.to_string()),
            _ => {}
        }
    }

    fn dispatch(&mut self, out: &mut Vec<SseEvent>) {
        if self.has_data {
            out.push(SseEvent {
                event: self.event.take(),
                data: std::mem::take(&mut self.data),
            });
        }
        self.event = None;
        self.has_data = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(chunks: &[&str]) -> Vec<SseEvent> {
        let mut d = SseDecoder::new(1 << 20);
        let mut out = Vec::new();
        for c in chunks {
            d.push(c.as_bytes(), &mut out).unwrap();
        }
        d.finish(&mut out);
        out
    }

    #[test]
    fn events_split_across_chunks() {
        let events = decode(&["data: {\"a\"", ":1}\n", "\ndata: [DONE]\n\n"]);
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].data, "{\"a\":1}");
        assert_eq!(events[1].data, "[DONE]");
    }

    #[test]
    fn crlf_comments_and_event_names() {
        let events = decode(&[": ping\r\n\r\nevent: message_start\r\ndata: {}\r\n\r\n"]);
        assert_eq!(
            events,
            vec![SseEvent {
                event: Some("message_start".into()),
                data: "{}".into()
            }]
        );
    }

    #[test]
    fn multi_line_data_joins_with_newline() {
        assert_eq!(decode(&["data: a\ndata: b\n\n"])[0].data, "a\nb");
    }

    #[test]
    fn oversized_event_is_an_error() {
        let mut d = SseDecoder::new(8);
        let mut out = Vec::new();
        assert_eq!(d.push(b"data: 0123456789", &mut out), Err(EventTooLarge(8)));
    }
}
