//! RCC.16 custom proposals (a namespace separate from extensions; fact
//! sheet §4) and a peek at the proposal type of a PublicMessage, so a
//! client can drop a ServerRemove whoever sent it (the server sends it as
//! an external sender) before handing the message to MLS.

use crate::varint;

/// `0xF001` end_mls (v3.0; void in v4.0 §7.11.2.1).
pub const END_MLS: u16 = 0xF001;
/// `0xF002` rcs_signature: empty body, the signature rides in
/// `authenticated_data` (receipts only).
pub const RCS_SIGNATURE: u16 = 0xF002;
/// `0xF003` SelfRemove.
pub const SELF_REMOVE: u16 = 0xF003;
/// `0xF004` ServerRemove: `struct { uint32 to_remove; }` written bare.
pub const SERVER_REMOVE: u16 = 0xF004;

/// The ServerRemove body: the leaf index as a bare u32 BE (4 bytes, not
/// length-prefixed).
pub fn encode_server_remove(to_remove: u32) -> [u8; 4] {
    to_remove.to_be_bytes()
}

/// Reads a ServerRemove body: exactly four bytes.
pub fn decode_server_remove(body: &[u8]) -> Option<u32> {
    body.try_into().ok().map(u32::from_be_bytes)
}

/// The proposal type of an MLSMessage that is a PublicMessage carrying a
/// proposal (RFC 9420 §6.2: `version ‖ wire_format = 1 ‖ group_id<V> ‖
/// epoch ‖ sender ‖ authenticated_data<V> ‖ content_type = 2 ‖
/// proposal_type ‖ …`); `None` for anything else or malformed input (MLS
/// itself judges those).
pub fn public_proposal_type(message: &[u8]) -> Option<u16> {
    let mut r = Reader(message);
    if r.u16()? != 1 || r.u16()? != 1 {
        return None;
    }
    r.vector()?; // group_id
    r.take(8)?; // epoch
    match r.take(1)?[0] {
        1 | 2 => {
            r.take(4)?; // leaf_index / sender_index
        }
        3 | 4 => {}
        _ => return None,
    }
    r.vector()?; // authenticated_data
    if r.take(1)?[0] != 2 {
        return None;
    }
    r.u16()
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = (self.0.get(..n)?, self.0.get(n..)?);
        self.0 = rest;
        Some(head)
    }

    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }

    fn vector(&mut self) -> Option<&'a [u8]> {
        let (len, used) = varint::decode_len(self.0).ok()?;
        self.take(used)?;
        self.take(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::hex;

    // A ServerRemove of leaf 1 from the server (external sender 0), built
    // by hand from RFC 9420 §6 and the fact sheet's bare u32 body:
    //   0001 version mls10 | 0001 wire_format public_message
    //   04 61626364 group_id "abcd" | 0000000000000005 epoch
    //   02 00000000 sender external #0 | 00 authenticated_data
    //   02 content_type proposal | f004 proposal_type | 00000001 to_remove
    //   00 signature (empty here)
    const SERVER_REMOVE_MESSAGE: &str = "0001 0001 04 61626364 0000000000000005
        02 00000000 00 02 f004 00000001 00";

    #[test]
    fn server_remove_vector() {
        let message = hex(SERVER_REMOVE_MESSAGE);
        assert_eq!(public_proposal_type(&message), Some(SERVER_REMOVE));
        assert_eq!(encode_server_remove(1), [0, 0, 0, 1]);
        assert_eq!(decode_server_remove(&message[26..30]), Some(1));
        assert_eq!(decode_server_remove(&[0, 0, 1]), None);
    }

    #[test]
    fn other_messages_have_no_proposal_type() {
        let message = hex(SERVER_REMOVE_MESSAGE);
        // A member sender (1 + leaf index) reads too.
        let member = hex("0001 0001 04 61626364 0000000000000005 01 00000002 00 02 f002 00");
        assert_eq!(public_proposal_type(&member), Some(RCS_SIGNATURE));
        // A commit (content_type 3), a PrivateMessage (wire_format 2), a
        // bad sender type and every truncation give None.
        let mut commit = message.clone();
        commit[23] = 3;
        assert_eq!(public_proposal_type(&commit), None);
        let mut private = message.clone();
        private[3] = 2;
        assert_eq!(public_proposal_type(&private), None);
        let mut sender = message.clone();
        sender[17] = 9;
        assert_eq!(public_proposal_type(&sender), None);
        for n in 0..26 {
            assert_eq!(public_proposal_type(&message[..n]), None, "{n}");
        }
    }
}
