//! A Welcome: joining a conversation, or its new era, or rejoining the
//! era we were removed from (RCV-WEL-*).

use mls_rs::error::MlsError;

use super::envelope::Inbound;
use super::group::process_error;
use super::{Received, Sender};
use crate::device::Device;
use crate::error::{ClientError, internal};
use crate::ids::ConversationId;
use crate::ledger::seen::{welcome_content_key, welcome_id_key};
use crate::mls::extensions::{EndMlsExtension, EraExtension};
use crate::mls::identity::LeafIdentity;
use crate::records::{ConversationKind, ConversationRecord, ConversationStatus};

impl Device {
    /// Joins a conversation from a Welcome.
    pub(super) fn join(
        &mut self,
        inbound: Inbound,
        ratchet_tree: Option<&[u8]>,
    ) -> Result<Received, ClientError> {
        let Inbound {
            envelope,
            message: welcome,
        } = inbound;
        // SUITE-PQ-1: the retired 0xFE4C gets its own error.
        let tree = ratchet_tree
            .map(mls_rs::group::ExportedTree::from_bytes)
            .transpose()
            .map_err(|e| ClientError::Malformed(format!("ratchet tree: {e}")))?;
        let suite = welcome
            .cipher_suite()
            .ok_or_else(|| ClientError::Malformed("not a Welcome".into()))
            .and_then(crate::suite::check_incoming)?;
        // RCV-WEL-1: the suite is allowed for joining.
        if !self.config.suites.allows_joining(suite) {
            return Err(ClientError::SuiteRefused(suite));
        }
        // A Welcome delivered again (the DS lost an acknowledgement in a
        // crash) is a replay, like any other message: its KeyPackage is
        // gone, so joining again would fail with a misleading error.
        let seen_key = welcome_id_key(&envelope.message_id);
        // RCV-WEL-6: a Welcome is known by its content, not by the
        // transport id it comes under: the same Welcome re-wrapped with a
        // new id is the same replay.
        let content_key = welcome_content_key(&envelope.body);
        if self.seen(&seen_key)? || self.seen(&content_key)? {
            return Err(ClientError::Replayed);
        }
        let now = self.env.clock.now();
        let client = self.client(suite)?.clone();
        let result = self.atomically(|device| {
            // MLS-LIFE-1: no time for mls-rs, so the tree's leaves are not
            // held to the lifetimes of the KeyPackages they came from (the
            // commit that added each checked it; RFC 9420 §7.3 only
            // recommends checking it later): a member who has not
            // committed since joining would otherwise keep everyone from
            // joining 14 days on. Credentials are still checked now
            // (RCV-WEL-5), by the identity provider's clock.
            let (group, info) =
                client
                    .join_group(tree.clone(), &welcome, None)
                    .map_err(|e| match e {
                        // RCV-WEL-2: one of our KeyPackages opens it; RCV-WEL-5:
                        // mls-rs checks every member's credential (CRED-*).
                        MlsError::WelcomeKeyPackageNotFound => ClientError::WelcomeNotForUs,
                        other => process_error(other, 0, None),
                    })?;
            // RCV-WEL-3: the era extension, equal to the envelope's.
            let era = group
                .context()
                .extensions
                .get_as::<EraExtension>()
                .map_err(|e| ClientError::InvalidHandshake(e.to_string()))?
                .ok_or_else(|| ClientError::InvalidHandshake("group has no era extension".into()))?
                .era;
            if era != envelope.era {
                return Err(ClientError::WrongEra {
                    expected: era,
                    received: envelope.era,
                });
            }
            let id = ConversationId::new(group.group_id().to_vec())
                .ok_or_else(|| ClientError::Malformed("bad group id".into()))?;
            let previous = match device.conversation_record(&id) {
                Ok(existing) => Some(existing),
                Err(ClientError::UnknownConversation) => None,
                Err(e) => return Err(e),
            };
            if let Some(existing) = &previous {
                // RCV-WEL-4: a new era replaces the conversation's state; an
                // older era never does, and the same era only re-adds a
                // removed device.
                if era < existing.era {
                    return Err(ClientError::WrongEra {
                        expected: existing.era,
                        received: era,
                    });
                }
                if era == existing.era && existing.status != ConversationStatus::Removed {
                    return Err(ClientError::ConversationExists);
                }
            }
            // The Welcome's sender: the member who signed its GroupInfo
            // (mls-rs checked the signature).
            let sender = group
                .member_at_index(info.sender)
                .filter(|m| m.index != group.current_member_index())
                .ok_or_else(|| {
                    ClientError::InvalidHandshake("Welcome without another member as sender".into())
                })?;
            let added_by = LeafIdentity::of(&sender.signing_identity)
                .map(Sender::from)
                .map_err(|e| ClientError::InvalidHandshake(e.to_string()))?;
            if let Some(existing) = &previous {
                if era > existing.era {
                    // RCV-WEL-7: a new era comes from a member of the
                    // current one, holding the same signature key.
                    let current = device
                        .members_of(&id)
                        .map_err(|_| ClientError::NewEraNotFromMember)?;
                    let key = sender.signing_identity.signature_key.as_bytes();
                    if !current.iter().any(|m| {
                        m.key == key
                            && m.identity.number == added_by.number
                            && m.identity.device == added_by.device
                    }) {
                        return Err(ClientError::NewEraNotFromMember);
                    }
                } else {
                    // RCV-WEL-6: re-added to the era we were removed from:
                    // the Welcome must join a later epoch than the last
                    // one we had (an old Welcome replays an old state).
                    let last = device.group(&id)?.current_epoch();
                    if group.current_epoch() <= last {
                        return Err(ClientError::Replayed);
                    }
                }
            }
            // KT-MEMBER-1: every key of the roster is checked against the
            // recorded proofs; one they refute refuses the Welcome.
            let roster = crate::security::members_of_group(&group, &device.identity, now)?;
            device.refuse_refuted(&roster)?;
            // GID-3: the envelope may say group; the authenticated state
            // may too; a new era of a group stays a group.
            let kind = match &previous {
                Some(existing) if existing.kind == ConversationKind::Group => {
                    ConversationKind::Group
                }
                _ => crate::kind::classify(
                    &id,
                    envelope.to.as_deref(),
                    crate::kind::numbers_in(group.roster().members_iter()),
                    &group.context().extensions,
                ),
            };
            let status = if group
                .context()
                .extensions
                .has_extension(EndMlsExtension::TYPE)
            {
                ConversationStatus::Ended
            } else {
                ConversationStatus::Active
            };
            let mut group = group;
            if previous.is_some() {
                device.forget_group_history(&id)?;
            }
            group.write_to_storage().map_err(internal)?;
            device.groups.insert(id.clone(), group);
            let record = ConversationRecord {
                kind,
                era,
                suite,
                status,
                pending: None,
                created_at: now,
            };
            device.put_conversation(&id, &record)?;
            device.record_epoch_authenticator(&id)?;
            device.observe_member_keys(&id)?;
            device.mark_seen(seen_key, now, None);
            device.mark_seen(content_key, now, None);
            let replaced_era = previous.map(|p| p.era).filter(|old| *old < era);
            Ok((id, added_by, replaced_era))
        })?;
        let (conversation, added_by, replaced_era) = result;
        let refill_key_packages = self.key_package_stock()?.needs_refill();
        tracing::info!(conversation = %conversation, suite = suite.code(), "joined conversation");
        Ok(Received::Joined {
            conversation,
            added_by,
            suite,
            refill_key_packages,
            replaced_era,
        })
    }
}
