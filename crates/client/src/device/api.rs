//! The public surface of a [`Device`]: every public method, grouped by
//! topic, each documented here and delegating to the module that does the
//! work (`crate::conversation`, `crate::receive`, …). Helpers the topic
//! modules share stay in their own `impl Device` blocks, crate-private.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::sync::Arc;

use crosslock_credential::{KeyAlgorithm, PhoneNumber, PublicKey};
use crosslock_wire::api::kt::{HistoryAnswer, LookupAnswer};
use crosslock_wire::file_info::FileInfo;
use crosslock_wire::ft_http::Download;
use crosslock_wire::status::PerMessageStatus;

use super::{Device, NewDevice};
use crate::config::DeviceConfig;
use crate::env::Environment;
use crate::error::ClientError;
use crate::file::PreparedFile;
use crate::ids::{ConversationId, DeliveryId};
use crate::keystore::KeyStore;
use crate::records::DeviceProfile;
use crate::store::StateStore;
use crate::suite::Suite;
use crate::{
    CommitApplied, Content, GroupMetadata, KeyPackageBatch, KeyPackageOrder, KeyPackageStock,
    MetadataChange, MetadataKind, NewConversation, Outbound, ParticipantKeyPackages, PendingCommit,
    PublishedStock, Received, ReceivedMessage, SafetyNumber, SecurityState, Sent, SuiteDowngrade,
    TransparencyAlert, TransparencyBlock, WireProfile,
};
use crate::{
    conversation, device, enrollment, file, group_metadata, keypackages, maintenance,
    member_transparency, receipt, receive, recovery, security, send, suite_transparency,
    transparency, wire_profile,
};

impl Device {
    // ---- Identity and enrolment ---------------------------------------------

    /// Creates a new device in `store`: participant keys in `keystore` (P-256
    /// and Ed25519), a self-issued development credential for each, and
    /// the device record. Fails if the store already holds a device.
    ///
    /// Development credentials are accepted only under
    /// [`crosslock_credential::TrustPolicy::Development`]; a device meant for
    /// production installs provider-issued credentials with
    /// [`Device::install_credential`] before anyone will talk to it.
    pub fn create(
        store: Arc<dyn StateStore>,
        keystore: Arc<dyn KeyStore>,
        new: NewDevice,
        config: DeviceConfig,
        env: Environment,
    ) -> Result<Device, ClientError> {
        device::create(store, keystore, new, config, env)
    }

    /// Opens the device stored in `store`.
    pub fn open(
        store: Arc<dyn StateStore>,
        keystore: Arc<dyn KeyStore>,
        config: DeviceConfig,
        env: Environment,
    ) -> Result<Device, ClientError> {
        device::open(store, keystore, config, env)
    }

    /// The participant's number.
    pub fn number(&self) -> &PhoneNumber {
        &self.number
    }

    /// This device's instance id (a UUID).
    pub fn device_id(&self) -> &str {
        &self.record.device_id
    }

    /// Android or iPhone.
    pub fn profile(&self) -> DeviceProfile {
        self.record.profile
    }

    /// Suites this device supports, in preference order.
    pub fn suites(&self) -> &[Suite] {
        &self.record.suites
    }

    /// The participant public key used with `suite`.
    pub fn participant_key(&self, suite: Suite) -> Result<PublicKey, ClientError> {
        let credential = self.credential_record(suite.signature_algorithm());
        Ok(self.keystore.public_key(&credential.alias)?)
    }

    /// The credential chain (leaf first, DER) presented with `suite`.
    pub fn credential_chain(&self, suite: Suite) -> Vec<Vec<u8>> {
        self.credential_record(suite.signature_algorithm())
            .chain
            .iter()
            .map(|c| c.0.clone())
            .collect()
    }

    /// Replaces the credential for one participant key, e.g. with the one
    /// the provider's KDS issued. The chain must pass this device's trust
    /// policy now, name this device's number, and certify the key-store
    /// key; existing conversations pick it up with
    /// [`Device::refresh_credential`].
    pub fn install_credential(
        &mut self,
        algorithm: KeyAlgorithm,
        chain: Vec<Vec<u8>>,
    ) -> Result<(), ClientError> {
        device::install_credential(self, algorithm, chain)
    }

    /// The participant public keys: P-256 (RCC.16, suite 0x0002) then
    /// Ed25519 (suites 0x0001 and X-Wing). The carrier proof must name both.
    pub fn participant_keys(&self) -> Result<Vec<PublicKey>, ClientError> {
        enrollment::participant_keys(self)
    }

    /// One PKCS#10 request per participant key (same order as
    /// [`Device::participant_keys`]), each signed inside the key store.
    pub fn certificate_requests(&self) -> Result<Vec<Vec<u8>>, ClientError> {
        enrollment::certificate_requests(self)
    }

    /// The challenge of an Apple App Attest attestation (its
    /// `clientDataHash`): it binds the KDS's one-time nonce to the P-256
    /// participant key (KDS-ENR-5). Android uses
    /// [`Device::android_attestation_challenge`].
    pub fn attestation_challenge(&self, nonce: &[u8]) -> Result<[u8; 32], ClientError> {
        enrollment::attestation_challenge(self, nonce)
    }

    /// The challenge an Android P-256 participant key is generated with
    /// for the KDS's one-time enrolment `nonce` (KDS-ENR-5): the nonce's
    /// alone, since the attestation chain itself certifies the key. See
    /// [`Device::replace_participant_key_attested`].
    pub fn android_attestation_challenge(nonce: &[u8]) -> [u8; 32] {
        crosslock_attest::android_enrollment_challenge(nonce)
    }

    /// Replaces the P-256 participant key with a new one the key store
    /// generates with the attestation `challenge`
    /// ([`crate::keystore::KeyStore::generate_attested`]) and returns the
    /// platform's attestation chain (leaf first, DER) for the enrolment.
    /// Android Key Attestation fixes a key's challenge when the key is
    /// made, so a key attested for an enrolment is made after the KDS's
    /// nonce: get the nonce, call this with
    /// [`Device::android_attestation_challenge`], then ask the carrier's
    /// proof for the new keys ([`Device::participant_keys`]) and build the
    /// CSRs.
    ///
    /// Allowed only before enrolment (ENR-KEY-1: no provider credential
    /// installed, no conversation, no KeyPackage), else
    /// [`ClientError::EnrolmentStarted`]. `Ok(None)`: the key store cannot
    /// attest; nothing changed. The answer is checked (ENR-KEY-2,
    /// [`crate::keystore::check_attested_key`]); when it does not check,
    /// or anything else fails before the device record names the new key,
    /// the new key is deleted and the old one stays (ENR-KEY-3). Once it
    /// does, the old key is deleted and a development credential for the
    /// new key replaces the old one.
    pub fn replace_participant_key_attested(
        &mut self,
        challenge: &[u8],
    ) -> Result<Option<Vec<Vec<u8>>>, ClientError> {
        enrollment::replace_participant_key_attested(self, challenge)
    }

    /// Installs the credentials the KDS issued (one chain per participant
    /// key, in any order). Each must pass this device's trust policy and
    /// certify one of its keys; nothing is installed unless all do.
    pub fn install_credentials(&mut self, chains: Vec<Vec<Vec<u8>>>) -> Result<(), ClientError> {
        enrollment::install_credentials(self, chains)
    }

    /// Records a provider's revocation list (`GET /v1/revoked` of that
    /// provider): `issuer` is the key of the CA that provider certifies
    /// its numbers with (from its descriptor or the device's trust
    /// anchors). KeyPackages, commits and Welcomes carrying a listed
    /// credential *issued by that CA* are refused from now on
    /// (CRED-REV-2: a serial names a credential only under its issuer, so
    /// one provider's list never revokes another's credentials). Call it
    /// once per provider whose participants this device meets. Persistent.
    pub fn note_revoked(
        &mut self,
        issuer: &PublicKey,
        serials: &[String],
    ) -> Result<(), ClientError> {
        enrollment::note_revoked(self, issuer, serials)
    }

    // ---- KeyPackages --------------------------------------------------------

    /// Generates `per_suite` single-use KeyPackages for every suite this
    /// device supports, plus a last-resort KeyPackage for each suite that
    /// has none. Their secrets are stored in one transaction; upload the
    /// returned batch to the KDS.
    pub fn generate_key_packages(
        &mut self,
        per_suite: usize,
    ) -> Result<KeyPackageBatch, ClientError> {
        keypackages::generate_key_packages(self, per_suite)
    }

    /// Generates KeyPackages up to the target stock where a suite fell
    /// below the refill threshold. Returns an empty batch when none is needed.
    pub fn refill_key_packages(&mut self) -> Result<KeyPackageBatch, ClientError> {
        keypackages::refill_key_packages(self)
    }

    /// The current KeyPackage stock. Expired KeyPackages do not count,
    /// nor do those made under a credential this device no longer presents
    /// (a re-enrolment replaced it, and the KDS dropped them with it).
    pub fn key_package_stock(&self) -> Result<KeyPackageStock, ClientError> {
        keypackages::key_package_stock(self)
    }

    /// What to upload so that the KDS holds the target stock again, from
    /// what the KDS says it holds (`published`): up to the target where a
    /// suite is below the refill threshold, and a last-resort KeyPackage
    /// for every suite when the KDS lacks one for any suite or
    /// `rotate_last_resort`. Claimed KeyPackages that were never used
    /// count as gone here (the KDS no longer has them), though their
    /// secrets stay on the device until they expire.
    pub fn key_packages_missing(
        &self,
        published: &PublishedStock,
        rotate_last_resort: bool,
    ) -> KeyPackageOrder {
        keypackages::missing(self, published, rotate_last_resort)
    }

    /// The KeyPackage lifetimes and stock this device works to.
    pub fn key_package_policy(&self) -> crate::config::KeyPackagePolicy {
        self.config.key_packages
    }

    /// How many KeyPackage secrets this device holds per suite whose
    /// KeyPackage has not expired (by the device's clock): single-use and
    /// last-resort, under any credential, claimed or not.
    pub fn key_package_secrets(&self) -> Result<BTreeMap<Suite, usize>, ClientError> {
        keypackages::secrets(self)
    }

    /// Generates exactly the KeyPackages `order` asks for; their secrets
    /// are stored in one transaction. Upload the returned batch.
    pub fn generate_key_package_order(
        &mut self,
        order: &KeyPackageOrder,
    ) -> Result<KeyPackageBatch, ClientError> {
        keypackages::generate_ordered(self, order)
    }

    /// Deletes the secrets of a batch the KDS refused as a whole (it
    /// stored none of it, KDS-KP-1). Never call it for an upload whose
    /// fate is unknown (a timeout): the KDS may hold and serve those.
    /// Returns how many secrets were deleted.
    pub fn discard_key_packages(&mut self, batch: &KeyPackageBatch) -> Result<usize, ClientError> {
        keypackages::discard(self, batch)
    }

    // ---- Conversations and membership: stage, then merge --------------------

    /// Every conversation this device has (active or not).
    pub fn conversations(&self) -> Result<Vec<ConversationId>, ClientError> {
        device::conversations(self)
    }

    /// Creates a conversation and invites `participants`, every device of
    /// each in one commit. The suite is the strongest that every device
    /// and our policy support (post-quantum when all have it).
    pub fn create_conversation(
        &mut self,
        kind: NewConversation,
        participants: &[ParticipantKeyPackages],
    ) -> Result<PendingCommit, ClientError> {
        conversation::create_conversation(self, kind, participants)
    }

    /// Adds participants to a conversation: every device of each, in one
    /// commit, using the KeyPackages in the conversation's suite.
    pub fn add_participants(
        &mut self,
        id: &ConversationId,
        participants: &[ParticipantKeyPackages],
    ) -> Result<PendingCommit, ClientError> {
        conversation::add_participants(self, id, participants)
    }

    /// Removes a participant: all of their devices in one commit.
    pub fn remove_participant(
        &mut self,
        id: &ConversationId,
        number: &PhoneNumber,
    ) -> Result<PendingCommit, ClientError> {
        conversation::remove_participant(self, id, number)
    }

    /// Removes one device of a participant (a lost or retired phone).
    pub fn remove_device(
        &mut self,
        id: &ConversationId,
        number: &PhoneNumber,
        device_id: &str,
    ) -> Result<PendingCommit, ClientError> {
        conversation::remove_device(self, id, number, device_id)
    }

    /// Updates this device's leaf with a fresh path (post-compromise security).
    pub fn update_keys(&mut self, id: &ConversationId) -> Result<PendingCommit, ClientError> {
        self.atomically(|device| device.stage_commit(id, |b| Ok(b)))
    }

    /// Re-presents this device's current credential in the conversation
    /// (RCC.16: every group at least every 30 days; after
    /// [`Device::install_credential`]).
    pub fn refresh_credential(
        &mut self,
        id: &ConversationId,
    ) -> Result<PendingCommit, ClientError> {
        conversation::refresh_credential(self, id)
    }

    /// CRED-EXP-1: a commit removing the member devices whose credential
    /// has expired (their credential would make the delivery service refuse
    /// every commit that keeps them, `expired-credential`, and every joiner
    /// refuse the group). `None` when no member's has, or when this device
    /// cannot commit here now (its own credential expired, a commit
    /// pending, the conversation no longer active). Every other commit this
    /// device makes removes them too.
    pub fn remove_expired_members(
        &mut self,
        id: &ConversationId,
    ) -> Result<Option<PendingCommit>, ClientError> {
        match self.remove_expired_members_inner(id) {
            Err(ClientError::OwnCredentialExpired) => Ok(None),
            other => other,
        }
    }

    /// Whether this device's leaf in the conversation carries the
    /// credential installed now. `false` after [`Device::install_credential`]
    /// until [`Device::refresh_credential`] is merged there: the group
    /// still sees the credential it replaced (which a renewal revoked).
    pub fn presents_installed_credential(
        &mut self,
        id: &ConversationId,
    ) -> Result<bool, ClientError> {
        conversation::presents_installed_credential(self, id)
    }

    /// Commits proposals received from others (e.g. a member's request to
    /// leave). Sending is refused with [`ClientError::CommitRequired`] while
    /// proposals wait.
    pub fn commit_pending_proposals(
        &mut self,
        id: &ConversationId,
    ) -> Result<PendingCommit, ClientError> {
        self.atomically(|device| device.stage_commit(id, |b| Ok(b)))
    }

    /// Leaves end-to-end encryption explicitly: commits the RCC.16
    /// `end_mls` extension, which every member sees. Nothing is encrypted
    /// or accepted in this conversation afterwards; there is no silent
    /// downgrade path.
    pub fn end_encryption(&mut self, id: &ConversationId) -> Result<PendingCommit, ClientError> {
        conversation::end_encryption(self, id)
    }

    /// Leaves the conversation: sends a SelfRemove proposal that the next
    /// committer applies. This device stops being a member when that commit
    /// arrives.
    pub fn leave(&mut self, id: &ConversationId) -> Result<crate::outbound::Outbound, ClientError> {
        conversation::leave(self, id)
    }

    /// The delivery service accepted our pending commit: apply it.
    ///
    /// The verdict names the commit it is about: a verdict for a commit
    /// that is no longer pending (superseded, or already applied because
    /// the server echoed it) is refused with [`ClientError::StaleVerdict`]
    /// and changes nothing.
    pub fn commit_accepted(
        &mut self,
        commit: &PendingCommit,
    ) -> Result<CommitApplied, ClientError> {
        conversation::commit_accepted(self, commit)
    }

    /// The delivery service refused our pending commit (another commit won
    /// the epoch, or it was invalid): discard it. The conversation is
    /// exactly as before the commit was made. Does nothing when no commit
    /// is pending (e.g. the winning commit already superseded it).
    ///
    /// The verdict names the commit it is about, so a late refusal of an
    /// older, already superseded commit cannot discard a newer one.
    pub fn commit_rejected(&mut self, commit: &PendingCommit) -> Result<(), ClientError> {
        conversation::commit_rejected(self, commit)
    }

    /// The pending commit of a conversation, to (re)send after a restart.
    pub fn pending_commit(
        &self,
        id: &ConversationId,
    ) -> Result<Option<PendingCommit>, ClientError> {
        conversation::pending_commit(self, id)
    }

    /// The formats the conversation speaks above MLS, from its current
    /// members' capabilities (WIRE-NEG-1).
    pub fn wire_profile(&mut self, id: &ConversationId) -> Result<WireProfile, ClientError> {
        Ok(wire_profile::profile_of(self.group(id)?))
    }

    // ---- Send ---------------------------------------------------------------

    /// A random 16-byte salt for new MIMI content.
    pub fn new_salt(&self) -> [u8; 16] {
        self.env.random()
    }

    /// Encrypts `content` for the conversation.
    pub fn send(&mut self, id: &ConversationId, content: Content) -> Result<Sent, ClientError> {
        send::send(self, id, content, None)
    }

    /// Sends plain text: as MIMI content where every member advertises
    /// Crosslock's extras, as `text/plain` otherwise (WIRE-NEG-1).
    pub fn send_text(&mut self, id: &ConversationId, text: &str) -> Result<Sent, ClientError> {
        send::send_text(self, id, text)
    }

    /// Sends delivery/read statuses for earlier messages.
    pub fn send_status(
        &mut self,
        id: &ConversationId,
        statuses: Vec<PerMessageStatus>,
    ) -> Result<Sent, ClientError> {
        send::send_status(self, id, statuses)
    }

    /// Sends a typing indicator (`active` while typing, then idle).
    pub fn send_typing(&mut self, id: &ConversationId, active: bool) -> Result<Sent, ClientError> {
        send::send_typing(self, id, active)
    }

    /// Sends `content` again as a new message linked to `original_message_id`
    /// (RCC.16 resend after a peer's negative delivery report): the
    /// authenticated data carries the `0x02` resend link (the era the
    /// original was sent in, its id, and a fresh random key with the
    /// HMAC-SHA256 of the id under it; `crosslock_wire::aad`), and the CPIM
    /// envelope `mls.Original-Message-ID` (fact sheet §3a, §3c).
    pub fn resend(
        &mut self,
        id: &ConversationId,
        original_message_id: &str,
        content: Content,
    ) -> Result<Sent, ClientError> {
        send::send(self, id, content, Some(original_message_id))
    }

    /// [`prepare_file`] with this device's random source.
    ///
    /// [`prepare_file`]: crate::file::prepare_file
    pub fn prepare_file<R: Read, W: Write>(
        &self,
        reader: R,
        writer: W,
        name: &str,
        media_type: &str,
    ) -> Result<PreparedFile, ClientError> {
        Ok(file::prepare_file(
            &self.env, reader, writer, name, media_type,
        )?)
    }

    /// Sends an uploaded file: its FileInfo (slot 1), its thumbnail's
    /// FileInfo (slot 2, own key) when there is one, then the FT-HTTP
    /// descriptor with the download URLs, each its own MLS application
    /// message. Returns them in that order: hand them to the transport in
    /// that order, since the receiver pairs the descriptor with the
    /// sender's preceding FileInfo (rcc16-deployed.md §2; FILE-PAIR-1).
    pub fn send_file(
        &mut self,
        id: &ConversationId,
        file: &PreparedFile,
        download: Download,
        thumbnail: Option<(&PreparedFile, Download)>,
    ) -> Result<Vec<Sent>, ClientError> {
        file::send_file(self, id, file, download, thumbnail)
    }

    /// Sends one FileInfo inside MLS (`message/mls-rcs-file-info`), e.g. a
    /// group icon or subject key (slot 4 or 3). For chat attachments use
    /// [`Device::send_file`], which also sends the descriptor.
    pub fn send_file_info(
        &mut self,
        id: &ConversationId,
        info: FileInfo,
    ) -> Result<Sent, ClientError> {
        self.send(id, Content::FileInfo(info))
    }

    // ---- Receive ------------------------------------------------------------

    /// Processes one incoming message delivered under `transport_message_id`.
    ///
    /// On success the new state and the decrypted message are stored in one
    /// transaction; on any error nothing changed. A Welcome needs the ratchet
    /// tree that travels beside it: deliver Welcomes with
    /// [`Device::receive_with_tree`] (here only one whose GroupInfo still
    /// carries the ratchet_tree extension joins).
    pub fn receive(
        &mut self,
        transport_message_id: &str,
        bytes: &[u8],
    ) -> Result<Received, ClientError> {
        self.receive_with_tree(transport_message_id, bytes, None)
    }

    /// [`Device::receive`] for a message that arrives with a ratchet tree
    /// beside it: the transport passes `InboxItem.ratchet_tree` (the tree of
    /// the epoch a Welcome joins, MLS-GI-1; an mls-rs `ExportedTree`).
    /// A Welcome joins with `ratchet_tree`, or, when its GroupInfo carries
    /// the ratchet_tree extension (older peers, MLS-GI-2), with that tree
    /// (mls-rs prefers it);
    /// mls-rs checks the tree against the GroupContext's tree hash, so a
    /// wrong tree refuses the Welcome and changes nothing. The tree is
    /// ignored for every other message.
    pub fn receive_with_tree(
        &mut self,
        transport_message_id: &str,
        bytes: &[u8],
        ratchet_tree: Option<&[u8]>,
    ) -> Result<Received, ClientError> {
        receive::receive_with_tree(self, transport_message_id, bytes, ratchet_tree)
    }

    /// Messages decrypted but not yet acknowledged, oldest first.
    pub fn undelivered(&self) -> Result<Vec<ReceivedMessage>, ClientError> {
        receive::undelivered(self)
    }

    /// The application has stored the message: drop it from the inbox.
    pub fn ack(&mut self, delivery: DeliveryId) -> Result<(), ClientError> {
        receive::ack(self, delivery)
    }

    // ---- Receipts -----------------------------------------------------------

    /// A signed delivery receipt (`<delivered/>`) for `message_id`, to send
    /// to the conversation (`content_type` is `message/imdn+xml`).
    pub fn delivery_receipt(
        &mut self,
        conversation: &ConversationId,
        message_id: &str,
    ) -> Result<Outbound, ClientError> {
        receipt::delivery_receipt(self, conversation, message_id)
    }

    /// A signed display receipt (`<displayed/>`) for `message_id`.
    pub fn display_receipt(
        &mut self,
        conversation: &ConversationId,
        message_id: &str,
    ) -> Result<Outbound, ClientError> {
        receipt::display_receipt(self, conversation, message_id)
    }

    // ---- Group subject and icon ---------------------------------------------

    /// Sets the group subject or icon to `content` (`content_type` its
    /// media type, e.g. `text/plain` or `image/jpeg`).
    ///
    /// Draws a fresh 32-byte content key and 12-byte IV from the device's
    /// random source, encrypts `content` with Annex C.2 (HKDF info
    /// `group_subject` / `group_icon`), and commits a GroupContextExtensions
    /// proposal that sets 0xF006 / 0xF004 to the framed Annex C.1
    /// commitment of this device's revision (v3.0 over the key, v4.0 over
    /// the tag), every other extension kept byte for byte. The key becomes
    /// current when the commit is accepted and is dropped if it is not.
    /// Then upload [`MetadataChange::ciphertext`] and call
    /// [`Device::send_group_metadata_keys`].
    pub fn set_group_metadata(
        &mut self,
        id: &ConversationId,
        kind: MetadataKind,
        content: &[u8],
        content_type: &str,
    ) -> Result<MetadataChange, ClientError> {
        group_metadata::set_group_metadata(self, id, kind, content, content_type)
    }

    /// Delivers the key of the group's current subject or icon to the
    /// members: a FileInfo in slot 3 / 4 (`file_name` `group_subject` /
    /// `group_icon`), then the FT-HTTP descriptor for the ciphertext
    /// uploaded at `url` (valid until `until`, UNIX seconds), with
    /// `<file-name>encrypted_file` and `<content-type>message/mls-ft`.
    /// Returns both messages in order. The device remembers `url` and
    /// `until`, to re-send on a key request (0xF007).
    ///
    /// Refused with [`GroupMetadataError::NoKey`] unless this device holds
    /// the key matching the current commitment.
    ///
    /// [`GroupMetadataError::NoKey`]: crate::GroupMetadataError::NoKey
    pub fn send_group_metadata_keys(
        &mut self,
        id: &ConversationId,
        kind: MetadataKind,
        url: &str,
        until: u64,
    ) -> Result<Vec<Sent>, ClientError> {
        group_metadata::send_group_metadata_keys(self, id, kind, url, until)
    }

    /// Opens a downloaded subject or icon ciphertext and stores the value.
    ///
    /// GROUP-META-2: the key this device holds for `kind` must match the
    /// commitment in the **current** GroupContext (either revision's form,
    /// compared in constant time): a forged key, or the key of a value
    /// that has since changed, is refused
    /// ([`GroupMetadataError::CommitmentMismatch`]). Then the Annex C.3
    /// checks (a ciphertext the server swapped fails the tag check,
    /// [`crate::file::FileError::BadTag`]); a subject must be UTF-8. On any
    /// error nothing is stored.
    ///
    /// [`GroupMetadataError::CommitmentMismatch`]: crate::GroupMetadataError::CommitmentMismatch
    pub fn open_group_metadata(
        &mut self,
        id: &ConversationId,
        kind: MetadataKind,
        ciphertext: &[u8],
    ) -> Result<Vec<u8>, ClientError> {
        group_metadata::open_group_metadata(self, id, kind, ciphertext)
    }

    /// The conversation's subject and icon as far as this device has
    /// opened them: only values whose key matches the current commitment.
    pub fn group_metadata(&mut self, id: &ConversationId) -> Result<GroupMetadata, ClientError> {
        group_metadata::group_metadata(self, id)
    }

    /// Asks the members for the subject and icon keys this device lacks:
    /// commits 0xF007 `group_metadata_keys_requested` (v3.0: the 29 bytes
    /// bare; v4.0: framed), every other extension kept byte for byte.
    /// Members holding the keys see
    /// [`crate::CommitEvent::metadata_keys_requested`] and re-send them.
    ///
    /// Refused when every committed key is held and opened
    /// ([`GroupMetadataError::NothingToRequest`]) or the flag is already
    /// set ([`GroupMetadataError::AlreadyRequested`]).
    ///
    /// [`GroupMetadataError::NothingToRequest`]: crate::GroupMetadataError::NothingToRequest
    /// [`GroupMetadataError::AlreadyRequested`]: crate::GroupMetadataError::AlreadyRequested
    pub fn request_group_metadata_keys(
        &mut self,
        id: &ConversationId,
    ) -> Result<PendingCommit, ClientError> {
        group_metadata::request_group_metadata_keys(self, id)
    }

    /// Clears 0xF007 (GROUP-META-6): allowed only when this device holds
    /// and has opened a key matching every committed commitment, so a
    /// device never withdraws a request it still needs. The requester calls
    /// this once [`crate::GroupMetadata::missing`] is empty.
    pub fn clear_group_metadata_request(
        &mut self,
        id: &ConversationId,
    ) -> Result<PendingCommit, ClientError> {
        group_metadata::clear_group_metadata_request(self, id)
    }

    // ---- Key transparency ---------------------------------------------------

    /// Verifies a lookup for a contact (`POST /v1/kt/lookup`), e.g. one added
    /// to a conversation by another member, and records it: the security
    /// state then shows whether their keys in each conversation are proven.
    pub fn record_lookup(
        &mut self,
        number: &PhoneNumber,
        answer: &LookupAnswer,
    ) -> Result<(), ClientError> {
        transparency::record_lookup(self, number, answer)
    }

    /// The participants of `id` whose keys need a lookup proof (`POST
    /// /v1/kt/lookup` at their home, then [`Device::record_lookup`]):
    /// every participant whose keys are not proven, whether or not the
    /// policy requires proofs. Empty without trusted logs.
    pub fn lookups_needed(&mut self, id: &ConversationId) -> Result<Vec<PhoneNumber>, ClientError> {
        member_transparency::lookups_needed(self, id)
    }

    /// Whether key transparency blocks sending in `id`, and why.
    pub fn transparency_block(
        &mut self,
        id: &ConversationId,
    ) -> Result<Option<TransparencyBlock>, ClientError> {
        member_transparency::transparency_block(self, id)
    }

    /// Relays this device's own number's lookup proof (`POST /v1/kt/lookup`
    /// of its own number, at its home) to the conversation, so every member
    /// can prove this device's keys without reaching its home
    /// (KT-MEMBER-4). The proof is checked first; it is exempt from the
    /// transparency block (it is how a block is lifted).
    pub fn send_own_proof(
        &mut self,
        id: &ConversationId,
        answer: &LookupAnswer,
    ) -> Result<Sent, ClientError> {
        transparency::send_own_proof(self, id, answer)
    }

    /// Alerts raised so far (forks, keys this device did not enrol, new
    /// devices of its number, its key missing from its binding).
    pub fn transparency_alerts(&self) -> Result<Vec<TransparencyAlert>, ClientError> {
        transparency::transparency_alerts(self)
    }

    /// Whether the own-history check is due ([`Device::check_own_history`]).
    pub fn history_check_due(&self) -> Result<bool, ClientError> {
        transparency::history_check_due(self)
    }

    /// Checks this device's own number's history (`POST /v1/kt/history`):
    /// the proof, then every version for keys this device did not enrol
    /// (under its own id), devices the user did not approve, and whether
    /// the latest binding still holds this device's current keys. Returns
    /// the alerts raised by this check (all alerts stay available from
    /// [`Device::transparency_alerts`]).
    pub fn check_own_history(
        &mut self,
        answer: &HistoryAnswer,
    ) -> Result<Vec<TransparencyAlert>, ClientError> {
        transparency::check_own_history(self, answer)
    }

    /// Accepts another device of this number (one the user enrolled), so
    /// its key no longer raises [`TransparencyAlert::NewDevice`].
    pub fn approve_device(
        &mut self,
        device_id: &str,
        credential_sha256: &str,
    ) -> Result<(), ClientError> {
        transparency::approve_device(self, device_id, credential_sha256)
    }

    /// Whether it is time to gossip roots in `id`.
    pub fn gossip_due(&self, id: &ConversationId) -> Result<bool, ClientError> {
        transparency::gossip_due(self, id)
    }

    /// Sends the newest roots this device has seen to the conversation
    /// (encrypted like any message; members compare them with theirs).
    /// `None` when there is nothing to gossip.
    pub fn send_transparency_gossip(
        &mut self,
        id: &ConversationId,
    ) -> Result<Option<Sent>, ClientError> {
        transparency::send_transparency_gossip(self, id)
    }

    /// The post-quantum downgrades recorded for `number` under
    /// [`SuiteDowngradePolicy::Warn`].
    ///
    /// [`SuiteDowngradePolicy::Warn`]: crate::SuiteDowngradePolicy::Warn
    pub fn suite_downgrades(
        &self,
        number: &PhoneNumber,
    ) -> Result<Vec<SuiteDowngrade>, ClientError> {
        suite_transparency::suite_downgrades(self, number)
    }

    // ---- Security state and safety numbers ----------------------------------

    /// The conversation's security state.
    pub fn security_state(&mut self, id: &ConversationId) -> Result<SecurityState, ClientError> {
        security::security_state(self, id)
    }

    /// The safety number between us and `peer`, from both sides' participant
    /// keys in this conversation (docs/safety-numbers.md).
    pub fn safety_number(
        &mut self,
        id: &ConversationId,
        peer: &PhoneNumber,
    ) -> Result<SafetyNumber, ClientError> {
        security::safety_number(self, id, peer)
    }

    /// The user compared the safety number with `peer` (read aloud, or by
    /// scanning their QR code: pass the scanned payload to have it checked).
    /// Marks `peer`'s current keys verified. Returns false, changing
    /// nothing, when a scanned payload does not match.
    pub fn confirm_safety_number(
        &mut self,
        id: &ConversationId,
        peer: &PhoneNumber,
        scanned_qr: Option<&[u8]>,
    ) -> Result<bool, ClientError> {
        security::confirm_safety_number(self, id, peer, scanned_qr)
    }

    // ---- Recovery (the RCC.16 ladder) ---------------------------------------

    /// Rejoins a conversation by external commit from `group_info` (the
    /// latest GroupInfo the delivery service serves with catch-up: MLS
    /// message bytes with the external public key) and `ratchet_tree`, the
    /// tree of its epoch served beside it (`CatchUp.ratchet_tree`). A
    /// GroupInfo that still carries the ratchet_tree extension (from an
    /// older peer) is read with `ratchet_tree: None` (MLS-GI-2); when it
    /// does, its tree is the one used, as mls-rs uses it.
    ///
    /// The new leaf replaces this device's old one in the same commit
    /// (`Remove` of the leaf with the same number and device id). The
    /// GroupInfo is validated through the device's identity provider (its
    /// signature, every leaf's credential under the trust policy) and must
    /// be for this conversation's group id, era and suite.
    ///
    /// Stage, then merge: until [`Device::commit_accepted`] the existing
    /// state (if any) is untouched; [`Device::commit_rejected`] discards the
    /// rejoin. The returned commit has `external: true`.
    pub fn rejoin(
        &mut self,
        id: &ConversationId,
        group_info: &[u8],
        ratchet_tree: Option<&[u8]>,
    ) -> Result<PendingCommit, ClientError> {
        recovery::rejoin(self, id, group_info, ratchet_tree)
    }

    /// Makes a signed negative delivery receipt for a message this device
    /// could not process: `reason` is the RCC.16 client failure reason
    /// (`ClientError::rcc16_failure_reason` of the refusal). 1 to 5 become
    /// the matching `<mls-client-failure-reason>` token; 0 (unknown) a
    /// `<failed/>` without a reason arm. Send the envelope to the
    /// conversation (`content_type` is `message/imdn+xml`).
    ///
    /// Needs this member's group state (the signature is an MLS
    /// PublicMessage of the current epoch): after
    /// `ClientError::RejoinRequired`, rejoin first.
    pub fn negative_report(
        &mut self,
        id: &ConversationId,
        failed_message_id: &str,
        reason: u8,
    ) -> Result<Outbound, ClientError> {
        recovery::negative_report(self, id, failed_message_id, reason)
    }

    /// Resends a message a member reported as failed (a verified
    /// [`Received::NegativeReport`]): the original payload, encrypted again
    /// in the current epoch as a new message linked to the original
    /// (the authenticated `0x02` resend link and the CPIM
    /// `mls.Original-Message-ID`, as [`Device::resend`]). A report about a resend
    /// resends (and counts against) its original.
    ///
    /// Refused with [`ClientError::ResendLimit`] after [`MAX_RESENDS`]
    /// resends of one original (start a new era), and with
    /// [`ClientError::OriginalUnavailable`] for a message this device did
    /// not send in the conversation or that is past retention.
    ///
    /// [`Received::NegativeReport`]: crate::Received::NegativeReport
    /// [`MAX_RESENDS`]: crate::MAX_RESENDS
    pub fn resend_after_report(
        &mut self,
        id: &ConversationId,
        failed_message_id: &str,
    ) -> Result<Sent, ClientError> {
        recovery::resend_after_report(self, id, failed_message_id)
    }

    /// Starts a new era of a conversation with `participants` (every device
    /// of each, as for [`Device::create_conversation`]; this device's other
    /// devices are participants too). The suite is negotiated again.
    ///
    /// Stage, then merge: until [`Device::commit_accepted`] the
    /// conversation stays in its current era; [`Device::commit_rejected`]
    /// discards the new group.
    pub fn new_era(
        &mut self,
        id: &ConversationId,
        participants: &[ParticipantKeyPackages],
    ) -> Result<PendingCommit, ClientError> {
        recovery::new_era(self, id, participants)
    }

    /// The conversation an inbox item belongs to (its MLS message's group
    /// id), read without processing it: for reporting a message this
    /// device could not process (RCC.16 negative delivery IMDN). `None`
    /// for what does not parse or names no group (a Welcome).
    pub fn conversation_of(envelope: &[u8]) -> Option<ConversationId> {
        let envelope = crosslock_wire::cpim::MlsEnvelope::decode(envelope).ok()?;
        let message = mls_rs::MlsMessage::from_bytes(&envelope.body).ok()?;
        ConversationId::new(message.group_id()?.to_vec())
    }

    // ---- Maintenance --------------------------------------------------------

    /// Housekeeping to call now and then (e.g. daily): forgets message ids
    /// older than the replay window, deletes expired KeyPackages and prior
    /// epochs past retention.
    pub fn maintenance(&mut self) -> Result<(), ClientError> {
        let now = self.env.clock.now();
        maintenance::maintenance(self, now)
    }

    /// [`Device::maintenance`], but a KeyPackage's secret is deleted only
    /// when the KeyPackage expired at `key_package_time`: the time the
    /// caller trusts for deleting key material the KDS may still hand out
    /// (the SDK passes the provider's time, KP-DEL-1 in
    /// docs/validation-rules.md), not this device's clock alone.
    pub fn maintenance_with_key_package_time(
        &mut self,
        key_package_time: u64,
    ) -> Result<(), ClientError> {
        maintenance::maintenance(self, key_package_time)
    }
}
