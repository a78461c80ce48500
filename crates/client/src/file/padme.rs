//! Padmé (Nikitin et al., "Reducing Metadata Leakage from Encrypted Files
//! and Communication with PURBs", PETS 2019, §4): the padded length of a
//! file, so the content server sees one of few sizes instead of the exact
//! one. RCC.16 file transfer pads files with Padmé (GUIDE §4); MLS pads
//! messages the same way (RFC 9420 §12.1.5 leaves the scheme open; mls-rs
//! offers Padmé).

/// The Padmé length of `len`: `len` rounded up so that only its top
/// `⌊log2 E⌋ + 1` bits below the leading one may be set, where
/// `E = ⌊log2 len⌋`. The overhead is at most about 12 % and shrinks as
/// files grow. Lengths 0 and 1 are their own padding (`log2` is undefined
/// at 0, and one byte has nothing to hide). `None` only when rounding up
/// overflows `u64`.
pub fn padme(len: u64) -> Option<u64> {
    if len < 2 {
        return Some(len);
    }
    let e = u64::from(len.ilog2());
    let s = u64::from(e.ilog2()) + 1;
    let z = e - s; // e ≥ 1, s ≤ e: s = ⌊log2 e⌋ + 1 ≤ e for e ≥ 1
    let mask = (1u64 << z) - 1;
    len.checked_add(mask).map(|n| n & !mask)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values worked out by hand from the definition:
    /// E = ⌊log2 L⌋, S = ⌊log2 E⌋ + 1, z = E − S, round up to 2^z.
    #[test]
    fn known_values() {
        let cases: &[(u64, u64)] = &[
            // L < 8: E ≤ 2, z = 0, nothing changes.
            (0, 0),
            (1, 1),
            (2, 2), // E = 1, S = 1, z = 0
            (3, 3),
            (4, 4), // E = 2, S = 2, z = 0
            (7, 7),
            // 8 ≤ L < 32: E = 3 or 4, S = 2 or 3, z = 1: even lengths.
            (8, 8),
            (9, 10),
            (15, 16),
            (16, 16),
            (17, 18),
            (31, 32),
            // 32 ≤ L < 64: E = 5, S = 3, z = 2: multiples of 4.
            (33, 36),
            (63, 64),
            // 64 ≤ L < 128: E = 6, S = 3, z = 3: multiples of 8.
            (100, 104),
            // 256 ≤ L < 512: E = 8, S = 4, z = 4: multiples of 16.
            (257, 272),
            // 1000: E = 9, S = 4, z = 5: multiples of 32.
            (1000, 1024),
            // 64 KiB ± 1: E = 15 → z = 11 below, E = 16, S = 5 → z = 11 above.
            (65_535, 65_536),
            (65_536, 65_536),
            (65_537, 67_584),
            // 1 MiB + 1: E = 20, S = 5, z = 15: multiples of 32 KiB.
            (1_048_577, 1_081_344),
            // 1 GiB + 1: E = 30, S = 5, z = 25: multiples of 32 MiB.
            ((1 << 30) + 1, (1 << 30) + (1 << 25)),
        ];
        for &(len, padded) in cases {
            assert_eq!(padme(len), Some(padded), "padme({len})");
        }
    }

    #[test]
    fn bounds_and_idempotence() {
        // E = 63, S = 6, z = 57: u64::MAX rounds past the top.
        assert_eq!(padme(u64::MAX), None);
        assert_eq!(padme(1 << 63), Some(1 << 63));
        for len in (0..5000).chain((1 << 20) - 70..(1 << 20) + 70) {
            let p = padme(len).unwrap();
            assert!(p >= len);
            // At most 1/2^S of the length is added (≤ 12.5 % from 256 on).
            if len >= 256 {
                assert!((p - len) * 8 <= len, "{len} → {p}");
            }
            assert_eq!(padme(p), Some(p), "idempotent at {len}");
        }
    }
}
