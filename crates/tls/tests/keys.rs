//! Keys, the TLS CA and identities: encodings, files, and what the issued
//! certificates are accepted for.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crosslock_credential::{CertSigner, CertificateAuthority};
use crosslock_tls::{
    CA_CERT_FILE, CA_KEY_FILE, ClientAuth, Identity, KeyPair, TlsCa, TlsError, client_config,
    server_config,
};

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn key_pem_and_der_round_trip() {
    let key = KeyPair::generate().unwrap();
    let pem = key.to_pem();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    let from_pem = KeyPair::from_pem(&pem).unwrap();
    assert_eq!(from_pem.public_key_sec1(), key.public_key_sec1());
    let from_der = KeyPair::from_pkcs8_der(&key.to_pkcs8_der()).unwrap();
    assert_eq!(from_der.public_key_sec1(), key.public_key_sec1());
    assert_eq!(from_der.to_pkcs8_der(), key.to_pkcs8_der());
    assert_eq!(key.public_key_sec1().len(), 65);
    assert_eq!(key.public_key_sec1()[0], 0x04);
}

#[test]
fn signatures_verify_with_the_credential_public_key() {
    let key = KeyPair::generate().unwrap();
    let reloaded = KeyPair::from_pem(&key.to_pem()).unwrap();
    let message = b"crosslock";
    let signature = reloaded.sign(message).unwrap();
    let public = CertSigner::public_key(&key);
    assert!(public.verify(message, &signature));
    assert!(!public.verify(b"crosslocK", &signature));
    // Through the trait as well.
    let via_trait = CertSigner::sign(&key, message).unwrap();
    assert!(public.verify(message, &via_trait));
}

#[test]
fn key_pair_signs_x509_through_cert_signer() {
    let key = KeyPair::generate().unwrap();
    let ca = CertificateAuthority::new_root(
        "Crosslock test root",
        1_700_000_000,
        1_900_000_000,
        [7; 16],
        &key,
    )
    .unwrap();
    assert_eq!(ca.public_key().unwrap(), *CertSigner::public_key(&key));
}

#[test]
fn garbage_keys_give_typed_errors() {
    assert!(matches!(
        KeyPair::from_pem("not pem at all"),
        Err(TlsError::Pem { .. })
    ));
    let truncated = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMG\n";
    assert!(matches!(
        KeyPair::from_pem(truncated),
        Err(TlsError::Pem { .. })
    ));
    let wrong_contents = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
    assert!(matches!(
        KeyPair::from_pem(wrong_contents),
        Err(TlsError::Key { .. })
    ));
    assert!(matches!(
        KeyPair::from_pkcs8_der(&[0x30, 0x03, 0x02, 0x01, 0x00]),
        Err(TlsError::Key { .. })
    ));
    // A certificate where a key should be: no PRIVATE KEY section.
    let ca = TlsCa::generate("test").unwrap();
    assert!(matches!(
        KeyPair::from_pem(&ca.certificate_pem()),
        Err(TlsError::Pem { .. })
    ));
}

#[test]
fn other_curves_are_refused() {
    use aws_lc_rs::signature::{ECDSA_P384_SHA384_ASN1_SIGNING, EcdsaKeyPair};
    let p384 = EcdsaKeyPair::generate_pkcs8(
        &ECDSA_P384_SHA384_ASN1_SIGNING,
        &aws_lc_rs::rand::SystemRandom::new(),
    )
    .unwrap();
    assert!(matches!(
        KeyPair::from_pkcs8_der(p384.as_ref()),
        Err(TlsError::Key { .. })
    ));
}

#[test]
fn ca_save_load_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TlsCa::generate("Provider A TLS root").unwrap();
    ca.save(dir.path()).unwrap();
    assert_eq!(mode(&dir.path().join(CA_KEY_FILE)), 0o600);
    let pem = std::fs::read_to_string(dir.path().join(CA_CERT_FILE)).unwrap();
    assert_eq!(pem, ca.certificate_pem());

    let loaded = TlsCa::load(dir.path()).unwrap();
    assert_eq!(loaded.certificate_der(), ca.certificate_der());

    // A server certificate issued after reloading chains to the original root.
    let server = loaded.issue_server(&["kds.example"], &[LOCALHOST]).unwrap();
    let roots = vec![ca.certificate_der().to_vec()];
    let server_cfg = server_config(&server, ClientAuth::None).unwrap();
    common::handshake(
        client_config(&roots, None).unwrap(),
        server_cfg.clone(),
        "kds.example",
    )
    .unwrap();
    common::handshake(
        client_config(&roots, None).unwrap(),
        server_cfg,
        "127.0.0.1",
    )
    .unwrap();
}

#[test]
fn save_tightens_an_existing_key_file() {
    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join(CA_KEY_FILE);
    std::fs::write(&key_path, "old").unwrap();
    std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o644)).unwrap();
    TlsCa::generate("x").unwrap().save(dir.path()).unwrap();
    assert_eq!(mode(&key_path), 0o600);
}

#[test]
fn load_or_generate_reuses_what_exists() {
    let dir = tempfile::tempdir().unwrap();
    let ca_dir = dir.path().join("tls");
    let first = TlsCa::load_or_generate(&ca_dir, "Provider A").unwrap();
    assert_eq!(mode(&ca_dir.join(CA_KEY_FILE)), 0o600);
    let second = TlsCa::load_or_generate(&ca_dir, "another name").unwrap();
    assert_eq!(first.certificate_der(), second.certificate_der());

    // Half a CA is an error, not something to overwrite.
    std::fs::remove_file(ca_dir.join(CA_KEY_FILE)).unwrap();
    assert!(matches!(
        TlsCa::load_or_generate(&ca_dir, "Provider A"),
        Err(TlsError::Io { .. })
    ));
    assert!(ca_dir.join(CA_CERT_FILE).exists());
}

#[test]
fn ca_load_refuses_bad_files() {
    let dir = tempfile::tempdir().unwrap();
    TlsCa::generate("A").unwrap().save(dir.path()).unwrap();

    // A key that is not the certificate's.
    let other = tempfile::tempdir().unwrap();
    TlsCa::generate("B").unwrap().save(other.path()).unwrap();
    std::fs::copy(other.path().join(CA_KEY_FILE), dir.path().join(CA_KEY_FILE)).unwrap();
    assert!(matches!(
        TlsCa::load(dir.path()),
        Err(TlsError::Certificate { .. })
    ));

    // Garbage in the certificate file: the error names the file.
    std::fs::write(dir.path().join(CA_CERT_FILE), "garbage").unwrap();
    match TlsCa::load(dir.path()) {
        Err(TlsError::Pem { origin, .. }) => assert!(origin.ends_with(CA_CERT_FILE), "{origin}"),
        other => panic!("expected a PEM error, got {other:?}"),
    }

    // A leaf certificate is not a CA.
    let ca = TlsCa::generate("C").unwrap();
    let leaf = ca.issue_client("peer.example").unwrap();
    leaf.save(
        &dir.path().join(CA_CERT_FILE),
        &dir.path().join(CA_KEY_FILE),
    )
    .unwrap();
    assert!(matches!(
        TlsCa::load(dir.path()),
        Err(TlsError::Certificate { .. })
    ));

    // Missing directory.
    assert!(matches!(
        TlsCa::load(&dir.path().join("absent")),
        Err(TlsError::Io { .. })
    ));
}

#[test]
fn identity_save_load_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TlsCa::generate("Provider A").unwrap();
    let identity = ca.issue_client("provider-a.example").unwrap();
    let cert = dir.path().join("client.pem");
    let key = dir.path().join("client.key");
    identity.save(&cert, &key).unwrap();
    assert_eq!(mode(&key), 0o600);
    let loaded = Identity::load(&cert, &key).unwrap();
    assert_eq!(loaded.chain, identity.chain);
    assert_eq!(loaded.leaf_sha256(), identity.leaf_sha256());
    assert_eq!(loaded.key.public_key_sec1(), identity.key.public_key_sec1());

    // The wrong key for the certificate.
    let other = ca.issue_client("provider-b.example").unwrap();
    let other_key = dir.path().join("other.key");
    other
        .save(&dir.path().join("other.pem"), &other_key)
        .unwrap();
    assert!(matches!(
        Identity::load(&cert, &other_key),
        Err(TlsError::Certificate { .. })
    ));
}

#[test]
fn issuing_refuses_bad_names() {
    let ca = TlsCa::generate("A").unwrap();
    assert!(matches!(ca.issue_server(&[], &[]), Err(TlsError::Issue(_))));
    assert!(matches!(
        ca.issue_server(&["bücher.example"], &[]),
        Err(TlsError::Issue(_))
    ));
    assert!(matches!(ca.issue_client(""), Err(TlsError::Issue(_))));
    assert!(matches!(TlsCa::generate(" "), Err(TlsError::Issue(_))));
}

#[test]
fn certificates_are_accepted_only_for_their_purpose() {
    let ca = TlsCa::generate("A").unwrap();
    let roots = vec![ca.certificate_der().to_vec()];

    // A client certificate (clientAuth only) cannot serve.
    let client_only = ca.issue_client("kds.example").unwrap();
    let server_cfg = server_config(&client_only, ClientAuth::None).unwrap();
    assert!(
        common::handshake(
            client_config(&roots, None).unwrap(),
            server_cfg,
            "kds.example"
        )
        .is_err()
    );

    // A server certificate (serverAuth only) cannot authenticate a client.
    let server = ca.issue_server(&["kds.example"], &[]).unwrap();
    let server_only = ca.issue_server(&["peer.example"], &[]).unwrap();
    let server_cfg = server_config(
        &server,
        ClientAuth::Required {
            roots: roots.clone(),
        },
    )
    .unwrap();
    assert!(
        common::handshake(
            client_config(&roots, Some(&server_only)).unwrap(),
            server_cfg.clone(),
            "kds.example"
        )
        .is_err()
    );

    // The name must match.
    let peer = ca.issue_client("peer.example").unwrap();
    assert!(
        common::handshake(
            client_config(&roots, Some(&peer)).unwrap(),
            server_cfg.clone(),
            "other.example"
        )
        .is_err()
    );
    common::handshake(
        client_config(&roots, Some(&peer)).unwrap(),
        server_cfg,
        "kds.example",
    )
    .unwrap();
}

#[test]
fn configurations_refuse_misuse() {
    let ca = TlsCa::generate("A").unwrap();
    let server = ca.issue_server(&["kds.example"], &[]).unwrap();
    assert!(matches!(client_config(&[], None), Err(TlsError::Config(_))));
    assert!(matches!(
        server_config(&server, ClientAuth::Required { roots: vec![] }),
        Err(TlsError::Config(_))
    ));
    assert!(matches!(
        server_config(
            &server,
            ClientAuth::Optional {
                roots: vec![b"not a certificate".to_vec()]
            }
        ),
        Err(TlsError::Certificate { .. })
    ));
    // A key that does not belong to the certificate.
    let mismatched = Identity {
        chain: server.chain.clone(),
        key: KeyPair::generate().unwrap(),
    };
    assert!(server_config(&mismatched, ClientAuth::None).is_err());
}
