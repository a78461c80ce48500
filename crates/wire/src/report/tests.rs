//! Byte-exact vectors of the derived content (§5 "Signature"), both ways,
//! and the receipt envelope.
//!
//! The vectors were computed by hand from the §5 layout and checked with a
//! short Python computation:
//!
//! ```text
//! op(b)           = bytes([len(b)]) + b            # one-byte MLS varint: ids are 24 bytes
//! outer(t, inner) = u16(1) + op(own) + u32(era) + bytes([t]) + inner + b"\x00"
//! delivery inner  = u16(1) + u16(status) + op(reported) + u16(reason) [+ u16(0) if failed]
//! display inner   = u16(1) + u16(status) + op(reported)
//! ```

use super::*;
use crate::imdn::{ClientReason, DeliveryStatus, DisplayStatus, FailureArm, Imdn, Notification};
use crate::test_util::hex;

/// The receipt's own id and the reported message's id, `Mx` + 22 base64url
/// characters as LineageOS mints them (§3a).
const OWN: &str = "MxAAECAwQFBgcICQoLDA0ODw";
const REPORTED: &str = "MxEBESExQVFhcYGRobHB0eHw";
const OWN_HEX: &str = "18 4d7841414543417751464267634943516f4c4441304f4477";
const REPORTED_HEX: &str = "18 4d7845424553457851564668635947526f62484230654877";

fn vector(fields: &[&str]) -> Vec<u8> {
    hex(&fields.join(" "))
}

fn check(content: DerivedContent, bytes: Vec<u8>) {
    assert_eq!(hex_of(&content.encode()), hex_of(&bytes));
    assert_eq!(DerivedContent::decode(&bytes).unwrap(), content);
}

fn hex_of(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn delivery(status: DeliveryStatus) -> Imdn {
    Imdn::new(REPORTED, 0, Notification::Delivery(status))
}

#[test]
fn delivery_positive_vector() {
    let bytes = vector(&[
        "0001",
        OWN_HEX,
        "00000013",
        "01", // version, own id, era 19, type delivery
        "0001",
        "0001",
        REPORTED_HEX,
        "0000", // version, delivered, id, reason unset
        "00",
    ]);
    let content = DerivedContent::of(OWN, 19, &delivery(DeliveryStatus::Delivered));
    assert_eq!(
        content.imdn,
        VerifiableImdn::Delivery(VerifiableDeliveryImdn {
            status: 1,
            reported_message_id: REPORTED.into(),
            failure_reason: 0,
        })
    );
    check(content, bytes);
}

#[test]
fn delivery_negative_vector_with_reason_4() {
    let bytes = vector(&[
        "0001",
        OWN_HEX,
        "00000013",
        "01", //
        "0001",
        "0002",
        REPORTED_HEX,
        "0004", // failed, failure_to_decrypt
        "0000", // the "Option None" of the negative form (device-tested)
        "00",
    ]);
    let imdn = delivery(DeliveryStatus::Failed(Some(FailureArm::Client(
        ClientReason::FailedToDecrypt,
    ))));
    let content = DerivedContent::of(OWN, 19, &imdn);
    assert_eq!(
        content.imdn,
        VerifiableImdn::Delivery(VerifiableDeliveryImdn {
            status: 2,
            reported_message_id: REPORTED.into(),
            failure_reason: 4,
        })
    );
    check(content, bytes);
}

#[test]
fn display_vector() {
    let bytes = vector(&[
        "0001",
        OWN_HEX,
        "00000013",
        "02", // type display
        "0001",
        "0001",
        REPORTED_HEX, // displayed, no failure field
        "00",
    ]);
    let imdn = Imdn::new(REPORTED, 0, Notification::Display(DisplayStatus::Displayed));
    let content = DerivedContent::of(OWN, 19, &imdn);
    assert_eq!(
        content.imdn,
        VerifiableImdn::Display(VerifiableDisplayImdn {
            status: 1,
            message_id: REPORTED.into(),
        })
    );
    check(content, bytes);
}

#[test]
fn video_chat_vector() {
    let bytes = hex("0001 02 0801");
    let v = VerifiableVideoChatMessage {
        proto: vec![0x08, 0x01],
    };
    assert_eq!(v.encode(), bytes);
    assert_eq!(VerifiableVideoChatMessage::decode(&bytes).unwrap(), v);
    assert!(VerifiableVideoChatMessage::decode(&hex("0001 03 0801")).is_err());
    assert!(VerifiableVideoChatMessage::decode(&hex("0001 02 0801 00")).is_err());
}

#[test]
fn negative_form_without_the_extra_u16_decodes_too() {
    let bytes = vector(&[
        "0001",
        OWN_HEX,
        "00000013",
        "01",
        "0001",
        "0002",
        REPORTED_HEX,
        "0004",
        "00",
    ]);
    let d = DerivedContent::decode(&bytes).unwrap();
    assert!(matches!(d.imdn, VerifiableImdn::Delivery(ref v) if v.failure_reason == 4));
}

#[test]
fn server_reasons_and_google_tokens_sign_reason_0() {
    for arm in [
        FailureArm::Server(crate::imdn::ServerReason::IncorrectEpoch),
        FailureArm::Client(ClientReason::ControlMessageFailed),
    ] {
        let d = DerivedContent::of(OWN, 1, &delivery(DeliveryStatus::Failed(Some(arm))));
        assert!(matches!(d.imdn, VerifiableImdn::Delivery(ref v) if v.failure_reason == 0));
    }
    let d = DerivedContent::of(
        OWN,
        1,
        &delivery(DeliveryStatus::Failed(Some(FailureArm::Client(
            ClientReason::ResentMessageForMeFailedToDecrypt,
        )))),
    );
    assert!(matches!(d.imdn, VerifiableImdn::Delivery(ref v) if v.failure_reason == 6));
}

#[test]
fn hostile_derived_content_is_refused() {
    let good = DerivedContent::of(
        OWN,
        19,
        &delivery(DeliveryStatus::Failed(Some(FailureArm::Client(
            ClientReason::FailedToDecrypt,
        )))),
    )
    .encode();
    // Every truncation, except the one that drops the optional u16 and
    // leaves the short negative form (the same fields).
    for n in 0..good.len() {
        if n == good.len() - 2 {
            assert_eq!(
                DerivedContent::decode(&good[..n]),
                DerivedContent::decode(&good)
            );
            continue;
        }
        assert!(DerivedContent::decode(&good[..n]).is_err(), "prefix {n}");
    }
    // Trailing byte.
    let mut long = good.clone();
    long.push(0);
    assert!(DerivedContent::decode(&long).is_err());
    // Version 2.
    let mut v2 = good.clone();
    v2[1] = 2;
    assert_eq!(
        DerivedContent::decode(&v2),
        Err(ReportError::UnsupportedVersion(2))
    );
    // Non-minimal varint for the 24-byte id: 40 18.
    let mut nm = vec![0, 1, 0x40, 0x18];
    nm.extend_from_slice(&good[3..]);
    assert!(matches!(
        DerivedContent::decode(&nm),
        Err(ReportError::Varint(_))
    ));
    // Unknown type, status, reason.
    let type_at = 2 + 25 + 4;
    let mut t = good.clone();
    t[type_at] = 3;
    assert_eq!(DerivedContent::decode(&t), Err(ReportError::UnknownType(3)));
    let mut s = good.clone();
    s[type_at + 4] = 5;
    assert_eq!(
        DerivedContent::decode(&s),
        Err(ReportError::UnknownStatus(5))
    );
    let reason_at = type_at + 5 + 25 + 1;
    let mut r = good.clone();
    r[reason_at] = 7;
    assert_eq!(
        DerivedContent::decode(&r),
        Err(ReportError::UnknownReason(7))
    );
    // A reason on a delivered status.
    let mut d = good.clone();
    d[type_at + 4] = 1;
    assert!(matches!(
        DerivedContent::decode(&d),
        Err(ReportError::Invalid(_))
    ));
    // An id with a space.
    let mut sp = good.clone();
    sp[5] = b' ';
    assert!(matches!(
        DerivedContent::decode(&sp),
        Err(ReportError::Invalid(_))
    ));
    // Oversize.
    assert_eq!(
        DerivedContent::decode(&vec![0; 2000]),
        Err(ReportError::TooLarge)
    );
}

fn envelope() -> ReceiptEnvelope {
    ReceiptEnvelope {
        message_id: OWN.into(),
        date_time: None,
        era: 19,
        signature: vec![0, 1, 0, 1, 0xaa],
        imdn: Imdn::new(
            REPORTED,
            1_796_623_200_000,
            Notification::Delivery(DeliveryStatus::Failed(Some(FailureArm::Client(
                ClientReason::FailedToDecrypt,
            )))),
        ),
    }
}

#[test]
fn envelope_vector_both_ways() {
    let body = "<imdn xmlns=\"urn:ietf:params:xml:ns:imdn\"><message-id>MxEBESExQVFhcYGRobHB0eHw</message-id><datetime>2026-12-07T06:00:00.000Z</datetime><delivery-notification><status><failed><mls-client-failure-reason><failed-to-decrypt/></mls-client-failure-reason></failed></status></delivery-notification></imdn>";
    let expected = format!(
        "NS: imdn <urn:ietf:params:imdn>\r\nNS: mls <http://www.gsma.com/rcs/mls>\r\n\
         imdn.Message-ID: {OWN}\r\nmls.MLS-Derived-Content-Signature: AAEAAao=\r\n\
         mls.Era-ID: 19\r\n\r\nContent-Type: message/imdn+xml\r\n\
         Content-Disposition: notification\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let e = envelope();
    assert_eq!(String::from_utf8(e.encode()).unwrap(), expected);
    assert_eq!(ReceiptEnvelope::decode(expected.as_bytes()).unwrap(), e);
}

fn with_headers(edit: impl FnOnce(&mut crate::cpim::Message)) -> Vec<u8> {
    let mut m = crate::cpim::Message::decode(&envelope().encode()).unwrap();
    edit(&mut m);
    m.encode()
}

#[test]
fn envelope_refusals() {
    use crate::cpim::{CpimError, Header};
    let refused = |bytes: Vec<u8>| ReceiptEnvelope::decode(&bytes).unwrap_err();
    // Epoch-Authenticator and Original-Message-ID never ride on a receipt.
    let e = refused(with_headers(|m| {
        m.headers.push(Header::new(
            "mls.Epoch-Authenticator",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        ))
    }));
    assert!(matches!(
        e,
        ReportError::Envelope(CpimError::InvalidHeader { .. })
    ));
    let e = refused(with_headers(|m| {
        m.headers
            .push(Header::new("mls.Original-Message-ID", "MxOriginal"))
    }));
    assert!(matches!(
        e,
        ReportError::Envelope(CpimError::InvalidHeader { .. })
    ));
    // Missing signature, missing era, bad era, bad base64.
    let e = refused(with_headers(|m| {
        m.headers.retain(|h| !h.name.contains("Signature"))
    }));
    assert!(matches!(
        e,
        ReportError::Envelope(CpimError::MissingHeader(_))
    ));
    let e = refused(with_headers(|m| {
        m.headers.retain(|h| !h.name.contains("Era"))
    }));
    assert!(matches!(
        e,
        ReportError::Envelope(CpimError::MissingHeader(_))
    ));
    let e = refused(with_headers(|m| {
        for h in &mut m.headers {
            if h.name.contains("Era") {
                h.value = "019".into();
            }
        }
    }));
    assert!(matches!(
        e,
        ReportError::Envelope(CpimError::InvalidHeader { .. })
    ));
    let e = refused(with_headers(|m| {
        for h in &mut m.headers {
            if h.name.contains("Signature") {
                h.value = "AAEAAao".into();
            }
        }
    }));
    assert!(matches!(
        e,
        ReportError::Envelope(CpimError::InvalidHeader { .. })
    ));
    // Wrong disposition, wrong type.
    let e = refused(with_headers(|m| {
        m.content_headers
            .retain(|h| h.name != "Content-Disposition")
    }));
    assert!(matches!(
        e,
        ReportError::Envelope(CpimError::InvalidHeader { .. })
    ));
    let e = refused(with_headers(|m| {
        m.content_headers[0].value = "text/plain".into()
    }));
    assert!(matches!(
        e,
        ReportError::Envelope(CpimError::UnsupportedContentType(_))
    ));
    // Apple's Era-Id spelling and a charset parameter are accepted.
    let ok = with_headers(|m| {
        for h in &mut m.headers {
            if h.name == "mls.Era-ID" {
                h.name = "mls.Era-Id".into();
            }
        }
        m.content_headers[0].value = "message/imdn+xml; charset=UTF-8".into();
    });
    assert_eq!(ReceiptEnvelope::decode(&ok).unwrap(), envelope());
    // A body that is not an IMDN.
    let e = refused(with_headers(|m| {
        m.body = b"<x/>".to_vec();
        m.content_headers.retain(|h| h.name != "Content-Length");
    }));
    assert!(matches!(e, ReportError::Imdn(_)));
}
