//! The conformance check of [`RateStore`].

use super::fixtures::*;
use crate::config::RateLimit;
use crate::store::*;

fn bucket(key: &[u8], burst: u32, refill_secs: u64) -> Bucket {
    Bucket {
        key: key.to_vec(),
        limit: RateLimit { burst, refill_secs },
    }
}

/// [`RateStore`]: a bucket starts full, gives `burst` tokens, refills one
/// per `refill_secs` up to `burst`, and says how long to wait; several
/// buckets give a token each or none (KDS-CLM-3).
pub fn check_rate_store<S: KdsStore>(fresh: impl Fn() -> S) -> Result<(), String> {
    let store = fresh();
    let take = |key: &[u8], now| ok("take_token", store.take_token(key, now, 3, 10));
    for i in 0..3 {
        same(
            &format!("token {i} of a full bucket"),
            take(b"a", 1000)?,
            Ok(()),
        )?;
    }
    same("an empty bucket", take(b"a", 1000)?, Err(10))?;
    same("half a token", take(b"a", 1005)?, Err(5))?;
    same("another bucket", take(b"b", 1005)?, Ok(()))?;
    same("a refilled token", take(b"a", 1010)?, Ok(()))?;
    same("empty again", take(b"a", 1010)?, Err(10))?;
    // Refills stop at the burst.
    for i in 0..3 {
        same(
            &format!("token {i} after a long pause"),
            take(b"a", 100_000)?,
            Ok(()),
        )?;
    }
    same("no more than the burst", take(b"a", 100_000)?, Err(10))?;

    // All or nothing: an empty bucket stops the others from paying.
    let store = fresh();
    let both = [bucket(b"wide", 10, 60), bucket(b"narrow", 1, 100)];
    same(
        "two buckets",
        ok("take_tokens", store.take_tokens(&both, 1000))?,
        Ok(()),
    )?;
    same(
        "the narrow one is empty",
        ok("take_tokens", store.take_tokens(&both, 1000))?,
        Err(100),
    )?;
    same(
        "the wait is the longest of the empty buckets",
        ok(
            "take_tokens",
            store.take_tokens(
                &[
                    bucket(b"wide", 10, 60),
                    bucket(b"narrow", 1, 100),
                    bucket(b"other", 0, 7),
                ],
                1050,
            ),
        )?,
        Err(50),
    )?;
    // The wide bucket paid for the accepted request only: nine tokens are
    // left.
    let mut left = 0;
    for _ in 0..10 {
        let wide = ok(
            "take_tokens",
            store.take_tokens(&[bucket(b"wide", 10, 60)], 1000),
        )?;
        left += usize::from(wide.is_ok());
    }
    same(
        "the wide bucket paid only for the accepted request",
        left,
        9,
    )?;
    same(
        "no buckets",
        ok("take_tokens", store.take_tokens(&[], 1000))?,
        Ok(()),
    )?;
    Ok(())
}
