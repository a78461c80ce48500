//! isComposing typing indicators, RFC 3994 XML (`crosslock_wire::typing`).
#![no_main]

use crosslock_wire::typing::IsComposing;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(indicator) = IsComposing::decode(data) {
        let encoded = indicator.encode();
        assert_eq!(IsComposing::decode(&encoded).as_ref(), Ok(&indicator));
    }
});
