//! Spans of time that come from outside (a client, a config, an upstream) as a checked type.
//! `Duration::from_secs_f64` panics on NaN, negative and huge values and `Instant + Duration`
//! panics on overflow; a release build with `panic = "abort"` once lost the whole process to
//! `{"timeout": 1e300}`. A `Seconds` is finite, non-negative and at most `Seconds::MAX`, so
//! every conversion and every deadline built from one is total.

use std::time::Duration;

/// A finite, non-negative number of seconds, at most [`Seconds::MAX`].
#[derive(Clone, Copy, Debug, Default, PartialEq, PartialOrd)]
pub struct Seconds(f64);

/// Why a number is not a valid span of seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecondsError {
    NotFinite,
    Negative,
    Zero,
    TooLarge,
}

impl Seconds {
    /// No span the gateway waits, caches or cools down for is longer than a year; a deadline a
    /// year ahead of any `Instant` the process can see always fits.
    pub const MAX: Self = Self(31_536_000.0);
    pub const ZERO: Self = Self(0.0);

    /// `x` when it is finite and in `0..=max` (`max` itself never above [`Seconds::MAX`]).
    pub fn within(x: f64, max: Self) -> Result<Self, SecondsError> {
        if !x.is_finite() {
            return Err(SecondsError::NotFinite);
        }
        if x < 0.0 {
            return Err(SecondsError::Negative);
        }
        if x > max.0.min(Self::MAX.0) {
            return Err(SecondsError::TooLarge);
        }
        Ok(Self(x))
    }

    /// Like [`Seconds::within`], and zero is refused too (a timeout of 0 s means nothing).
    pub fn positive_within(x: f64, max: Self) -> Result<Self, SecondsError> {
        match Self::within(x, max)? {
            s if s.0 == 0.0 => Err(SecondsError::Zero),
            s => Ok(s),
        }
    }

    /// For values an upstream sends: anything above `max` becomes `max`; NaN and negative
    /// values are nothing.
    pub fn clamped(x: f64, max: Self) -> Option<Self> {
        if x.is_nan() || x < 0.0 {
            return None;
        }
        Some(Self(x.min(max.0).min(Self::MAX.0)))
    }

    /// Whole seconds known at compile time (must be at most a year).
    pub const fn whole(secs: u32) -> Self {
        let s = secs as f64;
        if s > Self::MAX.0 {
            Self::MAX
        } else {
            Self(s)
        }
    }

    pub fn get(self) -> f64 {
        self.0
    }

    pub fn duration(self) -> Duration {
        // In range by construction; the fallback only keeps the call total.
        Duration::try_from_secs_f64(self.0).unwrap_or(Duration::ZERO)
    }

    /// Whole milliseconds (at most 3.2e10, so any `u64` arithmetic on it has room).
    pub fn millis(self) -> u64 {
        // Finite, non-negative and bounded: the cast is exact up to a millisecond's rounding.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let ms = (self.0 * 1000.0).round() as u64;
        ms
    }

    /// Whole seconds, rounded up (for `Retry-After` and Redis `EX`), at least `floor`.
    pub fn ceil_secs(self, floor: u64) -> u64 {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let s = self.0.ceil() as u64;
        s.max(floor)
    }

    pub fn min(self, other: Self) -> Self {
        if other.0 < self.0 {
            other
        } else {
            self
        }
    }
}

impl std::fmt::Display for Seconds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl SecondsError {
    /// The rule broken, for an error message: "must be at most 86400".
    pub fn explain(self, max: Seconds) -> String {
        match self {
            Self::NotFinite => "must be a finite number of seconds".into(),
            Self::Negative => "must not be negative".into(),
            Self::Zero => "must be greater than 0".into(),
            Self::TooLarge => format!("must be at most {} seconds", max.min(Seconds::MAX)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extreme_numbers_are_refused_not_panicked_on() {
        let day = Seconds::whole(86_400);
        for x in [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1e300,
            1e19,
            -1.0,
        ] {
            assert!(Seconds::within(x, day).is_err(), "{x}");
        }
        assert_eq!(
            Seconds::within(1e19, Seconds::MAX),
            Err(SecondsError::TooLarge)
        );
        assert_eq!(Seconds::positive_within(0.0, day), Err(SecondsError::Zero));
        assert_eq!(Seconds::within(0.25, day).map(Seconds::millis), Ok(250));
    }

    #[test]
    fn upstream_values_are_clamped() {
        let hour = Seconds::whole(3600);
        assert_eq!(Seconds::clamped(86_400.0, hour), Some(hour));
        assert_eq!(Seconds::clamped(f64::INFINITY, hour), Some(hour));
        assert_eq!(Seconds::clamped(f64::NAN, hour), None);
        assert_eq!(Seconds::clamped(-3.0, hour), None);
        let max = Seconds::MAX;
        let deadline = std::time::Instant::now().checked_add(max.duration());
        assert!(deadline.is_some(), "a year from now fits an Instant");
    }
}
