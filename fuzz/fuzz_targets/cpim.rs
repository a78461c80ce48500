//! CPIM messages (RFC 3862) and the RCC.16 `mls` envelope
//! (`crosslock_wire::cpim`): decode, and re-decode what the encoder makes.
#![no_main]

use crosslock_wire::cpim::{Limits, Message, MlsEnvelope, is_valid_message_id};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = Message::decode(data) {
        let again = Message::decode(&message.encode()).expect("re-decode of an encoded message");
        assert_eq!(again, message);
        let _ = message.content_type();
        let _ = message.namespaced_header(crosslock_wire::cpim::GSMA_MLS_NAMESPACE, "Era-ID");
        match MlsEnvelope::from_message(message) {
            Ok(envelope) => assert_eq!(MlsEnvelope::decode(data).ok(), Some(envelope)),
            Err(_) => assert!(MlsEnvelope::decode(data).is_err()),
        }
    }
    if let Ok(envelope) = MlsEnvelope::decode(data) {
        assert!(is_valid_message_id(&envelope.message_id));
        let again = MlsEnvelope::decode(&envelope.encode()).expect("re-decode of an envelope");
        assert_eq!(again, envelope);
    }
    // Tight limits must refuse, never panic.
    let tight = Limits {
        max_header_bytes: 64,
        max_headers: 3,
        max_body: 16,
    };
    let _ = Message::decode_with(data, &tight);
    let _ = MlsEnvelope::decode_with(data, &tight);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = is_valid_message_id(text);
    }
});
