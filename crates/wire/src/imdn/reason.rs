//! The RCC.16 failure-reason tokens of a negative delivery IMDN
//! (`../shared/rcc16-deployed.md` §5, "Client reason tokens" and "Server
//! reason tokens").

/// A client failure reason (`<mls-client-failure-reason>`). Tokens 1 to 5
/// are RCC.16's; 6 is decoded but never sent (Google's decoder throws on
/// it); 7 to 13 are Google's own tokens, numbered as LineageOS numbers them
/// locally (those numbers never travel).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ClientReason {
    /// 1 `message-from-non-member`.
    MessageFromNonMember,
    /// 2 `invalid-credential`.
    InvalidCredential,
    /// 3 `invalid-commit`.
    InvalidCommit,
    /// 4 `failed-to-decrypt` (binary name `failure_to_decrypt`).
    FailedToDecrypt,
    /// 5 `commit-in-privatemessage`.
    CommitInPrivateMessage,
    /// 6 `resent-message-for-me-failed-to-decrypt` (decoded, never sent).
    ResentMessageForMeFailedToDecrypt,
    /// 7 `commit-processed-in-enhanced-self-heal` (Google).
    CommitProcessedInEnhancedSelfHeal,
    /// 8 `commit-processed-in-self-heal` (Google).
    CommitProcessedInSelfHeal,
    /// 9 `commit-failed-then-era-advancement` (Google).
    CommitFailedThenEraAdvancement,
    /// 10 `control-message-failed-due-to-downgrade` (Google).
    ControlMessageFailedDueToDowngrade,
    /// 11 `proposal-processed-in-enhanced-self-heal` (Google).
    ProposalProcessedInEnhancedSelfHeal,
    /// 12 `proposal-processed-in-self-heal` (Google).
    ProposalProcessedInSelfHeal,
    /// 13 `control-message-failed` (Google).
    ControlMessageFailed,
}

const CLIENT: [(ClientReason, &str); 13] = [
    (
        ClientReason::MessageFromNonMember,
        "message-from-non-member",
    ),
    (ClientReason::InvalidCredential, "invalid-credential"),
    (ClientReason::InvalidCommit, "invalid-commit"),
    (ClientReason::FailedToDecrypt, "failed-to-decrypt"),
    (
        ClientReason::CommitInPrivateMessage,
        "commit-in-privatemessage",
    ),
    (
        ClientReason::ResentMessageForMeFailedToDecrypt,
        "resent-message-for-me-failed-to-decrypt",
    ),
    (
        ClientReason::CommitProcessedInEnhancedSelfHeal,
        "commit-processed-in-enhanced-self-heal",
    ),
    (
        ClientReason::CommitProcessedInSelfHeal,
        "commit-processed-in-self-heal",
    ),
    (
        ClientReason::CommitFailedThenEraAdvancement,
        "commit-failed-then-era-advancement",
    ),
    (
        ClientReason::ControlMessageFailedDueToDowngrade,
        "control-message-failed-due-to-downgrade",
    ),
    (
        ClientReason::ProposalProcessedInEnhancedSelfHeal,
        "proposal-processed-in-enhanced-self-heal",
    ),
    (
        ClientReason::ProposalProcessedInSelfHeal,
        "proposal-processed-in-self-heal",
    ),
    (ClientReason::ControlMessageFailed, "control-message-failed"),
];

impl ClientReason {
    /// Every reason, in code order 1 to 13.
    pub const ALL: [ClientReason; 13] = {
        let mut all = [ClientReason::MessageFromNonMember; 13];
        let mut i = 0;
        while i < 13 {
            all[i] = CLIENT[i].0;
            i += 1;
        }
        all
    };

    /// The number 1 to 13 (§5; 7 to 13 are LineageOS's local numbers).
    pub fn code(self) -> u8 {
        self as u8 + 1
    }

    /// The reason numbered `code` (1 to 13).
    pub fn from_code(code: u8) -> Option<ClientReason> {
        CLIENT
            .get(usize::from(code).checked_sub(1)?)
            .map(|(r, _)| *r)
    }

    /// The XML element name.
    pub fn token(self) -> &'static str {
        CLIENT[self as usize].1
    }

    /// The reason an XML element name stands for (exact, case-sensitive
    /// as XML names are).
    pub fn from_token(token: &str) -> Option<ClientReason> {
        CLIENT.iter().find(|(_, t)| *t == token).map(|(r, _)| *r)
    }

    /// Whether Crosslock may send it: RCC.16's 1 to 5 only (6 makes
    /// Google's decoder throw; 7 to 13 are Google's own).
    pub fn is_sendable(self) -> bool {
        self.code() <= 5
    }

    /// The `failure_reason` of the signed `VerifiableDeliveryImdn`: the
    /// code for 1 to 6, and 0 ("unset") for Google's own tokens, which
    /// have no binary code (LineageOS numbers them locally only).
    pub fn binary_code(self) -> u16 {
        match self.code() {
            c @ 1..=6 => u16::from(c),
            _ => 0,
        }
    }
}

/// A server failure reason (`<mls-server-failure-reason>`): RCC.16's eleven
/// and the five Google adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ServerReason {
    /// `incorrect-era`.
    IncorrectEra,
    /// `incorrect-epoch`.
    IncorrectEpoch,
    /// `incorrect-epoch-authenticator`.
    IncorrectEpochAuthenticator,
    /// `expired-credential`.
    ExpiredCredential,
    /// `mismatched-rcs-group-state`.
    MismatchedRcsGroupState,
    /// `unparsable-commit`.
    UnparsableCommit,
    /// `mismatched-confirmation-tag`.
    MismatchedConfirmationTag,
    /// `pending-proposal`.
    PendingProposal,
    /// `transient-error`.
    TransientError,
    /// `encryption-not-available`.
    EncryptionNotAvailable,
    /// `invalid-commit`.
    InvalidCommit,
    /// `mls-group-not-found` (Google).
    MlsGroupNotFound,
    /// `invalid-input` (Google).
    InvalidInput,
    /// `era-advancement-quota-reached` (Google).
    EraAdvancementQuotaReached,
    /// `mls-group-has-end-mls` (Google).
    MlsGroupHasEndMls,
    /// `epoch-advancement-quota-reached` (Google).
    EpochAdvancementQuotaReached,
}

const SERVER: [(ServerReason, &str); 16] = [
    (ServerReason::IncorrectEra, "incorrect-era"),
    (ServerReason::IncorrectEpoch, "incorrect-epoch"),
    (
        ServerReason::IncorrectEpochAuthenticator,
        "incorrect-epoch-authenticator",
    ),
    (ServerReason::ExpiredCredential, "expired-credential"),
    (
        ServerReason::MismatchedRcsGroupState,
        "mismatched-rcs-group-state",
    ),
    (ServerReason::UnparsableCommit, "unparsable-commit"),
    (
        ServerReason::MismatchedConfirmationTag,
        "mismatched-confirmation-tag",
    ),
    (ServerReason::PendingProposal, "pending-proposal"),
    (ServerReason::TransientError, "transient-error"),
    (
        ServerReason::EncryptionNotAvailable,
        "encryption-not-available",
    ),
    (ServerReason::InvalidCommit, "invalid-commit"),
    (ServerReason::MlsGroupNotFound, "mls-group-not-found"),
    (ServerReason::InvalidInput, "invalid-input"),
    (
        ServerReason::EraAdvancementQuotaReached,
        "era-advancement-quota-reached",
    ),
    (ServerReason::MlsGroupHasEndMls, "mls-group-has-end-mls"),
    (
        ServerReason::EpochAdvancementQuotaReached,
        "epoch-advancement-quota-reached",
    ),
];

impl ServerReason {
    /// Every server reason, in the order of §5.
    pub const ALL: [ServerReason; 16] = {
        let mut all = [ServerReason::IncorrectEra; 16];
        let mut i = 0;
        while i < 16 {
            all[i] = SERVER[i].0;
            i += 1;
        }
        all
    };

    /// The XML element name.
    pub fn token(self) -> &'static str {
        SERVER[self as usize].1
    }

    /// The reason an XML element name stands for.
    pub fn from_token(token: &str) -> Option<ServerReason> {
        SERVER.iter().find(|(_, t)| *t == token).map(|(r, _)| *r)
    }
}

/// The one failure-reason arm a negative delivery IMDN may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureArm {
    /// `<mls-client-failure-reason>`.
    Client(ClientReason),
    /// `<mls-server-failure-reason>`.
    Server(ServerReason),
}

impl FailureArm {
    /// The binary `failure_reason` of the signed derived content: the
    /// client code 1 to 6, else 0 (a server reason or a Google-only token
    /// has no binary code in §5; we send 0 for them, an inference).
    pub fn binary_code(self) -> u16 {
        match self {
            FailureArm::Client(r) => r.binary_code(),
            FailureArm::Server(_) => 0,
        }
    }
}
