//! Request-rate limits per identity, modelled on ECR's API quotas: a token
//! bucket per user, refilled at `per_second` requests a second and holding at
//! most `burst`. A request that finds the bucket empty is refused with how long
//! until a token is back; nothing else about it is looked at.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Users remembered at most; past this, buckets that have filled up again
/// (idle users) are dropped, which changes nothing for them.
const CAPACITY: usize = 100_000;

/// A rate limit: sustained requests a second, and how many may come at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests a second, sustained; 0 turns limiting off.
    pub per_second: u32,
    /// Requests allowed at once after a quiet spell (at least 1).
    pub burst: u32,
}

impl RateLimit {
    /// ECR's default for most API operations: 200 a second, bursts of 400
    /// (ECR publishes these per account and region; Berth applies them per user).
    pub const DEFAULT: RateLimit = RateLimit {
        per_second: 200,
        burst: 400,
    };

    /// Whether this limit limits anything.
    pub fn is_on(self) -> bool {
        self.per_second > 0
    }
}

/// Tokens left and when they were counted.
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The buckets of every user seen lately.
pub struct RateLimiter {
    limit: RateLimit,
    buckets: Mutex<HashMap<i64, Bucket>>,
}

impl RateLimiter {
    /// A limiter applying `limit` to each user.
    pub fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            buckets: Mutex::default(),
        }
    }

    /// The limit it applies.
    pub fn limit(&self) -> RateLimit {
        self.limit
    }

    /// Takes a request's token from `user`'s bucket at `now`, or says how long
    /// until one is back.
    pub fn admit(&self, user: i64, now: Instant) -> Result<(), Duration> {
        if !self.limit.is_on() {
            return Ok(());
        }
        let rate = f64::from(self.limit.per_second);
        let burst = f64::from(self.limit.burst.max(1));
        let mut buckets = self.buckets.lock().expect("rate limiter lock");
        if buckets.len() >= CAPACITY && !buckets.contains_key(&user) {
            buckets.retain(|_, b| {
                b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * rate < burst
            });
        }
        let bucket = buckets.entry(user).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        let refill = now.saturating_duration_since(bucket.at).as_secs_f64() * rate;
        bucket.tokens = (bucket.tokens + refill).min(burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / rate))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(per_second: u32, burst: u32) -> RateLimiter {
        RateLimiter::new(RateLimit { per_second, burst })
    }

    #[test]
    fn a_burst_passes_then_the_sustained_rate() {
        let limiter = limiter(10, 5);
        let start = Instant::now();
        for _ in 0..5 {
            assert_eq!(limiter.admit(1, start), Ok(()));
        }
        let wait = limiter.admit(1, start).unwrap_err();
        assert!(
            wait <= Duration::from_millis(100) && wait > Duration::ZERO,
            "{wait:?}"
        );
        // A tenth of a second later one more token is back, and only one.
        let later = start + Duration::from_millis(100);
        assert_eq!(limiter.admit(1, later), Ok(()));
        assert!(limiter.admit(1, later).is_err());
        // Over a long quiet spell the bucket fills up to the burst, no further.
        let much_later = start + Duration::from_secs(60);
        for _ in 0..5 {
            assert_eq!(limiter.admit(1, much_later), Ok(()));
        }
        assert!(limiter.admit(1, much_later).is_err());
    }

    #[test]
    fn users_have_their_own_buckets() {
        let limiter = limiter(1, 2);
        let now = Instant::now();
        assert!(limiter.admit(1, now).is_ok());
        assert!(limiter.admit(1, now).is_ok());
        assert!(limiter.admit(1, now).is_err());
        assert!(
            limiter.admit(2, now).is_ok(),
            "another user is not held back"
        );
    }

    #[test]
    fn a_sustained_load_at_the_rate_is_never_refused() {
        let limiter = limiter(200, 400);
        let start = Instant::now();
        // 200 requests a second, evenly, for 60 seconds.
        for i in 0..12_000u64 {
            let at = start + Duration::from_micros(i * 5_000);
            assert_eq!(limiter.admit(7, at), Ok(()), "request {i}");
        }
    }

    #[test]
    fn a_full_table_forgets_idle_users_but_not_limited_ones() {
        let limiter = limiter(1, 2);
        let now = Instant::now();
        assert!(limiter.admit(0, now).is_ok());
        assert!(limiter.admit(0, now).is_ok());
        for user in 1..CAPACITY as i64 {
            assert!(limiter.admit(user, now).is_ok());
        }
        assert_eq!(limiter.buckets.lock().unwrap().len(), CAPACITY);
        // A second on, every bucket has refilled but user 0's, which is
        // still one token short: a new user drops the idle ones only.
        let later = now + Duration::from_secs(1);
        assert!(limiter.admit(CAPACITY as i64, later).is_ok());
        assert_eq!(limiter.buckets.lock().unwrap().len(), 2);
        assert!(limiter.admit(0, later).is_ok());
        assert!(limiter.admit(0, later).is_err(), "user 0 is still limited");
    }

    #[test]
    fn zero_turns_limiting_off() {
        let limiter = limiter(0, 0);
        let now = Instant::now();
        for _ in 0..10_000 {
            assert!(limiter.admit(1, now).is_ok());
        }
    }
}
