//! The derived content a receipt's `rcs_signature` signs (§5 "Signature").

use super::ReportError;
use crate::cpim::is_valid_message_id;
use crate::imdn::{DeliveryStatus, Imdn, Notification};
use crate::varint;

/// The version of every derived-content structure.
pub const VERSION: u16 = 1;
/// `type` of a delivery receipt.
pub const RECEIPT_TYPE_DELIVERY: u8 = 1;
/// `type` of a display receipt.
pub const RECEIPT_TYPE_DISPLAY: u8 = 2;
/// Largest `VerifiableVideoChatMessage` proto accepted.
const MAX_PROTO_BYTES: usize = 4096;

/// `VerifiableDeliveryImdn`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VerifiableDeliveryImdn {
    /// 1 delivered, 2 failed, 3 forbidden, 4 error.
    pub status: u16,
    /// The reported message's id.
    pub reported_message_id: String,
    /// 0 unset, 1 to 5 the RCC.16 client reasons, 6 decoded only.
    pub failure_reason: u16,
}

/// `VerifiableDisplayImdn`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VerifiableDisplayImdn {
    /// 1 displayed, 2 forbidden, 3 error.
    pub status: u16,
    /// The reported message's id.
    pub message_id: String,
}

/// `VerifiableVideoChatMessage` (decoded for completeness; §5 gives no
/// receipt `type` for it, so it never appears in [`DerivedContent`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VerifiableVideoChatMessage {
    /// The opaque protobuf.
    pub proto: Vec<u8>,
}

/// The inner structure, by receipt type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum VerifiableImdn {
    /// Type 1.
    Delivery(VerifiableDeliveryImdn),
    /// Type 2.
    Display(VerifiableDisplayImdn),
}

/// What a receipt's `rcs_signature` PublicMessage carries as its
/// `authenticated_data`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DerivedContent {
    /// The receipt's own `imdn.Message-ID`.
    pub receipt_message_id: String,
    /// The conversation's era (GroupContext 0xF001).
    pub era: u32,
    /// What the IMDN says.
    pub imdn: VerifiableImdn,
}

impl VerifiableImdn {
    /// What a plaintext IMDN says, in the signed form: the statuses by
    /// their codes, the client reason's binary code (0 for none, a server
    /// reason or a Google-only token).
    pub fn of(imdn: &Imdn) -> VerifiableImdn {
        match imdn.notification {
            Notification::Delivery(status) => VerifiableImdn::Delivery(VerifiableDeliveryImdn {
                status: status.code(),
                reported_message_id: imdn.message_id.clone(),
                failure_reason: match status {
                    DeliveryStatus::Failed(Some(arm)) => arm.binary_code(),
                    _ => 0,
                },
            }),
            Notification::Display(status) => VerifiableImdn::Display(VerifiableDisplayImdn {
                status: status.code(),
                message_id: imdn.message_id.clone(),
            }),
        }
    }

    fn type_code(&self) -> u8 {
        match self {
            VerifiableImdn::Delivery(_) => RECEIPT_TYPE_DELIVERY,
            VerifiableImdn::Display(_) => RECEIPT_TYPE_DISPLAY,
        }
    }
}

fn invalid(what: &'static str) -> ReportError {
    ReportError::Invalid(what)
}

fn put_opaque(out: &mut Vec<u8>, bytes: &[u8]) {
    // Every id is at most 128 bytes, a proto at most 4096: the prefix fits.
    let _ = varint::encode_len(bytes.len(), out);
    out.extend_from_slice(bytes);
}

/// A cursor over untrusted bytes.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ReportError> {
        if self.0.len() < n {
            return Err(ReportError::Truncated);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, ReportError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, ReportError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, ReportError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn opaque(&mut self) -> Result<&'a [u8], ReportError> {
        let (len, used) = varint::decode_len(self.0)?;
        self.take(used)?;
        self.take(len)
    }

    fn message_id(&mut self) -> Result<String, ReportError> {
        let bytes = self.opaque()?;
        match std::str::from_utf8(bytes) {
            Ok(s) if is_valid_message_id(s) => Ok(s.to_owned()),
            _ => Err(invalid(
                "a message id must be 1 to 128 visible ASCII characters",
            )),
        }
    }

    fn version(&mut self) -> Result<(), ReportError> {
        match self.u16()? {
            VERSION => Ok(()),
            v => Err(ReportError::UnsupportedVersion(v)),
        }
    }
}

impl VerifiableDeliveryImdn {
    /// Whether this is the negative form (status failed), which carries
    /// one more `u16 0x0000`.
    pub fn is_negative(&self) -> bool {
        self.status == 2
    }

    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&VERSION.to_be_bytes());
        out.extend_from_slice(&self.status.to_be_bytes());
        put_opaque(out, self.reported_message_id.as_bytes());
        out.extend_from_slice(&self.failure_reason.to_be_bytes());
        if self.is_negative() {
            out.extend_from_slice(&0u16.to_be_bytes());
        }
    }

    /// Reads the structure; the optional `u16 0x0000` is consumed when the
    /// bytes left are exactly it and the outer trailer (`00 00 00`).
    fn read(r: &mut Reader<'_>) -> Result<VerifiableDeliveryImdn, ReportError> {
        r.version()?;
        let status = r.u16()?;
        if !(1..=4).contains(&status) {
            return Err(ReportError::UnknownStatus(status));
        }
        let reported_message_id = r.message_id()?;
        let failure_reason = r.u16()?;
        if failure_reason > 6 {
            return Err(ReportError::UnknownReason(failure_reason));
        }
        if status != 2 && failure_reason != 0 {
            return Err(invalid("a failure reason on a status other than failed"));
        }
        if r.0 == [0, 0, 0] {
            r.take(2)?;
        }
        Ok(VerifiableDeliveryImdn {
            status,
            reported_message_id,
            failure_reason,
        })
    }
}

impl VerifiableDisplayImdn {
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&VERSION.to_be_bytes());
        out.extend_from_slice(&self.status.to_be_bytes());
        put_opaque(out, self.message_id.as_bytes());
    }

    fn read(r: &mut Reader<'_>) -> Result<VerifiableDisplayImdn, ReportError> {
        r.version()?;
        let status = r.u16()?;
        if !(1..=3).contains(&status) {
            return Err(ReportError::UnknownStatus(status));
        }
        Ok(VerifiableDisplayImdn {
            status,
            message_id: r.message_id()?,
        })
    }
}

impl VerifiableVideoChatMessage {
    /// `u16 1 ‖ opaque proto<V>`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = VERSION.to_be_bytes().to_vec();
        put_opaque(&mut out, &self.proto);
        out
    }

    /// Decodes the structure (no trailing bytes; proto at most 4096 bytes).
    pub fn decode(bytes: &[u8]) -> Result<VerifiableVideoChatMessage, ReportError> {
        let mut r = Reader(bytes);
        r.version()?;
        let proto = r.opaque()?;
        if proto.len() > MAX_PROTO_BYTES {
            return Err(ReportError::TooLarge);
        }
        if !r.0.is_empty() {
            return Err(invalid("trailing bytes"));
        }
        Ok(VerifiableVideoChatMessage {
            proto: proto.to_vec(),
        })
    }
}

impl DerivedContent {
    /// The derived content of the receipt `receipt_message_id` carrying
    /// `imdn`, in `era`.
    pub fn of(receipt_message_id: &str, era: u32, imdn: &Imdn) -> DerivedContent {
        DerivedContent {
            receipt_message_id: receipt_message_id.to_owned(),
            era,
            imdn: VerifiableImdn::of(imdn),
        }
    }

    /// The bytes (the `authenticated_data` of the `rcs_signature`).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(96);
        out.extend_from_slice(&VERSION.to_be_bytes());
        put_opaque(&mut out, self.receipt_message_id.as_bytes());
        out.extend_from_slice(&self.era.to_be_bytes());
        out.push(self.imdn.type_code());
        match &self.imdn {
            VerifiableImdn::Delivery(d) => d.write(&mut out),
            VerifiableImdn::Display(d) => d.write(&mut out),
        }
        out.push(0);
        out
    }

    /// Decodes and checks the bytes: version 1, minimal varints, ids of 1
    /// to 128 visible ASCII characters, known type, status and reason
    /// codes, the trailing `00`, nothing after it.
    pub fn decode(bytes: &[u8]) -> Result<DerivedContent, ReportError> {
        if bytes.len() > 1024 {
            return Err(ReportError::TooLarge);
        }
        let mut r = Reader(bytes);
        r.version()?;
        let receipt_message_id = r.message_id()?;
        let era = r.u32()?;
        let imdn = match r.u8()? {
            RECEIPT_TYPE_DELIVERY => {
                VerifiableImdn::Delivery(VerifiableDeliveryImdn::read(&mut r)?)
            }
            RECEIPT_TYPE_DISPLAY => VerifiableImdn::Display(VerifiableDisplayImdn::read(&mut r)?),
            other => return Err(ReportError::UnknownType(other)),
        };
        match r.0 {
            [0] => {}
            [] => return Err(ReportError::Truncated),
            _ => return Err(invalid("the content must end with one 00")),
        }
        Ok(DerivedContent {
            receipt_message_id,
            era,
            imdn,
        })
    }
}
