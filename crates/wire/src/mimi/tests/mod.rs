//! MIMI content tests: the draft's examples as known-answer vectors
//! ([`vectors`]), forged and broken input ([`forged`]), property tests
//! ([`props`]).

mod forged;
mod props;
mod vectors;

use super::*;
use crate::content_type::TEXT_PLAIN_UTF8;

use crate::test_util::hex;

fn id(s: &str) -> MessageId {
    MessageId::from_slice(&hex(s)).unwrap()
}

fn single(content_type: &str, content: &[u8]) -> NestedPart {
    NestedPart {
        disposition: Disposition::Render,
        language: String::new(),
        body: PartBody::Single {
            content_type: content_type.into(),
            content: content.to_vec(),
        },
    }
}

fn nested(levels: usize) -> NestedPart {
    if levels == 1 {
        return single(TEXT_PLAIN_UTF8, b"x");
    }
    NestedPart {
        disposition: Disposition::Render,
        language: String::new(),
        body: PartBody::Multi {
            semantics: PartSemantics::ProcessAll,
            parts: vec![nested(levels - 1), single(TEXT_PLAIN_UTF8, b"y")],
        },
    }
}

/// `text` encoded with one byte replaced: `(offset, new byte)`.
fn mutate(bytes: &[u8], at: usize, to: &[u8]) -> Vec<u8> {
    let mut v = bytes[..at].to_vec();
    v.extend_from_slice(to);
    v.extend_from_slice(&bytes[at + 1..]);
    v
}
