//! MIMI message status reports (`crosslock_wire::status`).
#![no_main]

use crosslock_wire::status::MessageStatusReport;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(report) = MessageStatusReport::decode(data) {
        let encoded = report.encode();
        assert_eq!(MessageStatusReport::decode(&encoded).as_ref(), Ok(&report));
    }
});
