//! Delivery-service JSON bodies (`crosslock_wire::api::ds`), parsed as the
//! DS routes parse them (`serde_json::from_slice`, crates/ds/src/routes.rs),
//! then the envelopes inside decoded as the DS and devices decode them
//! (CPIM `MlsEnvelope`, `ReportEnvelope`). A parsed body re-serialises to
//! an equal value.
#![no_main]

use std::fmt::Debug;

use crosslock_wire::api::ds::*;
use crosslock_wire::api::files::UploadAnswer;
use crosslock_wire::api::provider::ProviderInfo;
use crosslock_wire::api::{B64, ErrorBody};
use crosslock_wire::cpim::MlsEnvelope;
use crosslock_wire::report::ReportEnvelope;
use libfuzzer_sys::fuzz_target;
use serde::Serialize;
use serde::de::DeserializeOwned;

fn parse<T: Serialize + DeserializeOwned + PartialEq + Debug>(body: &[u8]) -> Option<T> {
    let value: T = serde_json::from_slice(body).ok()?;
    let json = serde_json::to_vec(&value).expect("serialise");
    let again: T = serde_json::from_slice(&json).expect("re-parse");
    assert_eq!(again, value);
    Some(value)
}

fn envelope(bytes: &B64) {
    if let Ok(e) = MlsEnvelope::decode(&bytes.0) {
        assert_eq!(MlsEnvelope::decode(&e.encode()).as_ref(), Ok(&e));
    }
}

fn report(bytes: &B64) {
    let _ = ReportEnvelope::decode(&bytes.0);
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
            if let Some(c) = parse::<SubmitCommit>(body) {
                commit(&c);
            }
        }
        1 => {
            if let Some(m) = parse::<SubmitMessage>(body) {
                envelope(&m.envelope);
            }
        }
        2 => {
            if let Some(r) = parse::<SubmitReport>(body) {
                report(&r.envelope);
            }
        }
        3 => {
            let _ = parse::<AckRequest>(body);
        }
        4 => {
            let _ = parse::<PushRegistration>(body);
        }
        5 => {
            let _ = parse::<CatchUpRequest>(body);
        }
        6 => {
            if let Some(f) = parse::<ForwardedSubmission>(body) {
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
            if let Some(f) = parse::<FederatedDeliveries>(body) {
                for d in &f.deliveries {
                    envelope(&d.envelope);
                }
            }
        }
        8 => {
            if let Some(page) = parse::<InboxPage>(body) {
                for item in &page.items {
                    envelope(&item.envelope);
                }
            }
        }
        9 => {
            if let Some(c) = parse::<CatchUp>(body) {
                for item in &c.commits {
                    envelope(&item.envelope);
                }
            }
        }
        10 => {
            let _ = parse::<CommitAccepted>(body);
            let _ = parse::<MessageAccepted>(body);
            let _ = parse::<WakeUp>(body);
        }
        11 => {
            if let Some(e) = parse::<ErrorBody>(body)
                && let Some(reason) = ServerReason::from_token(&e.error)
            {
                assert_eq!(reason.token(), e.error);
            }
        }
        12 => {
            let _ = parse::<UploadAnswer>(body);
        }
        _ => {
            let _ = parse::<ProviderInfo>(body);
        }
    }
});
