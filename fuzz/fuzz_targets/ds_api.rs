//! Delivery-service JSON bodies (`crosslock_wire::api::ds`), parsed as the
//! DS routes parse them (`serde_json::from_slice`, crates/ds/src/routes.rs),
//! then the envelopes inside decoded as the DS and devices decode them
//! (CPIM `MlsEnvelope`, `ReceiptEnvelope`). A parsed body re-serialises to
//! an equal value.
#![no_main]

use crosslock_fuzz::parse_json;
use crosslock_wire::api::ds::*;
use crosslock_wire::api::files::UploadAnswer;
use crosslock_wire::api::provider::ProviderInfo;
use crosslock_wire::api::{B64, ErrorBody};
use crosslock_wire::cpim::MlsEnvelope;
use crosslock_wire::report::ReceiptEnvelope;
use libfuzzer_sys::fuzz_target;

fn envelope(bytes: &B64) {
    if let Ok(e) = MlsEnvelope::decode(&bytes.0) {
        assert_eq!(MlsEnvelope::decode(&e.encode()).as_ref(), Ok(&e));
    }
}

fn report(bytes: &B64) {
    let _ = ReceiptEnvelope::decode(&bytes.0);
}

fn commit(c: &SubmitCommit) {
    envelope(&c.commit);
    if let Some(w) = &c.welcome {
        envelope(w);
    }
}

fuzz_target!(|data: &[u8]| {
    let (mode, body) = data.split_first().unwrap_or((&0, &[]));
    match mode % 14 {
        0 => {
            if let Some(c) = parse_json::<SubmitCommit>(body) {
                commit(&c);
            }
        }
        1 => {
            if let Some(m) = parse_json::<SubmitMessage>(body) {
                envelope(&m.envelope);
            }
        }
        2 => {
            if let Some(r) = parse_json::<SubmitReport>(body) {
                report(&r.envelope);
            }
        }
        3 => {
            let _ = parse_json::<AckRequest>(body);
        }
        4 => {
            let _ = parse_json::<PushRegistration>(body);
        }
        5 => {
            let _ = parse_json::<CatchUpRequest>(body);
        }
        6 => {
            if let Some(f) = parse_json::<ForwardedSubmission>(body) {
                if let Some(c) = &f.commit {
                    commit(c);
                }
                if let Some(m) = &f.message {
                    envelope(&m.envelope);
                }
                if let Some(r) = &f.report {
                    report(&r.envelope);
                }
            }
        }
        7 => {
            if let Some(f) = parse_json::<FederatedDeliveries>(body) {
                for d in &f.deliveries {
                    envelope(&d.envelope);
                }
            }
        }
        8 => {
            if let Some(page) = parse_json::<InboxPage>(body) {
                for item in &page.items {
                    envelope(&item.envelope);
                }
            }
        }
        9 => {
            if let Some(c) = parse_json::<CatchUp>(body) {
                for item in &c.commits {
                    envelope(&item.envelope);
                }
            }
        }
        10 => {
            let _ = parse_json::<CommitAccepted>(body);
            let _ = parse_json::<MessageAccepted>(body);
            let _ = parse_json::<WakeUp>(body);
        }
        11 => {
            if let Some(e) = parse_json::<ErrorBody>(body)
                && let Some(reason) = ServerReason::from_token(&e.error)
            {
                assert_eq!(reason.token(), e.error);
            }
        }
        12 => {
            let _ = parse_json::<UploadAnswer>(body);
        }
        _ => {
            let _ = parse_json::<ProviderInfo>(body);
        }
    }
});
