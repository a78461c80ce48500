//! A synthetic Android Key Attestation, for tests and benchmarks: the test
//! attestation root of `crosslock_attest::testing` (configured in the KDS
//! instead of Google's) certifying a device's P-256 participant key with a
//! KeyDescription extension. Real phones' chains are tested in
//! crates/attest; this one lets the KDS's positive path (and its
//! throughput) be exercised with fresh keys.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use crosslock_attest::testing::TestAttestationRoot;
use crosslock_client::credential::PublicKey;
use crosslock_client::env::Environment;

/// A test attestation root: the KDS is configured with it (as
/// `roots.json`) instead of Google's.
pub(crate) struct AttestationRoot(TestAttestationRoot);

impl AttestationRoot {
    pub(crate) fn new() -> Self {
        let env = Environment::system();
        AttestationRoot(TestAttestationRoot::new(env.random(), env.now()).unwrap())
    }

    /// The root as Google's `roots.json` lists roots.
    pub(crate) fn roots_json(&self) -> String {
        self.0.roots_json()
    }

    /// An attestation chain (leaf first, DER) certifying `key` with `challenge`.
    pub(crate) fn attest(&self, key: &PublicKey, challenge: &[u8]) -> Vec<Vec<u8>> {
        self.0.attest(key.as_bytes(), challenge).unwrap()
    }
}
