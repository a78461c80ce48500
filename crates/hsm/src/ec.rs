//! P-256 encodings at the PKCS#11 boundary: the curve parameters a token
//! stores (CKA_EC_PARAMS), the public point it returns (CKA_EC_POINT) and
//! the conversion of a raw `CKM_ECDSA` signature to DER. Pure functions, no
//! token access.

/// DER of the named curve `prime256v1` / `secp256r1` (OID 1.2.840.10045.3.1.7),
/// the CKA_EC_PARAMS value of a P-256 key (RFC 5480 §2.1.1.1).
pub(crate) const P256_PARAMS: [u8; 10] =
    [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

/// Length of an uncompressed SEC1 P-256 point: `04 || X || Y`.
const POINT_LEN: usize = 65;

/// Length of one P-256 scalar (r or s) in a raw `CKM_ECDSA` signature.
const SCALAR_LEN: usize = 32;

/// The uncompressed SEC1 point in a CKA_EC_POINT value.
///
/// PKCS#11 (v2.40 §2.3.3) says CKA_EC_POINT is the DER encoding of an
/// ANSI X9.62 ECPoint, i.e. an OCTET STRING wrapping the point; SoftHSM2 and
/// most tokens do that, a few return the bare point. Both are accepted; the
/// lengths (67 against 65) tell them apart without ambiguity.
pub(crate) fn uncompressed_point(ec_point: &[u8]) -> Option<Vec<u8>> {
    let point = match ec_point {
        // OCTET STRING, short-form length 65.
        [0x04, len, rest @ ..] if usize::from(*len) == POINT_LEN && rest.len() == POINT_LEN => rest,
        raw if raw.len() == POINT_LEN => raw,
        _ => return None,
    };
    (point[0] == 0x04).then(|| point.to_vec())
}

/// Converts a raw `CKM_ECDSA` P-256 signature (`r || s`, 32 bytes each, big
/// endian; PKCS#11 v2.40 §2.3.1) to the DER `Ecdsa-Sig-Value` that X.509
/// (RFC 5480 §2.2.3, RFC 3279 §2.2.3) and MLS (RFC 9420 §5.1.2) carry:
///
/// ```text
/// Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }
/// ```
///
/// Each INTEGER is minimal and positive: leading zero bytes are dropped and
/// one `0x00` is put back when the first remaining byte has its high bit set.
/// Returns `None` when the input is not 64 bytes or r or s is zero (no valid
/// ECDSA signature has either).
pub(crate) fn raw_to_der(raw: &[u8]) -> Option<Vec<u8>> {
    if raw.len() != 2 * SCALAR_LEN {
        return None;
    }
    let (r, s) = raw.split_at(SCALAR_LEN);
    let mut body = Vec::with_capacity(2 * (SCALAR_LEN + 3));
    der_positive_integer(r, &mut body)?;
    der_positive_integer(s, &mut body)?;
    // At most 2 × (2 + 33) = 70 bytes: the short length form always fits.
    let len = u8::try_from(body.len()).ok().filter(|l| *l < 0x80)?;
    let mut der = Vec::with_capacity(body.len() + 2);
    der.push(0x30); // SEQUENCE
    der.push(len);
    der.extend_from_slice(&body);
    Some(der)
}

/// Appends `INTEGER big_endian` (unsigned, non-zero) in minimal DER form.
fn der_positive_integer(big_endian: &[u8], out: &mut Vec<u8>) -> Option<()> {
    let first = big_endian.iter().position(|b| *b != 0)?;
    let digits = &big_endian[first..];
    let pad = digits[0] & 0x80 != 0;
    let len = u8::try_from(digits.len() + usize::from(pad)).ok()?;
    out.push(0x02); // INTEGER
    out.push(len);
    if pad {
        out.push(0x00);
    }
    out.extend_from_slice(digits);
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(r: &[u8; 32], s: &[u8; 32]) -> Vec<u8> {
        [r.as_slice(), s.as_slice()].concat()
    }

    #[test]
    fn small_positive_values_are_minimal() {
        let mut r = [0u8; 32];
        r[31] = 1;
        let mut s = [0u8; 32];
        s[31] = 0x7f;
        assert_eq!(
            raw_to_der(&raw(&r, &s)).unwrap(),
            [0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x7f]
        );
    }

    #[test]
    fn high_bit_gets_a_zero_byte() {
        let r = [0xff; 32];
        let mut s = [0u8; 32];
        s[31] = 0x80;
        let der = raw_to_der(&raw(&r, &s)).unwrap();
        let mut expected = vec![0x30, 0x27, 0x02, 0x21, 0x00];
        expected.extend_from_slice(&[0xff; 32]);
        expected.extend_from_slice(&[0x02, 0x02, 0x00, 0x80]);
        assert_eq!(der, expected);
        assert_eq!(der.len(), 2 + 0x27);
    }

    #[test]
    fn leading_zeros_then_high_bit() {
        let mut r = [0u8; 32];
        r[2] = 0x90;
        r[31] = 0x01;
        let s = [0x01; 32];
        let der = raw_to_der(&raw(&r, &s)).unwrap();
        // r: 30 significant bytes starting 0x90 → 0x00 pad, 31 bytes.
        assert_eq!(&der[2..5], &[0x02, 31, 0x00]);
        assert_eq!(der[5], 0x90);
        // s: 32 bytes, no pad.
        assert_eq!(&der[2 + 2 + 31..2 + 2 + 31 + 3], &[0x02, 32, 0x01]);
    }

    #[test]
    fn longest_form_is_seventy_two_bytes() {
        let der = raw_to_der(&raw(&[0x80; 32], &[0x80; 32])).unwrap();
        assert_eq!(der.len(), 72);
        assert_eq!(&der[..2], &[0x30, 70]);
    }

    #[test]
    fn zero_scalars_and_bad_lengths_are_refused() {
        assert!(raw_to_der(&raw(&[0; 32], &[1; 32])).is_none());
        assert!(raw_to_der(&raw(&[1; 32], &[0; 32])).is_none());
        assert!(raw_to_der(&[1; 63]).is_none());
        assert!(raw_to_der(&[1; 65]).is_none());
        assert!(raw_to_der(&[]).is_none());
    }

    /// Cross-check against RustCrypto's encoder on many scalar shapes
    /// (deterministic: every byte pattern is derived from the loop index).
    #[test]
    fn matches_p256_der_encoding() {
        use sha2::{Digest, Sha256};
        for i in 0u32..2000 {
            let mut r: [u8; 32] = Sha256::digest(i.to_be_bytes()).into();
            let mut s: [u8; 32] = Sha256::digest((i + 1_000_000).to_be_bytes()).into();
            // Force leading zero bytes and high bits on some iterations.
            let zeros = (i % 5) as usize;
            r[..zeros].fill(0);
            s[..(i % 3) as usize].fill(0);
            if i % 7 == 0 {
                s[0] |= 0x80;
            }
            // Keep both below the group order so p256 accepts them.
            r[0] &= 0x7f;
            if s[0] == 0xff {
                s[0] = 0xfe;
            }
            let raw = raw(&r, &s);
            let ours = raw_to_der(&raw).unwrap();
            let theirs = p256::ecdsa::Signature::from_slice(&raw).unwrap().to_der();
            assert_eq!(ours, theirs.as_bytes(), "iteration {i}");
        }
    }

    #[test]
    fn ec_point_wrapped_and_raw() {
        let mut point = vec![0x04];
        point.extend_from_slice(&[0x41; 64]); // X starts with 0x41 like a length byte
        let mut wrapped = vec![0x04, 0x41];
        wrapped.extend_from_slice(&point);
        assert_eq!(uncompressed_point(&wrapped).unwrap(), point);
        assert_eq!(uncompressed_point(&point).unwrap(), point);
    }

    #[test]
    fn ec_point_rejects_other_shapes() {
        // Compressed point, wrapped and raw.
        let mut compressed = vec![0x02];
        compressed.extend_from_slice(&[1; 32]);
        assert!(uncompressed_point(&compressed).is_none());
        let mut wrapped = vec![0x04, 33];
        wrapped.extend_from_slice(&compressed);
        assert!(uncompressed_point(&wrapped).is_none());
        // Right length, wrong prefix.
        assert!(uncompressed_point(&[0x05; 65]).is_none());
        let mut bad_inner = vec![0x04, 0x41, 0x05];
        bad_inner.extend_from_slice(&[1; 64]);
        assert!(uncompressed_point(&bad_inner).is_none());
        // P-384-sized point.
        assert!(uncompressed_point(&[0x04; 97]).is_none());
        assert!(uncompressed_point(&[]).is_none());
    }
}
