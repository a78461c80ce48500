//! The delivery-service API (`/v1/ds/...` for devices, `/federation/v1/ds/...`
//! between providers), and the RCC.16 server refusal reasons.
//!
//! Every MLS message travels as its CPIM envelope (RCC.16 headers
//! `mls.Era-ID` and `mls.Epoch-Authenticator`), base64 in JSON.

use serde::{Deserialize, Serialize};

use super::B64;

/// Why the conversation's server refused a handshake message (RCC.16
/// server reason tokens; GUIDE §4). They travel as the `error` of an
/// [`super::ErrorBody`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServerReason {
    /// `mls.Era-ID` is not the conversation's era.
    IncorrectEra,
    /// The message is for another epoch than the conversation's (for a
    /// commit: another commit already won this epoch).
    IncorrectEpoch,
    /// `mls.Epoch-Authenticator` differs from what this epoch's members send.
    IncorrectEpochAuthenticator,
    /// A credential in the commit has expired (or is not yet valid).
    ExpiredCredential,
    /// The commit's outcome does not match the GroupInfo sent with it, or
    /// the membership is not the conversation's.
    MismatchedRcsGroupState,
    /// The message does not parse.
    UnparsableCommit,
    /// The GroupInfo's confirmation tag is not the commit's.
    MismatchedConfirmationTag,
    /// Proposals are pending that the commit does not include.
    PendingProposal,
    /// Try again later.
    TransientError,
    /// The conversation has left end-to-end encryption.
    EncryptionNotAvailable,
    /// The commit is not valid for the conversation.
    InvalidCommit,
}

impl ServerReason {
    /// Every reason, for tables and tests.
    pub const ALL: [ServerReason; 11] = [
        ServerReason::IncorrectEra,
        ServerReason::IncorrectEpoch,
        ServerReason::IncorrectEpochAuthenticator,
        ServerReason::ExpiredCredential,
        ServerReason::MismatchedRcsGroupState,
        ServerReason::UnparsableCommit,
        ServerReason::MismatchedConfirmationTag,
        ServerReason::PendingProposal,
        ServerReason::TransientError,
        ServerReason::EncryptionNotAvailable,
        ServerReason::InvalidCommit,
    ];

    /// The RCC.16 token.
    pub fn token(self) -> &'static str {
        match self {
            ServerReason::IncorrectEra => "incorrect-era",
            ServerReason::IncorrectEpoch => "incorrect-epoch",
            ServerReason::IncorrectEpochAuthenticator => "incorrect-epoch-authenticator",
            ServerReason::ExpiredCredential => "expired-credential",
            ServerReason::MismatchedRcsGroupState => "mismatched-rcs-group-state",
            ServerReason::UnparsableCommit => "unparsable-commit",
            ServerReason::MismatchedConfirmationTag => "mismatched-confirmation-tag",
            ServerReason::PendingProposal => "pending-proposal",
            ServerReason::TransientError => "transient-error",
            ServerReason::EncryptionNotAvailable => "encryption-not-available",
            ServerReason::InvalidCommit => "invalid-commit",
        }
    }

    /// The reason named by an RCC.16 token.
    pub fn from_token(token: &str) -> Option<ServerReason> {
        ServerReason::ALL.into_iter().find(|r| r.token() == token)
    }
}

impl std::fmt::Display for ServerReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.token())
    }
}

/// `POST /v1/ds/commit`: a commit, with the Welcome for the devices it
/// adds and the GroupInfo of the epoch it creates. A commit that creates
/// a conversation (from epoch 0) makes this provider its hub.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmitCommit {
    /// The commit's CPIM envelope.
    pub commit: B64,
    /// The Welcome's CPIM envelope, if the commit adds devices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub welcome: Option<B64>,
    /// The signed GroupInfo of the new epoch (MLS message bytes).
    pub group_info: B64,
    /// The ratchet tree of the new epoch (an MLS `ExportedTree`:
    /// `optional<Node> ratchet_tree<V>`), sent beside the GroupInfo, which
    /// carries no ratchet_tree extension (fact sheet §4; MLS-GI-1).
    /// Absent only from an older client whose GroupInfo still carries the
    /// extension (read both, MLS-GI-2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ratchet_tree: Option<B64>,
    /// True for an external commit (a member rejoining after losing its
    /// state; RCC.16 recovery, limited per conversation per day).
    #[serde(default)]
    pub external: bool,
}

/// The answer to an accepted commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitAccepted {
    /// The conversation's epoch after the commit.
    pub epoch: u64,
    /// True when the same commit had already been accepted (a retry).
    #[serde(default)]
    pub duplicate: bool,
}

/// `POST /v1/ds/message`: an application message or a proposal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmitMessage {
    /// The message's CPIM envelope.
    pub envelope: B64,
}

/// The answer to an accepted message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageAccepted {
    /// True when the same message id had already been accepted (a retry);
    /// it was not fanned out again.
    #[serde(default)]
    pub duplicate: bool,
}

/// `POST /v1/ds/report`: a signed receipt (RCC.16 §7.6): a plaintext CPIM
/// `message/imdn+xml` (a delivery, display or negative delivery IMDN of
/// the recovery ladder) with its `rcs_signature` in a CPIM header. The DS
/// relays it to the other members; only the clients verify it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmitReport {
    /// The conversation (MLS group id).
    pub group_id: B64,
    /// The receipt's transport message id (idempotency key).
    pub message_id: String,
    /// The report's envelope, opaque to the DS.
    pub envelope: B64,
}

/// One message waiting in a device's inbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxItem {
    /// Position in the inbox (increasing; acknowledge with it).
    pub seq: u64,
    /// The transport message id.
    pub message_id: String,
    /// The CPIM envelope, exactly as the sender submitted it.
    pub envelope: B64,
    /// The ratchet tree of the epoch a Welcome joins (an MLS `ExportedTree`:
    /// `optional<Node> ratchet_tree<V>`), sent beside the GroupInfo, which
    /// carries no ratchet_tree extension (fact sheet §4; MLS-GI-1).
    /// Absent only for what is not a Welcome (and for a Welcome whose
    /// GroupInfo carries the extension, MLS-GI-2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ratchet_tree: Option<B64>,
}

impl InboxItem {
    /// The ratchet tree beside the envelope, as bytes (for
    /// `Device::receive_with_tree`).
    pub fn tree(&self) -> Option<&[u8]> {
        self.ratchet_tree.as_ref().map(|t| t.0.as_slice())
    }
}

/// `GET /v1/ds/inbox?after=SEQ&limit=N&wait=SECS`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxPage {
    /// Oldest first.
    pub items: Vec<InboxItem>,
}

/// `POST /v1/ds/inbox/ack`: the device has durably processed these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AckRequest {
    /// Inbox positions.
    pub seqs: Vec<u64>,
}

/// `POST /v1/ds/push`: where to wake this device (an opaque token for the
/// provider's push gateway; the push itself carries nothing else).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushRegistration {
    /// The platform push token.
    pub token: String,
}

/// `POST /v1/ds/catch-up`: the commits of a conversation from an epoch on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatchUpRequest {
    /// The MLS group id.
    pub group_id: B64,
    /// The first epoch wanted: the commit that ended `from_epoch` comes first.
    pub from_epoch: u64,
}

/// A conversation's commits, oldest first, and its current state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatchUp {
    /// The conversation's era.
    pub era: u32,
    /// The current epoch.
    pub epoch: u64,
    /// Commits (CPIM envelopes), ending `from_epoch`, `from_epoch + 1`, …
    pub commits: Vec<InboxItem>,
    /// The GroupInfo of the current epoch, for a rejoin by external commit.
    pub group_info: B64,
    /// The ratchet tree of the current epoch (an MLS `ExportedTree`:
    /// `optional<Node> ratchet_tree<V>`), sent beside the GroupInfo, which
    /// carries no ratchet_tree extension (fact sheet §4; MLS-GI-1).
    /// Absent only from an older delivery service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ratchet_tree: Option<B64>,
}

impl CatchUp {
    /// The ratchet tree beside the GroupInfo, as bytes (for
    /// `Device::rejoin`).
    pub fn tree(&self) -> Option<&[u8]> {
        self.ratchet_tree.as_ref().map(|t| t.0.as_slice())
    }
}

/// What a push webhook receives: nothing but the device's push token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WakeUp {
    /// The platform push tokens to wake (a batch).
    pub tokens: Vec<String>,
}

/// A device of a conversation as providers name it between themselves.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DeviceRef {
    /// E.164 number.
    pub number: String,
    /// Device instance id.
    pub device: String,
}

/// `POST /federation/v1/ds/submit`: a follower provider forwards what its
/// device submitted to the conversation's hub.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForwardedSubmission {
    /// The submitting device (homed at the forwarding provider).
    pub sender: DeviceRef,
    /// A commit, or
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<SubmitCommit>,
    /// an application message or proposal, or
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<SubmitMessage>,
    /// a signed receipt (IMDN).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<SubmitReport>,
}

/// One message for a follower's device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// The recipient.
    pub recipient: DeviceRef,
    /// The transport message id.
    pub message_id: String,
    /// The CPIM envelope.
    pub envelope: B64,
    /// The ratchet tree of the epoch a Welcome joins (an MLS `ExportedTree`:
    /// `optional<Node> ratchet_tree<V>`), sent beside the GroupInfo, which
    /// carries no ratchet_tree extension (fact sheet §4; MLS-GI-1).
    /// Absent only for what is not a Welcome (and for a Welcome whose
    /// GroupInfo carries the extension, MLS-GI-2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ratchet_tree: Option<B64>,
}

/// `POST /federation/v1/ds/deliver`: the hub fans out to a follower's
/// devices. Deliveries already stored are acknowledged and ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FederatedDeliveries {
    /// The conversation (MLS group id), so the follower knows its hub.
    pub group_id: B64,
    /// The messages.
    pub deliveries: Vec<Delivery>,
    /// The proof that the conversation was created at the sending hub,
    /// required by a follower that does not know the conversation yet
    /// (it answers `hub-unproven` without it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation: Option<HubProof>,
}

/// How a hub shows a follower that a conversation was created there: the
/// GroupInfo of epoch 1 of its current era, signed by its creator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HubProof {
    /// The GroupInfo (MLS message bytes) the creator submitted.
    pub group_info: B64,
    /// The ratchet tree of epoch 1, as the creator submitted it (an MLS `ExportedTree`:
    /// `optional<Node> ratchet_tree<V>`), sent beside the GroupInfo, which
    /// carries no ratchet_tree extension (fact sheet §4; MLS-GI-1).
    /// Absent only for a conversation created with a GroupInfo that
    /// carries the extension (MLS-GI-2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ratchet_tree: Option<B64>,
    /// When the hub accepted the creation (Unix seconds): the credentials
    /// in the GroupInfo are checked as of then.
    pub created_at: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// MLS-GI-1/2: the tree rides as `ratchet_tree` (standard base64)
    /// beside the GroupInfo; a body without it (an older client or
    /// service) still decodes, to `None`, and `None` is not written.
    #[test]
    fn the_ratchet_tree_field_beside_the_group_info() {
        // base64("\x01\x02") = "AQI=", base64("\x03") = "Aw==",
        // base64("\x04\x05") = "BAU=".
        let with =
            r#"{"commit":"AQI=","group_info":"Aw==","ratchet_tree":"BAU=","external":false}"#;
        let commit: SubmitCommit = serde_json::from_str(with).unwrap();
        assert_eq!(commit.ratchet_tree, Some(B64(vec![4, 5])));
        assert_eq!(serde_json::to_string(&commit).unwrap(), with);
        let without = r#"{"commit":"AQI=","group_info":"Aw==","external":false}"#;
        let old: SubmitCommit = serde_json::from_str(without).unwrap();
        assert_eq!(old.ratchet_tree, None);
        assert_eq!(serde_json::to_string(&old).unwrap(), without);

        let item = r#"{"seq":7,"message_id":"m","envelope":"AQI=","ratchet_tree":"BAU="}"#;
        let item: InboxItem = serde_json::from_str(item).unwrap();
        assert_eq!(item.tree(), Some(&[4u8, 5][..]));
        let plain: InboxItem =
            serde_json::from_str(r#"{"seq":8,"message_id":"m","envelope":"AQI="}"#).unwrap();
        assert_eq!(plain.tree(), None);

        let catch_up: CatchUp = serde_json::from_str(
            r#"{"era":1,"epoch":3,"commits":[],"group_info":"Aw==","ratchet_tree":"BAU="}"#,
        )
        .unwrap();
        assert_eq!(catch_up.tree(), Some(&[4u8, 5][..]));
        let proof: HubProof =
            serde_json::from_str(r#"{"group_info":"Aw==","created_at":1}"#).unwrap();
        assert_eq!(proof.ratchet_tree, None);
        // Not base64: refused.
        assert!(
            serde_json::from_str::<SubmitCommit>(
                r#"{"commit":"AQI=","group_info":"Aw==","ratchet_tree":"%%","external":false}"#
            )
            .is_err()
        );
    }
}
