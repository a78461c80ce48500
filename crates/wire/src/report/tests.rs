//! Negative report tests: a hand-written report, forged and broken input,
//! the envelope, property tests.

use super::*;
use crate::cpim::{CpimError, Message};
use proptest::prelude::*;

use crate::test_util::hex;

/// `+15551230002` as CBOR text.
const NUMBER: &str = "6c 2b3135353531323330303032";

fn report_hex(version: &str, reason: &str, chain: &str) -> String {
    format!("89 {version} 4167 01 626d31 {reason} {NUMBER} 6164 1903e8 {chain}")
}

/// Written by hand from the CDDL in the module documentation.
fn known() -> (Vec<u8>, SignedNegativeReport) {
    let bytes = hex(&format!("82 {} 41aa", report_hex("01", "04", "81 423000")));
    let signed = SignedNegativeReport {
        report: NegativeReport {
            group_id: b"g".to_vec(),
            era: 1,
            failed_message_id: "m1".into(),
            reason: FailureReason::FailedToDecrypt,
            reporter_number: "+15551230002".into(),
            reporter_device: "d".into(),
            timestamp_ms: 1000,
            credential_chain: vec![vec![0x30, 0x00]],
        },
        signature: vec![0xaa],
    };
    (bytes, signed)
}

#[test]
fn known_report() {
    let (bytes, signed) = known();
    assert_eq!(signed.encode(), bytes);
    assert_eq!(SignedNegativeReport::decode(&bytes), Ok(signed.clone()));
    // The signed bytes are the label and the report alone.
    let mut want = SIGNATURE_LABEL.to_vec();
    want.extend(hex(&report_hex("01", "04", "81 423000")));
    assert_eq!(signed.report.signing_input(), want);
    assert_eq!(signed.report.encode(), want[SIGNATURE_LABEL.len()..]);
}

#[test]
fn reason_codes() {
    for code in 0..=5u64 {
        assert_eq!(
            FailureReason::from_code(code).map(|r| u64::from(r.code())),
            Some(code)
        );
    }
    assert_eq!(FailureReason::from_code(6), None);
}

#[test]
fn refuses_forged_and_broken_reports() {
    let signed = |report: String, sig: &str| hex(&format!("82 {report} {sig}"));
    let good = || report_hex("01", "04", "81 423000");
    let invalid = |s: &'static str| Err(ReportError::Invalid(s));
    let cases: Vec<(Vec<u8>, Result<SignedNegativeReport, ReportError>)> = vec![
        (
            signed(report_hex("02", "04", "81 423000"), "41aa"),
            Err(ReportError::UnsupportedVersion(2)),
        ),
        (
            signed(report_hex("01", "06", "81 423000"), "41aa"),
            Err(ReportError::UnknownReason(6)),
        ),
        (
            signed(report_hex("01", "04", "80"), "41aa"),
            invalid("credential chain must hold 1 to 4 certificates"),
        ),
        (
            signed(
                report_hex("01", "04", "85 4130 4130 4130 4130 4130"),
                "41aa",
            ),
            invalid("credential chain must hold 1 to 4 certificates"),
        ),
        (
            signed(report_hex("01", "04", "81 40"), "41aa"),
            invalid("a certificate must be 1 byte to 16 KiB"),
        ),
        (
            signed(good(), "40"),
            invalid("signature must be 1 to 144 bytes"),
        ),
        (
            signed(good(), "61aa"),
            Err(ReportError::Cbor("invalid UTF-8 in a text string".into())),
        ),
        (
            signed(good(), "60"),
            invalid("signature must be a byte string"),
        ),
        (
            hex(&format!("83 {} 41aa 00", good())),
            invalid("a signed report must be [report, signature]"),
        ),
        (
            hex(&format!("82 {} 41aa 00", good())),
            Err(ReportError::Cbor(
                "trailing bytes after the data item".into(),
            )),
        ),
        // Non-shortest integer (era as 0x1801).
        (
            hex(&format!(
                "82 89 01 4167 1801 626d31 04 {NUMBER} 6164 1903e8 81 423000 41aa"
            )),
            invalid("not deterministically encoded (RFC 8949 §4.2.1)"),
        ),
        // era above u32.
        (
            hex(&format!(
                "82 89 01 4167 1b0000000100000000 626d31 04 {NUMBER} 6164 1903e8 81 423000 41aa"
            )),
            invalid("era must be a u32"),
        ),
        // Reporter number without "+".
        (
            hex("82 89 01 4167 01 626d31 04 6b 3135353531323330303032 6164 1903e8 81 423000 41aa"),
            invalid("reporter number must be E.164"),
        ),
        // Failed message id with a space.
        (
            hex(&format!(
                "82 89 01 4167 01 62 6d20 04 {NUMBER} 6164 1903e8 81 423000 41aa"
            )),
            invalid("failed message id must be 1 to 128 visible ASCII characters"),
        ),
        // Empty group id.
        (
            hex(&format!(
                "82 89 01 40 01 626d31 04 {NUMBER} 6164 1903e8 81 423000 41aa"
            )),
            invalid("group id must be 1 to 255 bytes"),
        ),
        // A version 1 report with a tenth field.
        (
            hex(&format!(
                "82 8a 01 4167 01 626d31 04 {NUMBER} 6164 1903e8 81 423000 00 41aa"
            )),
            invalid("a version 1 report has 9 fields"),
        ),
        (
            hex("82 80 41aa"),
            invalid("a report must start with its version"),
        ),
        (hex("82 f6 41aa"), invalid("a report must be an array")),
        (vec![], Err(ReportError::Cbor("truncated".into()))),
    ];
    for (bytes, want) in cases {
        assert_eq!(SignedNegativeReport::decode(&bytes), want, "{bytes:02x?}");
    }
}

#[test]
fn refuses_oversized_input_before_parsing() {
    let mut bytes = vec![0x82, 0x5a, 0x00, 0x10, 0x00, 0x00];
    bytes.resize(MAX_REPORT_BYTES + 1, 0);
    assert_eq!(
        SignedNegativeReport::decode(&bytes),
        Err(ReportError::TooLarge)
    );
}

#[test]
fn envelope_round_trip_and_refusals() {
    let (_, signed) = known();
    let envelope = ReportEnvelope {
        message_id: "report-1".into(),
        report: signed,
    };
    let bytes = envelope.encode();
    assert_eq!(ReportEnvelope::decode(&bytes), Ok(envelope.clone()));
    let message = Message::decode(&bytes).unwrap();
    assert!(ReportEnvelope::is_report(&message));

    // Another prefix for the IMDN namespace is the same header.
    let mut renamed = message.clone();
    renamed.headers = vec![
        crate::cpim::Header::new("NS", "x <urn:ietf:params:imdn>"),
        crate::cpim::Header::new("x.message-id", "report-1"),
    ];
    assert_eq!(ReportEnvelope::from_message(renamed), Ok(envelope.clone()));

    let mut no_id = message.clone();
    no_id.headers.truncate(1);
    assert_eq!(
        ReportEnvelope::from_message(no_id),
        Err(CpimError::MissingHeader("imdn.Message-ID").into())
    );

    let mut twice = message.clone();
    twice
        .headers
        .push(crate::cpim::Header::new("imdn.Message-ID", "again"));
    assert!(matches!(
        ReportEnvelope::from_message(twice),
        Err(ReportError::Envelope(CpimError::DuplicateHeader(_)))
    ));

    let mut other_type = message.clone();
    other_type.content_headers[0].value = "message/mls".into();
    assert!(!ReportEnvelope::is_report(&other_type));
    assert!(matches!(
        ReportEnvelope::from_message(other_type),
        Err(ReportError::Envelope(CpimError::UnsupportedContentType(_)))
    ));

    let mut encoded = message.clone();
    encoded.content_headers.push(crate::cpim::Header::new(
        "Content-Transfer-Encoding",
        "base64",
    ));
    assert!(matches!(
        ReportEnvelope::from_message(encoded),
        Err(ReportError::Envelope(CpimError::InvalidHeader { .. }))
    ));

    let mut bad_body = message;
    bad_body.body = vec![0xff];
    bad_body.content_headers.truncate(1);
    assert!(matches!(
        ReportEnvelope::from_message(bad_body),
        Err(ReportError::Cbor(_))
    ));
}

prop_compose! {
    fn arb_report()(
        group_id in proptest::collection::vec(any::<u8>(), 1..=MAX_GROUP_ID_LEN),
        era: u32,
        failed_message_id in "[!-~]{1,128}",
        reason in 0u64..=5,
        reporter_number in "\\+[0-9]{1,15}",
        reporter_device in "[!-~]{1,64}",
        timestamp_ms: u64,
        credential_chain in proptest::collection::vec(
            proptest::collection::vec(any::<u8>(), 1..64), 1..=MAX_CHAIN_LEN),
        signature in proptest::collection::vec(any::<u8>(), 1..=MAX_SIGNATURE_BYTES),
    ) -> SignedNegativeReport {
        SignedNegativeReport {
            report: NegativeReport {
                group_id,
                era,
                failed_message_id,
                reason: FailureReason::from_code(reason).unwrap(),
                reporter_number,
                reporter_device,
                timestamp_ms,
                credential_chain,
            },
            signature,
        }
    }
}

proptest! {
    #[test]
    fn round_trip(signed in arb_report()) {
        prop_assert_eq!(signed.report.validate(), Ok(()));
        prop_assert_eq!(SignedNegativeReport::decode(&signed.encode()), Ok(signed));
    }

    #[test]
    fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = SignedNegativeReport::decode(&bytes);
        let _ = ReportEnvelope::decode(&bytes);
    }

    #[test]
    fn corrupted_reports_never_panic(signed in arb_report(), at: usize, byte: u8) {
        let mut bytes = signed.encode();
        let i = at % bytes.len();
        bytes[i] = byte;
        if let Ok(r) = SignedNegativeReport::decode(&bytes) {
            prop_assert_eq!(r.encode(), bytes);
        }
    }
}
