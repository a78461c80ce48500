//! The few protobuf primitives a FileInfo needs (protobuf encoding spec,
//! "Message Structure"): varints, tags, length-delimited and fixed32
//! fields. Hand-written because the format is three fixed messages: a
//! strict reader of ~100 lines is easier to audit than a generated one, and
//! it lets us refuse what a general parser accepts (non-minimal varints,
//! group wire types, unbounded unknown fields).

use super::error::FileInfoError;

/// Protobuf wire types (the low 3 bits of a tag).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WireType {
    Varint,
    I64,
    Len,
    I32,
}

impl WireType {
    fn bits(self) -> u64 {
        match self {
            WireType::Varint => 0,
            WireType::I64 => 1,
            WireType::Len => 2,
            WireType::I32 => 5,
        }
    }
}

/// Unknown fields skipped per message at most (FILE-PB-4).
pub(crate) const MAX_UNKNOWN_FIELDS: usize = 16;

/// A cursor over untrusted bytes.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes, pos: 0 }
    }

    /// The next field's number and wire type, or `None` at the end.
    /// FILE-PB-2: field number 0 and the group / reserved wire types (3, 4,
    /// 6, 7) are refused.
    pub(crate) fn field(&mut self) -> Result<Option<(u64, WireType)>, FileInfoError> {
        if self.pos == self.bytes.len() {
            return Ok(None);
        }
        let tag = self.varint()?;
        let number = tag >> 3;
        if number == 0 || number > u64::from(u32::MAX >> 3) {
            return Err(FileInfoError::Protobuf("invalid field number"));
        }
        let wire = match tag & 7 {
            0 => WireType::Varint,
            1 => WireType::I64,
            2 => WireType::Len,
            5 => WireType::I32,
            other => return Err(FileInfoError::WireType(other as u8)),
        };
        Ok(Some((number, wire)))
    }

    /// FILE-PB-1: a varint of at most 10 bytes that fits 64 bits, in its
    /// shortest form (no trailing `0x80 … 0x00` continuation).
    pub(crate) fn varint(&mut self) -> Result<u64, FileInfoError> {
        let mut value = 0u64;
        for i in 0..10 {
            let b = *self
                .bytes
                .get(self.pos)
                .ok_or(FileInfoError::Protobuf("truncated varint"))?;
            self.pos += 1;
            if i == 9 && b > 1 {
                return Err(FileInfoError::Protobuf("varint over 64 bits"));
            }
            value |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                if b == 0 && i > 0 {
                    return Err(FileInfoError::Protobuf("non-minimal varint"));
                }
                return Ok(value);
            }
        }
        Err(FileInfoError::Protobuf("varint over 10 bytes"))
    }

    /// A length-delimited payload.
    pub(crate) fn len_delimited(&mut self) -> Result<&'a [u8], FileInfoError> {
        let len = self.varint()?;
        let rest = self.bytes.len() - self.pos;
        if len > rest as u64 {
            return Err(FileInfoError::Protobuf("length past the end"));
        }
        let out = &self.bytes[self.pos..self.pos + len as usize];
        self.pos += len as usize;
        Ok(out)
    }

    /// `n` raw bytes.
    fn raw(&mut self, n: usize) -> Result<&'a [u8], FileInfoError> {
        let out = self
            .bytes
            .get(self.pos..self.pos + n)
            .ok_or(FileInfoError::Protobuf("truncated fixed-width field"))?;
        self.pos += n;
        Ok(out)
    }

    /// A fixed32 (little-endian).
    pub(crate) fn fixed32(&mut self) -> Result<u32, FileInfoError> {
        let b = self.raw(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Skips an unknown field's value (protobuf: unknown fields are
    /// ignored); the caller bounds how many.
    pub(crate) fn skip(&mut self, wire: WireType) -> Result<(), FileInfoError> {
        match wire {
            WireType::Varint => self.varint().map(|_| ()),
            WireType::I64 => self.raw(8).map(|_| ()),
            WireType::Len => self.len_delimited().map(|_| ()),
            WireType::I32 => self.raw(4).map(|_| ()),
        }
    }
}

/// Appends a varint.
pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends a tag.
pub(crate) fn put_tag(out: &mut Vec<u8>, field: u64, wire: WireType) {
    put_varint(out, (field << 3) | wire.bits());
}

/// Appends a length-delimited field.
pub(crate) fn put_bytes(out: &mut Vec<u8>, field: u64, bytes: &[u8]) {
    put_tag(out, field, WireType::Len);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints() {
        for (bytes, v) in [
            (&[0x00][..], 0u64),
            (&[0x01], 1),
            (&[0x7f], 127),
            (&[0x80, 0x01], 128),
            (&[0xac, 0x02], 300),
            (
                &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
                u64::MAX,
            ),
        ] {
            assert_eq!(Reader::new(bytes).varint(), Ok(v), "{bytes:02x?}");
            let mut out = Vec::new();
            put_varint(&mut out, v);
            assert_eq!(out, bytes);
        }
        for bad in [
            &[][..],
            &[0x80],
            &[0x80, 0x00],
            &[0x81, 0x80, 0x00],
            &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02],
            &[0xff; 11],
        ] {
            assert!(
                matches!(Reader::new(bad).varint(), Err(FileInfoError::Protobuf(_))),
                "{bad:02x?}"
            );
        }
    }

    #[test]
    fn tags_and_skips() {
        // Field 0, groups (3, 4) and the reserved types (6, 7) are refused.
        assert!(Reader::new(&[0x02]).field().is_err());
        for t in [3u8, 4, 6, 7] {
            assert_eq!(
                Reader::new(&[0x08 | t]).field(),
                Err(FileInfoError::WireType(t))
            );
        }
        let mut r = Reader::new(&[0x09, 1, 2, 3, 4, 5, 6, 7, 8, 0x15, 1, 2, 3, 4]);
        assert_eq!(r.field(), Ok(Some((1, WireType::I64))));
        r.skip(WireType::I64).unwrap();
        assert_eq!(r.field(), Ok(Some((2, WireType::I32))));
        assert_eq!(r.fixed32(), Ok(0x0403_0201));
        assert_eq!(r.field(), Ok(None));
        // A length past the end and short fixed fields are refused.
        assert!(Reader::new(&[0x05, 1]).len_delimited().is_err());
        assert!(Reader::new(&[1, 2, 3]).fixed32().is_err());
        assert!(Reader::new(&[1, 2, 3]).skip(WireType::I64).is_err());
    }
}
