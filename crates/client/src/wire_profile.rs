//! Which formats a conversation speaks above MLS: the deployed RCC.16
//! profile, or that plus Crosslock's extras.
//!
//! Every conversation speaks the deployed profile (`../shared/rcc16-deployed.md`
//! in the repository's design notes; docs/rcc16-conformance.md): framed MIME
//! bodies, `text/plain` texts, signed IMDN receipts, protobuf FileInfo.
//! Crosslock's extras (MIMI content, MIMI message status and typing inside
//! MLS, so the server learns nothing of them) are negotiated: a device lists
//! the private-use extension type 0xFC4C
//! ([`crosslock_wire::rcc16::CROSSLOCK_EXTRAS`]) in its leaf's
//! capabilities, and a conversation uses the extras only while **every**
//! leaf lists it (rule WIRE-NEG-1 in docs/validation-rules.md). A member
//! running the deployed profile alone turns the whole conversation back to
//! the deployed formats; the app sees which in
//! [`crate::SecurityState::wire_profile`], and the commit that changes it
//! says so in [`crate::CommitEvent::wire_profile_changed`] (WIRE-NEG-3).

use serde::{Deserialize, Serialize};

use crate::mls::MlsGroup;
use crate::mls::capabilities::crosslock_extras;

/// The formats a conversation uses above MLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum WireProfile {
    /// RCC.16 as deployed only: `text/plain` texts, signed IMDN receipts,
    /// no typing. At least one member does not advertise Crosslock's extras.
    Deployed,
    /// The deployed profile plus MIMI content, MIMI message status and
    /// typing inside MLS: every member advertises 0xFC4C.
    CrosslockExtras,
}

impl WireProfile {
    /// A short stable name (CLI and logs).
    pub fn name(self) -> &'static str {
        match self {
            WireProfile::Deployed => "rcc16-deployed",
            WireProfile::CrosslockExtras => "rcc16-deployed+crosslock",
        }
    }

    /// Whether MIMI content, MIMI status and typing may be sent.
    pub fn extras(self) -> bool {
        self == WireProfile::CrosslockExtras
    }
}

/// WIRE-NEG-1: the profile of a group, from every current leaf.
pub(crate) fn profile_of(group: &MlsGroup) -> WireProfile {
    profile_of_roster(group.roster())
}

/// WIRE-NEG-1 over any roster (a group's, or the state before a commit).
pub(crate) fn profile_of_roster(roster: mls_rs::group::Roster<'_>) -> WireProfile {
    let all = roster
        .members_iter()
        .all(|m| crosslock_extras(&m.capabilities));
    if all {
        WireProfile::CrosslockExtras
    } else {
        WireProfile::Deployed
    }
}
