//! The `Range` header of a download (RFC 9110 §14.2), so an interrupted
//! download resumes. One range only: `bytes=N-`, `bytes=N-M` or the suffix
//! form `bytes=-N`; anything else is answered 416.

use crate::error::DsError;

/// Bytes `start..=end` of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ByteRange {
    pub(super) start: u64,
    pub(super) end: u64,
}

impl ByteRange {
    /// How many bytes.
    pub(super) fn len(self) -> u64 {
        self.end - self.start + 1
    }
}

/// The range `header` asks for in a file of `size` bytes: `None` for the
/// whole file (no header), an error (416) for one that is malformed, has
/// several ranges, or lies wholly beyond the end.
pub(super) fn parse(header: Option<&[u8]>, size: u64) -> Result<Option<ByteRange>, DsError> {
    let Some(header) = header else {
        return Ok(None);
    };
    let unsatisfiable = DsError::RangeNotSatisfiable { size };
    let text = std::str::from_utf8(header).map_err(|_| DsError::RangeNotSatisfiable { size })?;
    let Some((unit, spec)) = text.split_once('=') else {
        return Err(unsatisfiable);
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") {
        return Err(unsatisfiable);
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Err(unsatisfiable);
    };
    let range = match (number(first), number(last)) {
        // bytes=-N: the last N bytes.
        (None, Some(n)) if first.is_empty() && n > 0 && size > 0 => ByteRange {
            start: size - n.min(size),
            end: size - 1,
        },
        // bytes=N-
        (Some(start), None) if last.is_empty() && start < size => ByteRange {
            start,
            end: size - 1,
        },
        // bytes=N-M (M past the end means the end)
        (Some(start), Some(end)) if start <= end && start < size => ByteRange {
            start,
            end: end.min(size - 1),
        },
        _ => return Err(unsatisfiable),
    };
    Ok(Some(range))
}

/// A decimal number of digits only.
fn number(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(header: &str, size: u64) -> Option<(u64, u64)> {
        match parse(Some(header.as_bytes()), size) {
            Ok(Some(r)) => Some((r.start, r.end)),
            Ok(None) => unreachable!(),
            Err(DsError::RangeNotSatisfiable { size: s }) if s == size => None,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn single_ranges() {
        assert_eq!(parse(None, 10).unwrap(), None);
        assert_eq!(range("bytes=0-", 10), Some((0, 9)));
        assert_eq!(range("bytes=4-", 10), Some((4, 9)));
        assert_eq!(range("bytes=9-", 10), Some((9, 9)));
        assert_eq!(range("bytes=2-5", 10), Some((2, 5)));
        assert_eq!(range("bytes=2-2", 10), Some((2, 2)));
        assert_eq!(range("bytes=2-100", 10), Some((2, 9)));
        assert_eq!(range("bytes=-3", 10), Some((7, 9)));
        assert_eq!(range("bytes=-30", 10), Some((0, 9)));
        assert_eq!(range("Bytes = 1-2", 10), Some((1, 2)));
    }

    #[test]
    fn everything_else_is_416() {
        for bad in [
            "bytes=10-",
            "bytes=10-12",
            "bytes=5-4",
            "bytes=-0",
            "bytes=-",
            "bytes=1-2,4-5",
            "bytes=+1-2",
            "bytes= 1 - 2",
            "bytes=18446744073709551616-",
            "items=0-1",
            "bytes 0-1",
            "bytes=a-b",
            "",
        ] {
            assert_eq!(range(bad, 10), None, "{bad}");
        }
        assert_eq!(range("bytes=-1", 0), None);
        assert_eq!(range("bytes=0-", 0), None);
    }
}
