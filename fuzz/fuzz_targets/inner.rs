//! The MIME entity inside an MLS application message
//! (`crosslock_wire::inner`).
#![no_main]

use crosslock_wire::inner::ApplicationPayload;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(payload) = ApplicationPayload::decode(data) {
        let _ = payload.media_type();
        let encoded = payload.encode();
        assert_eq!(ApplicationPayload::decode(&encoded).as_ref(), Ok(&payload));
    }
});
