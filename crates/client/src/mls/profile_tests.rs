//! The deployed RCC.16 profile inside mls-rs, end to end between real
//! devices: capabilities, GroupContext extensions 0xF003–0xF007, `end_mls`
//! by revision, ServerRemove, rcs_signature and server-kick refusals.

use std::sync::Arc;

use crosslock_wire::content_type;
use crosslock_wire::cpim::MlsEnvelope;
use crosslock_wire::rcc16::commitment::{self, Subject};
use crosslock_wire::rcc16::{Revision, extensions as ext};
use mls_rs::extension::ExtensionType;
use mls_rs::group::proposal::{CustomProposal, ProposalType};
use mls_rs_core::extension::Extension;

use crate::Received;
use crate::conversation::NewConversation;
use crate::device::Device;
use crate::env::ManualClock;
use crate::error::ClientError;
use crate::ids::ConversationId;
use crate::outbound::{HANDSHAKE, PendingCommit, authenticated_data, envelope};
use crate::records::{ConversationKind, DeviceProfile};
use crate::store::{MemoryStore, StateStore};
use crate::test_devices::{claim, dev_config, phone_in};

fn phone(n: &str, clock: &Arc<ManualClock>, seed: u64, revision: Revision) -> Device {
    let mut config = dev_config();
    config.revision = revision;
    let store: Arc<dyn StateStore> = Arc::new(MemoryStore::new());
    phone_in(store, n, DeviceProfile::Android, config, clock, seed)
}

fn accept(sender: &mut Device, pending: &PendingCommit, members: &mut [&mut Device]) {
    sender.commit_accepted(pending).unwrap();
    for m in members {
        m.receive(&pending.commit.message_id, &pending.commit.envelope)
            .unwrap();
    }
}

struct Pair {
    clock: Arc<ManualClock>,
    alice: Device,
    bob: Device,
    id: ConversationId,
}

fn pair(revision: Revision) -> Pair {
    let clock = Arc::new(ManualClock::new(1_790_000_000));
    let mut alice = phone("+15551230001", &clock, 1, revision);
    let mut bob = phone("+15551230002", &clock, 2, revision);
    let pending = alice
        .create_conversation(
            NewConversation::Group {
                group_id: b"profile".to_vec(),
            },
            &[claim(&mut bob)],
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
    Pair {
        clock,
        alice,
        bob,
        id: pending.conversation,
    }
}

fn set_context(device: &mut Device, id: &ConversationId, add: Vec<Extension>) -> PendingCommit {
    device
        .atomically(|d| {
            let mut extensions = d.group(id)?.context().extensions.clone();
            for e in add {
                extensions.set(e);
            }
            d.stage_commit(id, |b| b.set_group_context_ext(extensions))
        })
        .unwrap()
}

fn context_bytes(device: &mut Device, id: &ConversationId, code: u16) -> Option<Vec<u8>> {
    device
        .group(id)
        .unwrap()
        .context()
        .extensions
        .get(ExtensionType::new(code))
        .map(|e| e.extension_data)
}

/// MLS-CAP-1: a Crosslock device is added to a group whose context
/// carries the deployed extensions 0xF003–0xF007 (impossible before: its
/// leaf listed only 0xF001/0xF002), and joins it.
#[test]
fn device_joins_a_group_with_the_deployed_context_extensions() {
    let Pair {
        clock,
        mut alice,
        mut bob,
        id,
    } = pair(Revision::V3_0);
    let key = [7u8; 32];
    let icon = commitment::commitment(Subject::Icon, Revision::V3_0, &key);
    let subject = commitment::commitment(Subject::Subject, Revision::V3_0, &key);
    let set = vec![
        Extension::new(ExtensionType::new(ext::ICON_KEY), ext::encode_key(&key)),
        Extension::new(
            ExtensionType::new(ext::ICON_COMMITMENT),
            ext::encode_commitment(&icon),
        ),
        Extension::new(ExtensionType::new(ext::SUBJECT_KEY), ext::encode_key(&key)),
        // A bare digest, as an Apple client writes it: accepted.
        Extension::new(
            ExtensionType::new(ext::SUBJECT_COMMITMENT),
            subject.to_vec(),
        ),
        Extension::new(
            ExtensionType::new(ext::METADATA_KEYS_REQUESTED),
            ext::encode_metadata_keys_requested(Revision::V3_0),
        ),
    ];
    let pending = set_context(&mut alice, &id, set);
    accept(&mut alice, &pending, &mut [&mut bob]);
    // Bob mirrors the bytes as written.
    assert_eq!(
        context_bytes(&mut bob, &id, ext::SUBJECT_COMMITMENT),
        Some(subject.to_vec())
    );
    assert_eq!(
        context_bytes(&mut bob, &id, ext::METADATA_KEYS_REQUESTED).unwrap(),
        b"group_metadata_keys_requested"
    );

    let mut carol = phone("+15551230003", &clock, 3, Revision::V3_0);
    let pending = alice.add_participants(&id, &[claim(&mut carol)]).unwrap();
    accept(&mut alice, &pending, &mut [&mut bob]);
    let welcome = pending.welcome.unwrap();
    assert!(matches!(
        carol
            .receive_with_tree(
                &welcome.message_id,
                &welcome.envelope,
                Some(&pending.ratchet_tree)
            )
            .unwrap(),
        Received::Joined { .. }
    ));
    let claimed = ext::decode_commitment(
        ext::ICON_COMMITMENT,
        &context_bytes(&mut carol, &id, ext::ICON_COMMITMENT).unwrap(),
    )
    .unwrap();
    assert!(commitment::verify(
        &claimed,
        Subject::Icon,
        Revision::V3_0,
        &key
    ));
    assert_eq!(
        carol.wire_profile(&id).unwrap(),
        crate::WireProfile::CrosslockExtras
    );
}

/// MLS-CTX-1: a commit setting a malformed 0xF004 or 0xF003 is refused by
/// the committer's own rules and changes nothing.
#[test]
fn malformed_context_extensions_are_refused() {
    let Pair { mut alice, id, .. } = pair(Revision::V3_0);
    let epoch = alice.group(&id).unwrap().current_epoch();
    for (code, data) in [
        (ext::ICON_COMMITMENT, vec![0x20; 20]),
        (ext::ICON_KEY, [7u8; 32].to_vec()),
        (ext::SUBJECT_KEY, [&[0x40, 0x20][..], &[7; 32]].concat()),
        (ext::METADATA_KEYS_REQUESTED, b"yes".to_vec()),
    ] {
        let err = alice
            .atomically(|d| {
                let mut extensions = d.group(&id)?.context().extensions.clone();
                extensions.set(Extension::new(ExtensionType::new(code), data.clone()));
                d.stage_commit(&id, |b| b.set_group_context_ext(extensions))
            })
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("malformed group context extension"),
            "{code:#x}: {err}"
        );
        assert_eq!(alice.group(&id).unwrap().current_epoch(), epoch);
    }
}

/// `end_mls` (0xF002): v3.0 writes the literal `end_mls`, v4.0 an empty
/// (Unset) `EndMlsMetadata`; the peer ends either way.
#[test]
fn end_mls_payload_follows_the_revision() {
    for (revision, payload) in [
        (Revision::V3_0, b"end_mls".to_vec()),
        (Revision::V4_0, Vec::new()),
    ] {
        let Pair {
            mut alice,
            mut bob,
            id,
            ..
        } = pair(revision);
        let pending = alice.end_encryption(&id).unwrap();
        accept(&mut alice, &pending, &mut [&mut bob]);
        assert_eq!(context_bytes(&mut bob, &id, ext::END_MLS), Some(payload));
        assert_eq!(
            bob.conversation_record(&id).unwrap().status,
            crate::ConversationStatus::Ended
        );
    }
}

fn propose_custom(
    device: &mut Device,
    id: &ConversationId,
    proposal: CustomProposal,
) -> (String, Vec<u8>) {
    device
        .atomically(|d| {
            let message_id = d.new_message_id();
            let group = d.group(id)?;
            let auth = crate::outbound::epoch_authenticator(group)?;
            let message = group
                .propose_custom(proposal, authenticated_data(&message_id, 1, None))
                .unwrap();
            let out = envelope(
                message_id.clone(),
                HANDSHAKE,
                ConversationKind::Group,
                1,
                auth,
                &message,
            )?;
            Ok((message_id, out.envelope))
        })
        .unwrap()
}

/// MLS-PROP-1/2 (RCC.16 §9.5.1): an inbound ServerRemove (body a bare u32
/// BE) or rcs_signature proposal is dropped with a typed error; the
/// receiver's state is unchanged and it has nothing to commit.
#[test]
fn server_remove_and_rcs_signature_proposals_are_dropped() {
    let Pair {
        mut alice,
        mut bob,
        id,
        ..
    } = pair(Revision::V3_0);
    let before = bob.security_state(&id).unwrap();
    let server_remove = CustomProposal::new(ProposalType::RCS_SERVER_REMOVE, vec![0, 0, 0, 1]);
    let (mid, bytes) = propose_custom(&mut alice, &id, server_remove);
    assert!(matches!(
        bob.receive(&mid, &bytes),
        Err(ClientError::ServerRemoveDropped)
    ));
    let signature = CustomProposal::new(ProposalType::RCS_SIGNATURE, Vec::new());
    let (mid, bytes) = propose_custom(&mut alice, &id, signature);
    assert!(matches!(
        bob.receive(&mid, &bytes),
        Err(ClientError::RcsSignatureDropped)
    ));
    assert_eq!(bob.security_state(&id).unwrap(), before);
    assert!(!bob.group(&id).unwrap().commit_required());
}

/// MLS-PROP-1/2: a commit that would apply a ServerRemove or an
/// rcs_signature is refused by the rules; nothing changes.
#[test]
fn commits_never_carry_server_remove_or_rcs_signature() {
    let Pair { mut alice, id, .. } = pair(Revision::V3_0);
    let epoch = alice.group(&id).unwrap().current_epoch();
    for (proposal, why) in [
        (
            CustomProposal::new(ProposalType::RCS_SERVER_REMOVE, vec![0, 0, 0, 1]),
            "server_remove",
        ),
        (
            CustomProposal::new(ProposalType::RCS_SIGNATURE, Vec::new()),
            "rcs_signature",
        ),
        (
            CustomProposal::new(ProposalType::new(0xF012), vec![1]),
            "0xF012",
        ),
    ] {
        let err = alice
            .atomically(|d| d.stage_commit(&id, |b| Ok(b.custom_proposal(proposal.clone()))))
            .unwrap_err();
        assert!(err.to_string().contains(why), "{err}");
        assert_eq!(alice.group(&id).unwrap().current_epoch(), epoch);
    }
}

/// RCV-KICK-1: a `message/mls-rcs-server-kick` body is recognised and
/// dropped; the conversation is unchanged.
#[test]
fn server_kick_is_dropped() {
    let Pair { mut bob, id, .. } = pair(Revision::V3_0);
    let before = bob.security_state(&id).unwrap();
    let kick = MlsEnvelope {
        original_message_id: None,
        from: None,
        to: None,
        date_time: None,
        message_id: "kick-1".into(),
        era: 1,
        epoch_authenticator: [0; 32],
        content_type: content_type::MLS_RCS_SERVER_KICK.into(),
        body: b"anything".to_vec(),
    }
    .encode();
    assert!(matches!(
        bob.receive("kick-1", &kick),
        Err(ClientError::ServerKickDropped)
    ));
    assert_eq!(bob.security_state(&id).unwrap(), before);
}

/// KP-OWN-1 (fact sheet §6): our KeyPackages start at the credential
/// certificate's notBefore and end 14 days after now.
#[test]
fn own_key_packages_start_at_the_certificate() {
    use crate::keypackages::lifetime;
    let clock = Arc::new(ManualClock::new(1_790_000_000));
    let mut dave = phone("+15551230004", &clock, 4, Revision::V3_0);
    // A month later: notBefore stays at the certificate's (creation − 1 h).
    clock.advance(30 * 86_400);
    let now = 1_790_000_000 + 30 * 86_400;
    let batch = dave.generate_key_packages(1).unwrap();
    for (_, bytes) in batch.key_packages.iter().chain(&batch.last_resort) {
        let message = mls_rs::MlsMessage::from_bytes(bytes).unwrap();
        let kp = message.as_key_package().unwrap();
        assert_eq!(
            lifetime(kp).unwrap(),
            (1_790_000_000 - 3_600, now + 14 * 86_400)
        );
    }
}

/// KP-9: a peer's KeyPackage that starts more than the allowed skew before
/// its certificate is refused, typed.
#[test]
fn key_package_before_its_certificate_is_refused() {
    use crate::keypackages::check_key_package;
    let clock = Arc::new(ManualClock::new(1_790_000_000));
    let alice = phone("+15551230001", &clock, 1, Revision::V3_0);
    let dave = phone("+15551230004", &clock, 4, Revision::V3_0);
    let suite = dave.suites()[0];
    let client = dave
        .mls_client_with(
            suite,
            dave.group_store.clone(),
            std::time::Duration::from_secs(10 * 86_400),
        )
        .unwrap();
    // The certificate starts at T0 − 1 h; this KeyPackage 2 h 1 s earlier.
    let start = mls_rs::time::MlsTime::from_duration_since_epoch(std::time::Duration::from_secs(
        1_790_000_000 - 3 * 3_600 - 1,
    ));
    let kp = client
        .generate_key_package_message(Default::default(), Default::default(), Some(start))
        .unwrap()
        .to_bytes()
        .unwrap();
    let policy = alice.config.key_packages;
    assert!(matches!(
        check_key_package(&alice.identity, 1_790_000_000, &policy, &kp),
        Err(ClientError::KeyPackageBeforeCredential)
    ));
    // One hour before the certificate is within the skew.
    let start = mls_rs::time::MlsTime::from_duration_since_epoch(std::time::Duration::from_secs(
        1_790_000_000 - 2 * 3_600,
    ));
    let kp = client
        .generate_key_package_message(Default::default(), Default::default(), Some(start))
        .unwrap()
        .to_bytes()
        .unwrap();
    assert!(check_key_package(&alice.identity, 1_790_000_000, &policy, &kp).is_ok());
}

/// GID-1 (fact sheet §6): groups we create get a lowercase UUIDv4 string
/// as MLS group id; a caller's id is used only when it has that form.
#[test]
fn group_ids_have_the_deployed_form() {
    let Pair {
        clock,
        mut alice,
        id,
        ..
    } = pair(Revision::V3_0);
    // `pair` asked for "profile": a fresh id was minted instead.
    assert_eq!(id.as_bytes().len(), 36);
    assert!(ConversationId::is_deployed_form(id.as_bytes()));
    let mut carol = phone("+15551230003", &clock, 3, Revision::V3_0);
    let given = b"7d444840-9dc0-41d2-a2a6-0e7e6ea1bd70".to_vec();
    let pending = alice
        .create_conversation(
            NewConversation::Group {
                group_id: given.clone(),
            },
            &[claim(&mut carol)],
        )
        .unwrap();
    assert_eq!(pending.conversation.as_bytes(), &given[..]);
    // Uppercase is not the deployed form: a fresh id again.
    let pending = alice
        .create_conversation(
            NewConversation::Group {
                group_id: given.to_ascii_uppercase(),
            },
            &[claim(&mut carol)],
        )
        .unwrap();
    assert_ne!(
        pending.conversation.as_bytes(),
        &given.to_ascii_uppercase()[..]
    );
    assert!(ConversationId::is_deployed_form(
        pending.conversation.as_bytes()
    ));
}

/// MLS-CAP-1/2: the KeyPackages a device publishes carry the deployed
/// capability lists of its configured revision, plus CROSSLOCK_EXTRAS.
#[test]
fn key_packages_advertise_the_deployed_capabilities() {
    use mls_rs::group::LeafNode;
    use mls_rs::mls_rs_codec::{MlsDecode, MlsEncode, MlsSize};

    use crate::mls::capabilities::{
        advertised_credentials, advertised_extensions, advertised_proposals, crosslock_extras,
    };
    let clock = Arc::new(ManualClock::new(1_790_000_000));
    for (seed, revision) in [(5, Revision::V3_0), (6, Revision::V4_0)] {
        let mut device = phone("+15551230005", &clock, seed, revision);
        let batch = device.generate_key_packages(1).unwrap();
        for (_, bytes) in &batch.key_packages {
            let message = mls_rs::MlsMessage::from_bytes(bytes).unwrap();
            let kp = message.as_key_package().unwrap();
            let encoded = kp.mls_encode_to_vec().unwrap();
            let mut rest = &encoded[4 + kp.hpke_init_key.mls_encoded_len()..];
            let leaf = LeafNode::mls_decode(&mut rest).unwrap();
            assert_eq!(leaf.capabilities.extensions, advertised_extensions());
            assert_eq!(leaf.capabilities.proposals, advertised_proposals(revision));
            assert_eq!(leaf.capabilities.credentials, advertised_credentials());
            assert!(crosslock_extras(&leaf.capabilities));
            // Nothing but last_resort ever goes in KeyPackage.extensions.
            assert!(kp.extensions.is_empty());
        }
    }
}

/// MLS-PROP-1 (RCC.16 §9.5.1): a ServerRemove sent by the server (an
/// external sender, PublicMessage) is dropped before MLS sees it.
#[test]
fn server_sent_server_remove_is_dropped() {
    let Pair { mut bob, id, .. } = pair(Revision::V3_0);
    let before = bob.security_state(&id).unwrap();
    let epoch = bob.group(&id).unwrap().current_epoch();
    // version ‖ wire_format 1 ‖ group_id<V> ‖ epoch ‖ sender external #0 ‖
    // authenticated_data<V> empty ‖ content_type proposal ‖ 0xF004 ‖ leaf 1
    // ‖ empty signature.
    let mut body = vec![0, 1, 0, 1, id.as_bytes().len() as u8];
    body.extend_from_slice(id.as_bytes());
    body.extend_from_slice(&epoch.to_be_bytes());
    body.extend_from_slice(&[2, 0, 0, 0, 0, 0, 2, 0xf0, 0x04]);
    body.extend_from_slice(&ext_u32(1));
    body.push(0);
    let kick = MlsEnvelope {
        original_message_id: None,
        from: None,
        to: None,
        date_time: None,
        message_id: "MxU2VydmVyUmVtb3ZlT25lMQ".into(),
        era: 1,
        epoch_authenticator: [0; 32],
        content_type: content_type::MLS_RCS_SERVER.into(),
        body,
    }
    .encode();
    assert!(matches!(
        bob.receive("MxU2VydmVyUmVtb3ZlT25lMQ", &kick),
        Err(ClientError::ServerRemoveDropped)
    ));
    assert_eq!(bob.security_state(&id).unwrap(), before);
}

fn ext_u32(leaf: u32) -> [u8; 4] {
    crosslock_wire::rcc16::proposal::encode_server_remove(leaf)
}

/// MLS-PROP-4: a proposal no commit may apply, sent on its own by a
/// hostile member (a custom proposal Crosslock never applies, 0xF010,
/// advertised for parity only; a GroupContextExtensions proposal changing
/// the era; a pre-shared key, which Crosslock never uses), is refused when it arrives and never cached: cached, it would
/// go into every later commit of the receiver and fail the rules, and
/// every send would fail with `CommitRequired`, so the group could neither
/// talk nor remove the attacker.
#[test]
fn a_proposal_no_commit_may_apply_is_not_cached() {
    let Pair {
        mut alice,
        mut bob,
        id,
        ..
    } = pair(Revision::V3_0);
    let unsupported = CustomProposal::new(ProposalType::new(0xF010), vec![1]);
    let (mid, bytes) = propose_custom(&mut alice, &id, unsupported);
    let mut hostile = vec![(mid, bytes)];
    hostile.push(
        alice
            .atomically(|d| {
                let message_id = d.new_message_id();
                let group = d.group(&id)?;
                let auth = crate::outbound::epoch_authenticator(group)?;
                let mut extensions = group.context().extensions.clone();
                extensions
                    .set_from(crate::mls::extensions::EraExtension { era: 9 })
                    .unwrap();
                let message = group
                    .propose_group_context_extensions(
                        extensions,
                        authenticated_data(&message_id, 1, None),
                    )
                    .unwrap();
                let out = envelope(
                    message_id.clone(),
                    HANDSHAKE,
                    ConversationKind::Group,
                    1,
                    auth,
                    &message,
                )?;
                Ok((message_id, out.envelope))
            })
            .unwrap(),
    );
    // An external PSK no member holds: a committer leaves it out, and the
    // delivery service then refuses every commit (`pending-proposal`).
    hostile.push(
        alice
            .atomically(|d| {
                let message_id = d.new_message_id();
                let group = d.group(&id)?;
                let auth = crate::outbound::epoch_authenticator(group)?;
                let message = group
                    .propose_external_psk(
                        mls_rs::psk::ExternalPskId::new(vec![7; 16]),
                        authenticated_data(&message_id, 1, None),
                    )
                    .unwrap();
                let out = envelope(
                    message_id.clone(),
                    HANDSHAKE,
                    ConversationKind::Group,
                    1,
                    auth,
                    &message,
                )?;
                Ok((message_id, out.envelope))
            })
            .unwrap(),
    );
    for (mid, bytes) in hostile {
        let before = bob.security_state(&id).unwrap();
        let refused = bob.receive(&mid, &bytes).unwrap_err();
        assert!(
            matches!(&refused, ClientError::InvalidHandshake(why) if why.starts_with("rule violated")),
            "{refused:?}"
        );
        assert_eq!(bob.security_state(&id).unwrap(), before);
        assert!(!bob.group(&id).unwrap().commit_required());
    }
    bob.send(&id, crate::Content::Text("still talking".into()))
        .unwrap();
    bob.update_keys(&id).unwrap();
}
