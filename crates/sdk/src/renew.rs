//! Credential renewal: the KDS certifies this device's participant keys
//! again before their credentials run out.
//!
//! A credential lives 75 days (the KDS's `credential_lifetime_secs`), and
//! a KeyPackage is worth something only while its credential has at least
//! 30 days left: the KDS refuses to store one with less (KDS-KP-2) and a
//! peer refuses to claim one (CRED-LIFE-1). A device that never renewed
//! could not be added to new conversations after about 45 days, and its
//! groups would see an expired credential after 75.
//!
//! Renewal is a re-enrolment of the same device id with the device's
//! current token as bearer (KDS-ENR-8): a fresh carrier proof for the same
//! participant keys (the app supplies the subscriber token, the SDK cannot
//! make one), the KDS's nonce, the platform's attestation where the app
//! has one. In one transaction the KDS issues new credentials and a new
//! token, revokes the old credentials and drops every KeyPackage made
//! under them. The device then keeps the new token, installs the new
//! chains (the client core checks them), uploads a full stock of
//! KeyPackages under the new credentials, and makes the credential's
//! presentation due in every conversation, so the next
//! [`crate::Messenger::maintain`] commits it everywhere (RCC.16: the
//! credential is presented in every group).
//!
//! **The same keys, not a key roll.** The participant keys stay: the P-256
//! key lives in the platform's key store (Android Keystore / Secure
//! Enclave) where a roll means a new hardware key, a new attestation and
//! an MLS leaf whose signature key changes in every group; contacts'
//! safety numbers and key-transparency proofs are over the keys, so
//! renewing the same keys changes neither (no "key changed" for anyone).
//! A compromised key is not healed by renewal: that needs a new device
//! (`enroll` with `replace`).

use std::sync::Arc;

use crosslock_client::Device;
use crosslock_client::credential::{PhoneNumber, UnverifiedCredential};
use crosslock_wire::api::B64;
use crosslock_wire::api::kds::{EnrollRequest, EnrollResponse};

use crate::enroll::{self, Attester};
use crate::error::SdkError;
use crate::events::Event;
use crate::keypackages;
use crate::lifecycle::{self, Maintained};
use crate::messenger::Messenger;
use crate::token;

/// Renewal is due when the installed credentials have less than this left
/// (40 days): ten days before the 30-day floor under which the KDS stops
/// taking the device's KeyPackages (KDS-KP-2) and peers stop claiming them
/// (CRED-LIFE-1), for a phone that is offline or a user who must be asked.
pub const RENEW_BELOW_SECS: u64 = 40 * 86_400;

/// How soon the lifecycle asks for a subscriber token again after an
/// attempt that did not renew (seconds).
const RETRY_SECS: u64 = 3_600;

/// How often, at most, [`Event::CredentialRenewalDue`] is raised.
const NOTIFY_SECS: u64 = 86_400;

/// SDK-RENEW-1: how much longer than [`RENEW_BELOW_SECS`] renewed
/// credentials must live (a day): anything shorter would make renewal due
/// again at once, and every renewal costs a carrier proof, a full
/// KeyPackage stock and a commit in every conversation.
pub const RENEWED_MARGIN_SECS: u64 = 86_400;

/// Where the lifecycle gets a subscriber token when the credentials are
/// due for renewal ([`crate::Options::subscriber_tokens`]).
pub trait SubscriberTokens: Send + Sync {
    /// A subscriber token for `number` from its carrier (on a phone, from
    /// the carrier's entitlement server, silently where it can), or
    /// `None` when only the user can get one: the SDK then raises
    /// [`Event::CredentialRenewalDue`] and the app calls
    /// [`crate::Messenger::renew_credentials`] itself. An error is
    /// reported in [`Maintained::failed`]. Asked at most once an hour
    /// while renewal is due, from the lifecycle's task.
    fn subscriber_token(&self, number: &PhoneNumber) -> Result<Option<String>, String>;

    /// The platform's device attestation for the renewal, where the app
    /// has one (a KDS that requires attestation requires it here too).
    fn attester(&self) -> Option<&dyn Attester> {
        None
    }
}

/// What a renewal did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Renewed {
    /// Credential chains installed (one per participant key).
    pub credentials: usize,
    /// When the new credentials expire (Unix seconds).
    pub expires_at: u64,
    /// Conversations where the new credential is now due to be presented
    /// (the next `maintain` commits it in each one that is active).
    pub conversations: usize,
    /// KeyPackages uploaded under the new credentials (the KDS dropped
    /// the old ones).
    pub key_packages: usize,
    /// Why the KeyPackage upload failed, if it did: the credentials are
    /// renewed all the same, and the device has no KeyPackages at the KDS
    /// until an upload succeeds.
    pub key_packages_failed: Option<String>,
}

/// When the installed credentials expire: the earliest notAfter of the
/// chains this device presents.
pub(crate) fn expires_at(device: &Device) -> Result<u64, SdkError> {
    let mut earliest = u64::MAX;
    for suite in device.suites() {
        let chain = device.credential_chain(*suite);
        let leaf = chain
            .first()
            .ok_or_else(|| SdkError::internal("a suite without a credential"))?;
        let credential = UnverifiedCredential::parse(leaf)
            .map_err(|e| SdkError::internal(format!("installed credential: {e}")))?;
        earliest = earliest.min(credential.not_after());
    }
    Ok(earliest)
}

/// Re-enrols this device with its current token (KDS-ENR-8) and a fresh
/// carrier proof for its participant keys; see the module documentation.
pub(crate) async fn renew(
    m: &mut Messenger,
    subscriber_token: &str,
    attester: Option<&dyn Attester>,
) -> Result<Renewed, SdkError> {
    if m.settings.token.is_none() {
        return Err(SdkError::input(
            "this device is not enrolled; enroll it first",
        ));
    }
    // SDK-TOKEN-1: which token the KDS holds must be known before the
    // next renewal chooses another.
    token::settle(m).await.map_err(|e| {
        SdkError::network(format!(
            "the device token of an earlier renewal is not settled yet ({e}); try again later"
        ))
    })?;
    let token = m.token()?.to_owned();
    let before = expires_at(&m.device)?;
    let proof = enroll::carrier_proof(m, subscriber_token).await?;
    let nonce = m.api.nonce().await?;
    let attestation = match attester {
        Some(a) => a
            .attest(&nonce.nonce.0)
            .map_err(|e| SdkError::input(format!("device attestation: {e}")))?,
        None => None,
    };
    let request = EnrollRequest {
        nonce: nonce.nonce,
        device_id: m.device.device_id().to_owned(),
        csrs: m
            .device
            .certificate_requests()?
            .into_iter()
            .map(B64)
            .collect(),
        carrier_proof: proof.proof,
        attestation,
        replace_existing: false,
        // SDK-TOKEN-1, KDS-ENR-12: the next token, saved as pending first.
        next_token: Some(token::next(m)?),
    };
    // KDS-ENR-8: the bearer is this device's current token.
    let answer: EnrollResponse = match m.api.post("/v1/enrollment", Some(&token), &request).await {
        Ok(answer) => answer,
        Err(e) => {
            token::refused(m, &e)?;
            return Err(e);
        }
    };
    // The KDS replaced the token in the same transaction that issued the
    // credentials: the old one no longer works, so the new one is kept
    // before anything else can fail.
    token::answered(m, answer.device_token)?;
    // Whatever is installed below, the credentials the device holds now
    // are revoked only if the check refuses the new ones: renewal stays
    // required until new ones are installed.
    m.settings.lifecycle.renewal_required = true;
    m.save()?;
    let now = m.env.clock.now();
    check_answer(&m.device, &answer.credentials, before, now)?;
    let credentials = enroll::install_credentials(&mut m.device, answer.credentials)?;
    let expires_at = expires_at(&m.device)?;

    // RCC.16: the new credential is presented in every group; the next
    // `maintain` commits it in each active conversation, since its leaf
    // there does not carry the installed credential (SDK-RENEW-3), at
    // most once a day per conversation.
    let conversations = m.device.conversations()?;
    // SDK-RENEW-2: renewed now; not tried again within the hour even if
    // something asks for it.
    m.settings.lifecycle.renewal_required = false;
    m.settings.lifecycle.renewal_tried_at = now;
    m.settings.lifecycle.renewal_notified_at = 0;
    m.save()?;

    // The KDS dropped the KeyPackages made under the old credentials (the
    // last-resort ones too): its stock is empty, so this is a full one
    // (KP-STOCK-1), last resort included.
    let (key_packages, key_packages_failed) = match keypackages::refill(m).await {
        Ok(refilled) => (refilled.uploaded, None),
        Err(e) => {
            // KP-UP-1: the next KeyPackage check is due at once.
            m.settings.lifecycle.key_packages_at = 0;
            m.save()?;
            (0, Some(e.to_string()))
        }
    };
    tracing::info!(
        device = m.device.device_id(),
        expires_at,
        key_packages,
        "credentials renewed"
    );
    Ok(Renewed {
        credentials,
        expires_at,
        conversations: conversations.len(),
        key_packages,
        key_packages_failed,
    })
}

/// SDK-RENEW-1: the KDS's answer renews this device: one chain per
/// participant key, each naming this device's id, expiring later than the
/// credentials it replaces and at least [`RENEW_BELOW_SECS`] +
/// [`RENEWED_MARGIN_SECS`] from `now` (else renewal would be due again at
/// once). (The client core then checks trust, number and key for every
/// chain before it installs any, ENR-INST-1.) Nothing is installed
/// otherwise, and renewal is tried again an hour later.
fn check_answer(
    device: &Device,
    chains: &[Vec<B64>],
    before: u64,
    now: u64,
) -> Result<(), SdkError> {
    let refuse = |why: String| {
        SdkError::refused(format!(
            "the KDS's renewal answer does not renew this device ({why}); nothing was installed, renewal is tried again later"
        ))
    };
    let keys = device.participant_keys()?;
    if chains.len() != keys.len() {
        return Err(refuse(format!(
            "{} credential chains for {} participant keys",
            chains.len(),
            keys.len()
        )));
    }
    let mut covered = vec![false; keys.len()];
    for chain in chains {
        let leaf = chain
            .first()
            .ok_or_else(|| refuse("an empty chain".into()))?;
        let credential = UnverifiedCredential::parse(&leaf.0).map_err(|e| refuse(e.to_string()))?;
        let Some(i) = keys.iter().position(|k| k == credential.key()) else {
            return Err(refuse("a credential for another key".into()));
        };
        if std::mem::replace(&mut covered[i], true) {
            return Err(refuse("two credentials for one key".into()));
        }
        if !credential
            .device()
            .is_some_and(|d| d.eq_ignore_ascii_case(device.device_id()))
        {
            return Err(refuse("a credential for another device".into()));
        }
        if credential.not_after() <= before {
            return Err(refuse(
                "a credential that expires no later than the installed one".into(),
            ));
        }
        if credential.not_after() < now.saturating_add(RENEW_BELOW_SECS + RENEWED_MARGIN_SECS) {
            return Err(refuse(
                "a credential that would be due for renewal again within a day".into(),
            ));
        }
    }
    Ok(())
}

/// The lifecycle's renewal job: when the credentials have less than
/// [`RENEW_BELOW_SECS`] left, ask the app's [`SubscriberTokens`] (at most
/// hourly) and renew; when that gives nothing or fails, raise
/// [`Event::CredentialRenewalDue`] (at most daily).
pub(crate) async fn when_due(
    m: &mut Messenger,
    now: u64,
    done: &mut Maintained,
) -> Result<(), SdkError> {
    let expires_at = expires_at(&m.device)?;
    // SDK-RENEW-2: due under 40 days left, or at once when the KDS
    // revoked the installed credentials (SDK-TOKEN-1); asked at most
    // hourly.
    let due =
        expires_at.saturating_sub(now) < RENEW_BELOW_SECS || m.settings.lifecycle.renewal_required;
    if !due || !lifecycle::due(m.settings.lifecycle.renewal_tried_at, now, RETRY_SECS) {
        return Ok(());
    }
    m.settings.lifecycle.renewal_tried_at = now;
    m.save()?;
    let source: Option<Arc<dyn SubscriberTokens>> = m.subscriber_tokens.clone();
    let token = match &source {
        Some(s) => s.subscriber_token(m.device.number()),
        None => Ok(None),
    };
    match token {
        Ok(Some(token)) => {
            let attester = source.as_deref().and_then(|s| s.attester());
            match renew(m, &token, attester).await {
                Ok(renewed) => {
                    if let Some(why) = &renewed.key_packages_failed {
                        done.failed.push(("key packages", why.clone()));
                    }
                    done.renewed = Some(renewed);
                    return Ok(());
                }
                Err(e) => done.failed.push(("credential renewal", e.to_string())),
            }
        }
        Ok(None) => {}
        Err(why) => done
            .failed
            .push(("credential renewal", format!("subscriber token: {why}"))),
    }
    // SDK-RENEW-2: the app hears of it at most daily.
    if lifecycle::due(m.settings.lifecycle.renewal_notified_at, now, NOTIFY_SECS) {
        m.settings.lifecycle.renewal_notified_at = now;
        m.save()?;
        done.events.push(Event::CredentialRenewalDue { expires_at });
    }
    Ok(())
}
