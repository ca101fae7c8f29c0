//! The gateway's one error type, mapped to status and OpenAI error body in one place.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;

use crate::openai::error_body::ErrorBody;

#[derive(Debug, Clone, thiserror::Error)]
pub enum GatewayError {
    #[error("Invalid JSON payload: {0}")]
    InvalidJson(String),
    #[error("{message}")]
    InvalidRequest {
        message: String,
        param: Option<String>,
    },
    #[error("Invalid model name passed in model={model}. Call `/v1/models` to view available models for your key. Available models: {}", available.join(", "))]
    UnknownModel {
        model: String,
        available: Vec<String>,
    },
    #[error("Authentication Error, No api key passed in.")]
    MissingKey,
    #[error("Authentication Error, Invalid proxy server token passed. Check the key you sent.")]
    InvalidKey,
    #[error("Request body too large: the limit is {limit} bytes (general_settings.max_request_size_mb).")]
    PayloadTooLarge { limit: usize },
    #[error("{0}")]
    RequestTimeout(String),
    /// The gateway is at one of its own bounds; the client should come back shortly.
    #[error("{message}")]
    Overloaded { message: String, retry_after: u64 },
    #[error("Route not found: {method} {path}")]
    NotFound { method: String, path: String },
    /// An upstream or routing failure, already classified.
    #[error("{message}")]
    Upstream {
        status: u16,
        error_type: String,
        message: String,
        retry_after: Option<u64>,
    },
    #[error("Internal error: {0}")]
    Internal(String),
}

impl GatewayError {
    pub fn invalid(message: impl Into<String>, param: &str) -> Self {
        Self::InvalidRequest {
            message: message.into(),
            param: Some(param.to_string()),
        }
    }

    pub fn status(&self) -> StatusCode {
        let code = match self {
            Self::InvalidJson(_) | Self::InvalidRequest { .. } | Self::UnknownModel { .. } => 400,
            Self::MissingKey | Self::InvalidKey => 401,
            Self::PayloadTooLarge { .. } => 413,
            Self::RequestTimeout(_) => 408,
            Self::Overloaded { .. } => 503,
            Self::NotFound { .. } => 404,
            Self::Upstream { status, .. } => *status,
            Self::Internal(_) => 500,
        };
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_type(&self) -> &str {
        match self {
            Self::InvalidJson(_) | Self::InvalidRequest { .. } | Self::UnknownModel { .. } => {
                "invalid_request_error"
            }
            Self::MissingKey | Self::InvalidKey => "auth_error",
            Self::PayloadTooLarge { .. } | Self::RequestTimeout(_) => "invalid_request_error",
            Self::Overloaded { .. } => "service_unavailable_error",
            Self::NotFound { .. } => "not_found_error",
            Self::Upstream { error_type, .. } => error_type,
            Self::Internal(_) => "internal_server_error",
        }
    }

    fn param(&self) -> Option<&str> {
        match self {
            Self::InvalidJson(_) => Some("request_body"),
            Self::InvalidRequest { param, .. } => param.as_deref(),
            Self::UnknownModel { .. } => Some("model"),
            Self::PayloadTooLarge { .. } | Self::RequestTimeout(_) => Some("request_body"),
            _ => None,
        }
    }

    /// The OpenAI error object: `{"error": {"message", "type", "param", "code"}}`.
    pub fn body(&self) -> serde_json::Value {
        let message = self.to_string();
        ErrorBody::new(
            &message,
            self.error_type(),
            self.param(),
            self.status().as_u16(),
        )
        .to_value()
    }

    pub fn response(&self, call_id: &str) -> HttpResponse {
        let mut builder = HttpResponse::build(self.status());
        builder.insert_header(("x-litellm-call-id", call_id));
        let retry_after = match self {
            Self::Upstream {
                retry_after: Some(secs),
                ..
            }
            | Self::Overloaded {
                retry_after: secs, ..
            } => Some(*secs),
            _ => None,
        };
        if let Some(secs) = retry_after {
            builder.insert_header(("retry-after", secs.to_string()));
        }
        builder.json(self.body())
    }
}
