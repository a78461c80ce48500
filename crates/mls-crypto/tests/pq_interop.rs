//! Suite 0x004F against an independent MLS implementation: OpenMLS 0.9
//! with its RustCrypto provider (HPKE by hpke-rs, X-Wing KEM 0x647A) on
//! one side, mls-rs with Crosslock's provider on the other, exchanging
//! only serialized MLS messages.
//!
//! Crosslock's `Device` accepts only RCC.16 X.509 credentials chained to
//! a provider's CA, so this test runs raw mls-rs clients with Crosslock's
//! crypto provider (`CrosslockCrypto`, the one the `Device` wraps for key
//! store signing) and basic credentials on both sides.
//!
//! What it proves: OpenMLS joins from an mls-rs Welcome (HPKE to its
//! X-Wing init key), application messages both ways, an OpenMLS commit
//! with an update path processed by mls-rs (X-Wing HPKE of path secrets and
//! `DeriveKeyPair` agreeing: mls-rs checks the derived public keys against
//! OpenMLS's), an mls-rs commit with a path processed by OpenMLS, a member
//! removed by OpenMLS, and OpenMLS removed by mls-rs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crosslock_mls_crypto::{CrosslockCrypto, MLS_128_MLKEM768X25519_AES128GCM_SHA256_ED25519};
use mls_rs::client_builder::MlsConfig;
use mls_rs::group::{CommitEffect, ReceivedMessage};
use mls_rs::identity::SigningIdentity;
use mls_rs::identity::basic::{BasicCredential as MlsRsBasic, BasicIdentityProvider};
use mls_rs::{CipherSuiteProvider, Client, CryptoProvider, Group, MlsMessage};
use openmls::prelude::tls_codec::{Deserialize as _, Serialize as _};
use openmls::prelude::*;
use openmls_basic_credential::SignatureKeyPair;
use openmls_rust_crypto::OpenMlsRustCrypto;

const OPENMLS_SUITE: Ciphersuite = Ciphersuite::MLS_128_MLKEM768X25519_AES128GCM_SHA256_Ed25519;

fn crypto() -> CrosslockCrypto {
    CrosslockCrypto::with_enabled_cipher_suites(vec![
        MLS_128_MLKEM768X25519_AES128GCM_SHA256_ED25519,
    ])
}

fn mls_rs_client(name: &str) -> Client<impl MlsConfig> {
    let crypto = crypto();
    let suite = crypto
        .cipher_suite_provider(MLS_128_MLKEM768X25519_AES128GCM_SHA256_ED25519)
        .unwrap();
    let (secret, public) = suite.signature_key_generate().unwrap();
    let identity = SigningIdentity::new(
        MlsRsBasic::new(name.as_bytes().to_vec()).into_credential(),
        public,
    );
    Client::builder()
        .identity_provider(BasicIdentityProvider)
        .crypto_provider(crypto)
        .signing_identity(
            identity,
            secret,
            MLS_128_MLKEM768X25519_AES128GCM_SHA256_ED25519,
        )
        .build()
}

struct OpenMlsMember {
    provider: OpenMlsRustCrypto,
    signer: SignatureKeyPair,
    credential: CredentialWithKey,
}

impl OpenMlsMember {
    fn new(name: &str) -> Self {
        let provider = OpenMlsRustCrypto::default();
        let signer = SignatureKeyPair::new(OPENMLS_SUITE.signature_algorithm()).unwrap();
        signer.store(provider.storage()).unwrap();
        let credential = CredentialWithKey {
            credential: BasicCredential::new(name.as_bytes().to_vec()).into(),
            signature_key: signer.public().into(),
        };
        OpenMlsMember {
            provider,
            signer,
            credential,
        }
    }

    fn key_package(&self) -> Vec<u8> {
        let capabilities = Capabilities::new(
            None,
            Some(&[OPENMLS_SUITE]),
            None,
            None,
            Some(&[CredentialType::Basic]),
        );
        let bundle = KeyPackage::builder()
            .leaf_node_capabilities(capabilities)
            .build(
                OPENMLS_SUITE,
                &self.provider,
                &self.signer,
                self.credential.clone(),
            )
            .unwrap();
        MlsMessageOut::from(bundle.key_package().clone())
            .tls_serialize_detached()
            .unwrap()
    }

    fn join(&self, welcome: &[u8]) -> MlsGroup {
        let welcome = match MlsMessageIn::tls_deserialize_exact(welcome)
            .unwrap()
            .extract()
        {
            MlsMessageBodyIn::Welcome(welcome) => welcome,
            other => panic!("expected a Welcome, got {other:?}"),
        };
        let config = MlsGroupJoinConfig::builder()
            .use_ratchet_tree_extension(true)
            .wire_format_policy(MIXED_PLAINTEXT_WIRE_FORMAT_POLICY)
            .build();
        StagedWelcome::new_from_welcome(&self.provider, &config, welcome, None)
            .unwrap()
            .into_group(&self.provider)
            .unwrap()
    }

    /// Processes one message; returns the application data if any, merges
    /// commits.
    fn receive(&self, group: &mut MlsGroup, bytes: &[u8]) -> Option<Vec<u8>> {
        let message = MlsMessageIn::tls_deserialize_exact(bytes).unwrap();
        let protocol = message.try_into_protocol_message().unwrap();
        let processed = group.process_message(&self.provider, protocol).unwrap();
        match processed.into_content() {
            ProcessedMessageContent::ApplicationMessage(app) => Some(app.into_bytes()),
            ProcessedMessageContent::StagedCommitMessage(staged) => {
                group.merge_staged_commit(&self.provider, *staged).unwrap();
                None
            }
            other => panic!("unexpected content {other:?}"),
        }
    }
}

fn bytes(message: &MlsMessage) -> Vec<u8> {
    message.to_bytes().unwrap()
}

fn receive_application<C: MlsConfig>(group: &mut Group<C>, message: &[u8]) -> Vec<u8> {
    match group
        .process_incoming_message(MlsMessage::from_bytes(message).unwrap())
        .unwrap()
    {
        ReceivedMessage::ApplicationMessage(app) => app.data().to_vec(),
        other => panic!("expected an application message, got {other:?}"),
    }
}

fn receive_commit<C: MlsConfig>(group: &mut Group<C>, message: &[u8]) {
    match group
        .process_incoming_message(MlsMessage::from_bytes(message).unwrap())
        .unwrap()
    {
        ReceivedMessage::Commit(_) => {}
        other => panic!("expected a commit, got {other:?}"),
    }
}

#[test]
fn openmls_and_crosslock_converse_on_0x004f() {
    let olga = OpenMlsMember::new("olga (OpenMLS)");
    let milo = mls_rs_client("milo (mls-rs + Crosslock crypto)");
    let max = mls_rs_client("max (mls-rs + Crosslock crypto)");

    // OpenMLS's KeyPackage on 0x004F carries a 1216-byte X-Wing init key.
    let olga_kp = MlsMessage::from_bytes(&olga.key_package()).unwrap();
    let kp = olga_kp.as_key_package().unwrap();
    assert_eq!(
        kp.cipher_suite(),
        MLS_128_MLKEM768X25519_AES128GCM_SHA256_ED25519
    );
    assert_eq!(kp.hpke_init_key.len(), 1216);
    let max_kp = max
        .generate_key_package_message(Default::default(), Default::default(), None)
        .unwrap();

    // mls-rs creates the group and adds both; the Welcome is HPKE-sealed to
    // OpenMLS's X-Wing init key by Crosslock's provider.
    let mut milo_group = milo.group_builder().unwrap().build().unwrap();
    let commit = milo_group
        .commit_builder()
        .add_member(olga_kp)
        .unwrap()
        .add_member(max_kp)
        .unwrap()
        .build()
        .unwrap();
    milo_group.apply_pending_commit().unwrap();
    let welcome = &commit.welcome_messages[0];
    let mut olga_group = olga.join(&bytes(welcome));
    let (mut max_group, _) = max.join_group(None, welcome, None).unwrap();
    assert_eq!(olga_group.ciphersuite(), OPENMLS_SUITE);
    assert_eq!(olga_group.epoch().as_u64(), milo_group.current_epoch());
    assert_eq!(
        olga_group.epoch_authenticator().as_slice(),
        milo_group.epoch_authenticator().unwrap().as_ref()
    );

    // Messages both ways.
    let hello = milo_group
        .encrypt_application_message(b"hello from mls-rs", vec![])
        .unwrap();
    assert_eq!(
        olga.receive(&mut olga_group, &bytes(&hello)).unwrap(),
        b"hello from mls-rs"
    );
    assert_eq!(
        receive_application(&mut max_group, &bytes(&hello)),
        b"hello from mls-rs"
    );
    let reply = olga_group
        .create_message(&olga.provider, &olga.signer, b"hello from OpenMLS")
        .unwrap()
        .tls_serialize_detached()
        .unwrap();
    assert_eq!(
        receive_application(&mut milo_group, &reply),
        b"hello from OpenMLS"
    );
    assert_eq!(
        receive_application(&mut max_group, &reply),
        b"hello from OpenMLS"
    );

    // An OpenMLS commit with an update path: mls-rs decrypts its path
    // secret (X-Wing HPKE) and checks the derived node keys.
    let update = olga_group
        .self_update(&olga.provider, &olga.signer, LeafNodeParameters::default())
        .unwrap();
    let update = update.commit().tls_serialize_detached().unwrap();
    olga_group.merge_pending_commit(&olga.provider).unwrap();
    receive_commit(&mut milo_group, &update);
    receive_commit(&mut max_group, &update);
    assert_eq!(
        olga_group.epoch_authenticator().as_slice(),
        milo_group.epoch_authenticator().unwrap().as_ref()
    );

    // An mls-rs commit with a path (no proposals: a full update), which
    // OpenMLS decrypts and checks the same way.
    let refresh = milo_group.commit(vec![]).unwrap();
    milo_group.apply_pending_commit().unwrap();
    olga.receive(&mut olga_group, &bytes(&refresh.commit_message));
    receive_commit(&mut max_group, &bytes(&refresh.commit_message));
    assert_eq!(
        olga_group.epoch_authenticator().as_slice(),
        milo_group.epoch_authenticator().unwrap().as_ref()
    );

    // OpenMLS removes max; both mls-rs members process it.
    let max_index = olga_group
        .members()
        .find(|m| m.credential.serialized_content() == b"max (mls-rs + Crosslock crypto)")
        .unwrap()
        .index;
    let (removal, _, _) = olga_group
        .remove_members(&olga.provider, &olga.signer, &[max_index])
        .unwrap();
    olga_group.merge_pending_commit(&olga.provider).unwrap();
    let removal = removal.tls_serialize_detached().unwrap();
    receive_commit(&mut milo_group, &removal);
    assert_eq!(milo_group.roster().members().len(), 2);
    match max_group
        .process_incoming_message(MlsMessage::from_bytes(&removal).unwrap())
        .unwrap()
    {
        ReceivedMessage::Commit(commit) => {
            assert!(matches!(commit.effect, CommitEffect::Removed { .. }));
        }
        other => panic!("expected a commit, got {other:?}"),
    }

    // Still talking after the removal, then mls-rs removes OpenMLS.
    let after = milo_group
        .encrypt_application_message(b"still here", vec![])
        .unwrap();
    assert_eq!(
        olga.receive(&mut olga_group, &bytes(&after)).unwrap(),
        b"still here"
    );
    let olga_index = milo_group
        .roster()
        .members()
        .into_iter()
        .find(|m| m.index != milo_group.current_member_index())
        .unwrap()
        .index;
    let kick = milo_group
        .commit_builder()
        .remove_member(olga_index)
        .unwrap()
        .build()
        .unwrap();
    milo_group.apply_pending_commit().unwrap();
    olga.receive(&mut olga_group, &bytes(&kick.commit_message));
    assert!(!olga_group.is_active());
    assert_eq!(milo_group.roster().members().len(), 1);
}
