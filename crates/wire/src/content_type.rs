//! Media type names used on the wire.
//!
//! The `message/mls*` types are the GSMA RCC.16 content types for MLS bodies
//! carried in CPIM; the others name the plaintext formats Crosslock sends
//! inside MLS application messages.

/// An MLS message (RFC 9420 §17.10); RCC.16 uses it for application messages.
pub const MESSAGE_MLS: &str = "message/mls";
/// RCC.16: Welcome, Commit or Proposal sent by a client to the ordering server.
pub const MLS_RCS_CLIENT: &str = "message/mls-rcs-client";
/// RCC.16: a message from the ordering server to a client.
pub const MLS_RCS_SERVER: &str = "message/mls-rcs-server";
/// RCC.16: an MLS-protected file transfer body.
pub const MLS_FT: &str = "message/mls-ft";
/// RCC.16: the MLS-protected FileInfo message that carries a file's keys.
pub const MLS_RCS_FILE_INFO: &str = "message/mls-rcs-file-info";
/// RCC.16 as deployed: a server eviction notice, "host-internal"; deployed
/// clients recognise it and drop it (fact sheet §3c). Not one of
/// [`MLS_TYPES`]: an envelope carrying it is refused like any other type.
pub const MLS_RCS_SERVER_KICK: &str = "message/mls-rcs-server-kick";
/// The inner type LineageOS chose for group subject/icon keys; not
/// confirmed on deployed clients (fact sheet §3c).
pub const MLS_RCS_GROUP_METADATA_KEYS: &str = "message/mls-rcs-group-metadata-keys";
/// Plain text, what deployed RCC.16 clients put inside MLS for a text
/// message (sent with `;charset=UTF-8`, fact sheet §3b).
pub const TEXT_PLAIN: &str = "text/plain";
/// MIMI content container (draft-ietf-mimi-content §8.1).
pub const MIMI_CONTENT: &str = "application/mimi-content";
/// MIMI message status report (draft-mahy-mimi-message-status §7.1).
pub const MIMI_MESSAGE_STATUS: &str = "application/mimi-message-status";
/// isComposing typing indicator (RFC 3994 §8).
pub const IS_COMPOSING: &str = "application/im-iscomposing+xml";
/// An IMDN (RFC 5438 §7): RCC.16 delivery, display and negative delivery
/// receipts, plaintext, signed by an `rcs_signature` ([`crate::report`]).
pub const IMDN: &str = "message/imdn+xml";
/// Plain UTF-8 text, the MIMI baseline body type (draft-ietf-mimi-content §7.1).
pub const TEXT_PLAIN_UTF8: &str = "text/plain;charset=utf-8";

/// Every RCC.16 `message/mls*` content type, in the spelling used on the wire.
pub const MLS_TYPES: [&str; 5] = [
    MESSAGE_MLS,
    MLS_RCS_CLIENT,
    MLS_RCS_SERVER,
    MLS_FT,
    MLS_RCS_FILE_INFO,
];

/// The canonical spelling of an RCC.16 `message/mls*` type, matched ASCII
/// case-insensitively (media type names are case-insensitive, RFC 2045 §5.1),
/// or `None` for any other type or for a type with parameters.
pub fn canonical_mls_type(value: &str) -> Option<&'static str> {
    MLS_TYPES
        .iter()
        .copied()
        .find(|t| t.eq_ignore_ascii_case(value.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mls_types_match_case_insensitively() {
        assert_eq!(canonical_mls_type("Message/MLS"), Some(MESSAGE_MLS));
        assert_eq!(canonical_mls_type("message/mls-ft"), Some(MLS_FT));
        assert_eq!(canonical_mls_type("message/mls; x=1"), None);
        assert_eq!(canonical_mls_type("text/plain"), None);
        assert_eq!(canonical_mls_type("message/mls-other"), None);
    }
}
