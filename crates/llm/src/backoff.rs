//! When to try a failed call again.

use std::time::{Duration, SystemTime};

use rand::Rng;

/// Full-jitter exponential backoff: a uniform wait in `[0, min(max, base·2^n)]`,
/// which spreads retries of many concurrent trajectories instead of having them
/// hit a recovering endpoint in lockstep. A `Retry-After` from the endpoint wins
/// (capped by `max`), since the server knows when it will have capacity.
pub fn delay(attempt: u32, base: Duration, max: Duration, retry_after: Option<Duration>) -> Duration {
    if let Some(ra) = retry_after {
        return ra.min(max);
    }
    let ceiling = base.saturating_mul(1u32.checked_shl(attempt.min(20)).unwrap_or(u32::MAX)).min(max);
    let ms = ceiling.as_millis() as u64;
    Duration::from_millis(if ms == 0 { 0 } else { rand::rng().random_range(0..=ms) })
}

/// Parses a `Retry-After` value: delay-seconds or an HTTP date.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_wins_and_is_capped() {
        let d = delay(0, Duration::from_millis(10), Duration::from_secs(5), Some(Duration::from_secs(2)));
        assert_eq!(d, Duration::from_secs(2));
        let d = delay(0, Duration::from_millis(10), Duration::from_secs(5), Some(Duration::from_secs(60)));
        assert_eq!(d, Duration::from_secs(5));
    }

    #[test]
    fn jitter_stays_under_the_exponential_ceiling() {
        for attempt in 0..8 {
            let d = delay(attempt, Duration::from_millis(100), Duration::from_secs(3), None);
            assert!(d <= Duration::from_millis(100 * 2u64.pow(attempt)).min(Duration::from_secs(3)));
        }
    }

    #[test]
    fn parses_both_retry_after_forms() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon"), None);
    }
}
