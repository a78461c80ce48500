//! The CPIM `To` of a group chat (GID-3).
//!
//! In an RCS group chat every message goes to the whole group through the
//! conference focus, so its CPIM `To` names nobody: it is the anonymous
//! URI of RFC 3323 §4.1.1.3, `<sip:anonymous@anonymous.invalid>` (RCC.07
//! group chat, as the open GSMA RCS stack writes it; docs/conversation-kind.md
//! says what is known of it and how certainly). Crosslock writes it on
//! every MLS body of a group and nothing on a 1:1's. It is outside MLS,
//! so a reader takes it as a hint that can only make a conversation a
//! group, never a 1:1.

/// The anonymous SIP URI (RFC 3323 §4.1.1.3), without angle brackets.
pub const ANONYMOUS_URI: &str = "sip:anonymous@anonymous.invalid";

/// The CPIM `To` value Crosslock writes on every MLS body of a group.
pub fn group_chat_to() -> String {
    format!("<{ANONYMOUS_URI}>")
}

/// Whether a CPIM `From`/`To` value names the anonymous URI: with or
/// without angle brackets and a display name before them, matched ASCII
/// case-insensitively (SIP URI scheme and host are case-insensitive, RFC
/// 3261 §19.1.4; the user part `anonymous` is compared the same way, as
/// deployed stacks vary in case).
pub fn is_anonymous(value: &str) -> bool {
    let value = value.trim();
    let uri = match (value.find('<'), value.ends_with('>')) {
        (Some(open), true) => &value[open + 1..value.len() - 1],
        (None, false) => value,
        _ => return false,
    };
    uri.eq_ignore_ascii_case(ANONYMOUS_URI)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_anonymous_uri_in_the_forms_peers_write() {
        assert_eq!(group_chat_to(), "<sip:anonymous@anonymous.invalid>");
        for yes in [
            "<sip:anonymous@anonymous.invalid>",
            "sip:anonymous@anonymous.invalid",
            "\"Anonymous\" <sip:anonymous@anonymous.invalid>",
            " <SIP:Anonymous@Anonymous.Invalid> ",
        ] {
            assert!(is_anonymous(yes), "{yes}");
        }
        for no in [
            "<tel:+15551230001>",
            "<sip:anonymous@anonymous.invalid",
            "sip:anonymous@anonymous.invalid>",
            "<sip:anonymous@anonymous.invalid;transport=tcp>",
            "<sip:anonymous@example.com>",
            "",
        ] {
            assert!(!is_anonymous(no), "{no}");
        }
    }
}
