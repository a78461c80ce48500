//! The conformance check of [`PushTokens`].

use super::fixtures::*;
use crate::store::*;

/// [`PushTokens`]: one token per device, replaced by the next.
pub fn check_push_tokens<S: DsStore>(fresh: impl Fn() -> S) -> Result<(), String> {
    let store = fresh();
    same(
        "no token",
        ok("push_token", store.push_token(&bob()))?,
        None,
    )?;
    ok("set_push_token", store.set_push_token(&bob(), "token-1"))?;
    same(
        "a token",
        ok("push_token", store.push_token(&bob()))?,
        Some("token-1".into()),
    )?;
    ok("set_push_token", store.set_push_token(&bob(), "token-2"))?;
    same(
        "a replaced token",
        ok("push_token", store.push_token(&bob()))?,
        Some("token-2".into()),
    )?;
    for stranger in [
        device(&bob().number, "bob-2"),
        device("+15550100009", &bob().device),
        carol(),
    ] {
        same(
            "another device's token",
            ok("push_token", store.push_token(&stranger))?,
            None,
        )?;
    }
    ok("set_push_token", store.set_push_token(&carol(), "token-2"))?;
    same(
        "a token shared by two devices",
        ok("push_token", store.push_token(&carol()))?,
        Some("token-2".into()),
    )?;
    same(
        "the first device's token",
        ok("push_token", store.push_token(&bob()))?,
        Some("token-2".into()),
    )?;
    Ok(())
}
