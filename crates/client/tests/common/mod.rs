//! Test support: phones on a manual clock, and a stand-in for the
//! delivery service that hands envelopes from one device to others.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use crosslock_client::credential::{PhoneNumber, TrustAnchors, TrustPolicy};
use crosslock_client::env::{Environment, ManualClock, SeededEntropy};
use crosslock_client::keystore::SoftwareKeyStore;
use crosslock_client::store::{MemoryStore, StateStore, Table};
use crosslock_client::*;

pub(crate) const T0: u64 = 1_790_000_000;

pub(crate) fn number(n: &str) -> PhoneNumber {
    PhoneNumber::parse(n).unwrap()
}

pub(crate) fn dev_config() -> DeviceConfig {
    DeviceConfig::new(TrustPolicy::Development {
        anchors: TrustAnchors::none(),
    })
}

pub(crate) struct Net {
    pub clock: Arc<ManualClock>,
    seed: std::cell::Cell<u64>,
}

impl Net {
    pub(crate) fn new() -> Self {
        Net {
            clock: Arc::new(ManualClock::new(T0)),
            seed: std::cell::Cell::new(1),
        }
    }

    pub(crate) fn env(&self) -> Environment {
        let seed = self.seed.get();
        self.seed.set(seed + 1);
        Environment {
            clock: self.clock.clone(),
            entropy: Arc::new(SeededEntropy::new(seed * 7919)),
        }
    }

    pub(crate) fn phone(&self, n: &str, profile: DeviceProfile) -> Device {
        self.phone_with(n, profile, dev_config())
    }

    pub(crate) fn phone_with(
        &self,
        n: &str,
        profile: DeviceProfile,
        config: DeviceConfig,
    ) -> Device {
        self.phone_in(Arc::new(MemoryStore::new()), n, profile, config)
    }

    pub(crate) fn phone_in(
        &self,
        store: Arc<dyn StateStore>,
        n: &str,
        profile: DeviceProfile,
        config: DeviceConfig,
    ) -> Device {
        let keystore = Arc::new(SoftwareKeyStore::new(store.clone()));
        Device::create(
            store,
            keystore,
            NewDevice {
                number: number(n),
                profile,
            },
            config,
            self.env(),
        )
        .unwrap()
    }
}

/// One KeyPackage per suite for each device, as a KDS claim would return.
pub(crate) fn claim(number_text: &str, devices: &mut [&mut Device]) -> ParticipantKeyPackages {
    ParticipantKeyPackages {
        number: number(number_text),
        devices: devices
            .iter_mut()
            .map(|d| {
                let batch = d.generate_key_packages(1).unwrap();
                DeviceKeyPackages(batch.key_packages.into_iter().map(|(_, kp)| kp).collect())
            })
            .collect(),
        transparency: None,
    }
}

/// Delivers an outbound envelope to each recipient; panics on refusal.
pub(crate) fn deliver(out: &Outbound, to: &mut [&mut Device]) -> Vec<Received> {
    to.iter_mut()
        .map(|d| d.receive(&out.message_id, &out.envelope).unwrap())
        .collect()
}

/// Commits as accepted by the server and delivers commit and Welcome.
pub(crate) fn accept(
    sender: &mut Device,
    pending: &PendingCommit,
    members: &mut [&mut Device],
    joiners: &mut [&mut Device],
) {
    sender.commit_accepted(pending).unwrap();
    for m in members.iter_mut() {
        m.receive(&pending.commit.message_id, &pending.commit.envelope)
            .unwrap();
    }
    if let Some(w) = &pending.welcome {
        for j in joiners.iter_mut() {
            match j
                .receive_with_tree(&w.message_id, &w.envelope, Some(&pending.ratchet_tree))
                .unwrap()
            {
                Received::Joined { .. } => {}
                other => panic!("expected Joined, got {other:?}"),
            }
        }
    }
}

pub(crate) fn text_of(r: &Received) -> String {
    match r {
        Received::Message(m) => match &m.content {
            ReceivedContent::Mimi { content, .. } => {
                content.text_body().unwrap_or_default().to_owned()
            }
            other => panic!("not MIMI content: {other:?}"),
        },
        other => panic!("not a message: {other:?}"),
    }
}

/// Everything in a store, to prove a refused input changed nothing.
pub(crate) fn snapshot(store: &dyn StateStore) -> Vec<(Table, Vec<u8>, Vec<u8>)> {
    Table::ALL
        .iter()
        .flat_map(|t| {
            store
                .scan(*t, &[])
                .unwrap()
                .into_iter()
                .map(move |(k, v)| (*t, k, v))
        })
        .collect()
}

/// Rewrites one header line of a CPIM envelope (or drops it with `None`).
pub(crate) fn rewrite_header(envelope: &[u8], name: &str, value: Option<&str>) -> Vec<u8> {
    let mut message = wire::cpim::Message::decode(envelope).unwrap();
    let pos = message
        .headers
        .iter()
        .position(|h| h.name.eq_ignore_ascii_case(name))
        .unwrap();
    match value {
        Some(v) => message.headers[pos].value = v.to_owned(),
        None => {
            message.headers.remove(pos);
        }
    }
    message.encode()
}

/// Replaces the MLS body of an envelope.
pub(crate) fn with_body(envelope: &[u8], body: Vec<u8>) -> Vec<u8> {
    let mut e = wire::cpim::MlsEnvelope::decode(envelope).unwrap();
    e.body = body;
    e.encode()
}

/// Alice (Android) creates a group with Bob (iPhone) and Carol (Android).
pub(crate) fn group_of_three(net: &Net) -> (Device, Device, Device, ConversationId) {
    let mut alice = net.phone("+15551230001", DeviceProfile::Android);
    let mut bob = net.phone("+15551230002", DeviceProfile::Ios);
    let mut carol = net.phone("+15551230003", DeviceProfile::Android);
    let claims = [
        claim("+15551230002", &mut [&mut bob]),
        claim("+15551230003", &mut [&mut carol]),
    ];
    let pending = alice
        .create_conversation(
            NewConversation::Group {
                group_id: b"trio".to_vec(),
            },
            &claims,
        )
        .unwrap();
    accept(&mut alice, &pending, &mut [], &mut [&mut bob, &mut carol]);
    (alice, bob, carol, pending.conversation)
}
