//! The mls-rs configuration Crosslock runs: storage, crypto, identity and
//! rules plugged into the library's hooks.

pub(crate) mod crypto;
#[cfg(test)]
mod profile_tests;
pub(crate) mod storage;

// The RCC.16 profile the delivery service shares (crates/profile).
pub(crate) use crosslock_profile::{capabilities, extensions, identity, revocation, rules};

use mls_rs::client_builder::{
    BaseConfig, WithCryptoProvider, WithGroupStateStorage, WithIdentityProvider,
    WithKeyPackageRepo, WithMlsRules,
};

/// The full mls-rs client configuration type.
pub(crate) type MlsConfig = WithCryptoProvider<
    crypto::KeyStoreCrypto,
    WithMlsRules<
        rules::CrosslockRules,
        WithIdentityProvider<
            identity::Rcc16Identity,
            WithGroupStateStorage<
                storage::GroupStore,
                WithKeyPackageRepo<storage::KeyPackageStore, BaseConfig>,
            >,
        >,
    >,
>;

/// An mls-rs client of one suite.
pub(crate) type MlsClient = mls_rs::Client<MlsConfig>;
/// An mls-rs group.
pub(crate) type MlsGroup = mls_rs::Group<MlsConfig>;
