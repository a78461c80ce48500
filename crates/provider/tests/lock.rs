#![allow(clippy::unwrap_used, clippy::expect_used)]
//! One provider per data dir: a second one is refused with an error that
//! says what to do, and the dir is free again once the first stops.

use crosslock_profile::Environment;
use crosslock_provider::{Provider, ProviderConfig, ProviderError};

fn config() -> ProviderConfig {
    let mut config = ProviderConfig::default();
    config.provider.listen = ([127, 0, 0, 1], 0).into();
    config.provider.admin_listen = ([127, 0, 0, 1], 0).into();
    config
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_provider_on_the_same_data_dir_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let first = Provider::start(config(), dir.path(), Environment::system())
        .await
        .unwrap();
    let second = Provider::start(config(), dir.path(), Environment::system()).await;
    match second {
        Err(e @ ProviderError::DataDir { .. }) => {
            assert!(
                e.to_string().contains("another provider is using it"),
                "{e}"
            );
        }
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("two providers on one data dir"),
    }
    // Another data dir is fine meanwhile.
    let other = tempfile::tempdir().unwrap();
    Provider::start(config(), other.path(), Environment::system())
        .await
        .unwrap()
        .shutdown()
        .await;
    first.shutdown().await;
    Provider::start(config(), dir.path(), Environment::system())
        .await
        .unwrap()
        .shutdown()
        .await;
}
