//! What a phone must do on its own, on a schedule: the jobs
//! [`crate::Messenger::maintain`] runs when they are due, and
//! [`crate::Messenger::run`] runs between inbox waits.
//!
//! | Job | When | Why |
//! |---|---|---|
//! | revocation lists | hourly per home | CRED-REV-1..2 |
//! | KeyPackage stock, as the KDS counts it | hourly, and when a Welcome says so | refill below 10 per suite to 100; a last-resort one per suite, replaced every 7 days (KP-STOCK-1, KP-LR-1) |
//! | `Device::maintenance` + WAL erase | daily | replay ledger, expired KeyPackage secrets (by the provider's time, KP-DEL-1), old epochs; deleted key material leaves the WAL |
//! | own transparency history | when the client core says it is due | docs/kt.md "Monitoring" |
//! | root gossip | per conversation, when due | docs/kt.md, gossip |
//! | credential refresh | every conversation at least every 25 days | RCC.16: every group at least every 30 days (a commit with a path) |
//! | credential renewal ([`crate::renew`]) | under 40 days left: asks the app's subscriber tokens hourly, else tells the app daily | CRED-LIFE-1, KDS-KP-2: KeyPackages need 30 days left |
//! | removing members whose credential expired | every run, in every conversation that has one (an hour after a failure) | CRED-EXP-1: the delivery service refuses every commit that keeps an expired credential (`expired-credential`) |

use crosslock_client::ConversationId;

use crate::error::SdkError;
use crate::events::Event;
use crate::messenger::Messenger;
use crate::renew::{self, Renewed};
use crate::revocations::Refreshed;
use crate::transparency::Monitored;
use crate::{conversations, keypackages, revocations, token, transparency};

/// How soon a job that failed is tried again (seconds).
const RETRY_SECS: u64 = 3_600;

/// SDK-RENEW-3: how often, at most, this device presents its credential in
/// one conversation (a commit with a path and a signature by the
/// participant key), whatever renewed it in between.
pub const PRESENT_AT_MOST_SECS: u64 = 86_400;

/// How often each job runs (seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// `Device::maintenance` and erasing the database's WAL.
    pub maintenance_secs: u64,
    /// Checking the KeyPackage stock.
    pub key_packages_secs: u64,
    /// Presenting the credential again in each conversation: below
    /// RCC.16's 30 days, with margin for a phone that is offline.
    pub credential_refresh_secs: u64,
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule {
            maintenance_secs: 86_400,
            key_packages_secs: 3_600,
            credential_refresh_secs: 25 * 86_400,
        }
    }
}

/// What one [`crate::Messenger::maintain`] did.
#[derive(Debug, Default)]
pub struct Maintained {
    /// Revocation lists fetched (or not).
    pub revocations: Refreshed,
    /// `Device::maintenance` ran.
    pub maintenance: bool,
    /// KeyPackages uploaded to bring the KDS's stock back to target.
    pub key_packages_uploaded: usize,
    /// New last-resort KeyPackages were uploaded (KP-LR-1).
    pub last_resort_rotated: bool,
    /// The own history was checked.
    pub monitored: Option<Monitored>,
    /// Conversations that got root gossip.
    pub gossip_sent: usize,
    /// Conversations where the credential was presented again.
    pub credentials_refreshed: Vec<ConversationId>,
    /// Conversations whose member devices with an expired credential were
    /// removed (CRED-EXP-1).
    pub expired_removed: Vec<ConversationId>,
    /// The credentials were renewed (through the app's
    /// [`crate::renew::SubscriberTokens`]).
    pub renewed: Option<Renewed>,
    /// Jobs that failed (job name, why); the rest still ran, and a failed
    /// job is tried again next time.
    pub failed: Vec<(&'static str, String)>,
    /// What the app should hear about (transparency alerts, security
    /// state changes).
    pub events: Vec<Event>,
}

/// Runs every job that is due. A job that fails is reported and tried
/// again next time; it does not stop the others (a provider that is down
/// must not stop the device from erasing old keys).
pub(crate) async fn maintain(m: &mut Messenger) -> Result<Maintained, SdkError> {
    let mut done = Maintained::default();
    let now = m.env.clock.now();
    let schedule = m.schedule;
    let enrolled = m.settings.token.is_some();

    // SDK-TOKEN-1: a renewal whose answer was lost left a token pending:
    // find out which one the KDS holds before anything uses one.
    if enrolled && let Err(e) = token::settle(m).await {
        done.failed.push(("device token", e.to_string()));
    }

    match revocations::refresh(m).await {
        Ok(r) => done.revocations = r,
        Err(e) => done.failed.push(("revocations", e.to_string())),
    }

    // KeyPackages before maintenance: the provider's time (KP-DEL-1) is
    // then as fresh as it gets.
    // KeyPackages under credentials the KDS revoked are of no use to
    // anyone: none are made until the renewal is through.
    if enrolled
        && !m.settings.lifecycle.renewal_required
        && due(
            m.settings.lifecycle.key_packages_at,
            now,
            schedule.key_packages_secs,
        )
    {
        match keypackages::refill(m).await {
            Ok(r) => {
                done.key_packages_uploaded = r.uploaded;
                done.last_resort_rotated = r.last_resort;
                m.settings.lifecycle.key_packages_at = now;
                m.save()?;
            }
            Err(e) => {
                // Tried again at the next hourly check, not on every call.
                m.settings.lifecycle.key_packages_at = now;
                m.save()?;
                done.failed.push(("key packages", e.to_string()));
            }
        }
    }

    if due(
        m.settings.lifecycle.maintained_at,
        now,
        schedule.maintenance_secs,
    ) {
        // KP-DEL-1: KeyPackage secrets go by the provider's time, not the
        // phone's clock alone.
        let key_package_time = keypackages::deletion_time(m);
        m.settings.lifecycle.key_package_time = key_package_time;
        m.device
            .maintenance_with_key_package_time(key_package_time)?;
        // Deleted key material must leave the write-ahead log too.
        if let Some(sqlite) = &m.sqlite {
            sqlite
                .erase_history()
                .map_err(|e| SdkError::internal(format!("device database: {e}")))?;
        }
        m.settings.lifecycle.maintained_at = now;
        m.save()?;
        done.maintenance = true;
    }
    if !enrolled {
        return Ok(done);
    }

    if m.device.history_check_due()? {
        match transparency::monitor(m).await {
            Ok(found) => {
                done.events.extend(
                    found
                        .new_alerts
                        .iter()
                        .cloned()
                        .map(Event::TransparencyAlert),
                );
                done.monitored = Some(found);
            }
            Err(e) => done.failed.push(("transparency monitor", e.to_string())),
        }
    }

    match transparency::gossip(m).await {
        Ok(n) => done.gossip_sent = n,
        Err(e) => done.failed.push(("transparency gossip", e.to_string())),
    }

    // Credential renewal, before the refresh below: a renewed credential
    // is presented in every conversation in this same run.
    renew::when_due(m, now, &mut done).await?;

    // SDK-TOKEN-1: while a renewal's fate is unknown, or the KDS revoked
    // the installed credentials, presenting them would only show the
    // groups a revoked credential (peers refuse such a commit).
    if m.settings.pending_token.is_some() || m.settings.lifecycle.renewal_required {
        return Ok(done);
    }

    for id in m.device.conversations()? {
        if !refresh_due(m, &id, now)? {
            continue;
        }
        let result = async {
            let pending = m.device.refresh_credential(&id)?;
            conversations::submit(m, &pending).await
        }
        .await;
        match result {
            Ok(_) => {
                done.events.push(Event::SecurityState {
                    conversation: id.clone(),
                });
                done.credentials_refreshed.push(id);
            }
            Err(e) => {
                // Tried again in an hour, not on every call: a DS that
                // keeps refusing must not get a signed commit each time
                // (the attempt was recorded by `refresh_due`).
                done.failed.push(("credential refresh", e.to_string()));
            }
        }
    }

    remove_expired(m, now, &mut done).await?;
    Ok(done)
}

/// CRED-EXP-1: in every conversation holding a member device whose
/// credential has expired, a commit removing it (any commit this device
/// makes would; this one is made at once, so the group neither keeps
/// sending to the expired device nor has its other commits refused). A
/// failure is tried again an hour later.
async fn remove_expired(
    m: &mut Messenger,
    now: u64,
    done: &mut Maintained,
) -> Result<(), SdkError> {
    for id in m.device.conversations()? {
        let key = hex::encode(id.as_bytes());
        if let Some(&failed) = m.settings.lifecycle.expired_removal_failed.get(&key)
            && !due(failed, now, RETRY_SECS)
        {
            continue;
        }
        let result = async {
            match m.device.remove_expired_members(&id)? {
                Some(pending) => conversations::submit(m, &pending).await.map(Some),
                None => Ok(None),
            }
        }
        .await;
        match result {
            Ok(None) => {}
            Ok(Some(_)) => {
                if m.settings
                    .lifecycle
                    .expired_removal_failed
                    .remove(&key)
                    .is_some()
                {
                    m.save()?;
                }
                done.events.push(Event::SecurityState {
                    conversation: id.clone(),
                });
                done.expired_removed.push(id);
            }
            Err(e) => {
                m.settings.lifecycle.expired_removal_failed.insert(key, now);
                m.save()?;
                done.failed.push(("expired members", e.to_string()));
            }
        }
    }
    Ok(())
}

/// Whether a job last done `at` is due again `every` seconds later. A
/// time in the future (the phone's clock was ahead once) counts as due:
/// a clock set back must not stop key erasure for months.
pub(crate) fn due(at: u64, now: u64, every: u64) -> bool {
    at > now || now - at >= every
}

/// Whether this device must present its credential in `id` again, and if
/// so notes the attempt (SDK-RENEW-3):
///
/// - the last time it did (its commit there, joining, or the first time
///   the lifecycle saw the conversation) is `credential_refresh_secs` ago
///   (RCC.16), or its leaf there does not carry the credential installed
///   now (a renewal, also one interrupted before it could say so) and
///   the last presentation is [`PRESENT_AT_MOST_SECS`] ago;
/// - and the lifecycle did not try within [`RETRY_SECS`].
///
/// Conversations that no longer encrypt, or that this device left, are
/// skipped.
fn refresh_due(m: &mut Messenger, id: &ConversationId, now: u64) -> Result<bool, SdkError> {
    let key = hex::encode(id.as_bytes());
    let Some(&at) = m.settings.lifecycle.credential_presented.get(&key) else {
        // First seen by the lifecycle (created before it existed): start
        // the clock now rather than committing in every group at once.
        m.settings.lifecycle.credential_presented.insert(key, now);
        m.save()?;
        return Ok(false);
    };
    let tried = m
        .settings
        .lifecycle
        .credential_tried
        .get(&key)
        .copied()
        .unwrap_or(0);
    if !due(tried, now, RETRY_SECS) || !due(at, now, PRESENT_AT_MOST_SECS) {
        return Ok(false);
    }
    let state = m.device.security_state(id)?;
    if !state.encrypted
        || state.status != crosslock_client::ConversationStatus::Active
        || state.commit_pending
    {
        return Ok(false);
    }
    let presenting = due(at, now, m.schedule.credential_refresh_secs)
        || !m.device.presents_installed_credential(id)?;
    if presenting {
        m.settings.lifecycle.credential_tried.insert(key, now);
        m.save()?;
    }
    Ok(presenting)
}
