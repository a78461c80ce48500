//! An iterative well-formedness scan of untrusted CBOR (RFC 8949 §3).
//!
//! The scan keeps one counter per open array, map or tag, and never more than
//! `max_depth` of them, so a 100 000-deep nesting bomb is refused after
//! reading `max_depth + 1` bytes. Every length is compared with the bytes that
//! remain before anything else happens, so a forged length cannot make a later
//! step allocate. Indefinite lengths (RFC 8949 §3.2.2) are refused because the
//! formats here require deterministic encoding (RFC 8949 §4.2.1); so are
//! `undefined` and the simple values other than `false`, `true` and `null`.

/// Bounds applied by [`scan`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct ScanLimits {
    /// Largest input in bytes.
    pub(crate) max_bytes: usize,
    /// Most arrays, maps and tags open at once.
    pub(crate) max_depth: usize,
    /// Most data items in total.
    pub(crate) max_items: usize,
}

/// Why a scan refused its input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ScanError {
    TooLarge,
    TooDeep,
    TooManyItems,
    Truncated,
    TrailingBytes,
    Indefinite,
    InvalidUtf8,
    Malformed(&'static str),
    /// The parser refused input the scan accepted.
    Parser(String),
}

impl ScanError {
    /// A short description for error messages.
    pub(crate) fn describe(&self) -> String {
        match self {
            ScanError::TooLarge => "input too large".into(),
            ScanError::TooDeep => "nested too deep".into(),
            ScanError::TooManyItems => "too many data items".into(),
            ScanError::Truncated => "truncated".into(),
            ScanError::TrailingBytes => "trailing bytes after the data item".into(),
            ScanError::Indefinite => "indefinite-length item".into(),
            ScanError::InvalidUtf8 => "invalid UTF-8 in a text string".into(),
            ScanError::Malformed(what) => (*what).into(),
            ScanError::Parser(what) => what.clone(),
        }
    }
}

/// Checks that `bytes` is exactly one well-formed data item within `limits`.
pub(crate) fn scan(bytes: &[u8], limits: &ScanLimits) -> Result<(), ScanError> {
    if bytes.len() > limits.max_bytes {
        return Err(ScanError::TooLarge);
    }
    let mut pos = 0usize;
    let mut open: Vec<u64> = Vec::new();
    let mut items = 0usize;
    loop {
        items += 1;
        if items > limits.max_items {
            return Err(ScanError::TooManyItems);
        }
        let (major, arg) = head(bytes, &mut pos)?;
        let remaining = (bytes.len() - pos) as u64;
        let children = match major {
            0 | 1 | 7 => 0,
            2 | 3 => {
                if arg > remaining {
                    return Err(ScanError::Truncated);
                }
                let end = pos + arg as usize;
                if major == 3 && std::str::from_utf8(&bytes[pos..end]).is_err() {
                    return Err(ScanError::InvalidUtf8);
                }
                pos = end;
                0
            }
            // Every item takes at least one byte.
            4 if arg > remaining => return Err(ScanError::Truncated),
            4 => arg,
            5 => match arg.checked_mul(2) {
                Some(n) if n <= remaining => n,
                _ => return Err(ScanError::Truncated),
            },
            _ => 1, // 6: a tag wraps exactly one item
        };
        if children > 0 {
            open.push(children);
            if open.len() > limits.max_depth {
                return Err(ScanError::TooDeep);
            }
            continue;
        }
        // An item is complete: close every container it completes.
        loop {
            match open.last_mut() {
                None if pos == bytes.len() => return Ok(()),
                None => return Err(ScanError::TrailingBytes),
                Some(left) => {
                    *left -= 1;
                    if *left > 0 {
                        break;
                    }
                    open.pop();
                }
            }
        }
    }
}

/// Reads an item head; returns the major type and its argument. Float
/// payloads are skipped here; simple values other than false/true/null are
/// refused.
fn head(bytes: &[u8], pos: &mut usize) -> Result<(u8, u64), ScanError> {
    let initial = *bytes.get(*pos).ok_or(ScanError::Truncated)?;
    *pos += 1;
    let major = initial >> 5;
    let info = initial & 0x1f;
    let width = match info {
        0..=23 => 0,
        24 => 1,
        25 => 2,
        26 => 4,
        27 => 8,
        28..=30 => return Err(ScanError::Malformed("reserved additional information")),
        _ if major == 7 => return Err(ScanError::Malformed("unexpected break")),
        _ => return Err(ScanError::Indefinite),
    };
    let raw = bytes.get(*pos..*pos + width).ok_or(ScanError::Truncated)?;
    *pos += width;
    let arg = if width == 0 {
        u64::from(info)
    } else {
        raw.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b))
    };
    if major == 7 {
        match info {
            20..=22 | 25..=27 => {}
            23 => return Err(ScanError::Malformed("undefined is not supported")),
            _ => return Err(ScanError::Malformed("unsupported simple value")),
        }
    }
    Ok((major, arg))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const LIMITS: ScanLimits = ScanLimits {
        max_bytes: 1 << 20,
        max_depth: 16,
        max_items: 1000,
    };

    use crate::test_util::hex;

    #[test]
    fn accepts_well_formed_items() {
        // Hand-written from RFC 8949 Appendix A.
        for ok in [
            "00",
            "17",
            "1818",
            "190100",
            "1a000f4240",
            "1b000000e8d4a51000",
            "20",
            "3903e7",
            "40",
            "4401020304",
            "60",
            "6449455446",
            "80",
            "83010203",
            "8301820203820405",
            "a0",
            "a201020304",
            "a26161016162820203",
            "c074323031332d30332d32315432303a30343a30305a",
            "f4",
            "f5",
            "f6",
            "f93c00",
            "fa47c35000",
            "fb3ff199999999999a",
            "f97e00",
        ] {
            assert_eq!(scan(&hex(ok), &LIMITS), Ok(()), "{ok}");
        }
    }

    #[test]
    fn refuses_ill_formed_items() {
        let cases = [
            ("", ScanError::Truncated),
            ("18", ScanError::Truncated),
            ("1b0000", ScanError::Truncated),
            ("4401", ScanError::Truncated),
            ("83 0102", ScanError::Truncated),
            ("a1 01", ScanError::Truncated),
            ("c0", ScanError::Truncated),
            ("0000", ScanError::TrailingBytes),
            (
                "1c",
                ScanError::Malformed("reserved additional information"),
            ),
            ("5f 4101 ff", ScanError::Indefinite),
            ("9f ff", ScanError::Indefinite),
            ("bf ff", ScanError::Indefinite),
            ("ff", ScanError::Malformed("unexpected break")),
            ("f7", ScanError::Malformed("undefined is not supported")),
            ("f0", ScanError::Malformed("unsupported simple value")),
            ("f820", ScanError::Malformed("unsupported simple value")),
            ("62 c328", ScanError::InvalidUtf8),
            // Lengths far beyond the input: refused without allocation.
            ("5b ffffffffffffffff", ScanError::Truncated),
            ("9b ffffffffffffffff", ScanError::Truncated),
            ("bb 8000000000000000", ScanError::Truncated),
            ("9a 00010000 00", ScanError::Truncated),
        ];
        for (bytes, want) in cases {
            assert_eq!(scan(&hex(bytes), &LIMITS), Err(want), "{bytes}");
        }
    }

    #[test]
    fn refuses_nesting_bombs_quickly() {
        // 100 000 nested one-element arrays, then tags, then maps.
        for opener in [&[0x81u8][..], &[0xc6], &[0xa1, 0x00]] {
            let mut bomb: Vec<u8> = opener
                .iter()
                .copied()
                .cycle()
                .take(100_000 * opener.len())
                .collect();
            bomb.push(0);
            assert_eq!(scan(&bomb, &LIMITS), Err(ScanError::TooDeep));
        }
        let mut deep_ok = vec![0x81u8; 16];
        deep_ok.push(0);
        assert_eq!(scan(&deep_ok, &LIMITS), Ok(()));
        let mut too_deep = vec![0x81u8; 17];
        too_deep.push(0);
        assert_eq!(scan(&too_deep, &LIMITS), Err(ScanError::TooDeep));
    }

    #[test]
    fn refuses_too_many_items_and_too_many_bytes() {
        let mut wide = hex("9903e8");
        wide.extend(std::iter::repeat_n(0u8, 1000));
        assert_eq!(scan(&wide, &LIMITS), Err(ScanError::TooManyItems));
        let small = ScanLimits {
            max_bytes: 3,
            ..LIMITS
        };
        assert_eq!(scan(&hex("83010203"), &small), Err(ScanError::TooLarge));
    }

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = scan(&bytes, &LIMITS);
        }
    }
}
