//! RCV-GEN-1 (fact sheet §3b): a member whose plaintext frame names another
//! generation than the one MLS decrypts with is refused, and the receiver
//! is unchanged. A compromised sender is needed to make such a message, so
//! this test drives Alice's MLS group directly (the public API always
//! frames the right generation).

use std::sync::Arc;

use crosslock_wire::content_type;
use crosslock_wire::inner::ApplicationPayload;

use crate::conversation::NewConversation;
use crate::env::ManualClock;
use crate::outbound::{APPLICATION, authenticated_data, envelope, epoch_authenticator};
use crate::records::{ConversationKind, DeviceProfile};
use crate::store::{MemoryStore, StateStore, Table};
use crate::test_devices::{claim, dev_config, phone_in};
use crate::{ClientError, ConversationId, Device, Received};

fn phone(n: &str, clock: &Arc<ManualClock>, seed: u64) -> (Device, Arc<MemoryStore>) {
    let memory = Arc::new(MemoryStore::new());
    let device = phone_in(
        memory.clone(),
        n,
        DeviceProfile::Android,
        dev_config(),
        clock,
        seed,
    );
    (device, memory)
}

fn rows(store: &MemoryStore) -> Vec<(Table, Vec<u8>, Vec<u8>)> {
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

fn pair() -> (Device, Device, Arc<MemoryStore>, ConversationId) {
    let clock = Arc::new(ManualClock::new(1_790_000_000));
    let (mut alice, _) = phone("+15551230001", &clock, 1);
    let (mut bob, bob_store) = phone("+15551230002", &clock, 2);
    let claim = claim(&mut bob);
    let pending = alice
        .create_conversation(NewConversation::OneToOne, &[claim])
        .unwrap();
    alice.commit_accepted(&pending).unwrap();
    let welcome = pending.welcome.clone().unwrap();
    bob.receive_with_tree(
        &welcome.message_id,
        &welcome.envelope,
        Some(&pending.ratchet_tree),
    )
    .unwrap();
    (alice, bob, bob_store, pending.conversation)
}

fn text(received: Received) -> Vec<u8> {
    match received {
        Received::Message(m) => match m.content {
            crate::ReceivedContent::Other { body, .. } => body,
            crate::ReceivedContent::Mimi { content, .. } => {
                content.text_body().unwrap().as_bytes().to_vec()
            }
            other => panic!("unexpected content {other:?}"),
        },
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn a_frame_naming_another_generation_is_refused() {
    let (mut alice, mut bob, bob_store, id) = pair();
    // Genuine messages carry generations 0, 1, 2 and pass the check.
    for i in 0..3 {
        let m = alice.send_text(&id, &format!("m{i}")).unwrap().outbound;
        let got = text(bob.receive(&m.message_id, &m.envelope).unwrap());
        assert_eq!(got, format!("m{i}").as_bytes());
    }
    // A compromised Alice encrypts at generation 3 a frame that says 4
    // (and, second try, one that says 2: an earlier generation).
    let era = alice.conversation_record(&id).unwrap().era;
    for claimed in [4, 2] {
        let message_id = alice.new_message_id();
        let group = alice.group(&id).unwrap();
        let auth = epoch_authenticator(group).unwrap();
        let generation = group.peek_next_key_generation().unwrap();
        assert_eq!(generation, 3 + u32::from(claimed == 2));
        let plaintext =
            ApplicationPayload::new(content_type::TEXT_PLAIN, b"forged".to_vec()).encode(claimed);
        let message = group
            .encrypt_application_message(&plaintext, authenticated_data(&message_id, era, None))
            .unwrap();
        let forged = envelope(
            message_id,
            APPLICATION,
            ConversationKind::OneToOne,
            era,
            auth,
            &message,
        )
        .unwrap();
        let before = (rows(&bob_store), bob.security_state(&id).unwrap());
        match bob.receive(&forged.message_id, &forged.envelope) {
            Err(ClientError::GenerationMismatch { framed, decrypted }) => {
                assert_eq!((framed, decrypted), (claimed, generation));
            }
            other => panic!("forged generation accepted: {other:?}"),
        }
        assert_eq!(
            (rows(&bob_store), bob.security_state(&id).unwrap()),
            before,
            "the refusal changed Bob"
        );
    }
    // Alice's next genuine message (generation 5) still reaches Bob.
    let m = alice.send_text(&id, "still fine").unwrap().outbound;
    assert_eq!(
        text(bob.receive(&m.message_id, &m.envelope).unwrap()),
        b"still fine"
    );
}
