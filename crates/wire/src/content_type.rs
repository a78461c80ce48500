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
/// RCC.16: a server eviction notice ("host-internal"); recognised and
/// dropped by clients (fact sheet §3c).
pub const MLS_RCS_SERVER_KICK: &str = "message/mls-rcs-server-kick";
/// MIMI content container (draft-ietf-mimi-content §8.1).
pub const MIMI_CONTENT: &str = "application/mimi-content";
/// MIMI message status report (draft-mahy-mimi-message-status §7.1).
pub const MIMI_MESSAGE_STATUS: &str = "application/mimi-message-status";
/// isComposing typing indicator (RFC 3994 §8).
pub const IS_COMPOSING: &str = "application/im-iscomposing+xml";
/// A signed RCC.16 negative delivery report, sent outside MLS
/// ([`crate::report`]).
pub const NEGATIVE_REPORT: &str = "application/vnd.crosslock.negative-report+cbor";
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
