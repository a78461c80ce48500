//! Writes the seed corpora (`fuzz/seeds/<target>/`) from the real encoders
//! and the attestation samples, and the key-transparency fixture
//! (`fuzz/fixtures/kt.json`) from a real directory.
//!
//! ```text
//! cd fuzz && cargo run --release --features seedgen --bin make-seeds
//! ```
//!
//! The output is committed; the fuzz scripts only copy it. Everything but
//! the key-transparency part is deterministic (the log and VRF keys are
//! fresh on every run, so regenerating rewrites kt.json and its seeds
//! together).

use std::path::{Path, PathBuf};

use base64::Engine as _;
use crosslock_client::file::encrypt_file;
use crosslock_credential::{CertSigner, PhoneNumber, build_csr, issue_development_credential};
use crosslock_fuzz::{CredentialFixture, FILE_KEY, FILE_NAME, FixedSigner, KtFixture, NOW, join};
use crosslock_kt::server::{KtLog, KtLogOptions, LogKeys};
use crosslock_kt::{Binding, BoundKey};
use crosslock_wire::aad::{AuthenticatedData, Resend};
use crosslock_wire::api::B64;
use crosslock_wire::api::ds::*;
use crosslock_wire::api::kds::*;
use crosslock_wire::api::kt::NumberRequest;
use crosslock_wire::content_type;
use crosslock_wire::cpim::{Header, Message, MlsEnvelope};
use crosslock_wire::file_info::{FileEncryptionInfo, FileInfo, FileKey, FileMetadata, Slot};
use crosslock_wire::ft_http::{Descriptor, Download, FileEntry};
use crosslock_wire::imdn::{ClientReason, DeliveryStatus, FailureArm, Imdn, Notification};
use crosslock_wire::inner::ApplicationPayload;
use crosslock_wire::mimi::{Expiration, MessageId, MimiContent};
use crosslock_wire::report::{DerivedContent, ReceiptEnvelope};
use crosslock_wire::status::{MessageStatus, MessageStatusReport, PerMessageStatus};
use crosslock_wire::typing::IsComposing;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = root().join("seeds").join(target);
    std::fs::create_dir_all(&dir).expect("mkdir");
    assert!(bytes.len() < 64 * 1024, "{target}/{name} is too large");
    std::fs::write(dir.join(name), bytes).expect("write seed");
}

fn with_mode(mode: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![mode];
    out.extend_from_slice(body);
    out
}

fn json(value: &impl serde::Serialize) -> Vec<u8> {
    serde_json::to_vec(value).expect("json")
}

fn envelope(id: &str, body: Vec<u8>) -> MlsEnvelope {
    MlsEnvelope {
        from: Some("<tel:+15551234567>".into()),
        to: Some("<sip:conference@example.com>".into()),
        date_time: Some("2026-12-05T10:00:00Z".into()),
        message_id: id.into(),
        era: 1,
        epoch_authenticator: [0xab; 32],
        original_message_id: None,
        content_type: content_type::MESSAGE_MLS.into(),
        body,
    }
}

/// A negative delivery IMDN (reason 2) in its receipt envelope. The
/// signature header holds an opaque blob: the decoders fuzzed here parse
/// it as bytes only; verifying it needs a group (the client's job).
fn receipt() -> ReceiptEnvelope {
    ReceiptEnvelope {
        message_id: "report-0001".into(),
        date_time: Some("2026-12-05T10:00:00Z".into()),
        era: 1,
        signature: vec![0x00, 0x01, 0x00, 0x01, 0x04, 0x66, 0x75, 0x7a, 0x7a],
        imdn: Imdn::new(
            "f81d4fae-7dec-11d0-a765-00a0c91e6bf6",
            NOW * 1000,
            Notification::Delivery(DeliveryStatus::Failed(Some(FailureArm::Client(
                ClientReason::InvalidCredential,
            )))),
        ),
    }
}

fn file_info(slot: Slot, name: &str, size: u32) -> FileInfo {
    let encryption = FileEncryptionInfo {
        key: FileKey::from_bytes([9; 32]),
        iv: [8; 12],
        tag: [7; 32],
        length_hint: Some(size),
    };
    FileInfo::new(
        slot,
        FileMetadata::new(name, "image/jpeg", encryption).expect("file metadata"),
    )
}

fn descriptor() -> Descriptor {
    let entry = |size| {
        FileEntry::encrypted(
            size,
            Download {
                url: "https://content.example.com/files/0123456789abcdef".into(),
                until: NOW + 86_400,
            },
        )
    };
    Descriptor::new(entry(124_936), Some(entry(2_056))).expect("descriptor")
}

fn wire_seeds() {
    // CPIM envelopes and plain CPIM messages.
    let text = MimiContent::text([7; 16], "hello");
    let payload = ApplicationPayload::new(content_type::MIMI_CONTENT, text.encode());
    write(
        "cpim",
        "envelope",
        &envelope("f81d4fae-7dec-11d0-a765-00a0c91e6bf6", payload.encode(0)).encode(),
    );
    let mut minimal = envelope("0123456789", vec![0, 1, 2, 3]);
    minimal.from = None;
    minimal.to = None;
    minimal.date_time = None;
    minimal.content_type = content_type::MLS_RCS_CLIENT.into();
    write("cpim", "envelope-minimal", &minimal.encode());
    let plain = Message {
        headers: vec![
            Header::new("From", "<tel:+15551234567>"),
            Header::new("NS", "imdn <urn:ietf:params:imdn>"),
            Header::new("imdn.Message-ID", "abc123"),
        ],
        content_headers: vec![Header::new("Content-Type", "text/plain")],
        body: b"plain body".to_vec(),
    };
    write("cpim", "message", &plain.encode());

    // Authenticated data.
    for (name, resend) in [
        ("plain", None),
        (
            "resend",
            Some(Resend::Spec {
                original_id: b"original-id".to_vec(),
            }),
        ),
        (
            "resend-deployed",
            Some(Resend::deployed(2, b"original-id", [0x0b; 32])),
        ),
    ] {
        let aad = AuthenticatedData {
            message_id: b"f81d4fae-7dec-11d0-a765-00a0c91e6bf6".to_vec(),
            era: 3,
            resend,
        };
        write("aad", name, &aad.encode());
    }

    // Varints, with 8 trailing bytes for the encode direction.
    for (name, len) in [
        ("1", 1usize),
        ("64", 64),
        ("16384", 16_384),
        ("max", (1 << 30) - 1),
    ] {
        let mut out = Vec::new();
        crosslock_wire::varint::encode_len(len, &mut out).expect("varint");
        out.extend_from_slice(&(len as u64 * 3).to_le_bytes());
        write("varint", name, &out);
    }

    // MIMI content.
    let id = text.message_id("tel:+15551234567", "urn:uuid:room");
    write("mimi", "text", &text.encode());
    let reply =
        MimiContent::reply([1; 16], id, "and you").with_uris("tel:+15551234567", "urn:uuid:room");
    write("mimi", "reply", &reply.encode());
    write(
        "mimi",
        "reaction",
        &MimiContent::reaction([2; 16], id, "👍").encode(),
    );
    let expiring =
        MimiContent::edit([3; 16], id, "edited").with_expiry(Expiration::after_reading(60));
    write("mimi", "edit-expiring", &expiring.encode());
    write("mimi", "delete", &MimiContent::delete([4; 16], id).encode());

    // Message status.
    let report = MessageStatusReport {
        timestamp_ms: NOW * 1000,
        statuses: (0..3)
            .map(|i| PerMessageStatus {
                message_id: MessageId([i as u8; 32]),
                status: MessageStatus::from_u64(i).expect("status"),
            })
            .collect(),
    };
    write("status", "three", &report.encode());
    write("status", "empty", &MessageStatusReport::default().encode());

    // Typing.
    write("typing", "active", &IsComposing::active(60).encode());
    write("typing", "idle", &IsComposing::idle().encode());

    // Inner payloads.
    write("inner", "mimi", &payload.encode(0));
    write(
        "inner",
        "status",
        &ApplicationPayload::new(content_type::MIMI_MESSAGE_STATUS, report.encode()).encode(3),
    );
    write(
        "inner",
        "text",
        &ApplicationPayload::new(content_type::TEXT_PLAIN_UTF8, b"hi".to_vec()).encode(4),
    );

    // Signed receipts: mode 0 the derived content, 1 the CPIM envelope, 2 the IMDN.
    let envelope = receipt();
    let derived = DerivedContent::of(&envelope.message_id, envelope.era, &envelope.imdn);
    write("report", "report", &with_mode(0, &derived.encode()));
    write("report", "envelope", &with_mode(1, &envelope.encode()));
    write("report", "imdn", &with_mode(2, &envelope.imdn.encode()));

    // FileInfo.
    write(
        "file_info",
        "plain",
        &file_info(Slot::File, "holiday.jpg", 123_456).encode(),
    );
    write(
        "file_info",
        "thumbnail",
        &file_info(Slot::Thumbnail, "thumb.jpg", 2_000).encode(),
    );
    write("file_info", "descriptor", &descriptor().encode());
}

/// The DER certificates of a PEM chain.
fn pem_chain(pem: &str) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut body = String::new();
    for line in pem.lines().map(str::trim) {
        if line == "-----BEGIN CERTIFICATE-----" {
            body.clear();
        } else if line == "-----END CERTIFICATE-----" {
            out.push(
                base64::engine::general_purpose::STANDARD
                    .decode(&body)
                    .expect("base64"),
            );
        } else {
            body.push_str(line);
        }
    }
    out
}

fn attest_data() -> PathBuf {
    root().join("../crates/attest/tests/data")
}

/// (sample, index of its time in the attest_android target's TIMES).
const ANDROID: [(&str, u8); 5] = [
    ("blueline_sdk28_TEE_EC_NONE", 0),
    ("marlin_sdk29_TEE_EC_NONE", 1),
    ("akita_sdk34_TEE_EC_NONE", 2),
    ("caiman_sdk36_TEE_EC_RKP", 3),
    ("invalid_tags_not_in_ascending_order", 2),
];

const APPLE: [&str; 2] = ["ios-14.4.yaml", "ios-14.2.yaml"];

fn apple_object(file: &str) -> Vec<u8> {
    let text = std::fs::read_to_string(attest_data().join("apple").join(file)).expect("sample");
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("attestationBase64: "))
        .expect("attestationBase64");
    base64::engine::general_purpose::STANDARD
        .decode(line.trim())
        .expect("base64")
}

fn key_description(leaf: &[u8]) -> Option<Vec<u8>> {
    let oid = [
        0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0xd6, 0x79, 0x02, 0x01, 0x11,
    ];
    let at = leaf.windows(oid.len()).position(|w| w == oid)? + oid.len();
    let rest = &leaf[at..];
    // OCTET STRING (after an optional critical flag), short or long length.
    let rest = if rest.first() == Some(&0x01) {
        &rest[3..]
    } else {
        rest
    };
    if rest.first() != Some(&0x04) {
        return None;
    }
    let (len, skip) = match rest[1] {
        n if n < 0x80 => (usize::from(n), 2),
        0x81 => (usize::from(rest[2]), 3),
        0x82 => ((usize::from(rest[2]) << 8) | usize::from(rest[3]), 4),
        _ => return None,
    };
    rest.get(skip..skip + len).map(<[u8]>::to_vec)
}

fn attest_seeds() {
    for (name, time) in ANDROID {
        let pem = std::fs::read_to_string(attest_data().join(format!("android/{name}.pem")))
            .expect("sample");
        let chain = pem_chain(&pem);
        let refs: Vec<&[u8]> = chain.iter().map(Vec::as_slice).collect();
        write(
            "attest_android",
            &format!("{name}.der"),
            &with_mode(2 * time, &join(&refs)),
        );
        write(
            "attest_android",
            &format!("{name}.pem"),
            &with_mode(2 * time + 1, pem.as_bytes()),
        );
        if let Some(kd) = key_description(&chain[0]) {
            write("attest_key_description", name, &kd);
        }
    }
    for file in APPLE {
        let object = apple_object(file);
        write(
            "attest_app_attest",
            &format!("{file}.cbor"),
            &with_mode(0, &object),
        );
        let b64 = base64::engine::general_purpose::STANDARD.encode(&object);
        write(
            "attest_app_attest",
            &format!("{file}.b64"),
            &with_mode(1, b64.as_bytes()),
        );
    }
}

fn credential_seeds() -> (Vec<u8>, Vec<u8>) {
    let f = CredentialFixture::get();
    let dev_signer = FixedSigner::new(0x44);
    let dev = issue_development_credential(&f.profile(), &dev_signer).expect("dev credential");
    let leaf = f.production_leaf();
    let csr = build_csr(&f.participant).expect("csr");
    write("credential", "development", &with_mode(0, &dev));
    write("credential", "production-leaf", &with_mode(0, &leaf));
    write(
        "credential",
        "chain",
        &with_mode(1, &join(&[&leaf, f.ca.certificate()])),
    );
    write(
        "credential",
        "carrier-proof",
        &with_mode(2, &f.carrier_proof()),
    );
    write("credential", "csr", &with_mode(3, &csr));
    write("credential", "root", &with_mode(4, f.ca.certificate()));
    (csr, dev)
}

fn api_seeds(csr: &[u8]) {
    let f = CredentialFixture::get();
    let pem = std::fs::read_to_string(attest_data().join("android/akita_sdk34_TEE_EC_NONE.pem"))
        .expect("sample");
    let enroll = EnrollRequest {
        nonce: B64(vec![1; 32]),
        device_id: crosslock_fuzz::DEVICE.into(),
        csrs: vec![B64(csr.to_vec())],
        carrier_proof: B64(f.carrier_proof()),
        attestation: Some(AttestationBody::Android {
            chain: pem_chain(&pem).into_iter().map(B64).collect(),
        }),
        replace_existing: false,
    };
    write("kds_api", "enroll-android", &with_mode(0, &json(&enroll)));
    let apple = EnrollRequest {
        attestation: Some(AttestationBody::Apple {
            object: B64(apple_object("ios-14.4.yaml")),
        }),
        replace_existing: true,
        ..enroll
    };
    write("kds_api", "enroll-apple", &with_mode(0, &json(&apple)));
    let upload = UploadKeyPackages {
        key_packages: vec![B64(vec![0, 1, 0, 2]), B64(vec![3; 40])],
        last_resort: vec![B64(vec![4; 8])],
    };
    write("kds_api", "upload", &with_mode(1, &json(&upload)));
    let claim = ClaimRequest {
        number: "+15551230002".into(),
    };
    write("kds_api", "claim", &with_mode(2, &json(&claim)));
    let lookup = NumberRequest {
        number: "+447700900123".into(),
    };
    write("kds_api", "kt-lookup", &with_mode(3, &json(&lookup)));
    let revoke = RevokeRequest {
        device_id: Some(crosslock_fuzz::DEVICE.into()),
        number: Some("+15551230001".into()),
    };
    write("kds_api", "revoke", &with_mode(4, &json(&revoke)));
    let answer = ClaimResponse {
        number: "+15551230002".into(),
        home_kds: "kds.fuzz.example".into(),
        devices: vec![ClaimedDevice {
            device_id: crosslock_fuzz::DEVICE.into(),
            key_packages: vec![B64(vec![7; 16])],
        }],
        transparency: None,
    };
    write("kds_api", "claim-answer", &with_mode(5, &json(&answer)));

    let env = |id: &str| B64(envelope(id, vec![1, 2, 3]).encode());
    let commit = SubmitCommit {
        commit: env("commit-1"),
        welcome: Some(env("welcome-1")),
        group_info: B64(vec![5; 20]),
        ratchet_tree: Some(B64(vec![6; 12])),
        external: false,
    };
    write("ds_api", "commit", &with_mode(0, &json(&commit)));
    let message = SubmitMessage {
        envelope: env("message-1"),
    };
    write("ds_api", "message", &with_mode(1, &json(&message)));
    let report = SubmitReport {
        group_id: B64(b"fuzz-group".to_vec()),
        message_id: "report-0001".into(),
        envelope: B64(receipt().encode()),
    };
    write("ds_api", "report", &with_mode(2, &json(&report)));
    write(
        "ds_api",
        "ack",
        &with_mode(
            3,
            &json(&AckRequest {
                seqs: vec![1, 2, 40],
            }),
        ),
    );
    let catch_up = CatchUpRequest {
        group_id: B64(b"fuzz-group".to_vec()),
        from_epoch: 4,
    };
    write("ds_api", "catch-up", &with_mode(5, &json(&catch_up)));
    let sender = DeviceRef {
        number: "+15551230001".into(),
        device: crosslock_fuzz::DEVICE.into(),
    };
    let forwarded = ForwardedSubmission {
        sender: sender.clone(),
        commit: Some(commit),
        message: None,
        report: None,
    };
    write("ds_api", "forwarded", &with_mode(6, &json(&forwarded)));
    let deliveries = FederatedDeliveries {
        group_id: B64(b"fuzz-group".to_vec()),
        deliveries: vec![Delivery {
            recipient: sender,
            message_id: "message-1".into(),
            envelope: env("message-1"),
            ratchet_tree: None,
        }],
        creation: None,
    };
    write("ds_api", "deliveries", &with_mode(7, &json(&deliveries)));
    let page = InboxPage {
        items: vec![InboxItem {
            seq: 9,
            message_id: "message-1".into(),
            envelope: env("message-1"),
            ratchet_tree: None,
        }],
    };
    write("ds_api", "inbox", &with_mode(8, &json(&page)));
}

fn file_seeds() {
    let key = FileKey::from_bytes(FILE_KEY);
    for size in [0usize, 1, 100, 3000] {
        let plaintext: Vec<u8> = (0..size).map(|i| (i * 7) as u8).collect();
        let mut ciphertext = Vec::new();
        let iv = [size as u8; 12];
        let made =
            encrypt_file(&plaintext[..], &mut ciphertext, &key, FILE_NAME, iv).expect("encrypt");
        let mut seed = (size as u32).to_le_bytes().to_vec();
        seed.extend(iv);
        seed.extend(made.tag);
        seed.extend(ciphertext);
        write("file_decrypt", &format!("size-{size}"), &seed);
    }
}

fn interaction_seeds() {
    // Ops: 0/1 send, 2/3 commit, 4/5 refused commit, 6/7 deliver,
    // 8/9 reopen, 10/11 remove and re-add, 12/13 replay.
    let programs: [(&str, &[u8]); 5] = [
        ("chat", &[0, 1, 7, 6, 0, 0, 7, 7, 1, 6]),
        ("commits", &[2, 0, 3, 7, 6, 6, 7, 1, 7, 6]),
        (
            "refused-and-reload",
            &[4, 0, 6, 8, 7, 9, 5, 1, 7, 6, 12, 13],
        ),
        ("remove-readd", &[0, 1, 10, 0, 1, 7, 6, 11, 2, 6, 7]),
        (
            "everything",
            &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 6, 7],
        ),
    ];
    for (name, program) in programs {
        write("interaction", name, program);
    }
}

fn kt_seeds() {
    let dir = std::env::temp_dir().join(format!("crosslock-make-seeds-{}", std::process::id()));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let directory = "kds.fuzz.example";
        let keys = LogKeys::generate().expect("keys");
        let log = KtLog::open(&dir, directory, keys, KtLogOptions::default(), NOW)
            .await
            .expect("open log");
        let number = PhoneNumber::parse(crosslock_fuzz::NUMBER).expect("number");
        let other = PhoneNumber::parse("+15551230002").expect("number");
        let binding = |seed: u8, devices: usize| {
            let keys = (0..devices)
                .map(|d| {
                    BoundKey::new(
                        &format!("device-{d}"),
                        vec![seed; 65],
                        &[seed + d as u8; 200],
                    )
                })
                .collect();
            Binding::of(keys).expect("binding")
        };
        log.publish(vec![(number.clone(), binding(1, 1))], NOW)
            .await
            .expect("epoch 1");
        log.publish(vec![(other.clone(), binding(2, 2))], NOW)
            .await
            .expect("epoch 2");
        log.publish(
            vec![(number.clone(), binding(3, 2)), (other, binding(4, 1))],
            NOW,
        )
        .await
        .expect("epoch 3");
        let lookup = log.lookup(&number).await.expect("lookup");
        let history = log.history(&number).await.expect("history");
        let audit = log.audit(1, 3).await.expect("audit");
        let latest = log.latest_root().expect("root").expect("root");
        let roots = (1..=latest.statement.epoch)
            .map(|e| log.root(e).expect("root").expect("root"))
            .collect::<Vec<_>>();
        let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
        let fixture = KtFixture {
            directory: directory.into(),
            log_key: hex(&log.log_key().0),
            vrf_key: hex(&log.vrf_key()),
            now: NOW,
            number: crosslock_fuzz::NUMBER.into(),
            roots,
        };
        let path = root().join("fixtures/kt.json");
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, serde_json::to_vec_pretty(&fixture).expect("json")).expect("write");

        write("kt_proofs", "lookup", &with_mode(0, &lookup.proof.0));
        write("kt_proofs", "history", &with_mode(1, &history.proof.0));
        for (i, proof) in audit.proofs.iter().enumerate() {
            let mut body = vec![i as u8];
            body.extend_from_slice(&proof.0);
            write(
                "kt_proofs",
                &format!("append-only-{}", i + 1),
                &with_mode(2, &body),
            );
        }
        write("kt_proofs", "lookup-answer", &with_mode(3, &json(&lookup)));
        write("kt_proofs", "audit-answer", &with_mode(4, &json(&audit)));
        write("kt_proofs", "root", &with_mode(5, &json(&latest)));
        write(
            "kt_proofs",
            "binding",
            &with_mode(6, &binding(3, 2).encode()),
        );
    });
    let _ = std::fs::remove_dir_all(&dir);
}

fn main() {
    let seeds = root().join("seeds");
    if Path::new(&seeds).exists() {
        std::fs::remove_dir_all(&seeds).expect("clear seeds");
    }
    wire_seeds();
    attest_seeds();
    let (csr, _) = credential_seeds();
    api_seeds(&csr);
    file_seeds();
    interaction_seeds();
    kt_seeds();
    self_check();
    eprintln!("seeds written to {}", seeds.display());
}

/// The seeds reach the success paths they are meant to: otherwise the
/// fuzzer would start from inputs that fail at the first check.
fn self_check() {
    use crosslock_attest::{
        AndroidRoots, AttestationPolicy, UnverifiedAndroidAttestation, UnverifiedAppAttest,
    };
    use crosslock_client::file::{DecryptParams, decrypt_file};
    use crosslock_kt::{PublicKey, TrustedLog};
    use std::time::{Duration, SystemTime};

    let seed = |target: &str, name: &str| {
        std::fs::read(root().join("seeds").join(target).join(name)).expect("seed")
    };
    let f = CredentialFixture::get();
    f.production
        .validate(&[&seed("credential", "production-leaf")[1..]], NOW)
        .expect("production leaf validates");
    f.development
        .validate(&[&seed("credential", "development")[1..]], NOW)
        .expect("development credential validates");
    let chain = seed("credential", "chain");
    f.production
        .validate(&crosslock_fuzz::split(&chain[1..], 5), NOW)
        .expect("chain validates");

    let kt = KtFixture::get();
    let log = TrustedLog {
        directory: kt.directory.clone(),
        log_key: PublicKey(crosslock_fuzz::hex32(&kt.log_key)),
        vrf_key: crosslock_fuzz::hex32(&kt.vrf_key),
        witnesses: Vec::new(),
        threshold: 0,
        max_root_age_secs: 86_400,
    };
    let number = PhoneNumber::parse(&kt.number).expect("number");
    let answer = crosslock_wire::api::kt::LookupAnswer {
        root: kt.roots.last().expect("root").clone(),
        proof: B64(seed("kt_proofs", "lookup")[1..].to_vec()),
    };
    log.verify_lookup(&number, &answer, kt.now)
        .expect("lookup seed verifies");

    let key = FileKey::from_bytes(FILE_KEY);
    let blob = seed("file_decrypt", "size-100");
    let mut out = Vec::new();
    decrypt_file(
        std::io::Cursor::new(&blob[48..]),
        &mut out,
        DecryptParams {
            key: &key,
            info: FILE_NAME,
            iv: &blob[4..16].try_into().expect("IV"),
            tag: &blob[16..48].try_into().expect("tag"),
            length_hint: Some(100),
        },
    )
    .expect("file seed decrypts");

    let roots = AndroidRoots::google().expect("roots");
    let der = seed("attest_android", "akita_sdk34_TEE_EC_NONE.der");
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_727_395_200);
    UnverifiedAndroidAttestation::from_der_chain(crosslock_fuzz::split(&der[1..], 8))
        .expect("android chain parses")
        .verify(
            &roots,
            at,
            AttestationPolicy::Development,
            Some(b"challenge"),
        )
        .expect("android chain verifies");
    let object = seed("attest_app_attest", "ios-14.4.yaml.cbor");
    UnverifiedAppAttest::from_cbor(&object[1..])
        .expect("app attest parses")
        .verify(
            &crosslock_fuzz::APP_ATTEST_CLIENT_DATA_HASH,
            "6MURL8TA57.de.vincent-haupert.apple-appattest-poc",
            Some(&crosslock_fuzz::APP_ATTEST_KEY_ID),
            AttestationPolicy::Development,
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_611_360_000),
        )
        .expect("app attest verifies");
    crosslock_fuzz::interaction::run(&seed("interaction", "everything"));
}
