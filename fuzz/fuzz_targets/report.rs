//! Signed negative delivery reports (canonical CBOR) and their CPIM
//! envelope (`crosslock_wire::report`).
#![no_main]

use crosslock_wire::cpim::Message;
use crosslock_wire::report::{ReportEnvelope, SignedNegativeReport};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (mode, body) = data.split_first().unwrap_or((&0, &[]));
    if mode % 2 == 0 {
        if let Ok(report) = SignedNegativeReport::decode(body) {
            report
                .report
                .validate()
                .expect("a decoded report validates");
            let _ = report.report.signing_input();
            let encoded = report.encode();
            assert_eq!(encoded, body, "a report is canonical CBOR only");
            assert_eq!(SignedNegativeReport::decode(&encoded).as_ref(), Ok(&report));
        }
    } else {
        if let Ok(message) = Message::decode(body) {
            let _ = ReportEnvelope::is_report(&message);
        }
        if let Ok(envelope) = ReportEnvelope::decode(body) {
            let again = ReportEnvelope::decode(&envelope.encode()).expect("re-decode");
            assert_eq!(again, envelope);
        }
    }
});
