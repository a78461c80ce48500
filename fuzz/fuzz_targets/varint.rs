//! The MLS variable-length vector length prefix (RFC 9420 §2.1.2,
//! `crosslock_wire::varint`): minimal encodings only, so decode then encode
//! gives back the prefix bytes.
#![no_main]

use crosslock_wire::varint::{MAX_LEN, decode_len, encode_len};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((len, used)) = decode_len(data) {
        assert!(len <= MAX_LEN);
        assert!((1..=4).contains(&used) && used <= data.len());
        let mut out = Vec::new();
        encode_len(len, &mut out).expect("a decoded length encodes");
        assert_eq!(out, &data[..used]);
    }
    // And the other direction, for a length taken from the input.
    if data.len() >= 8 {
        let n = u64::from_le_bytes(data[..8].try_into().expect("8 bytes")) as usize;
        let mut out = Vec::new();
        match encode_len(n, &mut out) {
            Ok(()) => assert_eq!(decode_len(&out), Ok((n, out.len()))),
            Err(_) => assert!(n > MAX_LEN),
        }
    }
});
