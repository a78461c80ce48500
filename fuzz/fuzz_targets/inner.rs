//! The framed MIME entity inside an MLS application message
//! (`crosslock_wire::inner`).
#![no_main]

use crosslock_wire::inner::ApplicationPayload;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(framed) = ApplicationPayload::decode(data) {
        let _ = framed.payload.media_type();
        let encoded = framed.payload.encode(framed.generation);
        let again = ApplicationPayload::decode(&encoded).expect("re-encoded frame decodes");
        assert_eq!(again.generation, framed.generation);
        assert_eq!(again.payload.media_type(), framed.payload.media_type());
        assert_eq!(again.payload.body, framed.payload.body);
        assert_eq!(again.payload.disposition, framed.payload.disposition);
        assert_eq!(again.payload.encode(again.generation), encoded);
    }
});
