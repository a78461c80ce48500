//! Opening a token and managing the P-256 key pairs in it.

use std::path::Path;

use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;

use crate::ec::{P256_PARAMS, uncompressed_point};
use crate::error::HsmError;
use crate::login::LoginRef;
use crate::module;
use crate::signer::Pkcs11Signer;

/// Length of the random CKA_ID that ties the two halves of a generated pair.
const KEY_ID_LEN: u32 = 16;

/// A PKCS#11 token, logged in as the user.
///
/// Cheap to share: `Send + Sync`, and every [`Pkcs11Token`] and
/// [`Pkcs11Signer`] of one token in the process uses one logged-in session
/// (PKCS#11 login state is per process, see the crate docs), one operation
/// at a time. The session closes, logging the process out, when the last
/// of them is dropped.
#[derive(Debug)]
pub struct Pkcs11Token {
    login: LoginRef,
}

impl Pkcs11Token {
    /// Opens the token with this label, logs in as user.
    ///
    /// `module` is the PKCS#11 library, e.g. [`crate::SOFTHSM2_MODULE`].
    /// The module is loaded and initialised on first use and stays loaded
    /// for the life of the process; SoftHSM2 reads `SOFTHSM2_CONF` at that
    /// moment. Opening a token this process is already logged in to checks
    /// `user_pin` against the PIN of that login and shares the session.
    pub fn open(module: &Path, token_label: &str, user_pin: &str) -> Result<Pkcs11Token, HsmError> {
        let (canonical, context) = module::context(module)?;
        let mut matching = Vec::new();
        for slot in context.get_slots_with_initialized_token()? {
            // Labels are blank-padded in PKCS#11; cryptoki trims the padding.
            if context.get_token_info(slot)?.label() == token_label {
                matching.push(slot);
            }
        }
        let slot = match matching.as_slice() {
            [slot] => *slot,
            [] => {
                return Err(HsmError::TokenNotFound {
                    label: token_label.to_owned(),
                });
            }
            _ => {
                return Err(HsmError::DuplicateLabel {
                    what: "token",
                    label: token_label.to_owned(),
                });
            }
        };
        let login = LoginRef::acquire(&context, canonical, slot, token_label, user_pin)?;
        Ok(Pkcs11Token { login })
    }

    /// The token's label.
    pub fn label(&self) -> &str {
        self.login.label()
    }

    /// Generates a P-256 key pair inside the token, labelled `key_label`.
    ///
    /// The private key is a token object that is private, sensitive,
    /// non-extractable and may only sign (no decrypt, derive or unwrap); the
    /// public key is a token object that may only verify. Both halves share
    /// the label and a random CKA_ID. Fails with [`HsmError::KeyExists`] if
    /// any object already has the label.
    pub fn generate_p256(&self, key_label: &str) -> Result<Pkcs11Signer, HsmError> {
        self.login
            .with_session(|session| generate(session, key_label))
            .and_then(|pair| self.signer(pair, key_label))
    }

    /// Finds an existing P-256 key pair by label.
    ///
    /// Both halves must be present, unique under the label, on P-256, with
    /// the same CKA_ID, the private half allowed to sign; and a test
    /// signature by the private half must verify under the public half, so
    /// a stale or mismatched public key object is caught here rather than
    /// in a certificate.
    pub fn find_p256(&self, key_label: &str) -> Result<Pkcs11Signer, HsmError> {
        self.login
            .with_session(|session| find(session, key_label))
            .and_then(|pair| self.signer(pair, key_label))
    }

    /// [`Pkcs11Token::find_p256`], or [`Pkcs11Token::generate_p256`] when no
    /// object has the label. The two steps hold the session throughout, so
    /// two threads of the process cannot both generate.
    pub fn find_or_generate_p256(&self, key_label: &str) -> Result<Pkcs11Signer, HsmError> {
        self.login
            .with_session(|session| match find(session, key_label) {
                Err(HsmError::KeyNotFound { .. }) => generate(session, key_label),
                other => other,
            })
            .and_then(|pair| self.signer(pair, key_label))
    }

    fn signer(&self, pair: KeyPair, key_label: &str) -> Result<Pkcs11Signer, HsmError> {
        Pkcs11Signer::new(self.login.clone(), key_label, pair.private, pair.point)
    }
}

/// The handle of a private key and its public point (uncompressed SEC1).
struct KeyPair {
    private: ObjectHandle,
    point: Vec<u8>,
}

fn label_attribute(label: &str) -> Attribute {
    Attribute::Label(label.as_bytes().to_vec())
}

fn generate(session: &Session, label: &str) -> Result<KeyPair, HsmError> {
    if !session.find_objects(&[label_attribute(label)])?.is_empty() {
        return Err(HsmError::KeyExists {
            label: label.to_owned(),
        });
    }
    let id = session.generate_random_vec(KEY_ID_LEN)?;
    let public_template = [
        Attribute::Token(true),
        Attribute::Private(false),
        Attribute::Verify(true),
        Attribute::Encrypt(false),
        Attribute::Wrap(false),
        Attribute::EcParams(P256_PARAMS.to_vec()),
        label_attribute(label),
        Attribute::Id(id.clone()),
    ];
    let private_template = [
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Sign(true),
        Attribute::Decrypt(false),
        Attribute::Derive(false),
        Attribute::Unwrap(false),
        label_attribute(label),
        Attribute::Id(id),
    ];
    let (public, private) = session.generate_key_pair(
        &Mechanism::EccKeyPairGen,
        &public_template,
        &private_template,
    )?;
    let point = public_point(session, public, label)?;
    Ok(KeyPair { private, point })
}

fn find(session: &Session, label: &str) -> Result<KeyPair, HsmError> {
    let privates = session.find_objects(&[
        Attribute::Class(ObjectClass::PRIVATE_KEY),
        label_attribute(label),
    ])?;
    let publics = session.find_objects(&[
        Attribute::Class(ObjectClass::PUBLIC_KEY),
        label_attribute(label),
    ])?;
    let unsupported = |reason: &str| HsmError::UnsupportedKey {
        label: label.to_owned(),
        reason: reason.to_owned(),
    };
    let (private, public) = match (privates.as_slice(), publics.as_slice()) {
        ([private], [public]) => (*private, *public),
        ([], []) => {
            return Err(HsmError::KeyNotFound {
                label: label.to_owned(),
            });
        }
        ([_, _, ..], _) => {
            return Err(HsmError::DuplicateLabel {
                what: "private key",
                label: label.to_owned(),
            });
        }
        (_, [_, _, ..]) => {
            return Err(HsmError::DuplicateLabel {
                what: "public key",
                label: label.to_owned(),
            });
        }
        ([], [_]) => return Err(unsupported("there is no private key with this label")),
        ([_], []) => return Err(unsupported("there is no public key with this label")),
    };

    let private_attributes = session.get_attributes(
        private,
        &[
            AttributeType::KeyType,
            AttributeType::EcParams,
            AttributeType::Sign,
            AttributeType::Id,
        ],
    )?;
    let public_attributes = session.get_attributes(
        public,
        &[
            AttributeType::KeyType,
            AttributeType::EcParams,
            AttributeType::Id,
        ],
    )?;
    for attributes in [&private_attributes, &public_attributes] {
        if !attributes.contains(&Attribute::KeyType(KeyType::EC)) {
            return Err(unsupported("not an elliptic-curve key"));
        }
        if !attributes.contains(&Attribute::EcParams(P256_PARAMS.to_vec())) {
            return Err(unsupported("not on the P-256 curve"));
        }
    }
    if !private_attributes.contains(&Attribute::Sign(true)) {
        return Err(unsupported(
            "the private key may not sign (CKA_SIGN is false)",
        ));
    }
    let id = |attributes: &[Attribute]| {
        attributes.iter().find_map(|a| match a {
            Attribute::Id(id) => Some(id.clone()),
            _ => None,
        })
    };
    if id(&private_attributes) != id(&public_attributes) {
        return Err(unsupported("the two halves have different CKA_ID values"));
    }
    let point = public_point(session, public, label)?;
    Ok(KeyPair { private, point })
}

/// The public key's point, from CKA_EC_POINT.
fn public_point(session: &Session, public: ObjectHandle, label: &str) -> Result<Vec<u8>, HsmError> {
    let attributes = session.get_attributes(public, &[AttributeType::EcPoint])?;
    attributes
        .iter()
        .find_map(|a| match a {
            Attribute::EcPoint(bytes) => uncompressed_point(bytes),
            _ => None,
        })
        .ok_or_else(|| HsmError::UnsupportedKey {
            label: label.to_owned(),
            reason: "CKA_EC_POINT is missing or not an uncompressed P-256 point".into(),
        })
}
