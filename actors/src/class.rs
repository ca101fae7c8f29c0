//! Error classes: every upstream or routing failure is classified once, into the classes that
//! LiteLLM's `retry_policy` and `allowed_fails_policy` speak.

/// The class of a failed attempt, in LiteLLM's exception vocabulary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    BadRequest,
    ContextWindowExceeded,
    ContentPolicyViolation,
    Authentication,
    PaymentRequired,
    PermissionDenied,
    NotFound,
    Timeout,
    Conflict,
    RateLimit,
    InternalServer,
    BadGateway,
    ServiceUnavailable,
}

impl ErrorClass {
    /// Every class, in declaration order (`index` is the position here).
    pub const ALL: [ErrorClass; 13] = [
        Self::BadRequest,
        Self::ContextWindowExceeded,
        Self::ContentPolicyViolation,
        Self::Authentication,
        Self::PaymentRequired,
        Self::PermissionDenied,
        Self::NotFound,
        Self::Timeout,
        Self::Conflict,
        Self::RateLimit,
        Self::InternalServer,
        Self::BadGateway,
        Self::ServiceUnavailable,
    ];

    pub fn index(self) -> usize {
        Self::ALL.iter().position(|c| *c == self).unwrap_or(0)
    }

    /// The class of an upstream HTTP status, before any message-based refinement.
    pub fn from_status(status: u16) -> Self {
        match status {
            400 | 422 => Self::BadRequest,
            401 => Self::Authentication,
            402 => Self::PaymentRequired,
            403 => Self::PermissionDenied,
            404 => Self::NotFound,
            408 | 504 => Self::Timeout,
            409 => Self::Conflict,
            429 => Self::RateLimit,
            502 => Self::BadGateway,
            503 => Self::ServiceUnavailable,
            s if (400..500).contains(&s) => Self::BadRequest,
            _ => Self::InternalServer,
        }
    }

    /// The status the client sees for this class (LiteLLM's proxy mapping).
    pub fn client_status(self) -> u16 {
        match self {
            Self::BadRequest | Self::ContextWindowExceeded | Self::ContentPolicyViolation => 400,
            Self::Authentication => 401,
            Self::PaymentRequired => 402,
            Self::PermissionDenied => 403,
            Self::NotFound => 404,
            Self::Timeout => 408,
            Self::Conflict => 409,
            Self::RateLimit => 429,
            Self::InternalServer => 500,
            Self::BadGateway => 502,
            Self::ServiceUnavailable => 503,
        }
    }

    /// The OpenAI-style `error.type` LiteLLM's proxy reports for this class.
    pub fn error_type(self) -> &'static str {
        match self {
            Self::BadRequest
            | Self::ContextWindowExceeded
            | Self::ContentPolicyViolation
            | Self::PaymentRequired
            | Self::Timeout
            | Self::Conflict => "invalid_request_error",
            Self::Authentication => "authentication_error",
            Self::PermissionDenied => "permission_error",
            Self::NotFound => "not_found_error",
            Self::RateLimit => "throttling_error",
            Self::InternalServer | Self::BadGateway | Self::ServiceUnavailable => {
                "internal_server_error"
            }
        }
    }

    /// LiteLLM's exception class name, used in messages users already grep for.
    pub fn name(self) -> &'static str {
        match self {
            Self::BadRequest => "BadRequestError",
            Self::ContextWindowExceeded => "ContextWindowExceededError",
            Self::ContentPolicyViolation => "ContentPolicyViolationError",
            Self::Authentication => "AuthenticationError",
            Self::PaymentRequired => "PaymentRequiredError",
            Self::PermissionDenied => "PermissionDeniedError",
            Self::NotFound => "NotFoundError",
            Self::Timeout => "Timeout",
            Self::Conflict => "ConflictError",
            Self::RateLimit => "RateLimitError",
            Self::InternalServer => "InternalServerError",
            Self::BadGateway => "BadGatewayError",
            Self::ServiceUnavailable => "ServiceUnavailableError",
        }
    }

    /// Errors that may cool a deployment down at all: LiteLLM skips 4xx other than
    /// 401, 402, 404, 408 and 429, because those are the caller's fault, not the deployment's.
    pub fn may_cool_down(self) -> bool {
        !matches!(
            self,
            Self::BadRequest
                | Self::ContextWindowExceeded
                | Self::ContentPolicyViolation
                | Self::PermissionDenied
                | Self::Conflict
        )
    }

    /// Whether a retry is worth it without a `retry_policy` entry (LiteLLM's `should_retry`):
    /// 408, 409, 429, 5xx and connection errors; 401/403 only when another deployment exists.
    pub fn retryable(self, group_size: usize) -> bool {
        match self {
            Self::Timeout | Self::Conflict | Self::RateLimit => true,
            Self::InternalServer | Self::BadGateway | Self::ServiceUnavailable => true,
            Self::Authentication | Self::PermissionDenied => group_size > 1,
            _ => false,
        }
    }
}
