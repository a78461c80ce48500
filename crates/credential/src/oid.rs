//! Object identifiers of the RCC.16 credential profile.
//!
//! The GSMA arc 2.23.146 holds the RCS MLS identifiers (GUIDE §4).

use const_oid::ObjectIdentifier;

/// Certificate policy every RCC.16 participant credential carries.
pub const RCS_MLS_POLICY: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.23.146.2.1.2");
/// Extended key usage `id-kp-rcsMlsClient`.
pub const RCS_MLS_CLIENT_EKU: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.23.146.2.1.3");
/// ParticipantInformation extension: binds the leaf to the participant key.
pub const PARTICIPANT_INFORMATION: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("2.23.146.2.1.4");
/// The carrier's signed proof over (number, participant key, home KDS, expiry).
pub const CARRIER_PROOF: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.23.146.2.1.5");
/// Vendor identifier extension.
pub const VENDOR_ID: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.23.146.2.1.6");

/// `id-ecPublicKey`.
pub const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// `secp256r1` / `prime256v1`.
pub const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
/// `secp384r1`.
pub const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
/// `id-Ed25519`.
pub const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
/// `ecdsa-with-SHA256`.
pub const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
/// `ecdsa-with-SHA384`.
pub const ECDSA_WITH_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");

/// The OID as the arc list rcgen wants.
pub(crate) fn arcs(oid: &ObjectIdentifier) -> Vec<u64> {
    oid.arcs().map(u64::from).collect()
}
