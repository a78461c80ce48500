//! The conformance check of [`SecretStore`].

use super::fixtures::*;
use crate::store::*;

/// [`SecretStore`]: the first value offered for a name is kept and
/// answered forever; names are independent.
pub fn check_secret_store<S: KdsStore>(fresh: impl Fn() -> S) -> Result<(), String> {
    let store = fresh();
    same(
        "a new secret",
        ok("secret", store.secret("a", [1; 32]))?,
        [1; 32],
    )?;
    same(
        "the secret again, offered another",
        ok("secret", store.secret("a", [2; 32]))?,
        [1; 32],
    )?;
    same(
        "another name",
        ok("secret", store.secret("b", [3; 32]))?,
        [3; 32],
    )?;
    same(
        "the first name still",
        ok("secret", store.secret("a", [4; 32]))?,
        [1; 32],
    )?;
    Ok(())
}
