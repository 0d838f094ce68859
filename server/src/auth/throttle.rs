//! Failed-login throttling per source address and user name: after
//! [`MAX_FAILURES`] failures within [`WINDOW`], further attempts for that pair
//! are refused without checking the credentials until the window ends.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures allowed per source and user within [`WINDOW`].
pub const MAX_FAILURES: u32 = 10;
/// How long failures are remembered.
pub const WINDOW: Duration = Duration::from_secs(300);
/// Pairs remembered at most (the oldest windows are dropped past this).
const CAPACITY: usize = 100_000;

/// Who is logging in: the client's address (when known) and the user name.
type Attempt = (Option<IpAddr>, String);

/// Failures so far and when the window began.
type Failures = (u32, Instant);

/// Failure counts by (source, user).
#[derive(Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<Attempt, Failures>>,
}

impl LoginThrottle {
    /// `Err(retry after)` when the pair has failed too often lately.
    pub fn check(&self, source: Option<IpAddr>, user: &str) -> Result<(), Duration> {
        let failures = self.failures.lock().expect("throttle lock");
        match failures.get(&(source, user.to_owned())) {
            Some((count, since)) if *count >= MAX_FAILURES && since.elapsed() < WINDOW => {
                Err(WINDOW - since.elapsed())
            }
            _ => Ok(()),
        }
    }

    /// Counts a failure.
    pub fn failed(&self, source: Option<IpAddr>, user: &str) {
        let mut failures = self.failures.lock().expect("throttle lock");
        if failures.len() >= CAPACITY {
            failures.retain(|_, (_, since)| since.elapsed() < WINDOW);
        }
        let entry = failures
            .entry((source, user.to_owned()))
            .or_insert((0, Instant::now()));
        if entry.1.elapsed() >= WINDOW {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
    }

    /// Forgets a pair's failures after a success.
    pub fn succeeded(&self, source: Option<IpAddr>, user: &str) {
        self.failures
            .lock()
            .expect("throttle lock")
            .remove(&(source, user.to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pair_is_refused_after_too_many_failures_and_others_are_not() {
        let throttle = LoginThrottle::default();
        let ip: Option<IpAddr> = Some("10.1.2.3".parse().unwrap());
        for _ in 0..MAX_FAILURES {
            assert!(throttle.check(ip, "alice").is_ok());
            throttle.failed(ip, "alice");
        }
        let wait = throttle.check(ip, "alice").unwrap_err();
        assert!(wait <= WINDOW && wait > WINDOW - Duration::from_secs(5));
        assert!(throttle.check(ip, "bob").is_ok(), "another user");
        assert!(
            throttle
                .check(Some("10.9.9.9".parse().unwrap()), "alice")
                .is_ok(),
            "another source"
        );
    }

    #[test]
    fn a_success_clears_the_count() {
        let throttle = LoginThrottle::default();
        for _ in 0..MAX_FAILURES - 1 {
            throttle.failed(None, "carol");
        }
        throttle.succeeded(None, "carol");
        throttle.failed(None, "carol");
        assert!(throttle.check(None, "carol").is_ok());
    }
}
