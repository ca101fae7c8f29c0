//! One monotonic millisecond clock for the whole process, so deadlines can live in atomics.

use std::sync::OnceLock;
use std::time::Instant;

static EPOCH: OnceLock<Instant> = OnceLock::new();

/// A duration in whole milliseconds, `u64::MAX` past half a billion years.
pub fn saturating_millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// A duration in whole microseconds, saturating.
pub fn saturating_micros(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// Milliseconds since the first call in this process (never 0, so 0 can mean "unset").
pub fn now_ms() -> u64 {
    let epoch = *EPOCH.get_or_init(Instant::now);
    saturating_millis(epoch.elapsed()).saturating_add(1)
}

/// Wall-clock milliseconds since the Unix epoch: the time instances share (Redis keys and
/// deadlines another process reads). Never used for local deadlines, which must not jump.
pub fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, saturating_millis)
}

/// A wall-clock deadline as a deadline on this process's clock.
pub fn local_from_unix(unix: u64) -> u64 {
    let (now_local, now_unix) = (now_ms(), unix_ms());
    if unix >= now_unix {
        now_local + (unix - now_unix)
    } else {
        now_local.saturating_sub(now_unix - unix).max(1)
    }
}

/// A deadline on this process's clock as a wall-clock one, for other instances.
pub fn unix_from_local(local: u64) -> u64 {
    let (now_local, now_unix) = (now_ms(), unix_ms());
    if local >= now_local {
        now_unix + (local - now_local)
    } else {
        now_unix.saturating_sub(now_local - local)
    }
}

/// Where the current wall-clock minute ends, on this process's clock: shared minute windows
/// (rpm/tpm keys) are wall-clock minutes, the same on every instance.
pub fn local_end_of_unix_minute() -> u64 {
    let unix = unix_ms();
    local_from_unix((unix / 60_000 + 1) * 60_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_convert_between_local_and_wall_clock() {
        let local = now_ms() + 30_000;
        let unix = unix_from_local(local);
        assert!(unix.abs_diff(unix_ms() + 30_000) < 50);
        assert!(local_from_unix(unix).abs_diff(local) < 50);
        let end = local_end_of_unix_minute();
        let left = end - now_ms();
        assert!(left <= 60_000 && left.abs_diff(60_000 - unix_ms() % 60_000) < 50);
        assert!(
            local_from_unix(0) >= 1,
            "a long-past deadline stays a valid, past one"
        );
    }
}
