//! MIMI content (`crosslock_wire::mimi`): decode, validate, and decode what
//! the encoder makes of a decoded value.
#![no_main]

use crosslock_wire::mimi::MimiContent;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(content) = MimiContent::decode(data) {
        content.validate().expect("a decoded value validates");
        let encoded = content.encode();
        let again = MimiContent::decode(&encoded).expect("re-decode of encoded content");
        assert_eq!(again, content);
        assert_eq!(again.encode(), encoded, "encoding is not deterministic");
        let _ = content.text_body();
        let _ = content.message_id("tel:+15551234567", "urn:uuid:room");
    }
});
