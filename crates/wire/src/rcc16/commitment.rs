//! RCC.16 Annex C.1 commitments to the group icon and subject (the
//! GroupContext extensions 0xF004 and 0xF006).
//!
//! `commitment = SHA-256( varint(len L) ‖ L ‖ varint(len V) ‖ V )` with MLS
//! varints and `L` a bare ASCII label (no "MLS 1.0 " prefix):
//!
//! | revision | icon label | subject label | `V` |
//! |---|---|---|---|
//! | v3.0 (as deployed) | `icon_commitment` | `subject_commitment` | the 32-byte content key |
//! | v4.0 §9.7.1.1.1 / §9.7.1.2.1 | `group_icon` | `group_subject` | the FileEncryptionInfo `hmac_tag` |
//!
//! Checked in constant time ([`verify`], WIRE-EXT-5).

use sha2::{Digest, Sha256};

use super::Revision;
use crate::varint;

/// What a commitment commits to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Subject {
    /// The group icon (0xF004).
    Icon,
    /// The group subject (0xF006).
    Subject,
}

/// The Annex C.1 label of `what` under `revision`.
pub fn label(what: Subject, revision: Revision) -> &'static [u8] {
    match (revision, what) {
        (Revision::V3_0, Subject::Icon) => b"icon_commitment",
        (Revision::V3_0, Subject::Subject) => b"subject_commitment",
        (Revision::V4_0, Subject::Icon) => b"group_icon",
        (Revision::V4_0, Subject::Subject) => b"group_subject",
    }
}

fn push_vector(out: &mut Vec<u8>, bytes: &[u8]) {
    // Labels and keys are far below 2^30 bytes; a larger value cannot be
    // committed and hashes as if empty-prefixed, which no verifier accepts.
    let _ = varint::encode_len(bytes.len(), out);
    out.extend_from_slice(bytes);
}

/// `SHA-256(varint(len label) ‖ label ‖ varint(len value) ‖ value)`.
pub fn commit_with_label(label: &[u8], value: &[u8]) -> [u8; 32] {
    let mut input = Vec::with_capacity(label.len() + value.len() + 8);
    push_vector(&mut input, label);
    push_vector(&mut input, value);
    Sha256::digest(&input).into()
}

/// The commitment to `what` under `revision`: `value` is the 32-byte
/// content key (v3.0) or the FileEncryptionInfo `hmac_tag` (v4.0).
pub fn commitment(what: Subject, revision: Revision, value: &[u8]) -> [u8; 32] {
    commit_with_label(label(what, revision), value)
}

/// Whether `claimed` (as decoded from 0xF004/0xF006) is the commitment to
/// `value`, compared in constant time.
pub fn verify(claimed: &[u8], what: Subject, revision: Revision, value: &[u8]) -> bool {
    constant_time_eq(claimed, &commitment(what, revision, value))
}

/// Equality whose time depends only on the lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a
        .iter()
        .zip(b)
        .fold(0u8, |acc, (x, y)| std::hint::black_box(acc | (x ^ y)));
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rcc16::extensions::{self, ICON_COMMITMENT};
    use crate::test_util::hex;

    // Vectors computed with Python hashlib:
    //   v = MLS varint; c1(L, V) = sha256(v(len(L)) + L + v(len(V)) + V)
    //   key = bytes(range(32)); tag = bytes(range(0x40, 0x60))
    const KEY: [u8; 32] = {
        let mut k = [0; 32];
        let mut i = 0;
        while i < 32 {
            k[i] = i as u8;
            i += 1;
        }
        k
    };

    fn tag() -> Vec<u8> {
        (0x40..0x60).collect()
    }

    #[test]
    fn v3_vectors() {
        // c1(b"icon_commitment", key): 0f 69636f6e5f636f6d6d69746d656e74 20 ‖ key
        let icon = commitment(Subject::Icon, Revision::V3_0, &KEY);
        assert_eq!(
            icon.to_vec(),
            hex("ed30dc9f3a000894a59c513301b3fdcb533561b61ff7e7206a154b7b78df2f91")
        );
        let subject = commitment(Subject::Subject, Revision::V3_0, &KEY);
        assert_eq!(
            subject.to_vec(),
            hex("bc0967c67a0d46f643d0fcd209b599b17f77e97ff6d1cd01f64e4d44a0f2bf3d")
        );
        assert!(verify(&icon, Subject::Icon, Revision::V3_0, &KEY));
        assert!(!verify(&icon, Subject::Subject, Revision::V3_0, &KEY));
        assert!(!verify(&icon, Subject::Icon, Revision::V4_0, &KEY));
    }

    #[test]
    fn v4_vectors() {
        let icon = commitment(Subject::Icon, Revision::V4_0, &tag());
        assert_eq!(
            icon.to_vec(),
            hex("dd7ab0badc824f3c9f01683a9225b303bfe876d5afa0f01e629b8f8a5fa7cae1")
        );
        let subject = commitment(Subject::Subject, Revision::V4_0, &tag());
        assert_eq!(
            subject.to_vec(),
            hex("a103d1cfb8ad6f75c90b43e9c2a1ddbd6baeb164a0a4db0c580807e9d9b7bc30")
        );
        assert!(verify(&subject, Subject::Subject, Revision::V4_0, &tag()));
        let mut wrong = tag();
        wrong[0] ^= 1;
        assert!(!verify(&subject, Subject::Subject, Revision::V4_0, &wrong));
    }

    #[test]
    fn through_the_extension_both_ways() {
        // The 0xF004 payload is `20 ‖ commitment`; a bare digest decodes too.
        let icon = commitment(Subject::Icon, Revision::V3_0, &KEY);
        let wire = extensions::encode_commitment(&icon);
        assert_eq!(
            wire,
            hex("20ed30dc9f3a000894a59c513301b3fdcb533561b61ff7e7206a154b7b78df2f91")
        );
        for payload in [&wire[..], &icon[..]] {
            let claimed = extensions::decode_commitment(ICON_COMMITMENT, payload).unwrap();
            assert!(verify(&claimed, Subject::Icon, Revision::V3_0, &KEY));
        }
        // Lengths differ: never equal.
        assert!(!verify(&icon[..31], Subject::Icon, Revision::V3_0, &KEY));
        assert!(!constant_time_eq(&[], &[0]));
        assert!(constant_time_eq(&[], &[]));
    }
}
