//! The device's KeyPackages at its KDS (what anyone needs to add it to a
//! conversation), and when their secrets may be deleted.
//!
//! Rules (docs/validation-rules.md, "The SDK's KeyPackages"):
//!
//! - **KP-STOCK-1**: the stock is what the KDS says it holds
//!   (`GET /v1/keypackages/stock`), never a count kept on the device:
//!   KeyPackages claimed by someone who never used them, or an upload that
//!   failed, are gone at the KDS whatever the device thinks.
//! - **KP-LR-1**: the last-resort KeyPackages are replaced every
//!   [`LAST_RESORT_ROTATION_SECS`]; the old secrets stay until they expire.
//! - **KP-UP-1**: a batch the KDS refused as a whole loses its secrets at
//!   once; one whose fate is unknown keeps them until they expire.
//! - **KP-CAP-1**: at most [`SECRETS_CAP_FACTOR`] × the target stock of
//!   unexpired KeyPackage secrets per suite are held: a KDS that keeps
//!   saying it holds none (hostile, or drained by claims) gets no more
//!   once the phone holds that many.
//! - **KP-DEL-1**: a KeyPackage's secret is deleted by the provider's
//!   clock, not the phone's alone, and that clock is believed only within
//!   bounds ([`key_deletion_time`]).

use crosslock_client::suite::Suite;
use crosslock_client::{KeyPackageBatch, PublishedStock};
use crosslock_wire::api::kds::Stock;

use crate::enroll::upload_body;
use crate::error::SdkError;
use crate::lifecycle::due;
use crate::messenger::Messenger;
use crate::storage::Settings;

/// KP-LR-1: how often the last-resort KeyPackages are replaced (7 days).
///
/// RFC 9420 §16.8 allows reusing a "last resort" KeyPackage only so that
/// exhausting a client's KeyPackages cannot stop it being added to new
/// groups; every Welcome to it is sealed to the same HPKE init key, so
/// the time one is served is kept short (the prekey practice of GUIDE §4
/// rotates the last-resort key every few days). Half the 14-day lifetime
/// (KP-OWN-1): the KDS never serves one in its last week, so a Welcome
/// built from one claimed just before a rotation has at least 7 days to
/// arrive while its secret is still kept.
pub const LAST_RESORT_ROTATION_SECS: u64 = 7 * 86_400;

/// KP-DEL-1: how far past its expiry by the phone's clock a KeyPackage
/// secret is deleted even without a newer time from the provider (90
/// days). Longer than a credential lives (75 days): a phone clock further
/// ahead than that finds its own credential expired and cannot make
/// KeyPackages or join anything anyway.
pub const PHONE_CLOCK_HOLD_SECS: u64 = 90 * 86_400;

/// KP-DEL-1: how far ahead of the phone's clock the provider's time is
/// believed for deletion (a day): a provider time further ahead (a lying
/// or broken `as_of`) would delete secrets of KeyPackages the KDS still
/// serves.
pub const PROVIDER_CLOCK_SLACK_SECS: u64 = 86_400;

/// KP-CAP-1: the unexpired KeyPackage secrets held per suite are at most
/// this many times the target stock.
pub const SECRETS_CAP_FACTOR: usize = 3;

/// What a KeyPackage check did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Refilled {
    /// KeyPackages uploaded (single-use and last-resort).
    pub uploaded: usize,
    /// New last-resort KeyPackages were uploaded (the KDS lacked one, or
    /// KP-LR-1's rotation was due).
    pub last_resort: bool,
    /// What the KDS holds now, by its own count.
    pub stock: Stock,
}

/// The KDS's stock in the client core's terms; suites the device does
/// not know are left out.
pub fn published(stock: &Stock) -> PublishedStock {
    let suite = |code: u16| Suite::from_cipher_suite(code.into());
    PublishedStock {
        available: stock
            .available
            .iter()
            .filter_map(|(&code, &n)| Some((suite(code)?, n as usize)))
            .collect(),
        last_resort: stock.last_resort.iter().filter_map(|&c| suite(c)).collect(),
    }
}

/// KP-STOCK-1, KP-LR-1: asks the KDS what it holds and uploads what is
/// missing: up to the target per suite below the refill threshold, and
/// new last-resort KeyPackages when the KDS lacks one or the rotation is
/// due.
pub(crate) async fn refill(m: &mut Messenger) -> Result<Refilled, SdkError> {
    let now = m.env.clock.now();
    let token = m.token()?.to_owned();
    let stock = m.api.key_package_stock(&token).await?;
    let rotate = due(
        m.settings.lifecycle.last_resort_at,
        now,
        LAST_RESORT_ROTATION_SECS,
    );
    let mut order = m.device.key_packages_missing(&published(&stock), rotate);
    cap(m, &mut order)?;
    if order.is_empty() {
        return Ok(Refilled {
            stock,
            ..Refilled::default()
        });
    }
    let batch = m.device.generate_key_package_order(&order)?;
    let uploaded = batch.key_packages.len() + batch.last_resort.len();
    let last_resort = !batch.last_resort.is_empty();
    let stock = upload(m, &token, &batch).await?;
    Ok(Refilled {
        uploaded,
        last_resort,
        stock,
    })
}

/// KP-CAP-1: trims `order` so that no suite holds more than
/// [`SECRETS_CAP_FACTOR`] × the target of unexpired secrets (single-use
/// first, a last-resort KeyPackage only where one more fits).
fn cap(m: &Messenger, order: &mut crosslock_client::KeyPackageOrder) -> Result<(), SdkError> {
    let limit = SECRETS_CAP_FACTOR * m.device.key_package_policy().target_stock;
    let held = m.device.key_package_secrets()?;
    let mut capped = false;
    for (suite, n) in order.single_use.iter_mut() {
        let room = limit.saturating_sub(held.get(suite).copied().unwrap_or(0));
        if *n > room {
            *n = room;
            capped = true;
        }
    }
    order.single_use.retain(|_, n| *n > 0);
    let before = order.last_resort.len();
    order.last_resort.retain(|suite| {
        held.get(suite).copied().unwrap_or(0) + order.single_use.get(suite).copied().unwrap_or(0)
            < limit
    });
    if capped || order.last_resort.len() != before {
        tracing::warn!(
            limit,
            "the KDS keeps asking for KeyPackages: no more are made above the cap (KP-CAP-1)"
        );
    }
    Ok(())
}

/// Uploads `batch`. On success, a batch with last-resort KeyPackages
/// restarts KP-LR-1's rotation clock. KP-UP-1: a batch the KDS refused
/// (an HTTP 4xx: it refuses an upload as a whole and stores none of it,
/// KDS-KP-1) loses its secrets at once; after a timeout or a server
/// failure the KDS may hold and serve them, so they stay until they
/// expire (the maintenance purge).
pub(crate) async fn upload(
    m: &mut Messenger,
    token: &str,
    batch: &KeyPackageBatch,
) -> Result<Stock, SdkError> {
    match m
        .api
        .upload_key_packages(token, &upload_body(batch.clone()))
        .await
    {
        Ok(stock) => {
            if !batch.last_resort.is_empty() {
                m.settings.lifecycle.last_resort_at = m.env.clock.now();
                m.save()?;
            }
            Ok(stock)
        }
        Err(e) => {
            if let SdkError::Server { status, .. } = &e
                && (400..500).contains(status)
            {
                m.device.discard_key_packages(batch)?;
            }
            Err(e)
        }
    }
}

/// The provider's time as it last told it (Unix seconds): the `as_of` of
/// its own revocation list (`GET /v1/revoked`, the KDS's clock, over TLS
/// pinned to the provider's root), fetched hourly. `None` before the first
/// answer.
pub fn provider_time(settings: &Settings) -> Option<u64> {
    // The first home is this device's own provider (crate::revocations).
    let own = settings.provider.homes.first()?;
    settings
        .revocations
        .get(&own.name)
        .map(|&(as_of, _)| as_of)
        .filter(|&t| t > 0)
}

/// KP-DEL-1: the time by which the device judges its KeyPackages expired
/// when it deletes their secrets; `last` is the one used last time.
///
/// The KDS hands a KeyPackage out until its notAfter by the KDS's clock,
/// so that clock decides: a secret goes once its KeyPackage has expired
/// by the provider's latest time. The phone's clock is untrusted here (the
/// user, a false cell-network time or NTP can move it): a clock far ahead
/// would delete secrets of KeyPackages the KDS still serves, and the
/// Welcomes to them would fail. It counts only
/// [`PHONE_CLOCK_HOLD_SECS`] past expiry, so that neither a provider whose
/// time stands still (or lies) nor a phone long offline keeps secrets for
/// ever. The provider's time is believed up to
/// [`PROVIDER_CLOCK_SLACK_SECS`] ahead of the phone's clock, no further:
/// an `as_of` from far in the future (a lying or broken provider, or
/// whoever holds its TLS) would otherwise delete every secret, fresh
/// ones the KDS still serves included; both clocks must agree for that.
/// Deletion never goes back behind `last` (a phone clock set back does
/// not bring the judgement back either).
pub fn key_deletion_time(phone_now: u64, provider_time: Option<u64>, last: u64) -> u64 {
    let provider = provider_time
        .unwrap_or(0)
        .min(phone_now.saturating_add(PROVIDER_CLOCK_SLACK_SECS));
    provider
        .max(phone_now.saturating_sub(PHONE_CLOCK_HOLD_SECS))
        .max(last)
}

/// [`key_deletion_time`] for this device now.
pub(crate) fn deletion_time(m: &Messenger) -> u64 {
    key_deletion_time(
        m.env.clock.now(),
        provider_time(&m.settings),
        m.settings.lifecycle.key_package_time,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000;
    const DAY: u64 = 86_400;

    #[test]
    fn a_phone_clock_ahead_deletes_nothing_the_provider_still_serves() {
        // 60 days ahead: the provider's time decides.
        assert_eq!(key_deletion_time(NOW + 60 * DAY, Some(NOW), 0), NOW);
        // Further ahead than the hold: only what expired 90 days before
        // the phone's time.
        assert_eq!(
            key_deletion_time(NOW + 100 * DAY, Some(NOW), 0),
            NOW + 10 * DAY
        );
    }

    #[test]
    fn a_provider_clock_ahead_is_believed_only_a_day_past_the_phones() {
        // A year ahead, or the end of time: a day past the phone's clock.
        for lie in [NOW + 365 * DAY, u64::MAX] {
            assert_eq!(key_deletion_time(NOW, Some(lie), 0), NOW + DAY);
        }
        // Within the slack it is used as it is.
        assert_eq!(key_deletion_time(NOW, Some(NOW + 3_600), 0), NOW + 3_600);
        // Both a year ahead: they agree, and deletion follows.
        assert_eq!(
            key_deletion_time(NOW + 365 * DAY, Some(NOW + 365 * DAY), 0),
            NOW + 365 * DAY
        );
    }

    #[test]
    fn deletion_never_goes_back_behind_the_last_time_used() {
        assert_eq!(
            key_deletion_time(NOW - 30 * DAY, Some(NOW - 30 * DAY), NOW),
            NOW
        );
        assert_eq!(key_deletion_time(NOW, None, NOW), NOW);
    }

    #[test]
    fn a_phone_clock_behind_holds_deletion_to_a_day_past_it() {
        // The phone's own KeyPackages expire by its own clock; the
        // provider's time is believed a day past it.
        assert_eq!(
            key_deletion_time(NOW - 30 * DAY, Some(NOW), 0),
            NOW - 29 * DAY
        );
    }

    #[test]
    fn without_the_providers_time_the_phone_counts_only_past_the_hold() {
        assert_eq!(key_deletion_time(NOW, None, 0), NOW - 90 * DAY);
        // A provider whose time stands still (or lies) holds deletion
        // back by the hold at most.
        assert_eq!(
            key_deletion_time(NOW, Some(NOW - 400 * DAY), 0),
            NOW - 90 * DAY
        );
    }

    #[test]
    fn the_kds_stock_is_read_by_suite_code() {
        let stock = Stock {
            available: [(0x0001, 7), (0x004F, 3), (0xFE4C, 9)].into(),
            last_resort: vec![0x0002, 0x1234],
        };
        let p = published(&stock);
        assert_eq!(p.available.len(), 2);
        assert_eq!(p.available[&Suite::X25519Aes128], 7);
        assert_eq!(p.available[&Suite::MlKem768X25519Aes128], 3);
        assert_eq!(p.last_resort, vec![Suite::P256Aes128]);
    }
}
