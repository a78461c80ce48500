//! Unit tests: a known answer computed with other implementations, and a
//! forged FileInfo sent through MLS (which only the crate can build).

use std::io::Cursor;
use std::sync::Arc;

use crosslock_credential::{PhoneNumber, TrustAnchors, TrustPolicy};
use crosslock_wire::content_type;
use crosslock_wire::file_info::{FileInfo, FileInfoFields, FileKey};
use crosslock_wire::inner::ApplicationPayload;

use super::*;
use crate::config::DeviceConfig;
use crate::conversation::{DeviceKeyPackages, NewConversation, ParticipantKeyPackages};
use crate::device::{Device, NewDevice};
use crate::env::{Environment, ManualClock, SeededEntropy};
use crate::ids::ConversationId;
use crate::keystore::SoftwareKeyStore;
use crate::receive::{Received, ReceivedContent};
use crate::records::DeviceProfile;
use crate::store::{MemoryStore, StateStore};

/// Computed independently: HKDF with Python's `hmac`, AES-256-CTR with the
/// `openssl enc -aes-256-ctr` command, HMAC with Python. The IV
/// makes the counter carry out of its low 32 bits in the third block.
const KAT_IV: &str = "000102030405060708090a0bfffffffe";
const KAT_BLOB: &str = concat!(
    "000102030405060708090a0bfffffffe",
    "6627088abefcf5653f8bbcbeb34bcf46aa67e1945c038e8f1d8f4ae60691af60",
    "c121eda26baa7ce6f3238c8cf3686209b30666f2af46bb58f41751b819fa7756",
    "2cd996c033eb7cae",
    "0a1fff265ef558aaf3edc7250548835834374ee68fb62fc289e71b136d1c9db7",
);

fn kat_plaintext() -> Vec<u8> {
    let mut p = b"hello, file!".repeat(5);
    p.extend_from_slice(b"\n\n\n\n\n");
    p
}

#[test]
fn known_answer() {
    let key = FileKey::from_bytes(std::array::from_fn(|i| i as u8));
    let iv: [u8; IV_LEN] = hex::decode(KAT_IV).unwrap().try_into().unwrap();
    let mut blob = Vec::new();
    let out = encrypt_file(&kat_plaintext()[..], &mut blob, &key, iv).unwrap();
    assert_eq!(hex::encode(&blob), KAT_BLOB);
    assert_eq!(out.size, 65);
    assert_eq!(out.encrypted_size, 16 + 72 + 32);
    let mut plain = Vec::new();
    let params = DecryptParams {
        key: &key,
        size: 65,
        encrypted_size: out.encrypted_size,
    };
    assert_eq!(
        decrypt_file(Cursor::new(&blob), &mut plain, params).unwrap(),
        65
    );
    assert_eq!(plain, kat_plaintext());
}

#[test]
fn sizes_must_fit_the_format() {
    assert_eq!(encrypted_size(0), Some(48));
    assert_eq!(encrypted_size(17), Some(16 + 18 + 32));
    assert_eq!(encrypted_size(MAX_FILE_SIZE), Some(MAX_FILE_SIZE + 48));
    assert_eq!(encrypted_size(MAX_FILE_SIZE + 1), None);
    assert_eq!(check_sizes(17, 66).unwrap(), 18);
    // 17 and 18 bytes share a padded length: both fit 66.
    assert_eq!(check_sizes(18, 66).unwrap(), 18);
    for (size, encrypted) in [(17, 65), (17, 67), (0, 0), (u64::MAX, u64::MAX)] {
        assert!(matches!(
            check_sizes(size, encrypted),
            Err(FileError::InconsistentSizes { .. })
        ));
    }
}

// ---- A forged FileInfo through MLS --------------------------------------

fn phone(n: &str, seed: u64, clock: &Arc<ManualClock>) -> Device {
    let store: Arc<dyn StateStore> = Arc::new(MemoryStore::new());
    let keystore = Arc::new(SoftwareKeyStore::new(store.clone()));
    let env = Environment {
        clock: clock.clone(),
        entropy: Arc::new(SeededEntropy::new(seed)),
    };
    let config = DeviceConfig::new(TrustPolicy::Development {
        anchors: TrustAnchors::none(),
    });
    let new = NewDevice {
        number: PhoneNumber::parse(n).unwrap(),
        profile: DeviceProfile::Android,
    };
    Device::create(store, keystore, new, config, env).unwrap()
}

fn pair() -> (Device, Device, ConversationId) {
    let clock = Arc::new(ManualClock::new(1_790_000_000));
    let mut alice = phone("+15551230001", 11, &clock);
    let mut bob = phone("+15551230002", 12, &clock);
    let batch = bob.generate_key_packages(1).unwrap();
    let bob_kps = ParticipantKeyPackages {
        number: PhoneNumber::parse("+15551230002").unwrap(),
        devices: vec![DeviceKeyPackages(
            batch.key_packages.into_iter().map(|(_, kp)| kp).collect(),
        )],
        transparency: None,
    };
    let pending = alice
        .create_conversation(NewConversation::OneToOne, &[bob_kps])
        .unwrap();
    alice.commit_accepted(&pending).unwrap();
    let welcome = pending.welcome.unwrap();
    bob.receive_with_tree(
        &welcome.message_id,
        &welcome.envelope,
        Some(&pending.ratchet_tree),
    )
    .unwrap();
    (alice, bob, pending.conversation)
}

fn send_raw(alice: &mut Device, id: &ConversationId, body: Vec<u8>) -> crate::Outbound {
    let payload = ApplicationPayload::new(content_type::MLS_RCS_FILE_INFO, body);
    alice
        .send_payload(id, payload, None, None, |_| Ok(()))
        .unwrap()
        .outbound
}

fn valid_info(name_bytes: &str) -> FileInfo {
    FileInfo::new(FileInfoFields {
        url: "https://cs.example/f/1".into(),
        key: FileKey::from_bytes([1; 32]),
        size: 5,
        encrypted_size: 53,
        media_type: "text/plain".into(),
        name: name_bytes.into(),
        expires: 1_790_086_400,
    })
    .unwrap()
}

#[test]
fn forged_file_infos_are_refused_on_receive_and_nothing_is_stored() {
    let (mut alice, mut bob, id) = pair();
    let good = valid_info("a.txt").encode();
    // The same FileInfo with the name "a.txt" swapped for "../a.t": same
    // length, so only the name check can refuse it.
    let traversal = {
        let at = good.windows(5).position(|w| w == b"a.txt").unwrap();
        let mut b = good.clone();
        b[at..at + 5].copy_from_slice(b"../at");
        b
    };
    // Sizes that do not fit the format (53 → 54).
    let inconsistent = {
        let at = good.windows(3).position(|w| w == [0x04, 0x18, 53]).unwrap();
        let mut b = good.clone();
        b[at + 2] = 54;
        b
    };
    let mut garbage = good.clone();
    garbage.truncate(good.len() - 1);
    for (what, body) in [
        ("traversal", traversal),
        ("inconsistent", inconsistent),
        ("truncated", garbage),
        ("empty", Vec::new()),
    ] {
        let out = send_raw(&mut alice, &id, body);
        let before = bob.undelivered().unwrap().len();
        match bob.receive(&out.message_id, &out.envelope) {
            Err(ClientError::Content(_)) => {}
            other => panic!("{what}: {other:?}"),
        }
        assert_eq!(bob.undelivered().unwrap().len(), before, "{what}");
    }
    // A good one still goes through, and stays until acknowledged.
    let out = alice
        .send_file_info(&id, valid_info("a.txt"))
        .unwrap()
        .outbound;
    match bob.receive(&out.message_id, &out.envelope).unwrap() {
        Received::Message(m) => {
            assert_eq!(m.content, ReceivedContent::FileInfo(valid_info("a.txt")));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(bob.undelivered().unwrap().len(), 1);
}
