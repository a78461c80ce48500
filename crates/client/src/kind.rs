//! Whether a conversation is a 1:1 or a group (GID-3).
//!
//! RCC.16 gives a 1:1 a UUIDv4 string as MLS group id and a group the RCS
//! group id, but deployed clients do not tell the two apart by the id:
//! they know it from the RCS session the conversation lives in (a group
//! chat goes through the conference focus, under the RCS group id). And
//! Crosslock gives its groups a UUIDv4 too (GID-1). So a device that
//! joins by Welcome (or rejoins) decides from what it can check, and only
//! ever errs towards "group" (docs/conversation-kind.md):
//!
//! - the Welcome's CPIM `To` is the anonymous URI of a group chat
//!   (`crosslock_wire::cpim::addressing`): a group. It is outside MLS, so
//!   it counts only in that direction: nobody can make a group a 1:1 with
//!   it;
//! - otherwise the authenticated group state decides: a 1:1 has an id of
//!   the 1:1 form (a hyphenated UUID string), at most two numbers in its
//!   roster, and none of the GroupContext extensions only a group has
//!   (0xF003–0xF007: icon and subject keys and commitments, the request
//!   for them).
//!
//! A conversation that is a 1:1 and later loses that shape (a third
//! number joins, a subject is set) becomes a group, for good: the kind
//! never goes back to 1:1.

use std::collections::BTreeSet;

use crosslock_wire::cpim::addressing;
use crosslock_wire::rcc16::extensions::{
    ICON_COMMITMENT, ICON_KEY, METADATA_KEYS_REQUESTED, SUBJECT_COMMITMENT, SUBJECT_KEY,
};
use mls_rs::ExtensionList;
use mls_rs::extension::ExtensionType;
use mls_rs::group::Member;

use crate::device::Device;
use crate::error::ClientError;
use crate::ids::ConversationId;
use crate::mls::identity::LeafIdentity;
use crate::records::{ConversationKind, ConversationRecord};

/// RCC.16 GroupContext extensions only a group chat has (§9.7: the group
/// icon and subject keys and commitments; the request for them).
const GROUP_ONLY: [u16; 5] = [
    ICON_KEY,
    ICON_COMMITMENT,
    SUBJECT_KEY,
    SUBJECT_COMMITMENT,
    METADATA_KEYS_REQUESTED,
];

/// How many distinct numbers a roster holds (leaves whose credential does
/// not decode count as one more each: never fewer than there may be).
pub(crate) fn numbers_in(members: impl Iterator<Item = Member>) -> usize {
    let mut numbers = BTreeSet::new();
    let mut unreadable = 0;
    for member in members {
        match LeafIdentity::of(&member.signing_identity) {
            Ok(leaf) => {
                numbers.insert(leaf.number);
            }
            Err(_) => unreadable += 1,
        }
    }
    numbers.len() + unreadable
}

/// GID-3: whether the authenticated group state allows a 1:1: an id of the
/// 1:1 form (a 36-character hyphenated UUID string, any case or version,
/// as peers mint them, GID-2), at most two numbers, no group-only
/// extension.
pub(crate) fn has_one_to_one_shape(
    id: &ConversationId,
    numbers: usize,
    extensions: &ExtensionList,
) -> bool {
    let bytes = id.as_bytes();
    let uuid_string = bytes.len() == 36 && uuid::Uuid::try_parse_ascii(bytes).is_ok();
    uuid_string
        && numbers <= 2
        && !GROUP_ONLY
            .iter()
            .any(|t| extensions.has_extension(ExtensionType::new(*t)))
}

/// GID-3: the kind of a conversation joined (or rejoined without a
/// record): a group when the envelope's `To` says group chat, or when the
/// group state does not have the 1:1 shape; otherwise a 1:1.
pub(crate) fn classify(
    id: &ConversationId,
    envelope_to: Option<&str>,
    numbers: usize,
    extensions: &ExtensionList,
) -> ConversationKind {
    let group_chat = envelope_to.is_some_and(addressing::is_anonymous);
    if group_chat || !has_one_to_one_shape(id, numbers, extensions) {
        ConversationKind::Group
    } else {
        ConversationKind::OneToOne
    }
}

/// GID-3: the CPIM `To` of every MLS body this device sends in a
/// conversation of `kind`: the anonymous URI in a group, none in a 1:1.
pub(crate) fn envelope_to(kind: ConversationKind) -> Option<String> {
    match kind {
        ConversationKind::Group => Some(addressing::group_chat_to()),
        ConversationKind::OneToOne => None,
    }
}

impl Device {
    /// GID-3: after the group state of `id` changed (a commit applied, a
    /// group replaced): a 1:1 that lost the 1:1 shape becomes a group in
    /// `record` (to be written by the caller). Returns whether it did. A
    /// group stays a group.
    pub(crate) fn settle_kind(
        &mut self,
        id: &ConversationId,
        record: &mut ConversationRecord,
    ) -> Result<bool, ClientError> {
        if record.kind == ConversationKind::Group {
            return Ok(false);
        }
        let group = self.group(id)?;
        let numbers = numbers_in(group.roster().members_iter());
        if has_one_to_one_shape(id, numbers, &group.context().extensions) {
            return Ok(false);
        }
        record.kind = ConversationKind::Group;
        tracing::info!(conversation = %id, numbers, "a 1:1 became a group");
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crosslock_wire::rcc16::extensions::SUBJECT_COMMITMENT;
    use mls_rs::Extension;

    fn id(text: &str) -> ConversationId {
        ConversationId::new(text.as_bytes().to_vec()).unwrap()
    }

    const UUID: &str = "0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d";

    /// GID-3: the 1:1 shape, and each thing that breaks it.
    #[test]
    fn only_the_one_to_one_shape_is_a_one_to_one() {
        let none = ExtensionList::new();
        assert!(has_one_to_one_shape(&id(UUID), 2, &none));
        assert!(has_one_to_one_shape(&id(&UUID.to_uppercase()), 2, &none));
        assert!(has_one_to_one_shape(&id(UUID), 1, &none));
        // A third number.
        assert!(!has_one_to_one_shape(&id(UUID), 3, &none));
        // An RCS group id: LineageOS mints 32 hex digits (a UUID without
        // hyphens), which parses as a UUID but is not the 1:1 form.
        assert!(!has_one_to_one_shape(&id(&UUID.replace('-', "")), 2, &none));
        assert!(!has_one_to_one_shape(&id("group-17"), 2, &none));
        assert!(!has_one_to_one_shape(&id(&format!("{{{UUID}}}")), 2, &none));
        // A subject commitment: only groups have subjects.
        let mut subject = ExtensionList::new();
        subject.set(Extension::new(
            ExtensionType::new(SUBJECT_COMMITMENT),
            vec![0x20; 33],
        ));
        assert!(!has_one_to_one_shape(&id(UUID), 2, &subject));
    }

    /// GID-3: the envelope can only make a conversation a group.
    #[test]
    fn the_envelope_says_group_never_one_to_one() {
        let none = ExtensionList::new();
        let group_to = addressing::group_chat_to();
        assert_eq!(
            classify(&id(UUID), Some(&group_to), 2, &none),
            ConversationKind::Group
        );
        assert_eq!(
            classify(&id(UUID), None, 2, &none),
            ConversationKind::OneToOne
        );
        // Whatever else the envelope says, three numbers are a group.
        for to in [None, Some("<tel:+15551230002>"), Some("")] {
            assert_eq!(classify(&id(UUID), to, 3, &none), ConversationKind::Group);
        }
        assert_eq!(
            envelope_to(ConversationKind::Group).as_deref(),
            Some("<sip:anonymous@anonymous.invalid>")
        );
        assert_eq!(envelope_to(ConversationKind::OneToOne), None);
    }
}
