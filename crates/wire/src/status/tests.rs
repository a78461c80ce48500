//! Message status tests: a hand-written report, forged and broken input, property tests.

use super::*;
use proptest::prelude::*;

use crate::test_util::hex;

const ORIGINAL: &str = "017ce54837404c3696e0c747b985cb172716d0ed0a3d249ca63ace7d82a096f4";
const REPLY: &str = "015354973c2b65ca937bf1e035ae53a5ab80e947afa43d46920d4202e5cc0b27";

fn id(s: &str) -> MessageId {
    MessageId::from_slice(&hex(s)).unwrap()
}

/// The report of draft-mahy-mimi-message-status §5 (first two entries) in
/// the timestamped wrapper, timestamp 1644387225019 ms, written by hand.
fn known() -> (Vec<u8>, MessageStatusReport) {
    let bytes = hex(&format!(
        "82 1b 0000017edd1dcdbb 82 82 5820 {ORIGINAL} 02 82 5820 {REPLY} 01"
    ));
    let report = MessageStatusReport {
        timestamp_ms: 1_644_387_225_019,
        statuses: vec![
            PerMessageStatus {
                message_id: id(ORIGINAL),
                status: MessageStatus::Read,
            },
            PerMessageStatus {
                message_id: id(REPLY),
                status: MessageStatus::Delivered,
            },
        ],
    };
    (bytes, report)
}

#[test]
fn known_report() {
    let (bytes, report) = known();
    assert_eq!(report.encode(), bytes);
    assert_eq!(MessageStatusReport::decode(&bytes), Ok(report));
    let empty = MessageStatusReport::default();
    assert_eq!(empty.encode(), hex("82 00 80"));
    assert_eq!(MessageStatusReport::decode(&hex("82 00 80")), Ok(empty));
}

#[test]
fn status_values() {
    for v in 0..=6u64 {
        assert_eq!(
            MessageStatus::from_u64(v).map(|s| u64::from(s.to_u8())),
            Some(v)
        );
    }
    assert_eq!(MessageStatus::from_u64(7), None);
}

#[test]
fn refuses_forged_and_broken_reports() {
    let (bytes, _) = known();
    let entry = |status: &str| hex(&format!("82 00 81 82 5820 {ORIGINAL} {status}"));
    let invalid = |s: &'static str| Err(StatusError::Invalid(s));
    let cases: Vec<(Vec<u8>, Result<MessageStatusReport, StatusError>)> = vec![
        (entry("07"), Err(StatusError::UnknownStatus(7))),
        (entry("18ff"), Err(StatusError::UnknownStatus(255))),
        (entry("20"), invalid("status must be a uint")),
        (
            hex(&format!("82 00 81 82 5820 {ORIGINAL}")),
            Err(StatusError::Cbor("truncated".into())),
        ),
        (
            hex(&format!("82 00 81 82 581f {}", &ORIGINAL[2..]))
                .into_iter()
                .chain([2])
                .collect(),
            invalid("messageId must be 32 bytes"),
        ),
        (
            hex(&format!("82 00 81 83 5820 {ORIGINAL} 02 02")),
            invalid("an entry must be [messageId, status]"),
        ),
        (
            hex("81 00"),
            invalid("a report must be [timestamp, statuses]"),
        ),
        (hex("82 20 80"), invalid("timestamp must be a uint")),
        (hex("82 00 a0"), invalid("statuses must be an array")),
        (hex("80"), invalid("a report must be [timestamp, statuses]")),
        // The latest draft's bare list is not this format.
        (
            hex(&format!("81 82 5820 {ORIGINAL} 02")),
            invalid("a report must be [timestamp, statuses]"),
        ),
        // Non-deterministic: timestamp 0 written as 18 00; entry status as 18 02.
        (
            hex("82 1800 80"),
            invalid("not deterministically encoded (RFC 8949 §4.2.1)"),
        ),
        (
            entry("1802"),
            invalid("not deterministically encoded (RFC 8949 §4.2.1)"),
        ),
        (
            hex("82 00 9f ff"),
            Err(StatusError::Cbor("indefinite-length item".into())),
        ),
        (
            hex("82 00 9b ffffffffffffffff"),
            Err(StatusError::Cbor("truncated".into())),
        ),
        (
            [bytes.clone(), vec![0]].concat(),
            Err(StatusError::Cbor(
                "trailing bytes after the data item".into(),
            )),
        ),
        (
            hex("82 00 81 81 81 00"),
            Err(StatusError::Cbor("nested too deep".into())),
        ),
    ];
    for (i, (input, want)) in cases.into_iter().enumerate() {
        assert_eq!(MessageStatusReport::decode(&input), want, "case {i}");
    }
    for n in 0..bytes.len() {
        assert!(MessageStatusReport::decode(&bytes[..n]).is_err());
    }
}

#[test]
fn entry_limit() {
    let entry = PerMessageStatus {
        message_id: MessageId([1; 32]),
        status: MessageStatus::Read,
    };
    let full = MessageStatusReport {
        timestamp_ms: u64::MAX,
        statuses: vec![entry; MAX_ENTRIES],
    };
    assert_eq!(
        MessageStatusReport::decode(&full.encode()).as_ref(),
        Ok(&full)
    );
    let over = MessageStatusReport {
        timestamp_ms: 0,
        statuses: vec![entry; MAX_ENTRIES + 1],
    };
    assert!(matches!(
        MessageStatusReport::decode(&over.encode()),
        Err(StatusError::TooMany | StatusError::TooLarge)
    ));
    let mut bomb = vec![0x81u8; 100_000];
    bomb.push(0);
    assert!(MessageStatusReport::decode(&bomb).is_err());
}

fn arb_status() -> impl Strategy<Value = MessageStatus> {
    (0u64..7).prop_map(|v| MessageStatus::from_u64(v).unwrap())
}

prop_compose! {
    fn arb_report()(
        timestamp_ms: u64,
        statuses in proptest::collection::vec(
            (any::<[u8; 32]>(), arb_status())
                .prop_map(|(id, status)| PerMessageStatus { message_id: MessageId(id), status }),
            0..20,
        ),
    ) -> MessageStatusReport {
        MessageStatusReport { timestamp_ms, statuses }
    }
}

proptest! {
    #[test]
    fn round_trip(report in arb_report()) {
        prop_assert_eq!(MessageStatusReport::decode(&report.encode()), Ok(report));
    }

    #[test]
    fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = MessageStatusReport::decode(&bytes);
    }

    #[test]
    fn corrupted_reports_never_panic(report in arb_report(), at: usize, byte: u8) {
        let mut bytes = report.encode();
        let i = at % bytes.len();
        bytes[i] = byte;
        if let Ok(r) = MessageStatusReport::decode(&bytes) {
            prop_assert_eq!(r.encode(), bytes);
        }
    }
}
