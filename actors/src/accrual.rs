//! Failure accrual: when a deployment's failures put it in cooldown, and for how long.
//! LiteLLM's rules (reference 4.1-4.4) with its surprises fixed: `allowed_fails: 3` counts as
//! 3, a cooldown during a cooldown extends the deadline instead of keeping the shorter one.

use crate::class::ErrorClass;
use crate::policy::AllowedFailsPolicy;
use crate::seconds::Seconds;

/// Settings one deployment's accrual runs with, merged from router and deployment config.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AccrualSettings {
    pub disable_cooldowns: bool,
    /// `model_info.cooldown_time` / `litellm_params.cooldown_time`.
    pub deployment_cooldown: Option<Seconds>,
    pub router_cooldown: Seconds,
    /// `allowed_fails` from the deployment, router or litellm settings (first set wins).
    pub allowed_fails: Option<u32>,
    pub router_policy: Option<AllowedFailsPolicy>,
    pub deployment_policy: Option<AllowedFailsPolicy>,
    /// The deployment's group has exactly one deployment.
    pub single: bool,
    /// Single and the group has no `fallbacks` entry.
    pub lone: bool,
}

/// What the accrual needs to know about one failed attempt.
#[derive(Clone, Copy, Debug)]
pub struct FailureFacts {
    pub class: ErrorClass,
    /// The upstream's `Retry-After`, in seconds.
    pub retry_after: Option<Seconds>,
    /// The timeout was the client's own (`timeout` in the request), so not the deployment's fault.
    pub client_timeout: bool,
}

const WINDOW_MS: u64 = 60_000;
const SLOTS: usize = 10;

#[derive(Debug, Default)]
pub struct FailureAccrual {
    settings: AccrualSettings,
    minute: u64,
    fails_this_minute: u32,
    window_start_ms: u64,
    window_fails: [u32; SLOTS + 1],
}

impl FailureAccrual {
    pub fn new(settings: AccrualSettings) -> Self {
        Self {
            settings,
            ..Self::default()
        }
    }

    /// A reloaded config's settings; the failures counted so far stay.
    pub fn set_settings(&mut self, settings: AccrualSettings) {
        self.settings = settings;
    }

    fn roll_minute(&mut self, now_ms: u64) {
        let minute = now_ms / 60_000;
        if minute != self.minute {
            self.minute = minute;
            self.fails_this_minute = 0;
        }
        if now_ms.saturating_sub(self.window_start_ms) >= WINDOW_MS {
            self.window_start_ms = now_ms;
            self.window_fails = [0; SLOTS + 1];
        }
    }

    /// Records a failure; returns the cooldown length in milliseconds when one starts.
    /// Successes are counted lock-free in the deployment's gate and passed in here, so a
    /// successful request never has to message the deployment actor.
    pub fn on_failure(
        &mut self,
        now_ms: u64,
        facts: FailureFacts,
        successes_this_minute: u32,
    ) -> Option<u64> {
        self.roll_minute(now_ms);
        self.fails_this_minute += 1;
        let s = &self.settings;
        if s.disable_cooldowns || (facts.class == ErrorClass::Timeout && facts.client_timeout) {
            return None;
        }
        let seconds = s
            .deployment_cooldown
            .or(facts.retry_after)
            .unwrap_or(s.router_cooldown);
        if seconds.get() <= 0.0 {
            return None;
        }
        let deployment_entry = s
            .deployment_policy
            .as_ref()
            .and_then(|p| p.allowed_for(facts.class));
        if !facts.class.may_cool_down() && deployment_entry.is_none() {
            return None;
        }
        let cool = if s.allowed_fails.is_none()
            && s.router_policy.is_none()
            && s.deployment_policy.is_none()
        {
            self.default_rule(facts.class, successes_this_minute)
        } else {
            self.policy_rule(facts.class, deployment_entry)
        };
        if !cool {
            return None;
        }
        self.window_fails = [0; SLOTS + 1];
        Some(seconds.millis())
    }

    /// LiteLLM's default path: rate limits and error rates, with no counting of allowed fails.
    fn default_rule(&self, class: ErrorClass, successes: u32) -> bool {
        let single = self.settings.single;
        let fails = self.fails_this_minute;
        let calls = fails + successes;
        match class {
            ErrorClass::RateLimit if !single => return true,
            ErrorClass::Authentication | ErrorClass::NotFound => return true,
            ErrorClass::PaymentRequired if !single => return true,
            _ => {}
        }
        if calls >= 1000 && fails == calls {
            return true;
        }
        !single && calls >= 5 && fails * 2 > calls
    }

    /// The counting path: cool down once failures in the window exceed what is allowed.
    fn policy_rule(&mut self, class: ErrorClass, deployment_entry: Option<u32>) -> bool {
        let s = &self.settings;
        let router_entry = s.router_policy.as_ref().and_then(|p| p.allowed_for(class));
        let entry = deployment_entry.or(router_entry);
        if s.lone && entry.is_none() {
            return false;
        }
        let allowed = entry.or(s.allowed_fails).unwrap_or(3);
        let slot = if s.deployment_policy.is_some() {
            AllowedFailsPolicy::counter_slot(class)
        } else {
            SLOTS
        };
        match self.window_fails.get_mut(slot) {
            Some(fails) => {
                *fails += 1;
                *fails > allowed
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::AllowedFailsKey;

    fn fail(class: ErrorClass) -> FailureFacts {
        FailureFacts {
            class,
            retry_after: None,
            client_timeout: false,
        }
    }

    fn shared() -> AccrualSettings {
        AccrualSettings {
            router_cooldown: Seconds::whole(5),
            ..AccrualSettings::default()
        }
    }

    #[test]
    fn rate_limit_cools_a_shared_deployment_at_once() {
        let mut a = FailureAccrual::new(shared());
        assert_eq!(a.on_failure(1, fail(ErrorClass::RateLimit), 0), Some(5_000));
    }

    #[test]
    fn rate_limit_never_cools_a_single_deployment_by_default() {
        let mut a = FailureAccrual::new(AccrualSettings {
            single: true,
            ..shared()
        });
        assert_eq!(a.on_failure(1, fail(ErrorClass::RateLimit), 0), None);
    }

    #[test]
    fn auth_error_cools_even_a_single_deployment() {
        let mut a = FailureAccrual::new(AccrualSettings {
            single: true,
            lone: true,
            ..shared()
        });
        assert!(a
            .on_failure(1, fail(ErrorClass::Authentication), 0)
            .is_some());
    }

    #[test]
    fn bad_request_never_cools() {
        let mut a = FailureAccrual::new(AccrualSettings {
            allowed_fails: Some(0),
            ..shared()
        });
        assert_eq!(a.on_failure(1, fail(ErrorClass::BadRequest), 0), None);
    }

    #[test]
    fn allowed_fails_three_means_three() {
        let mut a = FailureAccrual::new(AccrualSettings {
            allowed_fails: Some(3),
            ..shared()
        });
        for _ in 0..3 {
            assert_eq!(a.on_failure(1, fail(ErrorClass::InternalServer), 0), None);
        }
        assert!(a
            .on_failure(1, fail(ErrorClass::InternalServer), 0)
            .is_some());
    }

    #[test]
    fn allowed_fails_window_is_a_minute() {
        let mut a = FailureAccrual::new(AccrualSettings {
            allowed_fails: Some(1),
            ..shared()
        });
        assert_eq!(a.on_failure(1, fail(ErrorClass::InternalServer), 0), None);
        assert_eq!(
            a.on_failure(60_001, fail(ErrorClass::InternalServer), 0),
            None
        );
        assert!(a
            .on_failure(60_002, fail(ErrorClass::InternalServer), 0)
            .is_some());
    }

    #[test]
    fn policy_entry_per_class() {
        let mut policy = AllowedFailsPolicy::default();
        policy.set(AllowedFailsKey::RateLimit, 2);
        let mut a = FailureAccrual::new(AccrualSettings {
            router_policy: Some(policy),
            ..shared()
        });
        assert_eq!(a.on_failure(1, fail(ErrorClass::RateLimit), 0), None);
        assert_eq!(a.on_failure(1, fail(ErrorClass::RateLimit), 0), None);
        assert!(a.on_failure(1, fail(ErrorClass::RateLimit), 0).is_some());
    }

    #[test]
    fn lone_deployment_without_policy_entry_stays_up() {
        let mut policy = AllowedFailsPolicy::default();
        policy.set(AllowedFailsKey::RateLimit, 0);
        let mut a = FailureAccrual::new(AccrualSettings {
            router_policy: Some(policy),
            single: true,
            lone: true,
            ..shared()
        });
        for _ in 0..10 {
            assert_eq!(a.on_failure(1, fail(ErrorClass::InternalServer), 0), None);
        }
        assert!(a.on_failure(1, fail(ErrorClass::RateLimit), 0).is_some());
    }

    #[test]
    fn deployment_cooldown_beats_retry_after_beats_router() {
        let mut a = FailureAccrual::new(shared());
        let facts = FailureFacts {
            retry_after: Some(Seconds::whole(1)),
            ..fail(ErrorClass::RateLimit)
        };
        assert_eq!(a.on_failure(1, facts, 0), Some(1_000));
        let mut b = FailureAccrual::new(AccrualSettings {
            deployment_cooldown: Some(Seconds::whole(9)),
            ..shared()
        });
        assert_eq!(b.on_failure(1, facts, 0), Some(9_000));
    }

    #[test]
    fn client_timeouts_do_not_cool() {
        let mut a = FailureAccrual::new(AccrualSettings {
            allowed_fails: Some(0),
            ..shared()
        });
        let facts = FailureFacts {
            client_timeout: true,
            ..fail(ErrorClass::Timeout)
        };
        assert_eq!(a.on_failure(1, facts, 0), None);
    }

    #[test]
    fn high_failure_rate_cools_a_shared_deployment() {
        let mut a = FailureAccrual::new(shared());
        for _ in 0..4 {
            assert_eq!(a.on_failure(1, fail(ErrorClass::InternalServer), 0), None);
        }
        assert!(a
            .on_failure(1, fail(ErrorClass::InternalServer), 0)
            .is_some());
    }

    #[test]
    fn successes_dilute_the_failure_rate() {
        let mut a = FailureAccrual::new(shared());
        for _ in 0..5 {
            assert_eq!(a.on_failure(1, fail(ErrorClass::InternalServer), 10), None);
        }
        assert!(a
            .on_failure(1, fail(ErrorClass::InternalServer), 3)
            .is_some());
    }
}
