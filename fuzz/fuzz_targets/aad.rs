//! RCC.16 PrivateMessage authenticated data (`crosslock_wire::aad`). The
//! encoding is strict (minimal lengths, no trailing bytes), so a decoded
//! value re-encodes to exactly the input.
#![no_main]

use crosslock_wire::aad::AuthenticatedData;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(aad) = AuthenticatedData::decode(data) {
        aad.validate().expect("a decoded value validates");
        let encoded = aad.encode();
        assert_eq!(encoded, data, "authenticated data is not canonical");
        assert_eq!(AuthenticatedData::decode(&encoded), Ok(aad));
    }
});
