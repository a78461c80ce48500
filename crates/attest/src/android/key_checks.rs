//! What the secure hardware says about the attested key itself
//! (ATT-K-1..3).
//!
//! A genuine chain proves only that a TEE or StrongBox signed the
//! KeyDescription. A key *imported* into that hardware was made outside it
//! (the importer may keep a copy), so it is not "a key that lives only in
//! hardware". These checks read the hardware-enforced list (`teeEnforced`,
//! called `hardwareEnforced` here; StrongBox writes the same list): an
//! entry Android's software reports in `softwareEnforced` is not vouched
//! for by the hardware and does not count.

use crate::android::{KeyDescription, Origin};
use crate::error::AttestError;

/// KeyMint `KeyPurpose::SIGN`.
pub const PURPOSE_SIGN: i64 = 2;
/// KeyMint `KeyPurpose::VERIFY`.
pub const PURPOSE_VERIFY: i64 = 3;

/// ATT-K-1 origin GENERATED, ATT-K-2 signing purposes only, ATT-K-3 the
/// algorithm and curve are those of the certified key. `certified` is the
/// leaf's key as `(KeyMint algorithm, KeyMint curve)` (see
/// `ParsedCert::keymint_algorithm`); `None` for a key type KeyMint has no
/// attestable equivalent of here.
pub(crate) fn check_key_properties(
    kd: &KeyDescription,
    certified: Option<(i64, Option<i64>)>,
) -> Result<(), AttestError> {
    let hw = &kd.hardware_enforced;
    // ATT-K-1: made inside the hardware, not imported (IMPORTED,
    // SECURELY_IMPORTED), derived or of unknown origin.
    if hw.origin != Some(Origin::Generated) {
        return Err(AttestError::KeyNotGenerated { origin: hw.origin });
    }
    // ATT-K-2: a participant key signs (and may verify); a key that may
    // also encrypt, decrypt, wrap, agree or attest serves more than one
    // role and is refused.
    let purposes = hw.purposes.clone().unwrap_or_default();
    let signing_only = purposes.contains(&PURPOSE_SIGN)
        && purposes
            .iter()
            .all(|p| *p == PURPOSE_SIGN || *p == PURPOSE_VERIFY);
    if !signing_only {
        return Err(AttestError::KeyPurposeNotSigning { purposes });
    }
    // ATT-K-3: the hardware describes the key the leaf certifies (EC=3
    // with P_256=1 for a P-256 participant key).
    let claimed = (hw.algorithm, hw.ec_curve);
    let matches = match certified {
        Some((algorithm, curve)) => claimed == (Some(algorithm), curve),
        None => false,
    };
    if !matches {
        return Err(AttestError::KeyAlgorithmMismatch {
            algorithm: hw.algorithm,
            ec_curve: hw.ec_curve,
        });
    }
    Ok(())
}
