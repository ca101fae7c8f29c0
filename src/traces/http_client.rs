//! The OTLP exporter's HTTP client. The SDK's batch processor exports from its own thread and
//! waits for each export there, so a blocking call is right: ureq, bounded by the exporter's
//! timeout, no redirects, and an answer body read up to 64 KiB (a collector says little).

use std::future::Future;
use std::io::Read;
use std::pin::Pin;
use std::time::Duration;

use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};

const MAX_ANSWER_BYTES: u64 = 64 * 1024;

#[derive(Debug)]
pub struct BlockingClient {
    agent: ureq::Agent,
}

impl BlockingClient {
    pub fn new(timeout: Duration) -> Self {
        let agent = ureq::AgentBuilder::new()
            .timeout(timeout)
            .redirects(0)
            .build();
        Self { agent }
    }

    fn send(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let (parts, body) = request.into_parts();
        let mut req = self
            .agent
            .request(parts.method.as_str(), &parts.uri.to_string());
        for (name, value) in &parts.headers {
            if let Ok(v) = value.to_str() {
                req = req.set(name.as_str(), v);
            }
        }
        let answer = match req.send_bytes(&body) {
            Ok(r) | Err(ureq::Error::Status(_, r)) => r,
            Err(e) => return Err(Box::new(e)),
        };
        let status = answer.status();
        let mut bytes = Vec::new();
        answer
            .into_reader()
            .take(MAX_ANSWER_BYTES)
            .read_to_end(&mut bytes)?;
        Ok(Response::builder()
            .status(status)
            .body(Bytes::from(bytes))?)
    }
}

// The trait is declared with `#[async_trait]`; this is its expanded form, answered at once
// (the call above already waited, on the exporter's thread).
impl HttpClient for BlockingClient {
    fn send_bytes<'life0, 'async_trait>(
        &'life0 self,
        request: Request<Bytes>,
    ) -> Pin<Box<dyn Future<Output = Result<Response<Bytes>, HttpError>> + Send + 'async_trait>>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(std::future::ready(self.send(request)))
    }
}
