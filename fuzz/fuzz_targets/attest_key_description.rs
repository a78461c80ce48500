//! The Android KeyDescription extension (OID 1.3.6.1.4.1.11129.2.1.17) DER
//! parser (`crosslock_attest::KeyDescription`), and its JSON view.
#![no_main]

use crosslock_attest::KeyDescription;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(kd) = KeyDescription::from_der(data) {
        let json = kd.to_json();
        assert!(json.is_object());
    }
});
