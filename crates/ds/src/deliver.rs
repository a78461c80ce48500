//! What a peer provider delivers to this provider's devices, checked
//! before anything is stored (DS-FED-1 … DS-FED-5): the peer is a hub
//! speaking about its own conversation, to devices that are ours.

use std::collections::BTreeSet;
use std::sync::Arc;

use crosslock_credential::PhoneNumber;
use crosslock_wire::api::ds::{DeviceRef, FederatedDeliveries, HubProof};
use crosslock_wire::cpim::MlsEnvelope;
use crosslock_wire::report::ReceiptEnvelope;
use mls_rs::{MlsMessage, WireFormat};

use crate::error::DsError;
use crate::observer::Observer;
use crate::service::Ds;
use crate::store::{Fanout, Hosting, Member};

/// Most deliveries in one federation request (the pump sends at most 256).
pub(crate) const MAX_DELIVERIES: usize = 256;

fn unparsable(what: impl std::fmt::Display) -> DsError {
    DsError::UnparsableEnvelope(what.to_string())
}

/// DS-FED-1 and DS-FED-2: the envelope is a CPIM envelope carrying an MLS
/// message or a signed receipt (an IMDN whose `rcs_signature` is an MLS
/// message naming the group; its signature is the devices' to verify),
/// under the delivery's message id, and whatever names a group names the
/// request's. A Welcome carries no
/// visible group id (its GroupInfo is encrypted): the receiving device
/// checks it (RCV-WEL-*).
fn check_envelope(bytes: &[u8], message_id: &str, group_id: &[u8]) -> Result<(), DsError> {
    let (id, group) = match MlsEnvelope::decode(bytes) {
        Ok(envelope) => {
            let message = MlsMessage::from_bytes(&envelope.body)
                .map_err(|e| unparsable(format!("MLS: {e}")))?;
            let group = match message.wire_format() {
                WireFormat::Welcome => None,
                WireFormat::PublicMessage | WireFormat::PrivateMessage => Some(
                    message
                        .group_id()
                        .ok_or_else(|| unparsable("a group message without a group id"))?
                        .to_vec(),
                ),
                other => return Err(unparsable(format!("{other:?} is not delivered"))),
            };
            (envelope.message_id, group)
        }
        Err(mls) => match ReceiptEnvelope::decode(bytes) {
            Ok(receipt) => {
                let group = MlsMessage::from_bytes(&receipt.signature)
                    .ok()
                    .and_then(|m| m.group_id().map(<[u8]>::to_vec))
                    .ok_or_else(|| unparsable("a receipt signature without a group id"))?;
                (receipt.message_id, Some(group))
            }
            Err(_) => return Err(unparsable(format!("CPIM: {mls}"))),
        },
    };
    if id != message_id {
        return Err(unparsable(
            "the envelope's message id is not the delivery's",
        ));
    }
    match group {
        Some(g) if g != group_id => Err(DsError::GroupMismatch),
        _ => Ok(()),
    }
}

impl Ds {
    /// Deliveries `peer` (authenticated by its TLS client certificate) sent
    /// for our devices. Stores them only if every check passes; answers
    /// the devices that got something new.
    pub(crate) async fn deliver_from_peer(
        self: &Arc<Self>,
        peer: String,
        request: FederatedDeliveries,
        now: u64,
    ) -> Result<Vec<DeviceRef>, DsError> {
        let ds = self.clone();
        tokio::task::spawn_blocking(move || ds.deliver_checked(&peer, request, now))
            .await
            .map_err(|e| DsError::Internal(e.to_string()))?
    }

    fn deliver_checked(
        &self,
        peer: &str,
        request: FederatedDeliveries,
        now: u64,
    ) -> Result<Vec<DeviceRef>, DsError> {
        let group_id = request.group_id.0;
        if request.deliveries.is_empty() || request.deliveries.len() > MAX_DELIVERIES {
            return Err(DsError::Malformed(format!(
                "1 to {MAX_DELIVERIES} deliveries per request"
            )));
        }
        for d in &request.deliveries {
            if d.envelope.0.len() > self.config.max_body_bytes {
                return Err(DsError::TooLarge);
            }
            check_envelope(&d.envelope.0, &d.message_id, &group_id)?;
        }
        // DS-FED-3: only devices enrolled here and not revoked.
        let recipients: BTreeSet<&DeviceRef> =
            request.deliveries.iter().map(|d| &d.recipient).collect();
        for device in recipients {
            if !self.auth.is_current(device)? {
                return Err(DsError::UnknownRecipient);
            }
        }
        // DS-FED-4 and DS-FED-5: the peer is the hub it was proven to be.
        let proven = match self.store.conversation(&group_id)? {
            Some(Hosting::Follower { hub }) if hub == peer => false,
            Some(_) => return Err(DsError::NotTheHub),
            None => match &request.creation {
                Some(proof) => {
                    self.check_creation(peer, &group_id, proof, now)?;
                    true
                }
                None => return Err(DsError::HubUnproven),
            },
        };
        let deliveries: Vec<Fanout> = request
            .deliveries
            .into_iter()
            .map(|d| Fanout {
                recipient: Member {
                    device: d.recipient,
                    home: None,
                },
                message_id: d.message_id,
                envelope: d.envelope.0,
                // Opaque here: the joining device checks it against the
                // Welcome's tree hash (MLS-GI-1).
                ratchet_tree: d.ratchet_tree.map(|t| t.0),
            })
            .collect();
        self.store
            .deliver_from_hub(peer, &group_id, &deliveries, proven, now)
    }

    /// DS-FED-5: the proof is the GroupInfo of epoch 1 of `group_id` with
    /// the tree beside it (MLS-GI-1, checked against its tree hash,
    /// DS-TREE-1), valid (signature, tree, every credential as of the creation time, which
    /// is not in the future), signed by its creator, whose credential
    /// chains to `peer`'s roots and whose number the numbering plan (when
    /// configured) homes at `peer`: the group was created by a device homed
    /// at that peer. A group created here never gets here (DS-FED-4).
    fn check_creation(
        &self,
        peer: &str,
        group_id: &[u8],
        proof: &HubProof,
        now: u64,
    ) -> Result<(), DsError> {
        let refused = |e: &dyn std::fmt::Display| DsError::HubProofRefused(e.to_string());
        if proof.created_at > now {
            return Err(refused(&"the creation time is in the future"));
        }
        let group = self
            .observer
            .observe(
                &proof.group_info.0,
                proof.ratchet_tree.as_ref().map(|t| t.0.as_slice()),
                Some(proof.created_at),
            )
            .map_err(|e| refused(&e))?;
        let context = group.group_context();
        if context.group_id != group_id || context.epoch != 1 {
            return Err(refused(&"not the GroupInfo of epoch 1 of this group"));
        }
        let info = MlsMessage::from_bytes(&proof.group_info.0)
            .map_err(|e| refused(&e))?
            .into_group_info()
            .ok_or_else(|| refused(&"not a GroupInfo"))?;
        let creator = Observer::member_at(&group, info.sender()).map_err(|e| refused(&e))?;
        let snapshot = Observer::snapshot(&group).map_err(|e| refused(&e))?;
        let chain = snapshot
            .members
            .iter()
            .find(|(device, _)| device == &creator)
            .map(|(_, chain)| chain)
            .ok_or_else(|| refused(&"the signer is not in the tree"))?;
        let elsewhere = || refused(&"the creator is not homed at the sending provider");
        match self.home_of(chain, proof.created_at) {
            Ok(Some(home)) if home == peer => {}
            _ => return Err(elsewhere()),
        }
        if let Some(plan) = &self.config.numbering {
            let number = PhoneNumber::parse(&creator.number)
                .map_err(|_| refused(&"the creator's number is not E.164"))?;
            if !plan.is_home(&number, peer) {
                return Err(elsewhere());
            }
        }
        Ok(())
    }
}
