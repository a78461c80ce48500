//! KeyPackages: batches to publish, the last-resort package, the stock
//! level, and the checks on KeyPackages we are handed.

use std::collections::BTreeMap;

use mls_rs::KeyPackage;
use mls_rs::extension::MlsCodecExtension;
use mls_rs::extension::recommended::LastResortKeyPackageExt;
use mls_rs::group::{LeafNode, LeafNodeSource};
use mls_rs::identity::Credential;
use mls_rs::mls_rs_codec::{MlsDecode, MlsEncode, MlsSize};
use mls_rs::time::MlsTime;
use mls_rs::{ExtensionList, MlsMessage};

use crate::device::Device;
use crate::error::{ClientError, internal};
use crate::mls::identity::{IdentityError, LeafIdentity, Rcc16Identity};
use crate::suite::Suite;

/// KeyPackages to upload to the KDS.
#[derive(Debug, Clone, Default)]
pub struct KeyPackageBatch {
    /// Single-use KeyPackages (MLS message bytes), by suite.
    pub key_packages: Vec<(Suite, Vec<u8>)>,
    /// Last-resort KeyPackages (one per suite), served only when the stock
    /// of single-use ones is empty.
    pub last_resort: Vec<(Suite, Vec<u8>)>,
}

/// How many unused KeyPackages this device still holds secrets for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyPackageStock {
    /// Unexpired single-use KeyPackages per suite.
    pub available: BTreeMap<Suite, usize>,
    /// Suites with an unexpired last-resort KeyPackage.
    pub last_resort: Vec<Suite>,
    /// How many to generate per suite to get back to the target, when a
    /// suite is below the refill threshold (or lacks a last-resort package).
    pub refill: BTreeMap<Suite, usize>,
}

impl KeyPackageStock {
    /// Whether the caller should generate and upload more.
    pub fn needs_refill(&self) -> bool {
        !self.refill.is_empty()
    }
}

pub(crate) fn now_mls(device: &Device) -> MlsTime {
    MlsTime::from_duration_since_epoch(std::time::Duration::from_secs(device.env.clock.now()))
}

fn is_last_resort(kp: &KeyPackage) -> bool {
    kp.extensions
        .has_extension(LastResortKeyPackageExt::extension_type())
}

/// What to generate: how many single-use KeyPackages per suite, and the
/// suites that get a new last-resort KeyPackage.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyPackageOrder {
    /// Single-use KeyPackages per suite.
    pub single_use: BTreeMap<Suite, usize>,
    /// Suites that get a new last-resort KeyPackage.
    pub last_resort: Vec<Suite>,
}

impl KeyPackageOrder {
    /// Whether there is nothing to generate.
    pub fn is_empty(&self) -> bool {
        self.single_use.values().all(|&n| n == 0) && self.last_resort.is_empty()
    }
}

/// What the KDS says it holds for this device (`GET
/// /v1/keypackages/stock`), by suite.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PublishedStock {
    /// Unexpired single-use KeyPackages per suite.
    pub available: BTreeMap<Suite, usize>,
    /// Suites with a last-resort KeyPackage.
    pub last_resort: Vec<Suite>,
}

/// Implements [`Device::generate_key_packages`].
pub(crate) fn generate_key_packages(
    device: &mut Device,
    per_suite: usize,
) -> Result<KeyPackageBatch, ClientError> {
    let stock = device.key_package_stock()?;
    let suites = device.record.suites.clone();
    let order = KeyPackageOrder {
        single_use: suites.iter().map(|&s| (s, per_suite)).collect(),
        last_resort: suites
            .into_iter()
            .filter(|s| !stock.last_resort.contains(s))
            .collect(),
    };
    generate_ordered(device, &order)
}

/// Implements [`Device::key_packages_missing`]: up to the target where
/// the KDS holds fewer than the refill threshold of a suite; a
/// last-resort KeyPackage for every suite when the KDS lacks one for any
/// suite, or when `rotate_last_resort` (all the device's last-resort
/// KeyPackages then have the same age).
pub(crate) fn missing(
    device: &Device,
    published: &PublishedStock,
    rotate_last_resort: bool,
) -> KeyPackageOrder {
    let policy = device.config.key_packages;
    let suites = &device.record.suites;
    let single_use = suites
        .iter()
        .filter_map(|&suite| {
            let held = published.available.get(&suite).copied().unwrap_or(0);
            (held < policy.refill_threshold)
                .then(|| (suite, policy.target_stock.saturating_sub(held)))
        })
        .filter(|&(_, n)| n > 0)
        .collect();
    let lacking = suites.iter().any(|s| !published.last_resort.contains(s));
    KeyPackageOrder {
        single_use,
        last_resort: if lacking || rotate_last_resort {
            suites.clone()
        } else {
            Vec::new()
        },
    }
}

/// Implements [`Device::generate_key_package_order`]: the secrets are
/// stored in one transaction.
pub(crate) fn generate_ordered(
    device: &mut Device,
    order: &KeyPackageOrder,
) -> Result<KeyPackageBatch, ClientError> {
    device.atomically(|device| {
        let mut batch = KeyPackageBatch::default();
        for &suite in &device.record.suites.clone() {
            let count = order.single_use.get(&suite).copied().unwrap_or(0);
            let last_resort = order.last_resort.contains(&suite);
            if count == 0 && !last_resort {
                continue;
            }
            let (client, now) = device.key_package_client(suite)?;
            let client = &client;
            for _ in 0..count {
                let kp = client
                    .generate_key_package_message(
                        ExtensionList::new(),
                        ExtensionList::new(),
                        Some(now),
                    )
                    .map_err(internal)?;
                batch
                    .key_packages
                    .push((suite, kp.to_bytes().map_err(internal)?));
            }
            if last_resort {
                let mut extensions = ExtensionList::new();
                extensions
                    .set_from(LastResortKeyPackageExt)
                    .map_err(internal)?;
                let kp = client
                    .generate_key_package_message(extensions, ExtensionList::new(), Some(now))
                    .map_err(internal)?;
                batch
                    .last_resort
                    .push((suite, kp.to_bytes().map_err(internal)?));
            }
        }
        Ok(batch)
    })
}

/// Implements [`Device::discard_key_packages`].
pub(crate) fn discard(device: &mut Device, batch: &KeyPackageBatch) -> Result<usize, ClientError> {
    let mut encodings = std::collections::BTreeSet::new();
    for (_, bytes) in batch.key_packages.iter().chain(&batch.last_resort) {
        let message = MlsMessage::from_bytes(bytes).map_err(internal)?;
        let kp = message
            .into_key_package()
            .ok_or_else(|| internal("not a KeyPackage"))?;
        encodings.insert(kp.mls_encode_to_vec().map_err(internal)?);
    }
    device.atomically(|device| {
        let mut removed = 0;
        for (id, data) in device.kp_store.all()? {
            if encodings.contains(&data.key_package_bytes) {
                device.kp_store.remove(&id);
                removed += 1;
            }
        }
        Ok(removed)
    })
}

impl Device {
    /// KP-OWN-1 (fact sheet §6): a client making KeyPackages that start at
    /// the credential certificate's notBefore and end `lifetime_secs`
    /// (14 days) after now; and the time to make them for (that notBefore).
    fn key_package_client(
        &self,
        suite: Suite,
    ) -> Result<(crate::mls::MlsClient, MlsTime), ClientError> {
        let now = self.env.clock.now();
        let chain = self.credential_chain(suite);
        let credential = self.config.trust.validate(&chain, now)?;
        let not_before = credential.not_before().min(now);
        let not_after = now + self.config.key_packages.lifetime_secs;
        let client = self.mls_client_with(
            suite,
            self.group_store.clone(),
            std::time::Duration::from_secs(not_after - not_before),
        )?;
        Ok((
            client,
            MlsTime::from_duration_since_epoch(std::time::Duration::from_secs(not_before)),
        ))
    }
}

/// Implements [`Device::refill_key_packages`].
pub(crate) fn refill_key_packages(device: &mut Device) -> Result<KeyPackageBatch, ClientError> {
    let stock = device.key_package_stock()?;
    let needed = stock.refill.values().copied().max().unwrap_or(0);
    if needed == 0 {
        return Ok(KeyPackageBatch::default());
    }
    device.generate_key_packages(needed)
}

/// Implements [`Device::key_package_secrets`].
pub(crate) fn secrets(device: &Device) -> Result<BTreeMap<Suite, usize>, ClientError> {
    let now = device.env.clock.now();
    let mut held: BTreeMap<Suite, usize> = BTreeMap::new();
    for (_, data) in device.kp_store.all()? {
        if data.expiration <= now {
            continue;
        }
        let Ok(kp) = KeyPackage::mls_decode(&mut data.key_package_bytes.as_slice()) else {
            continue;
        };
        if let Some(suite) = Suite::from_cipher_suite(kp.cipher_suite()) {
            *held.entry(suite).or_default() += 1;
        }
    }
    Ok(held)
}

/// Implements [`Device::key_package_stock`].
pub(crate) fn key_package_stock(device: &Device) -> Result<KeyPackageStock, ClientError> {
    let now = device.env.clock.now();
    let policy = device.config.key_packages;
    let mut stock = KeyPackageStock::default();
    let mut current: BTreeMap<Suite, Vec<u8>> = BTreeMap::new();
    for &suite in &device.record.suites {
        stock.available.insert(suite, 0);
        if let Some(leaf) = device.credential_chain(suite).into_iter().next() {
            current.insert(suite, leaf);
        }
    }
    for (_, data) in device.kp_store.all()? {
        if data.expiration <= now {
            continue;
        }
        let Ok(kp) = KeyPackage::mls_decode(&mut data.key_package_bytes.as_slice()) else {
            continue;
        };
        let Some(suite) = Suite::from_cipher_suite(kp.cipher_suite()) else {
            continue;
        };
        // A KeyPackage made under a credential this device no longer
        // presents (a re-enrolment replaced it) is not stock: the KDS
        // dropped it with the old credential (KDS-ENR-8). Its secret stays
        // until it expires, for a Welcome already on its way.
        let under_current = match &kp.signing_identity().credential {
            Credential::X509(chain) => chain
                .first()
                .is_some_and(|leaf| current.get(&suite).map(Vec::as_slice) == Some(leaf.as_ref())),
            _ => false,
        };
        if !under_current {
            continue;
        }
        if is_last_resort(&kp) {
            stock.last_resort.push(suite);
        } else {
            *stock.available.entry(suite).or_default() += 1;
        }
    }
    for (&suite, &count) in &stock.available {
        if count < policy.refill_threshold || !stock.last_resort.contains(&suite) {
            stock
                .refill
                .insert(suite, policy.target_stock.saturating_sub(count));
        }
    }
    Ok(stock)
}

impl Device {
    /// Deletes the secrets of KeyPackages expired at `at` (they can no
    /// longer be used to join: nobody may add us with them). Returns how
    /// many. `at` is the time the caller trusts for deleting key material
    /// (the SDK's KP-DEL-1), not necessarily this device's clock.
    pub(crate) fn purge_expired_key_packages(&self, at: u64) -> Result<usize, ClientError> {
        let mut purged = 0;
        for (id, data) in self.kp_store.all()? {
            if data.expiration <= at {
                self.kp_store.remove(&id);
                purged += 1;
            }
        }
        Ok(purged)
    }
}

/// (notBefore, notAfter) of a KeyPackage's leaf, Unix seconds. mls-rs
/// exposes only notAfter, so the leaf node is decoded from the encoding
/// (`version ‖ cipher_suite ‖ init_key<V> ‖ leaf_node ‖ …`, RFC 9420 §10).
pub(crate) fn lifetime(kp: &KeyPackage) -> Result<(u64, u64), ClientError> {
    let bad = |e: String| ClientError::InvalidKeyPackage(format!("lifetime: {e}"));
    let bytes = kp.mls_encode_to_vec().map_err(|e| bad(e.to_string()))?;
    let skip = 4 + kp.hpke_init_key.mls_encoded_len();
    let mut rest = bytes.get(skip..).ok_or_else(|| bad("truncated".into()))?;
    let leaf = LeafNode::mls_decode(&mut rest).map_err(|e| bad(e.to_string()))?;
    match leaf.leaf_node_source {
        LeafNodeSource::KeyPackage(l) => Ok((
            l.not_before.seconds_since_epoch(),
            l.not_after.seconds_since_epoch(),
        )),
        _ => Err(bad("not a KeyPackage leaf".into())),
    }
}

/// Decodes and checks a KeyPackage someone handed us (from a KDS claim): a
/// supported suite, not expired, a lifetime within our maximum, and a
/// credential our trust policy accepts for a leaf that signs with the
/// certified key. Returns the KeyPackage message and who it belongs to.
pub(crate) fn check_key_package(
    identity: &Rcc16Identity,
    now: u64,
    policy: &crate::config::KeyPackagePolicy,
    bytes: &[u8],
) -> Result<(MlsMessage, Suite, LeafIdentity), ClientError> {
    let max_lifetime_secs = policy.max_accepted_lifetime_secs;
    // KP-1: an MLS KeyPackage of a supported suite (below).
    let message = MlsMessage::from_bytes(bytes)
        .map_err(|e| ClientError::InvalidKeyPackage(format!("not an MLS message: {e}")))?;
    let kp = message
        .as_key_package()
        .ok_or_else(|| ClientError::InvalidKeyPackage("not a KeyPackage".into()))?;
    // SUITE-PQ-1: the retired 0xFE4C gets its own error.
    let suite = crate::suite::check_incoming(kp.cipher_suite())?;
    let (not_before, not_after) = lifetime(kp)?;
    // KP-2: not expired.
    if not_after <= now {
        return Err(ClientError::KeyPackageExpired);
    }
    // KP-3: at most 365 days (+ 1 h) long, and ending at most that far
    // from now (deployed clients: notBefore + 365 d, fact sheet §6).
    if not_after - now > max_lifetime_secs
        || not_after.saturating_sub(not_before) > max_lifetime_secs
    {
        return Err(ClientError::KeyPackageLifetimeTooLong {
            max_secs: max_lifetime_secs,
        });
    }
    // KP-4: the credential passes the trust policy (CRED-*).
    let credential = identity
        .validate(kp.signing_identity(), now)
        .map_err(|e| match e {
            IdentityError::Credential(c) => ClientError::Credential(c),
            other => ClientError::InvalidKeyPackage(other.to_string()),
        })?;
    // KP-9: the KeyPackage starts no earlier than its certificate (with
    // clock skew).
    if not_before.saturating_add(policy.not_before_skew_secs) < credential.not_before() {
        return Err(ClientError::KeyPackageBeforeCredential);
    }
    // CRED-LIFE-1: (with KP-4) the credential has the policy's minimum validity left.
    // RCC.16: a credential put into use must have at least 30 days left.
    let remaining = credential.not_after().saturating_sub(now);
    if remaining < policy.min_credential_remaining_secs {
        return Err(ClientError::Credential(
            crosslock_credential::CredentialError::ExpiresTooSoon {
                remaining_secs: remaining,
                required_secs: policy.min_credential_remaining_secs,
            },
        ));
    }
    let who = LeafIdentity::of(kp.signing_identity())
        .map_err(|e| ClientError::InvalidKeyPackage(e.to_string()))?;
    Ok((message, suite, who))
}
