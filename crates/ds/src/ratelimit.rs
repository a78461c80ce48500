//! In-memory token buckets (per device, per conversation). A restart
//! refills them, which only ever errs towards serving.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use crate::config::RateLimit;
use crate::error::DsError;

/// Buckets by key.
#[derive(Debug)]
pub(crate) struct Buckets {
    limit: RateLimit,
    buckets: Mutex<HashMap<Vec<u8>, (f64, Instant)>>,
}

/// Buckets kept at most; idle full ones are dropped beyond it.
const MAX_BUCKETS: usize = 100_000;

impl Buckets {
    pub(crate) fn new(limit: RateLimit) -> Self {
        Buckets {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `key`, or says when to retry.
    pub(crate) fn take(&self, key: &[u8]) -> Result<(), DsError> {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_BUCKETS {
            let limit = self.limit;
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * limit.per_second < limit.burst
            });
        }
        let (tokens, at) = buckets
            .entry(key.to_vec())
            .or_insert((self.limit.burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * self.limit.per_second)
            .min(self.limit.burst);
        *at = now;
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
    use super::*;

    #[test]
    fn burst_then_refused_per_key() {
        let b = Buckets::new(RateLimit {
            burst: 3.0,
            per_second: 0.001,
        });
        for _ in 0..3 {
            b.take(b"a").unwrap();
        }
        assert!(matches!(b.take(b"a"), Err(DsError::RateLimited { .. })));
        b.take(b"b").unwrap();
    }
}
