//! `retry_policy` and `allowed_fails_policy`: per-error-class numbers, looked up the way LiteLLM
//! walks its exception hierarchy (most specific class first).

use crate::class::ErrorClass;

/// Keys of LiteLLM's `RetryPolicy` (`<Key>ErrorRetries`, plus `DefaultRetries`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryKey {
    BadRequest,
    Authentication,
    Timeout,
    RateLimit,
    ContentPolicyViolation,
    InternalServer,
    ServiceUnavailable,
    NotFound,
    Default,
}

impl RetryKey {
    pub const ALL: [RetryKey; 9] = [
        Self::BadRequest,
        Self::Authentication,
        Self::Timeout,
        Self::RateLimit,
        Self::ContentPolicyViolation,
        Self::InternalServer,
        Self::ServiceUnavailable,
        Self::NotFound,
        Self::Default,
    ];

    pub fn config_name(self) -> &'static str {
        match self {
            Self::BadRequest => "BadRequestErrorRetries",
            Self::Authentication => "AuthenticationErrorRetries",
            Self::Timeout => "TimeoutErrorRetries",
            Self::RateLimit => "RateLimitErrorRetries",
            Self::ContentPolicyViolation => "ContentPolicyViolationErrorRetries",
            Self::InternalServer => "InternalServerErrorRetries",
            Self::ServiceUnavailable => "ServiceUnavailableErrorRetries",
            Self::NotFound => "NotFoundErrorRetries",
            Self::Default => "DefaultRetries",
        }
    }

    /// The keys that apply to a class, most specific first (ContextWindowExceeded and
    /// PaymentRequired are BadRequest subclasses in LiteLLM; ContentPolicy falls back to it).
    fn chain(class: ErrorClass) -> &'static [RetryKey] {
        use ErrorClass as C;
        match class {
            C::BadRequest | C::ContextWindowExceeded | C::PaymentRequired => &[Self::BadRequest],
            C::ContentPolicyViolation => &[Self::ContentPolicyViolation, Self::BadRequest],
            C::Authentication => &[Self::Authentication],
            C::NotFound => &[Self::NotFound],
            C::Timeout => &[Self::Timeout],
            C::RateLimit => &[Self::RateLimit],
            C::InternalServer => &[Self::InternalServer],
            C::ServiceUnavailable => &[Self::ServiceUnavailable],
            C::PermissionDenied | C::Conflict | C::BadGateway => &[],
        }
    }
}

/// Retries per error class; `None` entries are unset.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RetryPolicy {
    values: [Option<u32>; 9],
}

impl RetryPolicy {
    pub fn set(&mut self, key: RetryKey, value: u32) {
        if let Some(slot) = self.values.get_mut(key as usize) {
            *slot = Some(value);
        }
    }

    /// The retries for a class, or `None` when the policy says nothing about it (then the
    /// router's `num_retries` and its eligibility rules apply, as in LiteLLM).
    pub fn retries_for(&self, class: ErrorClass) -> Option<u32> {
        RetryKey::chain(class)
            .iter()
            .find_map(|k| self.value(*k as usize))
            .or(self.value(RetryKey::Default as usize))
    }

    fn value(&self, slot: usize) -> Option<u32> {
        self.values.get(slot).copied().flatten()
    }
}

/// Keys of LiteLLM's `AllowedFailsPolicy` (`<Key>ErrorAllowedFails`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AllowedFailsKey {
    BadRequest,
    Authentication,
    Timeout,
    RateLimit,
    ContentPolicyViolation,
    InternalServer,
    ServiceUnavailable,
    BadGateway,
    NotFound,
}

impl AllowedFailsKey {
    pub const ALL: [AllowedFailsKey; 9] = [
        Self::BadRequest,
        Self::Authentication,
        Self::Timeout,
        Self::RateLimit,
        Self::ContentPolicyViolation,
        Self::InternalServer,
        Self::ServiceUnavailable,
        Self::BadGateway,
        Self::NotFound,
    ];

    pub fn config_name(self) -> &'static str {
        match self {
            Self::BadRequest => "BadRequestErrorAllowedFails",
            Self::Authentication => "AuthenticationErrorAllowedFails",
            Self::Timeout => "TimeoutErrorAllowedFails",
            Self::RateLimit => "RateLimitErrorAllowedFails",
            Self::ContentPolicyViolation => "ContentPolicyViolationErrorAllowedFails",
            Self::InternalServer => "InternalServerErrorAllowedFails",
            Self::ServiceUnavailable => "ServiceUnavailableErrorAllowedFails",
            Self::BadGateway => "BadGatewayErrorAllowedFails",
            Self::NotFound => "NotFoundErrorAllowedFails",
        }
    }

    fn of(class: ErrorClass) -> Option<Self> {
        use ErrorClass as C;
        Some(match class {
            C::BadRequest | C::ContextWindowExceeded | C::PaymentRequired => Self::BadRequest,
            C::ContentPolicyViolation => Self::ContentPolicyViolation,
            C::Authentication => Self::Authentication,
            C::Timeout => Self::Timeout,
            C::RateLimit => Self::RateLimit,
            C::InternalServer => Self::InternalServer,
            C::ServiceUnavailable => Self::ServiceUnavailable,
            C::BadGateway => Self::BadGateway,
            C::NotFound => Self::NotFound,
            C::PermissionDenied | C::Conflict => return None,
        })
    }
}

/// Allowed failures per error class before a cooldown; `None` entries are unset.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AllowedFailsPolicy {
    values: [Option<u32>; 9],
}

impl AllowedFailsPolicy {
    pub fn set(&mut self, key: AllowedFailsKey, value: u32) {
        if let Some(slot) = self.values.get_mut(key as usize) {
            *slot = Some(value);
        }
    }

    pub fn allowed_for(&self, class: ErrorClass) -> Option<u32> {
        AllowedFailsKey::of(class).and_then(|k| self.values.get(k as usize).copied().flatten())
    }

    /// Which counter a failure of this class bumps (per class when the policy is per deployment).
    pub fn counter_slot(class: ErrorClass) -> usize {
        AllowedFailsKey::of(class).map_or(9, |k| k as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_window_uses_bad_request_retries() {
        let mut p = RetryPolicy::default();
        p.set(RetryKey::BadRequest, 1);
        assert_eq!(p.retries_for(ErrorClass::ContextWindowExceeded), Some(1));
        assert_eq!(p.retries_for(ErrorClass::RateLimit), None);
    }

    #[test]
    fn default_retries_catch_classes_without_a_key() {
        let mut p = RetryPolicy::default();
        p.set(RetryKey::Default, 4);
        p.set(RetryKey::RateLimit, 2);
        assert_eq!(p.retries_for(ErrorClass::PermissionDenied), Some(4));
        assert_eq!(p.retries_for(ErrorClass::RateLimit), Some(2));
    }

    #[test]
    fn content_policy_falls_back_to_bad_request() {
        let mut p = RetryPolicy::default();
        p.set(RetryKey::BadRequest, 3);
        assert_eq!(p.retries_for(ErrorClass::ContentPolicyViolation), Some(3));
        p.set(RetryKey::ContentPolicyViolation, 0);
        assert_eq!(p.retries_for(ErrorClass::ContentPolicyViolation), Some(0));
    }
}
