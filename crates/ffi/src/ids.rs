//! Conversation ids as the app holds them: one string per conversation,
//! and one conversation per string (rule FFI-ID-1 in
//! docs/validation-rules.md).
//!
//! An MLS group id is 1 to 255 arbitrary bytes (GID-2). Every id Crosslock
//! devices mint is a lowercase UUIDv4 string (GID-1), and the app sees it
//! as that text; any other id is `0x` and its bytes in lowercase hex. A
//! UUID never contains `x`, so the two forms cannot meet, and a group id
//! that is itself the text `0x…` is written in hex like every other
//! non-UUID id: it cannot pass for another group's id. Parsing takes the
//! canonical form only, so equal strings are equal conversations and the
//! app can key its own tables by them.

use crosslock_client::ConversationId;

use crate::error::CrosslockError;

/// The app's string for `id`.
pub(crate) fn conversation_string(id: &ConversationId) -> String {
    let bytes = id.as_bytes();
    if ConversationId::is_deployed_form(bytes) {
        // Checked: 36 ASCII bytes.
        String::from_utf8_lossy(bytes).into_owned()
    } else {
        format!("0x{}", hex::encode(bytes))
    }
}

/// The conversation the app's string names; only what
/// [`conversation_string`] makes is accepted.
pub(crate) fn conversation_id(text: &str) -> Result<ConversationId, CrosslockError> {
    let refuse = |why: &str| {
        CrosslockError::input(format!(
            "conversation id {text:?}: {why}; a conversation id is a lowercase UUID or 0x and \
             lowercase hex, as the SDK returned it"
        ))
    };
    if ConversationId::is_deployed_form(text.as_bytes()) {
        return ConversationId::new(text.as_bytes().to_vec()).ok_or_else(|| refuse("too long"));
    }
    let Some(digits) = text.strip_prefix("0x") else {
        return Err(refuse("not a lowercase UUID and no 0x prefix"));
    };
    if digits.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(refuse("uppercase hex"));
    }
    let bytes = hex::decode(digits).map_err(|_| refuse("not hex after 0x"))?;
    if ConversationId::is_deployed_form(&bytes) {
        return Err(refuse("a UUID id is written as the UUID, not in hex"));
    }
    ConversationId::new(bytes).ok_or_else(|| refuse("1 to 255 bytes"))
}

/// The app's string for a raw MLS group id (1 to 255 bytes): what the
/// SDK's calls and events use for that conversation.
#[uniffi::export]
pub fn conversation_id_from_bytes(group_id: Vec<u8>) -> Result<String, CrosslockError> {
    let id = ConversationId::new(group_id)
        .ok_or_else(|| CrosslockError::input("a group id is 1 to 255 bytes".to_owned()))?;
    Ok(conversation_string(&id))
}

/// The raw MLS group id a conversation string names.
#[uniffi::export]
pub fn conversation_id_bytes(conversation: String) -> Result<Vec<u8>, CrosslockError> {
    Ok(conversation_id(&conversation)?.as_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn id(bytes: &[u8]) -> ConversationId {
        ConversationId::new(bytes.to_vec()).unwrap()
    }

    const UUID: &str = "3f2b8c1e-9a4d-4e5f-8b6a-1c2d3e4f5a6b";

    #[test]
    fn a_group_named_like_another_groups_hex_gets_its_own_string() {
        // The attack: a peer mints a group whose id is the text "0x0102",
        // while another group's id is the bytes 01 02. Printed as before
        // (printable ids as text), both read "0x0102".
        let text_id = id(b"0x0102");
        let raw_id = id(&[0x01, 0x02]);
        let (a, b) = (conversation_string(&text_id), conversation_string(&raw_id));
        assert_ne!(a, b);
        assert_eq!(a, "0x307830313032");
        assert_eq!(b, "0x0102");
        assert_eq!(conversation_id(&a).unwrap(), text_id);
        assert_eq!(conversation_id(&b).unwrap(), raw_id);
    }

    #[test]
    fn crosslock_ids_stay_readable() {
        let minted = id(UUID.as_bytes());
        assert_eq!(conversation_string(&minted), UUID);
        assert_eq!(conversation_id(UUID).unwrap(), minted);
    }

    #[test]
    fn every_id_round_trips_and_no_two_share_a_string() {
        let mut ids: Vec<Vec<u8>> = vec![
            UUID.as_bytes().to_vec(),
            UUID.to_uppercase().into_bytes(),
            format!("0x{}", hex::encode(UUID)).into_bytes(),
            b"0x".to_vec(),
            b"x".to_vec(),
            vec![0],
            vec![0xff; 255],
            "groupe-été".as_bytes().to_vec(),
        ];
        for n in 1..=40u8 {
            ids.push((0..n).map(|i| i.wrapping_mul(37).wrapping_add(n)).collect());
            ids.push(format!("0x{:02x}", n).into_bytes());
        }
        let mut seen = std::collections::HashMap::new();
        for bytes in ids {
            let id = id(&bytes);
            let text = conversation_string(&id);
            assert_eq!(conversation_id(&text).unwrap(), id, "{text}");
            if let Some(other) = seen.insert(text.clone(), bytes.clone()) {
                assert_eq!(other, bytes, "{text} names two ids");
            }
        }
    }

    #[test]
    fn only_the_canonical_form_is_accepted() {
        for text in [
            "",
            "0x",
            "0X0102",
            "0x0A",
            "0x012",
            "0xzz",
            "general",
            // A UUID in another case or version, as text: it is written in hex.
            "3F2B8C1E-9A4D-4E5F-8B6A-1C2D3E4F5A6B",
            "3f2b8c1e-9a4d-1e5f-8b6a-1c2d3e4f5a6b",
        ] {
            assert!(
                matches!(conversation_id(text), Err(CrosslockError::Input { .. })),
                "{text:?} accepted"
            );
        }
        // A deployed-form UUID in hex is the UUID's second name: refused.
        let hexed = format!("0x{}", hex::encode(UUID));
        assert!(conversation_id(&hexed).is_err());
        assert!(conversation_id(&format!("0x{}", "00".repeat(256))).is_err());
    }

    #[test]
    fn the_exported_helpers_convert_both_ways() {
        let text = conversation_id_from_bytes(b"0x0102".to_vec()).unwrap();
        assert_eq!(conversation_id_bytes(text).unwrap(), b"0x0102");
        assert!(conversation_id_from_bytes(Vec::new()).is_err());
        assert!(conversation_id_from_bytes(vec![1; 256]).is_err());
    }
}
