//! Signed receipts (`crosslock_wire::report`, `crosslock_wire::imdn`):
//! mode 0 the `rcs_signature` derived content, mode 1 the receipt's CPIM
//! envelope, mode 2 a bare IMDN document.
#![no_main]

use crosslock_wire::cpim::Message;
use crosslock_wire::imdn::Imdn;
use crosslock_wire::report::{DerivedContent, ReceiptEnvelope};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (mode, body) = data.split_first().unwrap_or((&0, &[]));
    match mode % 3 {
        0 => {
            if let Ok(content) = DerivedContent::decode(body) {
                // The negative form's optional u16 may be absent on input;
                // the encoding always has it, and decodes to the same.
                let encoded = content.encode();
                assert_eq!(DerivedContent::decode(&encoded).as_ref(), Ok(&content));
            }
        }
        1 => {
            if let Ok(message) = Message::decode(body) {
                let _ = ReceiptEnvelope::is_receipt(&message);
            }
            if let Ok(envelope) = ReceiptEnvelope::decode(body) {
                let again = ReceiptEnvelope::decode(&envelope.encode()).expect("re-decode");
                assert_eq!(again, envelope);
            }
        }
        _ => {
            if let Ok(imdn) = Imdn::decode(body) {
                let again = Imdn::decode(&imdn.encode()).expect("re-decode");
                assert_eq!(again, imdn);
                let _ = DerivedContent::of("fuzz-receipt", 1, &imdn).encode();
            }
        }
    }
});
