//! RCC.16 negative delivery reports
//! (`application/vnd.crosslock.negative-report+cbor`).
//!
//! A device that cannot process a message tells the conversation with a
//! report that travels *outside* MLS (the reporter's group state may be the
//! very thing that is broken), signed with the reporter's participant key
//! and carrying its credential chain, so every member can check who sent
//! it without a working group state at the reporter. The receiving sender
//! resends the message as a new one linked to the original (GUIDE §4,
//! recovery).
//!
//! ```text
//! SignedNegativeReport = [ report: NegativeReport, signature: bstr ]
//! NegativeReport = [
//!     version: 1,
//!     group_id: bstr,            ; 1 to 255 bytes, the MLS group id
//!     era: uint,                 ; u32, GroupContext extension 0xF001
//!     failed_message_id: tstr,   ; the imdn.Message-ID that failed, 1 to 128 visible ASCII
//!     reason: uint,              ; RCC.16 client failure reason, 0 to 5
//!     reporter_number: tstr,     ; E.164, "+" and 1 to 15 digits
//!     reporter_device: tstr,     ; device instance id, 1 to 64 visible ASCII
//!     timestamp_ms: uint,        ; when the report was made, ms since the UNIX epoch
//!     credential_chain: [ 1*4 bstr ], ; the reporter's X.509 chain, DER, leaf first, each ≤ 16 KiB
//! ]
//! ```
//!
//! The signature is made with the reporter's participant key of the
//! conversation's suite (ECDSA P-256 with SHA-256, DER; or Ed25519) over
//! [`NegativeReport::signing_input`]: the label [`SIGNATURE_LABEL`]
//! followed by the deterministic encoding of `NegativeReport`, so a report
//! signature can never be taken for any other signature the key makes.
//! Only the deterministic encoding (RFC 8949 §4.2.1) is accepted; a report
//! of another version is refused, as is any field out of its bounds.
//!
//! The CPIM envelope is [`ReportEnvelope`].

mod envelope;
mod error;

pub use envelope::ReportEnvelope;
pub use error::ReportError;

use crate::cbor::{self, ScanLimits, read, write};
use crate::cpim::is_valid_message_id;

/// The only report version defined.
pub const VERSION: u64 = 1;
/// Domain separation label prefixed to the signed bytes.
pub const SIGNATURE_LABEL: &[u8] = b"Crosslock RCC.16 negative delivery report v1\0";
/// Most certificates in the reporter's chain.
pub const MAX_CHAIN_LEN: usize = 4;
/// Largest certificate, bytes.
pub const MAX_CERT_BYTES: usize = 16 * 1024;
/// Largest signature, bytes (a DER ECDSA P-384 signature is at most 104).
pub const MAX_SIGNATURE_BYTES: usize = 144;
/// Longest device instance id.
pub const MAX_DEVICE_ID_LEN: usize = 64;
/// Longest group id (RCC.16 group ids are 1 to 255 bytes).
pub const MAX_GROUP_ID_LEN: usize = 255;
/// Largest encoded signed report.
pub const MAX_REPORT_BYTES: usize = MAX_CHAIN_LEN * (MAX_CERT_BYTES + 3) + 1024;

const LIMITS: ScanLimits = ScanLimits {
    max_bytes: MAX_REPORT_BYTES,
    max_depth: 3,
    max_items: 2 + 9 + MAX_CHAIN_LEN + 8,
};

/// The RCC.16 client failure reasons (GUIDE §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FailureReason {
    /// 0: unknown.
    Unknown,
    /// 1: the message came from a device that is not a member.
    MessageFromNonMember,
    /// 2: a credential was refused.
    InvalidCredential,
    /// 3: a commit (or proposal, Welcome) failed validation.
    InvalidCommit,
    /// 4: the message could not be decrypted.
    FailedToDecrypt,
    /// 5: a commit arrived inside a PrivateMessage.
    CommitInPrivateMessage,
}

impl FailureReason {
    /// The wire code.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The reason for a wire code, if it is one of the six defined.
    pub fn from_code(code: u64) -> Option<FailureReason> {
        use FailureReason::*;
        Some(match code {
            0 => Unknown,
            1 => MessageFromNonMember,
            2 => InvalidCredential,
            3 => InvalidCommit,
            4 => FailedToDecrypt,
            5 => CommitInPrivateMessage,
            _ => return None,
        })
    }
}

/// What a report says (the signed part).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NegativeReport {
    /// The MLS group id of the conversation.
    pub group_id: Vec<u8>,
    /// The conversation's era at the reporter.
    pub era: u32,
    /// The transport id of the message that failed.
    pub failed_message_id: String,
    /// Why it failed.
    pub reason: FailureReason,
    /// The reporter's number, E.164.
    pub reporter_number: String,
    /// The reporter's device instance id.
    pub reporter_device: String,
    /// When the report was made, milliseconds since the UNIX epoch.
    pub timestamp_ms: u64,
    /// The reporter's credential chain, DER, leaf first.
    pub credential_chain: Vec<Vec<u8>>,
}

/// A report with the reporter's signature. Decoding checks the shape only:
/// the signature, the chain and the reporter's membership are for the
/// receiving client to verify.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SignedNegativeReport {
    /// The report.
    pub report: NegativeReport,
    /// The participant-key signature over [`NegativeReport::signing_input`].
    pub signature: Vec<u8>,
}

fn invalid(what: &'static str) -> ReportError {
    ReportError::Invalid(what)
}

fn is_visible_ascii(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_graphic())
}

fn is_e164(s: &str) -> bool {
    s.strip_prefix('+').is_some_and(|digits| {
        (1..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
    })
}

impl NegativeReport {
    /// The deterministic CBOR encoding. Never fails; [`Self::validate`]
    /// tells whether a peer will accept it.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            64 + self.group_id.len()
                + self.failed_message_id.len()
                + self
                    .credential_chain
                    .iter()
                    .map(|c| c.len() + 3)
                    .sum::<usize>(),
        );
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut Vec<u8>) {
        write::array(out, 9);
        write::uint(out, VERSION);
        write::bytes(out, &self.group_id);
        write::uint(out, u64::from(self.era));
        write::text(out, &self.failed_message_id);
        write::uint(out, u64::from(self.reason.code()));
        write::text(out, &self.reporter_number);
        write::text(out, &self.reporter_device);
        write::uint(out, self.timestamp_ms);
        write::array(out, self.credential_chain.len());
        for cert in &self.credential_chain {
            write::bytes(out, cert);
        }
    }

    /// The bytes the reporter signs: [`SIGNATURE_LABEL`] ‖ [`Self::encode`].
    pub fn signing_input(&self) -> Vec<u8> {
        let mut out = SIGNATURE_LABEL.to_vec();
        self.write(&mut out);
        out
    }

    /// Checks every field against its rule (the checks decoding applies).
    pub fn validate(&self) -> Result<(), ReportError> {
        if self.group_id.is_empty() || self.group_id.len() > MAX_GROUP_ID_LEN {
            return Err(invalid("group id must be 1 to 255 bytes"));
        }
        if !is_valid_message_id(&self.failed_message_id) {
            return Err(invalid(
                "failed message id must be 1 to 128 visible ASCII characters",
            ));
        }
        if !is_e164(&self.reporter_number) {
            return Err(invalid("reporter number must be E.164"));
        }
        if !is_visible_ascii(&self.reporter_device, MAX_DEVICE_ID_LEN) {
            return Err(invalid(
                "reporter device must be 1 to 64 visible ASCII characters",
            ));
        }
        if self.credential_chain.is_empty() || self.credential_chain.len() > MAX_CHAIN_LEN {
            return Err(invalid("credential chain must hold 1 to 4 certificates"));
        }
        if self
            .credential_chain
            .iter()
            .any(|c| c.is_empty() || c.len() > MAX_CERT_BYTES)
        {
            return Err(invalid("a certificate must be 1 byte to 16 KiB"));
        }
        Ok(())
    }

    fn from_value(value: &ciborium::Value) -> Result<NegativeReport, ReportError> {
        let fields = read::array(value, "a report must be an array").map_err(invalid)?;
        let version: u64 = fields
            .first()
            .ok_or(invalid("a report must start with its version"))
            .and_then(|v| read::uint(v, "version must be a uint").map_err(invalid))?;
        if version != VERSION {
            return Err(ReportError::UnsupportedVersion(version));
        }
        let [
            _,
            group_id,
            era,
            failed,
            reason,
            number,
            device,
            timestamp,
            chain,
        ] = fields
        else {
            return Err(invalid("a version 1 report has 9 fields"));
        };
        let code: u64 = read::uint(reason, "reason must be a uint").map_err(invalid)?;
        let report = NegativeReport {
            group_id: read::bytes(group_id, "group id must be a byte string")
                .map_err(invalid)?
                .to_vec(),
            era: read::uint(era, "era must be a u32").map_err(invalid)?,
            failed_message_id: read::text(failed, "failed message id must be text")
                .map_err(invalid)?
                .to_owned(),
            reason: FailureReason::from_code(code).ok_or(ReportError::UnknownReason(code))?,
            reporter_number: read::text(number, "reporter number must be text")
                .map_err(invalid)?
                .to_owned(),
            reporter_device: read::text(device, "reporter device must be text")
                .map_err(invalid)?
                .to_owned(),
            timestamp_ms: read::uint(timestamp, "timestamp must be a uint").map_err(invalid)?,
            credential_chain: read::array(chain, "credential chain must be an array")
                .map_err(invalid)?
                .iter()
                .map(|c| {
                    read::bytes(c, "a certificate must be a byte string")
                        .map(<[u8]>::to_vec)
                        .map_err(invalid)
                })
                .collect::<Result<_, _>>()?,
        };
        report.validate()?;
        Ok(report)
    }
}

impl SignedNegativeReport {
    /// The deterministic CBOR encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        write::array(&mut out, 2);
        self.report.write(&mut out);
        write::bytes(&mut out, &self.signature);
        out
    }

    /// Decodes and checks the shape of a signed report (not the signature).
    pub fn decode(bytes: &[u8]) -> Result<SignedNegativeReport, ReportError> {
        let value = cbor::parse(bytes, &LIMITS)?;
        let top = read::array_of(&value, 2, "a signed report must be [report, signature]")
            .map_err(invalid)?;
        let report = NegativeReport::from_value(&top[0])?;
        let signature = read::bytes(&top[1], "signature must be a byte string").map_err(invalid)?;
        if signature.is_empty() || signature.len() > MAX_SIGNATURE_BYTES {
            return Err(invalid("signature must be 1 to 144 bytes"));
        }
        let signed = SignedNegativeReport {
            report,
            signature: signature.to_vec(),
        };
        if signed.encode() != bytes {
            return Err(invalid("not deterministically encoded (RFC 8949 §4.2.1)"));
        }
        Ok(signed)
    }
}

#[cfg(test)]
mod tests;
