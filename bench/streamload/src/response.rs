//! Decodes one streamed HTTP/1.1 answer as it arrives (head, chunked or length-delimited or
//! close-delimited body, SSE lines) and checks that the chunks come complete and in order.

use crate::upstream::find;

enum Body {
    Head,
    Chunked {
        size_line: Vec<u8>,
        left: usize,
        crlf: usize,
    },
    Length(usize),
    UntilClose,
    Ended,
}

pub struct Check {
    head: Vec<u8>,
    body: Body,
    line: Vec<u8>,
    last_chunk: bool,
    pub status: u16,
    pub next_index: u64,
    pub done: bool,
    pub error: Option<String>,
}

impl Check {
    pub fn new() -> Self {
        Self {
            head: Vec::new(),
            body: Body::Head,
            line: Vec::new(),
            last_chunk: false,
            status: 0,
            next_index: 0,
            done: false,
            error: None,
        }
    }

    /// True once the answer is over: `[DONE]` seen and the body ended, or an error.
    pub fn finished(&self) -> bool {
        self.error.is_some() || (self.done && matches!(self.body, Body::Ended | Body::UntilClose))
    }

    pub fn feed(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() && self.error.is_none() {
            bytes = match &mut self.body {
                Body::Head => self.take_head(bytes),
                Body::Length(left) => {
                    let n = (*left).min(bytes.len());
                    *left -= n;
                    let (data, rest) = bytes.split_at_checked(n).unwrap_or((bytes, &[]));
                    if *left == 0 {
                        self.body = Body::Ended;
                    }
                    self.sse(data);
                    rest
                }
                Body::UntilClose => {
                    self.sse(bytes);
                    &[]
                }
                Body::Chunked { .. } => self.take_chunked(bytes),
                Body::Ended => {
                    self.error = Some("bytes after the end of the answer".into());
                    &[]
                }
            };
        }
    }

    fn take_head<'a>(&mut self, bytes: &'a [u8]) -> &'a [u8] {
        let before = self.head.len();
        self.head.extend_from_slice(bytes);
        let Some(end) = find(&self.head, b"\r\n\r\n") else {
            return &[];
        };
        let head = String::from_utf8_lossy(self.head.get(..end).unwrap_or_default()).to_lowercase();
        self.status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        if self.status != 200 {
            self.error = Some(format!("status {}", self.status));
            return &[];
        }
        let header = |name: &str| {
            head.lines()
                .filter_map(|l| l.split_once(':'))
                .find(|(n, _)| n.trim() == name)
                .map(|(_, v)| v.trim().to_string())
        };
        self.body = if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
            Body::Chunked {
                size_line: Vec::new(),
                left: 0,
                crlf: 0,
            }
        } else if let Some(n) = header("content-length").and_then(|v| v.parse().ok()) {
            Body::Length(n)
        } else {
            Body::UntilClose
        };
        let used = (end + 4).saturating_sub(before);
        self.head = Vec::new();
        bytes.get(used..).unwrap_or_default()
    }

    fn take_chunked<'a>(&mut self, bytes: &'a [u8]) -> &'a [u8] {
        let Body::Chunked {
            size_line,
            left,
            crlf,
        } = &mut self.body
        else {
            return &[];
        };
        if *crlf > 0 {
            let n = (*crlf).min(bytes.len());
            *crlf -= n;
            if *crlf == 0 && self.last_chunk {
                self.body = Body::Ended;
            }
            return bytes.get(n..).unwrap_or_default();
        }
        if *left > 0 {
            let n = (*left).min(bytes.len());
            *left -= n;
            if *left == 0 {
                *crlf = 2;
            }
            let (data, rest) = bytes.split_at_checked(n).unwrap_or((bytes, &[]));
            self.sse(data);
            return rest;
        }
        let Some(eol) = bytes.iter().position(|&b| b == b'\n') else {
            size_line.extend_from_slice(bytes);
            return &[];
        };
        size_line.extend_from_slice(bytes.get(..eol).unwrap_or_default());
        let text = String::from_utf8_lossy(size_line).trim().to_string();
        size_line.clear();
        let size = text
            .split(';')
            .next()
            .and_then(|s| usize::from_str_radix(s, 16).ok());
        match size {
            // The last chunk: its CRLF (no trailers are sent here) ends the body.
            Some(0) => {
                self.body = Body::Chunked {
                    size_line: Vec::new(),
                    left: 0,
                    crlf: 2,
                };
                self.last_chunk = true;
            }
            Some(n) => *left = n,
            None => self.error = Some(format!("bad chunk size line {text:?}")),
        }
        bytes.get(eol + 1..).unwrap_or_default()
    }

    /// SSE lines: `data: {...}` with `"content":"c<index> "`, then `data: [DONE]`.
    fn sse(&mut self, data: &[u8]) {
        self.line.extend_from_slice(data);
        let mut start = 0;
        while let Some(eol) = self
            .line
            .get(start..)
            .and_then(|rest| rest.iter().position(|&b| b == b'\n'))
        {
            let line = self
                .line
                .get(start..start + eol)
                .unwrap_or_default()
                .to_vec();
            start += eol + 1;
            self.event_line(&line);
        }
        self.line.drain(..start);
    }

    fn event_line(&mut self, line: &[u8]) {
        let Some(data) = line.strip_prefix(b"data:") else {
            return;
        };
        let data = data.strip_prefix(b" ").unwrap_or(data);
        if data.starts_with(b"[DONE]") {
            self.done = true;
            return;
        }
        if self.done {
            self.error = Some("an event after [DONE]".into());
            return;
        }
        if find(data, b"\"error\"").is_some() {
            self.error = Some(format!("error event: {}", String::from_utf8_lossy(data)));
            return;
        }
        let marker = b"\"content\":\"c";
        let Some(at) = find(data, marker) else {
            return;
        };
        let digits: String = data
            .get(at + marker.len()..)
            .unwrap_or_default()
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .map(|&b| char::from(b))
            .collect();
        match digits.parse::<u64>() {
            Ok(i) if i == self.next_index => self.next_index += 1,
            Ok(i) => self.error = Some(format!("chunk {i} where {} was due", self.next_index)),
            Err(_) => self.error = Some("a chunk without its index".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(chunks: u64) -> Vec<u8> {
        let mut body = Vec::new();
        for i in 0..chunks {
            let event =
                format!("data: {{\"choices\":[{{\"delta\":{{\"content\":\"c{i} \"}}}}]}}\n\n");
            body.extend_from_slice(format!("{:x}\r\n", event.len()).as_bytes());
            body.extend_from_slice(event.as_bytes());
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(b"e\r\ndata: [DONE]\n\n\r\n0\r\n\r\n");
        let mut out = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
        out.extend_from_slice(&body);
        out
    }

    #[test]
    fn a_chunked_answer_is_complete_however_it_is_split() {
        let bytes = answer(12);
        for split in 1..bytes.len() {
            let mut check = Check::new();
            for piece in bytes.chunks(split) {
                check.feed(piece);
            }
            assert!(check.finished(), "split {split}: {:?}", check.error);
            assert_eq!(
                (check.error.clone(), check.next_index, check.done),
                (None, 12, true),
                "split {split}"
            );
        }
    }

    #[test]
    fn out_of_order_errors_and_bad_status_are_failures() {
        let swapped = String::from_utf8(answer(3)).unwrap().replace("c1 ", "c2 ");
        let mut check = Check::new();
        check.feed(swapped.as_bytes());
        assert!(check.error.unwrap().contains("chunk 2 where 1 was due"));
        let mut check = Check::new();
        check.feed(b"HTTP/1.1 429 Too Many Requests\r\ncontent-length: 0\r\n\r\n");
        assert_eq!(check.error.as_deref(), Some("status 429"));
        let mut check = Check::new();
        check.feed(b"HTTP/1.1 200 OK\r\ncontent-length: 40\r\n\r\ndata: {\"error\":{\"message\":\"x\"}}\n\n");
        assert!(check.error.unwrap().starts_with("error event"));
    }
}
