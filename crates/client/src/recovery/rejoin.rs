//! Rejoining a conversation by external commit (RCC.16 recovery, second
//! rung: after catching up from the server failed).
//!
//! Supported: a device that is still a member (the GroupInfo's tree has a
//! leaf with this device's number and device id) and whose group state is
//! unusable: it missed commits the server no longer has, its stored group
//! state is corrupt or was lost, or it never had the conversation (the
//! Welcome was lost). Not supported: joining a conversation this device is
//! not a member of (MLS-EXT-1, which every member and the delivery service
//! enforce: an external commit must replace the committer's own leaf), a
//! conversation this device was removed from, or one that left end-to-end
//! encryption.

use crosslock_credential::PhoneNumber;
use mls_rs::MlsMessage;
use mls_rs::extension::built_in::RatchetTreeExt;
use mls_rs::group::ExportedTree;

use crate::device::Device;
use crate::error::{ClientError, internal};
use crate::ids::ConversationId;
use crate::keypackages::now_mls;
use crate::mls::extensions::{EndMlsExtension, EraExtension};
use crate::mls::identity::LeafIdentity;
use crate::outbound::{
    HANDSHAKE, PendingCommit, authenticated_data, envelope, epoch_authenticator,
};
use crate::records::{
    ConversationKind, ConversationRecord, ConversationStatus, PendingKind, PendingRecord,
};
use crate::suite::Suite;

/// What the GroupInfo says, checked before anything is built.
struct Target {
    suite: Suite,
    era: u32,
    epoch: u64,
    own_leaf: u32,
    /// GID-3: what the group state says the conversation is, for a
    /// conversation this device has no record of.
    kind: ConversationKind,
}

/// Implements [`Device::rejoin`].
pub(crate) fn rejoin(
    device: &mut Device,
    id: &ConversationId,
    group_info: &[u8],
    ratchet_tree: Option<&[u8]>,
) -> Result<PendingCommit, ClientError> {
    let message =
        MlsMessage::from_bytes(group_info).map_err(|e| ClientError::Malformed(e.to_string()))?;
    let tree = ratchet_tree
        .map(ExportedTree::from_bytes)
        .transpose()
        .map_err(|e| ClientError::Malformed(format!("ratchet tree: {e}")))?;
    let existing = match device.conversation_record(id) {
        Ok(record) => Some(record),
        Err(ClientError::UnknownConversation) => None,
        Err(e) => return Err(e),
    };
    let target = device.check_group_info(id, &message, tree.as_ref(), existing.as_ref())?;
    let fresh_record = existing.is_none();
    let mut record = existing.unwrap_or_else(|| ConversationRecord {
        kind: target.kind,
        era: target.era,
        suite: target.suite,
        status: ConversationStatus::Active,
        pending: None,
        created_at: device.env.clock.now(),
    });
    let commit_id = device.new_message_id();
    let aad = authenticated_data(&commit_id, target.era, None);
    let time = now_mls(device);
    let client = device.staging_client(target.suite)?;
    device.atomically(|device| {
        device.discard_staged_group(id)?;
        let mut builder = client.external_commit_builder().map_err(internal)?;
        if let Some(tree) = tree {
            builder = builder.with_tree_data(tree);
        }
        let (mut group, commit) = builder
            .with_removal(target.own_leaf)
            .with_authenticated_data(aad)
            .commit_time(time)
            .build(message)
            .map_err(|e| ClientError::InvalidHandshake(format!("GroupInfo refused: {e}")))?;
        group.write_to_storage().map_err(internal)?;
        // The joiner cannot know the authenticator of the epoch the
        // commit is framed in; it sends the one of the epoch the commit
        // creates, which members check after processing (MLS-EXT-2).
        let auth = epoch_authenticator(&group)?;
        // MLS-GI-1: the GroupInfo for the server without the tree
        // extension; the tree beside it.
        let group_info = group
            .group_info_message_allowing_ext_commit(false)
            .and_then(|m| m.to_bytes())
            .map_err(internal)?;
        let ratchet_tree = group.export_tree().to_bytes().map_err(internal)?;
        let commit = envelope(commit_id, HANDSHAKE, record.kind, target.era, auth, &commit)?;
        record.pending = Some(PendingRecord {
            message_id: commit.message_id.clone(),
            commit: commit.envelope.clone().into(),
            welcome: None,
            welcome_message_id: None,
            group_info: group_info.clone().into(),
            ratchet_tree: ratchet_tree.clone().into(),
            kind: PendingKind::Rejoin { fresh_record },
        });
        device.put_conversation(id, &record)?;
        tracing::info!(conversation = %id, from_epoch = target.epoch, "rejoin staged");
        Ok(PendingCommit {
            conversation: id.clone(),
            commit,
            welcome: None,
            group_info,
            ratchet_tree,
            external: true,
        })
    })
}

impl Device {
    /// Checks a GroupInfo against the conversation and finds our old leaf.
    fn check_group_info(
        &mut self,
        id: &ConversationId,
        message: &MlsMessage,
        separate_tree: Option<&ExportedTree<'static>>,
        existing: Option<&ConversationRecord>,
    ) -> Result<Target, ClientError> {
        let info = message
            .as_group_info()
            .ok_or_else(|| ClientError::Malformed("not a GroupInfo".into()))?;
        let context = info.group_context();
        if context.group_id != id.as_bytes() {
            return Err(ClientError::InvalidRequest(
                "the GroupInfo is for another conversation".into(),
            ));
        }
        // SUITE-PQ-1: the retired 0xFE4C gets its own error.
        let suite = crate::suite::check_incoming(context.cipher_suite)?;
        let era = context
            .extensions
            .get_as::<EraExtension>()
            .map_err(|e| ClientError::InvalidHandshake(e.to_string()))?
            .ok_or_else(|| ClientError::InvalidHandshake("group has no era extension".into()))?
            .era;
        if context.extensions.has_extension(EndMlsExtension::TYPE) {
            return Err(ClientError::EncryptionEnded);
        }
        match existing {
            Some(record) => {
                match record.status {
                    ConversationStatus::Active => {}
                    ConversationStatus::Ended => return Err(ClientError::EncryptionEnded),
                    ConversationStatus::Removed => return Err(ClientError::NotAMember),
                }
                if record.pending.is_some() {
                    return Err(ClientError::CommitPending);
                }
                if record.era != era {
                    return Err(ClientError::WrongEra {
                        expected: record.era,
                        received: era,
                    });
                }
                if record.suite != suite {
                    return Err(ClientError::InvalidHandshake(
                        "the GroupInfo is for another suite than the conversation's".into(),
                    ));
                }
                // A GroupInfo older than the state we hold is a stale or
                // replayed one (a corrupt or lost state does not load).
                if let Ok(group) = self.group(id)
                    && group.current_epoch() > context.epoch
                {
                    return Err(ClientError::WrongEpoch {
                        current: group.current_epoch(),
                        received: context.epoch,
                    });
                }
            }
            None if !self.config.suites.allows_joining(suite) => {
                return Err(ClientError::SuiteRefused(suite));
            }
            None => {}
        }
        // MLS-GI-2: the tree in the GroupInfo's ratchet_tree extension
        // (older peers), which mls-rs prefers too, else the one beside it.
        // mls-rs checks it against the GroupContext's tree hash when it
        // builds the commit.
        let in_extension = info
            .extensions()
            .get_as::<RatchetTreeExt>()
            .map_err(|e| ClientError::InvalidHandshake(e.to_string()))?
            .map(|ext| ext.tree_data);
        let tree = in_extension.as_ref().or(separate_tree).ok_or_else(|| {
            ClientError::InvalidHandshake(
                "GroupInfo without ratchet tree, and no tree beside it".into(),
            )
        })?;
        let own_leaf =
            own_leaf(tree, &self.number, &self.record.device_id).ok_or(ClientError::NotAMember)?;
        // GID-3: no Welcome envelope here; the authenticated state decides.
        let kind = crate::kind::classify(
            id,
            None,
            crate::kind::numbers_in(tree.roster().members_iter()),
            &context.extensions,
        );
        Ok(Target {
            suite,
            era,
            epoch: context.epoch,
            own_leaf,
            kind,
        })
    }
}

/// The leaf of this device (same number and device id) in a tree.
fn own_leaf(tree: &ExportedTree<'_>, number: &PhoneNumber, device: &str) -> Option<u32> {
    tree.roster()
        .members_iter()
        .find(|m| {
            LeafIdentity::of(&m.signing_identity)
                .is_ok_and(|leaf| &leaf.number == number && leaf.device == device)
        })
        .map(|m| m.index)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use crosslock_wire::cpim::MlsEnvelope;
    use mls_rs::crypto::SignaturePublicKey;
    use mls_rs::identity::{Credential, SigningIdentity};
    use mls_rs::mls_rules::DefaultMlsRules;
    use mls_rs_core::identity::CertificateChain;

    use super::*;
    use crate::conversation::NewConversation;
    use crate::env::ManualClock;

    use crate::mls::crypto::{KeyStoreCrypto, signer_handle};

    use crate::test_devices::{claim, phone};

    /// An mls-rs client of `device` that follows mls-rs's default rules
    /// instead of Crosslock's: it will build any external commit.
    fn lax_client(
        device: &Device,
        suite: Suite,
    ) -> mls_rs::Client<impl mls_rs::client_builder::MlsConfig> {
        let credential = device.credential_record(suite.signature_algorithm());
        let public = device.keystore.public_key(&credential.alias).unwrap();
        let chain: Vec<Vec<u8>> = credential.chain.iter().map(|c| c.0.clone()).collect();
        mls_rs::Client::builder()
            .identity_provider(device.identity.clone())
            .crypto_provider(KeyStoreCrypto::new(device.keystore.clone()))
            .mls_rules(DefaultMlsRules::new())
            .extension_types(crate::mls::capabilities::extensions_advertised(
                device.config.crosslock_extras,
            ))
            .custom_proposal_types(crate::mls::capabilities::advertised_proposals(
                device.config.revision,
            ))
            .key_package_lifetime(Duration::from_secs(86_400))
            .signing_identity(
                SigningIdentity::new(
                    Credential::X509(CertificateChain::from(chain)),
                    SignaturePublicKey::new(public.as_bytes().to_vec()),
                ),
                signer_handle(&credential.alias),
                suite.cipher_suite(),
            )
            .build()
    }

    /// MLS-GI-2: what an older peer sends is still read. Its Welcome's
    /// GroupInfo carries the ratchet_tree extension (0x0002; mls-rs then
    /// hands out no separate tree): it joins without a tree beside it. Its
    /// GroupInfo with the extension is rejoined from without one.
    #[test]
    fn the_tree_extension_of_an_older_peer_is_still_read() {
        use mls_rs::ExtensionList;

        let clock = Arc::new(ManualClock::new(1_790_000_000));
        let alice = phone("+15551230001", &clock, 1);
        let mut bob = phone("+15551230002", &clock, 2);
        let batch = bob.generate_key_packages(1).unwrap();
        let key_package = MlsMessage::from_bytes(&batch.key_packages[0].1).unwrap();
        let suite = Suite::from_cipher_suite(key_package.cipher_suite().unwrap()).unwrap();
        let mut context = ExtensionList::new();
        context.set_from(EraExtension { era: 1 }).unwrap();
        // The older peer: mls-rs's default commit options put the tree in
        // every GroupInfo.
        let mut group = lax_client(&alice, suite)
            .create_group_with_id(
                b"00000000-0000-4000-8000-0000000001d5".to_vec(),
                context,
                ExtensionList::new(),
                Some(now_mls(&alice)),
            )
            .unwrap();
        let output = group
            .commit_builder()
            .commit_time(now_mls(&alice))
            .add_member(key_package)
            .unwrap()
            .build()
            .unwrap();
        group.apply_pending_commit().unwrap();
        assert!(
            output.ratchet_tree().is_none(),
            "the tree is in the Welcome"
        );
        let welcome_id = alice.new_message_id();
        let welcome = MlsEnvelope {
            from: None,
            to: None,
            date_time: None,
            message_id: welcome_id.clone(),
            era: 1,
            epoch_authenticator: [0; 32],
            original_message_id: None,
            content_type: HANDSHAKE.into(),
            body: output.welcome_messages()[0].to_bytes().unwrap(),
        }
        .encode();
        assert!(matches!(
            bob.receive(&welcome_id, &welcome).unwrap(),
            crate::Received::Joined { .. }
        ));
        let id = ConversationId::new(group.group_id().to_vec()).unwrap();

        let with_tree = group
            .group_info_message_allowing_ext_commit(true)
            .unwrap()
            .to_bytes()
            .unwrap();
        let pending = bob.rejoin(&id, &with_tree, None).unwrap();
        assert!(pending.external);
        // What we send has the tree beside the GroupInfo, not in it.
        let info = MlsMessage::from_bytes(&pending.group_info).unwrap();
        assert!(
            !info
                .as_group_info()
                .unwrap()
                .extensions()
                .has_extension(mls_rs::extension::ExtensionType::RATCHET_TREE)
        );
        assert!(ExportedTree::from_bytes(&pending.ratchet_tree).is_ok());
    }

    const JOIN_ID: &str = "MxAAAAAAAAAAAAAAAAAAAjoin";

    /// MLS-EXT-1: an external commit that does not replace the committer's
    /// own leaf (a stranger joining with the GroupInfo) is refused by our
    /// builder and by every member, and changes nothing.
    #[test]
    fn external_join_by_a_stranger_is_refused() {
        let clock = Arc::new(ManualClock::new(1_790_000_000));
        let mut alice = phone("+15551230001", &clock, 1);
        let mut bob = phone("+15551230002", &clock, 2);
        let dave = phone("+15551230004", &clock, 3);
        let claim = claim(&mut bob);
        let pending = alice
            .create_conversation(
                NewConversation::Group {
                    group_id: b"g".to_vec(),
                },
                &[claim],
            )
            .unwrap();
        alice.commit_accepted(&pending).unwrap();
        let welcome = pending.welcome.clone().unwrap();
        bob.receive_with_tree(
            &welcome.message_id,
            &welcome.envelope,
            Some(&pending.ratchet_tree),
        )
        .unwrap();
        let id = pending.conversation.clone();
        let suite = alice.conversation_record(&id).unwrap().suite;
        let info = || MlsMessage::from_bytes(&pending.group_info).unwrap();
        let tree = || ExportedTree::from_bytes(&pending.ratchet_tree).unwrap();

        // Our own builder will not make it.
        let err = dave
            .staging_client(suite)
            .unwrap()
            .external_commit_builder()
            .unwrap()
            .with_tree_data(tree())
            .build(info())
            .map(|_| ())
            .unwrap_err();
        assert!(err.to_string().contains("replace the committer"), "{err}");

        // A client without our rules makes it; members refuse it.
        let (_, commit) = lax_client(&dave, suite)
            .external_commit_builder()
            .unwrap()
            .with_tree_data(tree())
            .with_authenticated_data(authenticated_data(JOIN_ID, 1, None))
            .build(info())
            .unwrap();
        let envelope = MlsEnvelope {
            from: None,
            to: None,
            date_time: None,
            message_id: JOIN_ID.into(),
            era: 1,
            epoch_authenticator: [0; 32],
            original_message_id: None,
            content_type: HANDSHAKE.into(),
            body: commit.to_bytes().unwrap(),
        }
        .encode();
        let before = alice.security_state(&id).unwrap();
        match alice.receive(JOIN_ID, &envelope) {
            Err(ClientError::InvalidHandshake(why)) => {
                assert!(why.contains("replace the committer"), "{why}");
            }
            other => panic!("stranger's external commit accepted: {other:?}"),
        }
        assert_eq!(alice.security_state(&id).unwrap(), before);
    }
}
