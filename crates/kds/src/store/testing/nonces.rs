//! The conformance check of [`NonceStore`].

use super::fixtures::*;
use crate::store::*;

/// [`NonceStore`]: a nonce is taken once, only before it expires (its
/// expiry second included); an unknown one never.
pub fn check_nonce_store<S: KdsStore>(fresh: impl Fn() -> S) -> Result<(), String> {
    let store = fresh();
    let take = |nonce: &[u8], now| ok("take_nonce", store.take_nonce(nonce, now));
    same("an unknown nonce", take(b"never issued", 10)?, false)?;

    ok("insert_nonce", store.insert_nonce(b"n1", 100))?;
    ok("insert_nonce", store.insert_nonce(b"n2", 100))?;
    ok("insert_nonce", store.insert_nonce(b"n3", 100))?;
    same("a fresh nonce", take(b"n1", 50)?, true)?;
    same("the same nonce again", take(b"n1", 50)?, false)?;
    same("another nonce is still there", take(b"n2", 100)?, true)?;
    same("an expired nonce", take(b"n3", 101)?, false)?;
    same("a prefix of a nonce", take(b"n", 10)?, false)?;

    // A nonce issued later (nonces live minutes) clears long-expired ones,
    // never live ones.
    ok("insert_nonce", store.insert_nonce(b"live", 9_000))?;
    ok("insert_nonce", store.insert_nonce(b"late", 10_000))?;
    same(
        "a live nonce after a later one",
        take(b"live", 8_000)?,
        true,
    )?;
    same("the later nonce", take(b"late", 8_000)?, true)?;
    Ok(())
}
