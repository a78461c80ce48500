#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Hostile-input catalogue, part 1: the client core.
//!
//! Each case is one attack on a device (Bob, or Alice when she is the one
//! handed hostile KeyPackages). It checks the typed `ClientError`, that the
//! device's observable state is exactly what it was (every stored row,
//! the conversation's security state — epoch, era, members, keys —, the
//! inbox, the KeyPackage stock, the conversation list), and, where cheap,
//! that a genuine message still goes through afterwards.

mod common;

use std::sync::Arc;

use ciborium::Value;
use common::*;
use crosslock_client::credential::{TrustAnchors, TrustPolicy, TrustedCarriers};
use crosslock_client::store::{MemoryStore, StateStore, Table, Write, WriteBatch};
use crosslock_client::suite::{Suite, SuitePolicy};
use crosslock_client::wire::file_info::{
    FileEncryptionInfo, FileInfo, FileKey, FileMetadata, Slot,
};
use crosslock_client::wire::inner::ApplicationPayload;
use crosslock_client::wire::mimi::MimiContent;
use crosslock_client::*;

/// Alice (creator), Bob and Carol in group `trio`, with their stores.
struct Trio {
    alice: Device,
    alice_store: Arc<MemoryStore>,
    bob: Device,
    bob_store: Arc<MemoryStore>,
    carol: Device,
    id: ConversationId,
}

fn trio_with(net: &Net, bob_config: DeviceConfig) -> Trio {
    let alice_store = Arc::new(MemoryStore::new());
    let bob_store = Arc::new(MemoryStore::new());
    let mut alice = net.phone_in(
        alice_store.clone(),
        "+15551230001",
        DeviceProfile::Android,
        dev_config(),
    );
    let mut bob = net.phone_in(
        bob_store.clone(),
        "+15551230002",
        DeviceProfile::Ios,
        bob_config,
    );
    let mut carol = net.phone("+15551230003", DeviceProfile::Android);
    let claims = [
        claim("+15551230002", &mut [&mut bob]),
        claim("+15551230003", &mut [&mut carol]),
    ];
    let pending = alice
        .create_conversation(
            NewConversation::Group {
                group_id: b"00000000-0000-4000-8000-000000000c01".to_vec(),
            },
            &claims,
        )
        .unwrap();
    accept(&mut alice, &pending, &mut [], &mut [&mut bob, &mut carol]);
    Trio {
        alice,
        alice_store,
        bob,
        bob_store,
        carol,
        id: pending.conversation,
    }
}

fn trio(net: &Net) -> Trio {
    trio_with(net, dev_config())
}

/// Everything observable about a device.
#[derive(Debug, PartialEq)]
struct Observed {
    rows: Vec<(Table, Vec<u8>, Vec<u8>)>,
    conversations: Vec<ConversationId>,
    security: Vec<SecurityState>,
    inbox: usize,
    key_packages: String,
}

fn observe(device: &mut Device, store: &dyn StateStore) -> Observed {
    let conversations = device.conversations().unwrap();
    let security = conversations
        .iter()
        .map(|id| device.security_state(id).unwrap())
        .collect();
    Observed {
        rows: snapshot(store),
        conversations,
        security,
        inbox: device.undelivered().unwrap().len(),
        key_packages: format!("{:?}", device.key_package_stock().unwrap()),
    }
}

/// Feeds `bytes` to Bob; the error must satisfy `expect` and Bob must be
/// unchanged.
fn bob_refuses(
    t: &mut Trio,
    transport_id: &str,
    bytes: &[u8],
    expect: impl Fn(&ClientError) -> bool,
) {
    let store = t.bob_store.clone();
    let before = observe(&mut t.bob, store.as_ref());
    let err = t
        .bob
        .receive(transport_id, bytes)
        .expect_err("hostile input accepted");
    assert!(expect(&err), "unexpected error: {err:?}");
    assert_eq!(
        observe(&mut t.bob, store.as_ref()),
        before,
        "refusal changed Bob ({err:?})"
    );
}

/// A genuine message from Alice still reaches Bob.
fn still_works(t: &mut Trio) {
    let m = t.alice.send_text(&t.id, "still fine").unwrap().outbound;
    assert_eq!(
        text_of(&t.bob.receive(&m.message_id, &m.envelope).unwrap()),
        "still fine"
    );
}

fn base64_32(byte: u8) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode([byte; 32])
}

fn header(envelope: &[u8], name: &str) -> String {
    wire::cpim::Message::decode(envelope)
        .unwrap()
        .headers
        .into_iter()
        .find(|h| h.name.eq_ignore_ascii_case(name))
        .unwrap()
        .value
}

/// Alice commits a key update, the server accepts it, Bob and Carol apply it.
fn rekey(t: &mut Trio) -> PendingCommit {
    let pending = t.alice.update_keys(&t.id).unwrap();
    accept(
        &mut t.alice,
        &pending,
        &mut [&mut t.bob, &mut t.carol],
        &mut [],
    );
    pending
}

/// A compromised sender: Alice's device sends `payload` verbatim. The
/// record of a genuine message she sent is rewritten in her store, then
/// resent (`resend_after_report` encrypts the stored payload as is).
fn send_raw_payload(t: &mut Trio, payload: ApplicationPayload) -> Outbound {
    let original = t.alice.send_text(&t.id, "original").unwrap().outbound;
    let rows = t.alice_store.scan(Table::Sent, &[]).unwrap();
    let (key, value) = rows
        .into_iter()
        .find(|(k, _)| k.ends_with(original.message_id.as_bytes()))
        .unwrap();
    let mut record: Value = ciborium::from_reader(value.as_slice()).unwrap();
    for (k, v) in record.as_map_mut().unwrap() {
        if k.as_text() == Some("payload") {
            *v = Value::Bytes(payload.encode(0));
        }
    }
    let mut bytes = Vec::new();
    ciborium::into_writer(&record, &mut bytes).unwrap();
    t.alice_store
        .commit(WriteBatch(vec![Write::Put(Table::Sent, key, bytes)]))
        .unwrap();
    t.alice
        .resend_after_report(&t.id, &original.message_id)
        .unwrap()
        .outbound
}

/// A FileInfo encoding named `name` (bypassing `FileInfo::new`'s checks).
fn file_info_named(name: &str) -> Vec<u8> {
    let placeholder = "n".repeat(name.len());
    let encryption = FileEncryptionInfo {
        key: FileKey::from_bytes([9; 32]),
        iv: [8; 12],
        tag: [7; 32],
        length_hint: Some(1000),
    };
    let metadata =
        FileMetadata::new(placeholder.clone(), "application/octet-stream", encryption).unwrap();
    let genuine = FileInfo::new(Slot::File, metadata).encode();
    let at = genuine
        .windows(placeholder.len())
        .position(|w| w == placeholder.as_bytes())
        .unwrap();
    let mut out = genuine.clone();
    out[at..at + name.len()].copy_from_slice(name.as_bytes());
    out
}

/// One client case per test.
macro_rules! case {
    ($(#[$doc:meta])* $name:ident, $body:block) => {
        $(#[$doc])*
        #[test]
        fn $name() $body
    };
}

// ------------------------------------------------------ application messages

case!(
    /// The server delivers a processed message a second time.
    replayed_application_message,
    {
        let net = Net::new();
        let mut t = trio(&net);
        let m = t.alice.send_text(&t.id, "once").unwrap().outbound;
        assert_eq!(text_of(&t.bob.receive(&m.message_id, &m.envelope).unwrap()), "once");
        bob_refuses(&mut t, &m.message_id, &m.envelope, |e| matches!(e, ClientError::Replayed));
        still_works(&mut t);
    }
);

case!(
    /// A message from an epoch whose secrets Bob already pruned (retention
    /// of two epochs here): later than the window allows.
    late_message_beyond_retention_window,
    {
        let net = Net::new();
        let mut config = dev_config();
        config.epoch_retention = EpochRetention { seconds: 3 * 86_400, max_epochs: 2 };
        let mut t = trio_with(&net, config);
        let late = t.alice.send_text(&t.id, "late").unwrap().outbound;
        for _ in 0..3 {
            rekey(&mut t);
        }
        bob_refuses(&mut t, &late.message_id, &late.envelope, |e| {
            matches!(e, ClientError::WrongEpoch { current: 4, received: 1 })
        });
        still_works(&mut t);
    }
);

case!(
    /// The envelope claims another era than the conversation's.
    wrong_era_envelope,
    {
        let net = Net::new();
        let mut t = trio(&net);
        let m = t.alice.send_text(&t.id, "genuine").unwrap().outbound;
        let forged = rewrite_header(&m.envelope, "mls.Era-ID", Some("2"));
        bob_refuses(&mut t, &m.message_id, &forged, |e| {
            matches!(e, ClientError::WrongEra { expected: 1, received: 2 })
        });
        assert_eq!(text_of(&t.bob.receive(&m.message_id, &m.envelope).unwrap()), "genuine");
    }
);

case!(
    /// `mls.Epoch-Authenticator` replaced by a forged value.
    forged_epoch_authenticator,
    {
        let net = Net::new();
        let mut t = trio(&net);
        let m = t.alice.send_text(&t.id, "genuine").unwrap().outbound;
        let forged = rewrite_header(&m.envelope, "mls.Epoch-Authenticator", Some(&base64_32(0x5a)));
        bob_refuses(&mut t, &m.message_id, &forged, |e| matches!(e, ClientError::EpochAuthenticatorMismatch));
        assert_eq!(text_of(&t.bob.receive(&m.message_id, &m.envelope).unwrap()), "genuine");
    }
);

case!(
    /// The genuine authenticator of the previous epoch pasted onto a
    /// message of the current one (a forked view replaying old headers).
    stale_epoch_authenticator,
    {
        let net = Net::new();
        let mut t = trio(&net);
        let old = t.alice.send_text(&t.id, "epoch 1").unwrap().outbound;
        rekey(&mut t);
        let m = t.alice.send_text(&t.id, "epoch 2").unwrap().outbound;
        let old_auth = header(&old.envelope, "mls.Epoch-Authenticator");
        let forged = rewrite_header(&m.envelope, "mls.Epoch-Authenticator", Some(&old_auth));
        bob_refuses(&mut t, &m.message_id, &forged, |e| matches!(e, ClientError::EpochAuthenticatorMismatch));
        assert_eq!(text_of(&t.bob.receive(&m.message_id, &m.envelope).unwrap()), "epoch 2");
    }
);

case!(
    /// The server rewrites the envelope's message id consistently; the id
    /// bound in the MLS authenticated data still disagrees.
    authenticated_data_mismatch,
    {
        let net = Net::new();
        let mut t = trio(&net);
        let m = t.alice.send_text(&t.id, "genuine").unwrap().outbound;
        let rewritten = "MxAAAAAAAAAAAAAAAAAAAAAA";
        let forged = rewrite_header(&m.envelope, "imdn.Message-ID", Some(rewritten));
        bob_refuses(&mut t, rewritten, &forged, |e| {
            matches!(e, ClientError::MessageIdMismatch { transport, authenticated }
                if transport == rewritten && *authenticated == m.message_id)
        });
        assert_eq!(text_of(&t.bob.receive(&m.message_id, &m.envelope).unwrap()), "genuine");
    }
);

case!(
    /// The envelope's id (and the transport's) is in neither deployed form,
    /// `Mx…` nor a UUID (RCV-MSGID-1, fact sheet §3a).
    malformed_message_id,
    {
        let net = Net::new();
        let mut t = trio(&net);
        let m = t.alice.send_text(&t.id, "genuine").unwrap().outbound;
        let forged = rewrite_header(&m.envelope, "imdn.Message-ID", Some("rewritten-id"));
        bob_refuses(&mut t, "rewritten-id", &forged, |e| {
            matches!(e, ClientError::MalformedMessageId(wire::message_id::MessageIdError::UnknownForm))
        });
        assert_eq!(text_of(&t.bob.receive(&m.message_id, &m.envelope).unwrap()), "genuine");
    }
);

case!(
    /// A resend whose `mls.Original-Message-ID` names another message than
    /// its authenticated `0x02` link (RCV-RESEND-2): the server tries to
    /// make it hide (or stand for) another of Alice's messages.
    resend_header_disagrees_with_link,
    {
        let net = Net::new();
        let mut t = trio(&net);
        let first = t.alice.send_text(&t.id, "first").unwrap().outbound;
        let lost = t.alice.send_text(&t.id, "lost").unwrap().outbound;
        assert_eq!(text_of(&t.bob.receive(&first.message_id, &first.envelope).unwrap()), "first");
        let again = MimiContent::text(t.alice.new_salt(), "lost");
        let resend = t.alice.resend(&t.id, &lost.message_id, Content::Mimi(again)).unwrap().outbound;
        assert_eq!(header(&resend.envelope, "mls.Original-Message-ID"), lost.message_id);
        let forged = rewrite_header(&resend.envelope, "mls.Original-Message-ID", Some(&first.message_id));
        bob_refuses(&mut t, &resend.message_id, &forged, |e| {
            matches!(e, ClientError::ResendLinkMismatch)
        });
        // The genuine resend is shown, linked to the lost original.
        match t.bob.receive(&resend.message_id, &resend.envelope).unwrap() {
            Received::Message(m) => {
                assert_eq!(m.resend_of.as_deref(), Some(lost.message_id.as_str()));
            }
            other => panic!("resend not shown: {other:?}"),
        }
    }
);

case!(
    /// The transport delivers an envelope under another id than its own.
    transport_id_mismatch,
    {
        let net = Net::new();
        let mut t = trio(&net);
        let m = t.alice.send_text(&t.id, "genuine").unwrap().outbound;
        bob_refuses(&mut t, "another-id", &m.envelope, |e| {
            matches!(e, ClientError::MessageIdMismatch { transport, .. } if transport == "another-id")
        });
        assert_eq!(text_of(&t.bob.receive(&m.message_id, &m.envelope).unwrap()), "genuine");
    }
);

case!(
    /// An outsider (Mallory, in her own group that happens to have the
    /// same group id at the same epoch) sends an application message with the
    /// group's genuine era and epoch authenticator copied from the wire:
    /// the sender is not in Bob's group.
    application_message_from_non_member,
    {
        let net = Net::new();
        let mut t = trio(&net);
        let genuine = t.alice.send_text(&t.id, "genuine").unwrap().outbound;
        let mut mallory = net.phone("+15559999999", DeviceProfile::Android);
        let mut dave = net.phone("+15559999998", DeviceProfile::Ios);
        let p = mallory
            .create_conversation(
                NewConversation::Group { group_id: b"00000000-0000-4000-8000-000000000c01".to_vec() },
                &[claim("+15559999998", &mut [&mut dave])],
            )
            .unwrap();
        mallory.commit_accepted(&p).unwrap();
        let m = mallory.send_text(&p.conversation, "let me in").unwrap().outbound;
        let auth = header(&genuine.envelope, "mls.Epoch-Authenticator");
        let forged = rewrite_header(&m.envelope, "mls.Epoch-Authenticator", Some(&auth));
        bob_refuses(&mut t, &m.message_id, &forged, |e| matches!(e, ClientError::DecryptionFailed));
        assert_eq!(text_of(&t.bob.receive(&genuine.message_id, &genuine.envelope).unwrap()), "genuine");
    }
);

case!(
    /// A flipped byte in the ciphertext.
    tampered_ciphertext,
    {
        let net = Net::new();
        let mut t = trio(&net);
        let m = t.alice.send_text(&t.id, "genuine").unwrap().outbound;
        let mut body = wire::cpim::MlsEnvelope::decode(&m.envelope).unwrap().body;
        let i = body.len() - 3;
        body[i] ^= 0x40;
        bob_refuses(&mut t, &m.message_id, &with_body(&m.envelope, body), |e| {
            matches!(e, ClientError::DecryptionFailed)
        });
        assert_eq!(text_of(&t.bob.receive(&m.message_id, &m.envelope).unwrap()), "genuine");
    }
);

case!(
    /// An MLS body cut in half.
    truncated_mls_body,
    {
        let net = Net::new();
        let mut t = trio(&net);
        let m = t.alice.send_text(&t.id, "genuine").unwrap().outbound;
        let body = wire::cpim::MlsEnvelope::decode(&m.envelope).unwrap().body;
        let cut = with_body(&m.envelope, body[..body.len() / 2].to_vec());
        bob_refuses(&mut t, &m.message_id, &cut, |e| matches!(e, ClientError::Malformed(_)));
        assert_eq!(text_of(&t.bob.receive(&m.message_id, &m.envelope).unwrap()), "genuine");
    }
);

// ------------------------------------------------- content from a member

case!(
    /// A compromised member sends a FileInfo whose name climbs out of the
    /// download directory: refused before anything reaches the inbox.
    file_name_path_traversal,
    {
        let net = Net::new();
        let mut t = trio(&net);
        let payload = ApplicationPayload::new(
            wire::content_type::MLS_RCS_FILE_INFO,
            file_info_named("../../.ssh/authorized_keys"),
        );
        let m = send_raw_payload(&mut t, payload);
        bob_refuses(&mut t, &m.message_id, &m.envelope, |e| {
            matches!(e, ClientError::Content(_))
        });
        still_works(&mut t);
    }
);

case!(
    /// The same with an absolute Windows path using backslashes.
    file_name_absolute_backslash_path,
    {
        let net = Net::new();
        let mut t = trio(&net);
        let payload = ApplicationPayload::new(
            wire::content_type::MLS_RCS_FILE_INFO,
            file_info_named("C:\\Windows\\system.ini"),
        );
        let m = send_raw_payload(&mut t, payload);
        bob_refuses(&mut t, &m.message_id, &m.envelope, |e| {
            matches!(e, ClientError::Content(_))
        });
        still_works(&mut t);
    }
);

case!(
    /// A member sends an FT-HTTP descriptor with no FileInfo before it
    /// (FILE-PAIR-1): refused, typed, and nothing reaches the inbox.
    file_descriptor_without_file_info,
    {
        let net = Net::new();
        let mut t = trio(&net);
        let entry = wire::ft_http::FileEntry::encrypted(
            80,
            wire::ft_http::Download {
                url: "https://files.example/blob/1".into(),
                until: T0 + 86_400,
            },
        );
        let descriptor = wire::ft_http::Descriptor::new(entry, None).unwrap();
        let payload = ApplicationPayload::new(wire::ft_http::CONTENT_TYPE, descriptor.encode());
        let m = send_raw_payload(&mut t, payload);
        bob_refuses(&mut t, &m.message_id, &m.envelope, |e| {
            matches!(e, ClientError::File(file::FileError::UnpairedDescriptor))
        });
        still_works(&mut t);
    }
);

case!(
    /// MIMI content that is a CBOR nesting bomb, inside a valid MLS message.
    mimi_nesting_bomb_in_message,
    {
        let net = Net::new();
        let mut t = trio(&net);
        let mut bomb = vec![0x81; 5_000];
        bomb.push(0x00);
        let m = send_raw_payload(&mut t, ApplicationPayload::new(wire::content_type::MIMI_CONTENT, bomb));
        bob_refuses(&mut t, &m.message_id, &m.envelope, |e| matches!(e, ClientError::Content(_)));
        still_works(&mut t);
    }
);

case!(
    /// MIMI content claiming another sender URI than the MLS sender.
    spoofed_mimi_sender_uri,
    {
        let net = Net::new();
        let mut t = trio(&net);
        let mut content = MimiContent::text([1; 16], "from carol, honest");
        content.extensions.sender_uri = Some("tel:+15551230003".into());
        let m = send_raw_payload(&mut t, ApplicationPayload::new(wire::content_type::MIMI_CONTENT, content.encode()));
        bob_refuses(&mut t, &m.message_id, &m.envelope, |e| matches!(e, ClientError::Content(_)));
        still_works(&mut t);
    }
);

// ----------------------------------------------------------------- commits

case!(
    /// Carol, already removed (she has not processed it), commits a key
    /// update in her stale epoch.
    commit_from_removed_member,
    {
        let net = Net::new();
        let mut t = trio(&net);
        let stale = t.carol.update_keys(&t.id).unwrap();
        let removal = t.alice.remove_participant(&t.id, &number("+15551230003")).unwrap();
        accept(&mut t.alice, &removal, &mut [&mut t.bob], &mut []);
        bob_refuses(&mut t, &stale.commit.message_id, &stale.commit.envelope, |e| {
            matches!(e, ClientError::WrongEpoch { current: 2, received: 1 })
        });
        still_works(&mut t);
    }
);

case!(
    /// A commit for an epoch Bob has not reached (the server skipped one).
    future_epoch_commit,
    {
        let net = Net::new();
        let mut t = trio(&net);
        let first = t.alice.update_keys(&t.id).unwrap();
        t.alice.commit_accepted(&first).unwrap();
        let second = t.alice.update_keys(&t.id).unwrap();
        t.alice.commit_accepted(&second).unwrap();
        bob_refuses(&mut t, &second.commit.message_id, &second.commit.envelope, |e| {
            matches!(e, ClientError::WrongEpoch { current: 1, received: 2 })
        });
        // In order, both apply.
        t.bob.receive(&first.commit.message_id, &first.commit.envelope).unwrap();
        t.bob.receive(&second.commit.message_id, &second.commit.envelope).unwrap();
        still_works(&mut t);
    }
);

case!(
    /// A commit already applied, delivered again (same epoch replay).
    replayed_commit,
    {
        let net = Net::new();
        let mut t = trio(&net);
        let p = rekey(&mut t);
        bob_refuses(&mut t, &p.commit.message_id, &p.commit.envelope, |e| matches!(e, ClientError::Replayed));
        still_works(&mut t);
    }
);

case!(
    /// A commit whose era header lies.
    commit_with_wrong_era,
    {
        let net = Net::new();
        let mut t = trio(&net);
        let p = t.alice.update_keys(&t.id).unwrap();
        t.alice.commit_accepted(&p).unwrap();
        let forged = rewrite_header(&p.commit.envelope, "mls.Era-ID", Some("9"));
        bob_refuses(&mut t, &p.commit.message_id, &forged, |e| {
            matches!(e, ClientError::WrongEra { expected: 1, received: 9 })
        });
        t.bob.receive(&p.commit.message_id, &p.commit.envelope).unwrap();
        still_works(&mut t);
    }
);

// ------------------------------------------------------- signed receipts

/// Carol's signed receipt with its plaintext edited; the signature is
/// left as she made it.
fn edited_receipt(r: &Outbound, edit: impl FnOnce(&mut wire::report::ReceiptEnvelope)) -> Vec<u8> {
    let mut envelope = wire::report::ReceiptEnvelope::decode(&r.envelope).unwrap();
    edit(&mut envelope);
    envelope.encode()
}

case!(
    /// A receipt whose XML says "displayed" while its rcs_signature covers
    /// "delivered" (RCPT-CONTENT-1).
    receipt_display_over_delivery_signature,
    {
        let net = Net::new();
        let mut t = trio(&net);
        let m = t.alice.send_text(&t.id, "hi").unwrap().outbound;
        let r = t.carol.delivery_receipt(&t.id, &m.message_id).unwrap();
        let forged = edited_receipt(&r, |e| {
            e.imdn.notification = wire::imdn::Notification::Display(wire::imdn::DisplayStatus::Displayed)
        });
        bob_refuses(&mut t, &r.message_id, &forged, |e| {
            matches!(e, ClientError::ReportRefused(ReportRefusal::ContentMismatch))
        });
        // The genuine one is accepted.
        assert!(matches!(t.bob.receive(&r.message_id, &r.envelope).unwrap(), Received::Receipt(_)));
        still_works(&mut t);
    }
);

case!(
    /// A receipt signed by Carol before Alice removed her, arriving after
    /// Bob applied the removal (RCPT-SIG-2: the signer must still hold its
    /// leaf).
    receipt_signed_by_removed_member,
    {
        let net = Net::new();
        let mut t = trio(&net);
        let m = t.alice.send_text(&t.id, "hi").unwrap().outbound;
        let r = t.carol.delivery_receipt(&t.id, &m.message_id).unwrap();
        let removal = t.alice.remove_participant(&t.id, &number("+15551230003")).unwrap();
        accept(&mut t.alice, &removal, &mut [&mut t.bob], &mut []);
        bob_refuses(&mut t, &r.message_id, &r.envelope, |e| {
            matches!(e, ClientError::ReportRefused(ReportRefusal::NotAMember))
        });
        still_works(&mut t);
    }
);

case!(
    /// A genuine receipt about one message replayed as a receipt about
    /// another, and under another receipt id (RCPT-CONTENT-1: both ids are
    /// signed).
    receipt_replayed_for_another_message,
    {
        let net = Net::new();
        let mut t = trio(&net);
        let a = t.alice.send_text(&t.id, "a").unwrap().outbound;
        let b = t.alice.send_text(&t.id, "b").unwrap().outbound;
        let r = t.carol.display_receipt(&t.id, &a.message_id).unwrap();
        let forged = edited_receipt(&r, |e| e.imdn.message_id = b.message_id.clone());
        bob_refuses(&mut t, &r.message_id, &forged, |e| {
            matches!(e, ClientError::ReportRefused(ReportRefusal::ContentMismatch))
        });
        let renamed = edited_receipt(&r, |e| e.message_id = "MxRenamedReceipt0000000".into());
        bob_refuses(&mut t, "MxRenamedReceipt0000000", &renamed, |e| {
            matches!(e, ClientError::ReportRefused(ReportRefusal::ContentMismatch))
        });
        // The genuine one once, then it is a replay.
        assert!(matches!(t.bob.receive(&r.message_id, &r.envelope).unwrap(), Received::Receipt(_)));
        bob_refuses(&mut t, &r.message_id, &r.envelope, |e| matches!(e, ClientError::Replayed));
        still_works(&mut t);
    }
);

case!(
    /// A display receipt carrying a failure-reason arm (§5 arm rule: an arm
    /// only on a failed delivery notification).
    receipt_reason_arm_on_display,
    {
        let net = Net::new();
        let mut t = trio(&net);
        let m = t.alice.send_text(&t.id, "hi").unwrap().outbound;
        let r = t.carol.display_receipt(&t.id, &m.message_id).unwrap();
        let mut cpim = wire::cpim::Message::decode(&r.envelope).unwrap();
        cpim.body = String::from_utf8(cpim.body)
            .unwrap()
            .replace(
                "<displayed/>",
                "<displayed><mls-client-failure-reason><failed-to-decrypt/></mls-client-failure-reason></displayed>",
            )
            .into_bytes();
        cpim.content_headers.retain(|h| h.name != "Content-Length");
        bob_refuses(&mut t, &r.message_id, &cpim.encode(), |e| {
            matches!(
                e,
                ClientError::Report(wire::report::ReportError::Imdn(wire::imdn::ImdnError::ArmNotAllowed(_)))
            )
        });
        still_works(&mut t);
    }
);

// ------------------------------------------------------ group subject and icon

case!(
    /// Under a v3.0 commitment (over the key `K` alone), Carol, a member who
    /// received the subject key, encrypts a subject of her own under the
    /// same `K` with a fresh IV and delivers that key, IV and tag: without
    /// a commit she would replace the subject Bob shows (GROUP-META-9).
    metadata_redelivery_with_a_different_value_under_the_same_key,
    {
        let net = Net::new();
        let mut t = trio(&net);
        let change = t
            .alice
            .set_group_metadata(&t.id, MetadataKind::Subject, b"Climbing club", "text/plain")
            .unwrap();
        accept(&mut t.alice, &change.commit, &mut [&mut t.bob, &mut t.carol], &mut []);
        let sent = t
            .alice
            .send_group_metadata_keys(&t.id, MetadataKind::Subject, "https://content.example/s", T0 + 86_400)
            .unwrap();
        let mut held = None;
        for device in [&mut t.bob, &mut t.carol] {
            for s in &sent {
                if let Received::Message(m) = device.receive(&s.outbound.message_id, &s.outbound.envelope).unwrap()
                    && let ReceivedContent::FileInfo(info) = m.content
                {
                    held = Some(info);
                }
            }
        }
        assert_eq!(
            t.bob.open_group_metadata(&t.id, MetadataKind::Subject, &change.ciphertext).unwrap(),
            b"Climbing club"
        );
        // Carol's value under Alice's key.
        let info = held.unwrap();
        let key = *info.metadata().encryption().key.as_bytes();
        let (_, sealed) = file::encrypt_bytes(
            b"Carol's club",
            &FileKey::from_bytes(key),
            b"group_subject",
            [0x5a; 12],
        )
        .unwrap();
        let metadata = FileMetadata::new(
            "group_subject",
            "text/plain",
            FileEncryptionInfo {
                key: FileKey::from_bytes(key),
                iv: [0x5a; 12],
                tag: sealed.tag,
                length_hint: Some(sealed.size),
            },
        )
        .unwrap();
        let forged = t
            .carol
            .send(&t.id, Content::FileInfo(FileInfo::new(Slot::Subject, metadata)))
            .unwrap()
            .outbound;
        bob_refuses(&mut t, &forged.message_id, &forged.envelope, |e| {
            matches!(
                e,
                ClientError::GroupMetadata(GroupMetadataError::ConflictingDelivery(MetadataKind::Subject))
            )
        });
        assert_eq!(
            t.bob.group_metadata(&t.id).unwrap().subject.as_deref(),
            Some("Climbing club")
        );
        // The genuine key delivered again is still read.
        let again = t
            .alice
            .send_group_metadata_keys(&t.id, MetadataKind::Subject, "https://content.example/s", T0 + 86_400)
            .unwrap();
        for s in &again {
            assert!(matches!(
                t.bob.receive(&s.outbound.message_id, &s.outbound.envelope).unwrap(),
                Received::Message(_)
            ));
        }
        assert_eq!(
            t.bob.group_metadata(&t.id).unwrap().subject.as_deref(),
            Some("Climbing club")
        );
        still_works(&mut t);
    }
);

// -------------------------------------------------------------- Welcomes

case!(
    /// The KDS hands out Bob's one-time KeyPackage twice: a second group
    /// built on it sends Bob a Welcome for a KeyPackage he already used.
    welcome_for_reused_key_package,
    {
        let net = Net::new();
        let bob_store = Arc::new(MemoryStore::new());
        let mut bob = net.phone_in(bob_store.clone(), "+15551230002", DeviceProfile::Ios, dev_config());
        let mut alice = net.phone("+15551230001", DeviceProfile::Android);
        let mut carol = net.phone("+15551230003", DeviceProfile::Android);
        let kps = claim("+15551230002", &mut [&mut bob]);
        let first = alice.create_conversation(NewConversation::OneToOne, std::slice::from_ref(&kps)).unwrap();
        accept(&mut alice, &first, &mut [], &mut [&mut bob]);
        let second = carol.create_conversation(NewConversation::OneToOne, &[kps]).unwrap();
        carol.commit_accepted(&second).unwrap();
        let w = second.welcome.unwrap();
        let before = observe(&mut bob, bob_store.as_ref());
        let err = bob.receive_with_tree(&w.message_id, &w.envelope, Some(&second.ratchet_tree)).unwrap_err();
        assert!(matches!(err, ClientError::WelcomeNotForUs), "{err:?}");
        assert_eq!(observe(&mut bob, bob_store.as_ref()), before);
        let m = alice.send_text(&first.conversation, "still fine").unwrap().outbound;
        assert_eq!(text_of(&bob.receive(&m.message_id, &m.envelope).unwrap()), "still fine");
    }
);

case!(
    /// The DS delivers a Welcome Bob already joined from a second time (it
    /// lost the acknowledgement in a crash): a replay, not a join error.
    welcome_delivered_again,
    {
        let net = Net::new();
        let bob_store = Arc::new(MemoryStore::new());
        let mut bob = net.phone_in(bob_store.clone(), "+15551230002", DeviceProfile::Ios, dev_config());
        let mut alice = net.phone("+15551230001", DeviceProfile::Android);
        let kps = claim("+15551230002", &mut [&mut bob]);
        let first = alice.create_conversation(NewConversation::OneToOne, &[kps]).unwrap();
        alice.commit_accepted(&first).unwrap();
        let w = first.welcome.clone().unwrap();
        assert!(matches!(bob.receive_with_tree(&w.message_id, &w.envelope, Some(&first.ratchet_tree)).unwrap(), Received::Joined { .. }));
        let before = observe(&mut bob, bob_store.as_ref());
        let err = bob.receive_with_tree(&w.message_id, &w.envelope, Some(&first.ratchet_tree)).unwrap_err();
        assert!(matches!(err, ClientError::Replayed), "{err:?}");
        assert_eq!(observe(&mut bob, bob_store.as_ref()), before);
        let m = alice.send_text(&first.conversation, "still fine").unwrap().outbound;
        assert_eq!(text_of(&bob.receive(&m.message_id, &m.envelope).unwrap()), "still fine");
    }
);

case!(
    /// A Welcome addressed to someone else.
    welcome_not_for_us,
    {
        let net = Net::new();
        let mut t = trio(&net);
        let mut dave = net.phone("+15551230004", DeviceProfile::Ios);
        let p = t.alice.add_participants(&t.id, &[claim("+15551230004", &mut [&mut dave])]).unwrap();
        t.alice.commit_accepted(&p).unwrap();
        let w = p.welcome.unwrap();
        bob_refuses(&mut t, &w.message_id, &w.envelope, |e| matches!(e, ClientError::WelcomeNotForUs));
    }
);

case!(
    /// A Welcome whose era header lies about the group's era.
    welcome_with_wrong_era,
    {
        let net = Net::new();
        let mut alice = net.phone("+15551230001", DeviceProfile::Android);
        let bob_store = Arc::new(MemoryStore::new());
        let mut bob = net.phone_in(bob_store.clone(), "+15551230002", DeviceProfile::Ios, dev_config());
        let p = alice
            .create_conversation(NewConversation::OneToOne, &[claim("+15551230002", &mut [&mut bob])])
            .unwrap();
        alice.commit_accepted(&p).unwrap();
        let w = p.welcome.unwrap();
        let before = observe(&mut bob, bob_store.as_ref());
        let lie = rewrite_header(&w.envelope, "mls.Era-ID", Some("7"));
        let err = bob.receive_with_tree(&w.message_id, &lie, Some(&p.ratchet_tree)).unwrap_err();
        assert!(matches!(err, ClientError::WrongEra { expected: 1, received: 7 }), "{err:?}");
        assert_eq!(observe(&mut bob, bob_store.as_ref()), before);
        assert!(matches!(bob.receive_with_tree(&w.message_id, &w.envelope, Some(&p.ratchet_tree)).unwrap(), Received::Joined { .. }));
    }
);

case!(
    /// SUITE-PQ-1: a Welcome relabelled with the retired private
    /// post-quantum code point 0xFE4C (an outdated build's invitation):
    /// refused with the error that says to update, nothing stored; the
    /// genuine Welcome still joins.
    welcome_retired_suite,
    {
        let net = Net::new();
        let mut alice = net.phone("+15551230001", DeviceProfile::Android);
        let bob_store = Arc::new(MemoryStore::new());
        let mut bob = net.phone_in(bob_store.clone(), "+15551230002", DeviceProfile::Ios, dev_config());
        let p = alice
            .create_conversation(NewConversation::OneToOne, &[claim("+15551230002", &mut [&mut bob])])
            .unwrap();
        alice.commit_accepted(&p).unwrap();
        let w = p.welcome.unwrap();
        let mut body = wire::cpim::MlsEnvelope::decode(&w.envelope).unwrap().body;
        // MLSMessage: version u16, wire_format u16 (welcome), then the
        // Welcome's cipher_suite u16 (RFC 9420 §6, §12.4.3.1).
        assert_eq!(&body[..4], &[0, 1, 0, 3]);
        body[4..6].copy_from_slice(&0xFE4Cu16.to_be_bytes());
        let before = observe(&mut bob, bob_store.as_ref());
        let tree = Some(p.ratchet_tree.as_slice());
        let err = bob.receive_with_tree(&w.message_id, &with_body(&w.envelope, body), tree).unwrap_err();
        assert!(matches!(err, ClientError::SuiteRetired { code: 0xFE4C }), "{err:?}");
        assert_eq!(observe(&mut bob, bob_store.as_ref()), before);
        assert!(matches!(bob.receive_with_tree(&w.message_id, &w.envelope, tree).unwrap(), Received::Joined { .. }));
    }
);

// ----------------------------------------------------------- KeyPackages

/// Alice (store observed) is offered `kps` for a new 1:1 conversation;
/// the attempt must fail with `expect` and leave her unchanged.
fn alice_refuses(
    net: &Net,
    config: DeviceConfig,
    kps: ParticipantKeyPackages,
    expect: impl Fn(&ClientError) -> bool,
) {
    let store = Arc::new(MemoryStore::new());
    let mut alice = net.phone_in(
        store.clone(),
        "+15551230001",
        DeviceProfile::Android,
        config,
    );
    let before = observe(&mut alice, store.as_ref());
    let err = alice
        .create_conversation(NewConversation::OneToOne, &[kps])
        .unwrap_err();
    assert!(expect(&err), "unexpected error: {err:?}");
    assert_eq!(
        observe(&mut alice, store.as_ref()),
        before,
        "refusal changed Alice ({err:?})"
    );
}

/// Bob's KeyPackages, keeping only those whose suite passes `keep`.
fn bob_key_packages(net: &Net, keep: impl Fn(u16) -> bool) -> ParticipantKeyPackages {
    let mut bob = net.phone("+15551230002", DeviceProfile::Ios);
    let mut kps = claim("+15551230002", &mut [&mut bob]);
    for device in &mut kps.devices {
        device
            .0
            .retain(|kp| keep(u16::from_be_bytes([kp[6], kp[7]])));
    }
    kps
}

case!(
    /// Bob offers only classical suites (the post-quantum KeyPackage was
    /// stripped in transit); Alice requires post-quantum: no downgrade.
    key_package_downgraded_suite,
    {
        let net = Net::new();
        let mut config = dev_config();
        config.suites = SuitePolicy::post_quantum_only();
        let kps = bob_key_packages(&net, |suite| suite != Suite::MlKem768X25519Aes128.code());
        assert!(!kps.devices[0].0.is_empty());
        alice_refuses(&net, config, kps, |e| matches!(e, ClientError::NoCommonSuite));
    }
);

case!(
    /// A KeyPackage relabelled with cipher suite 0x0003 (ChaCha20, not
    /// supported).
    key_package_unsupported_suite,
    {
        let net = Net::new();
        let mut kps = bob_key_packages(&net, |_| true);
        for kp in &mut kps.devices[0].0 {
            kp[6..8].copy_from_slice(&3u16.to_be_bytes());
        }
        alice_refuses(&net, dev_config(), kps, |e| matches!(e, ClientError::UnsupportedSuite { code: 3 }));
    }
);

case!(
    /// SUITE-PQ-1: a KeyPackage relabelled with the retired private
    /// post-quantum code point 0xFE4C (what an outdated Crosslock build
    /// would offer): refused with the error that says to update.
    key_package_retired_suite,
    {
        let net = Net::new();
        let mut kps = bob_key_packages(&net, |_| true);
        for kp in &mut kps.devices[0].0 {
            kp[6..8].copy_from_slice(&0xFE4Cu16.to_be_bytes());
        }
        alice_refuses(&net, dev_config(), kps, |e| {
            matches!(e, ClientError::SuiteRetired { code: 0xFE4C }) && e.to_string().contains("update")
        });
    }
);

case!(
    /// Mallory's KeyPackage answering a claim for Bob's number.
    key_package_wrong_credential,
    {
        let net = Net::new();
        let mut mallory = net.phone("+15559999999", DeviceProfile::Ios);
        let mut kps = claim("+15559999999", &mut [&mut mallory]);
        kps.number = number("+15551230002");
        alice_refuses(&net, dev_config(), kps, |e| matches!(e, ClientError::KeyPackageIdentityMismatch { .. }));
    }
);

case!(
    /// A self-issued development credential offered to a production device.
    key_package_untrusted_credential,
    {
        let net = Net::new();
        let production = DeviceConfig::new(TrustPolicy::Production {
            anchors: TrustAnchors::none(),
            carriers: TrustedCarriers::default(),
        });
        let kps = bob_key_packages(&net, |_| true);
        alice_refuses(&net, production, kps, |e| {
            matches!(e, ClientError::Credential(credential::CredentialError::DevelopmentCredentialRefused))
        });
    }
);

case!(
    /// A KeyPackage fifteen days old (lifetime fourteen).
    key_package_expired,
    {
        let net = Net::new();
        let kps = bob_key_packages(&net, |_| true);
        net.clock.advance(15 * 86_400);
        alice_refuses(&net, dev_config(), kps, |e| matches!(e, ClientError::KeyPackageExpired));
    }
);

case!(
    /// Bytes that are not a KeyPackage at all.
    key_package_garbage,
    {
        let net = Net::new();
        let kps = ParticipantKeyPackages {
            number: number("+15551230002"),
            devices: vec![DeviceKeyPackages(vec![vec![0x00, 0x01, 0x00, 0x05, 0xff]])],
            transparency: None,
        };
        alice_refuses(&net, dev_config(), kps, |e| matches!(e, ClientError::InvalidKeyPackage(_)));
    }
);
