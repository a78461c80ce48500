//! Tests of the RCC.16 envelope: a hand-written envelope, namespace resolution, forged and missing headers, property tests.

use super::*;
use crate::content_type;
use proptest::prelude::*;

const EA_B64: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

fn ea() -> [u8; 32] {
    core::array::from_fn(|i| i as u8)
}

fn sample() -> MlsEnvelope {
    MlsEnvelope {
        from: Some("<tel:+15551234567>".into()),
        to: Some("<tel:+15557654321>".into()),
        date_time: Some("2024-05-01T12:00:00.000Z".into()),
        message_id: "c7f0e3a2-5b6d-4e1f-8a9b-0c1d2e3f4a5b".into(),
        era: 1,
        epoch_authenticator: ea(),
        original_message_id: None,
        content_type: content_type::MESSAGE_MLS.into(),
        body: vec![0x00, 0x01, 0x0d, 0x0a, 0xff],
    }
}

/// The encoding of `sample()`, written by hand from RFC 3862 and RCC.16.
fn sample_bytes() -> Vec<u8> {
    let mut v = format!(
        "From: <tel:+15551234567>\r\n\
         To: <tel:+15557654321>\r\n\
         DateTime: 2024-05-01T12:00:00.000Z\r\n\
         NS: imdn <urn:ietf:params:imdn>\r\n\
         NS: mls <http://www.gsma.com/rcs/mls>\r\n\
         imdn.Message-ID: c7f0e3a2-5b6d-4e1f-8a9b-0c1d2e3f4a5b\r\n\
         mls.Era-ID: 1\r\n\
         mls.Epoch-Authenticator: {EA_B64}\r\n\
         \r\n\
         Content-Type: message/mls\r\n\
         Content-Length: 5\r\n\
         \r\n"
    )
    .into_bytes();
    v.extend_from_slice(&[0x00, 0x01, 0x0d, 0x0a, 0xff]);
    v
}

/// A minimal envelope with the given message header lines and Content-Type.
fn envelope_with(headers: &str, content_type: &str) -> Vec<u8> {
    format!("{headers}\r\nContent-Type: {content_type}\r\n\r\nBODY").into_bytes()
}

const GOOD_HEADERS: &str = "NS: imdn <urn:ietf:params:imdn>\r\n\
    NS: mls <http://www.gsma.com/rcs/mls>\r\n\
    imdn.Message-ID: id1\r\n\
    mls.Era-ID: 7\r\n\
    mls.Epoch-Authenticator: AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\r\n";

#[test]
fn encodes_known_envelope() {
    assert_eq!(
        String::from_utf8_lossy(&sample().encode()),
        String::from_utf8_lossy(&sample_bytes())
    );
    assert_eq!(MlsEnvelope::decode(&sample_bytes()), Ok(sample()));
}

#[test]
fn minimal_envelope_decodes() {
    let env = MlsEnvelope::decode(&envelope_with(GOOD_HEADERS, "message/mls-rcs-client")).unwrap();
    assert_eq!(env.from, None);
    assert_eq!(env.to, None);
    assert_eq!(env.date_time, None);
    assert_eq!(env.message_id, "id1");
    assert_eq!(env.era, 7);
    assert_eq!(env.epoch_authenticator, ea());
    assert_eq!(env.content_type, content_type::MLS_RCS_CLIENT);
    assert_eq!(env.body, b"BODY");
}

#[test]
fn resolves_prefixes_by_uri_and_names_case_insensitively() {
    // Another prefix for each namespace, declared after use, and the
    // `Era-Id` spelling some peers send.
    let headers = "gsma.Era-Id: 42\r\n\
        gsma.epoch-authenticator: AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\r\n\
        n.message-id: abc\r\n\
        NS: n <urn:ietf:params:imdn>\r\n\
        NS: gsma <http://www.gsma.com/rcs/mls>\r\n\
        NS: mls <urn:something-else>\r\n\
        mls.Era-ID: not-a-number-and-not-ours\r\n";
    let env = MlsEnvelope::decode(&envelope_with(headers, "Message/MLS-FT")).unwrap();
    assert_eq!(env.era, 42);
    assert_eq!(env.message_id, "abc");
    assert_eq!(env.content_type, content_type::MLS_FT);
}

/// A resend as Crosslock writes it: `mls.Original-Message-ID` after the
/// epoch authenticator (fact sheet §3c), written out by hand.
#[test]
fn resend_header_both_ways() {
    let env = MlsEnvelope {
        from: None,
        to: None,
        date_time: None,
        message_id: "MxAAECAwQFRgeICQoLDA0ODw".into(),
        era: 3,
        epoch_authenticator: ea(),
        original_message_id: Some("Mx========T=-==========w".into()),
        content_type: content_type::MESSAGE_MLS.into(),
        body: b"ct".to_vec(),
    };
    let bytes = format!(
        "NS: imdn <urn:ietf:params:imdn>\r\n\
         NS: mls <http://www.gsma.com/rcs/mls>\r\n\
         imdn.Message-ID: MxAAECAwQFRgeICQoLDA0ODw\r\n\
         mls.Era-ID: 3\r\n\
         mls.Epoch-Authenticator: {EA_B64}\r\n\
         mls.Original-Message-ID: Mx========T=-==========w\r\n\
         \r\n\
         Content-Type: message/mls\r\n\
         Content-Length: 2\r\n\
         \r\n\
         ct"
    )
    .into_bytes();
    assert_eq!(env.encode(), bytes);
    assert_eq!(MlsEnvelope::decode(&bytes), Ok(env));
}

/// An envelope in the style of an Apple capture: upper-case UUID ids,
/// `mls.Era-Id`, `MLS.original-message-id` in other cases (fact sheet §3c:
/// names matched case-insensitively).
#[test]
fn apple_style_envelope_decodes() {
    let bytes = format!(
        "From: <tel:+15551234567>\r\n\
         To: <tel:+15557654321>\r\n\
         NS: imdn <urn:ietf:params:imdn>\r\n\
         NS: MLS <http://www.gsma.com/rcs/mls>\r\n\
         imdn.Message-ID: C7F0E3A2-5B6D-4E1F-8A9B-0C1D2E3F4A5B\r\n\
         MLS.Era-Id: 1\r\n\
         MLS.Epoch-Authenticator: {EA_B64}\r\n\
         MLS.original-message-id: 0A1B2C3D-5B6D-4E1F-8A9B-0C1D2E3F4A5B\r\n\
         \r\n\
         Content-Type: message/mls\r\n\
         \r\n\
         x"
    )
    .into_bytes();
    let env = MlsEnvelope::decode(&bytes).unwrap();
    assert_eq!(env.message_id, "C7F0E3A2-5B6D-4E1F-8A9B-0C1D2E3F4A5B");
    assert_eq!(env.era, 1);
    assert_eq!(env.epoch_authenticator, ea());
    assert_eq!(
        env.original_message_id.as_deref(),
        Some("0A1B2C3D-5B6D-4E1F-8A9B-0C1D2E3F4A5B")
    );
    assert_eq!(env.body, b"x");
    // Both spellings of the era header, one at a time, decode alike.
    let era_id = String::from_utf8(bytes.clone())
        .unwrap()
        .replace("MLS.Era-Id", "MLS.Era-ID");
    assert_eq!(MlsEnvelope::decode(era_id.as_bytes()).unwrap().era, 1);
    // Two original ids, or a malformed one, are refused.
    let twice = String::from_utf8(bytes.clone()).unwrap().replace(
        "\r\n\r\nContent-Type",
        "\r\nMLS.Original-Message-ID: x\r\n\r\nContent-Type",
    );
    assert!(matches!(
        MlsEnvelope::decode(twice.as_bytes()),
        Err(CpimError::DuplicateHeader(_))
    ));
    let spaced = String::from_utf8(bytes)
        .unwrap()
        .replace("0A1B2C3D-5B6D-4E1F-8A9B-0C1D2E3F4A5B", "0A1B 2C3D");
    assert!(matches!(
        MlsEnvelope::decode(spaced.as_bytes()),
        Err(CpimError::InvalidHeader { .. })
    ));
}

#[test]
fn refuses_missing_headers() {
    let without = |skip: &str| {
        GOOD_HEADERS
            .split_inclusive("\r\n")
            .filter(|l| !l.starts_with(skip))
            .collect::<String>()
    };
    let cases = [
        ("mls.Era-ID", "mls.Era-ID"),
        ("mls.Epoch-Authenticator", "mls.Epoch-Authenticator"),
        ("imdn.Message-ID", "imdn.Message-ID"),
    ];
    for (skip, want) in cases {
        assert_eq!(
            MlsEnvelope::decode(&envelope_with(&without(skip), "message/mls")),
            Err(CpimError::MissingHeader(want)),
            "{skip}"
        );
    }
    // The GSMA headers in a namespace that is not the GSMA one count as missing.
    let wrong_ns = GOOD_HEADERS.replace("http://www.gsma.com/rcs/mls", "http://example.com/mls");
    assert_eq!(
        MlsEnvelope::decode(&envelope_with(&wrong_ns, "message/mls")),
        Err(CpimError::MissingHeader("mls.Era-ID"))
    );
}

#[test]
fn refuses_duplicates() {
    let dup_era = format!("{GOOD_HEADERS}mls.era-id: 7\r\n");
    assert_eq!(
        MlsEnvelope::decode(&envelope_with(&dup_era, "message/mls")),
        Err(CpimError::DuplicateHeader("mls.era-id".into()))
    );
    // Two prefixes bound to the GSMA URI do not allow two Era-IDs.
    let two_prefixes =
        format!("{GOOD_HEADERS}NS: g <http://www.gsma.com/rcs/mls>\r\ng.Era-ID: 8\r\n");
    assert_eq!(
        MlsEnvelope::decode(&envelope_with(&two_prefixes, "message/mls")),
        Err(CpimError::DuplicateHeader("g.Era-ID".into()))
    );
    let dup_from = format!("From: <tel:+1>\r\n{GOOD_HEADERS}From: <tel:+2>\r\n");
    assert_eq!(
        MlsEnvelope::decode(&envelope_with(&dup_from, "message/mls")),
        Err(CpimError::DuplicateHeader("From".into()))
    );
    let dup_ns = format!("{GOOD_HEADERS}NS: mls <http://www.gsma.com/rcs/mls>\r\n");
    assert_eq!(
        MlsEnvelope::decode(&envelope_with(&dup_ns, "message/mls")),
        Err(CpimError::DuplicateHeader("NS mls".into()))
    );
}

#[test]
fn refuses_malformed_values() {
    let cases = [
        (
            "mls.Era-ID: 7",
            "mls.Era-ID: 4294967296",
            "mls.Era-ID",
            "era is out of range",
        ),
        (
            "mls.Era-ID: 7",
            "mls.Era-ID: -1",
            "mls.Era-ID",
            "era is not a decimal number",
        ),
        (
            "mls.Era-ID: 7",
            "mls.Era-ID: 07",
            "mls.Era-ID",
            "era has a leading zero",
        ),
        (
            "mls.Era-ID: 7",
            "mls.Era-ID: ",
            "mls.Era-ID",
            "era is not a decimal number",
        ),
        (
            "mls.Epoch-Authenticator: AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
            "mls.Epoch-Authenticator: AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==",
            "mls.Epoch-Authenticator",
            "epoch authenticator is not base64 of 32 bytes",
        ),
        (
            "mls.Epoch-Authenticator: AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
            "mls.Epoch-Authenticator: AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd",
            "mls.Epoch-Authenticator",
            "epoch authenticator is not base64 of 32 bytes",
        ),
        (
            "imdn.Message-ID: id1",
            "imdn.Message-ID: has space",
            "imdn.Message-ID",
            "message id is not 1 to 128 visible ASCII characters",
        ),
        (
            "imdn.Message-ID: id1",
            "imdn.Message-ID: ",
            "imdn.Message-ID",
            "message id is not 1 to 128 visible ASCII characters",
        ),
    ];
    for (from, to, name, reason) in cases {
        let headers = GOOD_HEADERS.replace(from, to);
        assert_eq!(
            MlsEnvelope::decode(&envelope_with(&headers, "message/mls")),
            Err(CpimError::InvalidHeader {
                name: name.into(),
                reason
            }),
            "{to}"
        );
    }
    let long_id = GOOD_HEADERS.replace("id1", &"x".repeat(129));
    assert!(matches!(
        MlsEnvelope::decode(&envelope_with(&long_id, "message/mls")),
        Err(CpimError::InvalidHeader { .. })
    ));
}

#[test]
fn refuses_undeclared_prefix_and_other_content_types() {
    let undeclared = format!("{GOOD_HEADERS}x.Other: 1\r\n");
    assert_eq!(
        MlsEnvelope::decode(&envelope_with(&undeclared, "message/mls")),
        Err(CpimError::InvalidHeader {
            name: "x.Other".into(),
            reason: "namespace prefix not declared"
        })
    );
    for ct in [
        "text/plain",
        "message/mls; charset=utf-8",
        "message/mlsx",
        "application/mimi-content",
    ] {
        assert_eq!(
            MlsEnvelope::decode(&envelope_with(GOOD_HEADERS, ct)),
            Err(CpimError::UnsupportedContentType(ct.into()))
        );
    }
    let base64_body = format!(
        "{GOOD_HEADERS}\r\nContent-Type: message/mls\r\nContent-Transfer-Encoding: base64\r\n\r\nQk9EWQ=="
    );
    assert!(matches!(
        MlsEnvelope::decode(base64_body.as_bytes()),
        Err(CpimError::InvalidHeader { .. })
    ));
}

#[test]
fn a_forged_envelope_cannot_smuggle_headers_through_encode() {
    let mut env = sample();
    env.from = Some("<tel:+1>\r\nmls.Era-ID: 99".into());
    let back = MlsEnvelope::decode(&env.encode()).unwrap();
    assert_eq!(back.era, 1);
    assert_eq!(back.from.as_deref(), Some("<tel:+1>  mls.Era-ID: 99"));
}

fn arb_opt_value() -> impl Strategy<Value = Option<String>> {
    proptest::option::of("[ -~\u{a0}-\u{2fff}]{0,40}")
}

prop_compose! {
    fn arb_envelope()(
        from in arb_opt_value(),
        to in arb_opt_value(),
        date_time in arb_opt_value(),
        message_id in "[!-~]{1,128}",
        era: u32,
        epoch_authenticator: [u8; 32],
        original_message_id in proptest::option::of("[!-~]{1,128}"),
        ct in 0..content_type::MLS_TYPES.len(),
        body in proptest::collection::vec(any::<u8>(), 0..300),
    ) -> MlsEnvelope {
        MlsEnvelope {
            from, to, date_time, message_id, era, epoch_authenticator, original_message_id,
            content_type: content_type::MLS_TYPES[ct].to_owned(),
            body,
        }
    }
}

proptest! {
    #[test]
    fn round_trip(env in arb_envelope()) {
        prop_assert_eq!(MlsEnvelope::decode(&env.encode()), Ok(env));
    }

    #[test]
    fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = MlsEnvelope::decode(&bytes);
    }

    #[test]
    fn corrupted_envelopes_never_panic(env in arb_envelope(), at: usize, byte: u8) {
        let mut bytes = env.encode();
        let i = at % bytes.len();
        bytes[i] = byte;
        let _ = MlsEnvelope::decode(&bytes);
    }
}
