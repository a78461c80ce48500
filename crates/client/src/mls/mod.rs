//! The mls-rs configuration Crosslock runs: storage, crypto, identity and
//! rules plugged into the library's hooks.

pub(crate) mod capabilities;
pub(crate) mod crypto;
pub(crate) mod extensions;
pub(crate) mod identity;
#[cfg(test)]
mod profile_tests;
pub(crate) mod revocation;
pub(crate) mod rules;
pub(crate) mod storage;

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
