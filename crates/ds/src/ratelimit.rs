//! In-memory token buckets (per device, per conversation). A restart
//! refills them, which only ever errs towards serving. Time comes from the
//! service's clock (a clock set back refills nothing until it catches up).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crosslock_profile::env::Clock;

use crate::config::RateLimit;
use crate::error::DsError;

/// Buckets by key.
#[derive(Debug)]
pub(crate) struct Buckets {
    limit: RateLimit,
    clock: Arc<dyn Clock>,
    /// Tokens left and when they were counted (Unix milliseconds).
    buckets: Mutex<HashMap<Vec<u8>, (f64, u64)>>,
}

/// Buckets kept at most; idle full ones are dropped beyond it.
const MAX_BUCKETS: usize = 100_000;

impl Buckets {
    pub(crate) fn new(limit: RateLimit, clock: Arc<dyn Clock>) -> Self {
        Buckets {
            limit,
            clock,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `key`, or says when to retry.
    pub(crate) fn take(&self, key: &[u8]) -> Result<(), DsError> {
        let now = self.clock.now_millis();
        let elapsed = |at: u64| now.saturating_sub(at) as f64 / 1000.0;
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_BUCKETS {
            let limit = self.limit;
            buckets
                .retain(|_, (tokens, at)| *tokens + elapsed(*at) * limit.per_second < limit.burst);
        }
        let (tokens, at) = buckets
            .entry(key.to_vec())
            .or_insert((self.limit.burst, now));
        *tokens = (*tokens + elapsed(*at) * self.limit.per_second).min(self.limit.burst);
        *at = (*at).max(now);
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - *tokens) / self.limit.per_second.max(f64::MIN_POSITIVE);
            Err(DsError::RateLimited {
                retry_after_secs: wait.ceil().max(1.0) as u64,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use crosslock_profile::env::ManualClock;

    use super::*;

    #[test]
    fn burst_then_refused_per_key() {
        let clock = Arc::new(ManualClock::new(1_790_000_000));
        let b = Buckets::new(
            RateLimit {
                burst: 3.0,
                per_second: 0.001,
            },
            clock,
        );
        for _ in 0..3 {
            b.take(b"a").unwrap();
        }
        assert!(matches!(b.take(b"a"), Err(DsError::RateLimited { .. })));
        b.take(b"b").unwrap();
    }

    #[test]
    fn tokens_come_back_with_the_clock() {
        let clock = Arc::new(ManualClock::new(1_790_000_000));
        let b = Buckets::new(
            RateLimit {
                burst: 2.0,
                per_second: 0.5,
            },
            clock.clone(),
        );
        b.take(b"a").unwrap();
        b.take(b"a").unwrap();
        assert!(matches!(
            b.take(b"a"),
            Err(DsError::RateLimited {
                retry_after_secs: 2
            })
        ));
        clock.advance(2);
        b.take(b"a").unwrap();
        assert!(b.take(b"a").is_err());
        // A clock set back refills nothing.
        clock.set(1_789_000_000);
        assert!(b.take(b"a").is_err());
    }
}
