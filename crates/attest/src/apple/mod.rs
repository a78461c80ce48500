//! Apple App Attest attestation objects.
//!
//! The object is CBOR: `{"fmt": "apple-appattest", "attStmt": {"x5c":
//! [credCert, intermediate], "receipt": bytes}, "authData": bytes}`.
//!
//! Checks, in this order (Apple, "Validating apps that connect to your
//! server", steps 1–9; rule ids as in the crate README):
//!
//! 1. ATT-I-1 parse: CBOR of exactly that shape (no other keys, no trailing
//!    bytes), 1 to 4 certificates, authData layout with attested credential
//!    data and a P-256 COSE key.
//! 2. ATT-I-2 chain: `x5c[i]` verifies with the key of `x5c[i + 1]`, the last
//!    with the pinned Apple App Attestation Root CA; every certificate,
//!    including the root, is valid at the given time (the credential
//!    certificate lives a few days, so the time matters here).
//! 3. ATT-I-3 nonce: SHA-256(authData || clientDataHash) equals the OCTET
//!    STRING in the credential certificate's extension 1.2.840.113635.100.8.2.
//! 4. ATT-I-4 key id: SHA-256 of the certified key (uncompressed P-256 point)
//!    equals the expected key id, when one is given.
//! 5. ATT-I-5 rpIdHash is SHA-256 of the app id (`TEAMID.bundle.id`).
//! 6. ATT-I-6 counter is 0.
//! 7. ATT-I-7 AAGUID is `appattestdevelop` (development) or `appattest`
//!    followed by seven zero bytes (production).
//! 8. ATT-I-8 credential id equals the key id, and the COSE key in authData
//!    is the certified key.
//! 9. ATT-I-9 policy: [`AttestationPolicy::Strict`] accepts production only.

mod auth_data;

use std::time::SystemTime;

use base64::Engine as _;
use ciborium::Value;
use der::asn1::{AnyRef, OctetStringRef};
use der::{Decode, Tag, Tagged};
use sha2::{Digest, Sha256};

use crate::cert::{ParsedCert, pem_certificates};
use crate::error::AttestError;
use crate::oid::{self, APPLE_APP_ATTEST_NONCE};
use crate::policy::AttestationPolicy;
use auth_data::{AAGUID_DEVELOPMENT, AAGUID_PRODUCTION, AuthData};

/// The Apple App Attestation Root CA (P-384, 2020-03-18 to 2045-03-15).
/// Public certificate; copy's notice in `roots/LICENSE-app-attest`.
const APPLE_ROOT_PEM: &str = include_str!("../../roots/Apple_App_Attestation_Root_CA.pem");

/// Largest attestation object accepted (real ones are about 5.5 KiB).
pub const MAX_APP_ATTEST_OBJECT_LEN: usize = 64 * 1024;
/// Most certificates in `x5c`.
const MAX_X5C: usize = 4;

/// The App Attest environment, told by the AAGUID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AppAttestEnvironment {
    /// `appattestdevelop`: a development-signed app.
    Development,
    /// `appattest` + 7 zero bytes: an App Store / TestFlight app.
    Production,
}

impl AppAttestEnvironment {
    /// `development` or `production`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Development => "development",
            Self::Production => "production",
        }
    }
}

/// An App Attest attestation object parsed from untrusted bytes.
#[derive(Debug, Clone)]
pub struct UnverifiedAppAttest {
    certs: Vec<ParsedCert>,
    auth_data: Vec<u8>,
    receipt: Vec<u8>,
}

fn cbor(what: &str) -> AttestError {
    AttestError::Cbor(what.to_string())
}

fn text_key<'a>(
    map: &'a [(Value, Value)],
    what: &str,
) -> Result<Vec<(&'a str, &'a Value)>, AttestError> {
    let mut out: Vec<(&str, &Value)> = Vec::with_capacity(map.len());
    for (k, v) in map {
        let k = k
            .as_text()
            .ok_or_else(|| cbor(&format!("{what}: non-text key")))?;
        if out.iter().any(|(seen, _)| *seen == k) {
            return Err(cbor(&format!("{what}: repeated key {k:?}")));
        }
        out.push((k, v));
    }
    Ok(out)
}

impl UnverifiedAppAttest {
    /// Parses the CBOR attestation object.
    ///
    /// # Errors
    /// [`AttestError::Cbor`], [`AttestError::UnsupportedFormat`],
    /// [`AttestError::TooLarge`], [`AttestError::ChainLength`] or
    /// [`AttestError::Malformed`].
    pub fn from_cbor(bytes: &[u8]) -> Result<Self, AttestError> {
        if bytes.len() > MAX_APP_ATTEST_OBJECT_LEN {
            return Err(AttestError::TooLarge {
                what: "attestation object",
                limit: MAX_APP_ATTEST_OBJECT_LEN,
            });
        }
        let mut reader = bytes;
        let value: Value =
            ciborium::de::from_reader(&mut reader).map_err(|e| AttestError::Cbor(e.to_string()))?;
        if !reader.is_empty() {
            return Err(cbor("trailing bytes after the attestation object"));
        }
        let top = value
            .as_map()
            .ok_or_else(|| cbor("attestation object is not a map"))?;
        let (mut fmt, mut att_stmt, mut auth_data) = (None, None, None);
        for (key, value) in text_key(top, "attestation object")? {
            match key {
                "fmt" => fmt = value.as_text(),
                "attStmt" => att_stmt = value.as_map(),
                "authData" => auth_data = value.as_bytes(),
                other => return Err(cbor(&format!("unexpected key {other:?}"))),
            }
        }
        let fmt = fmt.ok_or_else(|| cbor("fmt missing or not text"))?;
        if fmt != "apple-appattest" {
            return Err(AttestError::UnsupportedFormat(fmt.to_string()));
        }
        let att_stmt = att_stmt.ok_or_else(|| cbor("attStmt missing or not a map"))?;
        let auth_data = auth_data.ok_or_else(|| cbor("authData missing or not bytes"))?;
        let (mut x5c, mut receipt) = (None, None);
        for (key, value) in text_key(att_stmt, "attStmt")? {
            match key {
                "x5c" => x5c = value.as_array(),
                "receipt" => receipt = value.as_bytes(),
                other => return Err(cbor(&format!("attStmt: unexpected key {other:?}"))),
            }
        }
        let x5c = x5c.ok_or_else(|| cbor("attStmt.x5c missing or not an array"))?;
        let receipt = receipt.ok_or_else(|| cbor("attStmt.receipt missing or not bytes"))?;
        if x5c.is_empty() || x5c.len() > MAX_X5C {
            return Err(AttestError::ChainLength { len: x5c.len() });
        }
        let certs = x5c
            .iter()
            .enumerate()
            .map(|(index, cert)| {
                let der = cert
                    .as_bytes()
                    .ok_or_else(|| cbor("attStmt.x5c entry is not bytes"))?;
                ParsedCert::from_der(der, index)
            })
            .collect::<Result<Vec<_>, _>>()?;
        // Layout errors surface now; the values are checked by `verify`.
        AuthData::parse(auth_data)?;
        Ok(Self {
            certs,
            auth_data: auth_data.clone(),
            receipt: receipt.clone(),
        })
    }

    /// Parses the base64 (standard alphabet) of the CBOR object, as apps
    /// usually upload it; whitespace is ignored.
    ///
    /// # Errors
    /// [`AttestError::Malformed`] for bad base64, else as [`Self::from_cbor`].
    pub fn from_base64(text: &str) -> Result<Self, AttestError> {
        if text.len() > MAX_APP_ATTEST_OBJECT_LEN * 2 {
            return Err(AttestError::TooLarge {
                what: "attestation object",
                limit: MAX_APP_ATTEST_OBJECT_LEN,
            });
        }
        let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(compact.as_bytes())
            .map_err(|e| AttestError::Malformed(format!("base64: {e}")))?;
        Self::from_cbor(&bytes)
    }

    /// The App Attest receipt (for Apple's fraud-metric service; not checked here).
    #[must_use]
    pub fn receipt(&self) -> &[u8] {
        &self.receipt
    }

    /// Verifies the object; see [`verify_app_attest`].
    ///
    /// # Errors
    /// The first check that fails, in the order of the module documentation.
    pub fn verify(
        &self,
        client_data_hash: &[u8; 32],
        app_id: &str,
        expected_key_id: Option<&[u8]>,
        policy: AttestationPolicy,
        at: SystemTime,
    ) -> Result<VerifiedAppAttest, AttestError> {
        let root_der = pem_certificates(APPLE_ROOT_PEM, 1)?
            .pop()
            .ok_or_else(|| AttestError::Internal("embedded Apple root".into()))?;
        let root = ParsedCert::from_der(&root_der, self.certs.len())
            .map_err(|e| AttestError::Internal(format!("embedded Apple root: {e}")))?;

        // ATT-I-2: chain to the pinned root, every certificate valid at `at`.
        let last = self.certs.len() - 1;
        for (index, pair) in self.certs.windows(2).enumerate() {
            pair[0].verify_signed_by(pair[1].spki(), index + 1, index)?;
        }
        self.certs[last].verify_signed_by(root.spki(), last + 1, last)?;
        for (index, cert) in self.certs.iter().chain([&root]).enumerate() {
            cert.check_validity(at, index)?;
        }
        let leaf = &self.certs[0];

        // ATT-I-3: the certified nonce.
        let mut nonce = Sha256::new();
        nonce.update(&self.auth_data);
        nonce.update(client_data_hash);
        let nonce = nonce.finalize();
        let certified = leaf
            .extension(&APPLE_APP_ATTEST_NONCE, 0)?
            .ok_or(AttestError::MissingNonce)?;
        if certified_nonce(certified)? != nonce.as_slice() {
            return Err(AttestError::NonceMismatch);
        }

        // ATT-I-4: key id = SHA-256 of the uncompressed P-256 point.
        let spki = leaf.spki();
        let is_p256 = spki.algorithm.oid == oid::EC_PUBLIC_KEY
            && spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<const_oid::ObjectIdentifier>().ok())
                == Some(oid::SECP256R1);
        let point = spki
            .subject_public_key
            .as_bytes()
            .filter(|p| is_p256 && p.len() == 65 && p[0] == 0x04)
            .ok_or(AttestError::UnsupportedKey { index: 0 })?;
        let key_id: [u8; 32] = Sha256::digest(point).into();
        if let Some(expected) = expected_key_id
            && expected != key_id
        {
            return Err(AttestError::KeyIdMismatch);
        }

        let auth = AuthData::parse(&self.auth_data)?;
        let environment = check_credential(&auth, point, &key_id, app_id, policy)?;

        let public_key_spki = leaf.spki_der()?;
        Ok(VerifiedAppAttest {
            environment,
            key_id,
            public_key_spki,
            receipt: self.receipt.clone(),
            policy,
        })
    }
}

/// ATT-I-5 to ATT-I-9: the authData fields, the credential, the policy.
fn check_credential(
    auth: &AuthData<'_>,
    point: &[u8],
    key_id: &[u8; 32],
    app_id: &str,
    policy: AttestationPolicy,
) -> Result<AppAttestEnvironment, AttestError> {
    // ATT-I-5: the app.
    if auth.rp_id_hash != Sha256::digest(app_id.as_bytes()).as_slice() {
        return Err(AttestError::RpIdMismatch);
    }
    // ATT-I-6: a fresh key has never signed.
    if auth.counter != 0 {
        return Err(AttestError::CounterNotZero {
            counter: auth.counter,
        });
    }
    // ATT-I-7: environment.
    let environment = if auth.aaguid == AAGUID_DEVELOPMENT {
        AppAttestEnvironment::Development
    } else if auth.aaguid == AAGUID_PRODUCTION {
        AppAttestEnvironment::Production
    } else {
        return Err(AttestError::UnknownAaguid);
    };
    // ATT-I-8: the credential is the certified key.
    if auth.credential_id != key_id {
        return Err(AttestError::CredentialIdMismatch);
    }
    if point.first() != Some(&0x04) || auth.credential_key_xy != point[1..] {
        return Err(AttestError::CredentialKeyMismatch);
    }
    // ATT-I-9: policy.
    if policy == AttestationPolicy::Strict && environment != AppAttestEnvironment::Production {
        return Err(AttestError::DevelopmentEnvironment);
    }
    Ok(environment)
}

/// The nonce inside extension 1.2.840.113635.100.8.2:
/// `SEQUENCE { [1] EXPLICIT OCTET STRING }`.
fn certified_nonce(ext_value: &[u8]) -> Result<&[u8], AttestError> {
    let bad = |what: &str| AttestError::Malformed(format!("nonce extension: {what}"));
    let seq = AnyRef::from_der(ext_value).map_err(|e| bad(&e.to_string()))?;
    if seq.tag() != Tag::Sequence {
        return Err(bad("not a SEQUENCE"));
    }
    let tagged = AnyRef::from_der(seq.value()).map_err(|e| bad(&e.to_string()))?;
    match tagged.tag() {
        Tag::ContextSpecific {
            constructed: true,
            number,
        } if number.0 == 1 => {}
        _ => return Err(bad("expected [1] EXPLICIT")),
    }
    let octets = <&OctetStringRef>::from_der(tagged.value()).map_err(|e| bad(&e.to_string()))?;
    Ok(octets.as_bytes())
}

/// An App Attest attestation that chained to Apple's root at the given time,
/// certified the expected nonce, and satisfied the policy.
#[derive(Debug, Clone)]
pub struct VerifiedAppAttest {
    environment: AppAttestEnvironment,
    key_id: [u8; 32],
    public_key_spki: Vec<u8>,
    receipt: Vec<u8>,
    policy: AttestationPolicy,
}

impl VerifiedAppAttest {
    /// Development or production.
    #[must_use]
    pub fn environment(&self) -> AppAttestEnvironment {
        self.environment
    }

    /// The key id: SHA-256 of the uncompressed P-256 public key.
    #[must_use]
    pub fn key_id(&self) -> &[u8; 32] {
        &self.key_id
    }

    /// The attested public key, SubjectPublicKeyInfo DER.
    #[must_use]
    pub fn public_key(&self) -> &[u8] {
        &self.public_key_spki
    }

    /// The attested public key as PEM (`PUBLIC KEY`).
    #[must_use]
    pub fn public_key_pem(&self) -> String {
        let b64 = base64::engine::general_purpose::STANDARD.encode(&self.public_key_spki);
        let mut pem = String::from("-----BEGIN PUBLIC KEY-----\n");
        for line in b64.as_bytes().chunks(64) {
            pem.push_str(&String::from_utf8_lossy(line));
            pem.push('\n');
        }
        pem.push_str("-----END PUBLIC KEY-----\n");
        pem
    }

    /// The receipt, for Apple's fraud-metric service.
    #[must_use]
    pub fn receipt(&self) -> &[u8] {
        &self.receipt
    }

    /// The policy the attestation satisfied.
    #[must_use]
    pub fn policy(&self) -> AttestationPolicy {
        self.policy
    }

    /// `{"verdict": "accepted", "environment", "keyId" (base64), "publicKey"
    /// (PEM)}`, as this type's `Serialize`.
    #[must_use]
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

impl serde::Serialize for VerifiedAppAttest {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(serde::Serialize)]
        #[serde(rename_all = "camelCase")]
        struct View {
            verdict: &'static str,
            environment: &'static str,
            key_id: String,
            public_key: String,
        }
        View {
            verdict: "accepted",
            environment: self.environment.name(),
            key_id: base64::engine::general_purpose::STANDARD.encode(self.key_id),
            public_key: self.public_key_pem(),
        }
        .serialize(serializer)
    }
}

/// Parses and verifies an App Attest attestation object (CBOR bytes).
///
/// `client_data_hash` is SHA-256 of the client data the app attested — for
/// an enrollment, [`crate::enrollment_challenge`]. `app_id` is
/// `TEAMID.bundle.id`. `expected_key_id` is the key id the app reported
/// (`None`: not compared; the credential id is still checked against the
/// certified key). `at` is the verification time (no clock is read).
///
/// # Errors
/// The first check that fails, in the order of the module documentation.
pub fn verify_app_attest(
    object: &[u8],
    client_data_hash: &[u8; 32],
    app_id: &str,
    expected_key_id: Option<&[u8]>,
    policy: AttestationPolicy,
    at: SystemTime,
) -> Result<VerifiedAppAttest, AttestError> {
    UnverifiedAppAttest::from_cbor(object)?.verify(
        client_data_hash,
        app_id,
        expected_key_id,
        policy,
        at,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const APP_ID: &str = "TEAMID1234.org.example.app";

    /// A P-256 point (any 65 bytes starting 0x04 do for these checks).
    fn point() -> Vec<u8> {
        let mut p = vec![0x04];
        p.extend((1..=64).map(|i: u8| i));
        p
    }

    fn auth_data(counter: u32, aaguid: &[u8; 16], credential_id: &[u8], xy: &[u8]) -> Vec<u8> {
        let mut out = Sha256::digest(APP_ID.as_bytes()).to_vec();
        out.push(0x40);
        out.extend_from_slice(&counter.to_be_bytes());
        out.extend_from_slice(aaguid);
        out.extend_from_slice(&u16::try_from(credential_id.len()).unwrap().to_be_bytes());
        out.extend_from_slice(credential_id);
        let key = Value::Map(vec![
            (Value::from(1), Value::from(2)),
            (Value::from(3), Value::from(-7)),
            (Value::from(-1), Value::from(1)),
            (Value::from(-2), Value::Bytes(xy[..32].to_vec())),
            (Value::from(-3), Value::Bytes(xy[32..].to_vec())),
        ]);
        ciborium::ser::into_writer(&key, &mut out).unwrap();
        out
    }

    fn check(bytes: &[u8], policy: AttestationPolicy) -> Result<AppAttestEnvironment, AttestError> {
        let p = point();
        let key_id: [u8; 32] = Sha256::digest(&p).into();
        check_credential(&AuthData::parse(bytes)?, &p, &key_id, APP_ID, policy)
    }

    #[test]
    fn credential_checks_each_field() {
        use AttestationPolicy::{Development, Strict};
        let p = point();
        let id: [u8; 32] = Sha256::digest(&p).into();
        let dev = auth_data(0, AAGUID_DEVELOPMENT, &id, &p[1..]);
        assert_eq!(
            check(&dev, Development),
            Ok(AppAttestEnvironment::Development)
        );
        assert_eq!(
            check(&dev, Strict),
            Err(AttestError::DevelopmentEnvironment)
        );
        let prod = auth_data(0, AAGUID_PRODUCTION, &id, &p[1..]);
        assert_eq!(check(&prod, Strict), Ok(AppAttestEnvironment::Production));
        assert_eq!(
            check(&auth_data(1, AAGUID_PRODUCTION, &id, &p[1..]), Strict),
            Err(AttestError::CounterNotZero { counter: 1 })
        );
        assert_eq!(
            check(
                &auth_data(0, b"appattestdevelo!", &id, &p[1..]),
                Development
            ),
            Err(AttestError::UnknownAaguid)
        );
        let mut other_id = id;
        other_id[0] ^= 1;
        assert_eq!(
            check(&auth_data(0, AAGUID_PRODUCTION, &other_id, &p[1..]), Strict),
            Err(AttestError::CredentialIdMismatch)
        );
        let mut other_xy = p[1..].to_vec();
        other_xy[63] ^= 1;
        assert_eq!(
            check(&auth_data(0, AAGUID_PRODUCTION, &id, &other_xy), Strict),
            Err(AttestError::CredentialKeyMismatch)
        );
        let mut wrong_app = prod.clone();
        wrong_app[0] ^= 1;
        assert_eq!(check(&wrong_app, Strict), Err(AttestError::RpIdMismatch));
    }

    #[test]
    fn auth_data_layout_is_checked() {
        let p = point();
        let id: [u8; 32] = Sha256::digest(&p).into();
        let good = auth_data(0, AAGUID_PRODUCTION, &id, &p[1..]);
        for len in 0..good.len() {
            assert!(AuthData::parse(&good[..len]).is_err(), "truncated to {len}");
        }
        let mut trailing = good.clone();
        trailing.push(0);
        assert!(AuthData::parse(&trailing).is_err());
        let mut no_at = good;
        no_at[32] = 0;
        assert!(AuthData::parse(&no_at).is_err());
    }

    #[test]
    fn nonce_extension_shape() {
        // SEQUENCE { [1] { OCTET STRING 01 02 } }
        assert_eq!(
            certified_nonce(&[0x30, 0x06, 0xa1, 0x04, 0x04, 0x02, 0x01, 0x02]).unwrap(),
            &[1, 2]
        );
        assert!(certified_nonce(&[0x30, 0x06, 0xa2, 0x04, 0x04, 0x02, 0x01, 0x02]).is_err());
        assert!(certified_nonce(&[0x31, 0x06, 0xa1, 0x04, 0x04, 0x02, 0x01, 0x02]).is_err());
        assert!(certified_nonce(&[0x30, 0x06, 0xa1, 0x04, 0x04, 0x02, 0x01]).is_err());
    }
}
