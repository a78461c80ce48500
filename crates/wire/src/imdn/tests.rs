//! IMDN documents: the deployed shapes both ways, every token, the arm
//! rule, hostile inputs.

use super::*;

const T: u64 = 1_796_623_200_000; // 2026-12-07T06:00:00.000Z
const ID: &str = "MxEBESExQVFhcYGRobHB0eHw";

fn doc(notification: &str) -> String {
    format!(
        "<imdn xmlns=\"urn:ietf:params:xml:ns:imdn\"><message-id>{ID}</message-id>\
         <datetime>2026-12-07T06:00:00.000Z</datetime>{notification}</imdn>"
    )
}

fn both_ways(imdn: Imdn, xml: &str) {
    assert_eq!(String::from_utf8(imdn.encode()).unwrap(), xml);
    assert_eq!(Imdn::decode(xml.as_bytes()).unwrap(), imdn);
}

#[test]
fn negative_delivery_vector_as_in_section_5() {
    both_ways(
        Imdn::new(
            ID,
            T,
            Notification::Delivery(DeliveryStatus::Failed(Some(FailureArm::Client(
                ClientReason::FailedToDecrypt,
            )))),
        ),
        &doc(
            "<delivery-notification><status><failed><mls-client-failure-reason>\
              <failed-to-decrypt/></mls-client-failure-reason></failed></status>\
              </delivery-notification>",
        ),
    );
}

#[test]
fn positive_delivery_and_display_vectors() {
    both_ways(
        Imdn::new(ID, T, Notification::Delivery(DeliveryStatus::Delivered)),
        &doc("<delivery-notification><status><delivered/></status></delivery-notification>"),
    );
    both_ways(
        Imdn::new(ID, T, Notification::Display(DisplayStatus::Displayed)),
        &doc("<display-notification><status><displayed/></status></display-notification>"),
    );
    both_ways(
        Imdn::new(
            ID,
            T,
            Notification::Delivery(DeliveryStatus::Failed(Some(FailureArm::Server(
                ServerReason::IncorrectEpoch,
            )))),
        ),
        &doc(
            "<delivery-notification><status><failed><mls-server-failure-reason>\
              <incorrect-epoch/></mls-server-failure-reason></failed></status>\
              </delivery-notification>",
        ),
    );
}

#[test]
fn every_token_round_trips() {
    for (i, r) in ClientReason::ALL.into_iter().enumerate() {
        assert_eq!(usize::from(r.code()), i + 1);
        assert_eq!(ClientReason::from_code(r.code()), Some(r));
        assert_eq!(ClientReason::from_token(r.token()), Some(r));
        assert_eq!(r.is_sendable(), r.code() <= 5);
        let imdn = Imdn::new(
            ID,
            T,
            Notification::Delivery(DeliveryStatus::Failed(Some(FailureArm::Client(r)))),
        );
        assert_eq!(Imdn::decode(&imdn.encode()).unwrap(), imdn);
    }
    assert_eq!(ClientReason::from_code(0), None);
    assert_eq!(ClientReason::from_code(14), None);
    assert_eq!(ClientReason::FailedToDecrypt.token(), "failed-to-decrypt");
    for r in ServerReason::ALL {
        assert_eq!(ServerReason::from_token(r.token()), Some(r));
        let imdn = Imdn::new(
            ID,
            T,
            Notification::Delivery(DeliveryStatus::Failed(Some(FailureArm::Server(r)))),
        );
        assert_eq!(Imdn::decode(&imdn.encode()).unwrap(), imdn);
    }
    for s in [
        DeliveryStatus::Delivered,
        DeliveryStatus::Failed(None),
        DeliveryStatus::Forbidden,
        DeliveryStatus::Error,
    ] {
        let imdn = Imdn::new(ID, T, Notification::Delivery(s));
        assert_eq!(Imdn::decode(&imdn.encode()).unwrap(), imdn);
    }
    for s in [
        DisplayStatus::Displayed,
        DisplayStatus::Forbidden,
        DisplayStatus::Error,
    ] {
        let imdn = Imdn::new(ID, T, Notification::Display(s));
        assert_eq!(Imdn::decode(&imdn.encode()).unwrap(), imdn);
    }
}

#[test]
fn tolerant_of_whitespace_declaration_comments_and_extensions() {
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<imdn xmlns=\"urn:ietf:params:xml:ns:imdn\" \
         xmlns:x=\"urn:example\">\n  <message-id> {ID} </message-id>\n  \
         <datetime>2026-12-07T07:00:00+01:00</datetime>\n  <recipient-uri>tel:+15551230001</recipient-uri>\n  \
         <x:extra><x:deep>ignored</x:deep></x:extra><!-- c -->\n  <display-notification>\
         <status><displayed/></status></display-notification>\n</imdn>\n"
    );
    let imdn = Imdn::decode(xml.as_bytes()).unwrap();
    assert_eq!(imdn.message_id, ID);
    assert_eq!(imdn.timestamp_ms(), Some(T));
    assert_eq!(imdn.recipient_uri.as_deref(), Some("tel:+15551230001"));
    assert_eq!(
        imdn.notification,
        Notification::Display(DisplayStatus::Displayed)
    );
}

#[test]
fn arm_rule() {
    // A reason arm on a display notification.
    let e = Imdn::decode(
        doc(
            "<display-notification><status><displayed><mls-client-failure-reason>\
             <failed-to-decrypt/></mls-client-failure-reason></displayed></status>\
             </display-notification>",
        )
        .as_bytes(),
    );
    assert!(matches!(e, Err(ImdnError::ArmNotAllowed(_))), "{e:?}");
    // On delivered.
    let e = Imdn::decode(
        doc(
            "<delivery-notification><status><delivered><mls-client-failure-reason>\
             <failed-to-decrypt/></mls-client-failure-reason></delivered></status>\
             </delivery-notification>",
        )
        .as_bytes(),
    );
    assert!(matches!(e, Err(ImdnError::ArmNotAllowed(_))), "{e:?}");
    // Two arms.
    let e = Imdn::decode(
        doc(
            "<delivery-notification><status><failed><mls-client-failure-reason>\
             <failed-to-decrypt/></mls-client-failure-reason><mls-server-failure-reason>\
             <incorrect-epoch/></mls-server-failure-reason></failed></status>\
             </delivery-notification>",
        )
        .as_bytes(),
    );
    assert!(matches!(e, Err(ImdnError::ArmNotAllowed(_))), "{e:?}");
    // Encrypted.
    let imdn = Imdn::new(
        ID,
        T,
        Notification::Delivery(DeliveryStatus::Failed(Some(FailureArm::Client(
            ClientReason::InvalidCommit,
        )))),
    );
    assert!(imdn.check_arm_rule(false).is_ok());
    assert!(matches!(
        imdn.check_arm_rule(true),
        Err(ImdnError::ArmNotAllowed(_))
    ));
    assert!(
        Imdn::new(ID, T, Notification::Delivery(DeliveryStatus::Delivered))
            .check_arm_rule(true)
            .is_ok()
    );
}

#[test]
fn hostile_documents_are_refused() {
    let bad = |xml: &str| Imdn::decode(xml.as_bytes()).unwrap_err();
    let delivered = "<delivery-notification><status><delivered/></status></delivery-notification>";
    assert_eq!(
        bad(&format!(
            "<!DOCTYPE imdn [<!ENTITY a \"b\">]>{}",
            doc(delivered)
        )),
        ImdnError::Dtd
    );
    assert!(matches!(
        bad(&doc(delivered).replace(ID, "&a;")),
        ImdnError::UndefinedEntity(_)
    ));
    assert_eq!(bad("<imdn xmlns=\"urn:other\"/>"), ImdnError::WrongRoot);
    assert!(matches!(
        bad(&doc(delivered).replace("</imdn>", "")),
        ImdnError::Xml(_) | ImdnError::Malformed(_)
    ));
    assert_eq!(
        bad(&doc(&format!("{delivered}{delivered}"))),
        ImdnError::DuplicateElement("notification".into())
    );
    assert_eq!(bad(&doc("")), ImdnError::MissingElement("notification"));
    assert!(matches!(
        bad(&doc(
            "<processing-notification><status><processed/></status></processing-notification>"
        )),
        ImdnError::Unsupported(_)
    ));
    assert!(matches!(
        bad(&doc(
            "<delivery-notification><status><failed><mls-client-failure-reason>\
             <made-up/></mls-client-failure-reason></failed></status></delivery-notification>"
        )),
        ImdnError::UnknownReason(_)
    ));
    assert!(matches!(
        bad(&doc(
            "<delivery-notification><status><displayed/></status></delivery-notification>"
        )),
        ImdnError::UnexpectedElement(_)
    ));
    assert!(matches!(
        bad(&doc(delivered).replace("2026-12-07T06:00:00.000Z", "yesterday")),
        ImdnError::InvalidValue {
            element: "datetime",
            ..
        }
    ));
    assert!(matches!(
        bad(&doc(delivered).replace(ID, "has space")),
        ImdnError::InvalidValue {
            element: "message-id",
            ..
        }
    ));
    assert_eq!(
        bad(&"x".repeat(MAX_DOCUMENT_BYTES + 1)),
        ImdnError::TooLarge
    );
    let deep = format!(
        "{}{}",
        "<x:a xmlns:x=\"urn:e\">".repeat(9),
        "</x:a>".repeat(9)
    );
    assert_eq!(bad(&doc(&deep)), ImdnError::TooDeep);
    assert_eq!(
        Imdn::decode(&[0x3c, 0xff]).unwrap_err(),
        ImdnError::InvalidUtf8
    );
    assert!(matches!(
        bad(&format!(
            "<?xml version=\"1.0\" encoding=\"UTF-16\"?>{}",
            doc(delivered)
        )),
        ImdnError::UnsupportedEncoding
    ));
    assert!(matches!(
        bad(&doc(delivered).replace("<delivered/>", "<delivered>x</delivered>")),
        ImdnError::Malformed(_)
    ));
}

#[test]
fn datetime_format_and_parse() {
    assert_eq!(format_datetime(T + 7), "2026-12-07T06:00:00.007Z");
    assert_eq!(parse_datetime_ms("2026-12-07T06:00:00.007Z"), Some(T + 7));
    assert_eq!(parse_datetime_ms("1969-12-31T23:59:59Z"), None);
    assert_eq!(parse_datetime_ms("2026-12-07"), None);
}
