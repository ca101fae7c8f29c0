//! AWS event-stream framing (`application/vnd.amazon.eventstream`), as ConverseStream sends
//! it: each message is `total_len u32 | headers_len u32 | prelude_crc u32 | headers | payload |
//! message_crc u32`, big-endian, CRC-32 from crc32fast. Sizes are checked at the prelude, so a
//! frame claiming gigabytes is refused before anything is buffered.

use crate::providers::sse::{EventTooLarge, SseEvent};

/// Prelude (12 bytes) and the trailing CRC.
const OVERHEAD: usize = 16;

/// A frame that is not well formed: the stream cannot be read further.
#[derive(Debug, PartialEq, Eq)]
pub enum FrameError {
    TooLarge(usize),
    Corrupt(&'static str),
}

pub struct EventStreamDecoder {
    buf: Vec<u8>,
    max: usize,
    failed: bool,
}

fn be32(b: &[u8], at: usize) -> Option<usize> {
    let bytes: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
    usize::try_from(u32::from_be_bytes(bytes)).ok()
}

/// The frame's headers we read: message type, event or exception type, error code/message.
#[derive(Default, Debug)]
struct Headers {
    message_type: Option<String>,
    event_type: Option<String>,
    exception_type: Option<String>,
    error_code: Option<String>,
    error_message: Option<String>,
}

fn read_headers(mut h: &[u8]) -> Result<Headers, FrameError> {
    let bad = FrameError::Corrupt("a header is malformed");
    let mut out = Headers::default();
    while !h.is_empty() {
        let (&name_len, rest) = h.split_first().ok_or(FrameError::Corrupt("header"))?;
        let name_len = usize::from(name_len);
        let name = rest
            .get(..name_len)
            .ok_or(FrameError::Corrupt("header name"))?;
        let name = std::str::from_utf8(name).map_err(|_| FrameError::Corrupt("header name"))?;
        let rest = rest.get(name_len..).ok_or(FrameError::Corrupt("header"))?;
        let (&kind, rest) = rest
            .split_first()
            .ok_or(FrameError::Corrupt("header type"))?;
        let (value, rest): (Option<String>, &[u8]) = match kind {
            0 | 1 => (None, rest),
            2 => (None, rest.get(1..).ok_or(FrameError::Corrupt("header"))?),
            3 => (None, rest.get(2..).ok_or(FrameError::Corrupt("header"))?),
            4 => (None, rest.get(4..).ok_or(FrameError::Corrupt("header"))?),
            5 | 8 => (None, rest.get(8..).ok_or(FrameError::Corrupt("header"))?),
            9 => (None, rest.get(16..).ok_or(FrameError::Corrupt("header"))?),
            6 | 7 => {
                let len_bytes: [u8; 2] = rest
                    .get(..2)
                    .and_then(|b| b.try_into().ok())
                    .ok_or(FrameError::Corrupt("header length"))?;
                let len = usize::from(u16::from_be_bytes(len_bytes));
                let value = rest
                    .get(2..2 + len)
                    .ok_or(FrameError::Corrupt("header value"))?;
                let text = (kind == 7)
                    .then(|| String::from_utf8(value.to_vec()).ok())
                    .flatten();
                (
                    text,
                    rest.get(2 + len..).ok_or(FrameError::Corrupt("header"))?,
                )
            }
            _ => return Err(bad),
        };
        match name {
            ":message-type" => out.message_type = value,
            ":event-type" => out.event_type = value,
            ":exception-type" => out.exception_type = value,
            ":error-code" => out.error_code = value,
            ":error-message" => out.error_message = value,
            _ => {}
        }
        h = rest;
    }
    Ok(out)
}

impl EventStreamDecoder {
    pub fn new(max: usize) -> Self {
        Self {
            buf: Vec::new(),
            max,
            failed: false,
        }
    }

    /// One complete frame from the front of the buffer, if there is one.
    fn next_frame(&mut self) -> Result<Option<SseEvent>, FrameError> {
        if self.buf.len() < 12 {
            return Ok(None);
        }
        let (Some(total), Some(headers_len), Some(prelude_crc)) =
            (be32(&self.buf, 0), be32(&self.buf, 4), be32(&self.buf, 8))
        else {
            return Ok(None);
        };
        let prelude = self.buf.get(..8).unwrap_or_default();
        if usize::try_from(crc32fast::hash(prelude)).ok() != Some(prelude_crc) {
            return Err(FrameError::Corrupt("prelude checksum mismatch"));
        }
        if total < OVERHEAD || headers_len > total - OVERHEAD {
            return Err(FrameError::Corrupt("frame lengths are inconsistent"));
        }
        if total > self.max {
            return Err(FrameError::TooLarge(self.max));
        }
        if self.buf.len() < total {
            return Ok(None);
        }
        let frame: Vec<u8> = self.buf.drain(..total).collect();
        let (body, crc) = frame
            .split_at_checked(total - 4)
            .ok_or(FrameError::Corrupt("frame"))?;
        if usize::try_from(crc32fast::hash(body)).ok() != be32(crc, 0) {
            return Err(FrameError::Corrupt("message checksum mismatch"));
        }
        let headers = body
            .get(12..12 + headers_len)
            .ok_or(FrameError::Corrupt("headers"))?;
        let payload = body.get(12 + headers_len..).unwrap_or_default();
        let h = read_headers(headers)?;
        let payload = String::from_utf8_lossy(payload).into_owned();
        // The event name carries the message type: `contentBlockDelta`, `exception:<type>`,
        // `error:<code>` (whose message is in a header, not the payload).
        let (event, data) = match h.message_type.as_deref() {
            Some("exception") => (
                format!("exception:{}", h.exception_type.unwrap_or_default()),
                payload,
            ),
            Some("error") => (
                format!("error:{}", h.error_code.unwrap_or_default()),
                h.error_message.unwrap_or(payload),
            ),
            _ => (h.event_type.unwrap_or_default(), payload),
        };
        Ok(Some(SseEvent {
            event: Some(event),
            data,
        }))
    }

    pub fn push(&mut self, bytes: &[u8], out: &mut Vec<SseEvent>) -> Result<(), EventTooLarge> {
        if self.failed {
            return Ok(());
        }
        self.buf.extend_from_slice(bytes);
        loop {
            match self.next_frame() {
                Ok(Some(ev)) => out.push(ev),
                Ok(None) => return Ok(()),
                Err(FrameError::TooLarge(max)) => {
                    self.failed = true;
                    return Err(EventTooLarge(max));
                }
                Err(FrameError::Corrupt(what)) => {
                    // Surfaced as an event the translator turns into an error: never skipped.
                    self.failed = true;
                    self.buf.clear();
                    out.push(SseEvent {
                        event: Some("corrupt".into()),
                        data: what.to_string(),
                    });
                    return Ok(());
                }
            }
        }
    }

    /// Bytes left over at the end are a frame cut short: reported as a corrupt event.
    pub fn finish(&mut self, out: &mut Vec<SseEvent>) {
        if !self.failed && !self.buf.is_empty() {
            self.failed = true;
            out.push(SseEvent {
                event: Some("corrupt".into()),
                data: "the stream ended inside a frame".into(),
            });
        }
    }
}

/// Encodes one frame (string headers only), for the tests' mock upstream and known answers.
#[cfg(test)]
pub fn encode(headers: &[(&str, &str)], payload: &[u8]) -> Vec<u8> {
    let mut h = Vec::new();
    for (name, value) in headers {
        h.push(u8::try_from(name.len()).unwrap());
        h.extend_from_slice(name.as_bytes());
        h.push(7);
        h.extend_from_slice(&u16::try_from(value.len()).unwrap().to_be_bytes());
        h.extend_from_slice(value.as_bytes());
    }
    let total = u32::try_from(OVERHEAD + h.len() + payload.len()).unwrap();
    let mut out = Vec::new();
    out.extend_from_slice(&total.to_be_bytes());
    out.extend_from_slice(&u32::try_from(h.len()).unwrap().to_be_bytes());
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_be_bytes());
    out.extend_from_slice(&h);
    out.extend_from_slice(payload);
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_be_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::string_slice)] // ASCII hex
    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// Frames built with zlib's CRC-32 and accepted by botocore's decoder.
    const DELTA: &str = "0000009f00000057c37babff0b3a6576656e742d74797065070011636f6e74656e74426c6f636b44656c74610d3a636f6e74656e742d747970650700106170706c69636174696f6e2f6a736f6e0d3a6d6573736167652d747970650700056576656e747b22636f6e74656e74426c6f636b496e646578223a302c2264656c7461223a7b2274657874223a224869227d2c2270223a2261626364227df2ace5ff";
    const THROTTLE: &str = "000000b2000000613590d5d30f3a657863657074696f6e2d747970650700137468726f74746c696e67457863657074696f6e0d3a636f6e74656e742d747970650700106170706c69636174696f6e2f6a736f6e0d3a6d6573736167652d74797065070009657863657074696f6e7b226d657373616765223a22546f6f206d616e792072657175657374732c20706c656173652077616974206265666f726520747279696e6720616761696e2e227de8ffb26a";

    #[test]
    fn known_frames_decode_fed_a_few_bytes_at_a_time() {
        let mut bytes = unhex(DELTA);
        bytes.extend(unhex(THROTTLE));
        let mut d = EventStreamDecoder::new(1 << 20);
        let mut out = Vec::new();
        for piece in bytes.chunks(7) {
            d.push(piece, &mut out).unwrap();
        }
        d.finish(&mut out);
        assert_eq!(out.len(), 2, "{out:?}");
        assert_eq!(out[0].event.as_deref(), Some("contentBlockDelta"));
        assert_eq!(
            out[0].data,
            r#"{"contentBlockIndex":0,"delta":{"text":"Hi"},"p":"abcd"}"#
        );
        assert_eq!(
            out[1].event.as_deref(),
            Some("exception:throttlingException")
        );
        assert!(out[1].data.contains("Too many requests"));
        // Our encoder (the mock's) writes the same bytes.
        let again = encode(
            &[
                (":event-type", "contentBlockDelta"),
                (":content-type", "application/json"),
                (":message-type", "event"),
            ],
            br#"{"contentBlockIndex":0,"delta":{"text":"Hi"},"p":"abcd"}"#,
        );
        assert_eq!(again, unhex(DELTA));
    }

    #[test]
    fn corrupt_cut_and_oversized_frames_are_reported_not_skipped() {
        let good = unhex(DELTA);
        let mut flipped = good.clone();
        flipped[40] ^= 1;
        let mut d = EventStreamDecoder::new(1 << 20);
        let mut out = Vec::new();
        d.push(&flipped, &mut out).unwrap();
        assert_eq!(out[0].event.as_deref(), Some("corrupt"));

        let mut d = EventStreamDecoder::new(1 << 20);
        let mut out = Vec::new();
        d.push(&good[..50], &mut out).unwrap();
        d.finish(&mut out);
        assert_eq!(out[0].event.as_deref(), Some("corrupt"));

        // A prelude that claims 4 GiB is refused as soon as it arrives.
        let mut huge = vec![0xff, 0xff, 0xff, 0xf0, 0, 0, 0, 0];
        let crc = crc32fast::hash(&huge);
        huge.extend_from_slice(&crc.to_be_bytes());
        let mut d = EventStreamDecoder::new(1 << 20);
        assert!(d.push(&huge, &mut Vec::new()).is_err());
    }
}
